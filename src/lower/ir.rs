//! The Datalog IR: relations, rules, facts and functions over interned constants.
//!
//! Every rule and fact keeps an [`OriginId`] into [`Program::origins`], which maps
//! it back to the statement it came from (or to the built-in rule it is).

pub use super::fact_store::Facts;
use super::intern::{Interner, Sym};
use crate::syntax::span::Span;
use std::collections::BTreeMap;
use std::fmt;

/// The most `fn` calls one evaluation of an expression may make (past it,
/// the condition errs; `warden check` warns about `fn`s whose call tree
/// exceeds it).
pub const MAX_CALLS: usize = 10_000;

/// A constant in a tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// A string (identifier, typed id, quoted string).
    Sym(Sym),
    /// A 64-bit integer.
    Int(i64),
    /// A timestamp in microseconds since the epoch.
    Time(i64),
    /// A duration in microseconds.
    Dur(i64),
    /// A boolean.
    Bool(bool),
}

/// Identifies a relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelId(pub u32);

/// Identifies a rule; its index in [`Program::rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u32);

/// Identifies the origin of a rule or fact; its index in [`Program::origins`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OriginId(pub u32);

/// Identifies a variable within one rule; its index in [`Rule::var_names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarId(pub u32);

/// Where a rule or fact came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A statement of a policy or data file.
    Source(Span),
    /// A built-in rule of SPEC section 4: its label (`B7`) and Datalog text.
    Builtin(&'static str, &'static str),
}

/// What a relation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationKind {
    /// Defined by user facts and rules.
    User,
    /// A built-in relation rules may read and also define (`parent`, `role_extends`).
    BuiltinBase,
    /// A built-in derived relation users may read but not define (`within`, `allowed`, ...).
    BuiltinDerived,
    /// An internal relation of the lowering (`$assign`, ...), not nameable in policies.
    Internal,
    /// A magic relation of the demand transformation: the values a query
    /// demands of another relation. It only narrows what is evaluated.
    Magic,
}

/// A relation's declaration.
#[derive(Clone, Debug)]
pub struct Relation {
    /// Its name.
    pub name: String,
    /// Its number of columns.
    pub arity: usize,
    /// What kind of relation it is.
    pub kind: RelationKind,
    /// Columns whose values belong to the active domain (entities); timestamps
    /// of `from`/`until` bounds are not entities.
    pub domain_columns: usize,
    /// Where it is first used or defined (for diagnostics).
    pub first_use: Option<Span>,
    /// The declared column types (`relation NAME(TYPE, ...);`), with the
    /// declaration's span; `None` when undeclared.
    pub columns: Option<(Vec<ColumnType>, Span)>,
    /// Whether it is declared, with column types or by `NAME: []` in a data file.
    pub declared: bool,
}

/// A declared column type: the union of its alternatives (`page | doc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnType(pub Vec<String>);

impl ColumnType {
    /// Whether a value fits: a typed-id prefix (`page` takes `page:…`),
    /// `string` (any string, bare identifier or typed id), `int`,
    /// `timestamp`, `bool`, `duration`, or `any`.
    pub fn admits(&self, value: Value, name: impl Fn(Sym) -> Option<std::sync::Arc<str>>) -> bool {
        self.0.iter().any(|ty| match (ty.as_str(), value) {
            ("any", _) | ("string", Value::Sym(_)) | ("int", Value::Int(_)) => true,
            ("timestamp", Value::Time(_)) | ("duration", Value::Dur(_)) | ("bool", Value::Bool(_)) => true,
            ("string" | "int" | "timestamp" | "duration" | "bool", _) => false,
            (prefix, Value::Sym(s)) => {
                name(s).is_some_and(|n| n.strip_prefix(prefix).is_some_and(|rest| rest.starts_with(':')))
            }
            _ => false,
        })
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" | "))
    }
}

/// A term of an IR atom.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    /// A variable of the rule.
    Var(VarId),
    /// A constant.
    Const(Value),
    /// The request time.
    Now,
    /// A request context value.
    Ctx(Sym),
}

impl Term {
    /// The variable, when the term is one.
    pub fn as_var(&self) -> Option<VarId> {
        match self {
            Term::Var(v) => Some(*v),
            _ => None,
        }
    }

    /// The constant, when the term is one.
    pub fn as_const(&self) -> Option<Value> {
        match self {
            Term::Const(c) => Some(*c),
            _ => None,
        }
    }
}

/// `rel(t1, ..., tn)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom {
    /// The relation.
    pub rel: RelId,
    /// The arguments.
    pub args: Vec<Term>,
}

impl Atom {
    /// Its variables, in argument order (a repeated one repeated).
    pub fn vars(&self) -> impl Iterator<Item = VarId> + '_ {
        self.args.iter().filter_map(Term::as_var)
    }

    /// Its constants, in argument order.
    pub fn constants(&self) -> impl Iterator<Item = Value> + '_ {
        self.args.iter().filter_map(Term::as_const)
    }
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
        }
    }
}

/// The built-in functions of SPEC section 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Builtin {
    /// `hour(t)`: 0..23, UTC.
    Hour,
    /// `minute(t)`: 0..59.
    Minute,
    /// `weekday(t)`: `mon`..`sun`.
    Weekday,
    /// `date(t)`: `"YYYY-MM-DD"`.
    Date,
    /// `starts_with(s, p)`.
    StartsWith,
    /// `ends_with(s, p)`.
    EndsWith,
    /// `contains(s, p)`.
    Contains,
    /// `lower(s)`.
    Lower,
    /// `type(x)`: `T` for `T:X`, `_` for other strings.
    Type,
}

impl Builtin {
    /// Every built-in with its name and number of arguments.
    pub const ALL: [(Builtin, &'static str, usize); 9] = [
        (Builtin::Hour, "hour", 1),
        (Builtin::Minute, "minute", 1),
        (Builtin::Weekday, "weekday", 1),
        (Builtin::Date, "date", 1),
        (Builtin::StartsWith, "starts_with", 2),
        (Builtin::EndsWith, "ends_with", 2),
        (Builtin::Contains, "contains", 2),
        (Builtin::Lower, "lower", 1),
        (Builtin::Type, "type", 1),
    ];

    /// The built-in called `name`, with its arity.
    pub fn lookup(name: &str) -> Option<(Builtin, usize)> {
        Builtin::ALL.iter().find(|(_, n, _)| *n == name).map(|(b, _, a)| (*b, *a))
    }

    /// The built-in's name.
    pub fn name(self) -> &'static str {
        Builtin::ALL.iter().find(|(b, _, _)| *b == self).map_or("?", |(_, n, _)| n)
    }
}

/// What a call calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Callee {
    /// A built-in function.
    Builtin(Builtin),
    /// A `fn` of the program (index into [`Program::fns`]).
    Fn(u32),
    /// An `extern fn` (index into [`Program::externs`]).
    Extern(u32),
}

/// An expression of a condition or `fn` body.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expr {
    /// A term (constant, variable, `now`, `ctx.KEY`).
    Term(Term),
    /// A parameter of the enclosing `fn`.
    Param(u32),
    /// A call.
    Call(Callee, Vec<Expr>),
    /// `!E`
    Not(Box<Expr>),
    /// `E op E`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `E in [a, b]`
    InList(Box<Expr>, Vec<Expr>),
}

impl Expr {
    /// Calls `f` on the expression and on every expression inside it,
    /// outside in, left to right.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Call(_, args) => args.iter().for_each(|a| a.walk(f)),
            Expr::Not(inner) => inner.walk(f),
            Expr::Binary(_, l, r) => {
                l.walk(f);
                r.walk(f);
            }
            Expr::InList(x, items) => {
                x.walk(f);
                items.iter().for_each(|i| i.walk(f));
            }
            Expr::Term(_) | Expr::Param(_) => {}
        }
    }

    /// The `fn`s the expression calls (by index into [`Program::fns`]), once
    /// per call site, in order.
    pub fn fn_calls(&self, out: &mut Vec<u32>) {
        self.walk(&mut |e| {
            if let Expr::Call(Callee::Fn(i), _) = e {
                out.push(*i);
            }
        });
    }
}

/// A body literal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Literal {
    /// A positive atom.
    Pos(Atom),
    /// `not ATOM`.
    Neg(Atom),
    /// A boolean condition.
    Cond(Expr),
    /// `X in [a, b]` with a variable `X`: binds `X` when nothing else does.
    Member(VarId, Vec<Expr>),
    /// `X` ranges over the active domain (added by analysis for access rules).
    Domain(VarId),
}

/// `head :- body`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The head atom.
    pub head: Atom,
    /// The body literals.
    pub body: Vec<Literal>,
    /// Variable names, indexed by [`VarId`] (`_` for anonymous ones).
    pub var_names: Vec<String>,
    /// Where the rule came from.
    pub origin: OriginId,
}

/// A ground fact.
#[derive(Clone, Debug)]
pub struct Fact {
    /// The relation.
    pub rel: RelId,
    /// The values.
    pub tuple: Vec<Value>,
    /// Where it came from.
    pub origin: OriginId,
}

/// `fn NAME(PARAMS) = EXPR;`
#[derive(Clone, Debug)]
pub struct FnDef {
    /// The name.
    pub name: String,
    /// The number of parameters.
    pub arity: usize,
    /// The body (parameters as [`Expr::Param`]).
    pub body: Expr,
    /// The declaration.
    pub span: Span,
}

/// `extern fn NAME(PARAMS);`
#[derive(Clone, Debug)]
pub struct ExternDef {
    /// The name.
    pub name: String,
    /// The number of parameters.
    pub arity: usize,
    /// The declaration.
    pub span: Span,
}

/// What one assertion of a test expects.
#[derive(Clone, Debug)]
pub enum Expectation {
    /// The atom has at least one answer.
    Holds,
    /// The atom has no answer.
    NotHolds,
    /// The atom has exactly this many distinct bindings of its named variables.
    Count(i64),
}

/// One `assert` of a test block, lowered.
#[derive(Clone, Debug)]
pub struct TestAssert {
    /// The atom asked about.
    pub atom: Atom,
    /// Variable names of the atom.
    pub var_names: Vec<String>,
    /// What is expected.
    pub expect: Expectation,
    /// `via NAME` (`true`) or `because NAME` (`false`): what the proof must use.
    pub path: Option<(bool, String)>,
    /// The request time (the assert's `at`, else the block's).
    pub at: Option<i64>,
    /// The statement, for reports.
    pub span: Span,
    /// The names of the [`crate::lower::intern::FRESH`] ids the atom uses
    /// (its `*` and `TYPE:*`), in order.
    pub fresh: Vec<String>,
}

/// A lowered `test` block.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// The test's name.
    pub name: String,
    /// Facts that hold for this block only.
    pub facts: Vec<Fact>,
    /// The block's request time (`at TS;`).
    pub at: Option<i64>,
    /// The block's request context (`ctx KEY = VALUE;`).
    pub ctx: BTreeMap<Sym, Value>,
    /// The assertions, in order.
    pub asserts: Vec<TestAssert>,
    /// The block.
    pub span: Span,
}

/// A whole lowered program.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Every relation, indexed by [`RelId`].
    pub relations: Vec<Relation>,
    /// Every rule, indexed by [`RuleId`].
    pub rules: Vec<Rule>,
    /// Every base fact (in shared segments).
    pub facts: Facts,
    /// Every `fn`.
    pub fns: Vec<FnDef>,
    /// Every `extern fn`.
    pub externs: Vec<ExternDef>,
    /// Every test block.
    pub tests: Vec<TestCase>,
    /// Origins of rules and facts.
    pub origins: Vec<Origin>,
    /// The constants.
    pub symbols: Interner,
    /// The program's active domain: every constant in an entity column of a
    /// fact or in an atom of a rule, sorted and without duplicates.
    pub domain: Vec<Value>,
}

impl Program {
    /// The types of the program's typed-id constants (`page` for `page:1`).
    pub fn constant_types(&self) -> std::collections::BTreeSet<String> {
        self.domain
            .iter()
            .filter_map(|v| match v {
                Value::Sym(s) => self.symbols.resolve(*s),
                _ => None,
            })
            .filter_map(|name| name.split_once(':').map(|(t, _)| t.to_string()))
            .collect()
    }

    /// The indexes of the `fn`s, each after every `fn` it calls, so that a
    /// walk in this order meets a callee's result before its callers (each
    /// body looked at once, however often it is called). Analysis refuses
    /// recursion; a cycle, were there one, is cut where it closes.
    pub fn fns_callees_first(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.fns.len());
        let mut state = vec![0u8; self.fns.len()]; // 0: new, 1: on the stack, 2: placed
        for root in 0..self.fns.len() {
            let mut stack: Vec<(usize, Vec<u32>)> = Vec::new();
            if state.get(root) == Some(&0) {
                let mut calls = Vec::new();
                if let Some(f) = self.fns.get(root) {
                    f.body.fn_calls(&mut calls);
                }
                stack.push((root, calls));
                if let Some(s) = state.get_mut(root) {
                    *s = 1;
                }
            }
            while let Some((f, calls)) = stack.last_mut() {
                let f = *f;
                match calls.pop() {
                    Some(callee) => {
                        let callee = callee as usize;
                        if state.get(callee) == Some(&0) {
                            let mut next = Vec::new();
                            if let Some(def) = self.fns.get(callee) {
                                def.body.fn_calls(&mut next);
                            }
                            if let Some(s) = state.get_mut(callee) {
                                *s = 1;
                            }
                            stack.push((callee, next));
                        }
                    }
                    None => {
                        stack.pop();
                        if let Some(s) = state.get_mut(f) {
                            *s = 2;
                        }
                        order.push(f);
                    }
                }
            }
        }
        order
    }

    /// The relation called `name`.
    pub fn relation_id(&self, name: &str) -> Option<RelId> {
        self.relations.iter().position(|r| r.name == name).map(|i| RelId(i as u32))
    }

    /// The declaration of a relation.
    pub fn relation(&self, id: RelId) -> Option<&Relation> {
        self.relations.get(id.0 as usize)
    }

    /// The name of a relation (`?` for an unknown id).
    pub fn relation_name(&self, id: RelId) -> &str {
        self.relation(id).map_or("?", |r| r.name.as_str())
    }

    /// The origin of a rule or fact.
    pub fn origin(&self, id: OriginId) -> Option<&Origin> {
        self.origins.get(id.0 as usize)
    }
}

impl fmt::Display for RelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

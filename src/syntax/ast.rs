//! The typed syntax tree. Every node keeps the span it was written at.

use super::span::{Span, Spanned};

/// A constant as written (SPEC section 2). Strings, bare identifiers and typed ids
/// are all strings: `alice`, `"alice"`; `page:7`, `"page:7"`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Constant {
    /// A string, bare identifier or typed id.
    Str(String),
    /// A 64-bit integer.
    Int(i64),
    /// A timestamp, in microseconds since 1970-01-01T00:00:00Z.
    Time(i64),
    /// A duration, in microseconds.
    Dur(i64),
    /// `true` or `false`.
    Bool(bool),
}

/// A term of an atom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A named variable (`U`, `Obj`).
    Var(String),
    /// `_`: a fresh variable at each occurrence.
    Anon,
    /// A constant.
    Const(Constant),
    /// The request time.
    Now,
    /// `ctx.KEY`: a value of the request context.
    Ctx(String),
    /// `*` or `TYPE:*` in a question: a fresh constant (of the type) that
    /// no fact mentions (SPEC section 9).
    Any(Option<String>),
}

/// `rel(t1, ..., tn)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atom {
    /// The relation name.
    pub relation: Spanned<String>,
    /// The arguments.
    pub args: Vec<Spanned<Term>>,
    /// The whole atom.
    pub span: Span,
}

/// A binary operator of an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// An expression (conditions and `fn` bodies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A term: constant, variable, `now`, `ctx.KEY`.
    Term(Term),
    /// `name(args)`: a function call, or an atom when `name` is a relation.
    Call(Spanned<String>, Vec<Spanned<Expr>>),
    /// `!E`
    Not(Box<Spanned<Expr>>),
    /// `E op E`
    Binary(BinOp, Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    /// `E in [a, b]`
    InList(Box<Spanned<Expr>>, Vec<Spanned<Expr>>),
    /// `X in Y`: containment, `within(X, Y)`.
    InContainer(Box<Spanned<Expr>>, Box<Spanned<Expr>>),
}

/// A body literal: `not ATOM`, or an expression (which may be a positive atom).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// `not rel(...)`
    Not(Atom),
    /// Any other literal.
    Expr(Spanned<Expr>),
}

/// `allow` or `deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Adds to `permitted`.
    Allow,
    /// Adds to `denied`.
    Deny,
}

/// One entry of a role body: `PERM [on TYPE] [if CONDITIONS];`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleEntry {
    /// The permission.
    pub perm: Spanned<String>,
    /// The object type the permission is limited to.
    pub on_type: Option<Spanned<String>>,
    /// Conditions on `now`, `ctx` and constants.
    pub conditions: Vec<Literal>,
    /// The whole entry.
    pub span: Span,
}

/// `assign` and `grant`: who holds what, where and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    /// The subject (a user or group).
    pub subject: Spanned<String>,
    /// The role (for `assign`) or permission (for `grant`).
    pub what: Spanned<String>,
    /// The object or container; `None` is global.
    pub on: Option<Spanned<String>>,
    /// Inclusive start, microseconds since the epoch.
    pub from: Option<Spanned<i64>>,
    /// Exclusive end, microseconds since the epoch.
    pub until: Option<Spanned<i64>>,
}

/// What an `assert` checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssertKind {
    /// `assert ATOM;`
    Holds(Atom),
    /// `assert not ATOM;`
    NotHolds(Atom),
    /// `assert count ATOM == N;`
    Count(Atom, i64),
}

/// An `assert` inside a test block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assert {
    /// What is checked.
    pub kind: AssertKind,
    /// `via NAME` (`true`) or `because NAME` (`false`).
    pub path: Option<(bool, Spanned<String>)>,
    /// `at TS`: overrides the block's request time.
    pub at: Option<i64>,
    /// The whole statement.
    pub span: Span,
}

/// An item of a test block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestItem {
    /// `at TS;`
    At(i64),
    /// `ctx KEY = VALUE;`
    Ctx(String, Constant),
    /// A fact local to the block.
    Fact(Statement),
    /// An assertion.
    Assert(Assert),
}

/// The kinds of statement (SPEC section 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementKind {
    /// `role R extends ... { ... }`
    Role {
        /// The role.
        name: Spanned<String>,
        /// Its direct juniors.
        extends: Vec<Spanned<String>>,
        /// Its permissions.
        entries: Vec<RoleEntry>,
    },
    /// `assign SUBJECT ROLE ...;`
    Assign(Holding),
    /// `grant SUBJECT PERM ...;`
    Grant(Holding),
    /// `superuser U;`
    Superuser(Spanned<String>),
    /// `inactive U;`
    Inactive(Spanned<String>),
    /// `X in Y;`
    In(Spanned<String>, Spanned<String>),
    /// `allow ...;` / `deny ...;`
    Access {
        /// Allow or deny.
        effect: Effect,
        /// The subject term.
        subject: Spanned<Term>,
        /// The permission term.
        perm: Spanned<Term>,
        /// The object term (`None`: any object).
        object: Option<Spanned<Term>>,
        /// The conditions.
        body: Vec<Literal>,
    },
    /// `relation NAME(TYPE, ...);`: a relation that may have no facts, with
    /// its column types; or `NAME: []` in a data file (`columns: None`: the
    /// arity comes from the relation's uses).
    Relation {
        /// The relation.
        name: Spanned<String>,
        /// Each column's alternatives (`page | doc`).
        columns: Option<Vec<Spanned<Vec<String>>>>,
    },
    /// `HEAD :- BODY;`
    Rule {
        /// The head atom.
        head: Atom,
        /// The body.
        body: Vec<Literal>,
    },
    /// `ATOM;`
    Fact(Atom),
    /// `fn NAME(PARAMS) = EXPR;`
    Fn {
        /// The name.
        name: Spanned<String>,
        /// The parameters.
        params: Vec<Spanned<String>>,
        /// The body.
        body: Spanned<Expr>,
    },
    /// `extern fn NAME(PARAMS);`
    ExternFn {
        /// The name.
        name: Spanned<String>,
        /// The parameters.
        params: Vec<Spanned<String>>,
    },
    /// `test "NAME" { ... }`
    Test {
        /// The test's name.
        name: Spanned<String>,
        /// Its items in order.
        items: Vec<TestItem>,
    },
}

/// A statement with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// What the statement says.
    pub kind: StatementKind,
    /// The whole statement.
    pub span: Span,
}

/// Every statement of every file, in file order then source order.
#[derive(Clone, Debug, Default)]
pub struct Ast {
    /// The statements.
    pub statements: Vec<Statement>,
}

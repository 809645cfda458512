//! Stage 2, lowering: AST → Datalog IR.
//!
//! Sugar becomes ordinary facts and rules: `role` → `$role`, `role_extends` and
//! `$role_perm`; `assign`/`grant` → `$assign`/`$grant` (with their `from`/`until`
//! bounds); `X in Y` → `parent`; `allow`/`deny` → rules for `permitted`/`denied`.
//! The built-in relations are the rules of [`builtins`]. Names are resolved
//! here (relations, roles, functions), so the errors that need a span to
//! explain themselves (unknown names, arity, wrong argument counts, duplicates)
//! are reported here; whole-program checks live in `analyze`.

pub mod builtins;
mod exprs;
pub mod fact_store;
mod facts;
pub mod intern;
pub mod ir;
mod names;
pub mod request;

use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{self, Constant, StatementKind};
use crate::syntax::span::{Span, Spanned};
use builtins::{FOREVER_AFTER, FOREVER_BEFORE, STAR};
use exprs::VarTable;
pub use facts::lower_facts;
use intern::{FRESH, Sym};
use ir::{Callee, Fact, Literal, Origin, OriginId, Program, RelId, RelationKind, Rule, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A declared role, for the `extends` cycle check in `analyze`.
#[derive(Clone, Debug)]
pub struct RoleDecl {
    /// The role's name.
    pub name: String,
    /// The roles it extends, with where each is named.
    pub extends: Vec<(String, Span)>,
}

/// Where the parts of one rule were written: a side table beside the IR,
/// indexed like [`Program::rules`], that the analyses read for their
/// diagnostics. Evaluation never sees it.
#[derive(Clone, Debug, Default)]
pub struct RuleSpans {
    /// The spans of the body literals (empty for built-in rules; `None` for
    /// a literal no text wrote).
    pub body: Vec<Option<Span>>,
    /// Where each variable first occurs, by [`ir::VarId`] (empty for
    /// built-in rules).
    pub vars: Vec<Span>,
}

impl RuleSpans {
    /// Rule `index`'s spans in `table`; none for a rule the table lacks.
    pub fn of(table: &[RuleSpans], index: usize) -> &RuleSpans {
        static NONE: RuleSpans = RuleSpans { body: Vec::new(), vars: Vec::new() };
        table.get(index).unwrap_or(&NONE)
    }
}

/// The output of lowering: the IR plus what analysis needs to explain itself.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The program.
    pub program: Program,
    /// The role declarations.
    pub roles: Vec<RoleDecl>,
    /// Where each rule's parts were written, by rule id.
    pub spans: Vec<RuleSpans>,
}

/// Lowers a whole AST. Every error found is returned; the program is only
/// meaningful when there are none.
pub fn lower(ast: &ast::Ast) -> (Lowered, Vec<Diagnostic>) {
    let mut lowerer = Lowerer::default();
    lowerer.program.symbols.intern("*");
    for (name, arity, kind, domain_columns) in builtins::RELATIONS {
        lowerer.add_relation(name, arity, kind, domain_columns, None);
    }
    lowerer.declare_names(ast);
    lowerer.declare_relations(ast);
    lowerer.record_declarations(ast);
    for statement in &ast.statements {
        lowerer.statement(statement);
    }
    for (rule, origin) in builtins::rules() {
        let origin = lowerer.origin(origin);
        lowerer.program.rules.push(Rule { origin, ..rule });
        lowerer.spans.push(RuleSpans::default());
    }
    lowerer.program.domain = domain_of(&lowerer.program);
    let Lowerer { program, roles, spans, diagnostics, .. } = lowerer;
    (Lowered { program, roles, spans }, diagnostics)
}

/// The active domain of a program: entity columns of facts, constants of rule atoms.
pub fn domain_of(program: &Program) -> Vec<Value> {
    let values = rule_constants(program).chain(program.facts.iter().flat_map(|fact| domain_values(program, fact)));
    sorted_distinct(values.filter(|v| *v != Value::Sym(STAR)), program.symbols.len())
}

/// The distinct `values`, sorted as [`Value`] orders them, for a program of
/// `symbols` symbols: each symbol marked in a bit map over the ids (one
/// pass, no sort of a million values), the few other values sorted.
pub fn sorted_distinct(values: impl Iterator<Item = Value>, symbols: usize) -> Vec<Value> {
    let mut marked = vec![0u64; symbols.div_ceil(64)];
    let mut others = Vec::new();
    for value in values {
        match value {
            Value::Sym(s) if (s.0 as usize) < symbols => {
                if let Some(word) = marked.get_mut(s.0 as usize / 64) {
                    *word |= 1 << (s.0 % 64);
                }
            }
            other => others.push(other),
        }
    }
    others.sort_unstable();
    others.dedup();
    let mut sorted = Vec::new();
    for (i, &word) in marked.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            sorted.push(Value::Sym(Sym((i * 64) as u32 + bits.trailing_zeros())));
            bits &= bits - 1;
        }
    }
    // Symbols sort before every other kind (`Value`'s order); those beyond
    // the table (none in a program's facts) after the table's, first among
    // the sorted others.
    sorted.extend(others);
    sorted
}

/// The active domain after facts were removed: `domain` (the program's
/// before) without those of `candidates` (values of the removed facts) that
/// no remaining fact and no rule uses; the same as [`domain_of`] but one
/// pass with lookups in a small set, not a sort of every value.
pub fn domain_without(program: &Program, domain: &[Value], candidates: &BTreeSet<Value>) -> Vec<Value> {
    let mut unused: BTreeSet<Value> = candidates.clone();
    for value in rule_constants(program) {
        unused.remove(&value);
    }
    for fact in &program.facts {
        if unused.is_empty() {
            break;
        }
        for value in domain_values(program, fact) {
            unused.remove(&value);
        }
    }
    domain.iter().filter(|v| !unused.contains(v)).copied().collect()
}

/// The values a fact adds to the active domain (its entity columns).
pub fn domain_values<'a>(program: &Program, fact: &'a ir::Fact) -> impl Iterator<Item = Value> + 'a {
    let columns = program.relation(fact.rel).map_or(0, |r| r.domain_columns);
    fact.tuple.iter().take(columns).copied().filter(|v| *v != Value::Sym(STAR))
}

/// The constants of the rules' atoms.
fn rule_constants(program: &Program) -> impl Iterator<Item = Value> + '_ {
    program.rules.iter().flat_map(|rule| {
        let atoms = std::iter::once(&rule.head).chain(rule.body.iter().filter_map(|l| match l {
            Literal::Pos(a) | Literal::Neg(a) => Some(a),
            _ => None,
        }));
        atoms.flat_map(|atom| {
            atom.args.iter().filter_map(|term| match term {
                ir::Term::Const(value) => Some(*value),
                _ => None,
            })
        })
    })
}

#[derive(Default)]
struct Lowerer {
    program: Program,
    diagnostics: Vec<Diagnostic>,
    relations: HashMap<String, RelId>,
    /// Relations with at least one fact or rule (besides the built-ins).
    defined: BTreeSet<RelId>,
    roles: Vec<RoleDecl>,
    /// Where each rule's parts were written, by rule id.
    spans: Vec<RuleSpans>,
    role_index: BTreeMap<String, Span>,
    functions: HashMap<String, (Callee, usize, Span)>,
}

impl Lowerer {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn origin(&mut self, origin: Origin) -> OriginId {
        self.program.origins.push(origin);
        OriginId(self.program.origins.len() as u32 - 1)
    }

    fn add_relation(
        &mut self,
        name: &str,
        arity: usize,
        kind: RelationKind,
        domain_columns: usize,
        span: Option<Span>,
    ) -> RelId {
        let id = RelId(self.program.relations.len() as u32);
        self.program.relations.push(ir::Relation {
            name: name.to_string(),
            arity,
            kind,
            domain_columns,
            first_use: span,
            columns: None,
            declared: false,
        });
        self.relations.insert(name.to_string(), id);
        id
    }

    fn value(&mut self, constant: &Constant) -> Value {
        value_of(constant, |name| self.program.symbols.intern(name))
    }

    fn sym(&mut self, name: &str) -> Value {
        Value::Sym(self.program.symbols.intern(name))
    }

    // ---------------------------------- pass 2: lowering (pass 1, names, is in names.rs)

    fn statement(&mut self, statement: &ast::Statement) {
        let span = statement.span;
        match &statement.kind {
            StatementKind::Role { name, extends, entries } => self.role(name, extends, entries, span),
            StatementKind::Access { effect, subject, perm, object, body } => {
                let head_rel = match effect {
                    ast::Effect::Allow => builtins::PERMITTED,
                    ast::Effect::Deny => builtins::DENIED,
                };
                let mut vars = VarTable::default();
                let mut head_args = Vec::new();
                for term in [Some(subject), Some(perm), object.as_ref()] {
                    let arg = match term {
                        Some(t) => self.head_term(t, &mut vars, true),
                        None => Some(ir::Term::Var(vars.fresh(span))),
                    };
                    head_args.extend(arg);
                }
                let body = self.body(body, &mut vars);
                if head_args.len() == 3 {
                    let head = ir::Atom { rel: head_rel, args: head_args };
                    self.push_rule(head, body, vars, span);
                }
            }
            StatementKind::Rule { head, body } => {
                let mut vars = VarTable::default();
                let Some(rel) = self.relations.get(&head.relation.node).copied() else {
                    return;
                };
                let args: Vec<_> = head.args.iter().filter_map(|t| self.head_term(t, &mut vars, false)).collect();
                let body = self.body(body, &mut vars);
                if args.len() == head.args.len() {
                    self.push_rule(ir::Atom { rel, args }, body, vars, span);
                }
            }
            StatementKind::Fn { name, params, body } => {
                let Some((Callee::Fn(index), _, first)) = self.functions.get(&name.node).copied() else {
                    return;
                };
                if first != name.span {
                    return; // a duplicate, already reported
                }
                let names: Vec<String> = params.iter().map(|p| p.node.clone()).collect();
                if let Some(lowered) = self.fn_body(body, &names)
                    && let Some(def) = self.program.fns.get_mut(index as usize)
                {
                    def.body = lowered;
                }
            }
            StatementKind::ExternFn { .. } => {}
            StatementKind::Test { name, items } => self.test(name, items, span),
            _ => {
                let facts = self.statement_facts(statement);
                self.program.facts.extend(facts);
            }
        }
    }

    fn push_rule(&mut self, head: ir::Atom, body: Vec<(Literal, Span)>, vars: VarTable, span: Span) {
        let origin = self.origin(Origin::Source(span));
        let (body, spans): (Vec<_>, Vec<_>) = body.into_iter().map(|(l, s)| (l, Some(s))).unzip();
        let (var_names, var_spans) = vars.into_parts();
        self.program.rules.push(Rule { head, body, var_names, origin });
        self.spans.push(RuleSpans { body: spans, vars: var_spans });
    }

    fn role(&mut self, name: &Spanned<String>, extends: &[Spanned<String>], entries: &[ast::RoleEntry], span: Span) {
        if self.role_index.get(&name.node) != Some(&name.span) {
            return; // a duplicate, already reported
        }
        let origin = self.origin(Origin::Source(span));
        let role = self.sym(&name.node);
        self.program.facts.push(Fact { rel: builtins::ROLE, tuple: vec![role], origin });
        for junior in extends {
            if self.check_role(junior) {
                let junior_value = self.sym(&junior.node);
                let origin = self.origin(Origin::Source(junior.span));
                self.program.facts.push(Fact { rel: builtins::ROLE_EXTENDS, tuple: vec![role, junior_value], origin });
            }
        }
        for entry in entries {
            let perm = self.sym(&entry.perm.node);
            let on_type = match &entry.on_type {
                Some(t) => self.sym(&t.node),
                None => Value::Sym(STAR),
            };
            let tuple = vec![role, perm, on_type];
            if entry.conditions.is_empty() {
                let origin = self.origin(Origin::Source(entry.span));
                self.program.facts.push(Fact { rel: builtins::ROLE_PERM, tuple, origin });
                continue;
            }
            let mut vars = VarTable::default();
            let body = self.body(&entry.conditions, &mut vars);
            if let Some(first) = vars.spans().first() {
                self.error(
                    Diagnostic::error("a role entry's condition cannot use variables", *first, "a variable")
                        .with_help("role conditions may use `now`, `ctx` and constants; conditions on the subject or object belong in an `allow` rule"),
                );
                continue;
            }
            let head = ir::Atom { rel: builtins::ROLE_PERM, args: tuple.into_iter().map(ir::Term::Const).collect() };
            self.push_rule(head, body, vars, entry.span);
        }
    }

    /// Whether a named role is declared; reports it when not.
    fn check_role(&mut self, role: &Spanned<String>) -> bool {
        if self.role_index.contains_key(&role.node) {
            return true;
        }
        let mut d =
            Diagnostic::error(format!("unknown role `{}`", role.node), role.span, "no role of this name is declared");
        if let Some(near) = closest(&role.node, self.role_index.keys()) {
            d = d.with_help(format!("did you mean `{near}`?"));
        } else {
            d = d.with_help(format!("declare it: `role {} {{ ... }}`", role.node));
        }
        self.error(d);
        false
    }

    /// The base facts of a fact-like statement (top level or local to a test).
    fn statement_facts(&mut self, statement: &ast::Statement) -> Vec<Fact> {
        let origin = self.origin(Origin::Source(statement.span));
        let mut facts = Vec::new();
        match &statement.kind {
            StatementKind::In(member, container) => {
                let tuple = vec![self.sym(&member.node), self.sym(&container.node)];
                facts.push(Fact { rel: builtins::PARENT, tuple, origin });
            }
            StatementKind::Assign(h) | StatementKind::Grant(h) => {
                let is_assign = matches!(statement.kind, StatementKind::Assign(_));
                if is_assign && !self.check_role(&h.what) {
                    return facts;
                }
                let scope = match &h.on {
                    Some(o) => self.sym(&o.node),
                    None => Value::Sym(STAR),
                };
                let from = h.from.as_ref().map_or(FOREVER_BEFORE, |t| Value::Time(t.node));
                let until = h.until.as_ref().map_or(FOREVER_AFTER, |t| Value::Time(t.node));
                let tuple = vec![self.sym(&h.subject.node), self.sym(&h.what.node), scope, from, until];
                let rel = if is_assign { builtins::ASSIGN } else { builtins::GRANT };
                facts.push(Fact { rel, tuple, origin });
            }
            StatementKind::Superuser(u) => {
                facts.push(Fact { rel: builtins::SUPERUSER, tuple: vec![self.sym(&u.node)], origin })
            }
            StatementKind::Inactive(u) => {
                facts.push(Fact { rel: builtins::INACTIVE, tuple: vec![self.sym(&u.node)], origin })
            }
            StatementKind::Fact(atom) => {
                let Some(rel) = self.relations.get(&atom.relation.node).copied() else {
                    return facts;
                };
                let mut tuple = Vec::new();
                for arg in &atom.args {
                    match &arg.node {
                        ast::Term::Const(c) => tuple.push(self.value(c)),
                        ast::Term::Any(_) => self.error(exprs::wildcard_outside_a_question(arg.span)),
                        _ => self.error(
                            Diagnostic::error("a fact holds constants only", arg.span, "not a constant")
                                .with_help("to derive facts from others, write a rule: `head(X) :- body(X);`"),
                        ),
                    }
                }
                if tuple.len() == atom.args.len() && self.fits_declaration(rel, &tuple, &atom.args) {
                    facts.push(Fact { rel, tuple, origin });
                }
            }
            _ => {}
        }
        facts
    }

    /// Whether a fact's values fit its relation's declared columns (an
    /// error at the first value that does not, with a note at the
    /// declaration).
    fn fits_declaration(&mut self, rel: RelId, tuple: &[Value], args: &[Spanned<ast::Term>]) -> bool {
        let Some(relation) = self.program.relation(rel) else { return true };
        let Some((columns, declared)) = relation.columns.clone() else { return true };
        let name = relation.name.clone();
        for (i, ((value, column), arg)) in tuple.iter().zip(&columns).zip(args).enumerate() {
            let symbols = &self.program.symbols;
            if column.admits(*value, |s| symbols.resolve(s).cloned()) {
                continue;
            }
            let shown = match value {
                Value::Sym(s) => symbols.resolve(*s).map_or_else(|| "?".to_string(), |n| n.to_string()),
                Value::Int(n) => n.to_string(),
                Value::Time(t) => crate::time::format_timestamp(*t),
                Value::Dur(d) => crate::time::format_duration(*d),
                Value::Bool(b) => b.to_string(),
            };
            self.error(
                Diagnostic::error(
                    format!("`{shown}` does not fit column {} of `{name}`, declared `{column}`", i + 1),
                    arg.span,
                    format!("not {}", column.0.join(" or ")),
                )
                .with_note(declared, "declared here")
                .with_help(
                    "a column type is a typed-id prefix (`page`), `string`, `int`, `timestamp`, `duration`, `bool` or `any`",
                ),
            );
            return false;
        }
        true
    }

    fn test(&mut self, name: &Spanned<String>, items: &[ast::TestItem], span: Span) {
        let mut case = ir::TestCase {
            name: name.node.clone(),
            facts: Vec::new(),
            at: None,
            ctx: BTreeMap::new(),
            asserts: Vec::new(),
            span,
        };
        for item in items {
            match item {
                ast::TestItem::At(t) => case.at = Some(*t),
                ast::TestItem::Ctx(key, value) => {
                    let key = self.program.symbols.intern(key);
                    let value = self.value(value);
                    case.ctx.insert(key, value);
                }
                ast::TestItem::Fact(statement) => {
                    let facts = self.statement_facts(statement);
                    case.facts.extend(facts);
                }
                ast::TestItem::Assert(a) => {
                    let (atom, expect) = match &a.kind {
                        ast::AssertKind::Holds(x) => (x, ir::Expectation::Holds),
                        ast::AssertKind::NotHolds(x) => (x, ir::Expectation::NotHolds),
                        ast::AssertKind::Count(x, n) => (x, ir::Expectation::Count(*n)),
                    };
                    let mut vars = VarTable::default();
                    let mut fresh = Vec::new();
                    if let Some(atom) = self.query_atom(atom, &mut vars, &mut fresh) {
                        let (var_names, _) = vars.into_parts();
                        let path = a.path.as_ref().map(|(via, name)| (*via, name.node.clone()));
                        let (at, span) = (a.at, a.span);
                        case.asserts.push(ir::TestAssert { atom, var_names, expect, path, at, span, fresh });
                    }
                }
            }
        }
        self.program.tests.push(case);
    }

    /// An atom asked about (a query or an assert): its relation must exist.
    /// `*` and `TYPE:*` become [`FRESH`] ids, their names pushed on `fresh`.
    fn query_atom(&mut self, atom: &ast::Atom, vars: &mut VarTable, fresh: &mut Vec<String>) -> Option<ir::Atom> {
        let rel = self.known_relation(&atom.relation.node, atom.span)?;
        let mut args = Vec::new();
        for arg in &atom.args {
            let ast::Term::Any(ty) = &arg.node else {
                args.push(self.term(arg, vars)?);
                continue;
            };
            // The same `*` twice is one value (conditions compare constants by their text).
            let shown = ty.as_ref().map_or_else(|| "*".to_string(), |t| format!("{t}:*"));
            let at = fresh.iter().position(|f| *f == shown).unwrap_or(fresh.len());
            let Some(sym) = FRESH.get(at) else {
                self.error(Diagnostic::error("at most three `*` in one question", arg.span, "one too many"));
                return None;
            };
            if at == fresh.len() {
                fresh.push(shown);
            }
            args.push(ir::Term::Const(Value::Sym(*sym)));
        }
        Some(ir::Atom { rel, args })
    }
}

/// The value of a constant, its string interned by `intern`.
pub(crate) fn value_of(constant: &Constant, intern: impl FnOnce(&str) -> intern::Sym) -> Value {
    match constant {
        Constant::Str(s) => Value::Sym(intern(s)),
        Constant::Int(n) => Value::Int(*n),
        Constant::Time(t) => Value::Time(*t),
        Constant::Dur(d) => Value::Dur(*d),
        Constant::Bool(b) => Value::Bool(*b),
    }
}

/// `"s"` unless `n` is one.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The candidate closest to `name` by edit distance, if close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row.first().copied().unwrap_or(0);
            if let Some(first) = row.first_mut() {
                *first = i + 1;
            }
            for (j, cb) in b.iter().enumerate() {
                let old = row.get(j + 1).copied().unwrap_or(0);
                let left = row.get(j).copied().unwrap_or(0);
                let value = (old + 1).min(left + 1).min(prev + usize::from(ca != *cb));
                if let Some(cell) = row.get_mut(j + 1) {
                    *cell = value;
                }
                prev = old;
            }
        }
        row.last().copied().unwrap_or(0)
    };
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, c)| (*d, (*c).clone()))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            // Ids below and beyond a table of 64 symbols.
            (0u32..80).prop_map(|id| Value::Sym(Sym(id))),
            (-3i64..3).prop_map(Value::Int),
            (-3i64..3).prop_map(Value::Time),
            (-3i64..3).prop_map(Value::Dur),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    proptest! {
        /// The bit map gives what sorting and deduplicating gives.
        #[test]
        fn sorted_distinct_sorts_and_deduplicates(values in prop::collection::vec(value(), 0..200)) {
            let expected: Vec<Value> = values.iter().copied().collect::<BTreeSet<Value>>().into_iter().collect();
            prop_assert_eq!(sorted_distinct(values.into_iter(), 64), expected);
        }
    }
}

//! Inspecting a loaded program: its relations and sizes, the rules of a
//! relation, the role hierarchy, and the base fact a statement denotes (for
//! retractions and live updates). Used by the REPL and by `Live`.

use crate::engine::{Engine, RequestOptions, Resolved};
use crate::eval::{self, Additions, render};
use crate::live::LiveFact;
use crate::lower::builtins;
use crate::lower::intern::Symbols;
use crate::lower::ir::{self, Origin, Value};
use crate::lower::request::constant_value;
use crate::syntax;
use crate::syntax::ast;

impl Engine {
    /// The base fact a live fact denotes, if the program has it (internal
    /// ids: not a stable API).
    #[doc(hidden)]
    pub fn base_fact(&self, fact: &LiveFact) -> Result<(ir::RelId, Vec<Value>), String> {
        // The fact's statement, built directly: no text is parsed.
        let statement = &fact.statement(syntax::span::Span::new(syntax::span::FileId(0), 0, 0));
        let program = &self.checked().program;
        let sym =
            |name: &str| program.symbols.get(name).map(Value::Sym).ok_or_else(|| format!("no fact mentions `{name}`"));
        let bounds = |h: &ast::Holding| -> Result<Vec<Value>, String> {
            let scope = match &h.on {
                Some(o) => sym(&o.node)?,
                None => Value::Sym(builtins::STAR),
            };
            let from = h.from.as_ref().map_or(builtins::FOREVER_BEFORE, |t| Value::Time(t.node));
            let until = h.until.as_ref().map_or(builtins::FOREVER_AFTER, |t| Value::Time(t.node));
            Ok(vec![sym(&h.subject.node)?, sym(&h.what.node)?, scope, from, until])
        };
        let fact = match &statement.kind {
            ast::StatementKind::In(x, y) => (builtins::PARENT, vec![sym(&x.node)?, sym(&y.node)?]),
            ast::StatementKind::Assign(h) => (builtins::ASSIGN, bounds(h)?),
            ast::StatementKind::Grant(h) => (builtins::GRANT, bounds(h)?),
            ast::StatementKind::Superuser(u) => (builtins::SUPERUSER, vec![sym(&u.node)?]),
            ast::StatementKind::Inactive(u) => (builtins::INACTIVE, vec![sym(&u.node)?]),
            ast::StatementKind::Role { name, extends, entries } if extends.is_empty() => match entries.as_slice() {
                [] => (builtins::ROLE, vec![sym(&name.node)?]),
                [entry] if entry.conditions.is_empty() => {
                    let on = entry.on_type.as_ref().map_or(Ok(Value::Sym(builtins::STAR)), |t| sym(&t.node))?;
                    (builtins::ROLE_PERM, vec![sym(&name.node)?, sym(&entry.perm.node)?, on])
                }
                _ => return Err("a role block names one entry at a time here".into()),
            },
            ast::StatementKind::Fact(atom) => {
                let rel = program
                    .relation_id(&atom.relation.node)
                    .ok_or_else(|| format!("unknown relation `{}`", atom.relation.node))?;
                let mut row = Vec::new();
                for arg in &atom.args {
                    match &arg.node {
                        ast::Term::Const(ast::Constant::Str(s)) => row.push(sym(s)?),
                        ast::Term::Const(c) => row.push(constant_value(&Symbols::new(&program.symbols), c)),
                        _ => return Err("a fact holds constants only".into()),
                    }
                }
                (rel, row)
            }
            _ => {
                return Err(
                    "only facts can be retracted (`X in Y;`, `assign ...;`, `grant ...;`, `rel(a, b);`, ...)".into()
                );
            }
        };
        // The base relations are sorted: one search, not a scan of every fact.
        if self.prepared.base_rows(fact.0).is_some_and(|rows| rows.binary_search(&fact.1).is_ok()) {
            Ok(fact)
        } else {
            Err("the program has no such fact".into())
        }
    }

    /// Every relation with its arity, its number of tuples at the request, and
    /// where it is first used.
    pub fn relation_sizes(&self, options: &RequestOptions) -> Vec<(String, usize, usize, String)> {
        let program = &self.checked().program;
        let resolved = Resolved::new(self, options.at, &options.ctx, &[]);
        let env = resolved.env();
        let removed = options.retracted.iter().cloned().collect();
        let additions = Additions { removed, ..Additions::default() };
        let model = eval::evaluate(self.checked(), &env, &additions, self.limits()).unwrap_or_default();
        program
            .relations
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind != ir::RelationKind::Internal)
            .map(|(i, r)| {
                let count = model.relations.get(i).map_or(0, |r| r.len());
                let place = match r.first_use {
                    Some(span) => self.sources().location(span).to_string(),
                    None => "built-in".to_string(),
                };
                (r.name.clone(), r.arity, count, place)
            })
            .collect()
    }

    /// The rules defining a relation: location (or built-in label) and text.
    pub fn rules_of(&self, relation: &str) -> Vec<String> {
        let program = &self.checked().program;
        let Some(rel) = program.relation_id(relation) else { return Vec::new() };
        program
            .rules
            .iter()
            .filter(|r| r.head.rel == rel)
            .filter_map(|r| match program.origin(r.origin) {
                Some(Origin::Builtin(label, text)) => Some(format!("{label}: {text}")),
                Some(Origin::Source(span)) => Some(format!(
                    "{}: {}",
                    self.sources().location(*span),
                    self.sources().snippet(*span).split_whitespace().collect::<Vec<_>>().join(" ")
                )),
                None => None,
            })
            .collect()
    }

    /// Declared roles with the roles each directly extends, sorted by name.
    pub fn roles(&self) -> Vec<(String, Vec<String>)> {
        let program = &self.checked().program;
        let symbols = Symbols::new(&program.symbols);
        let name = |v: &Value| render::value(*v, &symbols);
        let mut roles: Vec<(String, Vec<String>)> = program
            .facts
            .iter()
            .filter(|f| f.rel == builtins::ROLE)
            .filter_map(|f| f.tuple.first())
            .map(|role| {
                let mut juniors: Vec<String> = program
                    .facts
                    .iter()
                    .filter(|f| f.rel == builtins::ROLE_EXTENDS && f.tuple.first() == Some(role))
                    .filter_map(|f| f.tuple.get(1).map(name))
                    .collect();
                juniors.sort();
                (name(role), juniors)
            })
            .collect();
        roles.sort();
        roles
    }
}

//! Lowering fact statements against an existing program (live updates).

use super::Lowerer;
use super::builtins;
use super::ir::{Fact, Program, RelId, RelationKind, Value};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{self, StatementKind};
use crate::syntax::span::Span;

/// Lowers fact-like statements (`X in Y;`, `assign`, `grant`, `superuser`,
/// `inactive`, `rel(a, b);`) against an existing program: the facts, and the
/// program with their constants interned and their origins recorded. Unknown
/// roles, unknown relations and wrong arities are errors (a live update cannot
/// introduce a relation).
pub fn lower_facts(program: Program, statements: &[ast::Statement]) -> (Program, Vec<Fact>, Vec<Diagnostic>) {
    let mut lowerer = Lowerer { program, ..Lowerer::default() };
    for (i, relation) in lowerer.program.relations.iter().enumerate() {
        lowerer.relations.insert(relation.name.clone(), RelId(i as u32));
    }
    let roles: Vec<String> = lowerer
        .program
        .facts
        .iter()
        .filter(|f| f.rel == builtins::ROLE)
        .filter_map(|f| match f.tuple.first() {
            Some(Value::Sym(s)) => lowerer.program.symbols.resolve(*s).map(|n| n.to_string()),
            _ => None,
        })
        .collect();
    for role in roles {
        lowerer.role_index.insert(role, Span::new(crate::syntax::span::FileId(0), 0, 0));
    }
    let mut facts = Vec::new();
    for statement in statements {
        if let StatementKind::Fact(atom) = &statement.kind {
            let arity = lowerer
                .relations
                .get(&atom.relation.node)
                .and_then(|r| lowerer.program.relation(*r))
                .map(|r| (r.arity, r.kind));
            match arity {
                None => {
                    lowerer.error(Diagnostic::error(
                        format!("unknown relation `{}`", atom.relation.node),
                        atom.span,
                        "no rule or fact of the program uses it",
                    ));
                    continue;
                }
                Some((_, RelationKind::BuiltinDerived | RelationKind::Internal)) => {
                    lowerer.error(Diagnostic::error(
                        format!("`{}` is derived by Warden and cannot be defined", atom.relation.node),
                        atom.span,
                        "derived",
                    ));
                    continue;
                }
                Some((n, _)) if n != atom.args.len() => {
                    lowerer.error(Diagnostic::error(
                        format!(
                            "arity mismatch: `{}` has {n} arguments, here it has {}",
                            atom.relation.node,
                            atom.args.len()
                        ),
                        atom.span,
                        "wrong number of arguments",
                    ));
                    continue;
                }
                Some(_) => {}
            }
        }
        let lowered = lowerer.statement_facts(statement);
        facts.extend(lowered);
    }
    let Lowerer { program, diagnostics, .. } = lowerer;
    (program, facts, diagnostics)
}

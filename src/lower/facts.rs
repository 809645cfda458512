//! Lowering fact statements against an existing program (live updates).

use super::Lowerer;
use super::builtins;
use super::ir::{Fact, Origin, Program, RelId, RelationKind, Value};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{self, StatementKind};
use crate::syntax::span::{Span, Spanned};

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
    // Roles declared by this update count for all its facts, in any order.
    let declared_here = statements.iter().filter_map(|s| match &s.kind {
        StatementKind::Role { name, extends, entries } if extends.is_empty() && entries.is_empty() => {
            Some(name.node.clone())
        }
        _ => None,
    });
    let roles: Vec<String> = roles.into_iter().chain(declared_here).collect();
    for role in roles {
        lowerer.role_index.insert(role, Span::new(crate::syntax::span::FileId(0), 0, 0));
    }
    let mut facts = Vec::with_capacity(statements.len());
    for statement in statements {
        if let StatementKind::Role { name, extends, entries } = &statement.kind {
            facts.extend(role_facts(&mut lowerer, name, extends, entries, statement.span));
            continue;
        }
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
            // An edge between roles names two declared roles, as `extends` does.
            if atom.relation.node == "role_extends" {
                let names: Vec<Spanned<String>> = atom
                    .args
                    .iter()
                    .filter_map(|arg| match &arg.node {
                        ast::Term::Const(ast::Constant::Str(name)) => Some(Spanned::new(name.clone(), arg.span)),
                        _ => None,
                    })
                    .collect();
                if names.len() != atom.args.len() {
                    lowerer.error(Diagnostic::error(
                        "`role_extends` takes two role names",
                        atom.span,
                        "not role names",
                    ));
                    continue;
                }
                // Every name checked (and reported), not only up to the first unknown one.
                let unknown = names.iter().filter(|name| !lowerer.check_role(name)).count();
                if unknown > 0 {
                    continue;
                }
            }
        }
        let lowered = lowerer.statement_facts(statement);
        facts.extend(lowered);
    }
    let Lowerer { program, diagnostics, .. } = lowerer;
    (program, facts, diagnostics)
}

/// The facts of a role block in a live update: `role R {}` declares R,
/// `role R { p [on T]; }` is one unconditional entry of a declared role.
/// (Live facts never carry `extends`: an edge is a `role_extends` fact.)
fn role_facts(
    lowerer: &mut Lowerer,
    name: &Spanned<String>,
    extends: &[Spanned<String>],
    entries: &[ast::RoleEntry],
    span: Span,
) -> Vec<Fact> {
    let origin = lowerer.origin(Origin::Source(span));
    let role = lowerer.sym(&name.node);
    if let Some(junior) = extends.first() {
        // (Not from a `LiveFact`: a role block's edges arrive as `role_extends` facts.)
        lowerer.error(Diagnostic::error(
            "an edge between roles is the fact `role_extends(R, J);` here",
            junior.span,
            "here",
        ));
        return Vec::new();
    }
    if entries.is_empty() {
        return vec![Fact { rel: builtins::ROLE, tuple: vec![role], origin }];
    }
    if !lowerer.check_role(name) {
        return Vec::new();
    }
    let mut facts = Vec::new();
    for entry in entries {
        if !entry.conditions.is_empty() {
            let d = Diagnostic::error("a live update cannot add a conditional role entry", entry.span, "a condition")
                .with_help("conditional entries belong in a policy");
            lowerer.error(d);
            continue;
        }
        let perm = lowerer.sym(&entry.perm.node);
        let on_type = match &entry.on_type {
            Some(t) => lowerer.sym(&t.node),
            None => Value::Sym(builtins::STAR),
        };
        facts.push(Fact { rel: builtins::ROLE_PERM, tuple: vec![role, perm, on_type], origin });
    }
    facts
}

//! Lints about joins: a rule variable that meets columns that can never
//! hold the same value, by their facts (an integer id against a string id)
//! or by their declarations (`page` against `doc`), and the `--strict`
//! check that every relation is declared.

use super::lints::{span_of, warning};
use crate::diagnostics::Diagnostic;
use crate::lower::RuleSpans;
use crate::lower::ir::{ColumnType, Literal, Program, RelId, RelationKind, Rule, Term, Value, VarId};
use std::collections::{BTreeMap, BTreeSet};

/// The columns each variable of a rule stands in: the positive body atoms,
/// and with `head` the head too.
fn places(rule: &Rule, head: bool) -> BTreeMap<VarId, Vec<(RelId, usize)>> {
    let mut columns: BTreeMap<VarId, Vec<(RelId, usize)>> = BTreeMap::new();
    let atoms = rule.body.iter().filter_map(|l| if let Literal::Pos(atom) = l { Some(atom) } else { None });
    for atom in head.then_some(&rule.head).into_iter().chain(atoms) {
        for (col, term) in atom.args.iter().enumerate() {
            if let Term::Var(v) = term {
                columns.entry(*v).or_default().push((atom.rel, col));
            }
        }
    }
    columns
}

/// A variable that joins two columns whose facts hold values of different
/// kinds (`page_project(page:1, 42)` with `project_perm(bob, view, "42")`):
/// an integer never equals a string, so the rule never fires through them.
pub(super) fn joins_across_kinds(program: &Program, spans: &[RuleSpans], out: &mut Vec<Diagnostic>) {
    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Sym(_) => "strings",
            Value::Int(_) => "integers",
            Value::Time(_) => "timestamps",
            Value::Dur(_) => "durations",
            Value::Bool(_) => "booleans",
        }
    }
    // Only relations that facts alone fill: a rule may put anything in the others.
    let derived: BTreeSet<RelId> = program.rules.iter().map(|r| r.head.rel).collect();
    let mut held: BTreeMap<(RelId, usize), BTreeSet<&'static str>> = BTreeMap::new();
    for fact in program.facts.iter().filter(|f| !derived.contains(&f.rel)) {
        for (col, v) in fact.tuple.iter().enumerate() {
            held.entry((fact.rel, col)).or_default().insert(kind(v));
        }
    }
    for (index, rule) in program.rules.iter().enumerate() {
        if span_of(program, rule.origin).is_none() {
            continue;
        }
        for (v, places) in places(rule, false) {
            let kinds: Vec<((RelId, usize), &BTreeSet<&str>)> =
                places.iter().filter_map(|p| held.get(p).map(|k| (*p, k))).collect();
            let clash = kinds
                .iter()
                .enumerate()
                .find_map(|(i, a)| kinds.iter().skip(i + 1).find(|b| a.1.is_disjoint(b.1)).map(|b| (*a, *b)));
            let Some((((rel_a, col_a), kinds_a), ((rel_b, col_b), kinds_b))) = clash else { continue };
            let var_name = rule.var_names.get(v.0 as usize).map_or("_", String::as_str);
            let Some(span) = RuleSpans::of(spans, index).vars.get(v.0 as usize) else { continue };
            let list = |k: &BTreeSet<&str>| k.iter().copied().collect::<Vec<_>>().join(" and ");
            out.push(
                warning(
                    format!(
                        "`{var_name}` joins {}'s column {} ({}) with {}'s column {} ({}): they never match",
                        program.relation_name(rel_a),
                        col_a + 1,
                        list(kinds_a),
                        program.relation_name(rel_b),
                        col_b + 1,
                        list(kinds_b)
                    ),
                    *span,
                    "joins values of different kinds",
                )
                .with_help("write the ids the same way in both (`7` or `\"7\"`), or declare the relations (`relation NAME(TYPE, ...)`) so that a fact of the wrong kind is an error"),
            );
        }
    }
}

/// Whether two declared column types share a value: `any` meets
/// everything, `string` every typed-id prefix, a prefix only itself.
fn types_meet(a: &ColumnType, b: &ColumnType) -> bool {
    const SCALARS: [&str; 4] = ["int", "timestamp", "duration", "bool"];
    a.0.iter().any(|x| {
        b.0.iter().any(|y| {
            x == y
                || x == "any"
                || y == "any"
                || (x == "string" && !SCALARS.contains(&y.as_str()))
                || (y == "string" && !SCALARS.contains(&x.as_str()))
        })
    })
}

/// A variable that joins two declared columns whose types share no value
/// (`owner(U, O), doc_folder(O, F)` with `owner(user, page)` and
/// `doc_folder(doc, folder)`), in the body or between the body and a
/// declared head: the rule never fires through them (SPEC section 9).
pub(super) fn joins_across_declared_types(program: &Program, spans: &[RuleSpans], out: &mut Vec<Diagnostic>) {
    let declared = |(rel, col): (RelId, usize)| {
        let (columns, span) = program.relation(rel)?.columns.as_ref()?;
        Some((rel, col, columns.get(col)?, *span))
    };
    for (index, rule) in program.rules.iter().enumerate() {
        if span_of(program, rule.origin).is_none() {
            continue;
        }
        for (v, places) in places(rule, true) {
            let typed: Vec<_> = places.into_iter().filter_map(declared).collect();
            let clash = typed
                .iter()
                .enumerate()
                .find_map(|(i, a)| typed.iter().skip(i + 1).find(|b| !types_meet(a.2, b.2)).map(|b| (a, b)));
            let Some(((rel_a, col_a, type_a, decl_a), (rel_b, col_b, type_b, decl_b))) = clash else { continue };
            let var_name = rule.var_names.get(v.0 as usize).map_or("_", String::as_str);
            let Some(span) = RuleSpans::of(spans, index).vars.get(v.0 as usize) else { continue };
            let column = |rel: &RelId, col: &usize, ty: &ColumnType| {
                format!("{}'s column {} (`{ty}`)", program.relation_name(*rel), col + 1)
            };
            let mut d = warning(
                format!(
                    "`{var_name}` joins {} with {}: no value is of both types",
                    column(rel_a, col_a, type_a),
                    column(rel_b, col_b, type_b)
                ),
                *span,
                "joins columns of different declared types",
            );
            d = d.with_note(*decl_a, format!("`{}` is declared here", program.relation_name(*rel_a)));
            if decl_b != decl_a {
                d = d.with_note(*decl_b, format!("`{}` is declared here", program.relation_name(*rel_b)));
            }
            out.push(d.with_help("the rule never fires through this variable; fix the declaration or the join"));
        }
    }
}

/// `warden check --strict`: every relation a policy names is declared
/// (`relation NAME(TYPE, ...);`), an error at its first use otherwise.
pub fn undeclared_relations(program: &Program) -> Vec<Diagnostic> {
    program
        .relations
        .iter()
        .filter(|r| r.kind == RelationKind::User && !r.declared)
        .filter_map(|r| {
            let span = r.first_use?;
            let d = Diagnostic::error(format!("relation `{}` is not declared", r.name), span, "first used here")
                .with_help(format!(
                    "declare it: `relation {}({});` (`--strict` requires it)",
                    r.name,
                    vec!["any"; r.arity].join(", ")
                ));
            Some(d)
        })
        .collect()
}

//! Stage 3, analysis: whole-program checks on the IR.
//!
//! `extends` cycles, recursive functions, rule safety (every variable bound),
//! and stratification (no negation through recursion). The result is a
//! [`Checked`] program with its strata: nothing later re-checks what this
//! module proved.

pub mod joins;
pub mod kinds;
pub mod lints;
pub mod strata;

use crate::diagnostics::Diagnostic;
use crate::lower::builtins;
use crate::lower::ir::{Expr, Literal, Origin, Program, RelId, Rule, Term, VarId};
use crate::lower::{Lowered, RoleDecl, RuleSpans};
use std::collections::{BTreeMap, BTreeSet};
pub use strata::Stratum;

/// A program that passed analysis, with its evaluation order.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The program; access rules carry `Domain` literals for their free variables.
    pub program: Program,
    /// Strata in evaluation order.
    pub strata: Vec<Stratum>,
}

/// A checked program and where its rules were written (for the lints,
/// which run later; evaluation takes only the [`Checked`] program).
#[derive(Debug)]
pub struct Analyzed {
    /// The program and its strata.
    pub checked: Checked,
    /// Where each rule's parts were written, by rule id.
    pub spans: Vec<RuleSpans>,
}

/// Runs every whole-program check. Returns the checked program, or every error.
pub fn analyze(lowered: Lowered) -> Result<Analyzed, Vec<Diagnostic>> {
    let Lowered { mut program, roles, mut spans } = lowered;
    debug_assert_eq!(spans.len(), program.rules.len(), "a rule without its spans");
    spans.resize_with(program.rules.len(), RuleSpans::default);
    let mut errors = Vec::new();
    errors.extend(extends_cycles(&roles));
    errors.extend(fn_cycles(&program));
    let origins = &program.origins;
    for (rule, spans) in program.rules.iter_mut().zip(spans.iter_mut()) {
        let builtin = matches!(origins.get(rule.origin.0 as usize), Some(Origin::Builtin(..)));
        if !builtin {
            errors.extend(make_safe(rule, spans));
        }
    }
    let edges = strata::edges(&program);
    let components = strata::components(program.relations.len(), &edges);
    errors.extend(negative_cycles(&program, &spans, &components, &edges));
    if !errors.is_empty() {
        return Err(errors);
    }
    let strata = strata::strata(&program, &components, &edges);
    Ok(Analyzed { checked: Checked { program, strata }, spans })
}

/// A cycle in `extends` is an error naming every role of it.
fn extends_cycles(roles: &[RoleDecl]) -> Vec<Diagnostic> {
    let index: BTreeMap<&str, &RoleDecl> = roles.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut errors = Vec::new();
    let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in roles {
        // Depth-first search for a path back to `start`.
        let mut stack: Vec<(&RoleDecl, usize)> = vec![(start, 0)];
        let mut seen = BTreeSet::new();
        while let Some((role, next)) = stack.last_mut() {
            let Some((junior, span)) = role.extends.get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            let span = *span;
            if junior == &start.name {
                let mut cycle: Vec<String> = stack.iter().map(|(r, _)| r.name.clone()).collect();
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    cycle.push(start.name.clone());
                    errors.push(
                        Diagnostic::error(
                            format!("cycle in `extends`: {}", cycle.join(" extends ")),
                            span,
                            "this closes the cycle",
                        )
                        .with_help("a role cannot extend itself, directly or through others; remove one `extends`"),
                    );
                }
                break;
            }
            if let Some(next_role) = index.get(junior.as_str())
                && seen.insert(junior.clone())
            {
                stack.push((next_role, 0));
            }
        }
    }
    errors
}

/// A `fn` that calls itself, directly or through others, is an error.
fn fn_cycles(program: &Program) -> Vec<Diagnostic> {
    let calls: Vec<BTreeSet<u32>> = program
        .fns
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            f.body.fn_calls(&mut out);
            out.into_iter().collect()
        })
        .collect();
    let mut errors = Vec::new();
    let mut reported = BTreeSet::new();
    for (start, def) in program.fns.iter().enumerate() {
        let start = start as u32;
        let mut path = vec![start];
        let mut seen = BTreeSet::new();
        if let Some(cycle) = find_path(start, start, &calls, &mut path, &mut seen) {
            // The cycle's members without the closing repeat identify it.
            let mut key: Vec<u32> = cycle.iter().skip(1).copied().collect();
            key.sort();
            if reported.insert(key) {
                let names: Vec<&str> =
                    cycle.iter().filter_map(|i| program.fns.get(*i as usize)).map(|f| f.name.as_str()).collect();
                errors.push(
                    Diagnostic::error(
                        format!("recursive function: {}", names.join(" calls ")),
                        def.span,
                        "part of the cycle",
                    )
                    .with_help(
                        "functions cannot call themselves, directly or through others; use a rule for recursion",
                    ),
                );
            }
        }
    }
    errors
}

fn find_path(
    from: u32,
    target: u32,
    calls: &[BTreeSet<u32>],
    path: &mut Vec<u32>,
    seen: &mut BTreeSet<u32>,
) -> Option<Vec<u32>> {
    for &next in calls.get(from as usize)? {
        if next == target {
            let mut cycle = path.clone();
            cycle.push(target);
            return Some(cycle);
        }
        if seen.insert(next) {
            path.push(next);
            if let Some(found) = find_path(next, target, calls, path, seen) {
                return Some(found);
            }
            path.pop();
        }
    }
    None
}

/// Calls `f` for every term (constant, variable, `now`, `ctx.KEY`) of an expression.
pub fn visit_terms(e: &Expr, f: &mut dyn FnMut(&Term)) {
    e.walk(&mut |e| {
        if let Expr::Term(t) = e {
            f(t)
        }
    });
}

/// Calls `f` for every occurrence of a variable in an expression.
pub fn visit_vars(e: &Expr, f: &mut dyn FnMut(VarId)) {
    visit_terms(e, &mut |t| {
        if let Term::Var(v) = t {
            f(*v)
        }
    });
}

/// The variables an expression reads.
pub fn expr_vars(e: &Expr, out: &mut BTreeSet<VarId>) {
    visit_vars(e, &mut |v| {
        out.insert(v);
    });
}

fn atom_vars(args: &[Term]) -> impl Iterator<Item = VarId> + '_ {
    args.iter().filter_map(Term::as_var)
}

/// Checks that every variable is bound. In an `allow`/`deny` rule, a head
/// variable that no positive atom binds ranges over the active domain (SPEC
/// section 3): a `Domain` literal is added for it (and to its `spans`).
/// Built-in rules are written safe and not checked.
fn make_safe(rule: &mut Rule, spans: &mut RuleSpans) -> Vec<Diagnostic> {
    let mut bound: BTreeSet<VarId> = BTreeSet::new();
    for literal in &rule.body {
        if let Literal::Pos(a) = literal {
            bound.extend(atom_vars(&a.args));
        }
    }
    // A list membership binds its variable when its items are computable.
    for literal in &rule.body {
        if let Literal::Member(v, items) = literal {
            let mut needs = BTreeSet::new();
            items.iter().for_each(|i| expr_vars(i, &mut needs));
            if needs.is_subset(&bound) {
                bound.insert(*v);
            }
        }
    }
    let is_access = rule.head.rel == builtins::PERMITTED || rule.head.rel == builtins::DENIED;
    let mut errors = Vec::new();
    let name = |rule: &Rule, v: VarId| rule.var_names.get(v.0 as usize).cloned().unwrap_or_default();
    let span_of = |spans: &RuleSpans, v: VarId| spans.vars.get(v.0 as usize).copied();
    for v in atom_vars(&rule.head.args).collect::<BTreeSet<_>>() {
        if bound.contains(&v) {
            continue;
        }
        if is_access {
            rule.body.push(Literal::Domain(v));
            spans.body.push(span_of(spans, v));
            bound.insert(v);
        } else if let Some(span) = span_of(spans, v) {
            errors.push(
                Diagnostic::error(
                    format!("unsafe rule: variable `{}` in the head is not bound by the body", name(rule, v)),
                    span,
                    "unbound variable",
                )
                .with_help("every head variable of a rule must occur in a positive atom of its body"),
            );
        }
    }
    let mut used = BTreeSet::new();
    for literal in &rule.body {
        match literal {
            Literal::Neg(a) => {
                // `_` inside `not` means "any value": it needs no binding.
                used.extend(atom_vars(&a.args).filter(|v| name(rule, *v) != "_"));
            }
            Literal::Cond(e) => expr_vars(e, &mut used),
            Literal::Member(v, items) => {
                used.insert(*v);
                items.iter().for_each(|i| expr_vars(i, &mut used));
            }
            _ => {}
        }
    }
    for v in used.difference(&bound) {
        if let Some(span) = span_of(spans, *v) {
            let shown = name(rule, *v);
            let message = if shown == "_" {
                "`_` can only stand in an atom, not in a condition".to_string()
            } else {
                format!("unsafe rule: variable `{shown}` is not bound by a positive atom")
            };
            errors.push(
                Diagnostic::error(message, span, "unbound variable").with_help(
                    "a variable in `not` or a condition must also occur in a positive atom of the same rule",
                ),
            );
        }
    }
    errors
}

/// Negation inside a recursive component is an error naming the cycle.
fn negative_cycles(
    program: &Program,
    spans: &[RuleSpans],
    components: &[Vec<RelId>],
    edges: &[strata::Edge],
) -> Vec<Diagnostic> {
    let mut component_of = vec![usize::MAX; program.relations.len()];
    for (i, c) in components.iter().enumerate() {
        for r in c {
            if let Some(slot) = component_of.get_mut(r.0 as usize) {
                *slot = i;
            }
        }
    }
    let same = |a: RelId, b: RelId| component_of.get(a.0 as usize) == component_of.get(b.0 as usize);
    let mut errors = Vec::new();
    let mut reported = BTreeSet::new();
    for e in edges.iter().filter(|e| e.negative && same(e.head, e.body)) {
        let component = component_of.get(e.head.0 as usize).copied().unwrap_or(usize::MAX);
        if !reported.insert(component) {
            continue;
        }
        let names: Vec<&str> =
            components.get(component).map_or(Vec::new(), |c| c.iter().map(|r| program.relation_name(*r)).collect());
        let rule = program.rules.get(e.rule.0 as usize);
        let written = spans.get(e.rule.0 as usize).and_then(|s| s.body.get(e.literal).copied().flatten());
        let span = written.or_else(|| {
            rule.and_then(|r| match program.origin(r.origin) {
                Some(Origin::Source(s)) => Some(*s),
                _ => None,
            })
        });
        let message = format!(
            "negation through recursion: `{}` depends on `not {}`, and they are in one cycle ({})",
            program.relation_name(e.head),
            program.relation_name(e.body),
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        );
        let d = match span {
            Some(span) => Diagnostic::error(message, span, "negated here"),
            None => Diagnostic::global(message),
        };
        errors.push(d.with_help("negation must be stratified: a relation cannot depend on its own negation, directly or through other rules"));
    }
    errors
}

//! The plan of one rule in a stratum: the order of its literals from the
//! bindings it starts with, each positive atom read as the caller says (a
//! join with a relation of the stratum, a lookup in a complete one).

use super::{Pipeline, Reads, Step};
use crate::analyze::expr_vars;
use crate::eval::base::Prepared;
use crate::lower::builtins;
use crate::lower::ir::{Atom, Expr, Literal, RelId, Rule, Term, VarId};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Where a rule's plan starts: the literals still to plan and the variables
/// a binding row already holds, in order.
pub(super) struct Start<'r> {
    /// The literals still to plan.
    pub(super) pending: Vec<&'r Literal>,
    /// The variables the binding rows hold, in order.
    pub(super) order: Vec<VarId>,
    /// Whether conditions (and `in` lists) wait until every positive atom
    /// is joined, rather than running as soon as their variables are bound.
    /// A plan that does not start from the rule's first atom then evaluates
    /// them only for bindings that match every atom, and all together (one
    /// [`Step::Filter`] group): a condition that errs for a binding some
    /// atom or other condition rules out records no error.
    pub(super) conditions_last: bool,
}

impl<'r> Start<'r> {
    /// The whole rule, from no binding.
    pub(super) fn whole(rule: &'r Rule) -> Start<'r> {
        Start { pending: rule.body.iter().collect(), order: Vec::new(), conditions_last: false }
    }
}

/// Where a positive atom meets the bindings before it.
pub(super) struct AtomKeys {
    /// Positions in the binding row of the variables the atom shares.
    pub(super) key_from_row: Vec<usize>,
    /// Positions in the atom of those same variables.
    pub(super) key_from_atom: Vec<usize>,
    /// Positions in the atom of the variables it binds for the first time.
    pub(super) new_from_atom: Vec<usize>,
}

/// Plans a rule from `start`: positive atoms in an order that joins on
/// shared variables (each read as `read_atom` says), each `not` as soon as
/// its variables are bound, each condition too (unless
/// [`Start::conditions_last`]), the conditions ready at the same point as
/// one group, active-domain joins last.
pub(super) fn compile<'r>(
    rule: &'r Rule,
    start: Start<'r>,
    reads: &Reads,
    prepared: &Prepared,
    read_atom: &mut dyn FnMut(Atom, AtomKeys) -> Step,
) -> Pipeline<'r> {
    let empty = Arc::default();
    let rows_of = |rel: RelId| reads.positive.get(rel.0 as usize).unwrap_or(&empty);
    let negated_rows_of = |rel: RelId| reads.negated.get(rel.0 as usize).unwrap_or(&empty);
    let Start { mut pending, mut order, conditions_last } = start;
    let mut steps = Vec::new();
    let position = |order: &[VarId], v: VarId| order.iter().position(|w| *w == v);
    loop {
        // Conditions, negations and checks whose variables are all bound.
        let mut progressed = true;
        while progressed {
            progressed = false;
            let mut i = 0;
            while let Some(literal) = pending.get(i) {
                let atoms_joined = !conditions_last || !pending.iter().any(|l| matches!(l, Literal::Pos(_)));
                let ready = match literal {
                    Literal::Cond(e) => atoms_joined && vars_of(e).iter().all(|v| order.contains(v)),
                    Literal::Neg(a) => atom_vars(a, rule).iter().all(|v| order.contains(v)),
                    Literal::Member(v, items) => {
                        let needs: BTreeSet<VarId> = items.iter().flat_map(vars_of).collect();
                        atoms_joined
                            && needs.iter().all(|w| order.contains(w))
                            && (order.contains(v) || !bound_by_atom(*v, &pending))
                    }
                    _ => false,
                };
                if !ready {
                    i += 1;
                    continue;
                }
                let literal = pending.remove(i);
                progressed = true;
                let step = match literal {
                    Literal::Cond(e) => {
                        // The steps since the last one that bound a variable
                        // test the same bindings: a condition joins their
                        // group of conditions, if they have one.
                        let tests_only = |step: &&mut Step| match step {
                            Step::Filter(_) | Step::Anti { .. } => true,
                            Step::Member { position, .. } => position.is_some(),
                            Step::Join { .. } | Step::Lookup { .. } => false,
                        };
                        let group = steps.iter_mut().rev().take_while(tests_only).find_map(|step| match step {
                            Step::Filter(group) => Some(group),
                            _ => None,
                        });
                        match group {
                            Some(group) => group.push(e.clone()),
                            None => steps.push(Step::Filter(vec![e.clone()])),
                        }
                        continue;
                    }
                    Literal::Neg(a) => {
                        let named = atom_vars(a, rule);
                        let key_from_row = named.iter().filter_map(|v| position(&order, *v)).collect();
                        let key_from_atom: Vec<usize> =
                            named.iter().filter_map(|v| a.args.iter().position(|t| t == &Term::Var(*v))).collect();
                        let index = prepared.index(
                            a.rel,
                            negated_rows_of(a.rel),
                            reads.request,
                            (&a.args, &key_from_atom, &[]),
                        );
                        Step::Anti { key_from_row, index }
                    }
                    Literal::Member(v, items) => {
                        let at = position(&order, *v);
                        if at.is_none() {
                            order.push(*v);
                        }
                        let domain = rows_of(builtins::ADOM).clone();
                        Step::Member { position: at, items: items.clone(), domain }
                    }
                    _ => continue,
                };
                steps.push(step);
            }
        }
        // The next atom: the first sharing a bound variable, else the first
        // positive atom, else an active-domain literal.
        let shares = |l: &&Literal| match l {
            Literal::Pos(a) => {
                a.args.iter().any(|t| matches!(t, Term::Var(v) if order.contains(v)))
                    || a.args.iter().all(|t| !matches!(t, Term::Var(_)))
            }
            _ => false,
        };
        let pick = pending
            .iter()
            .position(shares)
            .or_else(|| pending.iter().position(|l| matches!(l, Literal::Pos(_))))
            .or_else(|| pending.iter().position(|l| matches!(l, Literal::Domain(_))));
        let Some(pick) = pick else {
            // INVARIANT: analysis makes every literal ready eventually. Should one
            // not be, its truth is unknown: a condition that errs (an internal
            // error, recorded, so the certain pass runs and fails it).
            if !pending.is_empty() {
                let unknown = crate::lower::ir::Callee::Extern(u32::MAX);
                steps.push(Step::Filter(vec![Expr::Call(unknown, Vec::new())]));
            }
            break;
        };
        let atom = match pending.remove(pick) {
            Literal::Pos(a) => a.clone(),
            Literal::Domain(v) => Atom { rel: builtins::ADOM, args: vec![Term::Var(*v)] },
            _ => break,
        };
        let mut keys = AtomKeys { key_from_row: Vec::new(), key_from_atom: Vec::new(), new_from_atom: Vec::new() };
        let mut fresh: Vec<VarId> = Vec::new();
        for (i, term) in atom.args.iter().enumerate() {
            if let Term::Var(v) = term {
                if let Some(p) = position(&order, *v) {
                    keys.key_from_row.push(p);
                    keys.key_from_atom.push(i);
                } else if !fresh.contains(v) {
                    fresh.push(*v);
                    keys.new_from_atom.push(i);
                }
            }
        }
        order.extend(fresh);
        steps.push(read_atom(atom, keys));
    }
    Pipeline { rule, steps, stages: Vec::new(), order }
}

/// Reads a positive atom of a complete relation: a lookup of each binding in
/// an index of the relation keyed by the variables the atom shares.
pub(super) fn lookup_step(atom: &Atom, keys: AtomKeys, reads: &Reads, prepared: &Prepared) -> Step {
    let empty = Arc::default();
    let rows = reads.positive.get(atom.rel.0 as usize).unwrap_or(&empty);
    let index = prepared.index(atom.rel, rows, reads.request, (&atom.args, &keys.key_from_atom, &keys.new_from_atom));
    Step::Lookup { key_from_row: keys.key_from_row, index }
}

/// The variables of a condition.
fn vars_of(e: &Expr) -> BTreeSet<VarId> {
    let mut out = BTreeSet::new();
    expr_vars(e, &mut out);
    out
}

/// The named (non-`_`) variables of a negated atom, in order of first occurrence.
fn atom_vars(a: &Atom, rule: &Rule) -> Vec<VarId> {
    let mut out = Vec::new();
    for t in &a.args {
        if let Term::Var(v) = t {
            let anonymous = rule.var_names.get(v.0 as usize).is_some_and(|n| n == "_");
            if !anonymous && !out.contains(v) {
                out.push(*v);
            }
        }
    }
    out
}

/// Whether a positive atom still pending will bind `v`.
fn bound_by_atom(v: VarId, pending: &[&Literal]) -> bool {
    pending.iter().any(|l| matches!(l, Literal::Pos(a) if a.args.contains(&Term::Var(v))))
}

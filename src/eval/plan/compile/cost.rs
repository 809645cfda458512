//! The cost model: the order of a rule's literals, chosen by dynamic
//! programming over subsets (greedily for long bodies), from estimated work
//! and answers per step (tuples per key in the snapshot, exact counts for
//! constants, the callee's estimate for a call).

use super::super::{Given, MAX_ORDERED, NotCompiled};
use super::{Compiler, Consts, Lit, Vars, all_bound, binds, bit, pattern, var_of};
use crate::lower::builtins;
use crate::lower::ir::{RelId, Value};

impl Compiler<'_> {
    /// The cheapest order of a body: exhaustive over subsets for short
    /// bodies, greedy for long ones. Returns the order, its cost and answers.
    pub(super) fn order(
        &mut self,
        literals: &[Lit],
        head: Vars,
        consts: &Consts,
        local: &dyn Fn(u8) -> bool,
    ) -> Result<(Vec<usize>, f64, f64), NotCompiled> {
        let n = literals.len();
        let binds: Vec<Vars> = literals.iter().map(binds).collect();
        let bound_by = |mask: usize| {
            binds.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).fold(head, |acc, (_, b)| acc | b)
        };
        let full = (1usize << n) - 1;
        if n <= MAX_ORDERED {
            // best[mask] = (cost, answers so far, order) of the cheapest way to place `mask`.
            let mut best: Vec<Option<(f64, f64, Vec<usize>)>> = vec![None; 1 << n];
            if let Some(first) = best.get_mut(0) {
                *first = Some((0.0, 1.0, Vec::new()));
            }
            for mask in 0..=full {
                let Some((cost, mult, order)) = best.get(mask).cloned().flatten() else { continue };
                let known = bound_by(mask);
                for (i, literal) in literals.iter().enumerate().filter(|(i, _)| mask & (1 << i) == 0) {
                    let Some((unit, fanout)) = self.estimate(literal, known, consts, local) else { continue };
                    let next = (cost + mult * unit, mult * fanout);
                    let slot = best.get_mut(mask | (1 << i));
                    if let Some(slot) = slot
                        && slot.as_ref().is_none_or(|(c, _, _)| next.0 < *c)
                    {
                        let mut extended = order.clone();
                        extended.push(i);
                        *slot = Some((next.0, next.1, extended));
                    }
                }
            }
            return match best.get(full).cloned().flatten() {
                Some((cost, card, order)) => Ok((order, cost, card)),
                None => Err(self.unschedulable(literals)),
            };
        }
        let (mut mask, mut cost, mut mult, mut order) = (0usize, 0.0, 1.0, Vec::new());
        while mask != full {
            let known = bound_by(mask);
            let mut choice: Option<(usize, f64, f64)> = None;
            for (i, literal) in literals.iter().enumerate().filter(|(i, _)| mask & (1 << i) == 0) {
                if let Some((unit, fanout)) = self.estimate(literal, known, consts, local)
                    && choice.is_none_or(|(_, u, f)| unit * fanout.max(0.01) < u * f.max(0.01))
                {
                    choice = Some((i, unit, fanout));
                }
            }
            let Some((i, unit, fanout)) = choice else { return Err(self.unschedulable(literals)) };
            cost += mult * unit;
            mult *= fanout;
            mask |= 1 << i;
            order.push(i);
        }
        Ok((order, cost, mult))
    }

    /// Expected tuples of a static relation per probe with columns given as
    /// `pattern` says: exact for constants, uniform for the rest.
    pub(super) fn static_fanout(&mut self, rel: RelId, pattern: &[Given]) -> f64 {
        let rows = self.matching(rel, pattern);
        let snapshot = self.snapshot;
        let variables: Vec<bool> = pattern.iter().map(|g| *g == Given::Bound).collect();
        let expected = rows as f64 / snapshot.keys(rel, &variables);
        if pattern.iter().all(|g| *g != Given::Free) { expected.min(1.0) } else { expected.max((rows as f64).min(1.0)) }
    }

    /// How many tuples of a static relation match the constants of `pattern`.
    pub(super) fn matching(&mut self, rel: RelId, pattern: &[Given]) -> usize {
        let constants: Vec<(usize, Value)> = pattern
            .iter()
            .enumerate()
            .filter_map(|(i, g)| if let Given::Const(c) = g { Some((i, *c)) } else { None })
            .collect();
        let snapshot = self.snapshot;
        *self.matching.entry((rel, constants.clone())).or_insert_with(|| {
            snapshot.rows(rel).iter().filter(|row| constants.iter().all(|(i, c)| row.get(*i) == Some(c))).count()
        })
    }

    fn unschedulable(&self, literals: &[Lit]) -> NotCompiled {
        let rel = literals
            .iter()
            .find_map(|l| if let Lit::Pos(a) = l { Some(a.rel) } else { None })
            .unwrap_or(builtins::ALLOWED);
        NotCompiled::Unsupported(self.name(rel), "no order binds every variable in time")
    }

    /// Work per incoming binding and outgoing bindings per incoming one of
    /// placing `literal` when `known` variables are bound; `None` when it
    /// cannot be placed yet.
    fn estimate(
        &mut self,
        literal: &Lit,
        known: Vars,
        consts: &Consts,
        local: &dyn Fn(u8) -> bool,
    ) -> Option<(f64, f64)> {
        match literal {
            // Conditions rarely filter much in practice (most grants are not
            // expired, most checks fall in business hours): a weak filter.
            Lit::Cond(e) => all_bound(e, known).then_some((0.2, 0.9)),
            Lit::Member(v, items) => {
                if !items.iter().all(|e| all_bound(e, known)) {
                    None
                } else if known & bit(*v) != 0 {
                    Some((0.2, 0.9))
                } else {
                    Some((0.2, items.len() as f64))
                }
            }
            Lit::Pos(atom) => {
                let pattern = pattern(atom, known, consts);
                if self.is_dynamic(atom.rel) {
                    let id = self.goal(atom.rel, pattern).ok()?;
                    let goal = self.goals.get(id as usize)?.as_ref()?;
                    Some((1.0 + goal.cost, goal.card))
                } else {
                    Some((1.0, self.static_fanout(atom.rel, &pattern)))
                }
            }
            Lit::Neg(atom) => {
                let ready = atom.args.iter().filter_map(var_of).all(|v| known & bit(v) != 0 || local(v));
                if !ready {
                    return None;
                }
                let pattern = pattern(atom, known, consts);
                if self.is_dynamic(atom.rel) {
                    let id = self.goal(atom.rel, pattern).ok()?;
                    let goal = self.goals.get(id as usize)?.as_ref()?;
                    Some((1.0 + goal.cost, 0.9))
                } else {
                    Some((1.0, (1.0 - self.static_fanout(atom.rel, &pattern)).clamp(0.1, 1.0)))
                }
            }
        }
    }
}

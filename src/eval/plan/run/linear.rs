//! Running a [`Linear`] rule: nested loops over its probes, each tuple
//! bound and tested in place.

use super::{Emit, Flow, Regs, Run, is_foreign};
use crate::eval::plan::linear::{Linear, Probe};
use crate::eval::plan::{Mode, RulePlan};
use std::ops::ControlFlow;

impl Run<'_> {
    /// Runs a rule in its linear form (its head already entered into `regs`).
    pub(super) fn linear(&mut self, rule: &RulePlan, linear: &Linear, regs: &mut Regs, emit: Emit) -> Flow {
        if !self.tick() {
            return ControlFlow::Break(());
        }
        if !linear.first.iter().all(|test| self.test(Some(&test.fast), &test.expr, test.source, regs)) {
            return ControlFlow::Continue(());
        }
        self.probe(rule, linear, 0, regs, emit)
    }

    /// Runs the probes from `at` on, then emits the head.
    fn probe(&mut self, rule: &RulePlan, linear: &Linear, at: usize, regs: &mut Regs, emit: Emit) -> Flow {
        let Some(probe) = linear.probes.get(at) else { return self.emit_head(rule, regs, emit) };
        let Some(key) = self.key(&probe.key, regs) else { return ControlFlow::Continue(()) };
        let plan = self.plan;
        let Some(index) = plan.indexes.get(probe.index as usize) else { return ControlFlow::Continue(()) };
        if probe.mode != Mode::Each {
            if !self.tick() {
                return ControlFlow::Break(());
            }
            let found = if probe.out.is_empty() {
                index.contains(&key)
            } else {
                let foreign_from = if index.holds_stand_ins() { self.foreign_from } else { u64::MAX };
                let mut scratch = *regs;
                let mut rows = index.get(&key).chunks_exact(index.width().max(1));
                rows.any(|row| !is_foreign(foreign_from, row) && self.bind(&probe.out, row, &mut scratch))
            };
            if found == (probe.mode == Mode::NotExists) || !self.tests(probe, regs) {
                return ControlFlow::Continue(());
            }
            return self.probe(rule, linear, at + 1, regs, emit);
        }
        let foreign_from = if index.holds_stand_ins() { self.foreign_from } else { u64::MAX };
        for row in index.get(&key).chunks_exact(index.width().max(1)) {
            if !self.tick() {
                return ControlFlow::Break(());
            }
            if is_foreign(foreign_from, row) {
                continue;
            }
            let bound = match &probe.binds {
                Some(binds) => {
                    for (column, var) in binds {
                        if let (Some(slot), Some(value)) = (regs.get_mut(*var as usize), row.get(*column as usize)) {
                            *slot = *value;
                        }
                    }
                    true
                }
                None => self.bind(&probe.out, row, regs),
            };
            if bound && self.tests(probe, regs) && self.probe(rule, linear, at + 1, regs, emit).is_break() {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    /// Whether every condition following `probe` holds.
    #[inline]
    fn tests(&mut self, probe: &Probe, regs: &Regs) -> bool {
        probe.tests.iter().all(|test| self.test(Some(&test.fast), &test.expr, test.source, regs))
    }
}

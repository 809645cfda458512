//! Running a [`Linear`] rule: nested loops over its probes, each tuple
//! bound and tested in place.
//!
//! Steps are counted exactly where [`Run::steps`] counts them, once per
//! position entered (a condition, a probe, the head), so a check that runs
//! out of its budget does so at the same point on either path.

use super::{Emit, Flow, Regs, Run, is_foreign};
use crate::eval::plan::linear::{Linear, Probe, Source, Test};
use crate::eval::plan::snapshot::PAD;
use crate::eval::plan::{MAX_ARITY, Mode, RulePlan};

impl Run<'_> {
    /// Runs a rule in its linear form (its head already entered into `regs`).
    pub(super) fn linear(&mut self, rule: &RulePlan, linear: &Linear, regs: &mut Regs, emit: Emit) -> Flow {
        match self.tests(&linear.before_probes, regs) {
            Some(true) => self.probe(rule, linear, 0, regs, emit),
            Some(false) => Flow::Continue(()),
            None => Flow::Break(()),
        }
    }

    /// Runs the probes from `at` on, then emits the head.
    fn probe(&mut self, rule: &RulePlan, linear: &Linear, at: usize, regs: &mut Regs, emit: Emit) -> Flow {
        if !self.tick() {
            return Flow::Break(());
        }
        let Some(probe) = linear.probes.get(at) else { return self.emit_head(rule, regs, emit) };
        let index = match probe.source {
            Source::Index(index) => index,
            Source::Goal(goal) if probe.mode == Mode::Each => {
                return self.each_answer_of(rule, linear, at, goal, regs, emit);
            }
            Source::Goal(_) => return self.then_if_found(rule, linear, at, regs, emit),
        };
        // Without returned columns, an `each` probe only asks whether a tuple exists.
        if probe.mode != Mode::Each || probe.out.is_empty() {
            return self.then_if_found(rule, linear, at, regs, emit);
        }
        let plan = self.plan;
        let (Some(index), Some(key)) = (plan.indexes.get(index as usize), self.key(&probe.key, regs)) else {
            return Flow::Continue(());
        };
        let foreign_from = self.foreign_from_in(index);
        for row in index.get(&key).chunks_exact(index.width().max(1)) {
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
            if bound && self.go_on(rule, linear, at, regs, emit).is_break() {
                return Flow::Break(());
            }
        }
        Flow::Continue(())
    }

    /// Once the probe at `at` matched (its variables bound): its conditions,
    /// then the next probe.
    #[inline]
    fn go_on(&mut self, rule: &RulePlan, linear: &Linear, at: usize, regs: &mut Regs, emit: Emit) -> Flow {
        let tests = linear.probes.get(at).map_or(&[][..], |probe| &probe.tests[..]);
        match self.tests(tests, regs) {
            Some(true) => self.probe(rule, linear, at + 1, regs, emit),
            Some(false) => Flow::Continue(()),
            None => Flow::Break(()),
        }
    }

    /// An `exists` or `not exists` probe at `at`: the rest when it passes.
    #[inline(never)]
    fn then_if_found(&mut self, rule: &RulePlan, linear: &Linear, at: usize, regs: &mut Regs, emit: Emit) -> Flow {
        let Some(probe) = linear.probes.get(at) else { return Flow::Continue(()) };
        match self.exists(probe, regs) {
            Ok(found) if found != (probe.mode == Mode::NotExists) => self.go_on(rule, linear, at, regs, emit),
            Ok(_) => Flow::Continue(()),
            Err(flow) => flow,
        }
    }

    /// Each answer of a goal called with variables to bind, then the rest.
    #[inline(never)]
    fn each_answer_of(
        &mut self,
        rule: &RulePlan,
        linear: &Linear,
        at: usize,
        goal: u32,
        regs: &mut Regs,
        emit: Emit,
    ) -> Flow {
        let Some(probe) = linear.probes.get(at) else { return Flow::Continue(()) };
        let mut input = [PAD; MAX_ARITY];
        let Some(input) = self.arguments(&probe.key, regs, &mut input) else { return Flow::Continue(()) };
        self.solve(goal, input, &mut |run, row| {
            if !run.foreign(row) && run.bind(&probe.out, row, regs) {
                run.go_on(rule, linear, at, regs, emit)
            } else {
                Flow::Continue(())
            }
        })
    }

    /// Whether a probe (of an index, or a call) has a matching tuple. `Err`
    /// when the rule stops here whatever the mode: `Continue` when its key
    /// reads a missing `ctx` key (the literal is false, SPEC section 5,
    /// negated or not), `Break` when the budget ran out inside a call.
    fn exists(&mut self, probe: &Probe, regs: &Regs) -> Result<bool, Flow> {
        match probe.source {
            Source::Index(index) => {
                let plan = self.plan;
                let (Some(index), Some(key)) = (plan.indexes.get(index as usize), self.key(&probe.key, regs)) else {
                    return Err(Flow::Continue(()));
                };
                Ok(self.index_has(index, &key, &probe.out, regs))
            }
            Source::Goal(goal) => {
                let mut input = [PAD; MAX_ARITY];
                let Some(input) = self.arguments(&probe.key, regs, &mut input) else { return Err(Flow::Continue(())) };
                self.goal_has(goal, input, &probe.out, regs).ok_or(Flow::Break(()))
            }
        }
    }

    /// Whether every condition holds, one step each; `None` when the budget
    /// ran out.
    #[inline]
    fn tests(&mut self, tests: &[Test], regs: &Regs) -> Option<bool> {
        for test in tests {
            if !self.tick() {
                return None;
            }
            if !self.test(Some(&test.fast), &test.expr, test.source, regs) {
                return Some(false);
            }
        }
        Some(true)
    }
}

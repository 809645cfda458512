//! Running a check plan: depth-first over the compiled goals, with the
//! rule's variables in a fixed-size array on the stack, stopping at the first
//! derivation of the checked tuple. Nothing here allocates unless a condition
//! needs the general evaluator (strings) or raises an error.

mod linear;

use super::fast::{self, Inputs};
use super::snapshot::{Index, Key, MAX_KEY, PAD, pack};
use super::{CheckPlan, Goal, HeadIn, MAX_ARITY, MAX_VARS, Mode, Out, RulePlan, Slot, Step};
use crate::eval::functions::Env;
use crate::eval::{EvalError, Membership, Reading, condition, member_values};
use crate::lower::intern::FRESH;
use crate::lower::ir::{Expr, OriginId, RuleId, Value};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// Whether to go on looking for more answers.
type Flow = ControlFlow<()>;

/// A rule's variables.
type Regs = [Value; MAX_VARS];

/// Receives each answer of a goal: the values of its free columns.
type Emit<'k> = &'k mut dyn FnMut(&mut Run, &[Value]) -> Flow;

/// One check in progress.
pub struct Run<'p> {
    plan: &'p CheckPlan,
    env: &'p Env<'p>,
    /// Steps left before the check is abandoned (and denied).
    budget: usize,
    limit: usize,
    /// Errors raised inside conditions: a run that met one decided in two
    /// values where the answer may be unknown, and is not to be trusted
    /// (the engine asks the three-valued evaluation instead).
    pub errors: BTreeSet<(OriginId, String)>,
    /// Why the check was abandoned, if it was.
    pub failure: Option<EvalError>,
    /// Symbol ids from here on are [`FRESH`] stand-ins that this check's
    /// unknown constants do not use: the snapshot's tuples over them are not
    /// of this check's domain and are skipped.
    foreign_from: u64,
}

impl<'p> Run<'p> {
    /// A run of `plan` for one request, allowed `max_steps` steps (the
    /// request's unknown constants are the [`FRESH`] ids its symbols say).
    pub fn new(plan: &'p CheckPlan, env: &'p Env<'p>, max_steps: usize) -> Run<'p> {
        let foreign_from = match FRESH.get(env.symbols.fresh_in_use()) {
            Some(first) if plan.snapshot.fresh => u64::from(first.0),
            _ => u64::MAX,
        };
        let (budget, limit, errors, failure) = (max_steps, max_steps, BTreeSet::new(), None);
        Run { plan, env, budget, limit, errors, failure, foreign_from }
    }

    /// Where the foreign stand-ins begin for the tuples of `index`: only an
    /// index whose values hold stand-ins can return a foreign one.
    fn foreign_from_in(&self, index: &Index) -> u64 {
        if index.holds_stand_ins() { self.foreign_from } else { u64::MAX }
    }

    /// Whether a snapshot tuple holds a stand-in this check does not use.
    fn foreign(&self, row: &[Value]) -> bool {
        is_foreign(self.foreign_from, row)
    }

    /// Whether `goal` holds for the fully bound `args`.
    pub fn holds(&mut self, goal: u32, args: &[Value]) -> Result<bool, EvalError> {
        let found = self.solve(goal, args, &mut |_, _| ControlFlow::Break(())).is_break();
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(found),
        }
    }

    /// Each answer of `goal` for the bound arguments `input` (the values of
    /// its free columns, as often as it is derived), until `each` breaks.
    pub fn each_answer(
        &mut self,
        goal: u32,
        input: &[Value],
        each: &mut dyn FnMut(&[Value]) -> ControlFlow<()>,
    ) -> Result<(), EvalError> {
        let _ = self.solve(goal, input, &mut |_, row| each(row));
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    #[inline]
    fn tick(&mut self) -> bool {
        if self.budget == 0 {
            self.failure = Some(EvalError::TooManySteps(self.limit));
            return false;
        }
        self.budget -= 1;
        true
    }

    /// Every answer of `goal` for the bound arguments `input`.
    fn solve(&mut self, goal: u32, input: &[Value], emit: Emit) -> Flow {
        let plan = self.plan;
        let Some(Some(goal)) = plan.goals.get(goal as usize) else { return Flow::Continue(()) };
        let goal: &Goal = goal;
        for rule in &goal.rules {
            let mut regs: Regs = [PAD; MAX_VARS];
            if !enter(rule, input, &mut regs) {
                continue;
            }
            let flow = match &rule.linear {
                Some(linear) => self.linear(rule, linear, &mut regs, emit),
                None => self.steps(rule, 0, &mut regs, emit),
            };
            if flow.is_break() {
                return Flow::Break(());
            }
        }
        Flow::Continue(())
    }

    /// Emits the head of `rule` from its variables.
    #[inline]
    fn emit_head(&mut self, rule: &RulePlan, regs: &Regs, emit: Emit) -> Flow {
        let mut out = [PAD; MAX_ARITY];
        let Some(out) = self.arguments(&rule.outputs, regs, &mut out) else { return Flow::Continue(()) };
        emit(self, out)
    }

    /// Whether `index` has a tuple for `key` that matches `out` (foreign
    /// stand-ins skipped; nothing bound).
    #[inline]
    fn index_has(&self, index: &Index, key: &Key, out: &[Out], regs: &Regs) -> bool {
        if out.is_empty() {
            return index.contains(key);
        }
        let foreign_from = self.foreign_from_in(index);
        let mut scratch = *regs;
        let mut rows = index.get(key).chunks_exact(index.width().max(1));
        rows.any(|row| !is_foreign(foreign_from, row) && self.bind(out, row, &mut scratch))
    }

    /// Whether `goal` has an answer for `input` that matches `out`
    /// (foreign stand-ins skipped; nothing bound); `None` when the budget
    /// ran out inside it.
    fn goal_has(&mut self, goal: u32, input: &[Value], out: &[Out], regs: &Regs) -> Option<bool> {
        let (mut scratch, mut found) = (*regs, false);
        let flow = self.solve(goal, input, &mut |run, row| {
            if !run.foreign(row) && run.bind(out, row, &mut scratch) {
                found = true;
                Flow::Break(())
            } else {
                Flow::Continue(())
            }
        });
        if flow.is_break() && self.failure.is_some() { None } else { Some(found) }
    }

    /// Whether a condition holds: by its compiled form when that decides,
    /// else by the general evaluator (which records an error it meets).
    #[inline]
    fn test(&mut self, fast: Option<&fast::Cond>, expr: &Expr, source: RuleId, regs: &Regs) -> bool {
        let inputs = Inputs { regs, now: self.env.now, types: &self.plan.types };
        match fast.and_then(|f| f.eval(&inputs)) {
            Some(holds) => holds,
            None => match self.env.program.rules.get(source.0 as usize) {
                Some(source) => {
                    let bindings = |v: crate::lower::ir::VarId| regs.get(v.0 as usize).copied();
                    condition(self.env, source, expr, &bindings, Reading::Certain, &mut self.errors)
                }
                None => false,
            },
        }
    }

    /// Runs `rule`'s steps from `at` on, then emits its head.
    fn steps(&mut self, rule: &RulePlan, at: usize, regs: &mut Regs, emit: Emit) -> Flow {
        if !self.tick() {
            return Flow::Break(());
        }
        let Some(step) = rule.steps.get(at) else { return self.emit_head(rule, regs, emit) };
        match step {
            Step::Scan { index, key, out, mode } => {
                let Some(key) = self.key(key, regs) else { return Flow::Continue(()) };
                let plan = self.plan;
                let Some(index) = plan.indexes.get(*index as usize) else { return Flow::Continue(()) };
                if out.is_empty() || *mode != Mode::Each {
                    let found = self.index_has(index, &key, out, regs);
                    return self.then(found != (*mode == Mode::NotExists), rule, at, regs, emit);
                }
                let foreign_from = self.foreign_from_in(index);
                for row in index.get(&key).chunks_exact(index.width().max(1)) {
                    if !is_foreign(foreign_from, row)
                        && self.bind(out, row, regs)
                        && self.steps(rule, at + 1, regs, emit).is_break()
                    {
                        return Flow::Break(());
                    }
                }
                Flow::Continue(())
            }
            Step::Call { goal, args, out, mode } => {
                let mut input = [PAD; MAX_ARITY];
                let Some(input) = self.arguments(args, regs, &mut input) else { return Flow::Continue(()) };
                if *mode == Mode::Each {
                    return self.solve(*goal, input, &mut |run, row| {
                        if !run.foreign(row) && run.bind(out, row, regs) {
                            run.steps(rule, at + 1, regs, emit)
                        } else {
                            Flow::Continue(())
                        }
                    });
                }
                let Some(found) = self.goal_has(*goal, input, out, regs) else { return Flow::Break(()) };
                self.then(found != (*mode == Mode::NotExists), rule, at, regs, emit)
            }
            Step::Cond { expr, fast, source } => {
                let holds = self.test(fast.as_ref(), expr, *source, regs);
                self.then(holds, rule, at, regs, emit)
            }
            Step::Member { var, items, bound, source } => {
                let Some(source) = self.env.program.rules.get(source.0 as usize) else { return Flow::Continue(()) };
                let bindings = |v: crate::lower::ir::VarId| regs.get(v.0 as usize).copied();
                let membership = member_values(self.env, source, items, &bindings, Reading::Certain, &mut self.errors);
                let current = regs.get(*var as usize).copied().unwrap_or(PAD);
                if *bound {
                    return self.then(membership.admits(&current), rule, at, regs, emit);
                }
                let Membership::Values(values) = membership else { return Flow::Continue(()) };
                for value in values {
                    if let Some(slot) = regs.get_mut(*var as usize) {
                        *slot = value;
                    }
                    if self.steps(rule, at + 1, regs, emit).is_break() {
                        return Flow::Break(());
                    }
                }
                Flow::Continue(())
            }
        }
    }

    /// Goes on with the next step when `pass`.
    fn then(&mut self, pass: bool, rule: &RulePlan, at: usize, regs: &mut Regs, emit: Emit) -> Flow {
        if pass { self.steps(rule, at + 1, regs, emit) } else { Flow::Continue(()) }
    }

    /// The values of `slots` (a call's bound arguments, a head's outputs)
    /// in `buffer`; `None` for a missing `ctx` key.
    fn arguments<'b>(&self, slots: &[Slot], regs: &Regs, buffer: &'b mut [Value; MAX_ARITY]) -> Option<&'b [Value]> {
        for (value, slot) in buffer.iter_mut().zip(slots) {
            *value = self.resolve(*slot, regs)?;
        }
        buffer.get(..slots.len())
    }

    /// A value at run time; `None` for a missing `ctx` key.
    #[inline]
    fn resolve(&self, slot: Slot, regs: &Regs) -> Option<Value> {
        match slot {
            Slot::Var(v) => regs.get(v as usize).copied(),
            Slot::Const(c) => Some(c),
            Slot::Now => Some(Value::Time(self.env.now)),
            Slot::Ctx(key) => self.env.ctx.get(&key).copied(),
        }
    }

    #[inline(always)]
    fn key(&self, slots: &[Slot], regs: &Regs) -> Option<Key> {
        let mut key = [0; MAX_KEY];
        for (value, slot) in key.iter_mut().zip(slots) {
            *value = pack(self.resolve(*slot, regs)?);
        }
        Some(key)
    }

    /// Matches one returned row (not [`Run::foreign`]) against `out`,
    /// binding new variables.
    #[inline]
    fn bind(&self, out: &[Out], row: &[Value], regs: &mut Regs) -> bool {
        for (what, value) in out.iter().zip(row) {
            let ok = match what {
                Out::Bind(v) => {
                    if let Some(slot) = regs.get_mut(*v as usize) {
                        *slot = *value;
                    }
                    true
                }
                Out::Check(v) => regs.get(*v as usize) == Some(value),
                Out::Is(slot) => self.resolve(*slot, regs).as_ref() == Some(value),
                Out::Same(column) => row.get(*column as usize) == Some(value),
                Out::Ignore => true,
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

/// Whether `row` holds a symbol id from `foreign_from` on (`u64::MAX`: none is).
fn is_foreign(foreign_from: u64, row: &[Value]) -> bool {
    foreign_from != u64::MAX && row.iter().any(|v| matches!(v, Value::Sym(s) if u64::from(s.0) >= foreign_from))
}

/// Binds a rule's head to a goal's bound arguments; `false` when they clash.
fn enter(rule: &RulePlan, input: &[Value], regs: &mut Regs) -> bool {
    for (v, c) in &rule.preset {
        if let Some(slot) = regs.get_mut(*v as usize) {
            *slot = *c;
        }
    }
    rule.inputs.iter().zip(input).all(|(head, value)| match head {
        HeadIn::Bind(v) => {
            if let Some(slot) = regs.get_mut(*v as usize) {
                *slot = *value;
            }
            true
        }
        HeadIn::Check(v) => regs.get(*v as usize) == Some(value),
        HeadIn::Is(c) => c == value,
    })
}

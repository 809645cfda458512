//! Rules made of index probes, calls of other goals and compiled
//! conditions only (the common shapes: a role through a scope, a direct
//! grant, a global role, each with `not denied(..)` when deny rules exist),
//! in a form the runner executes as nested loops: each probe with the
//! conditions that follow it tested on every tuple it returns, variables
//! bound by a list of (column, variable) pairs, no per-step dispatch. Any
//! other rule (`in [..]`, conditions without a compiled form) runs step by
//! step. Both give the same answers; the differential tests check them
//! against the full evaluation.

use super::{Mode, Out, Slot, Step, fast};
use crate::lower::ir::{Expr, RuleId};

/// A rule of probes, calls and compiled conditions.
#[derive(Clone, Debug)]
pub struct Linear {
    /// Conditions on the head's variables, tested before the first probe.
    pub before_probes: Vec<Test>,
    /// The probes, in order.
    pub probes: Vec<Probe>,
}

/// What a probe reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An index of a static relation (into the plan's indexes), probed by
    /// the key.
    Index(u32),
    /// A goal of a dynamic relation (into the plan's goals), solved for the
    /// key's values as its bound arguments.
    Goal(u32),
}

/// One probe of a static index or call of a goal, and the conditions that
/// follow it.
#[derive(Clone, Debug)]
pub struct Probe {
    /// What it reads.
    pub source: Source,
    /// The index's key, in its key order; a goal's bound arguments, in
    /// column order.
    pub key: Vec<Slot>,
    /// One per returned column.
    pub out: Vec<Out>,
    /// When every returned column binds a variable or is ignored: the
    /// (column, variable) pairs to copy.
    pub binds: Option<Vec<(u8, u8)>>,
    /// How matches continue.
    pub mode: Mode,
    /// Conditions whose variables are all bound once this probe matched.
    pub tests: Vec<Test>,
}

/// A condition with its compiled form.
#[derive(Clone, Debug)]
pub struct Test {
    /// The compiled form (it may still defer to the general evaluator).
    pub fast: fast::Cond,
    /// The expression, for the general evaluator.
    pub expr: Expr,
    /// The program rule it comes from.
    pub source: RuleId,
}

impl Linear {
    /// The linear form of a rule's steps; `None` when a step is not a probe,
    /// a call or a compiled condition.
    pub fn of(steps: &[Step]) -> Option<Linear> {
        let mut linear = Linear { before_probes: Vec::new(), probes: Vec::new() };
        for step in steps {
            match step {
                Step::Scan { index, key, out, mode } => {
                    linear.probes.push(Probe::new(Source::Index(*index), key, out, *mode))
                }
                Step::Call { goal, args, out, mode } => {
                    linear.probes.push(Probe::new(Source::Goal(*goal), args, out, *mode))
                }
                Step::Cond { expr, fast: Some(fast), source } => {
                    let test = Test { fast: fast.clone(), expr: expr.clone(), source: *source };
                    match linear.probes.last_mut() {
                        Some(probe) => probe.tests.push(test),
                        None => linear.before_probes.push(test),
                    }
                }
                Step::Cond { fast: None, .. } | Step::Member { .. } => return None,
            }
        }
        Some(linear)
    }
}

impl Probe {
    fn new(source: Source, key: &[Slot], out: &[Out], mode: Mode) -> Probe {
        Probe { source, key: key.to_vec(), out: out.to_vec(), binds: binds(out), mode, tests: Vec::new() }
    }
}

/// The (column, variable) pairs of `out` when it only binds and ignores.
fn binds(out: &[Out]) -> Option<Vec<(u8, u8)>> {
    let mut pairs = Vec::new();
    for (column, what) in out.iter().enumerate() {
        match what {
            Out::Bind(var) => pairs.push((u8::try_from(column).ok()?, *var)),
            Out::Ignore => {}
            Out::Check(_) | Out::Is(_) | Out::Same(_) => return None,
        }
    }
    Some(pairs)
}

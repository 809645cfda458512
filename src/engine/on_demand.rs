//! The tuples of an explanation, evaluated on demand: each pattern the
//! explainer reads (`has_role(alice, R, page:7)`) is answered by a
//! demand-driven evaluation of that pattern alone, under the engine's
//! limits, and remembered. A base relation (facts only) is read from the
//! snapshot's sorted base rows, and a static relation (one no rule over it
//! reads the request, and not derived over the active domain: see
//! `dynamic_relations`) from the check plan's materialized snapshot, when the
//! request adds nothing to the program. An explanation on a large program
//! then holds
//! only what its proof, its why-not and its what-if questions look at,
//! never the full model (a superuser's rule over every pair of constants).

use super::Engine;
use crate::eval::demand::Coverage;
use crate::eval::functions::Env;
use crate::eval::plan::run::Run;
use crate::eval::{self, Additions, EvalError, Reading, Row, Rows, Table};
use crate::explain::Tuples;
use crate::explain::tuples::{select, select_shared};
use crate::lower::builtins;
use crate::lower::intern::FRESH;
use crate::lower::ir::{self, OriginId, RelId, Term, Value, VarId};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The certain and the possible rows of one pattern.
type Answered = (Rows, Rows);

/// A relation and a pattern over it (`None`: any value).
type Pattern = (RelId, Vec<Option<Value>>);

/// Tuples read from demand-driven evaluations, one per pattern.
pub(crate) struct OnDemand<'e> {
    engine: &'e Engine,
    env: &'e Env<'e>,
    additions: &'e Additions,
    answered: RefCell<HashMap<Pattern, Answered>>,
    /// The request's base relations (the snapshot's, changed by its additions), once read.
    base: std::cell::OnceCell<Vec<eval::Rows>>,
    /// The static relations as the check plan materialized them, when the
    /// request adds no fact, removes none and names no constant the program
    /// lacks (then they are the request's own).
    materialized: Option<&'e crate::eval::plan::snapshot::Snapshot>,
    /// The question's own evaluation, whose patterns are read from it.
    primed: Option<(eval::Model, Coverage)>,
    errors: RefCell<BTreeSet<(OriginId, String)>>,
    stopped: RefCell<Option<EvalError>>,
    /// One deadline for the whole explanation (each lookup gets what is left).
    deadline: std::time::Instant,
}

/// The most patterns one explanation evaluates; past it, it stops as past a limit.
const MAX_LOOKUPS: usize = 20_000;

impl<'e> OnDemand<'e> {
    /// Reads the tuples of the request `env`, `additions` from `engine`.
    pub(crate) fn new(engine: &'e Engine, env: &'e Env<'e>, additions: &'e Additions) -> Self {
        OnDemand {
            engine,
            env,
            additions,
            answered: RefCell::default(),
            base: std::cell::OnceCell::new(),
            materialized: materialized(engine, additions),
            primed: None,
            errors: RefCell::default(),
            stopped: RefCell::default(),
            deadline: std::time::Instant::now() + engine.limits().max_time,
        }
    }

    /// Reads what `model` (an evaluation of this request, holding in full
    /// what `coverage` says) holds from it, without evaluating again.
    pub(crate) fn primed(mut self, model: eval::Model, coverage: Coverage) -> Self {
        self.errors.borrow_mut().extend(model.errors.iter().cloned());
        self.primed = Some((model, coverage));
        self
    }

    /// The engine's limits with the time this explanation has left; `None`
    /// (and the explanation stopped) when none is left or too many
    /// patterns were read.
    fn remaining(&self) -> Option<eval::Limits> {
        let limits = self.engine.limits();
        let left = self.deadline.saturating_duration_since(std::time::Instant::now());
        let stop = if left.is_zero() {
            Some(EvalError::TooSlow(limits.max_time.as_millis()))
        } else if self.answered.borrow().len() >= MAX_LOOKUPS {
            Some(EvalError::TooManySteps(MAX_LOOKUPS))
        } else {
            None
        };
        if let Some(e) = stop {
            self.stopped.borrow_mut().get_or_insert(e);
            return None;
        }
        Some(eval::Limits { max_time: left, ..limits })
    }

    /// The first limit a lookup met: what was read after it may be
    /// incomplete, so a why-not built on it is not stated.
    pub(crate) fn stopped(&self) -> Option<EvalError> {
        self.stopped.borrow().clone()
    }

    /// How many patterns were evaluated.
    pub(crate) fn lookups(&self) -> usize {
        self.answered.borrow().len()
    }
}

/// The check plan's static relations, when they are the request's: it
/// adds and removes no fact and names only constants of the program.
fn materialized<'e>(engine: &'e Engine, additions: &Additions) -> Option<&'e crate::eval::plan::snapshot::Snapshot> {
    let program = &engine.checked.program;
    if !plain(program, additions) {
        return None;
    }
    // A plan already built (a server builds it at load); one is never built for this.
    let plan = engine.check_plan_if_built()?;
    Some(&plan.snapshot)
}

/// Whether a request's additions leave the program as it is: no fact added
/// or removed, no constant the program lacks.
fn plain(program: &ir::Program, additions: &Additions) -> bool {
    let known = |v: &Value| program.domain.binary_search(v).is_ok();
    additions.facts.is_empty() && additions.removed.is_empty() && additions.domain.iter().all(known)
}

/// A pattern as a query atom: constants where bound, distinct variables elsewhere.
fn atom_of(rel: RelId, pattern: &[Option<Value>]) -> ir::Atom {
    let args = pattern.iter().enumerate().map(|(i, p)| p.map_or(Term::Var(VarId(i as u32)), Term::Const)).collect();
    ir::Atom { rel, args }
}

impl Tuples for OnDemand<'_> {
    fn matching(&self, rel: RelId, pattern: &[Option<Value>], reading: Reading) -> Rows {
        if !self.engine.rules.derived.contains(&rel) {
            let base =
                self.base.get_or_init(|| self.engine.prepared.relations(&self.engine.checked.program, self.additions));
            return base.get(rel.0 as usize).map_or_else(Rows::default, |rows| select_shared(rows, pattern));
        }
        if let Some(snapshot) = self.materialized
            && self.engine.rules.dynamic.get(rel.0 as usize) == Some(&false)
        {
            let rows = select(snapshot.rows(rel), pattern);
            // The snapshot also holds rows over the plan's stand-ins for unknown constants.
            let own = |row: &&[Value]| !row.iter().any(|v| matches!(v, Value::Sym(s) if FRESH.contains(s)));
            return Arc::new(Table::from_sorted(rows.width(), rows.iter().filter(own)));
        }
        if let Some((model, coverage)) = &self.primed
            && let Some(holding) = coverage.covers(model, rel, pattern)
        {
            // Read without evaluating, but still within the explanation's time.
            if self.stopped.borrow().is_some() || self.remaining().is_none() {
                return Rows::default();
            }
            return Arc::new(select(model.rows(holding, reading), pattern));
        }
        let key = (rel, pattern.to_vec());
        if let Some((certain, possible)) = self.answered.borrow().get(&key) {
            return if reading == Reading::Possible { possible.clone() } else { certain.clone() };
        }
        // Once stopped, nothing more is read: the explanation is cut short.
        if self.stopped.borrow().is_some() {
            return Rows::default();
        }
        let Some(limits) = self.remaining() else { return Rows::default() };
        let atom = atom_of(rel, pattern);
        let (certain, possible) = match self.engine.evaluate_within(self.env, self.additions, &atom, limits) {
            Ok((model, answers)) => {
                self.errors.borrow_mut().extend(model.errors.iter().cloned());
                let certain = eval::answers(&model, &answers, Reading::Certain);
                let possible = eval::answers(&model, &answers, Reading::Possible);
                (Arc::new(certain), Arc::new(possible))
            }
            Err(e) => {
                self.stopped.borrow_mut().get_or_insert(e);
                (Rows::default(), Rows::default())
            }
        };
        self.answered.borrow_mut().insert(key, (certain.clone(), possible.clone()));
        if reading == Reading::Possible { possible } else { certain }
    }

    fn base_origins(&self, rel: RelId) -> Option<Arc<eval::base::Origins>> {
        Some(self.engine.prepared.origins(&self.engine.checked.program, rel))
    }

    fn errors(&self) -> Vec<(OriginId, String)> {
        self.errors.borrow().iter().cloned().collect()
    }

    fn holds_under(&self, now: i64, additions: &Additions, rel: RelId, row: &Row) -> Option<bool> {
        let env = Env { now, ..*self.env };
        // `allowed` at another time, nothing else changed: the check plan decides it as a check would.
        let plan = self.engine.check_plan_if_built().filter(|_| self.engine.strategy() == crate::Strategy::Compiled);
        if let (true, Some(plan), [u, p, o]) = (rel == builtins::ALLOWED, plan, row.as_slice())
            && plain(&self.engine.checked.program, additions)
            && row.iter().all(|v| plan.knows(*v))
        {
            let mut run = Run::new(plan, &env, self.engine.limits().max_steps);
            let holds = run.holds(plan.allowed, &[*u, *p, *o]);
            if run.errors.is_empty() {
                return holds.ok();
            }
        }
        let pattern: Vec<Option<Value>> = row.iter().map(|v| Some(*v)).collect();
        let atom = atom_of(rel, &pattern);
        let limits = self.remaining()?;
        let (model, answers) = self.engine.evaluate_within(&env, additions, &atom, limits).ok()?;
        Some(!eval::answers(&model, &answers, Reading::at_boundary(rel)).is_empty())
    }
}

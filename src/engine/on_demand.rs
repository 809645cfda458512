//! The tuples of an explanation, evaluated on demand: each pattern the
//! explainer reads (`has_role(alice, R, page:7)`) is answered by a
//! demand-driven evaluation of that pattern alone, under the engine's
//! limits, and remembered. An explanation on a large program then holds
//! only what its proof, its why-not and its what-if questions look at,
//! never the full model (a superuser's rule over every pair of constants).

use super::Engine;
use crate::eval::functions::Env;
use crate::eval::{self, Additions, EvalError, Reading, Row};
use crate::explain::Tuples;
use crate::lower::ir::{self, OriginId, RelId, Term, Value, VarId};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

/// The certain and the possible rows of one pattern.
type Answered = (Rc<Vec<Row>>, Rc<Vec<Row>>);

/// A relation and a pattern over it (`None`: any value).
type Pattern = (RelId, Vec<Option<Value>>);

/// Tuples read from demand-driven evaluations, one per pattern.
pub(crate) struct OnDemand<'e> {
    engine: &'e Engine,
    env: &'e Env<'e>,
    additions: &'e Additions,
    answered: RefCell<HashMap<Pattern, Answered>>,
    errors: RefCell<BTreeSet<(OriginId, String)>>,
    stopped: RefCell<Option<EvalError>>,
}

impl<'e> OnDemand<'e> {
    /// Reads the tuples of the request `env`, `additions` from `engine`.
    pub(crate) fn new(engine: &'e Engine, env: &'e Env<'e>, additions: &'e Additions) -> Self {
        OnDemand {
            engine,
            env,
            additions,
            answered: RefCell::default(),
            errors: RefCell::default(),
            stopped: RefCell::default(),
        }
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

/// A pattern as a query atom: constants where bound, distinct variables elsewhere.
fn atom_of(rel: RelId, pattern: &[Option<Value>]) -> ir::Atom {
    let args = pattern.iter().enumerate().map(|(i, p)| p.map_or(Term::Var(VarId(i as u32)), Term::Const)).collect();
    ir::Atom { rel, args }
}

impl Tuples for OnDemand<'_> {
    fn matching(&self, rel: RelId, pattern: &[Option<Value>], reading: Reading) -> Rc<Vec<Row>> {
        let key = (rel, pattern.to_vec());
        if let Some((certain, possible)) = self.answered.borrow().get(&key) {
            return if reading == Reading::Possible { possible.clone() } else { certain.clone() };
        }
        let atom = atom_of(rel, pattern);
        let (certain, possible) = match self.engine.evaluate_for(self.env, self.additions, &atom) {
            Ok((model, answers)) => {
                self.errors.borrow_mut().extend(model.errors.iter().cloned());
                let certain = eval::answers(&model, &answers, Reading::Certain);
                let possible = eval::answers(&model, &answers, Reading::Possible);
                (Rc::new(certain), Rc::new(possible))
            }
            Err(e) => {
                self.stopped.borrow_mut().get_or_insert(e);
                (Rc::default(), Rc::default())
            }
        };
        self.answered.borrow_mut().insert(key, (certain.clone(), possible.clone()));
        if reading == Reading::Possible { possible } else { certain }
    }

    fn errors(&self) -> Vec<(OriginId, String)> {
        self.errors.borrow().iter().cloned().collect()
    }

    fn holds_under(&self, now: i64, additions: &Additions, rel: RelId, row: &Row) -> Option<bool> {
        let env = Env { now, ..*self.env };
        let pattern: Vec<Option<Value>> = row.iter().map(|v| Some(*v)).collect();
        let atom = atom_of(rel, &pattern);
        let (model, answers) = self.engine.evaluate_for(&env, additions, &atom).ok()?;
        Some(!eval::answers(&model, &answers, Reading::at_boundary(rel)).is_empty())
    }
}

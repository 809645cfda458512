//! Stage 4, evaluation: the checked program plus a request → a model.
//!
//! Strata are evaluated in order, each semi-naively on datafrog
//! ([`seminaive`]). The request time `now`, the context `ctx`, the query's
//! constants and a test's local facts enter here, so time-dependent rules are
//! right for the request given.
//!
//! Errors follow SPEC section 5 in Kleene's three-valued logic. A missing
//! `ctx` key makes its literal false; an error inside a condition makes it
//! *unknown* (recorded in [`Model::errors`]). Each stratum is evaluated for
//! two readings of the world: the *possible* tuples (an unknown condition
//! holds, `not` reads the certain tuples) and the *certain* ones (an unknown
//! condition fails, `not` reads the possible tuples). A tuple possible but
//! not certain is unknown. When nothing errs the two are the same, and the
//! second pass is skipped: a program without errors is evaluated once.
//! At the access boundary unknown fails closed: `allowed` holds only when
//! certain, `denied` when possible (see [`Reading::at_boundary`]).

pub mod base;
pub mod cancel;
pub mod demand;
pub mod functions;
pub mod plan;
pub mod render;
pub mod seminaive;
pub mod table;

use crate::analyze::{Checked, Stratum};
use crate::lower::builtins;
use crate::lower::ir::{Atom, Expr, Fact, Literal, OriginId, Program, RelId, RelationKind, Rule, Term, Value, VarId};
pub use base::{Prepared, Rows};
use functions::{Env, Fault, Val};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;
pub use table::Table;

/// A tuple of a relation.
pub type Row = Vec<Value>;

/// Bounds on one evaluation; exceeding one is an error (and so a deny).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most tuples all relations together may hold.
    pub max_tuples: usize,
    /// The most steps one check on the compiled plan may take (index
    /// probes, calls and conditions).
    pub max_steps: usize,
    /// The longest one evaluation may take (checked between rounds and steps).
    pub max_time: std::time::Duration,
    /// The most memory the rows of one evaluation may take: rows being
    /// joined estimated as `row_bytes` a row, finished relations by their
    /// flat size (checked inside joins, like `max_tuples`).
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tuples: 20_000_000,
            max_steps: 20_000_000,
            max_time: std::time::Duration::from_secs(30),
            max_bytes: 1 << 30,
        }
    }
}

/// The estimated memory of one row of `width` values while a rule's
/// pipeline joins it (a vector of its own): the vector (24 bytes), its
/// allocation's overhead (about 16) and 16 a value, plus 8 for its place in
/// the relation. Measured: 20 million three-value rows take about 2 GB, 100
/// bytes a row. A finished relation stores its tuples flat ([`Table`]): 16
/// bytes a value.
pub fn row_bytes(width: usize) -> usize {
    48 + 16 * width
}

/// The bytes finished relations' tuples take.
pub(crate) fn rows_bytes(relations: &[Rows]) -> usize {
    relations.iter().map(|r| r.bytes()).sum()
}

/// Why an evaluation stopped without a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The program derived more tuples than [`Limits::max_tuples`].
    #[error("evaluation stopped: more than {0} derived tuples (raise the limit or narrow the rules)")]
    TooManyTuples(usize),
    /// The rows of the evaluation would take more than [`Limits::max_bytes`] (in MiB).
    #[error("evaluation stopped: its rows would take more than {0} MiB (raise the limit or narrow the rules)")]
    TooMuchMemory(usize),
    /// The evaluation took longer than [`Limits::max_time`].
    #[error("evaluation stopped: it took longer than {0} ms (raise the limit or narrow the rules)")]
    TooSlow(u128),
    /// Static rules met this many condition errors, so some of their tuples
    /// are unknown (a check plan is not built over them).
    #[error("{0} condition errors in request-independent rules made some of their tuples unknown")]
    Unknown(usize),
    /// A compiled check took more than this many steps.
    #[error("check stopped: more than {0} steps (raise the limit or narrow the rules)")]
    TooManySteps(usize),
    /// The requester went away (see [`cancel`]).
    #[error("evaluation stopped: the request was cancelled")]
    Cancelled,
}

/// What a request adds to the program: a test's local facts and the query's constants.
#[derive(Clone, Debug, Default)]
pub struct Additions {
    /// Facts that hold for this request only.
    pub facts: Vec<Fact>,
    /// Constants that join the active domain.
    pub domain: Vec<Value>,
    /// Base facts taken away for this request (what-if questions: "would the
    /// query still hold without this assignment?").
    pub removed: BTreeSet<(RelId, Row)>,
}

/// The result of an evaluation: every relation, sorted, plus condition errors.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The certain tuples of each relation, indexed by `RelId`, sorted and
    /// deduplicated.
    pub relations: Vec<Rows>,
    /// The possible tuples (certain or unknown) of each relation; empty when
    /// no tuple is unknown, which is the common case.
    pub possible: Vec<Rows>,
    /// Errors raised inside conditions, with the rule they happened in.
    pub errors: BTreeSet<(OriginId, String)>,
}

impl Model {
    /// The tuples of `rel` as `reading` sees them.
    pub fn rows(&self, rel: RelId, reading: Reading) -> &Table {
        let relations = match reading {
            Reading::Possible if !self.possible.is_empty() => &self.possible,
            _ => &self.relations,
        };
        relations.get(rel.0 as usize).map_or(&table::EMPTY, |rows| rows)
    }

    /// Whether the tuple is unknown: possible (some derivation met an error)
    /// but not certain.
    pub fn is_unknown(&self, rel: RelId, row: &[Value]) -> bool {
        !self.possible.is_empty()
            && self.rows(rel, Reading::Possible).contains(row)
            && !self.rows(rel, Reading::Certain).contains(row)
    }

    /// Whether some tuple of the model is unknown.
    pub fn has_unknowns(&self) -> bool {
        // INVARIANT: every certain tuple is possible, so a longer relation has unknown tuples.
        self.possible.iter().zip(&self.relations).any(|(p, c)| p.len() != c.len())
    }
}

/// Which tuples of a three-valued model a reader sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Only the tuples that certainly hold: an erroring condition is false.
    Certain,
    /// Every tuple that may hold: an erroring condition is true.
    Possible,
}

impl Reading {
    /// How a query reads `rel` at the access boundary, where unknown fails
    /// closed (SPEC section 5): `denied` is read as possible (an unknown deny
    /// denies), every other relation as certain (unknown never permits).
    pub fn at_boundary(rel: RelId) -> Reading {
        if rel == builtins::DENIED { Reading::Possible } else { Reading::Certain }
    }
}

/// The base tuples of every relation: facts, a request's additions, and the
/// active domain in `$adom`.
pub fn base_relations(program: &Program, additions: &Additions) -> Vec<Rows> {
    Prepared::new(program).relations(program, additions)
}

/// Evaluates the program for one request with the semi-naive engine.
pub fn evaluate(checked: &Checked, env: &Env, additions: &Additions, limits: Limits) -> Result<Model, EvalError> {
    evaluate_rules(&Prepared::new(&checked.program), &checked.program, checked, env, additions, limits)
}

/// Evaluates the rules and strata of `rules` over the shared base relations
/// of `prepared` (built from `base`; a demand-transformed program shares its
/// base's facts, and its relation table extends the base's).
pub fn evaluate_rules(
    prepared: &Prepared,
    base: &Program,
    rules: &Checked,
    env: &Env,
    additions: &Additions,
    limits: Limits,
) -> Result<Model, EvalError> {
    evaluate_strata(prepared, base, &rules.program, &rules.strata, env, additions, limits, &|_, _| None)
}

/// What an earlier evaluation already knows of a stratum: given the stratum
/// and the relations so far, its relations' tuples, when they cannot have
/// changed (see the check plan's snapshot).
pub type Reuse<'a> = dyn Fn(&Stratum, &[Rows]) -> Option<Vec<(RelId, Rows)>> + 'a;

/// Evaluates `strata` (of the rules of `program`) over the base relations of
/// `prepared`; relations of other strata stay as the base has them. A stratum
/// `reuse` answers is not evaluated.
#[expect(clippy::too_many_arguments, reason = "the program, its strata, the request, and the reuse hook")]
pub fn evaluate_strata(
    prepared: &Prepared,
    base: &Program,
    program: &Program,
    strata: &[Stratum],
    env: &Env,
    additions: &Additions,
    limits: Limits,
    reuse: &Reuse,
) -> Result<Model, EvalError> {
    let deadline = std::time::Instant::now() + limits.max_time;
    let request = prepared.request(base, additions);
    let mut relations = request.rows.clone();
    // The snapshot's base rows are shared, not spent by this evaluation.
    let shared_bytes = relations
        .iter()
        .zip(prepared.shared())
        .filter(|(rows, base)| Arc::ptr_eq(rows, base))
        .map(|(rows, _)| rows.bytes())
        .sum();
    relations.resize(program.relations.len().max(relations.len()), Arc::default());
    let mut model = Model { relations, possible: Vec::new(), errors: BTreeSet::new() };
    for stratum in strata {
        if let Some(known) = reuse(stratum, &model.relations) {
            for (rel, rows) in known {
                if let Some(slot) = model.possible.get_mut(rel.0 as usize) {
                    *slot = rows.clone();
                }
                if let Some(slot) = model.relations.get_mut(rel.0 as usize) {
                    *slot = rows;
                }
            }
            continue;
        }
        let rules: Vec<Cow<Rule>> = stratum
            .rules
            .iter()
            .filter_map(|id| program.rules.get(id.0 as usize))
            .filter_map(|rule| prepare_rule(env, rule))
            .collect();
        let budget = (limits, deadline);
        // The possible tuples first: positive atoms read the possible tuples,
        // `not` the certain ones, an erroring condition holds.
        let mut met = BTreeSet::new();
        let reads = seminaive::Reads {
            positive: if model.possible.is_empty() { &model.relations } else { &model.possible },
            negated: &model.relations,
            reading: Reading::Possible,
            held_elsewhere: held_apart(&model.relations, &model.possible),
            shared_bytes,
            request: &request,
        };
        let possible = seminaive::eval_stratum(stratum, &rules, &reads, &mut met, prepared, env, budget)?;
        if model.possible.is_empty() && met.is_empty() {
            // Nothing unknown so far and no error here: certain = possible.
            store(&mut model.relations, possible);
            continue;
        }
        model.errors.extend(met);
        if model.possible.is_empty() {
            model.possible = model.relations.clone();
        }
        store(&mut model.possible, possible);
        // Then the certain tuples: positive atoms read the certain tuples,
        // `not` the possible ones, an erroring condition fails. A demand
        // (magic) relation only narrows what is computed, so it is read as
        // possible: the certain tuples are then computed for every value the
        // possible pass demanded (which its `not` literals read).
        let positive: Vec<Rows> = model
            .relations
            .iter()
            .zip(&model.possible)
            .enumerate()
            .map(|(i, (certain, possible))| {
                let magic = program.relations.get(i).is_some_and(|r| r.kind == RelationKind::Magic);
                if magic { possible.clone() } else { certain.clone() }
            })
            .collect();
        let reads = seminaive::Reads {
            positive: &positive,
            negated: &model.possible,
            reading: Reading::Certain,
            held_elsewhere: held_apart(&model.possible, &model.relations),
            shared_bytes,
            request: &request,
        };
        let mut met = BTreeSet::new();
        let certain = seminaive::eval_stratum(stratum, &rules, &reads, &mut met, prepared, env, budget)?;
        model.errors.extend(met);
        store(&mut model.relations, certain);
    }
    Ok(model)
}

/// The tuples and bytes of `other`'s relations that `main` does not share
/// (the other reading's own copies), for the tuple and memory limits.
fn held_apart(other: &[Rows], main: &[Rows]) -> (usize, usize) {
    let apart = || other.iter().zip(main).filter(|(o, m)| !Arc::ptr_eq(o, m)).map(|(o, _)| o);
    (apart().map(|o| o.len()).sum(), apart().map(|o| o.bytes()).sum())
}

/// Puts a stratum's relations in their slots.
fn store(relations: &mut [Rows], computed: Vec<(RelId, Rows)>) {
    for (rel, rows) in computed {
        if let Some(slot) = relations.get_mut(rel.0 as usize) {
            *slot = rows;
        }
    }
}

/// A rule with `now` and `ctx.KEY` in its atoms replaced by their values for
/// this request; `None` when an atom reads a missing `ctx` key (its literal is
/// false, so the rule cannot fire).
pub fn prepare_rule<'r>(env: &Env, rule: &'r Rule) -> Option<Cow<'r, Rule>> {
    let reads_request = |atom: &Atom| atom.args.iter().any(|t| matches!(t, Term::Now | Term::Ctx(_)));
    let atoms = std::iter::once(&rule.head).chain(rule.body.iter().filter_map(|l| match l {
        Literal::Pos(a) | Literal::Neg(a) => Some(a),
        _ => None,
    }));
    if !atoms.into_iter().any(reads_request) {
        // Most rules: nothing to fill in, so no copy on the check path.
        return Some(Cow::Borrowed(rule));
    }
    let fix = |atom: &Atom| -> Option<Atom> {
        let mut args = Vec::with_capacity(atom.args.len());
        for t in &atom.args {
            args.push(match t {
                Term::Now | Term::Ctx(_) => Term::Const(env.term(t, &|_| None).ok()?),
                other => other.clone(),
            });
        }
        Some(Atom { rel: atom.rel, args })
    };
    // Heads hold `now`/`ctx` only in the demand program's magic rules.
    let head = fix(&rule.head)?;
    let mut body = Vec::with_capacity(rule.body.len());
    for literal in &rule.body {
        body.push(match literal {
            Literal::Pos(a) => Literal::Pos(fix(a)?),
            Literal::Neg(a) => Literal::Neg(fix(a)?),
            other => other.clone(),
        });
    }
    Some(Cow::Owned(Rule { head, body, ..rule.clone() }))
}

/// Decides a condition literal under `bindings` for `reading`: an error (an
/// unknown condition, recorded in `errors`) holds when reading the possible
/// tuples and fails when reading the certain ones; a missing `ctx` key is false.
pub fn condition(
    env: &Env,
    rule: &Rule,
    expr: &Expr,
    bindings: &dyn Fn(VarId) -> Option<Value>,
    reading: Reading,
    errors: &mut BTreeSet<(OriginId, String)>,
) -> bool {
    let fault = match env.eval(expr, bindings) {
        Ok(Val::Bool(b)) => return b,
        Ok(other) => Fault::Error(format!("type error: a condition must be a boolean, found `{other}`")),
        Err(fault) => fault,
    };
    match fault {
        Fault::MissingCtx(_) => false,
        Fault::Error(message) => {
            errors.insert((rule.origin, message));
            reading == Reading::Possible
        }
    }
}

/// What a `X in [a, b]` literal says under one binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    /// The items' values: `X` must be one of them (or, unbound, becomes each).
    Values(Vec<Value>),
    /// An item failed, read as possible: the literal may hold whatever `X`
    /// is. A bound `X` is admitted; an unbound one ranges over the active
    /// domain and the values of the items that did not fail.
    Holds(Vec<Value>),
    /// An item read a missing `ctx` key, or failed read as certain: the literal is false.
    Fails,
}

impl Membership {
    /// Whether a bound `X` satisfies the literal.
    pub fn admits(&self, x: &Value) -> bool {
        match self {
            Membership::Values(values) => values.contains(x),
            Membership::Holds(_) => true,
            Membership::Fails => false,
        }
    }

    /// The values an unbound `X` takes, `domain` being the active domain
    /// (which an unknown literal ranges over).
    pub fn values(self, domain: &Table) -> Vec<Value> {
        match self {
            Membership::Values(values) => values,
            Membership::Holds(mut values) => {
                values.extend(domain.iter().filter_map(|row| row.first().copied()));
                values.sort();
                values.dedup();
                values
            }
            Membership::Fails => Vec::new(),
        }
    }
}

/// Evaluates the items of `X in [a, b]` under SPEC section 5: a missing `ctx`
/// key makes the literal false; an error makes it unknown (see [`condition`];
/// errors recorded).
pub fn member_values(
    env: &Env,
    rule: &Rule,
    items: &[Expr],
    bindings: &dyn Fn(VarId) -> Option<Value>,
    reading: Reading,
    errors: &mut BTreeSet<(OriginId, String)>,
) -> Membership {
    let mut out = Vec::new();
    let mut erred = false;
    for item in items {
        match env.eval(item, bindings) {
            Ok(v) => out.push(env.value(&v)),
            Err(Fault::MissingCtx(_)) => return Membership::Fails,
            Err(Fault::Error(message)) => {
                errors.insert((rule.origin, message));
                erred = true;
            }
        }
    }
    match (erred, reading) {
        (false, _) => Membership::Values(out),
        (true, Reading::Possible) => Membership::Holds(out),
        (true, Reading::Certain) => Membership::Fails,
    }
}

/// The answers to an atom: rows of its relation matching its constants and
/// repeated variables, as `reading` sees them.
pub fn answers(model: &Model, atom: &Atom, reading: Reading) -> Table {
    let rows = model.rows(atom.rel, reading);
    Table::from_sorted(rows.width(), rows.iter().filter(|row| matches(atom, row)))
}

/// Whether a row matches an atom's constants and repeated variables.
pub fn matches(atom: &Atom, row: &[Value]) -> bool {
    let mut seen: Vec<(VarId, Value)> = Vec::new();
    atom.args.len() == row.len()
        && atom.args.iter().zip(row).all(|(term, value)| match term {
            Term::Const(c) => c == value,
            Term::Var(v) => match seen.iter().find(|(w, _)| w == v) {
                Some((_, bound)) => bound == value,
                None => {
                    seen.push((*v, *value));
                    true
                }
            },
            Term::Now | Term::Ctx(_) => false,
        })
}

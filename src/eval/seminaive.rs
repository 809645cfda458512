//! Semi-naive evaluation of one stratum on datafrog.
//!
//! Each rule becomes a pipeline over datafrog `Variable`s: it starts from the
//! single empty binding and adds one positive atom at a time. An atom of this
//! stratum's own relations is a join keyed by the variables already bound,
//! done as datafrog's `from_join` does it (new tuples with old ones only: the
//! semi-naive discipline) but checking the tuple and time limits as each
//! output row is made (`join_bounded`). An atom of a relation that is already complete (a base relation
//! or an earlier stratum's) is a lookup of each new binding in an index, with
//! no copy of the relation. Conditions filter as soon as their variables are
//! bound; a `not` atom (always of a complete relation) removes the bindings
//! found in its index. Rounds repeat to a fixpoint.
//!
//! A recursive stratum whose rules each read at most one relation of the
//! stratum (a closure, a hierarchy) runs instead on fixed-width tuples,
//! every rule starting from its recursive atom's new tuples (module `linear`).
//!
//! A stratum is evaluated for one [`Reading`] at a time (see [`super`]): the
//! caller says which tuples positive atoms and `not` atoms read, and whether
//! an erroring condition holds.

mod linear;
mod plan;
mod steps;
mod word;

use super::base::{Lookup, Prepared, RequestBase, consistent, pick};
use super::functions::Env;
use super::table::Builder;
use super::{EvalError, Limits, Reading, Row, Rows, Table};
use crate::analyze::Stratum;
use crate::lower::ir::{Atom, Expr, OriginId, RelId, Rule, Term, Value, VarId};
use datafrog::{Iteration, Relation, Variable};
use plan::{AtomKeys, Start, compile, lookup_step};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use steps::{Bindings, apply, project_head, through};

/// One operation of a rule's pipeline, from the bindings so far to the next.
#[expect(clippy::large_enum_variant, reason = "a few steps per rule, built once per evaluation")]
enum Step {
    /// Join with a positive atom (or `Domain(X)`, an atom of `$adom`).
    Join {
        /// The relation's variable.
        source: Variable<Row>,
        /// The atom's arguments.
        args: Vec<Term>,
        /// Positions in the binding row of the variables the atom shares.
        key_from_row: Vec<usize>,
        /// Positions in the atom of those same variables.
        key_from_atom: Vec<usize>,
        /// Positions in the atom of the variables it binds for the first time.
        new_from_atom: Vec<usize>,
        left: Variable<(Row, Row)>,
        right: Variable<(Row, Row)>,
    },
    /// Join with a complete relation: look each new binding up in its index.
    Lookup {
        /// Positions in the binding row of the variables the atom shares.
        key_from_row: Vec<usize>,
        index: Lookup,
    },
    /// Keep bindings for which every condition of a group (those ready
    /// at the same point of the plan) holds. A condition's error is
    /// recorded only for a binding that no other condition of the group
    /// makes false: `false && unknown` is false, not unknown.
    Filter(Vec<Expr>),
    /// Remove bindings that match a `not` atom.
    Anti {
        /// Positions in the binding row of the atom's (non-anonymous) variables.
        key_from_row: Vec<usize>,
        /// The negated relation's tuples, keyed by those variables.
        index: Lookup,
    },
    /// `X in [..]`: bind `X` to each item (or check it, when `X` is bound);
    /// `domain` is the active domain, which an unknown list ranges over.
    Member { position: Option<usize>, items: Vec<Expr>, domain: Rows },
}

/// A rule compiled to a pipeline of steps; `stages[i]` feeds `steps[i]`.
struct Pipeline<'r> {
    rule: &'r Rule,
    steps: Vec<Step>,
    stages: Vec<Variable<Row>>,
    /// Variable order of the final binding row.
    order: Vec<VarId>,
}

/// What one pass over a stratum reads.
pub struct Reads<'a> {
    /// The relations positive atoms read (and this stratum's own facts).
    pub positive: &'a [Rows],
    /// The relations `not` atoms read.
    pub negated: &'a [Rows],
    /// Whether an erroring condition holds ([`Reading::Possible`]) or fails.
    pub reading: Reading,
    /// Tuples the evaluation holds besides `positive` (the other reading's
    /// own relations), and their bytes, which count against the tuple and
    /// memory limits too.
    pub held_elsewhere: (usize, usize),
    /// The bytes of the snapshot's shared base rows among
    /// `positive`: held by the snapshot, not spent by this evaluation, so
    /// they do not count against its memory budget.
    pub shared_bytes: usize,
    /// The request's base relations, with how it changed the snapshot's.
    pub request: &'a RequestBase,
}

/// Condition errors met, with the rule they happened in.
type Errors = BTreeSet<(OriginId, String)>;

/// What one stratum's evaluation may spend, checked inside every join and
/// lookup as rows are produced (not after a step has materialized them):
/// the rows of any one step's output, and time.
#[derive(Clone, Copy)]
struct Budget {
    rows: usize,
    /// The bytes left for rows, estimated by [`super::row_bytes`].
    bytes: usize,
    deadline: std::time::Instant,
    limits: Limits,
}

impl Budget {
    /// An error once a step's output holds more than the budget's rows or
    /// bytes (`width` values a row); every 4,096 rows, an error once past the
    /// deadline (or cancelled).
    fn spend(&self, rows: usize, width: usize) -> Result<(), EvalError> {
        if rows > self.rows {
            return Err(EvalError::TooManyTuples(self.limits.max_tuples));
        }
        if rows.saturating_mul(super::row_bytes(width)) > self.bytes {
            return Err(EvalError::TooMuchMemory(self.limits.max_bytes >> 20));
        }
        if rows.is_multiple_of(4096) {
            super::cancel::check(self.deadline, &self.limits)?;
        }
        Ok(())
    }

    /// An error once the relations of a stratum hold more than the budget's
    /// rows or (estimated) bytes.
    fn holds(&self, rows: usize, bytes: usize) -> Result<(), EvalError> {
        if rows > self.rows {
            return Err(EvalError::TooManyTuples(self.limits.max_tuples));
        }
        if bytes > self.bytes {
            return Err(EvalError::TooMuchMemory(self.limits.max_bytes >> 20));
        }
        Ok(())
    }

    /// Every 4,096 rows looked at, an error once past the deadline (or cancelled).
    fn tick(&self, looked_at: usize) -> Result<(), EvalError> {
        if looked_at.is_multiple_of(4096) {
            super::cancel::check(self.deadline, &self.limits)?;
        }
        Ok(())
    }
}

/// Evaluates the rules of one stratum to a fixpoint; returns its relations.
pub fn eval_stratum(
    stratum: &Stratum,
    rules: &[std::borrow::Cow<Rule>],
    reads: &Reads,
    errors: &mut Errors,
    prepared: &Prepared,
    env: &Env,
    (limits, deadline): (Limits, std::time::Instant),
) -> Result<Vec<(RelId, Rows)>, EvalError> {
    let (elsewhere_tuples, elsewhere_bytes) = reads.held_elsewhere;
    let total: usize = reads.positive.iter().map(|r| r.len()).sum::<usize>() + elsewhere_tuples;
    let held = super::rows_bytes(reads.positive).saturating_sub(reads.shared_bytes);
    let bytes = limits.max_bytes.saturating_sub(held + elsewhere_bytes);
    let budget = Budget { rows: limits.max_tuples.saturating_sub(total), bytes, deadline, limits };
    if stratum.recursive
        && let Some(evaluated) = linear::try_eval(stratum, rules, reads, errors, prepared, env, budget)
    {
        return evaluated;
    }
    let mut iteration = Iteration::new();
    let mut sources: BTreeMap<RelId, Variable<Row>> = BTreeMap::new();
    let mut source = |rel: RelId, iteration: &mut Iteration| -> Variable<Row> {
        sources
            .entry(rel)
            .or_insert_with(|| {
                let variable = iteration.variable::<Row>("relation");
                variable.extend(
                    reads.positive.get(rel.0 as usize).into_iter().flat_map(|rows| rows.iter()).map(<[Value]>::to_vec),
                );
                variable
            })
            .clone()
    };
    for rel in &stratum.relations {
        source(*rel, &mut iteration);
    }
    let mut pipelines = Vec::new();
    for rule in rules {
        // An atom of this stratum is a join with its relation's variable;
        // any other relation is complete, and read by lookups.
        let mut read_atom = |atom: Atom, keys: AtomKeys| {
            if !stratum.relations.contains(&atom.rel) {
                return lookup_step(&atom, keys, reads, prepared);
            }
            let AtomKeys { key_from_row, key_from_atom, new_from_atom } = keys;
            Step::Join {
                source: source(atom.rel, &mut iteration),
                args: atom.args,
                key_from_row,
                key_from_atom,
                new_from_atom,
                left: iteration.variable("left"),
                right: iteration.variable("right"),
            }
        };
        pipelines.push(compile(rule, Start::whole(rule), reads, prepared, &mut read_atom));
    }
    if !stratum.recursive {
        // No rule reads this stratum's own relations: one pass of every pipeline suffices.
        return eval_once(stratum, &pipelines, reads, env, errors, budget);
    }
    for pipeline in &mut pipelines {
        let start = iteration.variable::<Row>("start");
        start.extend([Vec::new()]);
        pipeline.stages =
            std::iter::once(start).chain(pipeline.steps.iter().map(|_| iteration.variable("stage"))).collect();
    }
    let heads: Vec<Variable<Row>> = pipelines.iter().map(|p| source(p.rule.head.rel, &mut iteration)).collect();
    while iteration.changed() {
        for (pipeline, head) in pipelines.iter().zip(&heads) {
            run(pipeline, head, env, reads.reading, errors, &budget)?;
        }
        let (mut size, mut bytes) = (0usize, 0usize);
        for variable in stratum.relations.iter().filter_map(|r| sources.get(r)) {
            let rows = tuples_held(variable);
            let (stable, recent) = (variable.stable.borrow(), variable.recent.borrow());
            let width = recent.first().or_else(|| stable.first().and_then(|r| r.elements.first())).map_or(0, Vec::len);
            size += rows;
            bytes = bytes.saturating_add(rows.saturating_mul(super::row_bytes(width)));
        }
        budget.holds(size, bytes)?;
        super::cancel::check(deadline, &limits)?;
    }
    Ok(stratum
        .relations
        .iter()
        .filter_map(|rel| {
            sources.remove(rel).map(|variable| (*rel, Arc::new(Table::of_sorted_rows(&variable.complete()))))
        })
        .collect())
}

/// One round of a rule: every step reads the new tuples of its input stage.
fn run(
    pipeline: &Pipeline,
    head: &Variable<Row>,
    env: &Env,
    reading: Reading,
    errors: &mut Errors,
    budget: &Budget,
) -> Result<(), EvalError> {
    let rule = pipeline.rule;
    for (i, step) in pipeline.steps.iter().enumerate() {
        let (Some(input), Some(output)) = (pipeline.stages.get(i), pipeline.stages.get(i + 1)) else {
            return Ok(());
        };
        match step {
            Step::Join { source, args, key_from_row, key_from_atom, new_from_atom, left, right } => {
                // bindings(order ++ new) :- bindings(order), rel(args), joined on the shared variables.
                left.from_map(input, |row| (pick(row, key_from_row), row.clone()));
                let matching: Vec<(Row, Row)> = source
                    .recent
                    .borrow()
                    .iter()
                    .filter(|row| consistent(args, row))
                    .map(|row| (pick(row, key_from_atom), pick(row, new_from_atom)))
                    .collect();
                right.insert(Relation::from_vec(matching));
                join_bounded(left, right, output, budget)?;
            }
            other => {
                let rows = Bindings::of_rows(&input.recent.borrow());
                let results = apply(other, &rows, &pipeline.order, (rule, env, reading), errors, budget)?;
                output.insert(Relation::from_vec(results.rows().map(<[Value]>::to_vec).collect()));
            }
        }
    }
    // The head: project the final bindings onto the head's terms.
    if let Some(last) = pipeline.stages.last() {
        head.from_map(last, |row| project_head(pipeline, row));
    }
    Ok(())
}

/// `output(l ++ r) :- left(k, l), right(k, r)`, semi-naively as datafrog's
/// `from_join` (new left tuples with every right one, old left ones with new
/// right ones), but failing as soon as the output passes the budget: a cross
/// product is stopped while it grows, before it is materialized.
fn join_bounded(
    left: &Variable<(Row, Row)>,
    right: &Variable<(Row, Row)>,
    output: &Variable<Row>,
    budget: &Budget,
) -> Result<(), EvalError> {
    let mut results = Vec::new();
    {
        let (recent_left, recent_right) = (left.recent.borrow(), right.recent.borrow());
        for batch in right.stable.borrow().iter() {
            merge_join(&recent_left, &batch.elements, &mut results, budget)?;
        }
        for batch in left.stable.borrow().iter() {
            merge_join(&batch.elements, &recent_right, &mut results, budget)?;
        }
        merge_join(&recent_left, &recent_right, &mut results, budget)?;
    }
    output.insert(Relation::from_vec(results));
    Ok(())
}

/// Joins two relations sorted by key: every pair with equal keys, its values
/// concatenated into `out`.
fn merge_join(a: &[(Row, Row)], b: &[(Row, Row)], out: &mut Vec<Row>, budget: &Budget) -> Result<(), EvalError> {
    let (mut a, mut b) = (a, b);
    while let (Some((ka, _)), Some((kb, _))) = (a.first(), b.first()) {
        match ka.cmp(kb) {
            std::cmp::Ordering::Less => a = a.get(a.partition_point(|(k, _)| k < kb)..).unwrap_or(&[]),
            std::cmp::Ordering::Greater => b = b.get(b.partition_point(|(k, _)| k < ka)..).unwrap_or(&[]),
            std::cmp::Ordering::Equal => {
                let (same_a, rest_a) = a.split_at(a.partition_point(|(k, _)| k <= ka));
                let (same_b, rest_b) = b.split_at(b.partition_point(|(k, _)| k <= kb));
                for (_, l) in same_a {
                    for (_, r) in same_b {
                        let mut row = l.clone();
                        row.extend_from_slice(r);
                        let width = row.len();
                        out.push(row);
                        budget.spend(out.len(), width)?;
                    }
                }
                (a, b) = (rest_a, rest_b);
            }
        }
    }
    Ok(())
}

/// The tuples a datafrog variable holds, stable and recent (not those
/// inserted since the last round).
fn tuples_held<T: Ord>(variable: &Variable<T>) -> usize {
    variable.stable.borrow().iter().map(|batch| batch.elements.len()).sum::<usize>() + variable.recent.borrow().len()
}

/// A non-recursive stratum: every rule's pipeline runs once over complete
/// relations, without datafrog's rounds.
fn eval_once(
    stratum: &Stratum,
    pipelines: &[Pipeline],
    reads: &Reads,
    env: &Env,
    errors: &mut Errors,
    budget: Budget,
) -> Result<Vec<(RelId, Rows)>, EvalError> {
    let mut derived: BTreeMap<RelId, Vec<Row>> = BTreeMap::new();
    let (mut size, mut bytes) = (0usize, 0usize);
    for pipeline in pipelines {
        let rows = through(pipeline, Bindings::start(), (env, reads.reading), errors, &budget)?;
        size += rows.len();
        bytes = bytes.saturating_add(rows.len().saturating_mul(super::row_bytes(rows.width())));
        budget.holds(size, bytes)?;
        let heads = derived.entry(pipeline.rule.head.rel).or_default();
        heads.extend(rows.rows().map(|row| project_head(pipeline, row)));
    }
    let mut out = Vec::new();
    for rel in &stratum.relations {
        let held = reads.positive.get(rel.0 as usize);
        let derived = derived.remove(rel).unwrap_or_default();
        let width = held.filter(|r| !r.is_empty()).map_or_else(|| derived.first().map_or(0, Vec::len), |r| r.width());
        let mut rows = Builder::with_capacity(width, held.map_or(0, |r| r.len()) + derived.len());
        for row in held.into_iter().flat_map(|r| r.iter()).chain(derived.iter().map(Vec::as_slice)) {
            rows.push(row);
        }
        out.push((*rel, Arc::new(rows.finish())));
    }
    Ok(out)
}

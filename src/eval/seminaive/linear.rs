//! Linear recursive strata on fixed-width tuples.
//!
//! Most recursive strata are *linear*: every rule reads at most one relation
//! of its own stratum, as a closure does (`path(X, Z) :- edge(X, Y),
//! path(Y, Z)`, `within`, the role hierarchy, nested groups). Such a stratum
//! needs no join between two growing relations: each round, a rule starts
//! from the tuples its one recursive atom gained in the last round (the delta
//! rule of semi-naive evaluation) and looks everything else up in the
//! indexes of complete relations. So the stratum keeps no intermediate
//! bindings between rounds and no keyed copies of its relations.
//!
//! The stratum's relations are held as arrays of `N` words (`N` the widest
//! arity, at most [`MAX_WIDTH`]; narrower tuples padded with one constant),
//! which datafrog sorts, deduplicates and merges as plain integers, without
//! a heap allocation per tuple. A value is one 64-bit word when every value
//! the stratum meets fits one, else one 128-bit word (see [`Word`]); words
//! compare as the values do, so with the padding the arrays are in the
//! order of their rows, and the complete relations come out sorted.
//!
//! Any other recursive stratum (a rule with two atoms of its stratum, a
//! relation wider than [`MAX_WIDTH`]) runs on the general pipelines of
//! [`super`]; both are checked against the naive reference.

use super::plan::{AtomKeys, Start, compile, lookup_step};
use super::steps::{Bindings, head_value, through};
use super::word::{Halt, Word};
use super::{Budget, Errors, Pipeline, Reads, tuples_held};
use crate::analyze::Stratum;
use crate::eval::base::{Prepared, consistent};
use crate::eval::functions::Env;
use crate::eval::table::Builder;
use crate::eval::{EvalError, Rows, row_bytes};
use crate::lower::ir::{Atom, Literal, RelId, Rule, Term, Value, VarId};
use datafrog::{Iteration, Relation, Variable};
use std::borrow::Cow;
use std::sync::Arc;

/// The widest relation a linear stratum holds as fixed-width tuples.
const MAX_WIDTH: usize = 4;

/// A rule of a linear stratum, planned to start from its recursive atom.
struct DeltaRule<'r> {
    /// The atom of the stratum the rule reads; a rule without one seeds the
    /// stratum in the first round.
    recursive: Option<Recursive<'r>>,
    /// The rest of the rule, over complete relations only.
    pipeline: Pipeline<'r>,
}

/// The one atom of its own stratum a linear rule reads.
struct Recursive<'r> {
    /// The relation it reads.
    rel: RelId,
    /// Its arguments.
    args: &'r [Term],
    /// The position in the atom of each variable it binds, in the order of
    /// the pipeline's first bindings.
    positions: Vec<usize>,
}

/// Evaluates a recursive `stratum` on fixed-width tuples when it is linear
/// and no relation of it is wider than [`MAX_WIDTH`]; `None` when it is not
/// (the general pipelines evaluate it then).
pub(super) fn try_eval(
    stratum: &Stratum,
    rules: &[Cow<Rule>],
    reads: &Reads,
    errors: &mut Errors,
    prepared: &Prepared,
    env: &Env,
    budget: Budget,
) -> Option<Result<Vec<(RelId, Rows)>, EvalError>> {
    let arities: Vec<(RelId, usize)> =
        stratum.relations.iter().map(|rel| Some((*rel, arity(*rel, rules, reads)?))).collect::<Option<_>>()?;
    let width = arities.iter().map(|(_, arity)| *arity).max()?;
    if width > MAX_WIDTH {
        return None;
    }
    let recursive = rules.iter().map(|rule| recursive_atom(rule, stratum)).collect::<Option<Vec<_>>>()?;
    let plans = rules.iter().zip(recursive).map(|(rule, atom)| plan(rule, atom, reads, prepared)).collect();
    let linear = Linear { arities, rules: plans, reads, env };
    // Narrow words first; should a value not fit one, start again on wide ones.
    linear.attempt::<u64>(width, errors, &budget).or_else(|| linear.attempt::<u128>(width, errors, &budget))
}

/// The arity of a relation of the stratum, from its rules' heads and its
/// facts; `None` when they disagree.
fn arity(rel: RelId, rules: &[Cow<Rule>], reads: &Reads) -> Option<usize> {
    let heads = rules.iter().filter(|rule| rule.head.rel == rel).map(|rule| rule.head.args.len());
    let facts = reads.positive.get(rel.0 as usize).filter(|rows| !rows.is_empty()).map(|rows| rows.width());
    let mut widths = heads.chain(facts);
    let first = widths.next().unwrap_or(0);
    widths.all(|width| width == first).then_some(first)
}

/// The one positive atom of `stratum` that `rule` reads (`Some(None)` when
/// it reads none); `None` when it reads two or more.
fn recursive_atom<'r>(rule: &'r Rule, stratum: &Stratum) -> Option<Option<&'r Atom>> {
    let mut atoms = rule.body.iter().filter_map(|literal| match literal {
        Literal::Pos(atom) if stratum.relations.contains(&atom.rel) => Some(atom),
        _ => None,
    });
    match (atoms.next(), atoms.next()) {
        (first, None) => Some(first),
        _ => None,
    }
}

/// Plans `rule` to start from the bindings of its recursive `atom` (if
/// any); the rest of it reads complete relations only, by lookups.
fn plan<'r>(rule: &'r Rule, atom: Option<&'r Atom>, reads: &Reads, prepared: &Prepared) -> DeltaRule<'r> {
    let mut order: Vec<VarId> = Vec::new();
    let mut positions = Vec::new();
    for (i, term) in atom.map_or(&[][..], |a| &a.args).iter().enumerate() {
        if let Term::Var(v) = term
            && !order.contains(v)
        {
            order.push(*v);
            positions.push(i);
        }
    }
    let is_recursive =
        |literal: &&Literal| matches!(literal, Literal::Pos(a) if atom.is_some_and(|r| std::ptr::eq(a, r)));
    let pending = rule.body.iter().filter(|literal| !is_recursive(literal)).collect();
    let start = Start { pending, order, conditions_last: atom.is_some() };
    let mut read_atom = |atom: Atom, keys: AtomKeys| lookup_step(&atom, keys, reads, prepared);
    let pipeline = compile(rule, start, reads, prepared, &mut read_atom);
    let recursive = atom.map(|a| Recursive { rel: a.rel, args: &a.args, positions });
    DeltaRule { recursive, pipeline }
}

/// A linear stratum, planned.
struct Linear<'a, 'r> {
    /// Its relations with their arities.
    arities: Vec<(RelId, usize)>,
    /// Its rules, each planned from its recursive atom.
    rules: Vec<DeltaRule<'r>>,
    /// What the stratum reads.
    reads: &'a Reads<'a>,
    /// The request's environment (conditions).
    env: &'a Env<'a>,
}

impl Linear<'_, '_> {
    /// The stratum on words of type `W`, or `None` (and no error met) when
    /// a value does not fit one.
    fn attempt<W: Word>(
        &self,
        width: usize,
        errors: &mut Errors,
        budget: &Budget,
    ) -> Option<Result<Vec<(RelId, Rows)>, EvalError>> {
        let mut met = Errors::new();
        let evaluated = match self.eval_with::<W>(width, &mut met, budget) {
            Ok(relations) => Ok(relations),
            Err(Halt::Error(error)) => Err(error),
            Err(Halt::TooWide) => return None,
        };
        errors.append(&mut met);
        Some(evaluated)
    }

    /// The stratum on tuples of `width` words of type `W`.
    fn eval_with<W: Word>(
        &self,
        width: usize,
        errors: &mut Errors,
        budget: &Budget,
    ) -> Result<Vec<(RelId, Rows)>, Halt> {
        match width {
            0 | 1 => self.eval::<W, 1>(errors, budget),
            2 => self.eval::<W, 2>(errors, budget),
            3 => self.eval::<W, 3>(errors, budget),
            _ => self.eval::<W, 4>(errors, budget),
        }
    }

    /// Rounds to a fixpoint over tuples of `N` words; the complete relations.
    fn eval<W: Word, const N: usize>(&self, errors: &mut Errors, budget: &Budget) -> Result<Vec<(RelId, Rows)>, Halt> {
        let mut iteration = Iteration::new();
        let mut variables: Vec<Variable<[W; N]>> = Vec::new();
        for (rel, _) in &self.arities {
            let variable = iteration.variable("relation");
            let facts = self.reads.positive.get(rel.0 as usize).into_iter().flat_map(|rows| rows.iter());
            variable.insert(
                facts
                    .map(|row| padded::<W, N>(row.iter().copied()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(Halt::TooWide)?
                    .into(),
            );
            variables.push(variable);
        }
        let variable_of = |rel: RelId| self.arities.iter().position(|(r, _)| *r == rel).and_then(|i| variables.get(i));
        let reading = (self.env, self.reads.reading);
        // The tuples inserted since the last round, not yet among the
        // variables' (counted against the budget with them).
        let mut pending = 0;
        // The first round: head :- rules that read no relation of the stratum.
        for rule in self.rules.iter().filter(|rule| rule.recursive.is_none()) {
            let bindings = through(&rule.pipeline, Bindings::start(), reading, errors, budget)?;
            if let Some(head) = variable_of(rule.pipeline.rule.head.rel) {
                let tuples = heads::<W, N>(&rule.pipeline, &bindings)?;
                pending += tuples.len();
                head.insert(tuples);
                self.spent(&variables, pending, budget)?;
            }
        }
        while iteration.changed() {
            pending = 0;
            for rule in &self.rules {
                let Some(Recursive { rel, args, positions }) = &rule.recursive else { continue };
                let (Some(input), Some(head)) = (variable_of(*rel), variable_of(rule.pipeline.rule.head.rel)) else {
                    continue;
                };
                // head :- Δatom(args), the rest over complete relations.
                let arity = args.len().min(N);
                let mut start = Bindings::empty(positions.len());
                for tuple in input.recent.borrow().iter() {
                    let values = tuple.map(W::decode);
                    if values.get(..arity).is_some_and(|values| consistent(args, values)) {
                        start.push_picked(&values, positions);
                    }
                }
                if start.is_empty() {
                    continue;
                }
                let bindings = through(&rule.pipeline, start, reading, errors, budget)?;
                let tuples = heads::<W, N>(&rule.pipeline, &bindings)?;
                pending += tuples.len();
                head.insert(tuples);
                self.spent(&variables, pending, budget)?;
            }
        }
        Ok(self
            .arities
            .iter()
            .zip(variables)
            .map(|((rel, arity), variable)| {
                let tuples = variable.complete().elements;
                // Words compare as their values do: the tuples come sorted.
                let mut rows = Builder::with_capacity(*arity, tuples.len());
                for tuple in &tuples {
                    rows.push_values(tuple.iter().take(*arity).map(|w| w.decode()));
                }
                (*rel, Arc::new(rows.finish_sorted()))
            })
            .collect())
    }

    /// An error once the stratum's relations with the `pending` tuples
    /// inserted since the last round hold more tuples (or estimated bytes,
    /// counted as rows of their arity, as the general pipelines count them;
    /// the pending ones as rows of the widest) than the budget, or once past
    /// the deadline.
    fn spent<W: Word, const N: usize>(
        &self,
        variables: &[Variable<[W; N]>],
        pending: usize,
        budget: &Budget,
    ) -> Result<(), EvalError> {
        let (mut size, mut bytes) = (pending, pending.saturating_mul(row_bytes(N)));
        for ((_, arity), variable) in self.arities.iter().zip(variables) {
            let rows = tuples_held(variable);
            size += rows;
            bytes = bytes.saturating_add(rows.saturating_mul(row_bytes(*arity)));
        }
        budget.holds(size, bytes)?;
        crate::eval::cancel::check(budget.deadline, &budget.limits)
    }
}

/// A row's values as a tuple of `N` words, padded past its arity; `None`
/// when a value does not fit a word.
fn padded<W: Word, const N: usize>(row: impl IntoIterator<Item = Value>) -> Option<[W; N]> {
    let mut tuple = [W::PAD; N];
    for (slot, value) in tuple.iter_mut().zip(row) {
        *slot = W::encode(value)?;
    }
    Some(tuple)
}

/// The head tuples of a rule for its final bindings.
fn heads<W: Word, const N: usize>(pipeline: &Pipeline, bindings: &Bindings) -> Result<Relation<[W; N]>, Halt> {
    let head = &pipeline.rule.head.args;
    let tuples = bindings.rows().map(|row| padded(head.iter().map(|term| head_value(pipeline, row, term))));
    Ok(Relation::from_vec(tuples.collect::<Option<_>>().ok_or(Halt::TooWide)?))
}

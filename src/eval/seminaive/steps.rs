//! The steps of a rule's pipeline that read complete relations (lookups,
//! conditions, `not`, `in` lists), applied to a batch of bindings at a time.
//!
//! A batch holds its binding rows one after another in one vector
//! ([`Bindings`]), so a step allocates per batch, not per binding.

use super::{Budget, Errors, Pipeline, Step};
use crate::eval::functions::Env;
use crate::eval::{EvalError, Reading, Row, condition, member_values};
use crate::lower::ir::{Rule, Term, Value, VarId};

/// Binding rows of one width (the values of a pipeline's variables so far,
/// in its order), stored one after another.
pub(super) struct Bindings {
    /// The values a row holds.
    width: usize,
    /// How many rows it holds (rows of width 0 take no values).
    len: usize,
    /// The rows' values, row after row.
    values: Vec<Value>,
}

impl Bindings {
    /// The batch a rule starts from: one row binding nothing.
    pub(super) fn start() -> Bindings {
        Bindings { width: 0, len: 1, values: Vec::new() }
    }

    /// An empty batch of rows of `width` values.
    pub(super) fn empty(width: usize) -> Bindings {
        Bindings { width, len: 0, values: Vec::new() }
    }

    /// The rows of a datafrog stage.
    pub(super) fn of_rows(rows: &[Row]) -> Bindings {
        let width = rows.first().map_or(0, Vec::len);
        // INVARIANT: a stage's rows all bind the same variables.
        debug_assert!(rows.iter().all(|row| row.len() == width));
        Bindings { width, len: rows.len(), values: rows.iter().flatten().copied().collect() }
    }

    /// How many rows it holds.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no row.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its rows' width (for a batch that stayed empty, the width it was made with).
    pub(super) fn width(&self) -> usize {
        self.width
    }

    /// Its rows, in order (sliced by index, as `chunks_exact` cannot slice rows of width 0).
    pub(super) fn rows(&self) -> impl Iterator<Item = &[Value]> {
        (0..self.len).map(|i| self.values.get(i * self.width..(i + 1) * self.width).unwrap_or(&[]))
    }

    /// Adds the row `row ++ extra` (every row of a batch is as wide).
    pub(super) fn push(&mut self, row: &[Value], extra: &[Value]) {
        if self.len == 0 {
            self.width = row.len() + extra.len();
        }
        self.values.extend_from_slice(row);
        self.values.extend_from_slice(extra);
        self.len += 1;
    }

    /// Adds the row of `row`'s values at `positions` (none when a position
    /// is past `row`: positions come from an atom of `row`'s arity).
    pub(super) fn push_picked(&mut self, row: &[Value], positions: &[usize]) {
        if positions.iter().any(|p| *p >= row.len()) {
            return;
        }
        if self.len == 0 {
            self.width = positions.len();
        }
        self.values.extend(positions.iter().filter_map(|p| row.get(*p)));
        self.len += 1;
    }
}

/// The head tuple of a rule for a final binding row.
pub(super) fn project_head(pipeline: &Pipeline, row: &[Value]) -> Row {
    pipeline.rule.head.args.iter().map(|t| head_value(pipeline, row, t)).collect()
}

/// The value of one term of a rule's head for a final binding row.
pub(super) fn head_value(pipeline: &Pipeline, row: &[Value], term: &Term) -> Value {
    match term {
        Term::Var(v) => lookup(&pipeline.order, row, *v).unwrap_or(Value::Bool(false)),
        Term::Const(c) => *c,
        Term::Now | Term::Ctx(_) => Value::Bool(false),
    }
}

/// The final bindings of a pipeline whose steps read only complete
/// relations (no [`Step::Join`]), from the bindings it starts with.
pub(super) fn through(
    pipeline: &Pipeline,
    mut rows: Bindings,
    (env, reading): (&Env, Reading),
    errors: &mut Errors,
    budget: &Budget,
) -> Result<Bindings, EvalError> {
    for step in &pipeline.steps {
        rows = apply(step, &rows, &pipeline.order, (pipeline.rule, env, reading), errors, budget)?;
        crate::eval::cancel::check(budget.deadline, &budget.limits)?;
        if rows.is_empty() {
            break;
        }
    }
    Ok(rows)
}

/// One step that reads only complete relations, applied to a batch of bindings.
pub(super) fn apply(
    step: &Step,
    rows: &Bindings,
    order: &[VarId],
    (rule, env, reading): (&Rule, &Env, Reading),
    errors: &mut Errors,
    budget: &Budget,
) -> Result<Bindings, EvalError> {
    let mut out = Bindings::empty(rows.width());
    match step {
        Step::Filter(conditions) => {
            let (mut met, mut one) = (Errors::new(), Errors::new());
            'rows: for (i, row) in rows.rows().enumerate() {
                budget.tick(i + 1)?;
                let mut holds = true;
                for e in conditions {
                    let value = condition(env, rule, e, &|v| lookup(order, row, v), reading, &mut one);
                    if one.is_empty() && !value {
                        // False: the binding fails whatever the others say.
                        met.clear();
                        continue 'rows;
                    }
                    holds &= value;
                    met.append(&mut one);
                }
                errors.append(&mut met);
                if holds {
                    out.push(row, &[]);
                }
            }
        }
        // bindings(order ++ new) :- bindings(order), rel(args), with rel complete.
        Step::Lookup { key_from_row, index } => {
            let mut key = Vec::with_capacity(key_from_row.len());
            for row in rows.rows() {
                let mut spent = Ok(());
                key.clear();
                key.extend(key_from_row.iter().filter_map(|p| row.get(*p)));
                index.each(&key, |values| {
                    if spent.is_ok() {
                        out.push(row, values);
                        spent = budget.spend(out.len(), out.width());
                    }
                });
                spent?;
            }
        }
        Step::Anti { key_from_row, index } => {
            let mut key = Vec::with_capacity(key_from_row.len());
            for (i, row) in rows.rows().enumerate() {
                budget.tick(i + 1)?;
                key.clear();
                key.extend(key_from_row.iter().filter_map(|p| row.get(*p)));
                if !index.contains(&key) {
                    out.push(row, &[]);
                }
            }
        }
        Step::Member { position, items, domain } => {
            for (i, row) in rows.rows().enumerate() {
                budget.tick(i + 1)?;
                let membership = member_values(env, rule, items, &|v| lookup(order, row, v), reading, errors);
                match position {
                    Some(p) => {
                        if row.get(*p).is_some_and(|x| membership.admits(x)) {
                            out.push(row, &[]);
                        }
                    }
                    None => {
                        for value in membership.values(domain) {
                            out.push(row, &[value]);
                            budget.spend(out.len(), out.width())?;
                        }
                    }
                }
            }
        }
        // INVARIANT: a join reads this stratum's own relations, so only recursive strata have one.
        Step::Join { .. } => {}
    }
    Ok(out)
}

/// The value of variable `v` in a binding row of a pipeline of that `order`.
fn lookup(order: &[VarId], row: &[Value], v: VarId) -> Option<Value> {
    order.iter().position(|w| *w == v).and_then(|p| row.get(p).copied())
}

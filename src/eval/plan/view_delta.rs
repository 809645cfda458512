//! A view after a live update that changed one of its inputs, from the
//! view the previous plan built, instead of joining both inputs again.
//!
//! - Tuples added: `π(L ∪ A ⋈ R) = π(L ⋈ R) ∪ π(A ⋈ R)`, so the new tuples
//!   are joined with the other, unchanged input and merged in.
//! - Tuples removed: the removed tuples' joins are the candidates to drop;
//!   a projected-away variable can keep a candidate derivable another way,
//!   so the remaining tuples that agree with a candidate on the view's
//!   variables are joined again, and a candidate they give stays.
//!
//! Both added and removed takes the full join.

use super::flatten::{JoinIndex, ViewRecord, join};
use super::snapshot::Columns;
use crate::eval::table::Builder;
use crate::eval::{Rows, Table};
use crate::lower::ir::{Atom, Term, Value, VarId};
use rustc_hash::FxHashSet;
use std::sync::Arc;

/// The view `π_out(left ⋈ right)` over `inputs`, from `old`, the same view
/// over inputs of which one is the very same and the other has only gained
/// ([`extended`]) or only lost ([`shrunk`]) tuples; `None` when that is not
/// the case, or when a join passes `limit` (the caller then joins in full).
#[expect(clippy::too_many_arguments, reason = "the view's atoms, inputs and output, and the index caches of `join`")]
pub(super) fn updated(
    old: &ViewRecord,
    left: &Atom,
    right: &Atom,
    inputs: &(Rows, Rows),
    out: &[VarId],
    limit: usize,
    cache: &mut Vec<JoinIndex>,
    previous: &[JoinIndex],
) -> Option<ViewRecord> {
    let old_rows = old.rows.as_ref()?;
    // Which input changed (the other must be the very same tuples).
    let (before, after, changed, other, other_rows) = if Arc::ptr_eq(&old.inputs.0, &inputs.0) {
        (&old.inputs.1, &inputs.1, right, left, &inputs.0)
    } else if Arc::ptr_eq(&old.inputs.1, &inputs.1) {
        (&old.inputs.0, &inputs.0, left, right, &inputs.1)
    } else {
        return None;
    };
    let change = Change { old, old_rows, inputs, before, after, changed, other, other_rows, out, limit, previous };
    change.extended(cache).or_else(|| change.shrunk(cache))
}

/// A view's one changed input, the other (the very same tuples), and what
/// its joins need.
struct Change<'a> {
    old: &'a ViewRecord,
    old_rows: &'a Rows,
    inputs: &'a (Rows, Rows),
    before: &'a Rows,
    after: &'a Rows,
    changed: &'a Atom,
    other: &'a Atom,
    other_rows: &'a Rows,
    out: &'a [VarId],
    limit: usize,
    previous: &'a [JoinIndex],
}

impl Change<'_> {
    /// The view after its changed input only gained tuples (the old view's
    /// joined pairs and the new tuples' counted against `limit`, as a full
    /// join would count them). A view the new tuples add nothing to keeps
    /// its tuples (the same `Arc`), so what is built on it is kept too.
    fn extended(&self, cache: &mut Vec<JoinIndex>) -> Option<ViewRecord> {
        let (delta, delta_pairs) = self.join_delta(added(self.before, self.after)?, cache)?;
        let pairs = self.old.pairs + delta_pairs;
        if pairs > self.limit {
            return None;
        }
        let merged = merge(self.old_rows, &delta);
        if merged.len() == self.old_rows.len() {
            return Some(self.unchanged(pairs));
        }
        Some(self.record(merged, pairs))
    }

    /// The view after its changed input only lost tuples: the removed
    /// tuples' joins are the candidates to drop, and a candidate the
    /// remaining tuples still give stays.
    fn shrunk(&self, cache: &mut Vec<JoinIndex>) -> Option<ViewRecord> {
        // The remaining tuples that could give a candidate again are those
        // that agree with one on the view's variables the changed atom holds:
        // with none, that is all of them, and a full join costs no more.
        let shared: Vec<(usize, usize)> = (self.out.iter().enumerate())
            .filter_map(|(at, v)| self.changed.args.iter().position(|t| *t == Term::Var(*v)).map(|c| (at, c)))
            .collect();
        if shared.is_empty() {
            return None;
        }
        // `before` keeps every tuple of `after`: what it has besides was removed.
        let (candidates, removed_pairs) = self.join_delta(added(self.after, self.before)?, cache)?;
        let pairs = self.old.pairs.checked_sub(removed_pairs)?;
        if pairs > self.limit {
            return None;
        }
        if candidates.is_empty() {
            return Some(self.unchanged(pairs));
        }
        let project = |row: &[Value], pick: &dyn Fn(&(usize, usize)) -> usize| -> Vec<Value> {
            shared.iter().filter_map(|p| row.get(pick(p)).copied()).collect()
        };
        let wanted: FxHashSet<Vec<Value>> = candidates.iter().map(|c| project(c, &|p| p.0)).collect();
        let relevant = self.after.iter().filter(|row| wanted.contains(&project(row, &|p| p.1)));
        let (again, _) = self.join_delta(Table::from_sorted(self.after.width(), relevant), cache)?;
        let again: FxHashSet<&[Value]> = again.iter().collect();
        let gone: FxHashSet<&[Value]> = candidates.iter().filter(|c| !again.contains(c)).collect();
        if gone.is_empty() {
            return Some(self.unchanged(pairs));
        }
        let kept = self.old_rows.iter().filter(|row| !gone.contains(row));
        Some(self.record(Table::from_sorted(self.old_rows.width(), kept), pairs))
    }

    /// `π_out(rows ⋈ other)` for tuples `rows` of the changed atom, with
    /// its joined pairs. `rows` is a delta of this update: the indexes
    /// `join` builds over it are not kept (the plan keeps its join indexes
    /// until the next update, and no later join reads these).
    fn join_delta(&self, rows: Table, cache: &mut Vec<JoinIndex>) -> Option<(Table, usize)> {
        let rows = Arc::new(rows);
        let (changed, other, other_rows) = (self.changed, self.other, self.other_rows);
        let joined = join(changed, &rows, other, other_rows, self.out, self.limit, cache, self.previous);
        cache.retain(|index| !Arc::ptr_eq(&index.rows, &rows));
        joined
    }

    /// The old view's tuples (the same `Arc`) with `pairs` joined pairs.
    fn unchanged(&self, pairs: usize) -> ViewRecord {
        let (rows, columns) = (self.old_rows.clone(), self.old.columns.clone());
        ViewRecord { key: self.old.key.clone(), inputs: self.inputs.clone(), rows: Some(rows), pairs, columns }
    }

    /// The view with new tuples.
    fn record(&self, rows: Table, pairs: usize) -> ViewRecord {
        let columns = Columns::of(&rows);
        ViewRecord {
            key: self.old.key.clone(),
            inputs: self.inputs.clone(),
            rows: Some(Arc::new(rows)),
            pairs,
            columns,
        }
    }
}

/// The tuples of `after` not in `before`, when `after` keeps every tuple
/// of `before`; `None` otherwise.
fn added(before: &Table, after: &Table) -> Option<Table> {
    if after.len() < before.len() {
        return None;
    }
    let mut added = Builder::with_capacity(after.width(), after.len() - before.len());
    let mut old = before.iter().peekable();
    for row in after {
        match old.peek() {
            Some(o) if *o == row => {
                old.next();
            }
            // A tuple of `before` missing from `after`: something was removed.
            Some(o) if *o < row => return None,
            _ => added.push(row),
        }
    }
    old.peek().is_none().then(|| added.finish_sorted())
}

/// The union of two tables of the same width.
fn merge(a: &Table, b: &Table) -> Table {
    let mut out = Builder::with_capacity(a.width().max(b.width()), a.len() + b.len());
    let (mut i, mut j) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let next = match (i.peek(), j.peek()) {
            (Some(x), Some(y)) if x < y => i.next(),
            (Some(x), Some(y)) if x > y => j.next(),
            (Some(_), Some(_)) => {
                j.next();
                i.next()
            }
            (Some(_), None) => i.next(),
            (None, Some(_)) => j.next(),
            (None, None) => break,
        };
        if let Some(row) = next {
            out.push(row);
        }
    }
    out.finish_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[i64]) -> Table {
        let values: Vec<Value> = values.iter().map(|v| Value::Int(*v)).collect();
        Table::from_rows(1, values.iter().map(std::slice::from_ref))
    }

    /// `view(Z) :- a(X, Y), b(Y, Z)` over `a` and `b`, as the flattener records it.
    fn view_of(a: &Rows, b: &Rows, limit: usize) -> Option<ViewRecord> {
        view_over(a, b, &[VarId(2)], limit)
    }

    /// `view(out) :- a(X, Y), b(Y, Z)`.
    fn view_over(a: &Rows, b: &Rows, out: &[VarId], limit: usize) -> Option<ViewRecord> {
        let (left, right) = atoms();
        let (rows, pairs) = join(&left, a, &right, b, out, limit, &mut Vec::new(), &[])?;
        let columns = Columns::of(&rows);
        Some(ViewRecord {
            key: (left, right, out.to_vec()),
            inputs: (a.clone(), b.clone()),
            rows: Some(Arc::new(rows)),
            pairs,
            columns,
        })
    }

    fn atoms() -> (Atom, Atom) {
        use crate::lower::ir::{RelId, Term};
        let var = |v: u32| Term::Var(VarId(v));
        (Atom { rel: RelId(0), args: vec![var(0), var(1)] }, Atom { rel: RelId(1), args: vec![var(1), var(2)] })
    }

    fn pairs(values: &[(i64, i64)]) -> Rows {
        Arc::new(Table::from_rows(
            2,
            values
                .iter()
                .map(|(x, y)| [Value::Int(*x), Value::Int(*y)])
                .collect::<Vec<_>>()
                .iter()
                .map(|r| r.as_slice()),
        ))
    }

    #[test]
    fn an_extended_view_counts_its_pairs_as_a_full_join_does() {
        let (left, right) = atoms();
        let b = pairs(&(0..50).map(|z| (1, z)).collect::<Vec<_>>());
        let (a, grown) = (pairs(&[(1, 1)]), pairs(&[(1, 1), (2, 1)]));
        let old = view_of(&a, &b, 60).unwrap();
        // The new tuple adds 50 pairs but no tuple (Z only): 100 pairs, past 60.
        assert!(view_of(&grown, &b, 60).is_none(), "a full join refuses it");
        let inputs = (grown.clone(), b.clone());
        assert!(updated(&old, &left, &right, &inputs, &[VarId(2)], 60, &mut Vec::new(), &[]).is_none());
        // Within the limit: the same tuples, the very same Arc (nothing was added).
        let kept = updated(&old, &left, &right, &inputs, &[VarId(2)], 200, &mut Vec::new(), &[]).unwrap();
        assert!(Arc::ptr_eq(kept.rows.as_ref().unwrap(), old.rows.as_ref().unwrap()));
        assert_eq!(kept.pairs, view_of(&grown, &b, 200).unwrap().pairs);
    }

    proptest::proptest! {
        /// A view after one input lost tuples is the view a full join of
        /// the remaining tuples gives: the same tuples and the same count of
        /// joined pairs, whichever input lost them and whichever variables
        /// the view keeps (few values each, so candidates are often
        /// derivable another way); when it loses no tuple, the same `Arc`.
        #[test]
        fn a_shrunk_view_is_the_full_join_of_what_remains(
            a in proptest::collection::btree_set((0i64..6, 0i64..4), 0..20),
            b in proptest::collection::btree_set((0i64..4, 0i64..3), 0..20),
            keep in proptest::collection::vec(proptest::bool::ANY, 20),
            right_side in proptest::bool::ANY,
            out in proptest::sample::select(vec![vec![2u32], vec![1, 2], vec![0, 2], vec![0], vec![1], vec![0, 1, 2]]),
        ) {
            let (left, right) = atoms();
            let out: Vec<VarId> = out.into_iter().map(VarId).collect();
            let (a, b): (Vec<_>, Vec<_>) = (a.into_iter().collect(), b.into_iter().collect());
            let changed = if right_side { &b } else { &a };
            let kept: Vec<(i64, i64)> =
                changed.iter().zip(&keep).filter(|(_, k)| **k).map(|(row, _)| *row).collect();
            let (old_a, old_b) = (pairs(&a), pairs(&b));
            let (new_a, new_b) = if right_side { (old_a.clone(), pairs(&kept)) } else { (pairs(&kept), old_b.clone()) };
            let old = view_over(&old_a, &old_b, &out, 10_000).unwrap();
            let inputs = (new_a.clone(), new_b.clone());
            let mut cache = Vec::new();
            let full = view_over(&new_a, &new_b, &out, 10_000).unwrap();
            // A view the changed atom keeps no variable of is joined in full.
            let Some(shrunk) = updated(&old, &left, &right, &inputs, &out, 10_000, &mut cache, &[]) else {
                let held = if right_side { &right } else { &left };
                proptest::prop_assert!(!out.iter().any(|v| held.args.contains(&Term::Var(*v))));
                return Ok(());
            };
            proptest::prop_assert_eq!(&shrunk.rows, &full.rows);
            proptest::prop_assert_eq!(shrunk.pairs, full.pairs);
            if shrunk.rows.as_ref().map(|r| r.len()) == old.rows.as_ref().map(|r| r.len()) {
                proptest::prop_assert!(Arc::ptr_eq(shrunk.rows.as_ref().unwrap(), old.rows.as_ref().unwrap()));
            }
            // Only indexes over the inputs stay cached, none over a delta.
            proptest::prop_assert!(cache.iter().all(|i| Arc::ptr_eq(&i.rows, &new_a) || Arc::ptr_eq(&i.rows, &new_b)));
        }
    }

    #[test]
    fn only_additions_to_sorted_inputs_are_extended() {
        assert_eq!(added(&rows(&[1, 3]), &rows(&[1, 2, 3, 4])), Some(rows(&[2, 4])));
        assert_eq!(added(&rows(&[1, 3]), &rows(&[1, 2])), None, "3 was removed");
        assert_eq!(added(&rows(&[1, 3]), &rows(&[2, 3, 4])), None, "1 was removed");
        assert_eq!(merge(&rows(&[1, 3, 5]), &rows(&[2, 3, 6])), rows(&[1, 2, 3, 5, 6]));
    }
}

//! Views: pairs of static atoms of a flattened rule joined once, in the
//! snapshot, into one relation without the variable that joined them (see
//! the parent module's second step), and the joins that build them.

use super::{FlatRule, Flattener, MAX_VIEW_GROWTH, Rows, ViewRecord, literal_uses, uses};
use crate::eval::Table;
use crate::eval::plan::snapshot::{Columns, Key, MAX_KEY, Packed, Snapshot, pack};
use crate::eval::table::Builder;
use crate::lower::ir::{Atom, Literal, RelId, Term, Value, VarId};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

impl Flattener<'_> {
    /// Replaces pairs of static atoms joined only by variables used nowhere
    /// else with views.
    pub(super) fn fold_views(&mut self, flat: &mut FlatRule) {
        let mut refused: FxHashSet<VarId> = FxHashSet::default();
        loop {
            let Some((v, a, b)) = self.foldable(flat, &refused) else { return };
            let (Some(Literal::Pos(left)), Some(Literal::Pos(right))) = (flat.rule.body.get(a), flat.rule.body.get(b))
            else {
                return;
            };
            let (left, right) = (left.clone(), right.clone());
            // Variables of the pair used nowhere else are projected away.
            let elsewhere = uses(flat, &[a, b]);
            let mut out: Vec<VarId> = Vec::new();
            for var in left.vars().chain(right.vars()) {
                if elsewhere.contains(&var) && !out.contains(&var) {
                    out.push(var);
                }
            }
            if self.may_project_a_stand_in(&left, &right, &out) {
                refused.insert(v);
                continue;
            }
            let Some(view) = self.view(&left, &right, &out) else {
                refused.insert(v);
                continue;
            };
            let atom = Atom { rel: view, args: out.iter().map(|v| Term::Var(*v)).collect() };
            if let Some(slot) = flat.rule.body.get_mut(a) {
                *slot = Literal::Pos(atom);
            }
            flat.rule.body.remove(b);
            flat.sources.remove(b);
        }
    }

    /// Whether the view would project away a variable that can take one of
    /// the snapshot's [`crate::lower::intern::FRESH`] stand-ins: its rows
    /// would then hold for checks that do not use that stand-in.
    fn may_project_a_stand_in(&self, left: &Atom, right: &Atom, out: &[VarId]) -> bool {
        if !self.snapshot.fresh {
            return false;
        }
        let holds_fresh = |atom: &Atom, column: usize| self.snapshot.holds_stand_in(atom.rel, column);
        let projected = left.vars().chain(right.vars()).filter(|v| !out.contains(v));
        projected.into_iter().any(|var| {
            let columns = |atom: &'_ Atom| {
                let positions: Vec<usize> =
                    atom.args.iter().enumerate().filter(|(_, t)| **t == Term::Var(var)).map(|(i, _)| i).collect();
                positions
            };
            let (l, r) = (columns(left), columns(right));
            l.iter().all(|c| holds_fresh(left, *c)) && r.iter().all(|c| holds_fresh(right, *c))
        })
    }

    /// A variable in exactly two static atoms (positions `a < b`) and nowhere else.
    fn foldable(&self, flat: &FlatRule, refused: &FxHashSet<VarId>) -> Option<(VarId, usize, usize)> {
        let rule = &flat.rule;
        for var in (0..rule.var_names.len()).map(|v| VarId(v as u32)) {
            if refused.contains(&var) || rule.head.args.contains(&Term::Var(var)) {
                continue;
            }
            let holders: Vec<usize> =
                rule.body.iter().enumerate().filter(|(_, l)| literal_uses(l, var)).map(|(i, _)| i).collect();
            let [a, b] = holders[..] else { continue };
            let static_atom = |i: usize| match rule.body.get(i) {
                Some(Literal::Pos(atom)) => {
                    !self.is_dynamic(atom.rel) && atom.args.iter().all(|t| matches!(t, Term::Var(_) | Term::Const(_)))
                }
                _ => false,
            };
            if static_atom(a) && static_atom(b) {
                return Some((var, a, b));
            }
        }
        None
    }

    /// The view `π_out(left ⋈ right)`, built once per definition; `None`
    /// when it would be too large.
    fn view(&mut self, left: &Atom, right: &Atom, out: &[VarId]) -> Option<RelId> {
        let key = normalize(left, right, out);
        if let Some(rel) = self.views.get(&key) {
            return Some(*rel);
        }
        let input = |rel: RelId| self.snapshot.relations.get(rel.0 as usize).cloned().unwrap_or_default();
        let inputs = (input(left.rel), input(right.rel));
        let same = |r: &&ViewRecord| {
            r.key == key && Arc::ptr_eq(&r.inputs.0, &inputs.0) && Arc::ptr_eq(&r.inputs.1, &inputs.1)
        };
        // Built (or refused) before, in this plan or the previous one, over the same tuples?
        let known = self.records.iter().find(same).or_else(|| self.previous.iter().find(same)).cloned();
        let record = match known {
            Some(record) => record,
            None => {
                let limit = MAX_VIEW_GROWTH * inputs.0.len().max(inputs.1.len()) + 1_000;
                let (cache, previous) = (&mut self.join_indexes, self.previous_join_indexes);
                // The previous plan's view, when one input only gained or only
                // lost tuples: extended, or shrunk.
                let grown = self.previous.iter().filter(|r| r.key == key).find_map(|old| {
                    crate::eval::plan::view_delta::updated(old, left, right, &inputs, out, limit, cache, previous)
                });
                grown.unwrap_or_else(|| {
                    let joined = join(left, &inputs.0, right, &inputs.1, out, limit, cache, previous);
                    let (rows, pairs) = joined.map_or((None, 0), |(rows, pairs)| (Some(Arc::new(rows)), pairs));
                    let columns = rows.as_deref().map(Columns::of).unwrap_or_default();
                    ViewRecord { key: key.clone(), inputs: inputs.clone(), rows, pairs, columns }
                })
            }
        };
        if !self.records.iter().any(|r| same(&r)) {
            self.records.push(record.clone());
        }
        let (rows, columns) = (record.rows?, record.columns);
        let rel = RelId((self.snapshot.relations.len()) as u32);
        let program = &self.checked.program;
        let name_of = |rel| crate::eval::plan::relation_name(program, &self.view_names, rel);
        let name = format!("view{}[{} ⋈ {}]", self.view_names.len(), name_of(left.rel), name_of(right.rel));
        self.snapshot.push(rows, columns);
        if self.dynamic.len() < self.snapshot.relations.len() {
            self.dynamic.resize(self.snapshot.relations.len(), false);
        }
        self.view_names.push(name);
        self.views.insert(key, rel);
        Some(rel)
    }
}

/// A view's definition with variables numbered by first appearance, so the
/// same join in two rules is one view.
fn normalize(left: &Atom, right: &Atom, out: &[VarId]) -> (Atom, Atom, Vec<VarId>) {
    let mut order: Vec<VarId> = Vec::new();
    let mut number = |v: VarId| {
        let i = order.iter().position(|w| *w == v).unwrap_or_else(|| {
            order.push(v);
            order.len() - 1
        });
        VarId(i as u32)
    };
    let mut renumber = |a: &Atom| Atom {
        rel: a.rel,
        args: a
            .args
            .iter()
            .map(|t| match t {
                Term::Var(v) => Term::Var(number(*v)),
                other => other.clone(),
            })
            .collect(),
    };
    let (l, r) = (renumber(left), renumber(right));
    let out = out.iter().map(|v| number(*v)).collect();
    (l, r, out)
}

/// An index of a relation's tuples (those matching an atom's constants and
/// repeated variables) by some columns, for joining views; kept across live
/// updates while the tuples are the very same.
#[derive(Clone, Debug)]
pub struct JoinIndex {
    /// The tuples it indexes.
    pub(in crate::eval::plan) rows: Rows,
    filter: Vec<Term>,
    key: Vec<usize>,
    groups: Arc<FxHashMap<JoinKey, Vec<u32>>>,
}

/// A join's key: the packed values of its columns. One column, the common
/// case, is one integer, hashed and compared inline (a four-value array
/// is compared by a call to `memcmp`: a third of the time of a large
/// snapshot's view joins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum JoinKey {
    /// One key column.
    One(Packed),
    /// None, or two to four (unused positions zero).
    Many(Key),
}

/// `π_out(left ⋈ right)` over the snapshot rows, probing an index of the
/// larger side (from `cache` or `previous` when one fits), with the number
/// of joined pairs it was projected from; `None` past `limit` pairs or past
/// [`MAX_KEY`] shared variables.
#[expect(clippy::too_many_arguments, reason = "two atoms with their tuples, the output, and the index caches")]
pub(in crate::eval::plan) fn join(
    left: &Atom,
    lrows: &Rows,
    right: &Atom,
    rrows: &Rows,
    out: &[VarId],
    limit: usize,
    cache: &mut Vec<JoinIndex>,
    previous: &[JoinIndex],
) -> Option<(Table, usize)> {
    let first = |atom: &Atom, v: VarId| atom.args.iter().position(|t| *t == Term::Var(v));
    let mut shared: Vec<VarId> = left.vars().filter(|v| first(right, *v).is_some()).collect();
    shared.sort();
    shared.dedup();
    if shared.len() > MAX_KEY {
        return None;
    }
    // Iterate the smaller side, probe the larger.
    let ((small, srows), (big, brows)) =
        if lrows.len() <= rrows.len() { ((left, lrows), (right, rrows)) } else { ((right, rrows), (left, lrows)) };
    let key_columns: Vec<usize> = shared.iter().filter_map(|v| first(big, *v)).collect();
    let filter = normalize_args(big);
    let fits = |i: &&JoinIndex| Arc::ptr_eq(&i.rows, brows) && i.filter == filter && i.key == key_columns;
    let cached = cache.iter().find(fits).map(|i| i.groups.clone());
    let groups = match cached.or_else(|| previous.iter().find(fits).map(|i| i.groups.clone())) {
        Some(groups) => groups,
        None => {
            let mut groups: FxHashMap<JoinKey, Vec<u32>> = FxHashMap::default();
            for (i, row) in brows.iter().enumerate() {
                if crate::eval::base::consistent(&big.args, row) {
                    groups.entry(key_of(row, &key_columns)).or_default().push(i as u32);
                }
            }
            Arc::new(groups)
        }
    };
    if !cache.iter().any(|i| fits(&i)) {
        cache.push(JoinIndex { rows: brows.clone(), filter, key: key_columns, groups: groups.clone() });
    }
    let small_columns: Vec<usize> = shared.iter().filter_map(|v| first(small, *v)).collect();
    // Counted first: a view over the limit is refused without being built,
    // and one within it is built in a buffer of its size (grown by doubling,
    // a view of millions of tuples would be copied again and again). Each
    // tuple probes once: its matches are kept for the build.
    let matching = |row: &&[Value]| crate::eval::base::consistent(&small.args, row);
    let mut probed: Vec<(&[Value], &Vec<u32>)> = Vec::new();
    let mut total = 0usize;
    for row in srows.iter().filter(matching) {
        if let Some(matches) = groups.get(&key_of(row, &small_columns)) {
            total += matches.len();
            if total > limit {
                return None;
            }
            probed.push((row, matches));
        }
    }
    let mut rows = Builder::with_capacity(out.len(), total);
    let mut row: Vec<Value> = Vec::with_capacity(out.len());
    for (srow, matches) in probed {
        for brow in matches.iter().filter_map(|i| brows.get(*i as usize)) {
            let value = |v: &VarId| {
                first(small, *v).and_then(|i| srow.get(i)).or_else(|| first(big, *v).and_then(|i| brow.get(i))).copied()
            };
            row.clear();
            row.extend(out.iter().filter_map(value));
            rows.push(&row);
        }
    }
    Some((rows.finish(), total))
}

/// The packed values at `columns`.
fn key_of(row: &[Value], columns: &[usize]) -> JoinKey {
    let packed = |column: &usize| pack(row.get(*column).copied().unwrap_or(crate::eval::plan::snapshot::PAD));
    if let [column] = columns {
        return JoinKey::One(packed(column));
    }
    let mut key = [0; MAX_KEY];
    for (slot, column) in key.iter_mut().zip(columns) {
        *slot = packed(column);
    }
    JoinKey::Many(key)
}

/// An atom's arguments with variables numbered by first appearance.
fn normalize_args(atom: &Atom) -> Vec<Term> {
    let mut order: Vec<VarId> = Vec::new();
    atom.args
        .iter()
        .map(|t| match t {
            Term::Var(v) => {
                let i = order.iter().position(|w| w == v).unwrap_or_else(|| {
                    order.push(*v);
                    order.len() - 1
                });
                Term::Var(VarId(i as u32))
            }
            other => other.clone(),
        })
        .collect()
}

impl Snapshot {
    /// Appends a relation (a view) with its column statistics.
    pub fn push(&mut self, rows: Rows, columns: Columns) {
        self.columns.push(columns);
        self.relations.push(rows);
    }
}

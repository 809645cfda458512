//! The base relations of a snapshot, shared by every evaluation, and the
//! indexes that let a join look up matching tuples instead of copying whole
//! relations.
//!
//! [`Prepared::new`] groups and sorts the program's facts once. An evaluation
//! starts from those shared `Arc`s and rebuilds only the relations its request
//! changes (a test's local facts, removed facts, new constants in `$adom`).
//! A join with a relation of an earlier stratum (or a base relation) is a
//! lookup in an [`Index`]; indexes over unchanged base relations are built on
//! first use and kept for every later evaluation of the snapshot.

use super::table::Builder;
use super::{Additions, Row, Table};
use crate::lower::builtins;
use crate::lower::ir::{OriginId, Program, RelId, Term, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The tuples of one relation, sorted and deduplicated, shared.
pub type Rows = Arc<Table>;

/// Base facts changed by a live update, for [`Prepared::updated`].
#[derive(Debug)]
pub struct BaseChanges {
    /// Where the inserted facts start in the changed program's facts (an
    /// update appends them; they are not copied here).
    pub inserted_from: usize,
    /// The tuples removed, per relation.
    pub removed: BTreeMap<RelId, BTreeSet<Row>>,
    /// Whether the active domain changed (`$adom` is rebuilt from it).
    pub domain_changed: bool,
}

impl BaseChanges {
    /// The facts inserted into `program` (the changed program).
    pub fn inserted<'p>(&self, program: &'p Program) -> impl Iterator<Item = &'p crate::lower::ir::Fact> + Clone {
        program.facts.from_index(self.inserted_from)
    }

    /// The base relations whose tuples change.
    pub fn touched(&self, program: &Program) -> BTreeSet<RelId> {
        self.inserted(program).map(|f| f.rel).chain(self.removed.keys().copied()).collect()
    }
}

mod index;
pub use index::Index;

/// What an index is built for: a relation, the atom's constants and repeated
/// variables (filters), the columns of the key and of the values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IndexKey {
    rel: RelId,
    filter: Vec<Term>,
    key: Vec<usize>,
    values: Vec<usize>,
}

/// Where each base fact of one relation comes from (the first statement
/// that states it): one origin per row of the snapshot's sorted rows.
#[derive(Debug, Default)]
pub struct Origins {
    rows: Rows,
    /// `None` for a row no fact states (`$adom`'s constants).
    origins: Vec<Option<OriginId>>,
}

impl Origins {
    /// The origin of `row`, if the relation holds it.
    pub fn get(&self, row: &[Value]) -> Option<OriginId> {
        let at = self.rows.binary_search(row).ok()?;
        self.origins.get(at).copied().flatten()
    }

    /// How many rows it knows the origin of.
    pub fn len(&self) -> usize {
        self.origins.iter().flatten().count()
    }

    /// Whether it knows no origin.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A snapshot's base relations and its caches of indexes and of the facts'
/// origins over them.
#[derive(Debug)]
pub struct Prepared {
    base: Vec<Rows>,
    indexes: Mutex<HashMap<IndexKey, Arc<Index>>>,
    origins: Mutex<HashMap<RelId, Arc<Origins>>>,
}

impl Prepared {
    /// Groups and sorts the program's facts; `$adom` holds the program's domain.
    pub fn new(program: &Program) -> Prepared {
        let base = grouped(program).into_iter().map(Arc::new).collect();
        Prepared { base, indexes: Mutex::new(HashMap::new()), origins: Mutex::default() }
    }

    /// The same snapshot after `changes`: untouched relations (and `$adom`
    /// when the domain is the same) and their indexes are shared; a touched
    /// relation is its old tuples without the removed ones, with the
    /// inserted ones (`program` holds the changed facts and domain).
    pub fn updated(&self, program: &Program, changes: &BaseChanges) -> Prepared {
        let touched = changes.touched(program);
        let mut rebuilt: Vec<(RelId, Rows)> = Vec::new();
        for &rel in &touched {
            let old = self.base.get(rel.0 as usize).cloned().unwrap_or_default();
            let inserted = changes.inserted(program).filter(|f| f.rel == rel).map(|f| &f.tuple);
            let delta = Delta::between(&old, inserted, changes.removed.get(&rel).into_iter().flatten());
            // Unchanged after all (a fact inserted twice): share the old
            // rows, so that what was derived from them is reused.
            rebuilt.push((rel, delta.map_or(old.clone(), |delta| Arc::new(delta.apply(&old)))));
        }
        if changes.domain_changed {
            rebuilt.push((
                builtins::ADOM,
                Arc::new(Table::from_sorted(1, program.domain.iter().map(std::slice::from_ref))),
            ));
        }
        let mut base = self.base.clone();
        for (rel, rows) in rebuilt {
            if base.len() <= rel.0 as usize {
                base.resize(rel.0 as usize + 1, Arc::default());
            }
            if let Some(slot) = base.get_mut(rel.0 as usize) {
                *slot = rows;
            }
        }
        let cache = self.indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let shared = |rel: RelId| matches!((self.base.get(rel.0 as usize), base.get(rel.0 as usize)), (Some(a), Some(b)) if Arc::ptr_eq(a, b));
        let kept = cache.iter().filter(|(k, _)| shared(k.rel)).map(|(k, v)| (k.clone(), v.clone())).collect();
        // A touched relation's origins go even when its rows are the same: a
        // fact removed and stated again comes from its new statement.
        let origins = self.origins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let origins = origins
            .iter()
            .filter(|(rel, _)| shared(**rel) && !touched.contains(*rel))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        Prepared { base, indexes: Mutex::new(kept), origins: Mutex::new(origins) }
    }

    /// The bytes of the indexes built so far over the base relations, and
    /// of the facts' origins gathered for explanations (estimated from the
    /// tuples' sizes).
    pub fn index_bytes(&self) -> usize {
        let cache = self.indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let indexes: usize = cache.values().map(|index| index.heap_bytes()).sum();
        let origins = self.origins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let origins: usize =
            origins.values().map(|o| o.origins.capacity() * std::mem::size_of::<Option<OriginId>>()).sum();
        indexes + origins
    }

    /// Where each base fact of `rel` comes from (`program` is the snapshot's
    /// program), gathered on first use and kept while the relation is.
    pub fn origins(&self, program: &Program, rel: RelId) -> Arc<Origins> {
        let Some(rows) = self.base.get(rel.0 as usize).filter(|rows| !rows.is_empty()) else {
            return Arc::default();
        };
        // Held for look-ups only, like the indexes' cache.
        let cache = || self.origins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = cache().get(&rel).cloned();
        if let Some(origins) = cached {
            return origins;
        }
        // Facts in program order: the first to state a row is its origin.
        let mut origins: Vec<Option<OriginId>> = vec![None; rows.len()];
        for fact in program.facts.iter().filter(|f| f.rel == rel) {
            if let Ok(at) = rows.binary_search(&fact.tuple)
                && let Some(slot @ None) = origins.get_mut(at)
            {
                *slot = Some(fact.origin);
            }
        }
        let origins = Arc::new(Origins { rows: rows.clone(), origins });
        cache().entry(rel).or_insert(origins).clone()
    }

    /// The base facts of one relation, shared.
    pub fn base_rows(&self, rel: RelId) -> Option<Rows> {
        self.base.get(rel.0 as usize).cloned()
    }

    /// The snapshot's own base relations (shared by every evaluation).
    pub fn shared(&self) -> &[Rows] {
        &self.base
    }

    /// The base relations for one request: shared where the request changes
    /// nothing, rebuilt where it adds or removes facts or constants.
    pub fn relations(&self, program: &Program, additions: &Additions) -> Vec<Rows> {
        self.request(program, additions).rows
    }

    /// [`Prepared::relations`], with how each rebuilt relation differs from
    /// the snapshot's (so that a join reads the snapshot's index with the
    /// difference laid over it, instead of indexing the whole relation again).
    pub fn request(&self, program: &Program, additions: &Additions) -> RequestBase {
        let count = additions.facts.iter().map(|f| f.rel.0 as usize + 1).max().unwrap_or(0).max(self.base.len());
        let mut relations: Vec<Rows> = self.base.clone();
        relations.resize(count, Arc::default());
        let mut changed = Vec::new();
        let mut touched: BTreeSet<RelId> = additions.facts.iter().map(|f| f.rel).collect();
        touched.extend(additions.removed.iter().map(|(rel, _)| *rel));
        for rel in touched {
            let Some(slot) = relations.get_mut(rel.0 as usize) else { continue };
            let added = additions.facts.iter().filter(|f| f.rel == rel).map(|f| &f.tuple);
            let removed = additions.removed.range((rel, Vec::new())..).take_while(|(r, _)| *r == rel);
            let Some(delta) = Delta::between(slot, added, removed.map(|(_, row)| row)) else { continue };
            let rows = Arc::new(delta.apply(slot));
            changed.push((rel, rows.clone(), delta));
            *slot = rows;
        }
        // New constants (the query's, a test's local facts') join `$adom`.
        let adom = self.base.get(builtins::ADOM.0 as usize).cloned().unwrap_or_default();
        let mut new: BTreeSet<Value> = additions.domain.iter().copied().collect();
        for fact in &additions.facts {
            let columns = program.relation(fact.rel).map_or(0, |r| r.domain_columns);
            new.extend(fact.tuple.iter().take(columns).copied());
        }
        new.remove(&Value::Sym(builtins::STAR));
        new.retain(|v| !adom.contains(std::slice::from_ref(v)));
        if !new.is_empty() {
            let delta = Delta { added: new.into_iter().map(|v| vec![v]).collect(), removed: Vec::new() };
            let rows = Arc::new(delta.apply(&adom));
            if let Some(slot) = relations.get_mut(builtins::ADOM.0 as usize) {
                *slot = rows.clone();
                changed.push((builtins::ADOM, rows, delta));
            }
        }
        RequestBase { rows: relations, changed }
    }

    /// An index over `rows` (a relation of `rel`) for an atom with `args`:
    /// tuples matching its constants and repeated variables, grouped by the
    /// `key` columns, holding the `values` columns. Cached when `rows` is the
    /// snapshot's own base relation; when `rows` is that relation as
    /// `request` changed it, the cached index with the change laid over it.
    pub fn index(
        &self,
        rel: RelId,
        rows: &Rows,
        request: &RequestBase,
        (args, key, values): (&[Term], &[usize], &[usize]),
    ) -> Lookup {
        let base = self.base.get(rel.0 as usize);
        if base.is_some_and(|base| Arc::ptr_eq(base, rows)) {
            return Lookup { base: self.cached(rel, rows, args, key, values), delta: None };
        }
        let changed = request.changed.iter().find(|(r, changed, _)| *r == rel && Arc::ptr_eq(changed, rows));
        match (changed, base) {
            (Some((_, _, delta)), Some(base)) => Lookup {
                base: self.cached(rel, base, args, key, values),
                delta: Some(Box::new(IndexDelta {
                    added: Index::build(delta.added.iter().map(Vec::as_slice), args, key, values),
                    removed: Index::build(delta.removed.iter().map(Vec::as_slice), args, key, values),
                })),
            },
            _ => Lookup { base: Arc::new(Index::build(rows.iter(), args, key, values)), delta: None },
        }
    }

    /// The cached index over the snapshot's own `rows` of `rel`.
    fn cached(&self, rel: RelId, rows: &Rows, args: &[Term], key: &[usize], values: &[usize]) -> Arc<Index> {
        let filter = args
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                Term::Var(v) => {
                    let first = args.iter().position(|u| u == &Term::Var(*v)).unwrap_or(i);
                    Term::Var(crate::lower::ir::VarId(first as u32))
                }
                other => other.clone(),
            })
            .collect();
        let cache_key = IndexKey { rel, filter, key: key.to_vec(), values: values.to_vec() };
        // Held for look-ups only: a build (of a large relation, maybe) runs
        // unlocked, and two evaluations may both build the same index (one
        // copy is kept; the other lives as long as its evaluation, which
        // `max_bytes` does not count).
        let cache = || self.indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = cache().get(&cache_key).cloned();
        match cached {
            Some(index) => index,
            None => {
                let index = Arc::new(Index::build(rows.iter(), args, key, values));
                cache().entry(cache_key).or_insert(index).clone()
            }
        }
    }
}

/// A request's base relations ([`Prepared::request`]).
#[derive(Debug, Default)]
pub struct RequestBase {
    /// Every base relation's rows, by `RelId`.
    pub rows: Vec<Rows>,
    /// The relations the request changed: their rows and the change.
    changed: Vec<(RelId, Rows, Delta)>,
}

/// How a request changes one base relation: tuples it adds (the snapshot
/// lacks them) and removes (the snapshot has them), each sorted.
#[derive(Debug, Default)]
struct Delta {
    added: Vec<Row>,
    removed: Vec<Row>,
}

impl Delta {
    /// How inserting `added` and taking away `removed` changes the sorted
    /// `rows`: an added tuple wins over its removal, and adding a tuple
    /// `rows` has or removing one it lacks changes nothing. `None`: no change.
    fn between<'r>(
        rows: &Table,
        added: impl Iterator<Item = &'r Row>,
        removed: impl Iterator<Item = &'r Row>,
    ) -> Option<Delta> {
        let mut added: Vec<Row> = added.cloned().collect();
        added.sort();
        added.dedup();
        let mut removed: Vec<Row> =
            removed.filter(|row| rows.contains(row) && added.binary_search(row).is_err()).cloned().collect();
        removed.sort();
        removed.dedup();
        added.retain(|row| !rows.contains(row));
        (!added.is_empty() || !removed.is_empty()).then_some(Delta { added, removed })
    }

    /// The snapshot's sorted `rows` with this change: one merge.
    fn apply(&self, rows: &Table) -> Table {
        let width = if rows.is_empty() { self.added.first().map_or(rows.width(), Vec::len) } else { rows.width() };
        let mut out = Builder::with_capacity(width, rows.len() + self.added.len());
        let mut added = self.added.iter().peekable();
        let mut removed = self.removed.iter().peekable();
        for row in rows {
            while let Some(new) = added.next_if(|new| new.as_slice() < row) {
                out.push(new);
            }
            // Removed rows are sorted and among `rows`: a merge, not a search.
            if removed.next_if(|gone| gone.as_slice() == row).is_none() {
                out.push(row);
            }
        }
        for new in added {
            out.push(new);
        }
        out.finish_sorted()
    }
}

/// What a join reads from a complete relation: an index, and a request's
/// change to it laid over it (removed tuples skipped, added ones after).
pub struct Lookup {
    base: Arc<Index>,
    delta: Option<Box<IndexDelta>>,
}

/// The tuples a request adds and removes, indexed as the base index is.
struct IndexDelta {
    added: Index,
    removed: Index,
}

impl Lookup {
    /// Calls `each` with the values of every tuple under `key`.
    pub fn each(&self, key: &[Value], mut each: impl FnMut(&[Value])) {
        let base = self.base.get(key);
        let Some(delta) = &self.delta else {
            base.for_each(each);
            return;
        };
        // The removed tuples are among the base's: skip one occurrence each
        // (two tuples may agree on the indexed columns).
        let mut gone: Vec<&[Value]> = delta.removed.get(key).collect();
        for values in base {
            match gone.iter().position(|g| *g == values) {
                Some(at) => {
                    gone.swap_remove(at);
                }
                None => each(values),
            }
        }
        delta.added.get(key).for_each(each);
    }

    /// Whether some tuple has `key`.
    pub fn contains(&self, key: &[Value]) -> bool {
        let base = self.base.count(key);
        match &self.delta {
            None => base > 0,
            Some(delta) => base > delta.removed.count(key) || delta.added.contains_key(key),
        }
    }
}

/// The program's facts per relation (and `$adom`, the program's domain),
/// sorted and deduplicated.
fn grouped(program: &Program) -> Vec<Table> {
    let mut relations: Vec<Builder> = program.relations.iter().map(|r| Builder::new(r.arity)).collect();
    for fact in &program.facts {
        if let Some(rows) = relations.get_mut(fact.rel.0 as usize) {
            rows.push(&fact.tuple);
        }
    }
    if let Some(rows) = relations.get_mut(builtins::ADOM.0 as usize) {
        *rows = Builder::new(1);
        for value in &program.domain {
            rows.push(std::slice::from_ref(value));
        }
    }
    relations.into_iter().map(Builder::finish).collect()
}

/// Whether a tuple agrees with an atom's constants and repeated variables.
pub fn consistent(args: &[Term], row: &[Value]) -> bool {
    args.iter().enumerate().all(|(i, term)| match term {
        Term::Const(c) => row.get(i) == Some(c),
        Term::Var(v) => {
            let first = args.iter().position(|t| t == &Term::Var(*v));
            first.is_none_or(|f| row.get(f) == row.get(i))
        }
        Term::Now | Term::Ctx(_) => false,
    })
}

/// The values at `positions`.
pub fn pick(row: &[Value], positions: &[usize]) -> Row {
    positions.iter().filter_map(|p| row.get(*p).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::ir::{Fact, OriginId, Program, Relation, RelationKind, VarId};
    use proptest::prelude::*;

    /// A program with one ternary relation holding `rows`.
    fn program(rows: &[Row]) -> Program {
        let relation = Relation {
            name: "r".into(),
            arity: 3,
            kind: RelationKind::Internal,
            domain_columns: 0,
            first_use: None,
            columns: None,
            declared: false,
        };
        let mut program = Program { relations: vec![relation], ..Program::default() };
        program.relations.resize(builtins::ADOM.0 as usize + 1, program.relations[0].clone());
        program.facts = rows.iter().map(|r| Fact { rel: RelId(0), tuple: r.clone(), origin: OriginId(0) }).collect();
        program
    }

    fn row() -> impl Strategy<Value = Row> {
        prop::collection::vec((0..3i64).prop_map(Value::Int), 3)
    }

    fn term() -> impl Strategy<Value = Term> {
        prop_oneof![(0..3u32).prop_map(|v| Term::Var(VarId(v))), (0..3i64).prop_map(|c| Term::Const(Value::Int(c)))]
    }

    /// The origins an explanation gathers are kept with the snapshot and
    /// counted with its indexes.
    #[test]
    fn origins_are_cached_and_counted() {
        let rows: Vec<Row> = (0..50).map(|i| vec![Value::Int(i), Value::Int(0), Value::Int(1)]).collect();
        let program = program(&rows);
        let prepared = Prepared::new(&program);
        let before = prepared.index_bytes();
        let origins = prepared.origins(&program, RelId(0));
        assert_eq!(origins.len(), 50);
        assert!(Arc::ptr_eq(&origins, &prepared.origins(&program, RelId(0))), "gathered once");
        assert!(prepared.index_bytes() >= before + 50 * std::mem::size_of::<OriginId>());
        assert_eq!(origins.get(&rows[7]), Some(OriginId(0)));
        assert_eq!(origins.get(&[Value::Int(99), Value::Int(0), Value::Int(1)]), None);
    }

    proptest! {
        /// A snapshot's index with a request's change laid over it answers
        /// exactly what an index over the changed relation answers (each
        /// tuple as often), whatever the atom's constants, repeated
        /// variables and key.
        #[test]
        fn a_changed_relation_reads_as_if_indexed_anew(
            rows in prop::collection::vec(row(), 0..12),
            added in prop::collection::vec(row(), 0..4),
            removed in prop::collection::vec(row(), 0..4),
            args in prop::collection::vec(term(), 3),
            key_width in 0..3usize,
        ) {
            let program = program(&rows);
            let prepared = Prepared::new(&program);
            let additions = Additions {
                facts: added.iter().map(|r| Fact { rel: RelId(0), tuple: r.clone(), origin: OriginId(0) }).collect(),
                domain: Vec::new(),
                removed: removed.iter().map(|r| (RelId(0), r.clone())).collect(),
            };
            let request = prepared.request(&program, &additions);
            let changed = request.rows[0].clone();
            // The variables' first positions: the key, then the values.
            let mut firsts: Vec<usize> = Vec::new();
            for (i, t) in args.iter().enumerate() {
                if let Term::Var(v) = t && args.iter().position(|u| u == &Term::Var(*v)) == Some(i) {
                    firsts.push(i);
                }
            }
            let (key, values) = firsts.split_at(key_width.min(firsts.len()));
            let layered = prepared.index(RelId(0), &changed, &request, (&args, key, values));
            let fresh = Index::build(changed.iter(), &args, key, values);
            for k in fresh.keys().chain(layered.base.keys()) {
                let mut got = Vec::new();
                layered.each(k, |v| got.push(v.to_vec()));
                let mut expected: Vec<Row> = fresh.get(k).map(<[Value]>::to_vec).collect();
                got.sort();
                expected.sort();
                prop_assert_eq!(&got, &expected, "key {:?}", k);
                prop_assert_eq!(layered.contains(k), fresh.contains_key(k));
            }
            // The changed rows are the old ones, without the removed, with the added.
            let mut expected: Vec<Row> = rows.iter().filter(|r| !removed.contains(r)).cloned().collect();
            expected.extend(added.iter().cloned());
            expected.sort();
            expected.dedup();
            prop_assert_eq!(changed.iter().map(<[Value]>::to_vec).collect::<Vec<_>>(), expected);
        }
    }
}

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

use super::{Additions, Row};
use crate::lower::builtins;
use crate::lower::ir::{Program, RelId, Term, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The tuples of one relation, sorted and deduplicated, shared.
pub type Rows = Arc<Vec<Row>>;

/// Base facts changed by a live update, for [`Prepared::updated`].
#[derive(Debug, Default)]
pub struct BaseChanges {
    /// The facts inserted.
    pub inserted: Vec<crate::lower::ir::Fact>,
    /// The tuples removed, per relation.
    pub removed: BTreeMap<RelId, BTreeSet<Row>>,
    /// Whether the active domain changed (`$adom` is rebuilt from it).
    pub domain_changed: bool,
}

impl BaseChanges {
    /// The base relations whose tuples change.
    pub fn touched(&self) -> BTreeSet<RelId> {
        self.inserted.iter().map(|f| f.rel).chain(self.removed.keys().copied()).collect()
    }
}

/// Tuples grouped by the values of some columns: key → the other values.
pub type Index = HashMap<Row, Vec<Row>>;

/// What an index is built for: a relation, the atom's constants and repeated
/// variables (filters), the columns of the key and of the values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IndexKey {
    rel: RelId,
    filter: Vec<Term>,
    key: Vec<usize>,
    values: Vec<usize>,
}

/// A snapshot's base relations and its cache of indexes over them.
#[derive(Debug)]
pub struct Prepared {
    base: Vec<Rows>,
    indexes: Mutex<HashMap<IndexKey, Arc<Index>>>,
}

impl Prepared {
    /// Groups and sorts the program's facts; `$adom` holds the program's domain.
    pub fn new(program: &Program) -> Prepared {
        let base = grouped(program).into_iter().map(Arc::new).collect();
        Prepared { base, indexes: Mutex::new(HashMap::new()) }
    }

    /// The same snapshot after `changes`: untouched relations (and `$adom`
    /// when the domain is the same) and their indexes are shared; a touched
    /// relation is its old tuples without the removed ones, with the
    /// inserted ones (`program` holds the changed facts and domain).
    pub fn updated(&self, program: &Program, changes: &BaseChanges) -> Prepared {
        let mut rebuilt: Vec<(RelId, Rows)> = Vec::new();
        for rel in changes.touched() {
            let old = self.base.get(rel.0 as usize).cloned().unwrap_or_default();
            let removed = changes.removed.get(&rel);
            let mut rows: Vec<Row> =
                old.iter().filter(|row| removed.is_none_or(|gone| !gone.contains(row.as_slice()))).cloned().collect();
            rows.extend(changes.inserted.iter().filter(|f| f.rel == rel).map(|f| f.tuple.clone()));
            rows.sort();
            rows.dedup();
            // Unchanged after all (a fact inserted twice): share the old
            // rows, so that what was derived from them is reused.
            rebuilt.push((rel, if *old == rows { old } else { Arc::new(rows) }));
        }
        if changes.domain_changed {
            rebuilt.push((builtins::ADOM, Arc::new(program.domain.iter().map(|v| vec![*v]).collect())));
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
        Prepared { base, indexes: Mutex::new(kept) }
    }

    /// The bytes of the indexes built so far over the base relations
    /// (estimated from the tuples' sizes).
    pub fn index_bytes(&self) -> usize {
        let row = |r: &Row| std::mem::size_of::<Row>() + r.len() * std::mem::size_of::<Value>();
        let cache = self.indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .values()
            .map(|index| {
                index.iter().map(|(key, values)| row(key) + values.iter().map(row).sum::<usize>()).sum::<usize>()
            })
            .sum()
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
        let count = additions.facts.iter().map(|f| f.rel.0 as usize + 1).max().unwrap_or(0).max(self.base.len());
        let mut relations: Vec<Rows> = self.base.clone();
        relations.resize(count, Arc::default());
        let mut touched: BTreeSet<RelId> = additions.facts.iter().map(|f| f.rel).collect();
        touched.extend(additions.removed.iter().map(|(rel, _)| *rel));
        for rel in touched {
            let Some(slot) = relations.get_mut(rel.0 as usize) else { continue };
            let mut rows: Vec<Row> =
                slot.iter().filter(|row| !additions.removed.contains(&(rel, (*row).clone()))).cloned().collect();
            rows.extend(additions.facts.iter().filter(|f| f.rel == rel).map(|f| f.tuple.clone()));
            rows.sort();
            rows.dedup();
            *slot = Arc::new(rows);
        }
        // New constants (the query's, a test's local facts') join `$adom`.
        let adom = self.base.get(builtins::ADOM.0 as usize).cloned().unwrap_or_default();
        let mut new: BTreeSet<Value> = additions.domain.iter().copied().collect();
        for fact in &additions.facts {
            let columns = program.relation(fact.rel).map_or(0, |r| r.domain_columns);
            new.extend(fact.tuple.iter().take(columns).copied());
        }
        new.remove(&Value::Sym(builtins::STAR));
        new.retain(|v| adom.binary_search(&vec![*v]).is_err());
        if !new.is_empty() {
            let mut rows: Vec<Row> = adom.iter().cloned().collect();
            rows.extend(new.into_iter().map(|v| vec![v]));
            rows.sort();
            if let Some(slot) = relations.get_mut(builtins::ADOM.0 as usize) {
                *slot = Arc::new(rows);
            }
        }
        relations
    }

    /// An index over `rows` (a relation of `rel`) for an atom with `args`:
    /// tuples matching its constants and repeated variables, grouped by the
    /// `key` columns, holding the `values` columns. Cached when `rows` is the
    /// snapshot's own base relation.
    pub fn index(&self, rel: RelId, rows: &Rows, args: &[Term], key: &[usize], values: &[usize]) -> Arc<Index> {
        let shared = self.base.get(rel.0 as usize).is_some_and(|base| Arc::ptr_eq(base, rows));
        if !shared {
            return Arc::new(build(rows, args, key, values));
        }
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
        let mut cache = self.indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.entry(cache_key).or_insert_with(|| Arc::new(build(rows, args, key, values))).clone()
    }
}

/// The program's facts per relation (and `$adom`, the program's domain),
/// sorted and deduplicated.
fn grouped(program: &Program) -> Vec<Vec<Row>> {
    let mut relations: Vec<Vec<Row>> = vec![Vec::new(); program.relations.len()];
    for fact in &program.facts {
        if let Some(rows) = relations.get_mut(fact.rel.0 as usize) {
            rows.push(fact.tuple.clone());
        }
    }
    if let Some(rows) = relations.get_mut(builtins::ADOM.0 as usize) {
        rows.extend(program.domain.iter().map(|v| vec![*v]));
    }
    for rows in &mut relations {
        rows.sort();
        rows.dedup();
    }
    relations
}

fn build(rows: &[Row], args: &[Term], key: &[usize], values: &[usize]) -> Index {
    let mut index: Index = HashMap::new();
    for row in rows.iter().filter(|row| consistent(args, row)) {
        index.entry(pick(row, key)).or_default().push(pick(row, values));
    }
    index
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

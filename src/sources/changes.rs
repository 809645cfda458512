//! What a read changed: the facts each binding gave at the last committed
//! read, and the difference a new read makes to their union.

use super::SourceRead;
use crate::live::LiveFact;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, BTreeSet};

/// The facts each binding gave at the last committed read, and the
/// database's version then.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// Hashed, not sorted: a re-read binding of many rows is compared by
    /// lookups (the differences themselves are sorted).
    pub(super) per_binding: Vec<FxHashSet<LiveFact>>,
    pub(super) version: Option<u64>,
    /// Whether a read was committed (before it, every binding is read).
    pub(super) read: bool,
}

/// A read not yet applied: the facts it adds to and removes from the union
/// of every binding's facts, and the database's version it saw. Applied
/// with [`super::Sources::commit`] once the program took it.
#[derive(Debug)]
pub struct Pending {
    /// Facts no binding gave before and one gives now.
    pub inserted: BTreeSet<LiveFact>,
    /// Facts a binding gave before and none gives now.
    pub removed: BTreeSet<LiveFact>,
    /// The database's version in the read's snapshot.
    pub version: Option<u64>,
    /// The bindings read again, with their facts.
    changed: Vec<(usize, FxHashSet<LiveFact>)>,
    /// See [`SourceRead`]'s marker.
    pub(super) marker: Option<i64>,
}

impl Known {
    /// The difference `read` makes (bindings it did not read again keep
    /// their facts).
    pub(super) fn difference(&self, read: SourceRead) -> Pending {
        let changed: Vec<(usize, FxHashSet<LiveFact>)> = read
            .facts
            .into_iter()
            .enumerate()
            .filter_map(|(i, facts)| facts.map(|facts| (i, facts.into_iter().collect())))
            .collect();
        let empty = FxHashSet::default();
        let before = |i: usize| self.per_binding.get(i).unwrap_or(&empty);
        let now: BTreeMap<usize, &FxHashSet<LiveFact>> = changed.iter().map(|(i, facts)| (*i, facts)).collect();
        let bindings = self.per_binding.len().max(changed.iter().map(|(i, _)| i + 1).max().unwrap_or(0));
        let held_before = |fact: &LiveFact| (0..bindings).any(|i| before(i).contains(fact));
        let held_now =
            |fact: &LiveFact| (0..bindings).any(|i| now.get(&i).copied().unwrap_or(before(i)).contains(fact));
        let (mut inserted, mut removed) = (BTreeSet::new(), BTreeSet::new());
        for (i, facts) in &changed {
            for fact in facts.iter().filter(|fact| !before(*i).contains(*fact)) {
                if !held_before(fact) {
                    inserted.insert(fact.clone());
                }
            }
            for fact in before(*i).iter().filter(|fact| !facts.contains(*fact)) {
                if !held_now(fact) {
                    removed.insert(fact.clone());
                }
            }
        }
        Pending { inserted, removed, version: read.version, changed, marker: read.marker }
    }

    /// Takes a read as the last committed one.
    pub(super) fn commit(&mut self, pending: Pending) {
        for (i, facts) in pending.changed {
            if self.per_binding.len() <= i {
                self.per_binding.resize_with(i + 1, FxHashSet::default);
            }
            if let Some(slot) = self.per_binding.get_mut(i) {
                *slot = facts;
            }
        }
        self.version = pending.version.or(self.version);
        self.read = true;
    }

    /// Every fact of the last committed read.
    pub(super) fn union(&self) -> BTreeSet<LiveFact> {
        self.per_binding.iter().flatten().cloned().collect()
    }
}

//! What a read changed: the facts each binding gave at the last committed
//! read, and the difference a new read makes to their union.

use super::SourceRead;
use crate::live::LiveFact;
use rustc_hash::FxHashSet;

/// The facts each binding gave at the last committed read, and the
/// database's version then.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// Hashed, not sorted: a re-read binding of many rows is compared by
    /// lookups.
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
    /// Facts no binding gave before and one gives now, each once, in the
    /// order read (binding by binding, row by row: a query without `ORDER
    /// BY` has no fixed order, nor then has the source text they are shown
    /// in). Not sorted: a first read of many rows would spend longer on it
    /// than on everything else it does.
    pub inserted: Vec<LiveFact>,
    /// Facts a binding gave before and none gives now, each once, sorted.
    pub removed: Vec<LiveFact>,
    /// The database's version in the read's snapshot.
    pub version: Option<u64>,
    /// The bindings read again, with their facts.
    changed: Vec<(usize, FxHashSet<LiveFact>)>,
    /// See [`SourceRead`]'s marker.
    pub(super) marker: Option<i64>,
}

impl Known {
    /// The difference `read` makes (bindings it did not read again keep
    /// their facts). Each fact is hashed a few times and cloned once when
    /// new: a first read of many rows costs about as much as hashing them.
    pub(super) fn difference(&self, read: SourceRead) -> Pending {
        let empty = FxHashSet::default();
        let before = |i: usize| self.per_binding.get(i).unwrap_or(&empty);
        // Whether any binding gave the fact before (an empty set answers
        // without hashing it).
        let held_before = |fact: &LiveFact| self.per_binding.iter().any(|set| set.contains(fact));
        let mut changed: Vec<(usize, FxHashSet<LiveFact>)> = Vec::new();
        let mut inserted = Vec::new();
        for (i, facts) in read.facts.into_iter().enumerate() {
            let Some(facts) = facts else { continue };
            let mut now = FxHashSet::with_capacity_and_hasher(facts.len(), Default::default());
            for fact in facts {
                if now.contains(&fact) {
                    continue;
                }
                // New to the union: held by no binding before, and not
                // already inserted by a binding read earlier in this read.
                // (This binding's own facts first: on a re-read, most are there.)
                let held = before(i).contains(&fact) || held_before(&fact);
                if !held && !changed.iter().any(|(_, earlier)| earlier.contains(&fact)) {
                    inserted.push(fact.clone());
                }
                now.insert(fact);
            }
            changed.push((i, now));
        }
        // Each binding's facts after this read.
        let bindings = self.per_binding.len().max(changed.last().map_or(0, |(i, _)| i + 1));
        let after: Vec<&FxHashSet<LiveFact>> = (0..bindings)
            .map(|i| changed.iter().find(|(j, _)| *j == i).map_or_else(|| before(i), |(_, now)| now))
            .collect();
        let held_now = |fact: &LiveFact| after.iter().any(|set| set.contains(fact));
        let mut removed: Vec<LiveFact> = changed
            .iter()
            .flat_map(|(i, now)| before(*i).iter().filter(|fact| !now.contains(*fact)))
            .filter(|fact| !held_now(fact))
            .cloned()
            .collect();
        removed.sort_unstable();
        removed.dedup();
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
    pub(super) fn union(&self) -> Vec<LiveFact> {
        let mut facts: Vec<LiveFact> = self.per_binding.iter().flatten().cloned().collect();
        facts.sort_unstable();
        facts.dedup();
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(name: &str) -> LiveFact {
        LiveFact::Superuser(name.to_string())
    }

    fn read(facts: Vec<Option<Vec<&str>>>) -> SourceRead {
        let facts = facts.into_iter().map(|f| f.map(|names| names.into_iter().map(fact).collect())).collect();
        SourceRead { facts, version: None, marker: None }
    }

    fn names(facts: &[LiveFact]) -> Vec<String> {
        facts.iter().map(LiveFact::to_statement).collect()
    }

    #[test]
    fn a_fact_two_bindings_give_is_inserted_once_and_removed_once_when_both_drop_it() {
        let mut known = Known::default();
        // Binding 0 gives `a` twice and `b`; binding 1 gives `b` too.
        let first = known.difference(read(vec![Some(vec!["a", "b", "a"]), Some(vec!["b"])]));
        assert_eq!(names(&first.inserted), ["superuser a;", "superuser b;"]);
        assert!(first.removed.is_empty());
        known.commit(first);
        // Binding 0 drops `b`, which binding 1 (not read again) still gives.
        let second = known.difference(read(vec![Some(vec!["a"]), None]));
        assert!(second.inserted.is_empty() && second.removed.is_empty());
        known.commit(second);
        // Binding 1 drops it too and gives `c` (new) and `a` (binding 0's, which drops it): only `b` goes.
        let third = known.difference(read(vec![Some(vec![]), Some(vec!["c", "a"])]));
        assert_eq!(names(&third.inserted), ["superuser c;"]);
        assert_eq!(names(&third.removed), ["superuser b;"]);
        known.commit(third);
        assert_eq!(names(&known.union()), ["superuser a;", "superuser c;"]);
        // Both give `c`, then both drop it in one read: removed once.
        known.commit(known.difference(read(vec![Some(vec!["c"]), Some(vec!["c", "a"])])));
        let last = known.difference(read(vec![Some(vec![]), Some(vec![])]));
        assert_eq!(names(&last.removed), ["superuser a;", "superuser c;"]);
    }
}

//! A program's base facts, kept in shared segments: a snapshot changed by a
//! live update shares every segment it does not touch with the snapshot
//! before it, so applying one fact neither copies nor frees the others.

use super::ir::Fact;
use std::sync::Arc;

/// Below this many facts, the last segment is copied and extended rather
/// than followed by a new one (also below a sixteenth of all facts), which
/// keeps the number of segments small after any number of updates.
const SMALL_SEGMENT: usize = 4096;

/// The base facts, in the order they were added.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    segments: Vec<Arc<Vec<Fact>>>,
    len: usize,
}

impl Facts {
    /// No facts.
    pub fn new() -> Facts {
        Facts::default()
    }

    /// Every fact, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Fact> + Clone {
        self.segments.iter().flat_map(|segment| segment.iter())
    }

    /// How many facts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one fact.
    pub fn push(&mut self, fact: Fact) {
        self.extend(std::iter::once(fact));
    }

    /// Keeps the facts `keep` says to (asked once per fact, in order); a
    /// segment without a dropped fact stays shared.
    pub fn retain(&mut self, mut keep: impl FnMut(&Fact) -> bool) {
        for segment in &mut self.segments {
            let mut kept: Option<Vec<Fact>> = None;
            for (i, fact) in segment.iter().enumerate() {
                match (&mut kept, keep(fact)) {
                    (Some(kept), true) => kept.push(fact.clone()),
                    (None, false) => kept = Some(segment.get(..i).unwrap_or_default().to_vec()),
                    _ => {}
                }
            }
            if let Some(kept) = kept {
                self.len -= segment.len() - kept.len();
                *segment = Arc::new(kept);
            }
        }
        self.segments.retain(|segment| !segment.is_empty());
    }
}

impl Extend<Fact> for Facts {
    fn extend<I: IntoIterator<Item = Fact>>(&mut self, facts: I) {
        let mut facts = facts.into_iter().peekable();
        if facts.peek().is_none() {
            return;
        }
        let small = SMALL_SEGMENT.max(self.len / 16);
        let before = self.segments.last().map_or(0, |last| last.len());
        let owned = self.segments.last_mut().is_some_and(|last| Arc::get_mut(last).is_some());
        if owned {
            // Owned here alone (while lowering): extended in place.
            if let Some(last) = self.segments.last_mut().and_then(Arc::get_mut) {
                last.extend(facts);
            }
        } else if let Some(last) = self.segments.last_mut().filter(|last| last.len() < small) {
            // Shared with an earlier snapshot but small: copied and extended.
            let mut copy = Vec::with_capacity(last.len() + facts.size_hint().0);
            copy.extend(last.iter().cloned());
            copy.extend(facts);
            *last = Arc::new(copy);
        } else {
            self.segments.push(Arc::new(facts.collect()));
            self.len += self.segments.last().map_or(0, |last| last.len());
            return;
        }
        self.len += self.segments.last().map_or(0, |last| last.len()) - before;
    }
}

impl FromIterator<Fact> for Facts {
    fn from_iter<I: IntoIterator<Item = Fact>>(facts: I) -> Facts {
        let mut out = Facts::new();
        out.extend(facts);
        out
    }
}

impl<'a> IntoIterator for &'a Facts {
    type Item = &'a Fact;
    type IntoIter = Box<dyn Iterator<Item = &'a Fact> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::lower::ir::{OriginId, RelId, Value};

    fn fact(i: i64) -> Fact {
        Fact { rel: RelId(0), tuple: vec![Value::Int(i)], origin: OriginId(0) }
    }

    fn values(facts: &Facts) -> Vec<i64> {
        facts
            .iter()
            .filter_map(|f| match f.tuple.first() {
                Some(Value::Int(i)) => Some(*i),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn updates_share_what_they_do_not_touch() {
        let mut base: Facts = (0..10_000).map(fact).collect();
        assert_eq!(base.segments.len(), 1);
        let before = base.clone();
        base.push(fact(10_000));
        // The big segment is shared; the new fact went into a segment of its own.
        assert!(Arc::ptr_eq(&before.segments[0], &base.segments[0]));
        assert_eq!(base.len(), 10_001);
        let mut later = base.clone();
        later.retain(|f| f.tuple != vec![Value::Int(10_000)] && f.tuple != vec![Value::Int(3)]);
        assert_eq!(later.len(), 9_999);
        assert_eq!(values(&later), (0..10_000).filter(|i| *i != 3).collect::<Vec<_>>());
        assert_eq!(values(&base), (0..=10_000).collect::<Vec<_>>());
        // Many small updates keep few segments.
        let mut many = later.clone();
        for i in 0..2_000 {
            let mut next = many.clone();
            next.push(fact(20_000 + i));
            many = next;
        }
        assert_eq!(many.len(), 11_999);
        assert!(many.segments.len() <= 3, "{} segments", many.segments.len());
    }
}

//! A program's base facts, kept in shared segments: a snapshot changed by a
//! live update shares every segment it does not touch with the snapshot
//! before it, so applying one fact neither copies nor frees the others.

use super::ir::Fact;
use std::sync::Arc;

/// The most facts one segment holds: a live update copies at most one
/// segment per change (the last, to append to it while it is short; one a
/// removal touches), never the whole program.
const SEGMENT: usize = 4096;

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
    pub fn iter(&self) -> Iter<'_> {
        fn facts(segment: &Arc<Vec<Fact>>) -> std::slice::Iter<'_, Fact> {
            segment.iter()
        }
        self.segments.iter().flat_map(facts as fn(&Arc<Vec<Fact>>) -> std::slice::Iter<'_, Fact>)
    }

    /// The facts from the `start`-th on, in order (whole segments before
    /// it skipped, not walked).
    pub fn from_index(&self, start: usize) -> impl Iterator<Item = &Fact> + Clone {
        let mut before = 0;
        self.segments.iter().flat_map(move |segment| {
            let skip = start.saturating_sub(before);
            before += segment.len();
            segment.get(skip..).unwrap_or_default()
        })
    }

    /// How many facts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes the facts hold (their segments and tuples).
    pub fn heap_bytes(&self) -> usize {
        let tuples: usize = self.iter().map(|f| f.tuple.capacity() * std::mem::size_of::<super::ir::Value>()).sum();
        let segments: usize = self.segments.iter().map(|s| s.capacity() * std::mem::size_of::<Fact>()).sum();
        tuples + segments
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
        for fact in facts {
            if self.segments.last().is_none_or(|last| last.len() >= SEGMENT) {
                self.segments.push(Arc::default());
            }
            if let Some(last) = self.segments.last_mut() {
                // Appended in place when owned here alone (while lowering,
                // or after the first copy); a short segment shared with an
                // earlier snapshot is copied once.
                Arc::make_mut(last).push(fact);
                self.len += 1;
            }
        }
    }
}

impl FromIterator<Fact> for Facts {
    fn from_iter<I: IntoIterator<Item = Fact>>(facts: I) -> Facts {
        let mut out = Facts::new();
        out.extend(facts);
        out
    }
}

/// The facts in order ([`Facts::iter`]).
pub type Iter<'a> = std::iter::FlatMap<
    std::slice::Iter<'a, Arc<Vec<Fact>>>,
    std::slice::Iter<'a, Fact>,
    fn(&'a Arc<Vec<Fact>>) -> std::slice::Iter<'a, Fact>,
>;

impl<'a> IntoIterator for &'a Facts {
    type Item = &'a Fact;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
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
        assert_eq!(base.segments.len(), 3, "segments of at most {SEGMENT}");
        let before = base.clone();
        base.push(fact(10_000));
        // The full segments are shared; only the short last one was copied.
        assert!(Arc::ptr_eq(&before.segments[0], &base.segments[0]));
        assert!(Arc::ptr_eq(&before.segments[1], &base.segments[1]));
        assert!(!Arc::ptr_eq(&before.segments[2], &base.segments[2]));
        assert_eq!(base.len(), 10_001);
        let mut later = base.clone();
        later.retain(|f| f.tuple != vec![Value::Int(10_000)] && f.tuple != vec![Value::Int(3)]);
        assert_eq!(later.len(), 9_999);
        // A removal copies the segment it touches, not the others.
        assert!(!Arc::ptr_eq(&base.segments[0], &later.segments[0]));
        assert!(Arc::ptr_eq(&base.segments[1], &later.segments[1]));
        assert_eq!(values(&later), (0..10_000).filter(|i| *i != 3).collect::<Vec<_>>());
        assert_eq!(values(&base), (0..=10_000).collect::<Vec<_>>());
        let tail: Vec<&Fact> = later.from_index(4_090).collect();
        assert_eq!(tail.len(), 9_999 - 4_090);
        assert_eq!(tail.first().map(|f| f.tuple.clone()), Some(vec![Value::Int(4_091)]));
        // Many small updates keep few segments.
        let mut many = later.clone();
        for i in 0..2_000 {
            let mut next = many.clone();
            next.push(fact(20_000 + i));
            many = next;
        }
        assert_eq!(many.len(), 11_999);
        assert!(many.segments.len() <= 4, "{} segments", many.segments.len());
        assert_eq!(values(&many).len(), 11_999);
    }
}

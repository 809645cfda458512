//! An index of a complete relation for the general evaluator's lookups:
//! the tuples matching an atom, grouped by the values of some columns.
//!
//! Each distinct key is stored once, in one flat vector, with the span of
//! its tuples' other values in another, and found by its hash: building it
//! allocates a few vectors, not one per key or tuple, and dropping it
//! frees them.

use super::consistent;
use crate::lower::ir::{Term, Value};
use rustc_hash::FxHashMap;

/// The values of `row` at `positions` (`None` past its end).
fn columns<'a>(row: &'a [Value], positions: &'a [usize]) -> impl Iterator<Item = Option<Value>> + 'a {
    positions.iter().map(|at| row.get(*at).copied())
}

/// Tuples grouped by the values of some columns (the key), holding the
/// values of others (the returned columns).
#[derive(Debug)]
pub struct Index {
    /// The distinct keys, `key_width` values each, one per group.
    keys: Vec<Value>,
    key_width: usize,
    /// Group `g`'s tuples are `starts[g]..starts[g + 1]` in `values`.
    starts: Vec<u32>,
    /// How many values a tuple holds in `values`.
    width: usize,
    /// The tuples' values, `width` each, grouped by key, in the relation's
    /// order within a group.
    values: Vec<Value>,
    /// A key's hash → the first group with that hash.
    by_hash: FxHashMap<u64, u32>,
    /// A group → the next group whose key has the same hash (rare).
    same_hash: FxHashMap<u32, u32>,
    /// The hash of a key (a parameter so that tests can make keys collide).
    hash: fn(&[Value]) -> u64,
}

impl Index {
    /// The tuples of `rows` that agree with `args` (its constants and
    /// repeated variables), grouped by their `key` columns, holding their
    /// `returned` columns.
    pub fn build<'r>(
        rows: impl IntoIterator<Item = &'r [Value]>,
        args: &[Term],
        key: &[usize],
        returned: &[usize],
    ) -> Index {
        Index::build_hashed(rows, args, key, returned, hash)
    }

    /// [`Index::build`] with keys hashed by `hash`.
    fn build_hashed<'r>(
        rows: impl IntoIterator<Item = &'r [Value]>,
        args: &[Term],
        key: &[usize],
        returned: &[usize],
        hash: fn(&[Value]) -> u64,
    ) -> Index {
        let rows: Vec<&[Value]> = rows.into_iter().filter(|row| consistent(args, row)).collect();
        let key_of = |row| columns(row, key);
        // A stable sort: tuples keep their order within a key (and a
        // relation sorted by the key columns is sorted already).
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        let row = |at: u32| rows.get(at as usize).copied().unwrap_or_default();
        order.sort_by(|a, b| key_of(row(*a)).cmp(key_of(row(*b))));
        let mut index = Index {
            keys: Vec::new(),
            key_width: key.len(),
            starts: vec![0],
            width: returned.len(),
            values: Vec::new(),
            by_hash: FxHashMap::default(),
            same_hash: FxHashMap::default(),
            hash,
        };
        index.values.reserve(order.len() * returned.len());
        // Every position is within the tuple (an atom's argument): the
        // filler keeps the widths should one not be.
        let filled = |value: Option<Value>| value.unwrap_or(Value::Bool(false));
        for (at, position) in order.iter().enumerate() {
            let tuple = row(*position);
            index.values.extend(columns(tuple, returned).map(filled));
            let next = order.get(at + 1).map(|p| row(*p));
            if next.is_none_or(|next| !key_of(next).eq(key_of(tuple))) {
                let group = index.starts.len() as u32 - 1;
                let before = index.keys.len();
                index.keys.extend(key_of(tuple).map(filled));
                let hash = hash(index.keys.get(before..).unwrap_or_default());
                if let Some(first) = index.by_hash.get(&hash).copied() {
                    // Chained after the groups already under this hash.
                    let mut last = first;
                    while let Some(next) = index.same_hash.get(&last) {
                        last = *next;
                    }
                    index.same_hash.insert(last, group);
                } else {
                    index.by_hash.insert(hash, group);
                }
                index.starts.push(at as u32 + 1);
            }
        }
        index
    }

    /// The span of the tuples under `key` in `values`.
    fn span(&self, key: &[Value]) -> (u32, u32) {
        let key_of = |group: u32| {
            let at = group as usize * self.key_width;
            self.keys.get(at..at + self.key_width).unwrap_or_default()
        };
        let mut group = self.by_hash.get(&(self.hash)(key)).copied();
        while let Some(g) = group {
            if key_of(g) == key {
                let start = |g: usize| self.starts.get(g).copied().unwrap_or_default();
                return (start(g as usize), start(g as usize + 1));
            }
            group = self.same_hash.get(&g).copied();
        }
        (0, 0)
    }

    /// The values of each tuple under `key`, in order.
    pub fn get(&self, key: &[Value]) -> impl Iterator<Item = &[Value]> {
        let (start, end) = self.span(key);
        let width = self.width;
        (start..end).map(move |at| self.values.get(at as usize * width..(at as usize + 1) * width).unwrap_or_default())
    }

    /// How many tuples have `key`.
    pub fn count(&self, key: &[Value]) -> usize {
        let (start, end) = self.span(key);
        (end - start) as usize
    }

    /// Whether some tuple has `key`.
    pub fn contains_key(&self, key: &[Value]) -> bool {
        self.count(key) > 0
    }

    /// The distinct keys.
    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &[Value]> {
        let groups = self.starts.len() - 1;
        (0..groups).map(|g| self.keys.get(g * self.key_width..(g + 1) * self.key_width).unwrap_or_default())
    }

    /// The bytes it holds.
    pub fn heap_bytes(&self) -> usize {
        let value = std::mem::size_of::<Value>();
        let entry = std::mem::size_of::<(u64, u32)>() + 1;
        (self.keys.capacity() + self.values.capacity()) * value
            + self.starts.capacity() * std::mem::size_of::<u32>()
            + (self.by_hash.capacity() + self.same_hash.capacity()) * entry
    }
}

/// The hash of a key.
fn hash(key: &[Value]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::ir::VarId;
    use proptest::prelude::*;

    proptest! {
        /// Keys whose hashes collide (all of them, here) are told apart:
        /// every key finds its own tuples, and an absent key none.
        #[test]
        fn colliding_keys_find_their_own_tuples(
            rows in prop::collection::btree_set(prop::collection::vec((0i64..4).prop_map(Value::Int), 3), 0..30),
            key_width in 0usize..3,
            missing in prop::collection::vec((4i64..6).prop_map(Value::Int), 2),
        ) {
            let rows: Vec<Vec<Value>> = rows.into_iter().collect();
            let args: Vec<Term> = (0..3).map(|v| Term::Var(VarId(v))).collect();
            let (key, returned): (Vec<usize>, Vec<usize>) = ((0..key_width).collect(), (key_width..3).collect());
            let hashed = Index::build(rows.iter().map(Vec::as_slice), &args, &key, &returned);
            let colliding = Index::build_hashed(rows.iter().map(Vec::as_slice), &args, &key, &returned, |_| 7);
            for probe in hashed.keys().chain([&missing[..key_width]]) {
                let expected: Vec<&[Value]> = rows
                    .iter()
                    .filter(|row| row.get(..key_width) == Some(probe))
                    .filter_map(|row| row.get(key_width..))
                    .collect();
                prop_assert_eq!(hashed.get(probe).collect::<Vec<_>>(), expected.clone());
                prop_assert_eq!(colliding.get(probe).collect::<Vec<_>>(), expected.clone());
                prop_assert_eq!(colliding.contains_key(probe), !expected.is_empty());
            }
        }
    }
}

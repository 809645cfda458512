//! An index of a complete relation for the general evaluator's lookups:
//! the tuples matching an atom, grouped by the values of some columns.
//!
//! Each distinct key is stored once, with the span of its tuples' other
//! values in one flat vector: building it allocates per key, not per tuple,
//! and dropping it frees a few vectors.

use super::consistent;
use crate::lower::ir::{Term, Value};
use rustc_hash::FxHashMap;

/// The values of `row` at `positions` (`None` past its end).
fn columns<'a>(row: &'a [Value], positions: &'a [usize]) -> impl Iterator<Item = Option<Value>> + 'a {
    positions.iter().map(|at| row.get(*at).copied())
}

/// Tuples grouped by the values of some columns: key → the other values.
#[derive(Debug, Default)]
pub struct Index {
    /// Each key's span of tuples in `values`.
    groups: FxHashMap<Box<[Value]>, (u32, u32)>,
    /// How many values a tuple holds in `values`.
    width: usize,
    /// The tuples' values, `width` each, grouped by key, in the relation's
    /// order within a group.
    values: Vec<Value>,
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
        let rows: Vec<&[Value]> = rows.into_iter().filter(|row| consistent(args, row)).collect();
        let key_of = |row| columns(row, key);
        // A stable sort: tuples keep their order within a key (and a
        // relation sorted by the key columns is sorted already).
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        let row = |at: u32| rows.get(at as usize).copied().unwrap_or_default();
        order.sort_by(|a, b| key_of(row(*a)).cmp(key_of(row(*b))));
        let mut index = Index { groups: FxHashMap::default(), width: returned.len(), values: Vec::new() };
        index.values.reserve(order.len() * returned.len());
        let mut start = 0u32;
        for (at, position) in order.iter().enumerate() {
            let tuple = row(*position);
            // Every position is within the tuple (an atom's argument): the
            // filler keeps `width` values a tuple should one not be.
            index.values.extend(columns(tuple, returned).map(|value| value.unwrap_or(Value::Bool(false))));
            let next = order.get(at + 1).map(|p| row(*p));
            if next.is_none_or(|next| !key_of(next).eq(key_of(tuple))) {
                let end = at as u32 + 1;
                index.groups.insert(key_of(tuple).flatten().collect(), (start, end));
                start = end;
            }
        }
        index
    }

    /// The values of each tuple under `key`, in order.
    pub fn get(&self, key: &[Value]) -> impl Iterator<Item = &[Value]> {
        let (start, end) = self.groups.get(key).copied().unwrap_or_default();
        let width = self.width;
        (start..end).map(move |at| self.values.get(at as usize * width..(at as usize + 1) * width).unwrap_or_default())
    }

    /// How many tuples have `key`.
    pub fn count(&self, key: &[Value]) -> usize {
        self.groups.get(key).map_or(0, |(start, end)| (end - start) as usize)
    }

    /// Whether some tuple has `key`.
    pub fn contains_key(&self, key: &[Value]) -> bool {
        self.groups.contains_key(key)
    }

    /// The distinct keys.
    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &[Value]> {
        self.groups.keys().map(|key| &**key)
    }

    /// The bytes it holds (its keys and values, and the table of groups).
    pub fn heap_bytes(&self) -> usize {
        let value = std::mem::size_of::<Value>();
        let entry = std::mem::size_of::<(Box<[Value]>, (u32, u32))>() + 1;
        let keys: usize = self.groups.keys().map(|key| key.len() * value).sum();
        self.groups.capacity() * entry + keys + self.values.capacity() * value
    }
}

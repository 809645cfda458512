//! The tuples of one relation stored flat: one vector of values, `width`
//! values a tuple, sorted and deduplicated.
//!
//! A relation of a million pairs is one allocation of two million values,
//! not a million vectors: building, copying and dropping it touches no
//! allocator per tuple, and a tuple takes `16 × width` bytes instead of
//! about `48 + 16 × width` (see [`super::row_bytes`]).

use crate::lower::ir::Value;
use std::cmp::Ordering;

/// A relation's tuples, sorted and deduplicated, each `width` values long.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    width: usize,
    /// The number of tuples (a relation of width 0 holds zero or one tuple
    /// and no values).
    len: usize,
    values: Vec<Value>,
}

/// The empty table of width 0, for relations a snapshot does not hold.
pub static EMPTY: Table = Table { width: 0, len: 0, values: Vec::new() };

impl Table {
    /// The table of `rows`, which must each be `width` values long and come
    /// sorted and distinct (checked in debug builds).
    pub fn from_sorted<'r>(width: usize, rows: impl IntoIterator<Item = &'r [Value]>) -> Table {
        let mut builder = Builder::new(width);
        for row in rows {
            builder.push(row);
        }
        let table = builder.finish_sorted();
        debug_assert!(table.is_strictly_sorted(), "Table::from_sorted of unsorted rows");
        table
    }

    /// The table of `rows` of `width` values, in any order, repeats allowed
    /// (code that makes tables pushes to a [`Builder`]).
    #[cfg(test)]
    pub fn from_rows<'r>(width: usize, rows: impl IntoIterator<Item = &'r [Value]>) -> Table {
        let mut builder = Builder::new(width);
        for row in rows {
            builder.push(row);
        }
        builder.finish()
    }

    /// The table of owned rows that come sorted and distinct (a datafrog
    /// relation's); its width is the first row's.
    pub fn of_sorted_rows(rows: &[Vec<Value>]) -> Table {
        Table::from_sorted(rows.first().map_or(0, Vec::len), rows.iter().map(Vec::as_slice))
    }

    /// How many values a tuple has.
    pub fn width(&self) -> usize {
        self.width
    }

    /// How many tuples it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no tuple.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tuple at `at`, in order.
    pub fn get(&self, at: usize) -> Option<&[Value]> {
        if at >= self.len {
            return None;
        }
        self.values.get(at * self.width..(at + 1) * self.width)
    }

    /// The tuples in order.
    pub fn iter(&self) -> Tuples<'_> {
        Tuples { table: self, front: 0, back: self.len }
    }

    /// The tuples from `start` up to (not including) `end`, in order.
    pub fn between(&self, start: usize, end: usize) -> Tuples<'_> {
        Tuples { table: self, front: start.min(self.len), back: end.min(self.len).max(start.min(self.len)) }
    }

    /// Each tuple as a vector of its own (for code that keeps rows apart).
    pub fn to_rows(&self) -> Vec<Vec<Value>> {
        self.iter().map(<[Value]>::to_vec).collect()
    }

    /// Where `row` is (`Ok`), or where it would go (`Err`).
    pub fn binary_search(&self, row: &[Value]) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.get(mid).unwrap_or_default().cmp(row) {
                Ordering::Less => low = mid + 1,
                Ordering::Greater => high = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    /// The index of the first tuple for which `pred` is false (tuples for
    /// which it holds must all come first).
    pub fn partition_point(&self, mut pred: impl FnMut(&[Value]) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            if pred(self.get(mid).unwrap_or_default()) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// Whether it holds `row`.
    pub fn contains(&self, row: &[Value]) -> bool {
        self.binary_search(row).is_ok()
    }

    /// The bytes its values take.
    pub fn bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Value>()
    }

    /// Whether each tuple is less than the next (sorted, no repeats).
    fn is_strictly_sorted(&self) -> bool {
        self.iter().zip(self.iter().skip(1)).all(|(a, b)| a < b)
    }
}

/// Builds a [`Table`] one tuple at a time.
#[derive(Debug)]
pub struct Builder {
    width: usize,
    len: usize,
    values: Vec<Value>,
}

impl Builder {
    /// A builder of tuples `width` values long.
    pub fn new(width: usize) -> Builder {
        Builder { width, len: 0, values: Vec::new() }
    }

    /// A builder with room for `rows` tuples.
    pub fn with_capacity(width: usize, rows: usize) -> Builder {
        Builder { width, len: 0, values: Vec::with_capacity(width.saturating_mul(rows)) }
    }

    /// Adds a tuple. One of the wrong width is a bug of the caller: it
    /// fails debug builds, and is left out in release builds (where it
    /// would shift every later tuple).
    pub fn push(&mut self, row: &[Value]) {
        debug_assert_eq!(row.len(), self.width, "a tuple of the wrong width");
        if row.len() == self.width {
            self.values.extend_from_slice(row);
            self.len += 1;
        }
    }

    /// Adds a tuple given value by value, as [`Builder::push`] does.
    pub fn push_values(&mut self, row: impl IntoIterator<Item = Value>) {
        let before = self.values.len();
        self.values.extend(row);
        let pushed = self.values.len() - before;
        debug_assert_eq!(pushed, self.width, "a tuple of the wrong width");
        if pushed == self.width {
            self.len += 1;
        } else {
            self.values.truncate(before);
        }
    }

    /// The table of the tuples pushed, which came sorted and distinct
    /// (room reserved beyond them is given back).
    pub fn finish_sorted(self) -> Table {
        let Builder { width, len, mut values } = self;
        values.shrink_to_fit();
        Table { width, len, values }
    }

    /// The table of the tuples pushed, sorted and deduplicated: a sort of
    /// their positions, then one copy of each distinct tuple.
    pub fn finish(self) -> Table {
        let unsorted = self.finish_sorted();
        if unsorted.is_strictly_sorted() {
            return unsorted;
        }
        if unsorted.width == 0 {
            return Table { width: 0, len: unsorted.len.min(1), values: Vec::new() };
        }
        let row = |at: usize| unsorted.get(at).unwrap_or_default();
        let mut order: Vec<usize> = (0..unsorted.len).collect();
        order.sort_unstable_by(|&a, &b| row(a).cmp(row(b)));
        order.dedup_by(|a, b| row(*a) == row(*b));
        let mut sorted = Builder::with_capacity(unsorted.width, order.len());
        for at in order {
            sorted.push(row(at));
        }
        sorted.finish_sorted()
    }
}

/// The tuples of a [`Table`] in order.
#[derive(Clone, Debug)]
pub struct Tuples<'t> {
    table: &'t Table,
    front: usize,
    back: usize,
}

impl<'t> Iterator for Tuples<'t> {
    type Item = &'t [Value];

    fn next(&mut self) -> Option<&'t [Value]> {
        if self.front >= self.back {
            return None;
        }
        let row = self.table.get(self.front);
        self.front += 1;
        row
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back.saturating_sub(self.front);
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<&'t [Value]> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl DoubleEndedIterator for Tuples<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.table.get(self.back)
    }
}

impl ExactSizeIterator for Tuples<'_> {}

impl<'t> IntoIterator for &'t Table {
    type Item = &'t [Value];
    type IntoIter = Tuples<'t>;

    fn into_iter(self) -> Tuples<'t> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::intern::Sym;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            (0u32..6).prop_map(|s| Value::Sym(Sym(s))),
            (-3i64..3).prop_map(Value::Int),
            (0i64..3).prop_map(Value::Time),
            any::<bool>().prop_map(Value::Bool)
        ]
    }

    proptest! {
        /// A table holds what sorting and deduplicating the rows gives, and
        /// finds each row (and no other) by binary search.
        #[test]
        fn a_table_sorts_and_deduplicates_its_rows(width in 0usize..4, rows in prop::collection::vec(prop::collection::vec(value(), 4), 0..40)) {
            let rows: Vec<Vec<Value>> = rows.into_iter().map(|mut r| { r.truncate(width); r }).collect();
            let table = Table::from_rows(width, rows.iter().map(Vec::as_slice));
            let mut expected = rows.clone();
            expected.sort();
            expected.dedup();
            let got: Vec<Vec<Value>> = table.iter().map(<[Value]>::to_vec).collect();
            prop_assert_eq!(&got, &expected);
            prop_assert_eq!(table.len(), expected.len());
            prop_assert_eq!(table.iter().rev().map(<[Value]>::to_vec).collect::<Vec<_>>(), expected.iter().rev().cloned().collect::<Vec<_>>());
            for (at, row) in expected.iter().enumerate() {
                prop_assert_eq!(table.binary_search(row), Ok(at));
            }
            let missing = vec![Value::Dur(0); width];
            prop_assert_eq!(table.contains(&missing), width == 0 && !expected.is_empty());
            let again = Table::from_sorted(width, table.iter());
            prop_assert_eq!(&again, &table);
        }

        /// Ranges, partition points and skips read the tuples a slice of
        /// them gives.
        #[test]
        fn a_table_reads_as_a_slice_of_its_rows(
            rows in prop::collection::btree_set(prop::collection::vec(value(), 2), 0..30),
            start in 0usize..35,
            end in 0usize..35,
            skip in 0usize..35,
            pivot in prop::collection::vec(value(), 2),
        ) {
            let expected: Vec<Vec<Value>> = rows.into_iter().collect();
            let table = Table::from_sorted(2, expected.iter().map(Vec::as_slice));
            let range: Vec<Vec<Value>> = table.between(start, end).map(<[Value]>::to_vec).collect();
            let slice = expected.get(start.min(expected.len())..end.min(expected.len()).max(start.min(expected.len())));
            prop_assert_eq!(range.as_slice(), slice.unwrap_or_default());
            prop_assert_eq!(table.between(start, end).len(), range.len());
            prop_assert_eq!(table.partition_point(|r| r < pivot.as_slice()), expected.partition_point(|r| *r < pivot));
            prop_assert_eq!(table.binary_search(&pivot), expected.binary_search(&pivot));
            prop_assert_eq!(table.iter().nth(skip).map(<[Value]>::to_vec), expected.get(skip).cloned());
            let mut tail = table.iter();
            let _ = tail.nth(skip);
            prop_assert_eq!(tail.next_back().map(<[Value]>::to_vec), expected.get(skip + 1..).and_then(|t| t.last()).cloned());
        }
    }
}

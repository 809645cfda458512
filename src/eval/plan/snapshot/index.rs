//! The indexes the check plan probes: a static relation's tuples grouped
//! by some key columns, the other columns stored flat, one lookup and a
//! slice per probe.
//!
//! Keys of one or two columns that hold a symbol in every tuple (a user, a
//! page: the common case), with ids dense enough, are looked up by the first
//! symbol's id in an array, not hashed: every tuple of one subject is in one
//! contiguous block, found with one array read, and a second key column is
//! searched within that block. Other keys (sparse ids, three or four
//! columns, values of other kinds) are hashed.

use super::slots::{Found, Group, Slots};
use super::{Snapshot, SymbolBits};
use crate::eval::Table;
use crate::lower::intern::FRESH;
use crate::lower::ir::{RelId, Value};
use rustc_hash::FxHashMap;

/// The most key columns an index of the plan has.
pub const MAX_KEY: usize = 4;

/// A value packed into one integer (kind in the high half), so that keys
/// hash and compare as plain integers.
pub type Packed = u128;

/// The padding of unused key positions.
pub const PAD: Value = Value::Bool(false);

/// Packs a value: equal values, equal integers.
pub fn pack(value: Value) -> Packed {
    let (kind, payload): (u128, u64) = match value {
        Value::Sym(s) => (0, u64::from(s.0)),
        Value::Int(n) => (1, n as u64),
        Value::Time(t) => (2, t as u64),
        Value::Dur(d) => (3, d as u64),
        Value::Bool(b) => (4, u64::from(b)),
    };
    (kind << 64) | u128::from(payload)
}

/// A key of up to [`MAX_KEY`] packed values (unused positions zero).
pub type Key = [Packed; MAX_KEY];

/// Which tuples a group holds: `start..end`, counted in tuples (tuple `i`'s
/// returned values are `width` values from `i * width` in [`Index::values`]).
type Span = (u32, u32);

/// Groups by key, with a layout specialized to the key's length.
#[derive(Debug)]
enum Groups {
    Zero(Option<Span>),
    /// Keys of one symbol, ids dense enough for an array: symbol `s`'s
    /// tuples are `starts[s]..starts[s + 1]`.
    OneDense(Directory<u32>),
    /// Keys of two symbols, the first ones dense: the groups of first
    /// symbol `s` are `groups[starts[s]..starts[s + 1]]`, sorted by the
    /// second symbol.
    TwoDense(Directory<(u32, u32)>, Vec<(u32, Span)>),
    /// Keys of symbols too sparse for an array: half the bytes per key of
    /// the general maps, so fewer cache misses.
    OneSym(FxHashMap<u32, Span>),
    TwoSyms(FxHashMap<(u32, u32), Span>),
    One(FxHashMap<Packed, Span>),
    Two(FxHashMap<(Packed, Packed), Span>),
    More(FxHashMap<(Packed, Packed, Packed, Packed), Span>),
}

/// The symbol a packed value holds, if it holds one.
fn sym_of(packed: Packed) -> Option<u32> {
    (packed >> 64 == 0).then_some(packed as u32)
}

/// Tuples of a static relation grouped by some columns, with the other
/// columns stored flat: a lookup is one array read or hash probe and a
/// slice, no allocation.
#[derive(Debug)]
pub struct Index {
    groups: Groups,
    values: Vec<Value>,
    width: usize,
    /// For keys of symbols, a bit per symbol id that some key starts with:
    /// a probe that must miss (a user with no direct grant, no global
    /// role) is answered by one bit in a small, cache-resident array
    /// instead of a read of the directory or the table. `None`: no such
    /// filter.
    leading: Option<SymbolBits>,
    /// Whether some returned value is a [`FRESH`] stand-in.
    stand_ins: bool,
    /// The tuples of first symbols with few of them, at fixed places (the
    /// others in `groups`).
    slots: Option<Slots>,
}

/// What an index holds: a relation, its key columns and the columns it returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IndexSpec {
    /// The relation.
    pub rel: RelId,
    /// Key columns, in key order.
    pub key: Vec<usize>,
    /// Columns returned per matching tuple.
    pub values: Vec<usize>,
}

impl Index {
    /// Builds the index `spec` over the snapshot: tuples sorted by key, then
    /// one group per run of equal keys (no allocation per group). Keys of
    /// one or two symbols (the common case) sort as one `u64`.
    pub fn build(snapshot: &Snapshot, spec: &IndexSpec) -> Index {
        Index::build_with(snapshot, spec, true)
    }

    /// [`Index::build`], with small groups in slots only when `slots`
    /// (the tests build both layouts).
    pub(super) fn build_with(snapshot: &Snapshot, spec: &IndexSpec, allow_slots: bool) -> Index {
        let rows = snapshot.rows(spec.rel);
        let sym_at = |row: &[Value], column: &usize| match row.get(*column) {
            Some(Value::Sym(s)) => Some(s.0),
            _ => None,
        };
        let syms_only = (1..=2).contains(&spec.key.len())
            && rows.iter().all(|row| spec.key.iter().all(|column| sym_at(row, column).is_some()));
        let (mut leading, mut slots) = (None, None);
        let stand_ins;
        let (groups, values) = if syms_only {
            let one = spec.key.len() == 1;
            let key_of = |row: &[Value]| {
                spec.key.iter().fold(0u64, |key, c| (key << 32) | u64::from(sym_at(row, c).unwrap_or(0)))
            };
            let (spans, values) = grouped(rows, key_of, &spec.values);
            let first = |key: u64| if one { key as u32 } else { (key >> 32) as u32 };
            leading = leading_bits(spans.iter().map(|(key, _)| first(*key)), spans.len());
            // Every value, before slots take some of them.
            stand_ins = values.iter().any(is_stand_in);
            let (spans, values) = match allow_slots {
                true => with_slots(spans, values, one, spec.values.len(), &mut slots),
                false => (spans, values),
            };
            let groups = match (dense_prefix(spans.iter().map(|(key, _)| first(*key))), one) {
                (Some(dense), true) => Groups::OneDense(Directory::new(
                    spans.get(..dense).unwrap_or(&[]).iter().map(|(key, span)| (*key as u32, span.0)),
                    spans.get(..dense).and_then(|inside| inside.last()).map_or(0, |(_, span)| span.1),
                    spans.get(dense..).unwrap_or(&[]).iter().map(|(key, span)| (*key as u32, *span)).collect(),
                )),
                (Some(dense), false) => {
                    let (inside, outside) = spans.split_at(dense.min(spans.len()));
                    let directory = Directory::new(
                        inside.iter().enumerate().map(|(i, (key, _))| ((key >> 32) as u32, i as u32)),
                        inside.len() as u32,
                        outside.iter().map(|(key, span)| (((key >> 32) as u32, *key as u32), *span)).collect(),
                    );
                    Groups::TwoDense(directory, inside.iter().map(|(key, span)| (*key as u32, *span)).collect())
                }
                (None, true) => Groups::OneSym(spans.into_iter().map(|(k, span)| (k as u32, span)).collect()),
                (None, false) => {
                    Groups::TwoSyms(spans.into_iter().map(|(k, span)| (((k >> 32) as u32, k as u32), span)).collect())
                }
            };
            (groups, values)
        } else {
            let key_of = |row: &[Value]| {
                let mut key = [0; MAX_KEY];
                for (slot, column) in key.iter_mut().zip(&spec.key) {
                    *slot = pack(row.get(*column).copied().unwrap_or(PAD));
                }
                key
            };
            let (spans, values) = grouped(rows, key_of, &spec.values);
            let groups = match spec.key.len() {
                0 => Groups::Zero(spans.first().map(|(_, span)| *span)),
                1 => Groups::One(spans.into_iter().map(|(k, span)| (k[0], span)).collect()),
                2 => Groups::Two(spans.into_iter().map(|(k, span)| ((k[0], k[1]), span)).collect()),
                _ => Groups::More(spans.into_iter().map(|(k, span)| ((k[0], k[1], k[2], k[3]), span)).collect()),
            };
            stand_ins = values.iter().any(is_stand_in);
            (groups, values)
        };
        Index { groups, values, width: spec.values.len(), leading, stand_ins, slots }
    }

    fn span(&self, key: &Key) -> Option<Span> {
        match &self.groups {
            Groups::Zero(span) => *span,
            Groups::OneDense(directory) => {
                let first = self.leading(sym_of(key[0])?)?;
                match directory.range(first) {
                    Some((start, end)) => (start < end).then_some((start, end)),
                    None => directory.outlier(first, first),
                }
            }
            Groups::TwoDense(directory, groups) => {
                let (first, second) = (self.leading(sym_of(key[0])?)?, sym_of(key[1])?);
                let Some((start, end)) = directory.range(first) else {
                    return directory.outlier(first, (first, second));
                };
                let block = groups.get(start as usize..end as usize)?;
                if block.len() <= 8 {
                    block.iter().find(|(s, _)| *s == second).map(|(_, span)| *span)
                } else {
                    block
                        .binary_search_by_key(&second, |(s, _)| *s)
                        .ok()
                        .and_then(|i| block.get(i))
                        .map(|(_, span)| *span)
                }
            }
            Groups::OneSym(map) => map.get(&self.leading(sym_of(key[0])?)?).copied(),
            Groups::TwoSyms(map) => map.get(&(self.leading(sym_of(key[0])?)?, sym_of(key[1])?)).copied(),
            Groups::One(map) => map.get(&key[0]).copied(),
            // Tuples, not arrays: compared field by field, not with `memcmp`.
            Groups::Two(map) => map.get(&(key[0], key[1])).copied(),
            Groups::More(map) => map.get(&(key[0], key[1], key[2], key[3])).copied(),
        }
    }

    /// `first` when some key may start with it (by the `leading` bits).
    fn leading(&self, first: u32) -> Option<u32> {
        self.leading.as_ref().is_none_or(|bits| bits.contains(first)).then_some(first)
    }

    /// The tuples of `key` when its first symbol's are in a slot.
    #[inline(always)]
    fn in_slot(&self, key: &Key) -> Found<'_> {
        let Some(slots) = &self.slots else { return Found::Elsewhere };
        let Some(first) = sym_of(key[0]) else { return Found::Here(0, &[]) };
        if self.leading(first).is_none() {
            return Found::Here(0, &[]);
        }
        match slots.two() {
            false => slots.find(first, None),
            true => match sym_of(key[1]) {
                Some(second) => slots.find(first, Some(second)),
                None => Found::Here(0, &[]),
            },
        }
    }

    /// Whether some tuples are in slots (for the tests).
    #[cfg(test)]
    pub(super) fn has_slots(&self) -> bool {
        self.slots.is_some()
    }

    /// Whether some tuple has this key.
    #[inline]
    pub fn contains(&self, key: &Key) -> bool {
        match self.in_slot(key) {
            Found::Here(tuples, _) => tuples > 0,
            Found::Elsewhere => self.span(key).is_some(),
        }
    }

    /// The returned columns of every tuple with this key, `width` values each.
    #[inline]
    pub fn get(&self, key: &Key) -> &[Value] {
        if let Found::Here(_, values) = self.in_slot(key) {
            return values;
        }
        match self.span(key) {
            Some((start, end)) => {
                self.values.get(start as usize * self.width..end as usize * self.width).unwrap_or(&[])
            }
            None => &[],
        }
    }

    /// Whether some returned value is a [`FRESH`] stand-in (else no probe
    /// returns one).
    pub fn holds_stand_ins(&self) -> bool {
        self.stand_ins
    }

    /// How many values one tuple returns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The bytes it holds (its values and its hash table, estimated from
    /// their capacities).
    pub fn heap_bytes(&self) -> usize {
        fn table<K, V>(map: &FxHashMap<K, V>) -> usize {
            // One control byte per bucket besides the entry.
            map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
        }
        let groups = match &self.groups {
            Groups::Zero(_) => 0,
            Groups::OneDense(directory) => directory.heap_bytes(),
            Groups::TwoDense(directory, groups) => {
                directory.heap_bytes() + groups.capacity() * std::mem::size_of::<(u32, Span)>()
            }
            Groups::OneSym(map) => table(map),
            Groups::TwoSyms(map) => table(map),
            Groups::One(map) => table(map),
            Groups::Two(map) => table(map),
            Groups::More(map) => table(map),
        };
        let leading = self.leading.as_ref().map_or(0, SymbolBits::heap_bytes);
        let slots = self.slots.as_ref().map_or(0, Slots::heap_bytes);
        groups + leading + slots + self.values.capacity() * std::mem::size_of::<Value>()
    }
}

/// Where the groups of each first symbol begin, by the symbol's id: a
/// lookup is one read of two neighbouring integers. Stand-ins ([`FRESH`],
/// the largest ids) are kept apart, in `outliers`, by their whole key.
#[derive(Debug)]
struct Directory<K> {
    /// `starts[s]..starts[s + 1]`: the positions of first symbol `s`.
    starts: Vec<u32>,
    /// The groups whose first symbol is a stand-in.
    outliers: FxHashMap<K, Span>,
}

impl<K: std::hash::Hash + Eq> Directory<K> {
    /// The directory of `items` (first symbol, position of its first group,
    /// sorted by symbol), whose positions end at `end`.
    fn new(items: impl Iterator<Item = (u32, u32)>, end: u32, outliers: FxHashMap<K, Span>) -> Directory<K> {
        let mut starts = Vec::new();
        for (first, position) in items {
            while starts.len() <= first as usize {
                starts.push(position);
            }
        }
        starts.push(end);
        starts.shrink_to_fit();
        Directory { starts, outliers }
    }

    /// The positions of first symbol `first`; `None` past the array (look
    /// in `outliers`).
    fn range(&self, first: u32) -> Option<(u32, u32)> {
        let at = first as usize;
        Some((*self.starts.get(at)?, *self.starts.get(at + 1)?))
    }

    /// The group of a key past the array: only stand-ins have one.
    fn outlier(&self, first: u32, key: K) -> Option<Span> {
        if first < FRESH[0].0 {
            return None;
        }
        self.outliers.get(&key).copied()
    }

    fn heap_bytes(&self) -> usize {
        self.starts.capacity() * 4 + self.outliers.capacity() * (std::mem::size_of::<(K, Span)>() + 1)
    }
}

/// How many of the sorted `firsts` go into the array (the rest are
/// stand-ins), when their ids are dense enough: at most 16 array entries
/// (64 bytes) per distinct first symbol, or 2,048 in all.
fn dense_prefix(firsts: impl Iterator<Item = u32>) -> Option<usize> {
    let (mut inside, mut distinct, mut largest) = (0, 0, None);
    for first in firsts {
        if first >= FRESH[0].0 {
            continue;
        }
        if largest != Some(first) {
            distinct += 1;
        }
        (inside, largest) = (inside + 1, Some(first));
    }
    (largest.map_or(0, |id| id as usize) < 16 * distinct + 2_048).then_some(inside)
}

/// A bit per symbol id among `firsts` (the first key symbol of each of
/// `groups` groups), when the ids are small enough for the array to stay
/// small: at most 64 KiB, or a word per group.
fn leading_bits(firsts: impl Iterator<Item = u32> + Clone, groups: usize) -> Option<SymbolBits> {
    let words = firsts.clone().max().map_or(0, |id| id as usize / 64 + 1);
    if words > groups.max(8192) {
        return None;
    }
    let mut bits = SymbolBits::default();
    firsts.for_each(|first| bits.insert(first));
    Some(bits)
}

/// `rows` sorted by `key_of` (ties in row order), their `returned` columns
/// stored flat, and one span (in tuples) per run of equal keys.
fn grouped<K: Copy + Ord>(
    rows: &Table,
    key_of: impl Fn(&[Value]) -> K,
    returned: &[usize],
) -> (Vec<(K, Span)>, Vec<Value>) {
    let mut order: Vec<(K, u32)> = rows.iter().enumerate().map(|(i, row)| (key_of(row), i as u32)).collect();
    order.sort_unstable();
    let mut values = Vec::with_capacity(rows.len() * returned.len());
    let mut spans: Vec<(K, Span)> = Vec::new();
    for (position, (key, i)) in order.into_iter().enumerate() {
        let start = position as u32;
        if let Some(row) = rows.get(i as usize) {
            // Exactly `returned.len()` values per tuple, so that positions hold.
            values.extend(returned.iter().map(|c| row.get(*c).copied().unwrap_or(PAD)));
        }
        match spans.last_mut() {
            Some((last, span)) if *last == key => span.1 = start + 1,
            _ => spans.push((key, (start, start + 1))),
        }
    }
    (spans, values)
}

fn is_stand_in(value: &Value) -> bool {
    matches!(value, Value::Sym(s) if FRESH.contains(s))
}

/// Moves the small groups of ordinary symbols (not stand-ins) of `spans`
/// (keys of one or two symbols packed as by [`Index::build`]) into slots,
/// when they pay ([`Slots::choose`]); the groups left, with their values.
fn with_slots(
    spans: Vec<(u64, Span)>,
    values: Vec<Value>,
    one: bool,
    width: usize,
    slots: &mut Option<Slots>,
) -> (Vec<(u64, Span)>, Vec<Value>) {
    let first = |key: u64| if one { key as u32 } else { (key >> 32) as u32 };
    let ordinary = |key: u64| first(key) < FRESH[0].0;
    let candidates: Vec<Group> = spans
        .iter()
        .filter(|(key, _)| ordinary(*key))
        .map(|(key, span)| (first(*key), (!one).then_some(*key as u32), *span))
        .collect();
    let Some((chosen, placed)) = Slots::choose(&candidates, &values, width, !one) else { return (spans, values) };
    let mut placed = placed.into_iter();
    let keep: Vec<bool> = spans.iter().map(|(key, _)| !(ordinary(*key) && placed.next().unwrap_or(false))).collect();
    *slots = Some(chosen);
    without_placed(spans, &values, width, &keep)
}

/// The groups of `spans` whose `keep` is set, with their values (`width`
/// per tuple) copied and their spans renumbered.
fn without_placed<K>(
    spans: Vec<(K, Span)>,
    values: &[Value],
    width: usize,
    keep: &[bool],
) -> (Vec<(K, Span)>, Vec<Value>) {
    let mut kept_values = Vec::new();
    let mut kept = Vec::new();
    let mut tuples = 0u32;
    for ((key, (start, end)), keep) in spans.into_iter().zip(keep) {
        if !*keep {
            continue;
        }
        kept_values.extend_from_slice(values.get(start as usize * width..end as usize * width).unwrap_or(&[]));
        kept.push((key, (tuples, tuples + (end - start))));
        tuples += end - start;
    }
    (kept, kept_values)
}

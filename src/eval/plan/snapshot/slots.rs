//! Small groups at fixed places: the tuples of a first key symbol, when
//! there are few of them, stored in a slot found by the symbol's id alone.
//!
//! A directory lookup is two dependent memory reads (where the symbol's
//! tuples begin, then the tuples); at the large scale each is a cache miss.
//! A slot's address is computed from the id, so a probe is one read of the
//! slot (and of a byte saying how full it is, from a small array that stays
//! in cache). Symbols with more tuples than a slot holds keep the directory
//! layout ([`super::index`]); the slots are built only when most symbols
//! fit and the array stays within a few times the tuples' own size.

use crate::lower::ir::Value;

/// The byte of a symbol whose tuples are not in the slots.
const ELSEWHERE: u8 = u8::MAX;
/// The most bytes of values one slot holds (three cache lines).
const MAX_SLOT_BYTES: usize = 192;
/// The share of first symbols that must fit, in percent.
const FITTING: usize = 90;

/// The tuples of each first symbol with at most `per` of them, at
/// `per * id`: their second key symbol (two-column keys) and returned values.
#[derive(Debug)]
pub(super) struct Slots {
    /// Tuples per slot.
    per: usize,
    /// Returned values per tuple.
    width: usize,
    /// Whether keys have two columns.
    two: bool,
    /// Per first symbol id: how many tuples its slot holds, or [`ELSEWHERE`].
    lens: Vec<u8>,
    /// Two-column keys: the second symbol of each slot's tuples, sorted
    /// (ties in the relation's order); empty for one-column keys.
    seconds: Vec<u32>,
    /// `per * width` values per slot.
    values: Vec<Value>,
}

/// Where a probe's tuples are.
pub(super) enum Found<'a> {
    /// In a slot: this many tuples, with these values.
    Here(usize, &'a [Value]),
    /// Not in the slots: look in the directory.
    Elsewhere,
}

impl Slots {
    /// The slots of `groups` (per key, sorted: the first symbol, the second
    /// for two-column keys, and the tuples' values, `width` each, in
    /// `values`), when they pay: `None` when fewer than [`FITTING`] percent
    /// of the first symbols fit a slot of at most [`MAX_SLOT_BYTES`], or
    /// when the array would outgrow four times the values plus 64 KiB.
    /// Also says, per group, whether it went into a slot.
    pub(super) fn choose(
        groups: &[(u32, Option<u32>, (u32, u32))],
        values: &[Value],
        width: usize,
        two: bool,
    ) -> Option<(Slots, Vec<bool>)> {
        // Tuples per distinct first symbol, in id order.
        let mut counts: Vec<(u32, usize)> = Vec::new();
        for (first, _, (start, end)) in groups {
            let n = (end - start) as usize;
            match counts.last_mut() {
                Some((last, count)) if last == first => *count += n,
                _ => counts.push((*first, n)),
            }
        }
        let mut sizes: Vec<usize> = counts.iter().map(|(_, n)| *n).collect();
        sizes.sort_unstable();
        let per = *sizes.get((sizes.len() * FITTING).div_ceil(100).saturating_sub(1))?;
        let tuple_bytes = width * std::mem::size_of::<Value>() + 4;
        let ids = counts.last().map_or(0, |(id, _)| *id as usize + 1);
        let own_bytes = std::mem::size_of_val(values);
        if per == 0
            || per >= ELSEWHERE as usize
            || per * tuple_bytes > MAX_SLOT_BYTES
            || ids * per * tuple_bytes > 4 * own_bytes + 65_536
        {
            return None;
        }
        let mut slots = Slots {
            per,
            width,
            two,
            lens: vec![0; ids],
            seconds: if two { vec![0; ids * per] } else { Vec::new() },
            values: vec![crate::eval::plan::snapshot::PAD; ids * per * width],
        };
        let fits: rustc_hash::FxHashSet<u32> =
            counts.iter().filter(|(_, n)| *n <= per).map(|(first, _)| *first).collect();
        for (first, _) in &counts {
            if !fits.contains(first)
                && let Some(len) = slots.lens.get_mut(*first as usize)
            {
                *len = ELSEWHERE;
            }
        }
        let mut placed = Vec::with_capacity(groups.len());
        for (first, second, (start, end)) in groups {
            let fit = fits.contains(first);
            placed.push(fit);
            if fit {
                slots.place(*first as usize, *second, (*start as usize, *end as usize), values);
            }
        }
        Some((slots, placed))
    }

    /// Appends a group's tuples (`start..end` of `values`) to the slot of `first`.
    fn place(&mut self, first: usize, second: Option<u32>, (start, end): (usize, usize), values: &[Value]) {
        let Some(len) = self.lens.get_mut(first) else { return };
        let tuples = end - start;
        let at = first * self.per + *len as usize;
        *len += tuples as u8;
        if let Some(second) = second {
            self.seconds.get_mut(at..at + tuples).into_iter().flatten().for_each(|slot| *slot = second);
        }
        let width = self.width;
        if let (Some(slot), Some(values)) =
            (self.values.get_mut(at * width..(at + tuples) * width), values.get(start * width..end * width))
        {
            slot.copy_from_slice(values);
        }
    }

    /// Whether keys have two columns (the second searched in the slot).
    pub(super) fn two(&self) -> bool {
        self.two
    }

    /// The tuples of `first` (and `second`, for two-column keys).
    pub(super) fn find(&self, first: u32, second: Option<u32>) -> Found<'_> {
        let first = first as usize;
        let len = match self.lens.get(first) {
            Some(&ELSEWHERE) => return Found::Elsewhere,
            Some(len) => *len as usize,
            // Past the array: a stand-in, or a symbol with no tuple here.
            None => return Found::Elsewhere,
        };
        let at = first * self.per;
        let (start, end) = match second {
            None => (at, at + len),
            Some(second) => {
                let seconds = self.seconds.get(at..at + len).unwrap_or(&[]);
                let Some(from) = seconds.iter().position(|s| *s == second) else { return Found::Here(0, &[]) };
                let to =
                    seconds.get(from..).map_or(from, |rest| from + rest.iter().take_while(|s| **s == second).count());
                (at + from, at + to)
            }
        };
        Found::Here(end - start, self.values.get(start * self.width..end * self.width).unwrap_or(&[]))
    }

    /// The bytes it holds.
    pub(super) fn heap_bytes(&self) -> usize {
        self.lens.capacity() + self.seconds.capacity() * 4 + self.values.capacity() * std::mem::size_of::<Value>()
    }
}

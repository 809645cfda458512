//! Small groups at fixed places: the tuples of a first key symbol, when
//! there are few of them, stored in a slot found by the symbol's id alone.
//!
//! A directory lookup is two dependent memory reads (where the symbol's
//! tuples begin, then the tuples); at the large scale each is a cache miss.
//! A slot's address is computed from the id alone, so its reads (a byte
//! saying how full the slot is, from an array small enough to stay in
//! cache; for two-column keys the slot's second symbols; its values) do not
//! wait for one another. Symbols with more tuples than a slot holds keep the
//! directory layout ([`super::index`]); the slots are built only when most
//! symbols fit and the arrays stay within a few times the tuples' own size.

use crate::lower::intern::FRESH;
use crate::lower::ir::Value;

/// The byte of a symbol whose tuples are not in the slots.
const ELSEWHERE: u8 = u8::MAX;
/// The most bytes of values one slot holds (three cache lines).
const MAX_SLOT_BYTES: usize = 192;
/// The share of first symbols that must fit, in percent.
const FITTING: usize = 90;

/// A group of tuples: its first symbol, its second (two-column keys), and
/// the span of its tuples.
pub(super) type Group = (u32, Option<u32>, (u32, u32));

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
    /// In a slot (or nowhere): this many tuples, with these values.
    Here(usize, &'a [Value]),
    /// Not in the slots: look in the directory.
    Elsewhere,
}

impl Slots {
    /// The slots of `groups` (sorted by key; their tuples' values, `width`
    /// each, in `values`), when they pay: `None` when fewer than
    /// [`FITTING`] percent of the first symbols fit a slot of at most
    /// [`MAX_SLOT_BYTES`], or when the arrays would outgrow four times the
    /// values plus 64 KiB. Also says, per group, whether it went into a slot.
    pub(super) fn choose(groups: &[Group], values: &[Value], width: usize, two: bool) -> Option<(Slots, Vec<bool>)> {
        let counts = tuples_per_first(groups);
        let per = fitting_size(&counts)?;
        let ids = counts.last().map_or(0, |(id, _)| *id as usize + 1);
        let tuple_bytes = width * std::mem::size_of::<Value>() + if two { 4 } else { 0 };
        let slot_bytes = per.saturating_mul(tuple_bytes);
        let array_bytes = ids.saturating_mul(slot_bytes).saturating_add(ids);
        let own_bytes = std::mem::size_of_val(values);
        if per >= ELSEWHERE as usize
            || slot_bytes > MAX_SLOT_BYTES
            || array_bytes > own_bytes.saturating_mul(4).saturating_add(65_536)
        {
            return None;
        }
        let mut slots = Slots {
            per,
            width,
            two,
            lens: vec![0; ids],
            seconds: if two { vec![0; ids * per] } else { Vec::new() },
            values: vec![super::PAD; ids * per * width],
        };
        for (first, count) in &counts {
            if let Some(len) = slots.lens.get_mut(*first as usize).filter(|_| *count > per) {
                *len = ELSEWHERE;
            }
        }
        let placed = groups.iter().map(|(first, second, span)| slots.place(*first as usize, *second, *span, values));
        let placed = placed.collect();
        Some((slots, placed))
    }

    /// Appends a group's tuples (`start..end` of `values`) to the slot of
    /// `first`; `false` when that symbol's tuples do not go into slots.
    fn place(&mut self, first: usize, second: Option<u32>, (start, end): (u32, u32), values: &[Value]) -> bool {
        let Some(len) = self.lens.get_mut(first).filter(|len| **len != ELSEWHERE) else { return false };
        let (start, end) = (start as usize, end as usize);
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
        true
    }

    /// Whether keys have two columns (the second searched in the slot).
    pub(super) fn two(&self) -> bool {
        self.two
    }

    /// The tuples of `first` (and `second`, for two-column keys).
    #[inline(always)]
    pub(super) fn find(&self, first: u32, second: Option<u32>) -> Found<'_> {
        let len = match self.lens.get(first as usize) {
            Some(&ELSEWHERE) => return Found::Elsewhere,
            Some(len) => *len as usize,
            // Past the array: a stand-in's tuples are in the directory; an
            // ordinary symbol has none (every one with tuples is below).
            None if first >= FRESH[0].0 => return Found::Elsewhere,
            None => return Found::Here(0, &[]),
        };
        let at = first as usize * self.per;
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

/// The tuples of each distinct first symbol of `groups`, in id order.
fn tuples_per_first(groups: &[Group]) -> Vec<(u32, usize)> {
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for (first, _, (start, end)) in groups {
        let n = (end - start) as usize;
        match counts.last_mut() {
            Some((last, count)) if last == first => *count += n,
            _ => counts.push((*first, n)),
        }
    }
    counts
}

/// The smallest slot size that [`FITTING`] percent of the first symbols fit.
fn fitting_size(counts: &[(u32, usize)]) -> Option<usize> {
    let mut sizes: Vec<usize> = counts.iter().map(|(_, n)| *n).collect();
    sizes.sort_unstable();
    sizes.get((sizes.len() * FITTING).div_ceil(100).saturating_sub(1)).copied().filter(|per| *per > 0)
}

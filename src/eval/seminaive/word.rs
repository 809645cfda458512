//! Values as fixed-width words that compare as the values do, for the
//! tuples of linear strata (see `linear`).
//!
//! A word holds a value's kind (in the order of [`Value`]'s variants) above
//! its payload, integers offset so that their order is the words' unsigned
//! order. A 64-bit word keeps 61 bits of payload: every symbol, every
//! timestamp of years 0000 to 9999 (in microseconds) and integers and
//! durations within ±2^60; a 128-bit word holds any value.

use crate::eval::EvalError;
use crate::lower::intern::Sym;
use crate::lower::ir::Value;

/// A value as a word of fixed width, comparing as the values do.
pub(super) trait Word: Copy + Ord + 'static {
    /// The word that fills a tuple past its relation's arity.
    const PAD: Self;
    /// The word of `value`; `None` when it does not fit.
    fn encode(value: Value) -> Option<Self>;
    /// The value [`Word::encode`] made this word of.
    fn decode(self) -> Value;
}

/// Why a linear stratum stopped without its relations.
pub(super) enum Halt {
    /// A value does not fit the stratum's words (start again on wider ones).
    TooWide,
    /// The evaluation's own error (a limit, the deadline).
    Error(EvalError),
}

impl From<EvalError> for Halt {
    fn from(error: EvalError) -> Halt {
        Halt::Error(error)
    }
}

/// The kind of a value, in the order of [`Value`]'s variants, and its
/// payload as an integer whose order is the value's within its kind.
fn kind_and_payload(value: Value) -> (u8, i128) {
    match value {
        Value::Sym(sym) => (0, i128::from(sym.0)),
        Value::Int(i) => (1, i128::from(i)),
        Value::Time(t) => (2, i128::from(t)),
        Value::Dur(d) => (3, i128::from(d)),
        Value::Bool(b) => (4, i128::from(b)),
    }
}

/// The value of a kind and payload made by [`kind_and_payload`] (`None` for a pair it
/// cannot have made).
fn from_kind_and_payload(kind: u8, payload: i128) -> Option<Value> {
    Some(match kind {
        0 => Value::Sym(Sym(u32::try_from(payload).ok()?)),
        1 => Value::Int(i64::try_from(payload).ok()?),
        2 => Value::Time(i64::try_from(payload).ok()?),
        3 => Value::Dur(i64::try_from(payload).ok()?),
        4 => Value::Bool(payload != 0),
        _ => return None,
    })
}

/// The payload offset of 64-bit words: payloads within ±2^60 become 0 to 2^61.
const OFFSET_64: i128 = 1 << 60;
/// The bits of a 64-bit word's payload.
const PAYLOAD_64: u32 = 61;
/// The payload offset of 128-bit words: any `i64` becomes non-negative.
const OFFSET_128: i128 = 1 << 64;

impl Word for u64 {
    const PAD: u64 = 0;

    fn encode(value: Value) -> Option<u64> {
        let (kind, payload) = kind_and_payload(value);
        let shifted = u64::try_from(payload + OFFSET_64).ok().filter(|p| *p < 1 << PAYLOAD_64)?;
        Some((u64::from(kind) << PAYLOAD_64) | shifted)
    }

    fn decode(self) -> Value {
        let payload = i128::from(self & ((1 << PAYLOAD_64) - 1)) - OFFSET_64;
        // INVARIANT: every word of a value is one `encode` made; the others
        // (padding past a relation's arity) are never read as values.
        from_kind_and_payload((self >> PAYLOAD_64) as u8, payload).unwrap_or(Value::Bool(false))
    }
}

impl Word for u128 {
    const PAD: u128 = 0;

    fn encode(value: Value) -> Option<u128> {
        let (kind, payload) = kind_and_payload(value);
        Some((u128::from(kind) << 65) | (payload + OFFSET_128).cast_unsigned())
    }

    fn decode(self) -> Value {
        let payload = (self & ((1 << 65) - 1)).cast_signed() - OFFSET_128;
        // INVARIANT: as for 64-bit words.
        from_kind_and_payload((self >> 65) as u8, payload).unwrap_or(Value::Bool(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let edges = [i64::MIN, i64::MAX, -(1 << 60), (1 << 60) - 1, 1 << 60, -(1 << 60) - 1, 0, -1];
        prop_oneof![
            any::<u32>().prop_map(|s| Value::Sym(Sym(s))),
            Just(Value::Sym(Sym(u32::MAX))),
            any::<i64>().prop_map(Value::Int),
            prop::sample::select(edges.to_vec()).prop_map(Value::Int),
            (-(1i64 << 58)..(1i64 << 58)).prop_map(Value::Time),
            prop::sample::select(edges.to_vec()).prop_map(Value::Time),
            prop::sample::select(edges.to_vec()).prop_map(Value::Dur),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    proptest! {
        #[test]
        fn wide_words_hold_every_value_in_order(a in value(), b in value()) {
            prop_assert_eq!(u128::encode(a).map(Word::decode), Some(a));
            prop_assert_eq!(u128::encode(a).cmp(&u128::encode(b)), a.cmp(&b));
        }

        #[test]
        fn narrow_words_hold_what_fits_in_order(a in value(), b in value()) {
            let narrow = |i: i64| (-(1 << 60)..1 << 60).contains(&i);
            let fits = |v: Value| !matches!(v, Value::Int(i) | Value::Time(i) | Value::Dur(i) if !narrow(i));
            prop_assert_eq!(u64::encode(a).is_some(), fits(a));
            if let (Some(x), Some(y)) = (u64::encode(a), u64::encode(b)) {
                prop_assert_eq!(x.decode(), a);
                prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            }
        }
    }
}

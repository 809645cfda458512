use super::*;
use crate::lower::intern::Sym;
use proptest::prelude::*;

/// A value of any kind, stand-ins included; symbol ids up to `largest`
/// (far apart from the rows' count: counted in a hash set, not a bitset).
fn value(largest: u32) -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u32..200).prop_map(|s| Value::Sym(Sym(s))),
        (0u32..4).prop_map(move |s| Value::Sym(Sym(largest - s))),
        (0usize..3).prop_map(|i| Value::Sym(FRESH[i])),
        (-3i64..3).prop_map(Value::Int),
        (0i64..3).prop_map(Value::Time),
    ]
}

proptest! {
    /// Distinct counts and stand-in flags are those of a plain set of
    /// each column's values, whichever way the symbols are counted.
    #[test]
    fn columns_count_what_a_set_counts(
        rows in prop_oneof![Just(200u32), Just(5_000_000u32)]
            .prop_flat_map(|largest| prop::collection::vec(prop::collection::vec(value(largest), 3), 0..300))
    ) {
        let columns = Columns::of(&rows);
        for column in 0..rows.first().map_or(0, Vec::len) {
            let values: FxHashSet<Value> = rows.iter().filter_map(|row| row.get(column).copied()).collect();
            prop_assert_eq!(columns.distinct.get(column).copied(), Some(values.len()));
            let stand_in = values.iter().any(|v| matches!(v, Value::Sym(s) if FRESH.contains(s)));
            prop_assert_eq!(columns.stand_in.get(column).copied(), Some(stand_in));
        }
    }
}

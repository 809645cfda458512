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

/// A symbol: a small (dense) id, one near `largest`, or a stand-in.
fn symbol(largest: u32) -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u32..60).prop_map(|s| Value::Sym(Sym(s))),
        1 => (0u32..4).prop_map(move |s| Value::Sym(Sym(largest - s))),
        1 => (0usize..3).prop_map(|i| Value::Sym(FRESH[i])),
    ]
}

/// Rows of three symbols, or of a symbol, a symbol and any value; symbol
/// ids dense (an array directory) or sparse (a hash map).
fn index_rows() -> impl Strategy<Value = Vec<Row>> {
    prop_oneof![Just(100u32), Just(5_000_000u32)].prop_flat_map(|largest| {
        let row = (symbol(largest), symbol(largest), prop_oneof![symbol(largest), value(largest)]);
        prop::collection::vec(row.prop_map(|(a, b, c)| vec![a, b, c]), 0..200)
    })
}

proptest! {
    /// Every index layout (an array directory by the first symbol, with
    /// stand-ins aside; a hash map; keys of one or two columns; no returned
    /// column) answers a probe with exactly the matching tuples' returned
    /// values, in the order of the relation.
    #[test]
    fn an_index_returns_exactly_the_matching_tuples(rows in index_rows(), extra in symbol(5_000_000)) {
        let snapshot = Snapshot {
            relations: vec![Arc::new(rows.clone())],
            columns: Vec::new(),
            domain: Domain::default(),
            base: Vec::new(),
            fresh: false,
        };
        let specs: [(&[usize], &[usize]); 6] =
            [(&[0], &[1, 2]), (&[0], &[]), (&[0, 1], &[2]), (&[0, 1], &[]), (&[1, 0], &[2]), (&[2], &[0])];
        for (key_columns, returned) in specs {
            let spec = IndexSpec { rel: RelId(0), key: key_columns.to_vec(), values: returned.to_vec() };
            let index = Index::build(&snapshot, &spec);
            let mut probes: Vec<Vec<Value>> =
                rows.iter().map(|row| key_columns.iter().map(|c| row[*c]).collect()).collect();
            probes.push(vec![extra; key_columns.len()]);
            probes.push(vec![Value::Sym(Sym(61)); key_columns.len()]);
            for probe in probes {
                let mut key = [0; MAX_KEY];
                for (slot, value) in key.iter_mut().zip(&probe) {
                    *slot = pack(*value);
                }
                let matching: Vec<&Row> =
                    rows.iter().filter(|row| key_columns.iter().zip(&probe).all(|(c, v)| row[*c] == *v)).collect();
                let expected: Vec<Value> = matching.iter().flat_map(|row| returned.iter().map(|c| row[*c])).collect();
                prop_assert_eq!(index.get(&key), &expected[..], "key {:?} of {:?}", probe, key_columns);
                prop_assert_eq!(index.contains(&key), !matching.is_empty());
            }
        }
    }
}

use super::*;
use crate::eval::Row;
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
        let columns = Columns::of(&Table::from_rows(3, rows.iter().map(Vec::as_slice)));
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
        // Sorted and distinct, as a relation's tuples are.
        prop::collection::btree_set(row.prop_map(|(a, b, c)| vec![a, b, c]), 0..200)
            .prop_map(|rows| rows.into_iter().collect())
    })
}

proptest! {
    /// Every index layout (an array directory by the first symbol, with
    /// stand-ins aside; slots for small groups; a hash map; keys of one or
    /// two columns; no returned column) answers a probe with exactly the
    /// matching tuples' returned values, in the order of the relation.
    #[test]
    fn an_index_returns_exactly_the_matching_tuples(rows in index_rows(), extra in symbol(5_000_000)) {
        let snapshot = one_relation(rows.clone());
        let specs: [(&[usize], &[usize]); 6] =
            [(&[0], &[1, 2]), (&[0], &[]), (&[0, 1], &[2]), (&[0, 1], &[]), (&[1, 0], &[2]), (&[2], &[0])];
        for ((key_columns, returned), slots) in specs.into_iter().flat_map(|spec| [(spec, false), (spec, true)]) {
            let spec = IndexSpec { rel: RelId(0), key: key_columns.to_vec(), values: returned.to_vec() };
            let index = Index::build_with(&snapshot, &spec, slots);
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
            let stand_in = |v: &Value| matches!(v, Value::Sym(s) if FRESH.contains(s));
            let holds = rows.iter().any(|row| returned.iter().any(|c| stand_in(&row[*c])));
            prop_assert_eq!(index.holds_stand_ins(), holds);
        }
    }
}

/// The index over `rows` by `key` returning `returned` (without slots:
/// these tests are about the directory), and its answer for each probe.
fn probe_all(rows: Vec<Row>, key: &[usize], returned: &[usize], probes: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let snapshot = one_relation(rows);
    let spec = IndexSpec { rel: RelId(0), key: key.to_vec(), values: returned.to_vec() };
    let index = Index::build_with(&snapshot, &spec, false);
    assert!(!index.has_slots());
    probes
        .iter()
        .map(|probe| {
            let mut packed = [0; MAX_KEY];
            for (slot, value) in packed.iter_mut().zip(probe) {
                *slot = pack(*value);
            }
            index.get(&packed).to_vec()
        })
        .collect()
}

#[test]
fn a_long_block_is_searched_and_ids_at_the_array_edges_are_found() {
    let sym = |s: u32| Value::Sym(Sym(s));
    // One subject with 40 second keys (a binary search), each twice.
    let rows: Vec<Row> = (0..80u32).map(|i| vec![sym(7), sym(100 + i / 2), Value::Int(i64::from(i))]).collect();
    let probes: Vec<Vec<Value>> = (95..145).map(|s| vec![sym(7), sym(s)]).collect();
    let found = probe_all(rows, &[0, 1], &[2], &probes);
    for (probe, got) in probes.iter().zip(found) {
        let Value::Sym(Sym(second)) = probe[1] else { unreachable!() };
        let expected: Vec<Value> = if (100..140).contains(&second) {
            let i = i64::from((second - 100) * 2);
            vec![Value::Int(i), Value::Int(i + 1)]
        } else {
            Vec::new()
        };
        assert_eq!(got, expected, "second key {second}");
    }
    // Largest ids just inside and just past the array's limit (16 entries per
    // distinct first symbol, two here, plus 2,048), and one past the largest.
    for largest in [2_047u32, 2_079, 2_080, 2_081, 4_000_000] {
        let rows = vec![vec![sym(3), Value::Int(1)], vec![sym(largest), Value::Int(2)]];
        let probes = [vec![sym(3)], vec![sym(largest)], vec![sym(largest + 1)], vec![sym(largest - 1)], vec![sym(0)]];
        let found = probe_all(rows, &[0], &[1], &probes);
        assert_eq!(found, [vec![Value::Int(1)], vec![Value::Int(2)], vec![], vec![], vec![]], "largest {largest}");
    }
}

#[test]
fn slots_return_every_tuple_of_a_key_in_order_and_defer_the_crowded_symbols() {
    let sym = |s: u32| Value::Sym(Sym(s));
    // Subjects 0..50 with three tuples each: two under one second key, one
    // under another; subject 60 with forty (too many for a slot).
    let mut rows: Vec<Row> = Vec::new();
    for s in 0..50u32 {
        rows.push(vec![sym(s), sym(100), Value::Int(i64::from(s))]);
        rows.push(vec![sym(s), sym(101), Value::Int(-1)]);
        rows.push(vec![sym(s), sym(100), Value::Int(i64::from(s) + 1000)]);
    }
    rows.extend((0..40u32).map(|i| vec![sym(60), sym(100 + i % 2), Value::Int(i64::from(i))]));
    // A stand-in's tuples stay in the directory.
    rows.push(vec![Value::Sym(FRESH[0]), sym(100), Value::Int(9)]);
    rows.sort();
    let snapshot = one_relation(rows.clone());
    for (key, returned) in [(&[0, 1][..], &[2][..]), (&[0][..], &[2][..]), (&[0, 1][..], &[][..])] {
        let index = Index::build(&snapshot, &IndexSpec { rel: RelId(0), key: key.to_vec(), values: returned.to_vec() });
        assert!(index.has_slots(), "no slots for key {key:?}");
        let past = [vec![sym(90), sym(100)], vec![Value::Sym(FRESH[0]), sym(100)], vec![Value::Int(7), sym(100)]];
        let probes = [vec![sym(7), sym(100)], vec![sym(7), sym(101)], vec![sym(60), sym(101)], vec![sym(55), sym(100)]];
        for probe in probes.into_iter().chain(past) {
            let probe = probe.get(..key.len()).unwrap_or(&[]).to_vec();
            let matching: Vec<&Row> =
                rows.iter().filter(|row| key.iter().zip(&probe).all(|(c, v)| row[*c] == *v)).collect();
            let expected: Vec<Value> = matching.iter().flat_map(|row| returned.iter().map(|c| row[*c])).collect();
            let mut packed = [0; MAX_KEY];
            for (slot, value) in packed.iter_mut().zip(&probe) {
                *slot = pack(*value);
            }
            assert_eq!(index.get(&packed), &expected[..], "probe {probe:?} of key {key:?}");
            assert_eq!(index.contains(&packed), !matching.is_empty(), "probe {probe:?} of key {key:?}");
        }
    }
}

/// A snapshot of one relation, `rows`.
fn one_relation(rows: Vec<Row>) -> Snapshot {
    Snapshot {
        relations: vec![Arc::new(Table::from_rows(rows.first().map_or(0, Vec::len), rows.iter().map(Vec::as_slice)))],
        columns: Vec::new(),
        domain: Domain::default(),
        base: Vec::new(),
        fresh: false,
    }
}

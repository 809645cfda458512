//! Golden explanations: why and why-not over the example policy, compared
//! with `tests/golden/explain/*.txt`. `UPDATE_EXPECT=1 cargo test --test golden`
//! re-blesses them; review the diff before committing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::{Engine, RequestOptions};

const CASES: [(&str, &str, &str); 8] = [
    ("project_role_two_levels_of_containment", "allowed(alice, write, page:3)", "2026-11-23T10:00:00Z"),
    ("role_two_extends_away", "allowed(alice, read, page:1)", "2026-11-23T10:00:00Z"),
    ("nested_group_membership", "allowed(carol, write, page:5)", "2026-11-23T10:00:00Z"),
    ("expiring_assignment", "allowed(grace, delete, page:1)", "2026-11-23T10:00:00Z"),
    ("expired_assignment", "allowed(grace, delete, page:1)", "2026-11-26T10:00:00Z"),
    ("outside_business_hours", "allowed(alice, publish, page:1)", "2026-11-23T14:00:00Z"),
    ("deny_overrides_superuser", "allowed(root, write, page:6)", "2026-11-23T10:00:00Z"),
    ("missing_role_with_repairs", "allowed(bob, delete, page:1)", "2026-11-23T10:00:00Z"),
];

#[test]
fn explanations_match_the_golden_files() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut stale = Vec::new();
    for (name, query, at) in CASES {
        let options = RequestOptions { at: Some(warden::time::parse_timestamp(at).unwrap()), ..Default::default() };
        let explanation = engine.explain(query, &options).unwrap();
        let actual = format!(
            "{}\n--- json ---\n{}\n",
            explanation.to_text(),
            serde_json::to_string_pretty(&explanation).unwrap()
        );
        let path = format!("tests/golden/explain/{name}.txt");
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            stale.push(format!("{path}:\n--- expected\n{expected}\n--- actual\n{actual}"));
        }
    }
    assert!(stale.is_empty(), "golden explanations differ (UPDATE_EXPECT=1 re-blesses):\n{}", stale.join("\n"));
}

/// Explanations (read on demand) say what one read from the full model
/// says, word for word.
#[test]
fn explanations_read_on_demand_equal_the_ones_read_from_the_full_model() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    for (name, query, at) in CASES {
        let options = RequestOptions { at: Some(warden::time::parse_timestamp(at).unwrap()), ..Default::default() };
        let on_demand = engine.explain(query, &options).unwrap();
        let full = engine.explain_from_full_model(query, &options).unwrap();
        assert_eq!(on_demand.to_text(), full.to_text(), "{name}");
        assert_eq!(serde_json::to_value(&on_demand).unwrap(), serde_json::to_value(&full).unwrap(), "{name}");
    }
}

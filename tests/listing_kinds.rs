//! Listings without noise (SPEC section 9: a listing never answers a value
//! of the wrong kind). A value no positive atom binds (a superuser's
//! permission and object, a global grant's object, an `allow` rule's
//! unconstrained subject) is reported as `*`, not enumerated over every
//! constant; what a deny rule takes out of a `*` row is listed as an
//! exception.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::{Engine, RequestOptions};

fn options() -> RequestOptions {
    RequestOptions { at: Some(warden::time::parse_timestamp("2026-11-23T10:00:00Z").unwrap()), ..Default::default() }
}

#[test]
fn a_superusers_permissions_are_a_star_with_the_denied_ones_as_exceptions() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    let answer = engine.query("allowed(root, P, page:1)", &options()).unwrap();
    assert_eq!(answer.rows, vec![vec!["*".to_string()]]);
    assert!(answer.exceptions.is_empty());
    let answer = engine.query("allowed(root, P, page:6)", &options()).unwrap();
    assert_eq!(answer.rows, vec![vec!["*".to_string()]]);
    assert_eq!(answer.exceptions, vec![vec!["delete".to_string()], vec!["write".to_string()]], "page:6 is locked");
}

#[test]
fn an_allow_rule_that_binds_no_subject_lists_anyone_as_a_star() {
    let policy = "
role viewer { read; }
assign alice viewer;
approved(flatpage:1, true);
approved(flatpage:2, false);
allow U flatpage_permission.my_custom_check on O if approved(O, true);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let answer = engine.query("allowed(U, flatpage_permission.my_custom_check, flatpage:1)", &options()).unwrap();
    assert_eq!(answer.rows, vec![vec!["*".to_string()]], "not `true`, `false` or `flatpage:2` as users");
    let answer = engine.query("allowed(U, flatpage_permission.my_custom_check, flatpage:2)", &options()).unwrap();
    assert!(answer.rows.is_empty());
}

#[test]
fn the_shipped_policies_list_no_value_of_the_wrong_kind() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    let answer = engine.query("allowed(U, P, O)", &options()).unwrap();
    let roles = ["viewer", "commenter", "editor", "admin", "publisher", "auditor"];
    for row in &answer.rows {
        let (user, perm, object) = (&row[0], &row[1], &row[2]);
        assert!(!["true", "false"].contains(&user.as_str()) && !roles.contains(&user.as_str()), "{row:?}");
        assert!(!user.starts_with("page:") && !user.starts_with("project:"), "{row:?}");
        assert!(perm == "*" || !perm.contains(':'), "an object as a permission: {row:?}");
        assert!(object == "*" || object.contains(':'), "a non-object as an object: {row:?}");
    }
    assert!(answer.rows.len() < 300, "{} rows", answer.rows.len());
}

//! SPEC section 9: a listing never answers a value of the wrong kind. A
//! variable that only the active domain binds (a superuser's permissions, an
//! `allow` rule that does not bind its subject) answers values of its
//! column's kind only; what a positive atom binds is answered as derived.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::{Engine, RequestOptions};

const POLICY: &str = r#"
role editor { read; write on page; }
role viewer { read on page; }
role admin extends editor { manage on project; }
assign alice editor on project:a;
assign bob viewer;
page:1 in project:a;
page:2 in project:b;
carol in group:staff;
assign group:staff viewer on project:b;
superuser root;
review(carol, page:1, true);
review(dan, page:2, false);
url(page:2, "/about/");
allow U comment on page:2;
allow U approve on O if review(U, O, true);
deny U write on O if url(O, "/locked/");
"#;

fn listing(query: &str) -> Vec<String> {
    let engine = Engine::from_source("kinds.warden", POLICY).unwrap();
    let options = RequestOptions {
        at: Some(warden::time::parse_timestamp("2026-11-23T10:00:00Z").unwrap()),
        ..Default::default()
    };
    let answer = engine.query(query, &options).unwrap();
    assert!(answer.errors.is_empty() && answer.stopped.is_none(), "{answer:?}");
    answer.rows.iter().map(|row| row.join(", ")).collect()
}

#[test]
fn a_superusers_permissions_are_the_programs_permissions() {
    // Before: every constant, users, role names, booleans and urls included.
    assert_eq!(listing("allowed(root, P, page:1)"), ["approve", "comment", "manage", "read", "write"]);
    // The ground question is unchanged: root holds every permission.
    assert_eq!(listing("allowed(root, read, page:1)"), [""]);
}

#[test]
fn an_allow_rule_that_does_not_bind_its_subject_lists_subjects_only() {
    // No booleans, no urls, no pages, no role names as users; carol counts
    // through her group, dan through his review row.
    assert_eq!(listing("allowed(U, comment, page:2)"), ["alice", "bob", "carol", "dan", "group:staff", "root"]);
}

#[test]
fn a_superusers_objects_are_objects() {
    let objects: Vec<String> = listing("allowed(root, read, O)");
    assert_eq!(objects, ["page:1", "page:2", "project:a", "project:b"]);
}

#[test]
fn positively_bound_values_are_answered_whatever_their_kind() {
    assert_eq!(listing("review(U, O, B)"), ["carol, page:1, true", "dan, page:2, false"]);
    assert_eq!(listing("allowed(U, approve, O)").first().map(String::as_str), Some("carol, page:1"));
}

#[test]
fn a_listing_of_everything_has_no_value_of_the_wrong_kind() {
    let rows = listing("allowed(U, P, O)");
    let perms = ["approve", "comment", "manage", "read", "write"];
    for row in &rows {
        let [user, perm, object] = row.split(", ").collect::<Vec<_>>()[..] else { panic!("{row}") };
        assert!(perms.contains(&perm), "{row}");
        assert!(!user.starts_with("page:") && !["true", "false", "\"/about/\"", "editor"].contains(&user), "{row}");
        assert!(object.contains(':'), "{row}");
    }
    assert!(rows.contains(&"root, manage, project:b".to_string()));
}

#[test]
fn a_page_in_a_project_a_user_is_in_is_no_user() {
    let policy = "role viewer { read; }\nalice in project:a;\npage:1 in project:a;\nassign alice viewer on project:a;\n\
                  public(page:2);\nallow U read on O if public(O);\n";
    let engine = Engine::from_source("k.warden", policy).unwrap();
    let answer = engine.query("allowed(U, read, page:2)", &RequestOptions::default()).unwrap();
    let users: Vec<String> = answer.rows.iter().map(|row| row.join(", ")).collect();
    // project:a holds a user, so it may act as a group; page:1 is no user.
    assert_eq!(users, ["alice", "project:a"]);
}

#[test]
fn a_constant_a_condition_equates_and_a_container_of_a_scope_are_of_their_kinds() {
    let policy = "role viewer { read; }\nassign alice viewer on page:7;\npage:7 in project:apollo;\nsuperuser root;\n\
                  allow bob read on O if O == page:9;\ntag(page:9, blue);\n";
    let engine = Engine::from_source("k.warden", policy).unwrap();
    let listed = |query: &str| -> Vec<String> {
        engine.query(query, &RequestOptions::default()).unwrap().rows.iter().map(|r| r.join(", ")).collect()
    };
    assert_eq!(listed("allowed(bob, read, O)"), ["page:9"]);
    let root = listed("allowed(root, read, O)");
    assert!(root.contains(&"project:apollo".to_string()) && root.contains(&"page:9".to_string()), "{root:?}");
    assert!(!root.contains(&"alice".to_string()), "{root:?}");
}

#[test]
fn count_asserts_count_the_same_rows_as_the_listing() {
    // `assert count` counts the rows a listing answers: values of their kind.
    let tests = r#"
test "kinds" {
  at 2026-11-23T10:00:00Z;
  assert count allowed(root, P, page:1) == 5;
  assert count allowed(U, comment, page:2) == 6;
  assert count allowed(root, read, O) == 4;
}
"#;
    let engine = Engine::from_source("kinds.warden", &format!("{POLICY}{tests}")).unwrap();
    let outcomes = engine.run_tests();
    assert!(outcomes.iter().all(|o| o.failure.is_none()), "{outcomes:?}");
    assert_eq!(outcomes.len(), 1);
}

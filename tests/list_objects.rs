//! `Engine::list_objects`: the objects of a type a user may act on, each as
//! a check decides it, and `every` exactly when a fresh object is allowed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::{Engine, Request, RequestOptions};

const POLICY: &str = r#"
role viewer { read on page; }
role editor extends viewer { write on page; }
assign ann editor on project:a;
assign gus viewer;
superuser root;
page:1 in project:a;
page:2 in project:a;
page:3 in project:b;
locked(page:2);
deny U write on P if locked(P);
deny U read on P if P == page:9;
doc:1 in project:a;
"#;

fn options() -> RequestOptions {
    RequestOptions { at: Some(warden::time::parse_timestamp("2026-11-23T10:00:00Z").unwrap()), ..Default::default() }
}

#[test]
fn a_scoped_role_lists_its_pages_and_a_global_one_every_page_but_the_denied() {
    let engine = Engine::from_source("l.warden", POLICY).unwrap();
    let ann = engine.list_objects("ann", "write", "page", &options()).unwrap();
    assert!(!ann.every);
    assert_eq!(ann.objects, ["page:1"]); // page:2 is locked, doc:1 is no page
    let gus = engine.list_objects("gus", "read", "page", &options()).unwrap();
    assert!(gus.every);
    // page:9 is named by a condition only, and denied all the same.
    assert_eq!(gus.excluded, ["page:9"]);
    let root = engine.list_objects("root", "write", "page", &options()).unwrap();
    assert!(root.every && root.excluded == ["page:2"]);
    assert_eq!(engine.list_objects("nobody", "read", "page", &options()).unwrap(), Default::default());
}

#[test]
fn every_named_object_and_a_fresh_one_agree_with_checks() {
    let engine = Engine::from_source("l.warden", POLICY).unwrap();
    let at = options().at.unwrap();
    for user in ["ann", "gus", "root", "nobody"] {
        for perm in ["read", "write", "delete"] {
            let list = engine.list_objects(user, perm, "page", &options()).unwrap();
            for object in ["page:1", "page:2", "page:3", "page:9", "page:12345"] {
                let allowed = engine.is_allowed(&Request::new(user, perm, object).at_micros(at));
                let listed = if list.every {
                    !list.excluded.iter().any(|o| o == object)
                } else {
                    list.objects.iter().any(|o| o == object)
                };
                assert_eq!(listed, allowed, "{user} {perm} {object}: {list:?}");
            }
        }
    }
}

#[test]
fn a_condition_that_looks_into_names_never_makes_every_object_listed() {
    // `page:10` is named nowhere: `page:*` cannot stand for it here.
    let policy = "role viewer { read; }\nassign alice viewer;\ndeny U read on O if starts_with(O, \"page:1\");\npage:2 in project:a;\n";
    let engine = Engine::from_source("l.warden", policy).unwrap();
    let list = engine.list_objects("alice", "read", "page", &options()).unwrap();
    assert!(!list.every, "{list:?}");
    assert_eq!(list.objects, ["page:2"]);
    assert!(!engine.is_allowed(&Request::new("alice", "read", "page:10").at_micros(options().at.unwrap())));
}

#[test]
fn names_in_the_context_are_named_objects_too() {
    let policy = "role viewer { read; }\nassign alice viewer;\ndeny U read on O if O == ctx.blocked;\n";
    let engine = Engine::from_source("l.warden", policy).unwrap();
    let mut options = options();
    options.ctx.insert("blocked".into(), "page:42".into());
    let list = engine.list_objects("alice", "read", "page", &options).unwrap();
    assert!(list.every && list.excluded == ["page:42"], "{list:?}");
}

#[test]
fn a_type_is_a_name_not_query_text() {
    let engine = Engine::from_source("l.warden", POLICY).unwrap();
    assert!(engine.list_objects("gus", "read", "O) //", &options()).is_err());
}

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

/// `Engine::list_subjects`: who may act on one object, each as a check
/// decides it; groups are subjects too; no page, role or permission is listed.
#[test]
fn the_subjects_of_an_object_are_those_a_check_allows() {
    let policy = format!("{POLICY}\ncarol in group:staff;\nassign group:staff editor on page:3;\n");
    let engine = Engine::from_source("l.warden", &policy).unwrap();
    let writers = engine.list_subjects("write", "page:1", None, &options()).unwrap();
    assert!(!writers.every);
    assert_eq!(writers.subjects, ["ann", "root"]);
    let readers = engine.list_subjects("read", "page:3", None, &options()).unwrap();
    assert_eq!(readers.subjects, ["carol", "group:staff", "gus", "root"]);
    // Every listed subject is allowed, every other candidate the program names is not.
    for (perm, object) in [("write", "page:3"), ("read", "page:2"), ("write", "page:2"), ("read", "doc:1")] {
        let list = engine.list_subjects(perm, object, None, &options()).unwrap();
        for name in ["ann", "gus", "root", "carol", "group:staff", "nobody", "page:1", "editor", "project:a"] {
            let request = Request::new(name, perm, object).at("2026-11-23T10:00:00Z").unwrap();
            let allowed = engine.check(&request).allowed;
            let listed = list.subjects.iter().any(|s| s == name);
            if listed {
                assert!(allowed, "{name} listed for {perm} {object}");
            }
            if allowed && ["ann", "gus", "root", "carol", "group:staff"].contains(&name) {
                assert!(listed, "{name} not listed for {perm} {object}: {list:?}");
            }
        }
        assert!(!list.subjects.iter().any(|s| s.starts_with("page:") || s == "editor"), "{list:?}");
    }
}

#[test]
fn a_rule_that_lets_anyone_in_lists_every_subject_but_the_denied() {
    let policy = "allow U read on O if public(O);\npublic(page:1);\ninactive mallory;\nassign mallory viewer;\nrole viewer { read; }\n";
    let engine = Engine::from_source("l.warden", policy).unwrap();
    let readers = engine.list_subjects("read", "page:1", None, &options()).unwrap();
    assert!(readers.every, "{readers:?}");
    assert_eq!(readers.excluded, ["mallory"]);
}

/// `every` is answered only when exact: a subject acting on itself is no
/// probe (`*` twice is one value), a constant only a rule names is still
/// excluded, and `type(..)` of an untyped probe proves nothing of users.
#[test]
fn every_subject_is_answered_only_when_it_is_exact() {
    let own = "allow U change on O if O == U;\nrole viewer { read; }\nassign ann viewer;\n";
    let engine = Engine::from_source("l.warden", own).unwrap();
    let list = engine.list_subjects("change", "*", None, &options()).unwrap();
    assert!(!list.every && list.subjects.is_empty(), "{list:?}");

    let but_one = "allow U read on O if public(O), U != \"user:13\";\npublic(page:1);\nassign user:2 viewer;\nrole viewer { read; }\n";
    let engine = Engine::from_source("l.warden", but_one).unwrap();
    let list = engine.list_subjects("read", "page:1", Some("user"), &options()).unwrap();
    assert!(list.every && list.excluded == ["user:13"], "{list:?}");

    let typed = "allow U read on O if public(O);\ndeny U read on O if restricted(O), type(U) == user;\npublic(page:1);\nrestricted(page:1);\nassign user:2 viewer;\nrole viewer { read; }\n";
    let engine = Engine::from_source("l.warden", typed).unwrap();
    let untyped = engine.list_subjects("read", "page:1", None, &options()).unwrap();
    assert!(!untyped.every, "{untyped:?}");
    let users = engine.list_subjects("read", "page:1", Some("user"), &options()).unwrap();
    assert!(!users.every && users.subjects.is_empty(), "{users:?}");
}

/// A listing has one deadline and stops when its requester goes away (the
/// server sets the flag when the client hangs up): it says so, and lists
/// nothing rather than a partial list.
#[test]
fn a_cancelled_listing_stops_and_says_so() {
    let engine = Engine::from_source("l.warden", POLICY).unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    // `*` as the object: no probe query first, only the checks of the candidates.
    let list = warden::internals::eval::cancel::cancellable(flag.clone(), || {
        engine.list_subjects("read", "*", None, &options())
    })
    .unwrap();
    assert!(list.stopped.as_deref().is_some_and(|s| s.contains("cancelled")), "{list:?}");
    assert!(list.subjects.is_empty());
    let objects =
        warden::internals::eval::cancel::cancellable(flag, || engine.list_objects("gus", "read", "page", &options()))
            .unwrap();
    assert!(objects.stopped.is_some(), "{objects:?}");
}

/// "Every page but these" checks only the pages that can be exceptions:
/// those in facts read under `not`, or joined where a rule compares two
/// variables, or in facts those are derived from. Each shape that takes a
/// page away from a global role is listed as an exception.
#[test]
fn every_way_to_take_a_page_away_from_a_global_role_is_an_exception() {
    let policy = r#"
role viewer { read on page; }
assign gus viewer;
page:1 in project:a;
page:2 in project:a;
page:3 in project:x;
page:4 in project:a;
page:5 in project:a;
page:6 in project:a;
bad(page:2);
e0(page:1);
pair(page:4, page:4);
pinned(page:6);
ok(X) :- within(X, X), not bad(X);
deny U read on P if not ok(P);
deny U read on P if e0(Q), P == Q;
deny U read on P if within(P, project:x);
deny U read on P if pair(P, Q), P in [Q];
deny U read on P if pinned(Q), Q != page:0, P == Q;
"#;
    let engine = Engine::from_source("l.warden", policy).unwrap();
    let gus = engine.list_objects("gus", "read", "page", &options()).unwrap();
    assert!(gus.every, "{gus:?}");
    assert_eq!(gus.excluded, ["page:1", "page:2", "page:3", "page:4", "page:6"]);
    for n in 1..=7 {
        let object = format!("page:{n}");
        let allowed = engine.is_allowed(&Request::new("gus", "read", object.as_str()).at_micros(options().at.unwrap()));
        assert_eq!(allowed, !gus.excluded.contains(&object), "{object}");
    }
    // A permission that a comparison of two variables withholds, where
    // nothing is read under `not` but the built-in `denied` and `inactive`.
    let policy = "page:4 in project:a;\npage:5 in project:a;\ne9(page:5);\nallow U edit on P if e9(Q), P != Q;\n";
    let engine = Engine::from_source("edit.warden", policy).unwrap();
    let edit = engine.list_objects("anyone", "edit", "page", &options()).unwrap();
    assert!(edit.every && edit.excluded == ["page:5"], "{edit:?}");
    // One that a `not` inside a derived relation withholds.
    let policy = "page:1 in project:a;\npage:2 in project:a;\nbad(page:2);\nok(X) :- within(X, X), not bad(X);\nallow U view on P if ok(P);\n";
    let engine = Engine::from_source("view.warden", policy).unwrap();
    let view = engine.list_objects("anyone", "view", "page", &options()).unwrap();
    assert!(view.every && view.excluded == ["page:2"], "{view:?}");
}

/// The holes an "every but these" answer must not have (each once let a
/// listing show an object a check denies): the request's own names, `ctx`
/// values read as constants (a quoted string too), names computed by a
/// function, subjects only a comparison links, and names only a condition
/// mentions.
#[test]
fn the_exceptions_include_the_request_its_context_and_computed_names() {
    let at = options().at.unwrap();
    let agrees = |engine: &Engine, user: &str, perm: &str, object: &str, ctx: &[(&str, &str)]| {
        let mut options = options();
        let mut request = Request::new(user, perm, object).at_micros(at);
        for (k, v) in ctx {
            options.ctx.insert(k.to_string(), v.to_string());
            request = request.ctx(*k, *v);
        }
        let ty = object.split(':').next().unwrap();
        let list = engine.list_objects(user, perm, ty, &options).unwrap();
        let listed = if list.every {
            !list.excluded.iter().any(|o| o == object)
        } else {
            list.objects.iter().any(|o| o == object)
        };
        assert_eq!(listed, engine.is_allowed(&request), "{user} {perm} {object} {ctx:?}: {list:?}");
        let filter = engine.filter(user, perm, ty, &options).unwrap();
        assert_eq!(filter.admits(object).unwrap_or(listed), listed, "{filter:?}");
    };
    let own = Engine::from_source(
        "own.warden",
        "role admin { manage; }\nassign user:alice admin;\ndeny U manage on O if U == O;\n",
    )
    .unwrap();
    agrees(&own, "user:alice", "manage", "user:alice", &[]);
    let repeated =
        Engine::from_source("rep.warden", "role admin { manage; }\nassign user:alice admin;\ndeny U manage on U;\n")
            .unwrap();
    agrees(&repeated, "user:alice", "manage", "user:alice", &[]);
    let hidden = "role viewer { read on page; }\nassign alice viewer;\ndeny U read on O if O == ctx.hidden;\n";
    let hidden = Engine::from_source("ctx.warden", hidden).unwrap();
    agrees(&hidden, "alice", "read", "page:7", &[("hidden", "page:7")]);
    agrees(&hidden, "alice", "read", "page:7", &[("hidden", "\"page:7\"")]);
    let computed = "role viewer { read on page; }\nassign alice viewer;\ndeny U read on O if O == lower(ctx.p);\ntag(\"PAGE:7\");\ndeny U read on O if tag(T), O in [lower(T)];\n";
    let computed = Engine::from_source("computed.warden", computed).unwrap();
    agrees(&computed, "alice", "read", "page:7", &[]);
    agrees(&computed, "alice", "read", "page:8", &[("p", "\"PAGE:8\"")]);
    let named = Engine::from_source(
        "named.warden",
        "page:1 in project:a;\nallow U read on O if O == page:99;\nallow U read on page:1;\n",
    )
    .unwrap();
    agrees(&named, "alice", "read", "page:99", &[]);
    // A subject only a comparison links to the relation that names it.
    let linked =
        "page(page:1);\nblocked(user:bob);\nallow U read on O if page(O);\ndeny U read on O if blocked(B), U == B;\n";
    let linked = Engine::from_source("linked.warden", linked).unwrap();
    let who = linked.list_subjects("read", "page:1", Some("user"), &options()).unwrap();
    let bob = linked.is_allowed(&Request::new("user:bob", "read", "page:1").at_micros(at));
    assert_eq!(
        !bob,
        if who.every {
            who.excluded.contains(&"user:bob".to_string())
        } else {
            !who.subjects.contains(&"user:bob".to_string())
        },
        "{who:?}"
    );
}

/// More ways a listing once answered "every" where a check denies: a
/// `ctx` value spelling the probe's wildcard, a computed value on the left
/// of `in`, the same wildcard as subject and object, and a `type(..)` of a
/// context value.
#[test]
fn wildcards_in_the_context_and_computed_values_never_widen_a_listing() {
    let at = options().at.unwrap();
    let with_ctx = |key: &str, value: &str| {
        let mut options = options();
        options.ctx.insert(key.into(), value.into());
        options
    };
    let shared = "role viewer { read on page; }\npage:1 in project:a;\nallow U read on O if O == ctx.shared;\n";
    let shared = Engine::from_source("shared.warden", shared).unwrap();
    for value in ["page:*", "\"page:*\""] {
        let request = Request::new("bob", "read", "page:1").at_micros(at).ctx("shared", value);
        assert!(!shared.is_allowed(&request));
        let list = shared.list_objects("bob", "read", "page", &with_ctx("shared", value)).unwrap();
        assert!(!list.every && list.objects.is_empty(), "{value}: {list:?}");
    }
    let lowered = "role viewer { read on page; }\nassign alice viewer;\npage:1 in project:a;\ndeny U read on O if lower(ctx.p) in [O];\n";
    let lowered = Engine::from_source("lowered.warden", lowered).unwrap();
    let list = lowered.list_objects("alice", "read", "page", &with_ctx("p", "\"PAGE:7\"")).unwrap();
    let page7 = lowered.is_allowed(&Request::new("alice", "read", "page:7").at_micros(at).ctx("p", "\"PAGE:7\""));
    assert!(!page7 && (!list.every || list.excluded.contains(&"page:7".to_string())), "{list:?}");
    let itself = Engine::from_source("self.warden", "allow U edit on O if U == O;\nuser(user:bob);\n").unwrap();
    let list = itself.list_objects("user:*", "edit", "user", &options()).unwrap();
    assert!(!list.every, "{list:?}");
    let typed = "allow U read on O if public(O);\npublic(page:1);\ndeny U read on O if U == type(ctx.t);\n";
    let typed = Engine::from_source("typed.warden", typed).unwrap();
    let who = typed.list_subjects("read", "page:1", None, &with_ctx("t", "admin:x")).unwrap();
    let admin = typed.is_allowed(&Request::new("admin", "read", "page:1").at_micros(at).ctx("t", "admin:x"));
    assert!(!admin && (!who.every || who.excluded.contains(&"admin".to_string())), "{who:?}");
}

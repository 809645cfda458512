//! Checks that name constants the program does not know (a page created
//! after the export, a user who never logged in) are decided by the
//! compiled plan, exactly as the general evaluation decides them: such a
//! constant matches no fact, only global assignments and grants,
//! superusers, `X within X` and rules over any object.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use warden::Engine;
use warden::live::Request;

const AT: &str = "2026-11-23T10:00:00Z";

/// Asserts that the plan decides `request` (no fallback) and agrees with the
/// demand-driven evaluation; returns the decision.
fn decided_on_the_plan(engine: &Engine, request: &Request) -> bool {
    let compiled = engine
        .check_compiled(request)
        .unwrap_or_else(|| panic!("{request:?} took the general path: {:?}", engine.compile_plan().err()));
    let general = engine.check_by_demand(request);
    assert_eq!(compiled, general, "{request:?}");
    assert_eq!(engine.is_allowed(request), general.allowed, "{request:?}");
    compiled.allowed
}

fn request(user: &str, perm: &str, object: &str) -> Request {
    Request::new(user, perm, object).at(AT).unwrap()
}

#[test]
fn global_roles_grants_and_superusers_reach_an_object_nothing_mentions() {
    let engine = Engine::from_source(
        "p.warden",
        "
        role viewer { read; }
        role editor extends viewer { write on page; }
        assign lea viewer;
        assign max editor;
        grant kim share;
        superuser root;
        page:1 in project:a;
        assign bob editor on project:a;
        ",
    )
    .unwrap();
    assert!(engine.check_plan().unwrap().decides_unknown_constants());
    assert!(decided_on_the_plan(&engine, &request("lea", "read", "page:404")));
    assert!(!decided_on_the_plan(&engine, &request("lea", "write", "page:404")));
    assert!(decided_on_the_plan(&engine, &request("max", "write", "page:404")));
    // `write on page`: only objects of type page.
    assert!(!decided_on_the_plan(&engine, &request("max", "write", "doc:404")));
    assert!(decided_on_the_plan(&engine, &request("kim", "share", "doc:404")));
    assert!(decided_on_the_plan(&engine, &request("root", "fly", "anything")));
    // Scoped assignments do not reach an object outside the scope.
    assert!(!decided_on_the_plan(&engine, &request("bob", "read", "page:404")));
    // An unknown user holds nothing; twice the same unknown constant is one.
    assert!(!decided_on_the_plan(&engine, &request("nobody", "read", "page:1")));
    assert!(!decided_on_the_plan(&engine, &request("zed", "read", "zed")));
}

#[test]
fn an_unknown_constant_is_itself_and_equals_the_same_context_string() {
    let engine = Engine::from_source(
        "p.warden",
        "
        role viewer { read; }
        allow U read on O if member(U), O == ctx.target;
        allow U comment on O if member(U), within(O, O), not locked(O);
        deny U read on O if member(U), O == ctx.blocked;
        member(ann);
        locked(page:1);
        ",
    )
    .unwrap();
    let asking = |target: &str| request("ann", "read", "page:77").ctx("target", target);
    assert!(decided_on_the_plan(&engine, &asking("page:77")));
    assert!(!decided_on_the_plan(&engine, &asking("page:78")));
    assert!(!decided_on_the_plan(&engine, &asking("page:77").ctx("blocked", "page:77")));
    assert!(decided_on_the_plan(&engine, &request("ann", "comment", "page:77")));
    assert!(!decided_on_the_plan(&engine, &request("ann", "comment", "page:1")));
}

/// `not p(X)` holds alike for a stand-in and an unknown constant: a static
/// rule may negate a fact relation over what `X within X` gives.
#[test]
fn a_static_rule_may_negate_facts_over_every_constant() {
    let engine = Engine::from_source(
        "p.warden",
        "
        role viewer { read; }
        assign ann viewer;
        orphan(X) :- within(X, X), not listed(X);
        listed(page:1);
        deny U read on O if orphan(O);
        ",
    )
    .unwrap();
    assert!(!decided_on_the_plan(&engine, &request("ann", "read", "page:404")), "an unlisted page is an orphan");
    assert!(decided_on_the_plan(&engine, &request("ann", "read", "page:1")));
}

/// A static rule that inspects what `X within X` gives every constant
/// (`type(X)`), or projects it away, could tell the plan's stand-in from the
/// real constant: such a program decides unknown constants by the general
/// path, and right.
#[test]
fn a_static_rule_that_could_tell_a_stand_in_apart_keeps_the_general_path() {
    for rule in ["typed(X) :- within(X, X), type(X) == page;", "typed(X) :- listed(X), within(Y, Y), not listed(Y);"] {
        let engine = Engine::from_source(
            "p.warden",
            &format!(
                "role viewer {{ read; }}\nassign ann viewer;\nlisted(doc:1);\n{rule}\ndeny U read on O if typed(O);\n"
            ),
        )
        .unwrap();
        let plan = engine.check_plan().unwrap();
        assert!(!plan.decides_unknown_constants(), "{rule}");
        let unknown = request("ann", "read", "page:404");
        assert_eq!(engine.check_compiled(&unknown), None);
        // A page is typed, and denied; the other rule does not reach it.
        assert_eq!(engine.check(&unknown).allowed, !rule.contains("type(X)"), "{rule}");
    }
}

#[test]
fn unknown_constants_are_decided_on_the_plan_for_the_shipped_policies() {
    for dir in ["policies", "examples"] {
        let engine = Engine::from_paths(&[PathBuf::from(dir)]).unwrap_or_else(|e| panic!("{}", e.render(false)));
        assert!(engine.check_plan().is_some_and(|p| p.decides_unknown_constants()), "{dir}");
        let users = ["alice", "root", "nobody-new"];
        let objects = ["page:1", "page:987654", "project:new", "thing"];
        let mut decided = 0;
        for user in users {
            for perm in ["read", "write", "delete", "never-heard-of"] {
                for object in objects {
                    decided_on_the_plan(&engine, &request(user, perm, object));
                    decided += 1;
                }
            }
        }
        assert_eq!(decided, 48);
    }
}

/// A view that joins static atoms over a variable only they bind would
/// project a stand-in away: its rows would hold for checks that use no
/// stand-in. Here every constant of the program is listed, so nothing is an
/// orphan, but a stand-in is; the view must not be built over it.
#[test]
fn a_view_never_projects_a_stand_in_away() {
    let engine = Engine::from_source(
        "p.warden",
        "
        orphan(X) :- within(X, X), not listed(X);
        listed(ann); listed(read); listed(page:1);
        member(ann);
        allow U read on O if member(U), orphan(X), within(X, Y);
        ",
    )
    .unwrap();
    assert!(engine.check_plan().unwrap().decides_unknown_constants());
    assert!(!decided_on_the_plan(&engine, &request("ann", "read", "page:1")), "no known constant is an orphan");
    assert!(decided_on_the_plan(&engine, &request("ann", "read", "page:2")), "page:2 is an unlisted constant");
}

#[test]
fn a_constant_only_a_test_block_names_is_unknown_to_the_plan() {
    // `page:1` is interned by a test block but no fact or rule holds it: the
    // plan decides it with a stand-in. `alice` is named by a condition: a
    // stand-in would not equal it there, so it takes the general path.
    let engine = Engine::from_source(
        "t.warden",
        "role viewer { read on page; }\nassign ann viewer;\nallow U enter on O if U == alice, O == door;\n\
         test \"t\" { assert allowed(ann, read, page:1); }\n",
    )
    .unwrap();
    assert!(decided_on_the_plan(&engine, &request("ann", "read", "page:1")));
    assert!(!decided_on_the_plan(&engine, &request("bob", "read", "page:1")));
    let by_condition = request("alice", "enter", "door");
    assert_eq!(engine.check_compiled(&by_condition), None);
    assert!(engine.check(&by_condition).allowed);
}

/// `type(..)` of unknown constants is their own type, whichever stand-in
/// each takes: with an unknown user and an unknown page in one check (two
/// stand-ins, both of types the program names), each condition reads its
/// own constant's type.
#[test]
fn each_unknown_constant_has_its_own_type() {
    let policy = "
group:staff in org:1;
page:1 in project:1;
allow U read on O if type(O) == page, type(U) == group;
allow U write on O if type(O) == group;
";
    let engine = Engine::from_source("types.warden", policy).unwrap();
    for (user, perm, object, expected) in [
        ("group:new", "read", "page:new", true),
        ("page:new", "read", "group:new", false),
        ("group:new", "write", "page:new", false),
        ("page:new", "write", "group:new", true),
        ("user:new", "read", "page:new", false),
    ] {
        assert_eq!(decided_on_the_plan(&engine, &request(user, perm, object)), expected, "{user} {perm} {object}");
    }
}

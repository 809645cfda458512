//! Asserts that name their path (`via`, `because`) and rule coverage.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::Engine;

const POLICY: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
role auditor { audit; }
page:1 in project:a;
assign alice editor on project:a;
owner(bob, page:1);
allow U write on O if owner(U, O);
deny U write on O if frozen(O);
frozen(page:2);
page:2 in project:a;
unused(X) :- owner(X, _), frozen(X);
";

fn outcome(test: &str) -> Option<String> {
    let engine =
        Engine::from_source("p.warden", &format!("{POLICY}\n{test}")).unwrap_or_else(|e| panic!("{}", e.render(false)));
    engine.run_tests().into_iter().next().unwrap().failure
}

#[test]
fn via_names_what_the_proof_uses() {
    assert_eq!(
        outcome("test \"t\" { at 2026-11-23T10:00:00Z; assert allowed(alice, write, page:1) via editor; }"),
        None
    );
    assert_eq!(outcome("test \"t\" { at 2026-11-23T10:00:00Z; assert allowed(bob, write, page:1) via owner; }"), None);
    let failure = outcome(
        "test \"t\" { at 2026-11-23T10:00:00Z; assert allowed(alice, read, page:1) via viewer at 2026-11-23T10:00:00Z; }",
    );
    assert_eq!(failure, None, "viewer is implied by editor, and the proof goes through it");
    let failure =
        outcome("test \"t\" { at 2026-11-23T10:00:00Z; assert allowed(bob, write, page:1) via editor; }").unwrap();
    assert!(failure.contains("no proof uses `editor`"), "{failure}");
}

#[test]
fn because_names_what_blocks_it() {
    assert_eq!(
        outcome("test \"t\" { at 2026-11-23T10:00:00Z; assert not allowed(alice, write, page:2) because deny; }"),
        None
    );
    assert_eq!(
        outcome("test \"t\" { at 2026-11-23T10:00:00Z; assert not allowed(alice, write, page:2) because frozen; }"),
        None
    );
    let failure =
        outcome("test \"t\" { at 2026-11-23T10:00:00Z; assert not allowed(carol, write, page:1) because deny; }")
            .unwrap();
    assert!(failure.contains("not because of `deny`"), "{failure}");
    assert_eq!(
        outcome(
            "test \"t\" { at 2026-11-23T10:00:00Z; inactive alice; assert not allowed(alice, read, page:1) because inactive; }"
        ),
        None
    );
}

#[test]
fn coverage_lists_what_no_test_touches() {
    let engine = Engine::from_source(
        "p.warden",
        &format!("{POLICY}\ntest \"t\" {{ at 2026-11-23T10:00:00Z; assert allowed(alice, write, page:1); assert not allowed(alice, write, page:2); }}"),
    )
    .unwrap();
    let (outcomes, covered) = engine.run_tests_with_coverage();
    assert!(outcomes.iter().all(|o| o.failure.is_none()));
    let status = |needle: &str| covered.iter().find(|c| c.text.contains(needle)).map(|c| c.covered);
    assert_eq!(status("write on page;"), Some(true));
    assert_eq!(status("deny U write on O if frozen(O);"), Some(true), "the deny's proof counts for a `not` assert");
    assert_eq!(status("allow U write on O if owner(U, O);"), Some(false));
    assert_eq!(status("audit;"), Some(false));
    assert_eq!(status("unused(X) :-"), Some(false));
}

#[test]
fn the_shipped_policies_are_fully_covered() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    let (outcomes, covered) = engine.run_tests_with_coverage();
    assert!(outcomes.iter().all(|o| o.failure.is_none()));
    let missing: Vec<&str> = covered.iter().filter(|c| !c.covered).map(|c| c.location.as_str()).collect();
    assert!(missing.is_empty(), "uncovered: {missing:?}");
}

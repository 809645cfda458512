//! The shipped policies and examples: every `test` block passes, and no
//! input, however malformed, makes the loader panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use std::path::PathBuf;
use warden::Engine;

fn run_tests_of(path: &str) -> usize {
    let engine = Engine::from_paths(&[PathBuf::from(path)]).unwrap_or_else(|e| panic!("{path}:\n{}", e.render(false)));
    let outcomes = engine.run_tests();
    assert!(!outcomes.is_empty(), "{path} has no tests");
    for outcome in &outcomes {
        assert!(outcome.failure.is_none(), "{path}: test {:?} failed: {:?}", outcome.name, outcome.failure);
    }
    outcomes.len()
}

#[test]
fn every_policy_test_passes() {
    assert!(run_tests_of("policies") >= 10);
}

/// The files below `dir`, at any depth.
fn files_below(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::from(dir)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { pending.push(path) } else { out.push(path) }
        }
    }
    out
}

#[test]
fn every_example_passes_alone_and_together() {
    let mut total = 0;
    for path in files_below("examples") {
        if path.extension().is_some_and(|e| e == "warden") {
            total += run_tests_of(path.to_str().unwrap());
        }
    }
    assert!(total >= 14, "the examples' tests, the Django wiki's included: {total}");
    assert_eq!(run_tests_of("examples"), total);
}

#[test]
fn a_failing_assert_is_reported_with_its_location() {
    let source = "role viewer { read; }\nassign alice viewer;\ntest \"t\" {\n  at 2026-11-23T10:00:00Z;\n  assert allowed(alice, write, page:1);\n}\n";
    let engine = Engine::from_source("t.warden", source).unwrap();
    let outcomes = engine.run_tests();
    let failure = outcomes[0].failure.as_deref().expect("the assert fails");
    assert!(failure.starts_with("t.warden:5:3: `assert allowed(alice, write, page:1);` failed"), "{failure}");
}

#[test]
fn query_answers_are_sorted_by_text_and_deduplicated() {
    let source = "role r { b; a; c; }\nassign zed r;\nassign amy r;\n";
    let engine = Engine::from_source("t.warden", source).unwrap();
    let answer = engine.query("allowed(U, P, page:1)", &Default::default()).unwrap();
    let rows: Vec<String> = answer.rows.iter().map(|r| r.join(", ")).collect();
    assert_eq!(rows, ["amy, a", "amy, b", "amy, c", "zed, a", "zed, b", "zed, c"]);
}

fn shipped_sources() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["policies", "examples"] {
        for path in files_below(dir) {
            if path.extension().is_some_and(|e| e == "warden" || e == "yaml" || e == "yml") {
                out.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Truncated and spliced policies, and arbitrary text, load or fail with
    /// diagnostics, never a panic.
    #[test]
    fn malformed_policies_never_panic(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(), junk in "\\PC{0,40}") {
        let sources = shipped_sources();
        let text = &sources[pick.index(sources.len())];
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{junk}{}", &text[..at], &text[at..][..(text.len() - at) / 2]);
        for name in ["fuzz.warden", "fuzz.yaml"] {
            if let Ok(engine) = Engine::from_source(name, &mutated) {
                let _ = engine.run_tests();
            }
        }
        let _ = Engine::from_source("junk.warden", &junk);
    }
}

#[test]
fn nesting_is_refused_one_level_past_the_limit() {
    // `q(a)` and `q(X)` open a level each, not nested: 32 levels in the body
    // is 32 deep, the limit. On a test thread's 2 MiB stack, in a debug
    // build too (whose frames are several times a release build's).
    let brackets = |n: usize| format!("q(a);\np(X) :- q(X), {}X == a{};\n", "(".repeat(n), ")".repeat(n));
    let bangs = |n: usize| format!("q(a);\np(X) :- q(X), {}X == a;\n", "!".repeat(n));
    let both = |n: usize| format!("q(a);\np(X) :- q(X), {}X != a{};\n", "!(".repeat(n / 2), ")".repeat(n / 2));
    for (name, text) in [("brackets", brackets(32)), ("bangs", bangs(32)), ("both", both(32))] {
        let engine = Engine::from_source("ok.warden", &text).unwrap_or_else(|e| panic!("{name}: {}", e.render(false)));
        let answer = engine.query("p(X)", &warden::RequestOptions::default()).unwrap();
        assert!(answer.errors.is_empty(), "{name}: {:?}", answer.errors);
    }
    for (name, text) in [("brackets", brackets(33)), ("bangs", bangs(33)), ("both", both(34))] {
        let error = Engine::from_source("deep.warden", &text).unwrap_err();
        assert!(error.diagnostics[0].message.contains("nests too deeply"), "{name}: {:?}", error.diagnostics);
    }
}

#[test]
fn deep_nesting_and_long_expressions_are_errors_not_crashes() {
    let deep = format!("q(a);\np(X) :- q(X), {}X == a{};\n", "(".repeat(100_000), ")".repeat(100_000));
    let error = Engine::from_source("deep.warden", &deep).unwrap_err();
    assert!(error.diagnostics[0].message.contains("nests too deeply"));
    let bangs = format!("q(a);\np(X) :- q(X), {}true;\n", "!".repeat(100_000));
    assert!(Engine::from_source("bangs.warden", &bangs).is_err());
    let long = format!("q(a);\np(X) :- q(X), {};\n", vec!["X == a"; 10_000].join(" || "));
    let error = Engine::from_source("long.warden", &long).unwrap_err();
    assert!(error.diagnostics[0].message.contains("too long"));
    let deep_yaml = format!("facts:\n  r: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Engine::from_source("deep.yaml", &deep_yaml).is_err());
}

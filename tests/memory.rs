//! `Engine::memory_usage` reports what a snapshot holds, and a check plan
//! past `Limits::max_bytes` is refused: checks then take the demand-driven
//! path and decide the same.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::{Engine, Limits, Request};

/// 300 users, each an editor of one of 30 projects of 10 pages each.
fn policy() -> String {
    let mut text = String::from("role viewer { read on page; }\nrole editor extends viewer { write on page; }\n");
    for p in 0..300 {
        text.push_str(&format!("page:{p} in project:{};\n", p / 10));
    }
    for u in 0..300 {
        text.push_str(&format!("assign u{u} editor on project:{};\n", u % 30));
    }
    text
}

fn requests() -> Vec<Request> {
    (0..60)
        .map(|i| Request::new(format!("u{}", i * 5), ["read", "write"][i % 2], format!("page:{}", i * 7 % 300)))
        .collect()
}

#[test]
fn memory_usage_counts_each_part() {
    let engine = Engine::from_source("policy.warden", &policy()).unwrap();
    let before = engine.memory_usage();
    assert!(before.facts > 0 && before.base > 0, "{before:?}");
    assert_eq!((before.plan_relations, before.plan_indexes), (0, 0), "no plan built yet");
    assert!(engine.check_plan().is_some());
    let after = engine.memory_usage();
    assert!(after.plan_indexes > 0, "{after:?}");
    assert_eq!(
        after.total,
        after.symbols + after.facts + after.base + after.base_indexes + after.plan_relations + after.plan_indexes
    );
    // 600+ names (`u12`, `page:7`, ...): their strings alone take several KiB.
    assert!(after.symbols > 600 * 8, "{after:?}");
    // Relations are listed largest first, each once, with their tuples.
    let assign = after.relations.iter().find(|r| r.name == "$assign").expect("$assign listed");
    assert_eq!(assign.tuples, 300);
    assert!(after.relations.windows(2).all(|w| w[0].bytes >= w[1].bytes));
    let listed: usize = after.relations.iter().map(|r| r.bytes).sum();
    assert_eq!(listed, after.base + after.plan_relations);
}

#[test]
fn a_plan_past_max_bytes_is_refused_and_checks_decide_the_same() {
    let unlimited = Engine::from_source("policy.warden", &policy()).unwrap();
    let plan_bytes = unlimited.check_plan().unwrap().heap_bytes();
    let limits = Limits { max_bytes: plan_bytes / 2, ..Limits::default() };
    let limited = Engine::builder().policy_str("policy.warden", &policy()).limits(limits).build().unwrap();
    assert!(limited.check_plan().is_none(), "a plan of {plan_bytes} bytes kept under a limit of half that");
    assert_eq!(limited.memory_usage().plan_indexes, 0);
    for request in requests() {
        let (want, got) = (unlimited.check(&request), limited.check(&request));
        assert_eq!(got.allowed, want.allowed, "{request:?}: {} vs {}", got.reason, want.reason);
        assert!(got.errors.is_empty(), "{request:?}: {:?}", got.errors);
    }
    // Some of them are allowed: the comparison is not of denials only.
    assert!(requests().iter().any(|r| unlimited.is_allowed(r)));
}

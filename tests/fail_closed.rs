//! Errors never grant: unregistered, failing and panicking `extern fn`s, type
//! errors, resource limits. And the same inputs give the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;
use std::sync::Arc;
use warden::{Engine, Limits, RequestOptions, Val};

const POLICY: &str = "
role viewer { read; }
assign alice viewer;
extern fn in_office(ip);
allow U enter on O if in_office(ctx.ip), badge(U), door(O);
deny U read on O if in_office(ctx.ip) == false, door(O);
badge(alice);
door(door:1);
";

fn options(ip: &str) -> RequestOptions {
    let mut options = RequestOptions { at: Some(0), ..Default::default() };
    options.ctx.insert("ip".into(), ip.into());
    options
}

#[test]
fn an_unregistered_extern_fn_denies_with_the_reason() {
    let engine = Engine::from_source("p.warden", POLICY).unwrap();
    let answer = engine.query("allowed(alice, enter, door:1)", &options("10.0.0.1")).unwrap();
    assert!(!answer.holds());
    assert!(answer.errors.iter().any(|e| e.contains("extern fn `in_office` is not registered")), "{:?}", answer.errors);
    // The same error in a deny rule denies: reading the door is refused.
    let answer = engine.query("allowed(alice, read, door:1)", &options("10.0.0.1")).unwrap();
    assert!(!answer.holds(), "an error in a deny rule must deny");
}

#[test]
fn a_registered_extern_fn_decides() {
    let mut engine = Engine::from_source("p.warden", POLICY).unwrap();
    engine.register_extern(
        "in_office",
        Arc::new(|args: &[Val]| Ok(Val::Bool(matches!(args.first(), Some(Val::Str(ip)) if ip.starts_with("10."))))),
    );
    assert!(engine.query("allowed(alice, enter, door:1)", &options("10.0.0.1")).unwrap().holds());
    assert!(!engine.query("allowed(alice, enter, door:1)", &options("192.168.0.1")).unwrap().holds());
    assert!(engine.query("allowed(alice, read, door:1)", &options("10.0.0.1")).unwrap().holds());
    assert!(!engine.query("allowed(alice, read, door:1)", &options("192.168.0.1")).unwrap().holds());
}

#[test]
fn a_failing_or_panicking_extern_fn_denies_and_the_engine_lives_on() {
    let mut engine = Engine::from_source("p.warden", POLICY).unwrap();
    engine.register_extern("in_office", Arc::new(|_: &[Val]| Err("directory unreachable".to_string())));
    let answer = engine.query("allowed(alice, enter, door:1)", &options("10.0.0.1")).unwrap();
    assert!(!answer.holds());
    assert!(answer.errors.iter().any(|e| e.contains("directory unreachable")), "{:?}", answer.errors);
    assert!(!engine.query("allowed(alice, read, door:1)", &options("10.0.0.1")).unwrap().holds());

    engine.register_extern("in_office", Arc::new(|_: &[Val]| panic!("bug in the embedding program")));
    let answer = engine.query("allowed(alice, enter, door:1)", &options("10.0.0.1")).unwrap();
    assert!(!answer.holds());
    assert!(answer.errors.iter().any(|e| e.contains("panicked")), "{:?}", answer.errors);
    // Not poisoned: a good function afterwards works.
    engine.register_extern("in_office", Arc::new(|_: &[Val]| Ok(Val::Bool(true))));
    assert!(engine.query("allowed(alice, enter, door:1)", &options("10.0.0.1")).unwrap().holds());
}

#[test]
fn type_errors_never_grant_and_may_deny() {
    let policy = "
role viewer { read; }
assign alice viewer;
allow U see on O if doc(O), \"late\" > now;
deny U read on O if doc(O), O < now;
doc(doc:1);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let answer =
        engine.query("allowed(alice, see, doc:1)", &RequestOptions { at: Some(0), ..Default::default() }).unwrap();
    assert!(!answer.holds());
    assert!(answer.errors.iter().any(|e| e.contains("type error")), "{:?}", answer.errors);
    let answer =
        engine.query("allowed(alice, read, doc:1)", &RequestOptions { at: Some(0), ..Default::default() }).unwrap();
    assert!(!answer.holds(), "a type error in a deny rule denies");
    assert!(
        engine
            .query("allowed(alice, read, doc:2)", &RequestOptions { at: Some(0), ..Default::default() })
            .unwrap()
            .holds()
    );
}

#[test]
fn a_resource_limit_denies_with_the_reason() {
    let policy = "
superuser root;
n(1); n(2); n(3); n(4); n(5); n(6); n(7); n(8);
big(A, B, C) :- n(A), n(B), n(C);
";
    let mut engine = Engine::from_source("p.warden", policy).unwrap();
    engine.set_limits(Limits { max_tuples: 100, ..Limits::default() });
    let answer = engine.query("big(A, B, C)", &RequestOptions::default()).unwrap();
    assert!(!answer.holds());
    assert!(answer.errors.iter().any(|e| e.contains("more than 100 derived tuples")), "{:?}", answer.errors);
    engine.set_limits(Limits::default());
    assert_eq!(engine.query("big(A, B, C)", &RequestOptions::default()).unwrap().rows.len(), 512);
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_warden")).args(args).output().unwrap();
        (output.status.code(), output.stdout, output.stderr)
    };
    for args in [
        vec!["query", "policies/", "-q", "allowed(U, P, page:4)", "--at", "2026-11-23T10:00:00Z"],
        vec!["query", "policies/", "-q", "allowed(U, P, O)", "--at", "2026-11-23T10:00:00Z", "--json"],
        vec!["explain", "policies/", "-q", "allowed(bob, delete, page:1)", "--at", "2026-11-23T10:00:00Z"],
        vec!["test", "policies/"],
    ] {
        let first = run(&args);
        for _ in 0..2 {
            assert_eq!(run(&args), first, "{args:?} is not deterministic");
        }
    }
}

#[test]
fn malformed_inputs_fail_with_a_diagnostic_and_no_panic() {
    let dir = std::path::Path::new("tests/malformed");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.to_str().unwrap();
        seen += 1;
        for args in [vec!["check", file], vec!["query", file, "-q", "allowed(a, b, c)"], vec!["test", file]] {
            let output = Command::new(env!("CARGO_BIN_EXE_warden")).args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains("error"), "{args:?}: no diagnostic: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
    }
    assert!(seen >= 8, "the malformed corpus is missing");
}

#[test]
fn a_time_limit_denies_with_the_reason() {
    let mut engine = Engine::from_source("p.warden", "superuser root;\nn(1); n(2);\n").unwrap();
    engine.set_limits(Limits { max_time: std::time::Duration::ZERO, ..Limits::default() });
    let answer = engine.query("allowed(root, read, n)", &RequestOptions::default()).unwrap();
    assert!(!answer.holds());
    assert!(answer.errors.iter().any(|e| e.contains("took longer than 0 ms")), "{:?}", answer.errors);
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["query", "policies/", "-q", "allowed(root, read, page:1)", "--max-tuples", "5"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "false\n");
    assert!(String::from_utf8_lossy(&output.stderr).contains("more than 5 derived tuples"));
}

#[test]
fn ctx_and_now_inside_atoms_are_demanded_correctly() {
    let policy = "
owner(alice, doc:1);
revocation(s1);
revoked(S) :- revocation(S);
allow U read on O if owner(U, O), not revoked(ctx.session);
alice in group:staff;
doc(doc:1);
allow U see on O if U in ctx.team, doc(O);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let mut full = engine.clone();
    full.set_strategy(warden::Strategy::Full);
    let mut revoked = RequestOptions { at: Some(0), ..Default::default() };
    revoked.ctx.insert("session".into(), "s1".into());
    revoked.ctx.insert("team".into(), "group:staff".into());
    let mut fresh = revoked.clone();
    fresh.ctx.insert("session".into(), "s2".into());
    for (query, options, expected) in [
        ("allowed(alice, read, doc:1)", &revoked, false),
        ("allowed(alice, read, doc:1)", &fresh, true),
        ("allowed(alice, see, doc:1)", &revoked, true),
    ] {
        assert_eq!(engine.query(query, options).unwrap().holds(), expected, "{query} (demand)");
        assert_eq!(full.query(query, options).unwrap().holds(), expected, "{query} (full)");
    }
}

/// A `not` over an atom that reads a missing `ctx` key does not fire its
/// rule (SPEC section 5: a literal reading a missing key is false), on
/// every strategy: the compiled plan runs such a rule as nested loops, and
/// an absent key there must not count as "no matching tuple".
#[test]
fn a_negated_atom_over_a_missing_ctx_key_grants_nothing_on_any_strategy() {
    // `read`: a probe of a static relation; `write`: a call of a dynamic one.
    let policy = "
owner(alice, doc:1);
revocation(s1);
revoked_now(S) :- revocation(S), now >= 2020-01-01T00:00:00Z;
allow U read on O if owner(U, O), not revocation(ctx.session);
allow U write on O if owner(U, O), not revoked_now(ctx.session);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let plan = engine.check_plan().unwrap_or_else(|| panic!("no check plan: {:?}", engine.compile_plan().err()));
    let allowed = plan.goals[plan.allowed as usize].as_ref().expect("the allowed goal");
    assert!(allowed.rules.iter().all(|rule| rule.linear.is_some()), "the rules do not run as nested loops");
    let mut full = engine.clone();
    full.set_strategy(warden::Strategy::Full);
    let mut requests = Vec::new();
    for perm in ["read", "write"] {
        let without = warden::live::Request::new("alice", perm, "doc:1").at("2026-01-01T00:00:00Z").unwrap();
        let with = |session: &str| without.clone().ctx("session", session);
        requests.extend([(without.clone(), false), (with("s1"), false), (with("s2"), true)]);
    }
    for (request, expected) in requests {
        assert_eq!(full.check(&request).allowed, expected, "{request:?} (full)");
        assert_eq!(engine.is_allowed(&request), expected, "{request:?} (compiled)");
        assert_eq!(engine.check(&request).allowed, expected, "{request:?} (check)");
        assert_eq!(engine.is_allowed_prepared(&engine.prepare(&request)), expected, "{request:?} (prepared)");
    }
}

/// The same with the context value past the first four given columns of
/// the negated atom (past an index key's width): the rule still does not
/// fire without the key.
#[test]
fn a_missing_ctx_key_in_a_wide_negated_atom_grants_nothing() {
    let policy = "
tenant(doc:1, t1);
owner(alice, doc:1);
blocked(alice, read, doc:1, t1, s1);
allow U read on O if tenant(O, T), owner(U, O), not blocked(U, read, O, T, ctx.session);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    assert!(engine.check_plan().is_some(), "no check plan: {:?}", engine.compile_plan().err());
    let mut full = engine.clone();
    full.set_strategy(warden::Strategy::Full);
    let without = warden::live::Request::new("alice", "read", "doc:1").at_micros(0);
    let with = |session: &str| without.clone().ctx("session", session);
    for (request, expected) in [(without.clone(), false), (with("s1"), false), (with("s2"), true)] {
        assert_eq!(full.check(&request).allowed, expected, "{request:?} (full)");
        assert_eq!(engine.is_allowed(&request), expected, "{request:?} (compiled)");
        assert_eq!(engine.check(&request).allowed, expected, "{request:?} (check)");
    }
}

#[test]
fn an_error_inside_a_list_follows_the_rule_kind() {
    let policy = "
extern fn quarantined();
extern fn broken();
owner(alice, doc:1);
shared(alice, doc:2);
deny U read on O if owner(U, O), O in [quarantined()];
allow U read on O if owner(U, O);
allow U read on O if shared(U, O), O in [broken(), doc:2];
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let options = RequestOptions { at: Some(0), ..Default::default() };
    assert!(!engine.query("allowed(alice, read, doc:1)", &options).unwrap().holds(), "an error in a deny list denies");
    assert!(
        !engine.query("allowed(alice, read, doc:2)", &options).unwrap().holds(),
        "an error in an allow list never grants"
    );
}

/// On the compiled check plan, a check that needs more steps than the limit
/// allows is denied with the reason, and the limit raised lets it through.
#[test]
fn a_compiled_check_over_its_step_budget_denies_with_the_reason() {
    let policy = "
role viewer { read; }
role editor extends viewer { write; }
team:a in org:x;
alice in team:a;
page:1 in project:p;
project:p in org:x;
assign team:a editor on org:x until 2030-01-01T00:00:00Z;
";
    let request = warden::live::Request::new("alice", "read", "page:1").at("2026-11-23T10:00:00Z").unwrap();
    let mut engine = Engine::from_source("p.warden", policy).unwrap();
    assert!(engine.check_plan().is_some());
    assert!(engine.is_allowed(&request));
    engine.set_limits(Limits { max_steps: 2, ..Limits::default() });
    assert!(engine.check_plan().is_some(), "the limit applies per check, the plan stays");
    assert!(!engine.is_allowed(&request));
    let decision = engine.check(&request);
    assert!(!decision.allowed);
    assert!(decision.reason.contains("more than 2 steps"), "{}", decision.reason);
}

/// A query stopped by a limit has no answers: an empty listing that exits 0
/// would read as "nobody may".
#[test]
fn a_query_stopped_by_a_limit_exits_1() {
    let run = |query: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["query", "policies/", "-q", query, "--max-tuples", "5"])
            .args(extra)
            .output()
            .unwrap()
    };
    for (query, extra) in [
        ("allowed(U, read, page:1)", &[][..]),
        ("allowed(root, read, page:1)", &[][..]),
        ("allowed(U, read, page:1)", &["--json"][..]),
    ] {
        let output = run(query, extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{query} {extra:?}: {stderr}");
        assert!(stderr.contains("not answered") && stderr.contains("more than 5 derived tuples"), "{stderr}");
    }
    let output = run("allowed(U, read, page:1)", &["--json"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains(r#""stopped""#));
}

/// A data file nested 100,000 deep took the YAML parser 40 s to reject
/// (holding the writer lock of a live reload); it is refused before parsing.
#[test]
fn a_deeply_nested_data_file_is_refused_before_parsing() {
    let mut sources = warden::internals::syntax::span::SourceMap::new();
    let deep = format!("facts:\n  x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    sources.add("deep.yaml", deep);
    let error = Engine::from_sources(sources).unwrap_err();
    let rendered = error.render(false);
    assert!(rendered.contains("nested deeper than 32 levels"), "{rendered}");
    let mut sources = warden::internals::syntax::span::SourceMap::new();
    let block: String = (0..200).map(|i| format!("{}- \n", "  ".repeat(i + 1))).collect();
    sources.add("block.yaml", format!("facts:\n{block}"));
    assert!(Engine::from_sources(sources).unwrap_err().render(false).contains("nested deeper"));
}

/// A 3-way cross product over 1,000 facts reached 9.3 GB before the tuple
/// limit was looked at (after each join had materialized its output). The
/// limit is now checked inside joins and lookups, as rows are produced, in
/// non-recursive and recursive strata alike.
#[test]
fn the_tuple_limit_stops_a_cross_product_inside_the_join() {
    let facts: String = (0..1000).map(|i| format!("n({i});\n")).collect();
    let limits = Limits { max_tuples: 1_000_000, ..Limits::default() };
    for rules in [
        "big(A, B, C) :- n(A), n(B), n(C);\n",
        "big(A, B, C) :- n(A), n(B), n(C);\nbig(A, B, C) :- big(A, B, C), big(C, B, A);\n",
        "p(X) :- n(X);\np(X) :- p(X), n(Y), n(Z), p(Y);\nbig(X, X, X) :- p(X);\n",
    ] {
        let mut engine = Engine::from_source("p.warden", &format!("{facts}{rules}")).unwrap();
        engine.set_limits(limits);
        let answer = engine.query("big(A, B, C)", &RequestOptions::default()).unwrap();
        assert!(answer.stopped.is_some(), "{rules}: {:?}", answer.errors);
        assert!(answer.errors.iter().any(|e| e.contains("more than 1000000 derived tuples")), "{:?}", answer.errors);
    }
}

/// The two readings of a three-valued evaluation (possible, then certain,
/// when a condition erred) share one tuple limit: each used to have its own.
#[test]
fn both_readings_of_an_erring_evaluation_share_the_tuple_limit() {
    let facts: String = (0..600).map(|i| format!("n({i});\n")).collect();
    let rules = "extern fn risk(x);\nbig(A, B) :- n(A), n(B), risk(A) > 1;\nbig(A, B) :- n(A), n(B), A != -1;\n";
    let mut engine = Engine::from_source("p.warden", &format!("{facts}{rules}")).unwrap();
    engine.set_limits(Limits { max_tuples: 500_000, ..Limits::default() });
    let answer = engine.query("big(A, B)", &RequestOptions::default()).unwrap();
    assert!(answer.stopped.is_some(), "720,000 tuples in all held under a 500,000 limit: {:?}", answer.errors);
    engine.set_limits(Limits { max_tuples: 800_000, ..Limits::default() });
    assert_eq!(engine.query("big(A, B)", &RequestOptions::default()).unwrap().rows.len(), 360_000);
}

/// A 3,000-deep `extends` chain made every check take 32 s. Its closure is
/// 4.5 million tuples: the plan materializes it once (37 s in a release
/// build, then checks take microseconds); within tighter limits the plan is
/// refused and each check stops at the limit and denies, with the reason.
#[test]
fn a_deep_extends_chain_is_bounded_by_the_limits() {
    let mut policy = String::from("role r0 { read; }\n");
    for i in 1..3000 {
        policy.push_str(&format!("role r{i} extends r{} {{ p{i}; }}\n", i - 1));
    }
    policy.push_str("assign alice r2999;\npage:1 in project:a;\n");
    let mut engine = Engine::from_source("deep.warden", &policy).unwrap();
    engine.set_limits(Limits { max_time: std::time::Duration::from_millis(300), ..Limits::default() });
    let started = std::time::Instant::now();
    let decision = engine.check(&warden::live::Request::new("alice", "read", "page:1"));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(!decision.allowed);
    assert!(decision.reason.contains("took longer than 300 ms"), "{}", decision.reason);
}

/// The memory budget counts what an evaluation makes, not the snapshot's
/// shared base rows: a large base fits a small budget, and a cross product
/// well under the tuple limit is stopped by the memory limit and denies.
#[test]
fn the_memory_limit_counts_what_an_evaluation_makes() {
    let mut text = String::from("allow U read on O if member(U, O);\n");
    for i in 0..20_000 {
        text.push_str(&format!("member(u{i}, page:{i});\n"));
    }
    let mut engine = Engine::from_source("p.warden", &text).unwrap();
    let small = warden::Limits { max_bytes: 1 << 20, ..warden::Limits::default() }; // base rows: about 1.6 MB
    engine.set_limits(small);
    let options = warden::RequestOptions { at: Some(0), ..Default::default() };
    assert!(engine.query("allowed(u7, read, page:7)", &options).unwrap().holds());

    let mut text = String::from("pair(X, Y) :- a(X), b(Y);\n");
    for i in 0..1_500 {
        text.push_str(&format!("a({i});\nb({i});\n"));
    }
    let mut engine = Engine::from_source("p.warden", &text).unwrap();
    engine.set_limits(warden::Limits { max_bytes: 16 << 20, ..warden::Limits::default() });
    let answer = engine.query("pair(X, Y)", &options).unwrap();
    assert!(answer.stopped.as_deref().is_some_and(|s| s.contains("MiB")), "{answer:?}");
}

/// A batch of checks fails closed like single checks: a deny rule whose
/// condition errs (`ctx.n > 1` with `n` a string) leaves the permission
/// unknown, which denies (SPEC section 5), though the plan's two-valued run
/// alone would let the grant through; the other checks of the batch are
/// unaffected.
#[test]
fn a_batch_check_whose_deny_rule_errs_is_denied() {
    let policy = "
        role editor { read; share; }
        assign alice editor;
        assign bob editor;
        deny U share on O if ctx.n > 1, U == alice;
        page(page:1);
    ";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    assert!(engine.check_plan().is_some(), "{:?}", engine.compile_plan().err());
    let checks = [("alice", "share", "page:1"), ("bob", "share", "page:1"), ("alice", "read", "page:1")];
    for (n, expected) in [("x", [false, true, true]), ("0", [true, true, true]), ("2", [false, true, true])] {
        let ctx = [("n".to_string(), n.to_string())].into_iter().collect();
        assert_eq!(engine.check_many(&checks, Some(0), &ctx).unwrap(), expected, "ctx.n = {n}");
        for ((user, perm, object), allowed) in checks.iter().zip(expected) {
            let request = warden::live::Request::new(*user, *perm, *object).at_micros(0).ctx("n", n);
            assert_eq!(engine.is_allowed(&request), allowed, "{request:?}");
        }
    }
}

/// A batch has one deadline: past it the batch stops with the reason and
/// answers nothing (no check of it is reported allowed).
#[test]
fn a_batch_past_its_deadline_stops_with_the_reason() {
    let mut engine = Engine::from_source("p.warden", "role viewer { read; }\nassign alice viewer;\n").unwrap();
    let checks = vec![("alice", "read", "page:1"); 100];
    let ctx = Default::default();
    assert_eq!(engine.check_many(&checks, Some(0), &ctx).unwrap(), vec![true; 100]);
    engine.set_limits(Limits { max_time: std::time::Duration::ZERO, ..Limits::default() });
    let stopped = engine.check_many(&checks, Some(0), &ctx).unwrap_err();
    assert!(stopped.contains("the batch was stopped"), "{stopped}");
}

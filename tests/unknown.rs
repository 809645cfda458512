//! SPEC section 5, errors through plain rules: a plain rule whose condition
//! errors derives an *unknown* tuple; unknown propagates (Kleene) through
//! positive atoms, `not` and later strata, and fails closed at the access
//! boundary. Every evaluation path (full, demand, compiled check, listing,
//! explanation) must agree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::live::Request;
use warden::{Engine, RequestOptions, Strategy};

/// Every way of asking: the check (compiled plan), `is_allowed`, a demand
/// query, a full-evaluation query. All must say `expected`.
fn decide_everywhere(engine: &Engine, user: &str, perm: &str, object: &str) -> (bool, Vec<String>) {
    let request = Request::new(user, perm, object).at("2026-11-23T10:00:00Z").unwrap();
    let check = engine.check(&request);
    assert_eq!(engine.is_allowed(&request), check.allowed, "is_allowed and check differ for {request:?}");
    let options = RequestOptions { at: request_at(), ..Default::default() };
    let query = format!("allowed({user}, {perm}, {object})");
    let demand = engine.query(&query, &options).unwrap();
    let mut full_engine = engine.clone();
    full_engine.set_strategy(Strategy::Full);
    let full = full_engine.query(&query, &options).unwrap();
    let full_check = full_engine.check(&request);
    assert_eq!(demand.holds(), check.allowed, "demand query and compiled check differ on {query}");
    assert_eq!(full.holds(), check.allowed, "full query and compiled check differ on {query}");
    assert_eq!(full_check.allowed, check.allowed, "full check and compiled check differ on {query}");
    let mut errors = check.errors.clone();
    errors.push(check.reason.clone());
    (check.allowed, errors)
}

fn request_at() -> Option<i64> {
    warden::time::parse_timestamp("2026-11-23T10:00:00Z").ok()
}

const FLAGGED: &str = "
role viewer { read; }
assign bob viewer;
assign carol viewer;
user(bob); user(carol);
doc(doc:1);
extern fn risk(u);
flagged(U) :- user(U), risk(U) > 10;
allow U open on O if doc(O), user(U), not flagged(U);
deny U read on O if flagged(U);
";

#[test]
fn an_error_under_not_never_grants() {
    let engine = Engine::from_source("p.warden", FLAGGED).unwrap();
    let (allowed, reasons) = decide_everywhere(&engine, "bob", "open", "doc:1");
    assert!(!allowed, "an unregistered extern fn under `not` granted access");
    assert!(reasons.iter().any(|r| r.contains("extern fn `risk` is not registered")), "{reasons:?}");
}

#[test]
fn an_error_in_a_plain_rule_feeding_a_deny_rule_denies() {
    let engine = Engine::from_source("p.warden", FLAGGED).unwrap();
    let (allowed, reasons) = decide_everywhere(&engine, "bob", "read", "doc:1");
    assert!(!allowed, "an erroring plain rule read by a deny rule let the request through");
    assert!(reasons.iter().any(|r| r.contains("risk")), "{reasons:?}");
}

#[test]
fn a_type_error_or_overflow_in_a_plain_rule_is_unknown_too() {
    for condition in ["U > now", "9223372036854775807 + 1 > 0", "lower(U) > 3"] {
        let policy = format!(
            "role viewer {{ read; }}\nassign bob viewer;\nuser(bob);\ndoc(doc:1);\n\
             flagged(U) :- user(U), {condition};\n\
             allow U open on O if doc(O), user(U), not flagged(U);\n"
        );
        let engine = Engine::from_source("p.warden", &policy).unwrap();
        let (allowed, reasons) = decide_everywhere(&engine, "bob", "open", "doc:1");
        assert!(!allowed, "`{condition}` erroring under `not` granted");
        assert!(!reasons.is_empty());
    }
}

#[test]
fn a_fn_nested_too_deep_in_a_plain_rule_is_unknown() {
    let mut policy = String::from("user(bob);\ndoc(doc:1);\n");
    for i in 0..70 {
        policy.push_str(&format!("fn f{i}(x) = f{}(x);\n", i + 1));
    }
    policy.push_str("fn f70(x) = x > 3;\n");
    policy.push_str("flagged(U) :- user(U), f0(2);\nallow U open on O if doc(O), user(U), not flagged(U);\n");
    let engine = Engine::from_source("p.warden", &policy).unwrap();
    let (allowed, _) = decide_everywhere(&engine, "bob", "open", "doc:1");
    assert!(!allowed, "a fn nested past the call limit granted under `not`");
}

#[test]
fn another_derivation_makes_an_unknown_tuple_true_and_a_false_literal_makes_it_false() {
    let policy = "
user(bob); user(carol); user(dan);
doc(doc:1);
extern fn risk(u);
flagged(U) :- user(U), risk(U) > 10;
flagged(carol);
// A false literal wins over an error: dan is never `spared`-unknown.
spared(U) :- user(U), risk(U) > 10, U == nobody;
allow U see on O if doc(O), flagged(U);
allow U open on O if doc(O), user(U), not spared(U);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    assert!(decide_everywhere(&engine, "carol", "see", "doc:1").0, "a true derivation beats an unknown one");
    assert!(!decide_everywhere(&engine, "bob", "see", "doc:1").0, "an unknown tuple read positively never grants");
    assert!(decide_everywhere(&engine, "dan", "open", "doc:1").0, "false && unknown is false: `not spared` holds");
}

#[test]
fn unknown_propagates_across_strata() {
    let policy = "
user(bob);
doc(doc:1);
extern fn risk(u);
a(U) :- user(U), risk(U) > 10;
b(U) :- user(U), not a(U);
c(U) :- b(U);
d(U) :- user(U), not c(U);
allow U one on O if doc(O), c(U);
allow U two on O if doc(O), d(U);
allow U three on O if doc(O), user(U), not d(U);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    for perm in ["one", "two", "three"] {
        assert!(!decide_everywhere(&engine, "bob", perm, "doc:1").0, "`{perm}` granted through an unknown chain");
    }
}

#[test]
fn listings_and_queries_of_plain_relations_leave_unknown_tuples_out() {
    let engine = Engine::from_source("p.warden", FLAGGED).unwrap();
    let options = RequestOptions { at: request_at(), ..Default::default() };
    let listing = engine.query("allowed(U, open, doc:1)", &options).unwrap();
    assert!(listing.rows.is_empty(), "unknown subjects listed as allowed: {:?}", listing.rows);
    assert!(listing.errors.iter().any(|e| e.contains("risk")), "{:?}", listing.errors);
    // `flagged(bob)` is unknown: not listed as true, and its negation does not hold either.
    let flagged = engine.query("flagged(U)", &options).unwrap();
    assert!(flagged.rows.is_empty(), "{:?}", flagged.rows);
    // `denied` fails closed the other way: an unknown deny is a deny (SPEC section 5).
    let denied = engine.query("denied(bob, read, doc:1)", &options).unwrap();
    assert!(denied.holds(), "an unknown deny must read as denied");
}

#[test]
fn the_explanation_names_the_error_and_does_not_claim_the_negation_holds() {
    let engine = Engine::from_source("p.warden", FLAGGED).unwrap();
    let options = RequestOptions { at: request_at(), ..Default::default() };
    let explanation = engine.explain("allowed(bob, open, doc:1)", &options).unwrap();
    assert!(!explanation.holds);
    let text = explanation.to_text();
    assert!(text.contains("extern fn `risk` is not registered"), "{text}");
    assert!(text.contains("unknown"), "the explanation must say the literal is unknown:\n{text}");
}

#[test]
fn a_server_without_extern_fns_does_not_grant_through_them() {
    // `warden serve` registers no extern fns: the same program through `Live`.
    let live = warden::live::Live::from_source("p.warden", FLAGGED).unwrap();
    let request = Request::new("bob", "open", "doc:1").at("2026-11-23T10:00:00Z").unwrap();
    let decision = live.check(&request);
    assert!(!decision.allowed, "{}", decision.reason);
    assert!(decision.reason.contains("risk"), "{}", decision.reason);
}

/// In a test block an unknown tuple is neither true nor false: `assert not`
/// of it fails and says why; an unknown deny reads as denied.
#[test]
fn an_assert_not_of_an_unknown_tuple_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.warden");
    std::fs::write(
        &file,
        "user(bob);\nextern fn risk(u);\nflagged(U) :- user(U), risk(U) > 10;\ndeny U read on O if flagged(U);\n\
         test \"unknown\" { assert not flagged(bob); }\ntest \"denied\" { assert denied(bob, read, doc:1); }\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warden")).arg("test").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("FAIL unknown") && stdout.contains("it is unknown"), "{stdout}");
    assert!(stdout.contains("PASS denied"), "{stdout}");
    assert_eq!(output.status.code(), Some(1));
}

/// A list with an erroring item, binding a variable nothing else binds, is
/// unknown for every value: a deny over it denies, and under `not` it never
/// grants (it used to bind nothing, so the deny was skipped).
#[test]
fn an_erroring_list_that_binds_a_variable_is_unknown_for_every_value() {
    let policy = "
role viewer { read; write; }
assign bob viewer;
doc(doc:1);
user(bob);
extern fn frozen();
extern fn tier(u);
deny U P on O if P in [frozen()];
risky(U) :- user(U), T in [tier(U), 1], T > 3;
allow U open on O if doc(O), user(U), not risky(U);
";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let (allowed, reasons) = decide_everywhere(&engine, "bob", "write", "doc:1");
    assert!(!allowed, "an erroring list in a deny rule let the request through: {reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("frozen")), "{reasons:?}");
    let (allowed, _) = decide_everywhere(&engine, "bob", "open", "doc:1");
    assert!(!allowed, "an erroring list under `not` granted");
}

/// An unknown deny reads as holding, and the explanation says it is unknown
/// rather than showing a proof it does not have.
#[test]
fn explaining_an_unknown_deny_says_it_is_unknown() {
    let engine = Engine::from_source("p.warden", FLAGGED).unwrap();
    let options = RequestOptions { at: request_at(), ..Default::default() };
    let explanation = engine.explain("denied(bob, read, doc:1)", &options).unwrap();
    assert!(explanation.holds);
    assert!(explanation.proofs.is_empty());
    let text = explanation.to_text();
    assert!(text.contains("is unknown") && text.contains("risk"), "{text}");
}

/// A closure's rule with a condition: the condition runs only for the
/// bindings every atom of the rule matches (`false && unknown` is false), so
/// a closure that matches nothing meets no error. Here `p(Y, Z)` holds for
/// `(a, b)` and `(c, d)`, but no `e(X, a)` or `e(X, c)` joins them: `risk`
/// is never called, and a full evaluation says nothing permits.
#[test]
fn a_condition_of_a_recursive_rule_errs_only_where_the_atoms_match() {
    let source = "extern fn risk(x);\ne(a, b); e(c, d);\np(X, Y) :- e(X, Y);\n\
                  p(X, Z) :- e(X, Y), p(Y, Z), risk(Z) > 1;\nallow U read on O if p(U, O);\n";
    let mut engine = Engine::from_source("p.warden", source).unwrap();
    engine.set_strategy(Strategy::Full);
    let decision = engine.check(&Request::new("a", "read", "d").at("2026-11-23T10:00:00Z").unwrap());
    assert_eq!(decision.reason, "denied: nothing permits a to read d");
    assert!(decision.errors.is_empty(), "{:?}", decision.errors);
}

/// Conditions ready at the same point of a rule are one conjunction: for a
/// binding one of them makes false, another's error is not recorded
/// (`false && unknown` is false), whatever their order in the rule. In a
/// closure's recursive rule (planned from its recursive atom) and in a
/// plain rule alike, `X == c` is false for every binding that reaches
/// `risk`, so a full evaluation meets no error.
#[test]
fn a_false_condition_hides_the_error_of_a_condition_beside_it() {
    let rules = [
        "p(X, Y) :- e(X, Y);\np(X, Z) :- e(X, Y), p(Y, Z), risk(Z) > 1, X == c;",
        "p(X, Y) :- e(X, Y), risk(Y) > 1, X == c;",
        // A `not` between them tests the same bindings: still one group.
        "p(X, Y) :- e(X, Y);\np(X, Z) :- e(X, Y), p(Y, Z), risk(Z) > 1, not q(X), X == c;",
        "p(X, Y) :- e(X, Y), risk(Y) > 1, not q(X), X == c;",
    ];
    for rule in rules {
        let source = format!("extern fn risk(x);\ne(a, b); e(b, c); q(z);\n{rule}\nallow U read on O if p(U, O);\n");
        let mut engine = Engine::from_source("p.warden", &source).unwrap();
        engine.set_strategy(Strategy::Full);
        let decision = engine.check(&Request::new("a", "read", "c").at("2026-11-23T10:00:00Z").unwrap());
        assert_eq!(decision.reason, "denied: nothing permits a to read c", "{rule}");
        assert!(decision.errors.is_empty(), "{rule}: {:?}", decision.errors);
    }
}

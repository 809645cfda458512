//! `warden check` lints: each with a case that warns and one that does not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::Engine;

const NOW: &str = "2026-11-23T10:00:00Z";

/// The lint messages of a program, with their lines.
fn lints(source: &str) -> Vec<(usize, String)> {
    let engine = Engine::from_source("p.warden", source).unwrap_or_else(|e| panic!("{}", e.render(false)));
    engine
        .lints(warden::time::parse_timestamp(NOW).unwrap())
        .into_iter()
        .map(|d| (engine.sources().location(d.span.unwrap()).line, d.message))
        .collect()
}

fn assert_lint(source: &str, line: usize, needle: &str) {
    let found = lints(source);
    assert!(
        found.iter().any(|(l, m)| *l == line && m.contains(needle)),
        "expected `{needle}` on line {line}, got {found:?}"
    );
}

fn assert_quiet(source: &str, needle: &str) {
    let found = lints(source);
    assert!(!found.iter().any(|(_, m)| m.contains(needle)), "unexpected `{needle}`: {found:?}");
}

#[test]
fn unused_role() {
    assert_lint("role viewer { read; }\nrole ghost { read; }\nassign a viewer;\n", 2, "role `ghost` is never assigned");
    assert_quiet("role viewer { read; }\nrole editor extends viewer { write; }\nassign a editor;\n", "never assigned");
}

#[test]
fn permission_no_role_grants() {
    assert_lint("role viewer { read; }\nassign a viewer;\ngrant b raed on page:1;\n", 3, "no role grants `raed`");
    assert_quiet("role viewer { read; }\nassign a viewer;\ngrant b read on page:1;\n", "no role grants");
}

#[test]
fn rule_that_cannot_fire() {
    let source = "role r { x; }\nassign a r;\nq(a);\np(X) :- q(X), only_in_tests(X);\ntest \"t\" { only_in_tests(a); assert p(a); }\n";
    assert_lint(source, 4, "can never fire: `only_in_tests` is always empty");
    assert_quiet("role r { x; }\nassign a r;\nq(a);\np(X) :- q(X);\n", "can never fire");
}

#[test]
fn allow_shadowed_by_deny() {
    let source =
        "role r { x; }\nassign a r;\nowner(a, b);\nallow U edit on O if owner(U, O);\ndeny U P on O if owner(U, O);\n";
    assert_lint(source, 4, "never takes effect");
    let partial = "role r { x; }\nassign a r;\nowner(a, b);\nlocked(b);\nallow U edit on O if owner(U, O);\ndeny U P on O if locked(O);\n";
    assert_quiet(partial, "never takes effect");
}

#[test]
fn expired_assignment() {
    assert_lint("role r { x; }\nassign a r until 2026-01-01T00:00:00Z;\n", 2, "expired at 2026-01-01T00:00:00Z");
    assert_quiet("role r { x; }\nassign a r until 2027-01-01T00:00:00Z;\n", "expired");
}

#[test]
fn single_use_variable() {
    assert_lint(
        "role r { x; }\nassign a r;\nowner(a, b);\np(U) :- owner(U, Obj);\n",
        4,
        "variable `Obj` is used only once",
    );
    assert_quiet("role r { x; }\nassign a r;\nowner(a, b);\np(U) :- owner(U, _);\n", "used only once");
    assert_quiet("role r { x; }\nassign a r;\ndeny U P on O if ctx.ip == \"0.0.0.0\";\n", "used only once");
}

#[test]
fn shipped_policies_are_lint_free() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    let warnings = engine.lints(warden::time::parse_timestamp(NOW).unwrap());
    assert!(warnings.is_empty(), "{}", warden::diagnostics::render(&warnings, engine.sources(), false));
}

#[test]
fn deny_warnings_makes_check_fail() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, "role viewer { read; }\nrole ghost { read; }\nassign a viewer;\n").unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warden")).arg("check").arg(&file).args(extra).output().unwrap()
    };
    let plain = run(&[]);
    assert!(plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("warning: role `ghost` is never assigned"));
    assert_eq!(run(&["--deny-warnings"]).status.code(), Some(1));
}

/// `deny ... if ctx.risk > 10` is skipped by a request that omits `risk` (a
/// literal reading a missing key is false): fail-open. Warn, and say how to
/// write it so that a missing key denies.
#[test]
fn deny_that_a_missing_ctx_key_skips() {
    let base = "role viewer { read; }\nassign a viewer;\ndoc(doc:1);\n";
    assert_lint(&format!("{base}deny U P on O if ctx.risk > 10;\n"), 4, "skipped by a request without `ctx.risk`");
    // Through a fn, and through a plain relation the deny reads.
    assert_lint(&format!("{base}fn risky() = ctx.risk > 10;\ndeny U P on O if risky();\n"), 5, "`ctx.risk`");
    assert_lint(&format!("{base}hot(O) :- doc(O), ctx.zone == red;\ndeny U P on O if hot(O);\n"), 5, "`ctx.zone`");
    // Reading the key under `not` denies when it is missing: no warning; nor for an allow.
    assert_quiet(&format!("{base}safe(O) :- doc(O), ctx.risk <= 10;\ndeny U P on O if not safe(O);\n"), "ctx.");
    assert_quiet(&format!("{base}allow U read on O if doc(O), ctx.risk <= 10;\n"), "ctx.");
}

#[test]
fn the_suggested_rewrite_denies_a_request_without_the_key() {
    let policy = "role viewer { read; }\nassign a viewer;\ndoc(doc:1);\nsafe(O) :- doc(O), ctx.risk <= 10;\ndeny U P on O if doc(O), not safe(O);\n";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let request = warden::live::Request::new("a", "read", "doc:1").at(NOW).unwrap();
    assert!(!engine.check(&request).allowed, "no `risk`: denied");
    assert!(engine.check(&request.clone().ctx("risk", "3")).allowed);
    assert!(!engine.check(&request.ctx("risk", "30")).allowed);
}

/// `fn f1(x) = f2(x) && f2(x); ...` doubles at each level: 41 lines made a
/// check hang. Evaluation stops at the call limit (an error, never a grant),
/// and `warden check` warns.
#[test]
fn exponential_fn_trees_warn_and_fail_fast() {
    let mut policy = String::from("role viewer { read; }\nassign a viewer;\ndoc(doc:1);\n");
    for i in 1..40 {
        policy.push_str(&format!("fn f{i}(x) = f{}(x) && f{}(x);\n", i + 1, i + 1));
    }
    policy.push_str("fn f40(x) = x > 0;\nallow U open on O if doc(O), f1(1);\n");
    assert_lint(&policy, 4, "evaluating `f1` makes up to");
    assert_quiet("fn g(x) = x > 0;\nfn f(x) = g(x) && g(x);\nrole r { x; }\nassign a r;\n", "fn calls");
    let engine = Engine::from_source("p.warden", &policy).unwrap();
    let request = warden::live::Request::new("a", "open", "doc:1").at(NOW).unwrap();
    let started = std::time::Instant::now();
    let decision = engine.check(&request);
    assert!(!decision.allowed);
    assert!(decision.reason.contains("fn calls"), "{}", decision.reason);
    // Not a timing assertion on speed: a hang would never get here.
    let _ = started.elapsed();
}

#[test]
fn an_assignment_whose_from_is_after_its_until_never_holds() {
    let base = "role viewer { read; }\npage:1 in project:a;\n";
    assert_lint(
        &format!("{base}assign ann viewer from 2026-12-01T00:00:00Z until 2026-11-01T00:00:00Z;\n"),
        3,
        "never holds",
    );
    assert_quiet(
        &format!("{base}assign ann viewer from 2026-11-01T00:00:00Z until 2026-12-01T00:00:00Z;\n"),
        "never holds",
    );
}

#[test]
fn a_type_no_constant_has_is_flagged_with_the_nearest() {
    let source = "role editor { write on pgae; }\nassign ann editor;\npage:1 in project:a;\n";
    assert_lint(source, 1, "no constant has the type `pgae`");
    assert_quiet(
        "role editor { write on page; }\nassign ann editor;\npage:1 in project:a;\n",
        "no constant has the type",
    );
    let declared = "relation count(page, integer);\npage:1 in project:a;\nr(X) :- count(X, _);\n";
    let found = lints_with_help(declared);
    assert!(found.iter().any(|(m, h)| m.contains("`integer` is no built-in type") && h.contains("`int`")), "{found:?}");
}

/// Messages and help lines of a program's lints.
fn lints_with_help(source: &str) -> Vec<(String, String)> {
    let engine = Engine::from_source("p.warden", source).unwrap_or_else(|e| panic!("{}", e.render(false)));
    engine
        .lints(warden::time::parse_timestamp(NOW).unwrap())
        .into_iter()
        .map(|d| (d.message, d.help.unwrap_or_default()))
        .collect()
}

#[test]
fn a_join_of_integers_with_strings_never_matches() {
    // Django's generic foreign keys: an integer object id in one table, its
    // text in the other.
    let source = "role viewer { read; }\npage_project(page:1, 42);\nproject_perm(bob, view_page, \"42\");\n\
                  allow U P on O if page_project(O, J), project_perm(U, P, J);\n";
    assert_lint(
        source,
        4,
        "`J` joins page_project's column 2 (integers) with project_perm's column 3 (strings): they never match",
    );
    let same = source.replace("\"42\"", "42");
    assert_quiet(&same, "never match");
}

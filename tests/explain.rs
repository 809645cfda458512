//! Explanations: proofs with sources, why-not with verified repairs, revoke
//! sets, deny overrides, expiry and the next change in time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;
use warden::{Engine, RequestOptions};
use warden::{ProofKind, ProofNode};

fn policies() -> Engine {
    Engine::from_paths(&[PathBuf::from("policies")]).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

fn at(ts: &str) -> RequestOptions {
    RequestOptions { at: Some(warden::time::parse_timestamp(ts).unwrap()), ..Default::default() }
}

fn all_nodes(node: &ProofNode) -> Vec<&ProofNode> {
    let mut out = vec![node];
    for child in &node.children {
        out.extend(all_nodes(child));
    }
    out
}

#[test]
fn a_proof_reaches_base_facts_with_their_sources() {
    let explanation = policies().explain("allowed(alice, write, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    assert!(explanation.holds);
    let proof = &explanation.proofs[0].proof;
    assert_eq!(proof.fact, "allowed(alice, write, page:1)");
    assert!(proof.rule.as_deref().unwrap().starts_with("B15"));
    let nodes = all_nodes(proof);
    let assign =
        nodes.iter().find(|n| n.reads == "assign alice editor on project:apollo").expect("the assignment is a leaf");
    assert_eq!(assign.kind, ProofKind::Fact);
    assert_eq!(serde_json::to_value(assign).unwrap()["kind"], "fact");
    assert!(assign.location.as_deref().unwrap().starts_with("policies/data.yaml:"));
    let entry = nodes.iter().find(|n| n.reads == "role editor grants write on objects of type page").unwrap();
    assert!(entry.location.as_deref().unwrap().starts_with("policies/roles.warden:"));
    // Every leaf is a base fact or a constant; every inner node names its rule.
    for node in nodes {
        if node.children.is_empty() {
            assert!(matches!(node.kind, ProofKind::Fact | ProofKind::Constant | ProofKind::Rule), "{node:?}");
        } else {
            assert_eq!(node.kind, ProofKind::Rule);
            assert!(node.rule.is_some());
        }
    }
}

#[test]
fn revoking_names_the_facts_every_proof_needs() {
    let explanation = policies().explain("allowed(alice, write, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    let revoke: Vec<String> = explanation.proofs[0].revoke.iter().flatten().cloned().collect();
    assert!(revoke.contains(&"assign alice editor on project:apollo;".to_string()), "{revoke:?}");
    assert!(revoke.contains(&"page:1 in project:apollo;".to_string()), "{revoke:?}");
}

#[test]
fn why_not_lists_failing_rules_and_verified_repairs() {
    let engine = policies();
    let explanation = engine.explain("allowed(bob, delete, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    assert!(!explanation.holds);
    let why_not = explanation.why_not.as_ref().unwrap();
    assert!(why_not.notes.iter().any(|n| n == "roles with an entry for delete: admin"), "{:?}", why_not.notes);
    assert!(!why_not.attempts.is_empty());
    assert!(why_not.repairs.contains(&"assign bob admin on page:1;".to_string()), "{:?}", why_not.repairs);
    // Each repair, added to the policy, really grants.
    for repair in &why_not.repairs {
        let mut sources = warden::internals::syntax::span::SourceMap::new();
        for entry in ["policies/access.warden", "policies/roles.warden", "policies/data.yaml"] {
            sources.add(entry, std::fs::read_to_string(entry).unwrap());
        }
        sources.add("repair.warden", repair.as_str());
        let repaired = Engine::from_sources(sources).unwrap_or_else(|e| panic!("{repair}: {}", e.render(false)));
        let answer = repaired.query("allowed(bob, delete, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
        assert!(answer.holds(), "repair `{repair}` does not grant");
    }
}

#[test]
fn a_deny_shows_the_permit_and_the_deny_side_by_side() {
    let explanation = policies().explain("allowed(root, write, page:6)", &at("2026-11-23T10:00:00Z")).unwrap();
    let why_not = explanation.why_not.unwrap();
    assert_eq!(why_not.permitted.unwrap().children[0].reads, "root has write on page:6");
    let deny = why_not.denied.unwrap();
    assert!(deny.rule.as_deref().unwrap().starts_with("deny U write on O if locked(O)"));
    assert!(why_not.repairs.is_empty(), "no added fact can beat a deny");
}

#[test]
fn expiry_is_named_and_the_next_change_found() {
    let engine = policies();
    let during = engine.explain("allowed(grace, delete, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    let change = during.proofs[0].changes.as_ref().expect("the decision rests on an expiring assignment");
    assert_eq!(change.at, "2026-11-25T00:00:00Z");
    assert!(!change.holds_after);
    assert!(change.because[0].starts_with("assign grace admin on project:apollo"));
    let after = engine.explain("allowed(grace, delete, page:1)", &at("2026-11-26T10:00:00Z")).unwrap();
    let notes = after.why_not.unwrap().notes;
    assert!(notes.iter().any(|n| n.contains("expired at 2026-11-25T00:00:00Z")), "{notes:?}");
}

#[test]
fn a_clock_condition_says_when_it_opens_again() {
    let explanation = policies().explain("allowed(alice, publish, page:1)", &at("2026-11-23T14:00:00Z")).unwrap();
    let why_not = explanation.why_not.unwrap();
    let change = why_not.changes.unwrap();
    assert_eq!(change.at, "2026-11-24T08:00:00Z");
    assert!(change.holds_after);
    let text = format!("{:?}", why_not.attempts);
    assert!(text.contains("business_hours(now) = false"), "{text}");
}

#[test]
fn open_queries_get_one_proof_per_answer() {
    let engine = policies();
    let options = at("2026-11-23T10:00:00Z");
    let answers = engine.query("allowed(U, write, page:4)", &options).unwrap();
    let explanation = engine.explain("allowed(U, write, page:4)", &options).unwrap();
    assert_eq!(explanation.proofs.len(), answers.rows.len());
}

#[test]
fn the_cli_prints_text_and_json() {
    let run = |json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command.args(["explain", "policies/", "-q", "allowed(alice, write, page:1)", "--at", "2026-11-23T10:00:00Z"]);
        if json {
            command.arg("--json");
        }
        command.output().unwrap()
    };
    let text = run(false);
    assert!(text.status.success());
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(stdout.contains("alice may write page:1"), "{stdout}");
    assert!(stdout.contains("policies/data.yaml:"), "{stdout}");
    let json = run(true);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["holds"], true);
    assert_eq!(value["proofs"][0]["proof"]["fact"], "allowed(alice, write, page:1)");
}

/// The why-not notes of `query` over `policy` at 15:00.
fn why_not_notes(policy: &str, query: &str) -> Vec<String> {
    let engine = Engine::from_source("w.warden", policy).unwrap();
    let explanation = engine.explain(query, &at("2026-11-23T15:00:00Z")).unwrap();
    assert!(!explanation.holds, "{query}");
    explanation.why_not.expect("a why-not").notes
}

const ROLES: &str = "role publisher { publish on page if hour(now) >= 8 && hour(now) < 13; }\n\
                     role admin { manage on project; }\nrole super extends admin { audit; }\n\
                     assign alice publisher on project:a;\nassign henry super;\npage:1 in project:a;\n";

#[test]
fn a_conditional_role_entry_is_named_with_its_condition_not_called_missing() {
    let notes = why_not_notes(ROLES, "allowed(alice, publish, page:1)");
    // Before: "alice holds publisher on page:1, but none of them grants publish" and "no role grants publish".
    assert!(notes.iter().all(|n| !n.contains("none of them") && !n.contains("no role")), "{notes:?}");
    assert!(
        notes.iter().any(|n| n == "alice holds publisher on page:1; its entry for publish has a condition, `publish on page if hour(now) >= 8 && hour(now) < 13` (w.warden:1:18), that does not hold at 2026-11-23T15:00:00Z"),
        "{notes:?}"
    );
    assert!(notes.contains(&"roles with an entry for publish: publisher".to_string()), "{notes:?}");
}

#[test]
fn a_role_entry_on_another_type_is_named_with_both_types() {
    let notes = why_not_notes(ROLES, "allowed(henry, manage, page:1)");
    assert!(
        notes.contains(
            &"henry holds super on page:1; its entry for manage (through admin) is on objects of type project, and page:1 is a page"
                .to_string()
        ),
        "{notes:?}"
    );
    let notes = why_not_notes(ROLES, "allowed(alice, audit, page:1)");
    assert!(notes.contains(&"alice holds publisher on page:1, which does not grant audit".to_string()), "{notes:?}");
}

#[test]
fn a_quoted_object_and_a_capitalised_type_are_compared_as_names() {
    let policy = "role editor { read on page if hour(now) < 9; write on Doc; }\nassign alice editor on page:\"My Doc\";\n\
                  assign alice editor on Doc:1;\n";
    let notes = why_not_notes(policy, "allowed(alice, read, page:\"My Doc\")");
    assert!(notes.iter().all(|n| !n.contains("type")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("has a condition")), "{notes:?}");
}

/// A project-permissions program whose full model is far too large for an
/// explanation (a superuser's rule ranges over every pair of constants).
fn large_program(pages: usize) -> Engine {
    let mut text = String::from(
        "role viewer { view; }\nrole editor extends viewer { change; }\nsuperuser root;\ndeny U change on O if locked(O);\n",
    );
    for p in 0..pages {
        text.push_str(&format!("page:{p} in project:{};\n", p % 100));
    }
    for u in 0..50 {
        text.push_str(&format!("assign user:{u} editor on project:{};\n", (u * 7) % 100));
    }
    text.push_str("locked(page:7);\n");
    Engine::from_source("large.warden", &text).unwrap()
}

#[test]
fn explanations_of_a_program_too_large_for_a_full_model_are_read_on_demand_and_decide_as_the_check() {
    let engine = large_program(3_000);
    let options = at("2026-11-23T10:00:00Z");
    for (user, perm, object) in [
        ("user:1", "change", "page:7"),   // project:7, but locked
        ("user:1", "change", "page:107"), // allowed through project:7
        ("user:1", "change", "page:8"),   // no role there
        ("root", "change", "page:5"),     // superuser
        ("root", "change", "page:7"),     // the deny overrides the superuser
    ] {
        let query = format!("allowed({user}, {perm}, {object})");
        let check = engine.check(&warden::Request::new(user, perm, object).at("2026-11-23T10:00:00Z").unwrap());
        let explanation = engine.explain(&query, &options).unwrap();
        assert_eq!(explanation.holds, check.allowed, "{query}: {}", explanation.to_text());
        assert!(explanation.errors.is_empty(), "{query}: {:?}", explanation.errors);
        if check.allowed {
            assert_eq!(explanation.proofs.len(), 1, "{query}");
        } else {
            let why_not = explanation.why_not.as_ref().unwrap();
            assert!(!why_not.attempts.is_empty(), "{query}: {}", explanation.to_text());
        }
    }
    let text = engine.explain("allowed(user:1, change, page:8)", &options).unwrap().to_text();
    assert!(text.contains("+ assign user:1 editor on project:8;"), "a repair on the page's project: {text}");
}

#[test]
fn the_nearest_miss_is_the_row_that_differs_in_one_value() {
    // django-authority: joe's own row is not approved; the group's row is for another namespace.
    let policy = "
allow U P on O if review(U, P, O, true);
allow U P on O if member(U, G), review(G, P, O, true);
review(joe, flatpages.review, flatpage:1, false);
review(group:editors, wiki.review, flatpage:1, true);
review(ann, flatpages.review, flatpage:1, true);
member(joe, group:editors);
";
    let notes = why_not_notes(policy, "allowed(joe, flatpages.review, flatpage:1)");
    assert!(
        notes.iter().any(|n| n.starts_with("nearest: `review(joe, flatpages.review, flatpage:1, false)` (w.warden:4:1) holds, with false where the rule needs true")),
        "{notes:?}"
    );
    // ann's approved row is someone else's: not a miss of joe's.
    assert!(!notes.iter().any(|n| n.contains("review(ann")), "{notes:?}");
    // The short text leads with it; the verbose text has every rule tried.
    let engine = Engine::from_source("w.warden", policy).unwrap();
    let explanation =
        engine.explain("allowed(joe, flatpages.review, flatpage:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    let short = explanation.to_text();
    assert!(short.lines().nth(3).is_some_and(|l| l.contains("nearest: `review(joe")), "{short}");
    assert!(!short.contains("fails:"), "{short}");
    assert!(explanation.to_text_verbose().contains("fails:"));
}

#[test]
fn a_value_an_earlier_literal_bound_makes_no_near_miss() {
    // `team` binds T=t1; review(t1, page:1, true) fails. review(t2, page:1, true)
    // differs in T, which no question or rule fixed: not a miss.
    let policy =
        "allow U read on O if team(U, O, T), review(T, O, true);\nteam(joe, page:1, t1);\nreview(t2, page:1, true);\n";
    let notes = why_not_notes(policy, "allowed(joe, read, page:1)");
    assert!(!notes.iter().any(|n| n.starts_with("nearest:")), "{notes:?}");
}

#[test]
fn repairs_prefer_the_scope_the_policy_assigns_on() {
    let policy =
        "role editor { write; }\npage:1 in project:a;\npage:2 in project:b;\nassign ann editor on project:b;\n";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let explanation = engine.explain("allowed(bob, write, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    let repairs = explanation.why_not.unwrap().repairs;
    // No direct grants in this policy, and it assigns on projects: that repair first.
    assert_eq!(repairs.first().map(String::as_str), Some("assign bob editor on project:a;"), "{repairs:?}");
    assert!(repairs.contains(&"grant bob write on page:1;".to_string()), "{repairs:?}");
}

#[test]
fn a_condition_that_erred_is_marked_with_an_exclamation_mark() {
    // `true || error` is true (SPEC section 5): the proof holds, and the error is marked.
    let policy = "extern fn risk(u);\nallow U read on O if doc(O), O == d || risk(U) > 3;\ndoc(d);\n";
    let engine = Engine::from_source("p.warden", policy).unwrap();
    let text = engine.explain("allowed(ann, read, d)", &at("2026-11-23T10:00:00Z")).unwrap().to_text_verbose();
    let line = text.lines().find(|l| l.contains("risk(ann) = error")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("! d == d ||") && !line.contains('✓'), "{text}");
}

/// With more candidate repairs than the trials allowed and no grant in the
/// policy, the direct grant is still tried (last): twelve roles grant the
/// permission on five scopes each, but a deny takes it from any role holder.
#[test]
fn a_direct_grant_is_tried_after_every_other_candidate() {
    let mut policy = String::from("role r0 { read; }\ndeny U read on O if has_role(U, R, O);\n");
    for i in 1..12 {
        policy.push_str(&format!("role r{i} extends r{} {{ }}\n", i - 1));
    }
    policy.push_str("page:1 in c1;\nc1 in c2;\nc2 in c3;\nassign bob r0 on c3;\n");
    let engine = Engine::from_source("p.warden", &policy).unwrap_or_else(|e| panic!("{}", e.render(false)));
    let explanation = engine.explain("allowed(alice, read, page:1)", &at("2026-11-23T10:00:00Z")).unwrap();
    let repairs = explanation.why_not.map(|w| w.repairs).unwrap_or_default();
    assert_eq!(repairs, vec!["grant alice read on page:1;".to_string()], "{policy}");
}

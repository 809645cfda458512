//! Roles as data (issue 15): a role declared, extended or given entries by a
//! live update works like the same role written in a policy, only with
//! privileged updates allowed, and never through a condition or an
//! undeclared name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::live::{Live, LiveChanges, LiveFact, Request};

const POLICY: &str = "
role viewer { read; }
page:1 in project:a;
page:2 in project:b;
doc:1 in project:a;
";

fn at(r: Request) -> Request {
    r.at("2026-11-23T10:00:00Z").unwrap()
}

/// Every decision of a small grid, to compare two programs.
fn decisions(live: &Live) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for user in ["alice", "bob"] {
        for perm in ["read", "write", "publish"] {
            for object in ["page:1", "page:2", "doc:1", "page:9"] {
                let allowed = live.check(&at(Request::new(user, perm, object))).allowed;
                out.push((format!("{user} {perm} {object}"), allowed));
            }
        }
    }
    out
}

#[test]
fn a_role_inserted_as_data_decides_like_the_same_role_in_a_policy() {
    let live = Live::from_source("p.warden", POLICY).unwrap().allow_privileged_updates(true);
    live.update(|tx| {
        tx.insert("role curator extends viewer { write on page; publish; }");
        tx.insert("assign alice curator on project:a;");
        tx.insert("assign bob curator on page:2;");
    })
    .unwrap();
    let written = Live::from_source(
        "p.warden",
        &format!(
            "{POLICY}\nrole curator extends viewer {{ write on page; publish; }}\nassign alice curator on project:a;\nassign bob curator on page:2;"
        ),
    )
    .unwrap();
    assert!(live.check(&at(Request::new("alice", "write", "page:1"))).allowed);
    assert!(!live.check(&at(Request::new("alice", "write", "doc:1"))).allowed, "`on page` holds in data too");
    assert_eq!(decisions(&live), decisions(&written));

    // The same role after a reload that keeps the live changes.
    live.reload(LiveChanges::Keep).unwrap();
    assert_eq!(decisions(&live), decisions(&written));
}

#[test]
fn a_role_from_a_data_file_decides_like_the_same_role_in_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), POLICY).unwrap();
    std::fs::write(
        dir.path().join("roles.yaml"),
        "roles:\n  - {name: curator, extends: [viewer], permissions: [publish, {perm: write, on: page}]}\nassign:\n  - {subject: alice, role: curator, on: project:a}\n",
    )
    .unwrap();
    let data = Live::from_paths(&[dir.path().to_path_buf()]).unwrap();
    let written = Live::from_source(
        "p.warden",
        &format!(
            "{POLICY}\nrole curator extends viewer {{ write on page; publish; }}\nassign alice curator on project:a;"
        ),
    )
    .unwrap();
    assert!(data.check(&at(Request::new("alice", "publish", "doc:1"))).allowed);
    assert_eq!(decisions(&data), decisions(&written));
}

#[test]
fn changing_what_a_role_grants_is_privileged_and_declaring_one_is_not() {
    let live = Live::from_source("p.warden", POLICY).unwrap();
    let refused = live.update(|tx| tx.insert("role curator { write; }")).unwrap_err();
    assert!(refused.diagnostics[0].message.contains("privileged"), "{:?}", refused.diagnostics);
    let refused = live.update(|tx| tx.insert("role viewer { write; }")).unwrap_err();
    assert!(refused.diagnostics[0].message.contains("privileged"), "{:?}", refused.diagnostics);

    // A declaration grants nothing, so it needs no privilege.
    live.update(|tx| {
        tx.insert("role curator {}");
        tx.insert("assign alice curator;");
    })
    .unwrap();
    assert!(!live.check(&at(Request::new("alice", "read", "page:1"))).allowed);
}

#[test]
fn an_assignment_of_an_undeclared_role_is_still_an_error() {
    let live = Live::from_source("p.warden", POLICY).unwrap().allow_privileged_updates(true);
    let error = live.update(|tx| tx.insert("assign alice ghost;")).unwrap_err();
    assert!(error.diagnostics[0].message.contains("unknown role `ghost`"), "{:?}", error.diagnostics);
    // An entry of an undeclared role is refused too (the update declares nothing).
    let error = live.update(|tx| tx.insert_fact(role_permission("ghost", "read", None))).unwrap_err();
    assert!(error.diagnostics[0].message.contains("unknown role `ghost`"), "{:?}", error.diagnostics);
}

fn role_permission(role: &str, perm: &str, on: Option<&str>) -> LiveFact {
    LiveFact::RolePermission { role: role.into(), perm: perm.into(), on: on.map(str::to_string) }
}

#[test]
fn removing_a_role_block_takes_its_entries_away_but_never_its_declaration() {
    let live = Live::from_source("p.warden", POLICY).unwrap().allow_privileged_updates(true);
    live.update(|tx| {
        tx.insert("role curator extends viewer { write on page; }");
        tx.insert("assign alice curator;");
    })
    .unwrap();
    assert!(live.check(&at(Request::new("alice", "write", "page:2"))).allowed);
    live.update(|tx| tx.remove("role curator extends viewer { write on page; }")).unwrap();
    assert!(!live.check(&at(Request::new("alice", "write", "page:2"))).allowed);
    assert!(!live.check(&at(Request::new("alice", "read", "page:2"))).allowed, "the edge to viewer is gone");

    let refused = live.update(|tx| tx.remove("role curator {}")).unwrap_err();
    assert!(refused.diagnostics[0].message.contains("cannot undeclare a role"), "{:?}", refused.diagnostics);
    // The assignment still names a declared role, so a reload keeping the changes works.
    live.reload(LiveChanges::Keep).unwrap();
    assert!(!live.check(&at(Request::new("alice", "write", "page:2"))).allowed);
}

#[test]
fn a_conditional_entry_stays_in_policies() {
    let live = Live::from_source("p.warden", POLICY).unwrap().allow_privileged_updates(true);
    let error = live.update(|tx| tx.insert("role night { read if hour(now) > 20; }")).unwrap_err();
    assert!(error.diagnostics[0].message.contains("has a condition"), "{:?}", error.diagnostics);
}

#[test]
fn a_removed_policy_entry_comes_back_on_a_reload_that_drops_the_changes() {
    let live =
        Live::from_source("p.warden", &format!("{POLICY}\nassign bob viewer;")).unwrap().allow_privileged_updates(true);
    assert!(live.check(&at(Request::new("bob", "read", "page:1"))).allowed);
    live.update(|tx| tx.remove("role viewer { read; }")).unwrap();
    assert!(!live.check(&at(Request::new("bob", "read", "page:1"))).allowed);
    live.reload(LiveChanges::Keep).unwrap();
    assert!(!live.check(&at(Request::new("bob", "read", "page:1"))).allowed);
    live.reload(LiveChanges::Drop).unwrap();
    assert!(live.check(&at(Request::new("bob", "read", "page:1"))).allowed);
}

#[test]
fn a_live_edge_names_two_declared_roles() {
    let live = Live::from_source("p.warden", POLICY).unwrap().allow_privileged_updates(true);
    let error = live.update(|tx| tx.insert("role_extends(viewer, ghost);")).unwrap_err();
    assert!(error.diagnostics[0].message.contains("unknown role `ghost`"), "{:?}", error.diagnostics);
    let error = live.update(|tx| tx.insert("role curator extends viewr {}")).unwrap_err();
    assert!(error.diagnostics[0].message.contains("unknown role `viewr`"), "{:?}", error.diagnostics);
}

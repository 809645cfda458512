//! `warden diff`: the decisions a data or policy change adds and removes, with causes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;
use warden::Engine;

const AT: &str = "2026-11-23T10:00:00Z";

fn copy_policies(dir: &Path, edit: impl Fn(&str, String) -> String) {
    for entry in std::fs::read_dir("policies").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(dir.join(&name), edit(&name, text)).unwrap();
    }
}

fn engine(path: &Path) -> Engine {
    Engine::from_paths(&[path.to_path_buf()]).unwrap()
}

#[test]
fn a_data_change_adds_exactly_what_the_new_role_grants() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(dir.path(), |name, text| {
        if name == "data.yaml" {
            text.replace(
                "{subject: alice, role: editor, on: project:apollo}",
                "{subject: alice, role: admin, on: project:apollo}",
            )
        } else {
            text
        }
    });
    let at = warden::time::parse_timestamp(AT).unwrap();
    let report = warden::diff::diff(&engine(Path::new("policies")), &engine(dir.path()), at).unwrap();
    assert!(report.removed.is_empty());
    let added: Vec<(String, String, usize)> =
        report.added.iter().map(|g| (g.user.clone(), g.perm.clone(), g.count)).collect();
    assert_eq!(
        added,
        [
            ("alice".into(), "audit".into(), 4),
            ("alice".into(), "delete".into(), 4),
            ("alice".into(), "export".into(), 1),
            ("alice".into(), "manage".into(), 1)
        ]
    );
    for change in report.added.iter().flat_map(|g| &g.changes) {
        assert!(change.because.starts_with("via assign alice admin on project:apollo ("), "{}", change.because);
        assert!(change.because.contains("data.yaml:"), "{}", change.because);
    }
}

#[test]
fn a_policy_change_removes_what_the_dropped_entry_granted() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(
        dir.path(),
        |name, text| if name == "roles.warden" { text.replace("  export on project;\n", "") } else { text },
    );
    let at = warden::time::parse_timestamp(AT).unwrap();
    let report = warden::diff::diff(&engine(Path::new("policies")), &engine(dir.path()), at).unwrap();
    assert!(report.added.is_empty());
    assert!(!report.removed.is_empty());
    for group in &report.removed {
        assert_eq!(group.perm, "export");
        for change in &group.changes {
            assert!(
                change.because.starts_with("via role auditor grants export on objects of type project"),
                "{}",
                change.because
            );
        }
    }
}

#[test]
fn the_cli_exits_3_on_changes_and_0_without() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(dir.path(), |name, text| {
        if name == "data.yaml" { text.replace("inactive: [frank]", "inactive: []") } else { text }
    });
    let run = |new: &Path, json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command.args(["diff", "policies/", "--"]).arg(new).args(["--at", AT]);
        if json {
            command.arg("--json");
        }
        command.output().unwrap()
    };
    let same = run(Path::new("policies"), false);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 allowed added, 0 removed"));
    let changed = run(dir.path(), false);
    assert_eq!(changed.status.code(), Some(3));
    let text = String::from_utf8_lossy(&changed.stdout);
    assert!(text.contains("+ frank read:"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&run(dir.path(), true).stdout).unwrap();
    assert!(json["added"].as_array().unwrap().iter().any(|g| g["user"] == "frank"));
}

/// `diff` evaluates within the configured limits (it used the defaults).
#[test]
fn diff_honours_the_configured_limits() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["--max-tuples", "5", "diff", "policies/", "--", "policies/"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("more than 5 derived tuples"), "{stderr}");
}

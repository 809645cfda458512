//! The REPL driven through piped stdin, as a script would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::process::{Command, Stdio};

fn repl(files: &[&str], script: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("repl")
        .args(files)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "repl failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_session_queries_changes_and_explains() {
    let out = repl(
        &["policies/"],
        ":at 2026-11-23T10:00:00Z
allowed(eve, write, page:2)
assign eve editor on project:apollo;
:why allowed(eve, write, page:2)
:retract page:2 in project:apollo
:undo
",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"false"), "{out}");
    assert!(lines.contains(&"added"), "{out}");
    assert!(out.contains("allowed(eve, write, page:2) is now true"), "{out}");
    assert!(out.contains("└─ assign eve editor on project:apollo  [<input>:1:1"), "{out}");
    assert!(out.contains("retracted\nallowed(eve, write, page:2) is now false"), "{out}");
    assert!(out.contains("undone\nallowed(eve, write, page:2) is now true"), "{out}");
    assert!(!out.contains('\u{1b}'), "no colour when piped: {out}");
}

#[test]
fn an_open_query_is_a_table_and_changes_are_listed() {
    let out = repl(
        &["policies/"],
        ":at 2026-11-23T10:00:00Z
allowed(U, write, page:2)
assign eve editor on project:apollo;
",
    );
    assert!(out.contains("U\n-------\nalice\ngrace\nops_bot\nroot\n(4 answers)"), "{out}");
    assert!(out.contains("added\nnow: eve"), "{out}");
}

#[test]
fn time_moves_across_an_expiry() {
    let out = repl(
        &["policies/"],
        ":at 2026-11-24T23:59:59Z
allowed(grace, delete, page:1)
:at 2026-11-25T00:00:00Z
:at 2026-11-20T00:00:00Z
:at
",
    );
    assert!(out.contains("true\nat 2026-11-25T00:00:00Z\nallowed(grace, delete, page:1) is now false"), "{out}");
    assert!(
        out.contains("at 2026-11-20T00:00:00Z\nallowed(grace, delete, page:1) is now true\nat 2026-11-20T00:00:00Z"),
        "{out}"
    );
}

#[test]
fn errors_do_not_end_the_session() {
    let out = repl(
        &["policies/"],
        "assign eve;
role broken extends nothing { read; }
allowed(alice,
  read, page:1)
:frobnicate
:why allowed(alice, read page:1)
:retract owner(nobody, page:1)
allowed(alice, read, page:1)
",
    );
    assert!(out.contains("error: syntax error"), "{out}");
    assert!(out.contains("unknown role `nothing`"), "{out}");
    assert!(out.contains("not applied: the program is unchanged"), "{out}");
    assert!(out.contains("unknown command `:frobnicate`"), "{out}");
    assert!(out.contains("cannot retract `owner(nobody, page:1);`"), "{out}");
    assert_eq!(out.lines().filter(|l| *l == "true").count(), 2, "{out}");
}

#[test]
fn inspection_commands() {
    let out = repl(
        &["policies/"],
        ":roles\n:rules locked\n:facts owner\n:relations\n:who delete page:1\n:what henry page:4\n:ctx ip=10.0.0.1\n:ctx\n:help\n",
    );
    assert!(out.contains("admin\n  auditor\n  editor\n    commenter\n      viewer"), "{out}");
    assert!(out.contains("policies/access.warden:10:1: locked(O) :- archived(C), O in C, not restored(O);"), "{out}");
    assert!(out.contains("A1    | A2"), "{out}");
    assert!(out.contains("relation     | arity | tuples | defined at"), "{out}");
    assert!(out.contains("ctx.ip = 10.0.0.1\nctx.ip = 10.0.0.1"), "{out}");
    assert!(out.contains(":whynot ATOM"), "{out}");
}

#[test]
fn load_and_reload_keep_the_last_good_program() {
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.warden");
    std::fs::write(&extra, "grant zoe read on page:1;\n").unwrap();
    let path = extra.display().to_string();
    let out = repl(&["policies/"], &format!(":load {path}\nallowed(zoe, read, page:1)\n:reload\n"));
    assert!(out.contains("loaded\ntrue\nreloaded"), "{out}");
}

#[test]
fn input_completion_rules() {
    use warden::repl::is_complete;
    assert!(is_complete("allowed(alice, read, page:1)"));
    assert!(!is_complete("allowed(alice,"));
    assert!(!is_complete("role r {"));
    assert!(is_complete("role r { read; }"));
    assert!(!is_complete("assign alice r"));
    assert!(is_complete("assign alice r;"));
    assert!(is_complete(":why allowed(a"));
    let coloured = warden::repl::helper::highlight("allow U read on O if owner(U, O); // hi");
    assert!(
        coloured.contains("\u{1b}[1;35mallow\u{1b}[0m")
            && coloured.contains("\u{1b}[36mU\u{1b}[0m")
            && coloured.contains("\u{1b}[2m// hi")
    );
}

//! The REPL driven through piped stdin, as a script would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs a piped session that must succeed; returns its output.
fn repl(files: &[&str], script: &str) -> String {
    let (code, out) = repl_status(files, script);
    assert_eq!(code, Some(0), "repl failed:\n{out}");
    out
}

/// Runs a piped session; returns its exit code and output.
fn repl_status(files: &[&str], script: &str) -> (Option<i32>, String) {
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
    (output.status.code(), String::from_utf8(output.stdout).unwrap() + &String::from_utf8_lossy(&output.stderr))
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
    let (code, out) = repl_status(
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
    assert_eq!(code, Some(1), "a piped session in which an input failed exits 1:\n{out}");
}

/// An input that can never become valid is reported at once; the lines
/// after it (commands included) are not swallowed into an "unfinished
/// statement".
#[test]
fn an_invalid_line_is_reported_at_once_and_the_next_lines_run() {
    let (code, out) = repl_status(
        &["policies/"],
        "allowed(alice, write page:1)\n:at 2026-11-23T10:00:00Z\nallowed(alice, write, page:1)\nallowed(alice, write, page:1]\nallowed(alice, read, page:1)\n",
    );
    assert!(out.contains("error: syntax error"), "{out}");
    assert!(out.contains("at 2026-11-23T10:00:00Z"), "the command after the bad line ran: {out}");
    assert_eq!(out.lines().filter(|l| *l == "true").count(), 2, "{out}");
    assert!(!out.contains("unfinished statement"), "{out}");
    assert_eq!(code, Some(1));
}

#[test]
fn an_unfinished_statement_at_the_end_of_piped_input_exits_1() {
    let (code, out) = repl_status(&["policies/"], "allowed(alice, read, page:1)\nassign eve editor\n");
    assert!(out.contains("unfinished statement"), "{out}");
    assert_eq!(code, Some(1));
}

#[test]
fn files_that_fail_to_load_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.warden");
    std::fs::write(&broken, "role viewer { read;\n").unwrap();
    let (code, out) = repl_status(&[broken.to_str().unwrap()], ":help\n");
    assert!(out.contains("the program has errors"), "{out}");
    assert_eq!(code, Some(1));
}

/// Interactive input: a continuation prompt while a statement is unfinished,
/// an error at once for input that can never become valid, and Ctrl-D (end
/// of input at the continuation prompt) abandons the unfinished statement.
#[test]
fn the_input_buffer_continues_only_at_the_end_of_the_input() {
    use warden::repl::{Feed, InputBuffer};
    let mut buffer = InputBuffer::default();
    assert_eq!(buffer.prompt(), "warden> ");
    assert_eq!(buffer.feed("assign eve"), Feed::More);
    assert_eq!(buffer.prompt(), "   ...> ");
    assert_eq!(
        buffer.feed("  editor on project:apollo;"),
        Feed::Ready("assign eve\n  editor on project:apollo;".into())
    );
    assert_eq!(buffer.prompt(), "warden> ");
    assert_eq!(buffer.feed("role r {"), Feed::More);
    assert_eq!(buffer.abandon(), Some("role r {".to_string()));
    assert_eq!(buffer.prompt(), "warden> ");
    assert_eq!(buffer.abandon(), None);
    // A missing comma can never become valid: handled (and reported) at once.
    assert_eq!(buffer.feed("allowed(alice, write page:1)"), Feed::Ready("allowed(alice, write page:1)".into()));
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
    // Input the parser rejects before its end is complete (an error to report now).
    assert!(is_complete("allowed(alice, write page:1)"));
    assert!(is_complete("allowed(alice, write, page:1]"));
    assert!(is_complete("role r { read; ]"));
    assert!(!is_complete("\"unterminated"));
    assert!(!is_complete("/* open comment"));
    assert!(is_complete("// only a comment"));
    assert!(is_complete("/* a block */"));
    let coloured = warden::repl::helper::highlight("allow U read on O if owner(U, O); // hi");
    assert!(
        coloured.contains("\u{1b}[1;35mallow\u{1b}[0m")
            && coloured.contains("\u{1b}[36mU\u{1b}[0m")
            && coloured.contains("\u{1b}[2m// hi")
    );
}

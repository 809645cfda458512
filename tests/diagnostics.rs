//! `warden check` rejects bad programs and points at the right line.
//!
//! Each case loads a small policy (and, where it matters, a data file) whose
//! error sits on a known line after some valid lines, and checks the exact set
//! of diagnostics: file, line and a piece of the message. Every diagnostic must
//! also render with its `file:line:col` headline and an excerpt of the
//! offending line. The last tests run the `warden` binary itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};
use warden::internals::syntax::span::SourceMap;
use warden::{Engine, LoadError};

const POLICY: &str = "policy.warden";
const DATA: &str = "data.yaml";

// ---------------------------------------------------------------- helpers

/// Loads `files` (name, text) in order, expecting the program to be rejected.
fn load_err(files: &[(&str, &str)]) -> LoadError {
    let mut sources = SourceMap::new();
    for (name, text) in files {
        sources.add(*name, *text);
    }
    match Engine::from_sources(sources) {
        Ok(_) => {
            let listing: Vec<String> = files.iter().map(|(name, text)| format!("--- {name}\n{text}")).collect();
            panic!("expected the program to be rejected, but it loaded:\n{}", listing.join("\n"));
        }
        Err(e) => e,
    }
}

/// Each diagnostic as (file, line, message).
fn located(err: &LoadError) -> Vec<(String, usize, String)> {
    err.diagnostics
        .iter()
        .map(|d| {
            let span =
                d.span.unwrap_or_else(|| panic!("diagnostic without a place: {}\n{}", d.message, err.render(false)));
            let at = err.sources.location(span);
            (at.file, at.line, d.message.clone())
        })
        .collect()
}

/// Every diagnostic renders its `file:line:col: error: message` headline and
/// the text of the line it points at, after that line's number.
fn assert_rendered(err: &LoadError) {
    let rendered = err.render(false);
    for d in &err.diagnostics {
        let Some(span) = d.span else { continue };
        let at = err.sources.location(span);
        let headline = format!("{at}: error: {}", d.message);
        assert!(rendered.contains(&headline), "missing headline `{headline}` in:\n{rendered}");
        let text = err.sources.get(span.file).map_or("", |f| f.line_text(at.line)).trim_end();
        assert!(!text.trim().is_empty(), "diagnostic points at an empty line ({at}):\n{rendered}");
        let excerpt = format!("{} │ {text}", at.line);
        assert!(rendered.contains(&excerpt), "missing source excerpt `{excerpt}` in:\n{rendered}");
    }
}

/// Loads `files`, asserts that loading fails with exactly the `expected`
/// diagnostics — (file, line, substring of the message), in any order — and
/// that each renders properly. Returns the error for further checks.
fn check(files: &[(&str, &str)], expected: &[(&str, usize, &str)]) -> LoadError {
    let err = load_err(files);
    let found = located(&err);
    let context = format!("expected: {expected:#?}\nfound: {found:#?}\nrendered:\n{}", err.render(false));
    assert_eq!(found.len(), expected.len(), "wrong number of diagnostics\n{context}");
    let mut unmatched: Vec<&(String, usize, String)> = found.iter().collect();
    for (file, line, message) in expected {
        let hit = unmatched.iter().position(|(f, l, m)| f.as_str() == *file && *l == *line && m.contains(*message));
        match hit {
            Some(i) => {
                unmatched.remove(i);
            }
            None => panic!("no diagnostic at {file}:{line} containing {message:?}\n{context}"),
        }
    }
    assert_rendered(&err);
    err
}

/// The one diagnostic's message (after `check` has fixed the count).
fn only_message(err: &LoadError) -> &str {
    assert_eq!(err.diagnostics.len(), 1, "{}", err.render(false));
    &err.diagnostics[0].message
}

/// Whether the one diagnostic has a note on `line` (the first definition, the first use).
fn has_note_on_line(err: &LoadError, file: &str, line: usize) -> bool {
    err.diagnostics.iter().flat_map(|d| &d.notes).any(|(span, _)| {
        let at = err.sources.location(*span);
        at.file == file && at.line == line
    })
}

// ---------------------------------------------------------------- syntax

#[test]
fn syntax_error_points_at_the_stray_token() {
    let src = "\
role viewer { read; }
role editor extends viewer { write; }
assign alice editor on project:apollo;
allow U edit on O if owner(U O);
owner(alice, page:7);
";
    check(&[(POLICY, src)], &[(POLICY, 4, "syntax error")]);
}

#[test]
fn every_syntax_error_of_a_file_is_reported() {
    let src = "\
role viewer { read; }
assign alice viewer on project:apollo;
grant bob read on page:7 until tomorrow;
page:7 in project:apollo;
owner(alice page:7);
superuser root;
";
    check(&[(POLICY, src)], &[(POLICY, 3, "syntax error"), (POLICY, 5, "syntax error")]);
}

// ---------------------------------------------------------------- names and arity

#[test]
fn unknown_relation_in_a_rule_body() {
    let src = "\
owner(alice, page:7);
page:7 in project:apollo;
can_edit(U, O) :- owner(U, O);
can_review(U, O) :- reviewer(U, O);
";
    let err = check(&[(POLICY, src)], &[(POLICY, 4, "unknown relation")]);
    assert!(only_message(&err).contains("`reviewer`"));
}

#[test]
fn arity_mismatch_points_at_the_later_use() {
    let src = "\
role viewer { read; }
owner(alice, page:7);
page:7 in project:apollo;
owner(bob);
";
    let err = check(&[(POLICY, src)], &[(POLICY, 4, "arity mismatch")]);
    assert!(has_note_on_line(&err, POLICY, 2), "the first use is named:\n{}", err.render(false));
}

#[test]
fn arity_mismatch_between_policy_and_data_points_at_the_data_file() {
    let src = "\
role viewer { read; }
owner(alice, page:7);
";
    let data = "\
in:
  - [page:7, project:apollo]
facts:
  owner:
    - [carol]
";
    let err = check(&[(POLICY, src), (DATA, data)], &[(DATA, 5, "arity mismatch")]);
    assert!(has_note_on_line(&err, POLICY, 2), "the first use is named:\n{}", err.render(false));
}

#[test]
fn derived_relation_cannot_be_defined() {
    let src = "\
role viewer { read; }
owner(alice, page:7);
allowed(alice, read, page:7);
";
    check(&[(POLICY, src)], &[(POLICY, 3, "derived")]);
}

// ---------------------------------------------------------------- safety and stratification

#[test]
fn unsafe_head_variable_in_a_plain_rule() {
    let src = "\
owner(alice, page:7);
page:7 in project:apollo;
editor_of(U, O) :- owner(U, _);
";
    let err = check(&[(POLICY, src)], &[(POLICY, 3, "unsafe rule")]);
    assert!(only_message(&err).contains("`O`"));
}

#[test]
fn negation_through_recursion_names_the_cycle() {
    let src = "\
member(alice);
member(bob);
p(X) :- member(X), not r(X);
r(X) :- p(X);
";
    let err = check(&[(POLICY, src)], &[(POLICY, 3, "negation through recursion")]);
    let message = only_message(&err);
    assert!(message.contains("`p`") && message.contains("`r`"), "{message}");
}

// ---------------------------------------------------------------- roles

#[test]
fn cycle_in_extends_names_both_roles() {
    let src = "\
role viewer { read; }
role editor extends reviewer { write; }
role reviewer extends editor { comment; }
";
    let err = check(&[(POLICY, src)], &[(POLICY, 3, "cycle in `extends`")]);
    let message = only_message(&err);
    assert!(message.contains("editor") && message.contains("reviewer"), "{message}");
}

#[test]
fn duplicate_role_points_at_the_second_definition() {
    let src = "\
role viewer { read; }
role editor extends viewer { write; }
role viewer { comment; }
";
    let err = check(&[(POLICY, src)], &[(POLICY, 3, "defined twice")]);
    assert!(has_note_on_line(&err, POLICY, 1), "the first definition is named:\n{}", err.render(false));
}

#[test]
fn unknown_role_in_assign() {
    let src = "\
role viewer { read; }
role admin extends viewer { delete; }
assign alice viewer on project:apollo;
assign bob admn;
";
    let err = check(&[(POLICY, src)], &[(POLICY, 4, "unknown role")]);
    assert!(only_message(&err).contains("`admn`"));
}

#[test]
fn unknown_role_in_data_file_assign() {
    let src = "\
role viewer { read; }
role admin extends viewer { delete; }
";
    let data = "\
in:
  - [page:7, project:apollo]
assign:
  - {subject: alice, role: viewer, on: project:apollo}
  - {subject: bob, role: admn}
";
    check(&[(POLICY, src), (DATA, data)], &[(DATA, 5, "unknown role")]);
}

#[test]
fn variable_in_a_role_entry_condition() {
    let src = "\
role viewer { read; }
role editor extends viewer {
  write;
  publish if U == alice;
}
";
    check(&[(POLICY, src)], &[(POLICY, 4, "cannot use variables")]);
}

// ---------------------------------------------------------------- functions

#[test]
fn mutually_recursive_functions_are_one_error_naming_both() {
    // SPEC section 8: a cycle is reported once, at one statement of it, with
    // every member named in the message.
    let src = "\
fn business_hours(t) = hour(t) >= 9 && hour(t) < 17;
fn f(x) = g(x);
fn g(x) = f(x);
";
    let err = load_err(&[(POLICY, src)]);
    let found = located(&err);
    let rendered = err.render(false);
    assert_eq!(found.len(), 1, "one cycle, one error; found {found:#?}\n{rendered}");
    let (file, line, message) = &found[0];
    assert!(file == POLICY && (*line == 2 || *line == 3), "points into the cycle: {found:#?}\n{rendered}");
    assert!(message.contains("recursive function"), "{message}");
    assert!(message.contains('f') && message.contains('g'), "{message}");
    assert_rendered(&err);
}

#[test]
fn self_recursive_function() {
    let src = "\
fn business_hours(t) = hour(t) >= 9 && hour(t) < 17;
fn countdown(n) = n > 0 && countdown(n - 1);
";
    check(&[(POLICY, src)], &[(POLICY, 2, "recursive function")]);
}

#[test]
fn duplicate_fn_points_at_the_second_definition() {
    let src = "\
fn business_hours(t) = hour(t) >= 9;
role clerk { stamp if business_hours(now); }
fn business_hours(t) = hour(t) < 17;
";
    let err = check(&[(POLICY, src)], &[(POLICY, 3, "defined twice")]);
    assert!(has_note_on_line(&err, POLICY, 1), "the first definition is named:\n{}", err.render(false));
}

#[test]
fn unknown_function_inside_an_expression() {
    let src = "\
role viewer { read; }
owner(alice, page:7);
allow U edit on O if owner(U, O), hours(now) > 3;
";
    let err = check(&[(POLICY, src)], &[(POLICY, 3, "unknown function")]);
    assert!(only_message(&err).contains("`hours`"));
}

#[test]
fn unknown_call_at_the_top_of_a_condition_is_an_unknown_relation() {
    let src = "\
role viewer { read; }
owner(alice, page:7);
allow U edit on O if owner(U, O), hours(now);
";
    check(&[(POLICY, src)], &[(POLICY, 3, "unknown relation or function")]);
}

#[test]
fn wrong_number_of_arguments_to_a_builtin() {
    let src = "\
role viewer { read; }
owner(alice, page:7);
allow U edit on O if owner(U, O), hour(now, 1) > 3;
";
    check(&[(POLICY, src)], &[(POLICY, 3, "wrong number of arguments")]);
}

// ---------------------------------------------------------------- constants

#[test]
fn integer_literal_out_of_range() {
    let src = "\
role viewer { read; }
limit(alice, 10);
n(99999999999999999999);
";
    check(&[(POLICY, src)], &[(POLICY, 3, "out of range")]);
}

#[test]
fn invalid_timestamp() {
    let src = "\
role viewer { read; }
assign alice viewer on project:apollo;
assign bob viewer until 2026-13-01T00:00:00Z;
";
    check(&[(POLICY, src)], &[(POLICY, 3, "invalid")]);
}

// ---------------------------------------------------------------- data file shape

const ROLES: &str = "\
role viewer { read; }
role admin extends viewer { delete; }
";

#[test]
fn data_file_unknown_top_level_key() {
    let data = "\
in:
  - [page:7, project:apollo]
grants:
  - {subject: dave, perm: read}
";
    let err = check(&[(POLICY, ROLES), (DATA, data)], &[(DATA, 3, "unknown field `grants`")]);
    assert!(only_message(&err).contains("invalid data file"));
}

#[test]
fn data_file_unknown_field_in_an_assign_row() {
    let data = "\
assign:
  - {subject: alice, role: viewer}
  - {subject: bob, role: viewer, scope: project:apollo}
";
    check(&[(POLICY, ROLES), (DATA, data)], &[(DATA, 3, "unknown field `scope`")]);
}

#[test]
fn data_file_in_row_of_the_wrong_length() {
    let data = "\
in:
  - [page:7, project:apollo]
  - [page:8, project:apollo, extra]
";
    check(&[(POLICY, ROLES), (DATA, data)], &[(DATA, 3, "invalid length 3")]);
}

// ---------------------------------------------------------------- negative control

const GOOD: &str = r#"// A small wiki: roles, data, rules, functions and a test.
role viewer { read; }
role editor extends viewer { write; comment on page; }
role clerk { stamp if business_hours(now), ctx.ip != "0.0.0.0"; }

assign alice editor on project:apollo;
assign bob viewer until 2026-12-01T00:00:00Z;
assign group:staff viewer on project:apollo;
grant dave read on page:7;
grant erin export;

page:7 in project:apollo;
carol in group:staff;
superuser root;
inactive mallory;

owner(alice, page:7);
archived(page:9);
restored(page:10);
locked(O) :- archived(O), not restored(O);

fn business_hours(t) = hour(t) >= 9 && hour(t) < 17 && weekday(t) != sat && weekday(t) != sun;
extern fn in_office(ip);

allow U publish on O if owner(U, O), business_hours(now);
allow U edit on O if owner(U, O), in_office(ctx.ip);
deny U delete on O if locked(O);
deny U P on O if ctx.ip == "0.0.0.0";

test "editors write the pages of their project" {
  at 2026-11-23T10:00:00Z;
  assert allowed(alice, write, page:7);
  assert not allowed(carol, write, page:7);
  assert allowed(carol, read, page:7);
}
"#;

const GOOD_DATA: &str = "\
in:
  - [page:8, project:apollo]
assign:
  - {subject: frank, role: viewer, on: page:8, until: 2026-12-01T00:00:00Z}
grant:
  - {subject: gina, perm: read, on: page:8}
superuser: [admin]
inactive: [eve]
facts:
  owner:
    - [frank, page:8]
";

#[test]
fn a_valid_program_loads() {
    let mut sources = SourceMap::new();
    sources.add(POLICY, GOOD);
    sources.add(DATA, GOOD_DATA);
    let engine = match Engine::from_sources(sources) {
        Ok(engine) => engine,
        Err(e) => panic!("a valid program was rejected:\n{}", e.render(false)),
    };
    let outcomes = engine.run_tests();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes.iter().all(|o| o.failure.is_none()), "{outcomes:#?}");
}

// ---------------------------------------------------------------- the binary

/// A policy with a syntax error at 4:30 (the `O` of `owner(U O)`).
const BAD: &str = "\
role viewer { read; }
role editor extends viewer { write; }
assign alice editor on project:apollo;
allow U edit on O if owner(U O);
owner(alice, page:7);
";

/// Runs `warden ARGS` in `dir`.
fn warden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the warden binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temporary directory holding `bad.warden` and `good.warden`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("bad.warden"), BAD).expect("write bad.warden");
    std::fs::write(dir.path().join("good.warden"), GOOD).expect("write good.warden");
    dir
}

#[test]
fn cli_check_reports_file_line_and_column() {
    let dir = workdir();
    let out = warden(dir.path(), &["check", "bad.warden"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert!(err.contains("bad.warden:4:30"), "stderr:\n{err}");
    assert!(err.contains("syntax error"), "stderr:\n{err}");
    assert!(err.contains("allow U edit on O if owner(U O);"), "a source excerpt; stderr:\n{err}");
    assert!(!err.contains('\u{1b}'), "no colour when stderr is not a terminal; stderr:\n{err}");
}

#[test]
fn cli_check_accepts_a_valid_program() {
    let dir = workdir();
    let out = warden(dir.path(), &["check", "good.warden"]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
}

#[test]
fn cli_check_without_files_is_a_usage_error() {
    let dir = workdir();
    let out = warden(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
}

#[test]
fn cli_query_with_a_malformed_query_fails() {
    let dir = workdir();
    let out = warden(dir.path(), &["query", "good.warden", "-q", "allowed(alice,"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert!(err.contains("syntax error"), "stderr:\n{err}");
}

#[test]
fn cli_query_with_a_bad_time_fails() {
    let dir = workdir();
    let out =
        warden(dir.path(), &["query", "good.warden", "-q", "allowed(alice, write, page:7)", "--at", "not-a-time"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert!(err.contains("--at"), "stderr:\n{err}");
}

#[test]
fn cli_query_with_a_bad_context_fails() {
    let dir = workdir();
    let out = warden(dir.path(), &["query", "good.warden", "-q", "allowed(alice, write, page:7)", "--ctx", "novalue"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert!(err.contains("--ctx"), "stderr:\n{err}");
}

// ---------------------------------------------------------------- duplicate keys in data files

/// A relation written twice under `facts:` (one section per exported table)
/// used to keep only the last list: the first list's rows were dropped.
#[test]
fn a_relation_written_twice_under_facts_names_both_lines() {
    let data = "facts:\n  locked:\n    - [page:1]\n  owner:\n    - [alice, page:1]\n  locked:\n    - [page:2]\n";
    let err = check(&[(DATA, data)], &[(DATA, 6, "duplicate key `locked` (first at line 2)")]);
    assert!(has_note_on_line(&err, DATA, 2), "{}", err.render(false));
}

#[test]
fn a_top_level_section_written_twice_names_both_lines() {
    let data = "in:\n  - [page:1, project:a]\nsuperuser: [root]\nin:\n  - [page:2, project:a]\n";
    let err = check(&[(DATA, data)], &[(DATA, 4, "duplicate key `in` (first at line 1)")]);
    assert!(has_note_on_line(&err, DATA, 1), "{}", err.render(false));
}

#[test]
fn a_field_written_twice_in_a_row_names_both_places() {
    let data = "assign:\n  - subject: alice\n    role: viewer\n    subject: mallory\n";
    let err = check(
        &[(POLICY, "role viewer { read; }\n"), (DATA, data)],
        &[(DATA, 4, "duplicate key `subject` (first at line 2)")],
    );
    assert!(has_note_on_line(&err, DATA, 2), "{}", err.render(false));
}

#[test]
fn duplicate_keys_in_json_flow_style_name_both_places() {
    let data = "{\"facts\": {\"locked\": [[\"page:1\"]],\n \"locked\": [[\"page:2\"]]}}\n";
    let err = check(&[(DATA, data)], &[(DATA, 2, "duplicate key `locked` (first at line 1)")]);
    assert!(has_note_on_line(&err, DATA, 1), "{}", err.render(false));
}

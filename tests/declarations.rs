//! `relation NAME(TYPE, ...);` (SPEC section 9): a declared relation may be
//! empty; facts that do not fit its columns are errors at the fact, in
//! policies, data files and live updates alike; `NAME: []` in a data file
//! declares NAME with no facts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use warden::{Engine, Live, LiveChanges, Request};

const ACCESS: &str = "
role editor { write on page; }
assign ann editor;
locked(O) :- archived(C), O in C, not restored(O);
deny U write on O if locked(O);
page:1 in project:a;
archived(project:a);
";

fn load_error(text: &str) -> String {
    Engine::from_source("p.warden", text).err().map(|e| e.render(false)).unwrap_or_default()
}

fn write_allowed(engine: &Engine) -> bool {
    engine.check(&Request::new("ann", "write", "page:1").at_micros(0)).allowed
}

#[test]
fn a_declared_relation_may_be_empty_and_an_undeclared_one_may_not() {
    let error = load_error(ACCESS);
    assert!(error.contains("restored"), "an undeclared relation with no facts or rules is still an error: {error}");
    let engine = Engine::from_source("p.warden", &format!("relation restored(page);\n{ACCESS}")).unwrap();
    assert!(!write_allowed(&engine), "page:1 is locked: nothing restores it");
    let engine =
        Engine::from_source("p.warden", &format!("relation restored(page);\n{ACCESS}restored(page:1);\n")).unwrap();
    assert!(write_allowed(&engine));
}

#[test]
fn a_fact_that_does_not_fit_its_columns_is_an_error_at_the_fact() {
    let policy = "relation owner(user, page | doc);\nowner(user:ann, page:1);\nowner(user:ann, doc:2);\nowner(user:bob, folder:3);\n";
    let error = load_error(policy);
    assert!(error.contains("`folder:3` does not fit column 2 of `owner`, declared `page | doc`"), "{error}");
    assert!(error.contains("p.warden:4:"), "the error points at the fact: {error}");
    assert!(error.contains("declared here"), "{error}");
    let error = load_error("relation page_project(page, int);\npage_project(page:1, \"7\");\n");
    assert!(error.contains("does not fit column 2 of `page_project`, declared `int`"), "{error}");
    assert!(Engine::from_source("p.warden", "relation page_project(page, int);\npage_project(page:1, 7);\n").is_ok());
    let error = load_error("relation flag(any);\nrelation flag(string);\nflag(x);\n");
    assert!(error.contains("`flag` is declared twice"), "{error}");
    let error = load_error("relation within(any, any);\n");
    assert!(error.contains("built in and cannot be declared"), "{error}");
}

#[test]
fn data_files_and_live_updates_are_checked_against_declarations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), format!("relation restored(page);\n{ACCESS}")).unwrap();
    std::fs::write(dir.path().join("data.yaml"), "facts:\n  restored:\n    - [page:1]\n    - [doc:9]\n").unwrap();
    let error = Engine::from_paths(&[dir.path().to_path_buf()]).err().map(|e| e.render(false)).unwrap_or_default();
    assert!(error.contains("`doc:9` does not fit column 1 of `restored`"), "{error}");
    assert!(error.contains("data.yaml:4:"), "{error}");

    std::fs::write(dir.path().join("data.yaml"), "facts:\n  restored: []\n").unwrap();
    let live = Live::from_paths(&[dir.path().to_path_buf()]).unwrap();
    let refused = live.update(|tx| tx.insert("restored(doc:9);")).err().map(|e| e.render(false)).unwrap_or_default();
    assert!(refused.contains("does not fit column 1 of `restored`"), "{refused}");
    live.update(|tx| tx.insert("restored(page:1);")).unwrap();
    assert!(live.check(&Request::new("ann", "write", "page:1").at_micros(0)).allowed);
}

/// An export that empties a table: `NAME: []` declares it, the reload is
/// accepted, and the check changes (it used to be rejected, and the old data
/// kept serving).
#[test]
fn an_emptied_table_reloads_and_the_check_changes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), ACCESS).unwrap();
    let data = dir.path().join("data.yaml");
    std::fs::write(&data, "facts:\n  restored:\n    - [page:1]\n").unwrap();
    let paths: Vec<PathBuf> = vec![dir.path().to_path_buf()];
    let live = Live::from_paths(&paths).unwrap();
    let ann = Request::new("ann", "write", "page:1").at_micros(0);
    assert!(live.check(&ann).allowed);
    std::fs::write(&data, "facts:\n  restored: []\n").unwrap();
    live.reload(LiveChanges::Keep).unwrap();
    assert!(!live.check(&ann).allowed, "the page is no longer restored");
}

/// A unary relation may be a flat list, and a data file may be JSON (the
/// same shape as YAML).
#[test]
fn flat_lists_and_json_data_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), format!("relation restored(page);\n{ACCESS}")).unwrap();
    std::fs::write(dir.path().join("data.json"), r#"{"facts": {"restored": ["page:1"], "archived": [["project:b"]]}}"#)
        .unwrap();
    let engine = Engine::from_paths(&[dir.path().to_path_buf()]).unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert!(write_allowed(&engine), "page:1 is restored by the JSON file's flat list");
    std::fs::write(dir.path().join("data.json"), r#"{"facts": {"restored": ["doc:1"]}}"#).unwrap();
    let error = Engine::from_paths(&[dir.path().to_path_buf()]).err().map(|e| e.render(false)).unwrap_or_default();
    assert!(error.contains("data.json") && error.contains("does not fit column 1 of `restored`"), "{error}");
    let yaml = Engine::from_source("d.yaml", "facts:\n  restored: [page:1, page:2]\n  pair: [[a, b]]\n").unwrap();
    let options = warden::RequestOptions::default();
    assert_eq!(yaml.query("restored(X)", &options).unwrap().rows.len(), 2);
    assert_eq!(yaml.query("pair(X, Y)", &options).unwrap().rows, vec![vec!["a".to_string(), "b".to_string()]]);
}

/// Roles as data (`roles:` in a data file) work like `role` blocks: they
/// extend, grant on a type, and are assigned like any other role; an
/// unknown role is still an error.
#[test]
fn roles_defined_in_data_work_like_role_blocks() {
    let data = "
roles:
  - {name: viewer, permissions: [read]}
  - name: editor
    extends: [viewer]
    permissions: [{perm: write, on: page}]
assign:
  - {subject: ann, role: editor}
in:
  - [page:1, project:a]
";
    let engine = Engine::from_source("roles.yaml", data).unwrap_or_else(|e| panic!("{}", e.render(false)));
    let check = |perm: &str, object: &str| engine.check(&Request::new("ann", perm, object).at_micros(0)).allowed;
    assert!(check("read", "page:1"), "inherited from viewer");
    assert!(check("write", "page:1"));
    assert!(!check("write", "project:a"), "write only on pages");
    let block = Engine::from_source("p.warden", "role viewer { read; }\nrole editor extends viewer { write on page; }\nassign ann editor;\npage:1 in project:a;\n").unwrap();
    for (perm, object) in [("read", "page:1"), ("write", "page:1"), ("write", "project:a")] {
        let request = Request::new("ann", perm, object).at_micros(0);
        assert_eq!(block.check(&request).allowed, engine.check(&request).allowed, "{perm} {object}");
    }
    let error =
        Engine::from_source("roles.yaml", "assign:\n  - {subject: ann, role: ghost}\n").err().map(|e| e.render(false));
    assert!(error.unwrap_or_default().contains("ghost"));
}

/// A malformed `roles:` section is refused with the file's name, never read
/// as a role granting something, and a reload of it keeps the running
/// program serving.
#[test]
fn a_malformed_roles_section_is_refused_and_the_running_program_stays() {
    for bad in [
        "roles:\n  - {name: admin, permissions: [{perm: write}]}\n",
        "roles:\n  - {name: admin, grants: [write]}\n",
        "roles:\n  - {permissions: [write]}\n",
    ] {
        let error = Engine::from_source("roles.yaml", bad).err().map(|e| e.render(false)).unwrap_or_default();
        assert!(error.contains("roles.yaml"), "{bad}: {error}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), "assign ann viewer;\npage:1 in project:a;\n").unwrap();
    let data = dir.path().join("roles.yaml");
    std::fs::write(&data, "roles:\n  - {name: viewer, permissions: [read]}\n").unwrap();
    let live = Live::from_paths(&[dir.path().to_path_buf()]).unwrap();
    let ann = Request::new("ann", "write", "page:1").at_micros(0);
    assert!(!live.check(&ann).allowed);
    std::fs::write(&data, "roles:\n  - {name: viewer, permissions: [read, {perm: write}]}\n").unwrap();
    assert!(live.reload(LiveChanges::Keep).is_err());
    assert!(!live.check(&ann).allowed, "the broken file granted nothing");
    assert!(live.check(&Request::new("ann", "read", "page:1").at_micros(0)).allowed, "the old program still serves");
}

fn lint_messages(text: &str) -> Vec<String> {
    let engine = Engine::from_source("p.warden", text).unwrap();
    engine.lints(0).into_iter().map(|d| d.message).collect()
}

#[test]
fn a_join_of_two_declared_columns_that_share_no_value_is_warned_about() {
    let policy = "
relation owner(user, page);
relation doc_folder(doc, folder);
relation note(string, int);
relation count_of(int | bool);
allow U read on O if owner(U, O), doc_folder(O, F), F != folder:0;
allow U write on O if owner(U, O), note(O, N), count_of(N);
shared(O) :- doc_folder(O, _);
relation shared(page);
owner(user:a, page:1);
";
    let messages = lint_messages(policy);
    let joins: Vec<&String> = messages.iter().filter(|m| m.contains("no value is of both types")).collect();
    assert_eq!(
        joins,
        [
            "`O` joins owner's column 2 (`page`) with doc_folder's column 1 (`doc`): no value is of both types",
            "`O` joins shared's column 1 (`page`) with doc_folder's column 1 (`doc`): no value is of both types",
        ],
        "{messages:?}"
    );
    // `string` meets a typed id, `int | bool` meets `int`, `any` meets all: no warning.
    let fine = "relation a(string, any);\nrelation b(page, int | bool);\nallow U read on O if a(O, N), b(O, N);\n";
    assert!(!lint_messages(fine).iter().any(|m| m.contains("both types")));
}

#[test]
fn strict_checks_require_every_relation_to_be_declared() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    let run = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["check", "--strict"])
            .arg(&file)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, stderr) = run(&format!("relation restored(page);\n{ACCESS}"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("relation `locked` is not declared"), "{stderr}");
    assert!(stderr.contains("relation `archived` is not declared"), "{stderr}");
    let declared = format!("relation locked(page);\nrelation archived(project);\nrelation restored(page);\n{ACCESS}");
    let (code, stderr) = run(&declared);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn every_shape_error_of_a_data_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), "role viewer { read; }\n").unwrap();
    std::fs::write(
        dir.path().join("d.yaml"),
        "in:\n  - [page:1]\n  - [page:2, project:a]\nassign:\n  - {subject: a, role: viewer, bogus: 1}\nfacts:\n  x: [[1.5]]\nunknownkey: 3\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("e.json"), r#"{"facts": {"b": [[1.5], [true]]}, "grant": [{"subject": "x"}]}"#)
        .unwrap();
    let error = Engine::from_paths(&[dir.path().to_path_buf()]).unwrap_err();
    let found: Vec<String> = error
        .diagnostics
        .iter()
        .map(|d| {
            let span = d.span.unwrap();
            let file = error.sources.get(span.file).unwrap();
            let (line, col) = file.line_col(span.start as usize);
            let name = std::path::Path::new(&file.name).file_name().unwrap().to_string_lossy().to_string();
            format!("{name}:{line}:{col}: {}", d.message)
        })
        .collect();
    assert_eq!(
        found,
        [
            "d.yaml:2:5: invalid data file: in[0]: invalid length 1, expected a tuple of size 2",
            "d.yaml:5:15: invalid data file: assign[0]: unknown field `bogus`, expected one of `subject`, `role`, `on`, `from`, `until`",
            "d.yaml:7:8: invalid data file: facts.x[0]: `1.5` is not a constant: numbers are integers",
            "d.yaml:8:1: invalid data file: unknown field `unknownkey`, expected one of `in`, `assign`, `grant`, `superuser`, `inactive`, `roles`, `facts`",
            "e.json:1:19: invalid data file: facts.b[0][0]: `1.5` is not a constant: numbers are integers",
            "e.json:1:58: invalid data file: grant[0]: missing field `perm`",
        ]
    );
}

#[test]
fn an_empty_key_or_value_in_a_data_file_is_an_error_not_a_hang() {
    for text in [
        "in: [[a]]\n\"\": 1\n",
        "in: [[a]]\nfacts: {\"\": [[a]]}\n",
        "in: [[a, b]]\nfacts:\n  x: [[\"\"], 1.5]\n",
        "facts:\n  x: [[\"\"]]\n  \"\": [[b]]\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.warden"), "role viewer { read; }\n").unwrap();
        std::fs::write(dir.path().join("d.yaml"), text).unwrap();
        let error = Engine::from_paths(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(!error.diagnostics.is_empty(), "{text}");
    }
}

#[test]
fn a_section_of_the_wrong_shape_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.warden"), "role viewer { read; }\n").unwrap();
    std::fs::write(dir.path().join("d.yaml"), "in: {a: b}\nfacts: 3\n").unwrap();
    let error = Engine::from_paths(&[dir.path().to_path_buf()]).unwrap_err();
    let messages: Vec<&str> = error.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("invalid data file: in: invalid type"), "{messages:?}");
    assert!(messages[1].contains("`facts` holds a map"), "{messages:?}");
}

#[test]
fn strict_checks_count_an_empty_data_file_list_as_a_declaration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.warden"),
        format!("relation locked(page);\nrelation archived(project);\n{ACCESS}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("d.yaml"), "facts:\n  restored: []\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["check", "--strict"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

//! Facts from a real SQLite file (issue 18): the first read decides like the
//! same facts written as statements; after random transactions (rolled back
//! ones among them), a refresh decides like a fresh load; a bad read names
//! its source and row, and the running program stays.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden::live::{Live, Request};
use warden::sources::Config;
use warden::{Engine, LiveFact};

const POLICY: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
relation owner(user, page);
allow U delete on P if owner(U, P);
";

const SOURCES: &str = r#"
[database]
sqlite = "wiki.sqlite3"
watch = ["auth_user", "auth_user_groups", "wiki_page", "assignment"]

[sources]
in = [
  { query = "SELECT user_id, group_id FROM auth_user_groups", types = ["user", "group"] },
  { query = "SELECT id, project_id FROM wiki_page", types = ["page", "project"] },
]
assign = "SELECT subject, role, scope, valid_from, valid_until FROM assignment"
superuser = { query = "SELECT id FROM auth_user WHERE is_superuser", types = ["user"] }
inactive = { query = "SELECT id FROM auth_user WHERE NOT is_active", types = ["user"] }
owner = { query = "SELECT owner_id, id FROM wiki_page WHERE owner_id IS NOT NULL", types = ["user", "page"] }
"#;

const SCHEMA: &str = "
CREATE TABLE auth_user (id INTEGER PRIMARY KEY, is_superuser INTEGER NOT NULL, is_active INTEGER NOT NULL);
CREATE TABLE auth_user_groups (user_id INTEGER NOT NULL, group_id INTEGER NOT NULL);
CREATE TABLE wiki_page (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, owner_id INTEGER);
CREATE TABLE assignment (subject TEXT NOT NULL, role TEXT, scope TEXT, valid_from TEXT, valid_until TEXT);
";

const AT: &str = "2026-06-01T12:00:00Z";
const BOUNDS: [Option<&str>; 3] = [None, Some("2026-01-01 00:00:00"), Some("2026-12-31 23:59:59.5")];

/// The rows of every table.
#[derive(Clone, Debug)]
struct Data {
    /// (superuser, active) per user id.
    users: Vec<(bool, bool)>,
    memberships: Vec<(u8, u8)>,
    /// (project, owner) per page id.
    pages: Vec<(u8, Option<u8>)>,
    /// (subject, role, scope, from, until): indexes into the choices below.
    assignments: Vec<(u8, u8, u8, u8, u8)>,
}

const SUBJECTS: [&str; 5] = ["user:0", "user:1", "user:2", "group:0", "group:1"];
const ROLES: [&str; 2] = ["viewer", "editor"];
const SCOPES: [Option<&str>; 4] = [None, Some("project:0"), Some("project:1"), Some("page:2")];

fn data() -> impl Strategy<Value = Data> {
    (
        prop::collection::vec((prop::bool::weighted(0.15), prop::bool::weighted(0.85)), 3),
        prop::collection::vec((0u8..3, 0u8..2), 0..4),
        prop::collection::vec((0u8..2, prop::option::of(0u8..3)), 1..5),
        prop::collection::vec((0u8..5, 0u8..2, 0u8..4, 0u8..3, 0u8..3), 0..6),
    )
        .prop_map(|(users, memberships, pages, assignments)| Data { users, memberships, pages, assignments })
}

/// Replaces the database's rows with `data`, in one transaction.
fn write(connection: &mut Connection, data: &Data) {
    let tx = connection.transaction().unwrap();
    for table in ["auth_user", "auth_user_groups", "wiki_page", "assignment"] {
        tx.execute(&format!("DELETE FROM {table}"), []).unwrap();
    }
    for (id, (superuser, active)) in data.users.iter().enumerate() {
        tx.execute("INSERT INTO auth_user VALUES (?1, ?2, ?3)", params![id as i64, superuser, active]).unwrap();
    }
    for (user, group) in &data.memberships {
        tx.execute("INSERT INTO auth_user_groups VALUES (?1, ?2)", params![user, group]).unwrap();
    }
    for (id, (project, owner)) in data.pages.iter().enumerate() {
        tx.execute("INSERT INTO wiki_page VALUES (?1, ?2, ?3)", params![id as i64, project, owner]).unwrap();
    }
    for &(subject, role, scope, from, until) in &data.assignments {
        tx.execute(
            "INSERT INTO assignment VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                SUBJECTS[subject as usize],
                ROLES[role as usize],
                SCOPES[scope as usize],
                BOUNDS[from as usize],
                BOUNDS[until as usize]
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The same facts as policy statements.
fn statements(data: &Data) -> String {
    let mut out = String::from(POLICY);
    let time = |i: u8| BOUNDS[i as usize].map(|t| warden::sources::parse_sql_timestamp(t).unwrap());
    let mut facts = Vec::new();
    for (id, (superuser, active)) in data.users.iter().enumerate() {
        if *superuser {
            facts.push(LiveFact::Superuser(format!("user:{id}")));
        }
        if !active {
            facts.push(LiveFact::Inactive(format!("user:{id}")));
        }
    }
    for (user, group) in &data.memberships {
        facts.push(LiveFact::In { member: format!("user:{user}"), container: format!("group:{group}") });
    }
    for (id, (project, owner)) in data.pages.iter().enumerate() {
        facts.push(LiveFact::In { member: format!("page:{id}"), container: format!("project:{project}") });
        if let Some(owner) = owner {
            let args = vec![format!("user:{owner}"), format!("page:{id}")];
            facts.push(LiveFact::Relation {
                name: "owner".into(),
                args: args.into_iter().map(warden::internals::syntax::ast::Constant::Str).collect(),
            });
        }
    }
    for &(subject, role, scope, from, until) in &data.assignments {
        facts.push(LiveFact::Assign(warden::live::Holding {
            subject: SUBJECTS[subject as usize].into(),
            what: ROLES[role as usize].into(),
            on: SCOPES[scope as usize].map(String::from),
            from: time(from),
            until: time(until),
        }));
    }
    for fact in facts {
        out.push_str(&fact.to_statement());
        out.push('\n');
    }
    out
}

/// Every decision of a grid of requests.
fn decisions(check: impl Fn(&Request) -> bool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for user in ["user:0", "user:1", "user:2"] {
        for perm in ["read", "write", "delete"] {
            for object in ["page:0", "page:1", "page:2", "page:3", "project:0"] {
                let request = Request::new(user, perm, object).at(AT).unwrap();
                out.push((format!("{user} {perm} {object}"), check(&request)));
            }
        }
    }
    out
}

/// A directory with the policy, the source file and an empty database.
fn setup() -> (tempfile::TempDir, PathBuf, Arc<Config>, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("wiki.warden");
    std::fs::write(&policy, POLICY).unwrap();
    let connection = Connection::open(dir.path().join("wiki.sqlite3")).unwrap();
    connection.execute_batch(SCHEMA).unwrap();
    let config = Arc::new(Config::from_text("warden.toml", SOURCES, dir.path()).unwrap());
    (dir, policy, config, connection)
}

fn live(policy: &Path, config: &Arc<Config>) -> Live {
    Live::with_sources(&[policy.to_path_buf()], config.clone(), Arc::new(|_: &mut Engine| {})).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_refreshed_database_decides_like_its_facts_written_as_statements(first in data(), then in data()) {
        let (_dir, policy, config, mut connection) = setup();
        write(&mut connection, &first);
        let live = live(&policy, &config);
        let written = Engine::from_source("facts.warden", &statements(&first)).unwrap();
        prop_assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| written.check(r).allowed));

        // A transaction rolled back changes nothing; a committed one is read whole.
        let tx = connection.transaction().unwrap();
        tx.execute("UPDATE auth_user SET is_superuser = 1", []).unwrap();
        tx.rollback().unwrap();
        write(&mut connection, &then);
        let version = live.version();
        live.refresh().unwrap();
        let written = Engine::from_source("facts.warden", &statements(&then)).unwrap();
        prop_assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| written.check(r).allowed));
        let fresh = self::live(&policy, &config);
        prop_assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| fresh.check(r).allowed));
        prop_assert!(live.version() >= version);
    }
}

fn sample() -> Data {
    Data {
        users: vec![(false, true), (false, true), (false, true)],
        memberships: vec![(1, 0)],
        pages: vec![(0, Some(2)), (1, None)],
        assignments: vec![(3, 1, 1, 0, 0)],
    }
}

#[test]
fn a_refresh_without_changes_keeps_the_version_and_a_change_raises_it() {
    let (_dir, policy, config, mut connection) = setup();
    write(&mut connection, &sample());
    let live = live(&policy, &config);
    let user1_writes = Request::new("user:1", "write", "page:0").at(AT).unwrap();
    assert!(live.check(&user1_writes).allowed, "user:1 is in group:0, an editor of project:0");
    assert!(!live.refresh().unwrap(), "nothing changed");
    let version = live.version();
    connection.execute("DELETE FROM auth_user_groups", []).unwrap();
    assert!(live.wait_for(version + 1, std::time::Duration::from_secs(5)), "the refresh is applied");
    assert!(!live.check(&user1_writes).allowed);
    assert!(live.version() > version);
}

#[test]
fn a_fact_the_files_state_stays_when_the_database_drops_it() {
    let (dir, _, config, mut connection) = setup();
    let policy = dir.path().join("wiki.warden");
    std::fs::write(&policy, format!("{POLICY}\ninactive user:0;\n")).unwrap();
    let mut data = sample();
    data.users[0] = (true, false);
    write(&mut connection, &data);
    let live = live(&policy, &config);
    let read = Request::new("user:0", "read", "page:0").at(AT).unwrap();
    assert!(!live.check(&read).allowed, "user:0 is an inactive superuser");
    connection.execute("UPDATE auth_user SET is_active = 1", []).unwrap();
    live.refresh().unwrap();
    assert!(!live.check(&read).allowed, "the policy still says `inactive user:0;`");
}

#[test]
fn assignment_bounds_in_sql_format_expire() {
    let (_dir, policy, config, mut connection) = setup();
    let mut data = sample();
    data.assignments = vec![(0, 0, 0, 0, 2)];
    write(&mut connection, &data);
    let live = live(&policy, &config);
    let before = Request::new("user:0", "read", "page:1").at("2026-12-31T23:59:59Z").unwrap();
    let after = Request::new("user:0", "read", "page:1").at("2026-12-31T23:59:59.6Z").unwrap();
    assert!(live.check(&before).allowed);
    assert!(!live.check(&after).allowed, "the assignment ends at 23:59:59.5");
}

/// Reads the database after `break_it` and returns the refresh's error; the
/// program keeps deciding as before.
fn refresh_error(break_it: &str) -> String {
    let (_dir, policy, config, mut connection) = setup();
    write(&mut connection, &sample());
    let live = live(&policy, &config);
    let before = decisions(|r| live.check(r).allowed);
    connection.execute_batch(break_it).unwrap();
    let error = live.refresh().expect_err("the read fails");
    assert_eq!(decisions(|r| live.check(r).allowed), before, "the last good read stays");
    error.render(false)
}

#[test]
fn a_null_where_a_name_is_wanted_names_the_source_and_the_row() {
    let error = refresh_error("INSERT INTO assignment VALUES ('user:0', NULL, NULL, NULL, NULL);");
    assert!(error.contains("source `assign`, row 2"), "{error}");
    assert!(error.contains("column 2 is NULL"), "{error}");
}

#[test]
fn a_real_number_a_bad_timestamp_and_a_missing_table_are_errors() {
    let error = refresh_error("INSERT INTO auth_user_groups VALUES (1.5, 0);");
    assert!(error.contains("source `in`") && error.contains("real number 1.5"), "{error}");
    let error = refresh_error("INSERT INTO assignment VALUES ('user:0', 'viewer', NULL, 'tomorrow', NULL);");
    assert!(error.contains("`tomorrow` is not a timestamp"), "{error}");
    let error = refresh_error("DROP TABLE wiki_page;");
    assert!(error.contains("source `in`") && error.contains("no such table"), "{error}");
}

#[test]
fn a_blob_is_an_error_and_a_writing_query_is_refused_without_writing() {
    let error = refresh_error("INSERT INTO assignment VALUES ('user:0', X'00', NULL, NULL, NULL);");
    assert!(error.contains("source `assign`") && error.contains("column 2 is a blob"), "{error}");
    let (dir, policy, _, mut connection) = setup();
    write(&mut connection, &sample());
    let text =
        "[database]\nsqlite = \"wiki.sqlite3\"\n[sources]\nowner = \"DELETE FROM wiki_page RETURNING owner_id, id\"\n";
    let config = Arc::new(Config::from_text("warden.toml", text, dir.path()).unwrap());
    let error = Live::with_sources(std::slice::from_ref(&policy), config, Arc::new(|_: &mut Engine| {}))
        .err()
        .unwrap()
        .render(false);
    assert!(error.contains("a source may only read"), "{error}");
    let pages: i64 = connection.query_row("SELECT count(*) FROM wiki_page", [], |row| row.get(0)).unwrap();
    assert_eq!(pages as usize, sample().pages.len(), "nothing was deleted");
}

#[test]
fn a_source_for_an_undeclared_relation_or_of_the_wrong_width_is_refused() {
    let (dir, policy, _, mut connection) = setup();
    write(&mut connection, &sample());
    let config = |text: &str| Arc::new(Config::from_text("warden.toml", text, dir.path()).unwrap());
    let open = |config: Arc<Config>| {
        Live::with_sources(std::slice::from_ref(&policy), config, Arc::new(|_: &mut Engine| {}))
            .err()
            .unwrap()
            .render(false)
    };
    let undeclared = config("[database]\nsqlite = \"wiki.sqlite3\"\n[sources]\nmember = \"SELECT 1\"\n");
    assert!(open(undeclared).contains("does not declare"));
    let wide = config("[database]\nsqlite = \"wiki.sqlite3\"\n[sources]\nowner = \"SELECT 'user:1', 'page:1', 3\"\n");
    assert!(open(wide).contains("returns 3 columns; `owner` has 2"));
    let writes = config("[database]\nsqlite = \"wiki.sqlite3\"\n[sources]\nsuperuser = \"DELETE FROM auth_user\"\n");
    assert!(open(writes).contains("only read"));
}

#[test]
fn a_source_file_with_a_mistake_points_at_it() {
    let error = Config::from_text("warden.toml", "[database]\nsqlite = 3\n", Path::new(".")).err().unwrap();
    let rendered = warden::diagnostics::render(&error.0, &error.1, false);
    assert!(rendered.contains("warden.toml:2"), "{rendered}");
}

#[test]
fn with_the_version_table_the_version_is_the_databases() {
    let (_dir, policy, config, mut connection) = setup();
    write(&mut connection, &sample());
    let engine = Engine::from_paths(std::slice::from_ref(&policy)).unwrap();
    warden::sources::Sources::open(config.clone(), &engine).unwrap().install().unwrap();
    let live = live(&policy, &config);
    let token = |c: &Connection| c.query_row("SELECT version FROM warden_version", [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(live.version(), token(&connection) as u64);
    connection.execute("INSERT INTO auth_user_groups VALUES (0, 0)", []).unwrap();
    let written = token(&connection) as u64;
    assert!(written > live.version(), "the trigger raised the version");
    assert!(live.wait_for(written, std::time::Duration::from_secs(5)));
    assert_eq!(live.version(), written);
    assert!(live.check(&Request::new("user:0", "write", "page:0").at(AT).unwrap()).allowed);
}

#[test]
fn a_star_from_a_row_is_refused_not_read_as_every_object() {
    let error = refresh_error("INSERT INTO assignment VALUES ('user:0', 'editor', '*', NULL, NULL);");
    assert!(error.contains("source `assign`") && error.contains("`*`"), "{error}");
    let error = refresh_error("INSERT INTO assignment VALUES ('user:0', 'editor', 'page:*', NULL, NULL);");
    assert!(error.contains("`page:*`"), "{error}");
}

#[test]
fn a_read_the_program_refuses_is_read_again_and_stays_an_error() {
    let (_dir, policy, config, mut connection) = setup();
    write(&mut connection, &sample());
    let live = live(&policy, &config);
    connection.execute("INSERT INTO assignment VALUES ('user:0', 'nosuchrole', NULL, NULL, NULL)", []).unwrap();
    assert!(live.refresh().is_err(), "an undeclared role does not load");
    assert!(live.refresh().is_err(), "the same read is refused again, not taken as read");
    assert!(live.database_status().unwrap().error.is_some());
    connection.execute("DELETE FROM assignment WHERE role = 'nosuchrole'", []).unwrap();
    connection.execute("DELETE FROM auth_user_groups", []).unwrap();
    live.refresh().unwrap();
    assert!(live.database_status().unwrap().error.is_none());
    let fresh = self::live(&policy, &config);
    assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| fresh.check(r).allowed));
}

//! `Engine::filter` rendered as SQL and run on a real database: the rows
//! `SELECT ... WHERE <filter>` returns are exactly those a check allows,
//! on random programs (deny rules, expiring assignments, nested
//! containment, superusers, `*` answers), with integer keys and whole
//! names, inline parameters and one array (JSON on SQLite) parameter. On
//! SQLite always, on PostgreSQL under `scripts/with-postgres`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod random_programs;

use proptest::prelude::*;
use random_programs::{Rng, random_timed_program};
use warden::filter::{Dialect, Key, Sql, SqlParam, SqlTarget};
use warden::{Engine, Request, RequestOptions};

/// Pages the program names (within containers, nested, through plain
/// relations, granted) and rows it does not (10 to 12: fresh pages).
const PAGES: &str = "page:2 in c;\npage:3 in page:2;\npage:4 in b;\ne2(a, page:5);\ne1(page:6, b);\ngrant b read on page:7;\nassign d t1 on page:8 until 2026-06-01T00:00:00Z;\n";
const ROWS: std::ops::RangeInclusive<i64> = 1..=12;
/// Rows that are no page: no key, a name of another type, a bare `page:`.
const OTHER_ROWS: &str = "INSERT INTO page VALUES (NULL, NULL, NULL); INSERT INTO page VALUES (NULL, 'doc:3', NULL); INSERT INTO page VALUES (NULL, 'page:', NULL);";

/// A database table `page(id, name)`, one row per id in [`ROWS`], and a
/// row without a key.
struct Database {
    _dir: tempfile::TempDir,
    sqlite: rusqlite::Connection,
    postgres: Option<postgres::Client>,
}

impl Database {
    fn open() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = rusqlite::Connection::open(dir.path().join("app.sqlite3")).unwrap();
        sqlite.execute_batch("CREATE TABLE page (id INTEGER, name TEXT, key TEXT);").unwrap();
        for id in ROWS {
            let row = rusqlite::params![id, format!("page:{id}"), id.to_string()];
            sqlite.execute("INSERT INTO page VALUES (?1, ?2, ?3)", row).unwrap();
        }
        sqlite.execute_batch(OTHER_ROWS).unwrap();
        let postgres = std::env::var("WARDEN_TEST_POSTGRES").ok().map(|url| {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            // A temporary table: this connection's own, gone with it.
            client.batch_execute("CREATE TEMPORARY TABLE page (id integer, name text, key text)").unwrap();
            for id in ROWS {
                let row: [&(dyn postgres::types::ToSql + Sync); 3] =
                    [&(id as i32), &format!("page:{id}"), &id.to_string()];
                client.execute("INSERT INTO page VALUES ($1, $2, $3)", &row).unwrap();
            }
            client.batch_execute(OTHER_ROWS).unwrap();
            client
        });
        if postgres.is_none() {
            eprintln!(
                "PostgreSQL skipped: WARDEN_TEST_POSTGRES is not set (scripts/test runs the suite under scripts/with-postgres)"
            );
        }
        Database { _dir: dir, sqlite, postgres }
    }

    /// The pages `sql` selects by `column` (which holds them as `key` says), sorted.
    fn select(&mut self, dialect: Dialect, column: &str, key: Key, sql: &Sql) -> Vec<String> {
        let query = format!("SELECT CAST({column} AS TEXT) FROM page WHERE {} ORDER BY id", sql.condition);
        let texts: Vec<Option<String>> = match dialect {
            Dialect::Sqlite => {
                let params = sql.params.iter().map(|param| match param {
                    SqlParam::Integer(n) => rusqlite::types::Value::Integer(*n),
                    SqlParam::Text(t) => rusqlite::types::Value::Text(t.clone()),
                    other => panic!("no array parameter on SQLite: {other:?}"),
                });
                let mut statement = self.sqlite.prepare(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
                let rows = statement.query_map(rusqlite::params_from_iter(params), |row| row.get(0)).unwrap();
                rows.map(Result::unwrap).collect()
            }
            Dialect::Postgres => {
                let client = self.postgres.as_mut().unwrap();
                let params: Vec<Box<dyn postgres::types::ToSql + Sync>> = sql
                    .params
                    .iter()
                    .map(|param| -> Box<dyn postgres::types::ToSql + Sync> {
                        match param {
                            SqlParam::Integer(n) => Box::new(*n),
                            SqlParam::Text(t) => Box::new(t.clone()),
                            SqlParam::IntegerArray(a) => Box::new(a.clone()),
                            SqlParam::TextArray(a) => Box::new(a.clone()),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
                let rows = client.query(&query, &refs).unwrap_or_else(|e| panic!("{query}: {e}"));
                rows.iter().map(|row| row.get(0)).collect()
            }
        };
        let mut pages: Vec<String> = texts
            .into_iter()
            .map(|text| text.unwrap_or_else(|| panic!("{query} selected a row without a key")))
            .map(|text| if key == Key::Name { text } else { format!("page:{text}") })
            .collect();
        pages.sort();
        pages
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_filter_selects_exactly_the_rows_a_check_allows(seed in any::<u64>(), picks in prop::collection::vec(any::<u64>(), 4)) {
        let source = format!("{}{PAGES}", random_timed_program(seed));
        let engine = Engine::from_source("random.warden", &source)
            .unwrap_or_else(|e| panic!("generated program does not load:\n{source}\n{}", e.render(false)));
        let mut database = Database::open();
        let mut rng = Rng(picks[0]);
        let times = ["2025-12-31T09:30:00Z", "2026-03-02T13:00:00Z", "2027-02-01T20:00:00Z"];
        for _ in &picks {
            let at = warden::time::parse_timestamp(rng.pick(&times)).unwrap();
            let mut options = RequestOptions { at: Some(at), ..RequestOptions::default() };
            if rng.chance(40) {
                options.ctx.insert("k".into(), rng.pick(&["a", "page:9", "page:11"]).into());
            }
            let user = rng.pick(&["a", "b", "c", "d", "zz"]);
            let perm = rng.pick(&["read", "write", "comment", "share"]);
            let filter = engine.filter(user, perm, "page", &options).unwrap();
            let checked = |id: &i64| {
                let mut request = Request::new(user, perm, format!("page:{id}")).at_micros(at);
                request.ctx = options.ctx.clone();
                engine.is_allowed(&request)
            };
            let allowed: Vec<i64> = ROWS.filter(checked).collect();
            for id in ROWS {
                let admits = filter.admits(&format!("page:{id}")).unwrap_or_else(|| checked(&id));
                prop_assert_eq!(admits, allowed.contains(&id), "page:{} {:?}", id, filter);
            }
            let inline_max = if rng.chance(50) { 0 } else { 100 };
            let dialects: &[Dialect] = if database.postgres.is_some() { &[Dialect::Sqlite, Dialect::Postgres] } else { &[Dialect::Sqlite] };
            let mut allowed_pages: Vec<String> = allowed.iter().map(|id| format!("page:{id}")).collect();
            allowed_pages.sort();
            for &dialect in dialects {
                for (column, key) in [("id", Key::Integer), ("page.key", Key::Text), ("name", Key::Name)] {
                    let target = SqlTarget { inline_max, ..SqlTarget::new(dialect, column, key) };
                    let sql = filter.to_sql(&target).unwrap();
                    let mut selected = database.select(dialect, column, key, &sql);
                    if sql.check_each_row {
                        // A superset, every row then checked.
                        prop_assert!(allowed_pages.iter().all(|page| selected.contains(page)), "{:?} misses allowed rows", sql);
                        selected.retain(|page| checked(&page["page:".len()..].parse().unwrap()));
                    }
                    prop_assert_eq!(
                        &selected, &allowed_pages,
                        "{} {} page on {:?} by {}: {:?}\nfilter: {:?}\nprogram:\n{}", user, perm, dialect, column, sql, filter, source
                    );
                }
            }
        }
    }
}

/// A superuser's filter is every row with a key but the denied ones; a
/// user with nothing, no row; one with a project role, that project's.
#[test]
fn the_three_shapes_of_a_filter() {
    let source = "role editor { write on page; }\nassign ann editor on project:1;\nsuperuser root;\n\
                  page:1 in project:1;\npage:2 in project:1;\npage:3 in project:2;\nlocked(page:2);\n\
                  deny U write on P if locked(P);\n";
    let engine = Engine::from_source("shapes.warden", source).unwrap();
    let options = RequestOptions::default();
    let target = SqlTarget::new(Dialect::Sqlite, "id", Key::Integer);
    let root = engine.filter("root", "write", "page", &options).unwrap();
    assert_eq!(root.residual, warden::Residual::AllBut(vec!["page:2".into()]));
    assert_eq!(root.to_sql(&target).unwrap().condition, r#""id" IS NOT NULL AND "id" NOT IN (?1)"#);
    let ann = engine.filter("ann", "write", "page", &options).unwrap();
    assert_eq!(ann.residual, warden::Residual::Only(vec!["page:1".into()]));
    let nobody = engine.filter("nobody", "write", "page", &options).unwrap();
    assert_eq!(
        (nobody.residual.clone(), nobody.to_sql(&target).unwrap().condition),
        (warden::Residual::Never, "1 = 0".to_string())
    );
    assert!(engine.filter("ann", "write", "page; x", &options).is_err());
}

/// `warden filter` prints the residual and the SQL, and refuses a column
/// that is no identifier.
#[test]
fn the_command_prints_the_residual_and_its_sql() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.warden");
    std::fs::write(
        &policy,
        "role editor { write on page; }\nassign ann editor on project:1;\npage:1 in project:1;\npage:2 in project:1;\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("filter")
            .arg(&policy)
            .args(["--user", "ann", "--perm", "write", "--type", "page"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&["--sql", "postgres"]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "only 2 pages: page:1, page:2\nsql: \"id\" IN ($1::bigint, $2::bigint)\nparams: [1,2]\n");
    let (code, _, err) = run(&["--sql", "sqlite", "--column", "id)--"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is no column"), "{err}");
}

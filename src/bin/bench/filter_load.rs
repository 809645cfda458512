//! `--listing`, the SQL half: the first 100 pages a user may read as the
//! application would fetch them, `SELECT id FROM page WHERE <filter> ORDER
//! BY id LIMIT 100`, with Warden's filter (computed, rendered, executed)
//! against a hand-written query for the same set (the user's projects,
//! direct grants and locked pages, as the application's own code would
//! know them), on SQLite and, under `scripts/with-postgres`, PostgreSQL.
//! Every pair of answers is asserted equal.

use super::percentile;
use super::workload::{PERMS, Workload};
use std::time::Instant;
use warden::filter::{Dialect, Key, Sql, SqlParam, SqlTarget};
use warden::{Engine, RequestOptions};

/// A database of the workload's pages.
enum Database {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Database {
    fn dialect(&self) -> Dialect {
        match self {
            Database::Sqlite(_) => Dialect::Sqlite,
            Database::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The ids `SELECT id FROM page WHERE {sql} ORDER BY id LIMIT 100`
    /// returns; a query that fails stops the benchmark.
    fn first_100(&mut self, sql: &Sql) -> Vec<i64> {
        match self.try_first_100(sql) {
            Ok(ids) => ids,
            Err(e) => {
                eprintln!("{}: {e}", sql.condition);
                std::process::exit(1);
            }
        }
    }

    fn try_first_100(&mut self, sql: &Sql) -> Result<Vec<i64>, String> {
        let query = format!("SELECT id FROM page WHERE {} ORDER BY id LIMIT 100", sql.condition);
        match self {
            Database::Sqlite(db) => {
                let params = sql.params.iter().map(|param| match param {
                    SqlParam::Integer(n) => rusqlite::types::Value::Integer(*n),
                    SqlParam::Text(t) => rusqlite::types::Value::Text(t.clone()),
                    SqlParam::IntegerArray(_) | SqlParam::TextArray(_) => rusqlite::types::Value::Null,
                });
                let mut statement = db.prepare_cached(&query).map_err(|e| e.to_string())?;
                let rows = statement
                    .query_map(rusqlite::params_from_iter(params), |row| row.get::<_, i64>(0))
                    .map_err(|e| e.to_string())?;
                rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
            }
            Database::Postgres(db) => {
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
                let rows = db.query(&query, &refs).map_err(|e| e.to_string())?;
                Ok(rows.iter().map(|row| i64::from(row.get::<_, i32>(0))).collect())
            }
        }
    }
}

/// `page(id, project_id)` with an index on `project_id`, on SQLite.
fn sqlite(w: &Workload, dir: &std::path::Path) -> Option<Database> {
    let db = rusqlite::Connection::open(dir.join("filter.sqlite3")).ok()?;
    db.execute_batch("CREATE TABLE page (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL); CREATE INDEX page_project ON page (project_id); BEGIN;").ok()?;
    {
        let mut insert = db.prepare("INSERT INTO page VALUES (?1, ?2)").ok()?;
        let per = w.scale.pages_per_project;
        for g in 0..w.scale.projects * per {
            insert.execute([g as i64, (g / per) as i64]).ok()?;
        }
    }
    db.execute_batch("COMMIT; ANALYZE;").ok()?;
    Some(Database::Sqlite(db))
}

/// The same on a fresh PostgreSQL database (dropped by the caller).
fn postgres(w: &Workload, base: &str) -> Option<Database> {
    let mut admin = postgres::Client::connect(base, postgres::NoTls).ok()?;
    let _ = admin.batch_execute("DROP DATABASE IF EXISTS warden_filter_bench");
    admin.batch_execute("CREATE DATABASE warden_filter_bench").ok()?;
    let url = format!("{}/warden_filter_bench", base.rsplit_once('/')?.0);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).ok()?;
    let per = w.scale.pages_per_project;
    let pages = w.scale.projects * per;
    db.batch_execute(&format!(
        "CREATE TABLE page (id integer PRIMARY KEY, project_id integer NOT NULL);
         INSERT INTO page SELECT g, g / {per} FROM generate_series(0, {}) AS g;
         CREATE INDEX page_project ON page (project_id); ANALYZE page;",
        pages - 1
    ))
    .ok()?;
    Some(Database::Postgres(db))
}

/// What the application itself knows of a user: the projects where a role
/// grants `perm`, every project (a global role), the direct grants, and
/// whether the locked pages are taken away.
fn hand_written(w: &Workload, masks: &[u8], user: Option<usize>, perm: usize, locked: &[i64]) -> Sql {
    let (mut projects, mut global, mut direct) = (Vec::new(), user.is_none(), Vec::new());
    if let Some(u) = user {
        for (role, scope) in &w.assignments[u] {
            if masks[*role] & (1 << perm) != 0 {
                match scope {
                    Some(j) => projects.push(*j as i64),
                    None => global = true,
                }
            }
        }
        direct.extend(w.direct.iter().filter(|(d, p, _)| *d == u && *p == perm).map(|(_, _, g)| *g as i64));
    }
    // Written as arrays: one parameter each, as an application would.
    let (mut condition, mut params) = if global {
        ("1 = 1".to_string(), Vec::new())
    } else {
        ("(project_id = ANY(@1) OR id = ANY(@2))".to_string(), vec![projects, direct])
    };
    if perm == super::list_load::WRITE {
        condition = format!("{condition} AND NOT (id = ANY(@{}))", params.len() + 1);
        params.push(locked.to_vec());
    }
    Sql { condition, params: params.into_iter().map(SqlParam::IntegerArray).collect(), check_each_row: false }
}

/// The hand-written query in `dialect`: arrays as PostgreSQL arrays, or
/// SQLite JSON arrays.
fn in_dialect(sql: Sql, dialect: Dialect) -> Sql {
    let mut condition = sql.condition;
    let mut params = Vec::new();
    for (i, param) in sql.params.into_iter().enumerate() {
        let at = format!("@{}", i + 1);
        match (dialect, param) {
            (Dialect::Postgres, param) => {
                condition = condition.replace(&format!("= ANY({at})"), &format!("= ANY(${}::bigint[])", i + 1));
                params.push(param);
            }
            (Dialect::Sqlite, SqlParam::IntegerArray(values)) => {
                let json = serde_json::to_string(&values).unwrap_or_default();
                condition = condition
                    .replace(&format!("= ANY({at})"), &format!("IN (SELECT value FROM json_each(?{}))", i + 1));
                params.push(SqlParam::Text(json));
            }
            (Dialect::Sqlite, param) => params.push(param),
        }
    }
    Sql { condition, params, check_each_row: false }
}

/// Prints one row per kind of user and database.
pub fn run(engine: &Engine, w: &Workload, kinds: &[(&str, &[(usize, usize)])], options: &RequestOptions) {
    let dir = std::env::temp_dir().join(format!("warden-filter-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut databases: Vec<(&str, Database)> = Vec::new();
    if let Some(db) = sqlite(w, &dir) {
        databases.push(("SQLite", db));
    }
    let base = std::env::var("WARDEN_TEST_POSTGRES").ok();
    match base.as_deref().and_then(|base| postgres(w, base)) {
        Some(db) => databases.push(("PostgreSQL", db)),
        None => println!("(PostgreSQL skipped: run under scripts/with-postgres)"),
    }
    let masks = w.role_masks();
    let pages = w.scale.projects * w.scale.pages_per_project;
    let locked: Vec<i64> = (0..pages).filter(|g| super::list_load::locked(*g)).map(|g| g as i64).collect();
    println!();
    println!("| database | user | Warden's filter + SQL: p50 | of which the filter | hand-written SQL: p50 | ratio |");
    println!("|---|---|---|---|---|---|");
    for (name, db) in &mut databases {
        let dialect = db.dialect();
        for (kind, users) in kinds {
            let (mut warden_times, mut filter_times, mut hand_times) = (Vec::new(), Vec::new(), Vec::new());
            for &(u, perm) in users.iter() {
                let user = if u == usize::MAX { "root".to_string() } else { format!("u{u}") };
                let started = Instant::now();
                let sql = engine
                    .filter(&user, PERMS[perm], "page", options)
                    .map_err(|e| e.to_string())
                    .and_then(|filter| filter.to_sql(&SqlTarget::new(dialect, "id", Key::Integer)));
                let sql = sql.unwrap_or_else(|e| {
                    eprintln!("the filter of {user} {}: {e}", PERMS[perm]);
                    std::process::exit(1);
                });
                filter_times.push(started.elapsed().as_secs_f64() * 1e3);
                let warden = db.first_100(&sql);
                warden_times.push(started.elapsed().as_secs_f64() * 1e3);
                let started = Instant::now();
                let who = (u != usize::MAX).then_some(u);
                let hand = in_dialect(hand_written(w, &masks, who, perm, &locked), dialect);
                let expected = db.first_100(&hand);
                hand_times.push(started.elapsed().as_secs_f64() * 1e3);
                if warden != expected || sql.check_each_row || warden.is_empty() {
                    eprintln!(
                        "{name}: the filter of {user} {} selects {warden:?}, the hand-written query {expected:?}",
                        PERMS[perm]
                    );
                    std::process::exit(1);
                }
            }
            for times in [&mut warden_times, &mut filter_times, &mut hand_times] {
                times.sort_by(f64::total_cmp);
            }
            let (warden, filter, hand) =
                (percentile(&warden_times, 0.5), percentile(&filter_times, 0.5), percentile(&hand_times, 0.5));
            println!(
                "| {name} | {kind} ({} users) | {warden:.2} ms | {filter:.2} ms | {hand:.2} ms | {:.1}x |",
                users.len(),
                warden / hand.max(1e-6)
            );
        }
    }
    let had_postgres = databases.iter().any(|(name, _)| *name == "PostgreSQL");
    databases.clear();
    let _ = std::fs::remove_dir_all(&dir);
    if let (Some(base), true) = (base, had_postgres)
        && let Ok(mut admin) = postgres::Client::connect(&base, postgres::NoTls)
    {
        let _ = admin.batch_execute("DROP DATABASE IF EXISTS warden_filter_bench WITH (FORCE)");
    }
}

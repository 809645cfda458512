//! `--database`: the workload's facts stored in SQLite (a file) and, with
//! `WARDEN_TEST_POSTGRES` set (run under `scripts/with-postgres`), in
//! PostgreSQL; measures the initial load against plainly selecting the same
//! rows with the same driver, the latency from a committed single-row
//! change to a check that sees it, and how many such changes are applied
//! per second under a stream of them. Decisions are compared with the
//! baseline's on every check first.

use super::workload::{PERMS, Workload};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden::live::{Live, Request};
use warden::sources::Config;

const QUERIES: [&str; 3] = [
    "SELECT 'page:' || id, 'project:' || project_id FROM page",
    "SELECT 'u' || user_id, role, CASE WHEN project_id IS NULL THEN NULL ELSE 'project:' || project_id END FROM assignment",
    "SELECT 'u' || user_id, perm, 'page:' || page_id FROM direct",
];

fn source_file(database: &str) -> String {
    format!(
        "[database]\n{database}\npoll_ms = 1\nwatch = [\"page\", \"assignment\", \"direct\"]\n\n[sources]\nin = {{ query = \"{}\", tables = [\"page\"] }}\nassign = {{ query = \"{}\", tables = [\"assignment\"] }}\ngrant = {{ query = \"{}\", tables = [\"direct\"] }}\n",
        QUERIES[0], QUERIES[1], QUERIES[2]
    )
}

/// The workload's roles only (the facts live in the database).
fn roles(w: &Workload) -> String {
    w.policy().lines().filter(|l| l.starts_with("role ")).map(|l| l.to_string() + "\n").collect()
}

/// The rows as SQL statements, a thousand rows per `INSERT`.
fn inserts(w: &Workload) -> Vec<String> {
    let mut rows: Vec<(&str, String)> = Vec::new();
    for g in 0..w.scale.projects * w.scale.pages_per_project {
        rows.push(("page", format!("({g}, {})", g / w.scale.pages_per_project)));
    }
    for (u, list) in w.assignments.iter().enumerate() {
        for (role, project) in list {
            rows.push((
                "assignment",
                format!("({u}, 'r{role}', {})", project.map_or("NULL".into(), |j| j.to_string())),
            ));
        }
    }
    for (u, p, g) in &w.direct {
        rows.push(("direct", format!("({u}, '{}', {g})", PERMS[*p])));
    }
    let mut out = Vec::new();
    for table in ["page", "assignment", "direct"] {
        let values: Vec<&String> = rows.iter().filter(|(t, _)| *t == table).map(|(_, v)| v).collect();
        for chunk in values.chunks(1000) {
            let joined: Vec<&str> = chunk.iter().map(|s| s.as_str()).collect();
            out.push(format!("INSERT INTO {table} VALUES {};", joined.join(", ")));
        }
    }
    out
}

const SCHEMA: &str = "CREATE TABLE page (id integer PRIMARY KEY, project_id integer NOT NULL);
CREATE TABLE assignment (user_id integer NOT NULL, role text NOT NULL, project_id integer);
CREATE TABLE direct (user_id integer NOT NULL, perm text NOT NULL, page_id integer NOT NULL);";

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One database's figures, as a table row.
struct Figures {
    select_ms: f64,
    load_ms: f64,
    latency_ms: f64,
    changes_per_second: f64,
}

impl Figures {
    /// The row's cells after the database's name.
    fn cells(&self) -> String {
        format!(
            "{:.0} | {:.0} | {:.1}x | {:.1} | {:.0}",
            self.select_ms,
            self.load_ms,
            self.load_ms / self.select_ms,
            self.latency_ms,
            self.changes_per_second
        )
    }
}

pub fn run(w: &Workload, decisions: &[bool]) {
    let dir = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let policy = dir.join("roles.warden");
    if std::fs::write(&policy, roles(w)).is_err() {
        eprintln!("cannot write {}", policy.display());
        return;
    }
    let mut table = String::from(
        "\n| database | SELECT the rows (ms) | initial load (ms) | load / SELECT | change → visible p50 (ms) | single-row changes applied / s |\n|---|---|---|---|---|---|\n",
    );
    if let Some(f) = sqlite(w, decisions, &dir, &policy) {
        let _ = writeln!(table, "| SQLite (file) | {} |", f.cells());
    }
    match std::env::var("WARDEN_TEST_POSTGRES") {
        Ok(url) => {
            if let Some(f) = postgres(w, decisions, &dir, &policy, &url) {
                let _ = writeln!(table, "| PostgreSQL 15 (loopback) | {} |", f.cells());
            }
        }
        Err(_) => println!("(PostgreSQL skipped: run under scripts/with-postgres)"),
    }
    println!("{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same rows, selected and read as text with `read_all`, best of three.
fn best_of_three(mut select: impl FnMut() -> usize) -> f64 {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(select());
            started.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

/// Loads the program over the database, checks every decision, measures the
/// follower's latency and throughput with `write(i)` committing change `i`.
fn measure(
    w: &Workload,
    decisions: &[bool],
    policy: &std::path::Path,
    config: Config,
    select_ms: f64,
    mut write: impl FnMut(usize),
) -> Option<Figures> {
    let config = Arc::new(config);
    if let Ok(engine) = warden::Engine::from_paths(&[policy.to_path_buf()]) {
        let started = Instant::now();
        let read = warden::sources::Sources::open(config.clone(), &engine)
            .and_then(|mut s| s.read_changes().map_err(warden::sources::SourceError::into_load_error));
        let read_ms = started.elapsed().as_secs_f64() * 1e3;
        if let Ok(read) = read {
            let started = Instant::now();
            let applied = warden::sources::apply(&engine, "db", &read.inserted, &[]);
            let apply_ms = started.elapsed().as_secs_f64() * 1e3;
            let started = Instant::now();
            let planned = applied.map(|e| e.check_plan().is_some()).unwrap_or(false);
            let plan_ms = started.elapsed().as_secs_f64() * 1e3;
            println!(
                "  of which: read {read_ms:.0} ms ({} facts), into the program {apply_ms:.0} ms, check plan {plan_ms:.0} ms (built: {planned})",
                read.inserted.len()
            );
        }
    }
    let started = Instant::now();
    let live = match Live::with_sources(&[policy.to_path_buf()], config, Arc::new(|_: &mut warden::Engine| {})) {
        Ok(live) => Arc::new(live),
        Err(e) => {
            eprintln!("{}", e.render(false));
            return None;
        }
    };
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let wrong = w
        .checks
        .iter()
        .zip(decisions)
        .filter(|((u, p, g), want)| {
            live.is_allowed(&Request::new(format!("u{u}"), PERMS[*p], format!("page:{g}"))) != **want
        })
        .count();
    assert_eq!(wrong, 0, "decisions over the database differ from the baseline's");

    // The cost of one refresh that applies one changed row, without a follower.
    let mut refreshes = Vec::new();
    for i in 0..10 {
        write(5000 + i);
        let started = Instant::now();
        let _ = live.refresh();
        refreshes.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!("  one refresh applying one row: p50 {:.1} ms", median(refreshes));
    // A follower as `warden serve` runs it.
    let follower = {
        let live = Arc::downgrade(&live);
        let mut listener = live.upgrade()?.listener()?;
        std::thread::spawn(move || {
            loop {
                listener.wait(Duration::from_millis(1));
                let Some(live) = live.upgrade() else { return };
                let _ = live.refresh();
            }
        })
    };
    // Change i grants `u0` the permission `export` on page i (a fresh fact).
    let visible = |live: &Live, i: usize| live.is_allowed(&Request::new("u0", "export", format!("page:{i}")));
    let mut latencies = Vec::new();
    for i in 0..40 {
        let started = Instant::now();
        write(i);
        while !visible(&live, i) {
            if started.elapsed() > Duration::from_secs(30) {
                eprintln!("a change was not seen within 30 s");
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let started = Instant::now();
    let stream = 1000;
    for i in 40..40 + stream {
        write(i);
    }
    while !visible(&live, 40 + stream - 1) {
        std::thread::sleep(Duration::from_micros(200));
    }
    let changes_per_second = stream as f64 / started.elapsed().as_secs_f64();
    drop(live);
    let _ = follower.join();
    Some(Figures { select_ms, load_ms, latency_ms: median(latencies), changes_per_second })
}

/// `warden serve --source` under the server benchmark's clients, without and
/// with a writer committing 10 single-row transactions a second to the
/// database; each configuration's checks/s, p50 and p99.
fn serve(w: &Workload, policy: &std::path::Path, config: &Config, mut write: impl FnMut(usize) + Send + 'static) {
    let config = Arc::new(config.clone());
    let Ok(live) = Live::with_sources(&[policy.to_path_buf()], config.clone(), Arc::new(|_: &mut warden::Engine| {}))
    else {
        return;
    };
    let addr = super::server_load::start(live, Some(config));
    let checks: Vec<(String, String, String)> =
        w.checks.iter().map(|(u, p, g)| (format!("u{u}"), PERMS[*p].to_string(), format!("page:{g}"))).collect();
    let without = super::server_load::load(addr, &checks, 2_000, None);
    let writer: super::server_load::Writer = Box::new(move |n| {
        write(200_000 + n);
        true
    });
    let with = super::server_load::load(addr, &checks, 2_000, Some(writer));
    println!("  serve --source | writer | checks | errors | checks/s | p50 | p99 | writes");
    for (label, f) in [("none", without), ("10 transactions/s", with)] {
        println!("  serve --source | {label} | {}", f.cells());
    }
}

fn sqlite(w: &Workload, decisions: &[bool], dir: &std::path::Path, policy: &std::path::Path) -> Option<Figures> {
    let path = dir.join("bench.sqlite3");
    let db = rusqlite::Connection::open(&path).ok()?;
    db.execute_batch(&format!("PRAGMA journal_mode = WAL; {SCHEMA}")).ok()?;
    db.execute_batch(&format!("BEGIN; {} COMMIT;", inserts(w).join("\n"))).ok()?;
    let select_ms = best_of_three(|| {
        let reader = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok();
        let mut n = 0;
        for query in QUERIES {
            let Some(mut statement) = reader.as_ref().and_then(|r| r.prepare(query).ok()) else { continue };
            let columns = statement.column_count();
            let Ok(mut rows) = statement.query([]) else { continue };
            while let Ok(Some(row)) = rows.next() {
                for i in 0..columns {
                    n += row.get::<_, Option<String>>(i).ok().flatten().map_or(0, |s| s.len());
                }
            }
        }
        n
    });
    let config =
        Config::from_text("bench.toml", &source_file(&format!("sqlite = {:?}", path.display().to_string())), dir)
            .ok()?;
    let policy_engine = warden::Engine::from_paths(&[policy.to_path_buf()]).ok()?;
    warden::sources::Sources::open(Arc::new(config.clone()), &policy_engine).ok()?.install().ok()?;
    let figures = measure(w, decisions, policy, config.clone(), select_ms, |i| {
        let _ = db.execute(&format!("INSERT INTO direct VALUES (0, 'export', {i})"), []);
    });
    let writer = rusqlite::Connection::open(&path).ok()?;
    serve(w, policy, &config, move |i| {
        let _ = writer.execute(&format!("INSERT INTO direct VALUES (1, 'export', {i})"), []);
    });
    figures
}

fn postgres(
    w: &Workload,
    decisions: &[bool],
    dir: &std::path::Path,
    policy: &std::path::Path,
    base: &str,
) -> Option<Figures> {
    let mut admin = postgres::Client::connect(base, postgres::NoTls).ok()?;
    let _ = admin.batch_execute("DROP DATABASE IF EXISTS warden_bench");
    admin.batch_execute("CREATE DATABASE warden_bench").ok()?;
    let url = format!("{}/warden_bench", base.rsplit_once('/')?.0);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).ok()?;
    db.batch_execute(SCHEMA).ok()?;
    db.batch_execute(&format!("BEGIN; {} COMMIT; ANALYZE;", inserts(w).join("\n"))).ok()?;
    let select_ms = best_of_three(|| {
        let mut n = 0;
        for query in QUERIES {
            for row in db.query(query, &[]).unwrap_or_default() {
                for i in 0..row.len() {
                    n += row.get::<_, Option<String>>(i).map_or(0, |s| s.len());
                }
            }
        }
        n
    });
    let config = Config::from_text("bench.toml", &source_file(&format!("postgres = {url:?}")), dir).ok()?;
    let policy_engine = warden::Engine::from_paths(&[policy.to_path_buf()]).ok()?;
    warden::sources::Sources::open(Arc::new(config.clone()), &policy_engine).ok()?.install().ok()?;
    let figures = measure(w, decisions, policy, config.clone(), select_ms, |i| {
        let _ = db.batch_execute(&format!("INSERT INTO direct VALUES (0, 'export', {i})"));
    });
    let mut writer = postgres::Client::connect(&url, postgres::NoTls).ok()?;
    serve(w, policy, &config, move |i| {
        let _ = writer.batch_execute(&format!("INSERT INTO direct VALUES (1, 'export', {i})"));
    });
    drop(db);
    let _ = admin.batch_execute("DROP DATABASE IF EXISTS warden_bench WITH (FORCE)");
    figures
}

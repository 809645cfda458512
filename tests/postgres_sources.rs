//! Facts from a real PostgreSQL (issue 18), started by `scripts/with-postgres`
//! (which `scripts/test` runs the suite under): the first read decides like
//! the same facts written as statements; after random transactions (rolled
//! back ones among them) a refresh decides like a fresh load; with the
//! version table a caller waits for its own write; a killed connection is
//! opened again and nothing is lost; a bad read names its source and row.
//!
//! Without `WARDEN_TEST_POSTGRES` each test prints why it did not run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use postgres::{Client, NoTls};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use warden::Engine;
use warden::live::{Live, Request};
use warden::sources::{Config, Sources};

const POLICY: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
relation owner(user, page);
allow U delete on P if owner(U, P);
";

const SCHEMA: &str = "
CREATE TABLE account (id integer PRIMARY KEY, is_superuser boolean NOT NULL, is_active boolean NOT NULL);
CREATE TABLE membership (user_id integer NOT NULL, group_id integer NOT NULL);
CREATE TABLE page (id integer PRIMARY KEY, project_id integer NOT NULL, owner_id integer);
CREATE TABLE assignment (subject text NOT NULL, role text, scope text, valid_from timestamptz, valid_until timestamptz);
";

const AT: &str = "2026-06-01T12:00:00Z";

/// A fresh database on the test server, or `None` (with the reason printed)
/// when no server was started for the tests.
fn database() -> Option<(String, Client)> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let Ok(base) = std::env::var("WARDEN_TEST_POSTGRES") else {
        eprintln!("skipped: WARDEN_TEST_POSTGRES is not set (scripts/test runs the suite under scripts/with-postgres)");
        return None;
    };
    let name = format!("warden_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut admin = Client::connect(&base, NoTls).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let mut client = Client::connect(&url, NoTls).unwrap();
    client.batch_execute(SCHEMA).unwrap();
    Some((url, client))
}

fn sources(url: &str) -> String {
    format!(
        r#"
[database]
postgres = "{url}"
watch = ["account", "membership", "page", "assignment"]

[sources]
in = [
  {{ query = "SELECT user_id, group_id FROM membership", types = ["user", "group"], tables = ["membership"] }},
  {{ query = "SELECT id, project_id FROM page", types = ["page", "project"], tables = ["page"] }},
]
assign = "SELECT subject, role, scope, valid_from, valid_until FROM assignment"
superuser = {{ query = "SELECT id FROM account WHERE is_superuser", types = ["user"], tables = ["account"] }}
inactive = {{ query = "SELECT id FROM account WHERE NOT is_active", types = ["user"] }}
owner = {{ query = "SELECT owner_id, id FROM page WHERE owner_id IS NOT NULL", types = ["user", "page"], tables = ["page"] }}
"#
    )
}

/// The policy file and the parsed source file.
fn setup(url: &str) -> (tempfile::TempDir, PathBuf, Arc<Config>) {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("wiki.warden");
    std::fs::write(&policy, POLICY).unwrap();
    let config = Arc::new(Config::from_text("warden.toml", &sources(url), dir.path()).unwrap());
    (dir, policy, config)
}

fn live(policy: &std::path::Path, config: &Arc<Config>) -> Live {
    Live::with_sources(&[policy.to_path_buf()], config.clone(), Arc::new(|_: &mut Engine| {})).unwrap()
}

/// Every decision of a grid of requests.
fn decisions(check: impl Fn(&Request) -> bool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for user in ["user:0", "user:1", "user:2"] {
        for perm in ["read", "write", "delete"] {
            for object in ["page:0", "page:1", "page:2", "project:0"] {
                let request = Request::new(user, perm, object).at(AT).unwrap();
                out.push((format!("{user} {perm} {object}"), check(&request)));
            }
        }
    }
    out
}

/// A small deterministic generator (the tests must not depend on a seed
/// file, and each case builds a database).
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One random transaction of inserts, updates and deletes over every table;
/// rolled back when `commit` is false.
fn random_transaction(client: &mut Client, random: &mut Random, commit: bool) {
    let mut tx = client.transaction().unwrap();
    for _ in 0..1 + random.below(6) {
        let (a, b, c) = (random.below(3) as i32, random.below(2) as i32, random.below(4));
        let statement = match random.below(8) {
            0 => format!(
                "INSERT INTO account VALUES ({a}, {}, {}) ON CONFLICT (id) DO UPDATE SET is_superuser = EXCLUDED.is_superuser, is_active = EXCLUDED.is_active",
                c == 0,
                c != 1
            ),
            1 => format!("INSERT INTO membership VALUES ({a}, {b})"),
            2 => format!("DELETE FROM membership WHERE user_id = {a}"),
            3 => format!(
                "INSERT INTO page VALUES ({a}, {b}, {}) ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id",
                if c == 3 { "NULL".to_string() } else { c.to_string() }
            ),
            4 => format!("DELETE FROM page WHERE id = {a}"),
            5 => {
                let subject = ["user:0", "user:1", "group:0", "group:1"][c as usize];
                let role = ["viewer", "editor"][b as usize];
                let scope = ["NULL", "'project:0'", "'project:1'"][a as usize];
                let until = ["NULL", "'2026-12-31 00:00:00+00'", "'2026-01-01 00:00:00+00'"][random.below(3) as usize];
                format!("INSERT INTO assignment VALUES ('{subject}', '{role}', {scope}, NULL, {until})")
            }
            6 => format!(
                "DELETE FROM assignment WHERE scope IS NOT DISTINCT FROM {}",
                ["NULL", "'project:0'", "'project:1'"][a as usize]
            ),
            _ => format!("UPDATE assignment SET role = 'editor' WHERE subject = 'user:{a}'"),
        };
        tx.batch_execute(&statement).unwrap();
    }
    if commit {
        tx.commit().unwrap();
    } else {
        tx.rollback().unwrap();
    }
}

#[test]
fn after_random_transactions_a_refresh_decides_like_a_fresh_load() {
    random_transactions_then_refresh(false);
}

/// With the version table, a refresh reads again only the bindings whose
/// tables changed (and those that name none).
#[test]
fn with_the_version_table_a_refresh_of_the_changed_tables_decides_like_a_fresh_load() {
    random_transactions_then_refresh(true);
}

fn random_transactions_then_refresh(install: bool) {
    let Some((url, mut client)) = database() else { return };
    let (_dir, policy, config) = setup(&url);
    if install {
        let engine = Engine::from_paths(std::slice::from_ref(&policy)).unwrap();
        Sources::open(config.clone(), &engine).unwrap().install().unwrap();
    }
    let live = live(&policy, &config);
    let mut random = Random(if install { 0x2545_f491_4f6c_dd1d } else { 0x9e37_79b9_7f4a_7c15 });
    for step in 0..40 {
        random_transaction(&mut client, &mut random, step % 5 != 4);
        if random.below(3) == 0 {
            continue; // several transactions between two refreshes
        }
        live.refresh().unwrap();
        let fresh = self::live(&policy, &config);
        assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| fresh.check(r).allowed), "after step {step}");
    }
}

#[test]
fn the_first_read_decides_like_the_same_facts_written_as_statements() {
    let Some((url, mut client)) = database() else { return };
    client
        .batch_execute(
            "INSERT INTO account VALUES (0, false, true), (1, false, true), (2, true, false);
             INSERT INTO membership VALUES (1, 0);
             INSERT INTO page VALUES (0, 0, 2), (1, 1, NULL);
             INSERT INTO assignment VALUES ('group:0', 'editor', 'project:0', NULL, '2026-12-31 00:00:00+00');
             INSERT INTO assignment VALUES ('user:0', 'viewer', NULL, '2026-07-01 00:00:00+00', NULL);",
        )
        .unwrap();
    let (_dir, policy, config) = setup(&url);
    let live = live(&policy, &config);
    let written = Engine::from_source(
        "facts.warden",
        &format!(
            "{POLICY}
            superuser user:2; inactive user:2;
            user:1 in group:0; page:0 in project:0; page:1 in project:1; owner(user:2, page:0);
            assign group:0 editor on project:0 until 2026-12-31T00:00:00Z;
            assign user:0 viewer from 2026-07-01T00:00:00Z;"
        ),
    )
    .unwrap();
    assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| written.check(r).allowed));
    assert!(live.check(&Request::new("user:1", "write", "page:0").at(AT).unwrap()).allowed);
}

#[test]
fn with_the_version_table_a_caller_waits_for_its_own_write() {
    let Some((url, mut client)) = database() else { return };
    let (_dir, policy, config) = setup(&url);
    let engine = Engine::from_paths(std::slice::from_ref(&policy)).unwrap();
    Sources::open(config.clone(), &engine).unwrap().install().unwrap();
    let live = live(&policy, &config);
    let start = live.version();
    let bob_reads = Request::new("user:1", "read", "page:0").at(AT).unwrap();

    // A follower, as `warden serve` runs it: notified by the trigger.
    let live = Arc::new(live);
    let follower = {
        let live = Arc::downgrade(&live);
        let mut listener = live.upgrade().unwrap().listener().unwrap();
        std::thread::spawn(move || {
            for _ in 0..200 {
                listener.wait(Duration::from_millis(50));
                let Some(live) = live.upgrade() else { return };
                let _ = live.refresh();
            }
        })
    };

    let mut tx = client.transaction().unwrap();
    tx.batch_execute("INSERT INTO page VALUES (0, 0, NULL); INSERT INTO assignment VALUES ('user:1', 'viewer', 'project:0', NULL, NULL);").unwrap();
    tx.commit().unwrap();
    let token: i64 = client.query_one("SELECT version FROM warden_version", &[]).unwrap().get(0);
    assert!(token as u64 > start);
    assert!(live.wait_for(token as u64, Duration::from_secs(10)), "the write is applied");
    assert!(live.check(&bob_reads).allowed);
    assert!(live.version() >= token as u64, "the version is the database's");

    // A version the database has not reached: the wait gives up.
    assert!(!live.wait_for(token as u64 + 1000, Duration::from_millis(100)));
    drop(live);
    follower.join().unwrap();
}

#[test]
fn a_killed_connection_is_opened_again_and_nothing_is_lost() {
    let Some((url, mut client)) = database() else { return };
    let (_dir, policy, config) = setup(&url);
    let live = live(&policy, &config);
    let name = url.rsplit('/').next().unwrap().to_string();
    client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .unwrap();
    client.batch_execute("INSERT INTO page VALUES (0, 0, 1);").unwrap();
    // The first refresh may meet the dead connection (and say so); the next reconnects.
    let mut applied = false;
    for _ in 0..3 {
        if live.refresh().is_ok() {
            applied = true;
            break;
        }
    }
    assert!(applied, "a refresh succeeds after the connection was killed");
    let fresh = self::live(&policy, &config);
    assert_eq!(decisions(|r| live.check(r).allowed), decisions(|r| fresh.check(r).allowed));
    assert!(live.check(&Request::new("user:1", "delete", "page:0").at(AT).unwrap()).allowed);
}

#[test]
fn a_bad_read_names_the_source_and_keeps_the_last_good_facts() {
    let Some((url, mut client)) = database() else { return };
    client.batch_execute("INSERT INTO page VALUES (0, 0, 1);").unwrap();
    let (_dir, policy, config) = setup(&url);
    let live = live(&policy, &config);
    let before = decisions(|r| live.check(r).allowed);
    client.batch_execute("INSERT INTO assignment VALUES ('user:0', NULL, NULL, NULL, NULL);").unwrap();
    let error = live.refresh().unwrap_err().render(false);
    assert!(error.contains("source `assign`, row 1") && error.contains("column 2 is NULL"), "{error}");
    assert_eq!(decisions(|r| live.check(r).allowed), before);
    assert!(live.database_status().unwrap().error.is_some(), "the status says the facts are stale");

    client.batch_execute("DELETE FROM assignment; ALTER TABLE page ALTER COLUMN owner_id TYPE numeric;").unwrap();
    let error = live.refresh().unwrap_err().render(false);
    assert!(error.contains("source `owner`") && error.contains("numeric"), "{error}");
    client.batch_execute("DROP TABLE membership;").unwrap();
    let error = live.refresh().unwrap_err().render(false);
    assert!(error.contains("source `in`") && error.contains("membership"), "{error}");
    assert_eq!(decisions(|r| live.check(r).allowed), before);
}

#[test]
fn schema_qualified_watched_tables_are_read_again_when_they_change() {
    let Some((url, mut client)) = database() else { return };
    let text = sources(&url)
        .replace(
            r#"watch = ["account", "membership", "page", "assignment"]"#,
            r#"watch = ["public.account", "public.membership", "public.page", "public.assignment"]"#,
        )
        .replace(r#"tables = ["membership"]"#, r#"tables = ["public.membership"]"#)
        .replace(r#"tables = ["page"]"#, r#"tables = ["public.page"]"#)
        .replace(r#"tables = ["account"]"#, r#"tables = ["public.account"]"#);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("wiki.warden");
    std::fs::write(&policy, POLICY).unwrap();
    let config = Arc::new(Config::from_text("warden.toml", &text, dir.path()).unwrap());
    let engine = Engine::from_paths(std::slice::from_ref(&policy)).unwrap();
    Sources::open(config.clone(), &engine).unwrap().install().unwrap();
    let live = live(&policy, &config);
    client.batch_execute("INSERT INTO page VALUES (0, 0, 1);").unwrap();
    live.refresh().unwrap();
    assert!(live.check(&Request::new("user:1", "delete", "page:0").at(AT).unwrap()).allowed);
    client.batch_execute("UPDATE page SET owner_id = 2;").unwrap();
    live.refresh().unwrap();
    assert!(
        !live.check(&Request::new("user:1", "delete", "page:0").at(AT).unwrap()).allowed,
        "re-read after the change"
    );
}

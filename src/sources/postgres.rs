//! Reading the sources from PostgreSQL: every query of one read in one
//! read-only repeatable-read transaction (one snapshot), bounded in rows,
//! bytes and time (`statement_timeout`); the database's version read in the
//! same snapshot when `warden db install` made the version table.

use super::config::{Binding, Config};
use super::rows::{self, Cell};
use super::{Budget, CHANGES_TABLE, SourceError, SourceRead, VERSION_TABLE, read_bindings};
use crate::live::LiveFact;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Row};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A connection to the database (reconnected when it drops).
pub struct Postgres {
    url: String,
    client: Option<Client>,
    /// Whether the database has the version table.
    versioned: bool,
    /// Whether it has the changes table too (per-table versions).
    per_table: bool,
    /// The database's version at the last committed read (with the version table).
    read_at: Option<u64>,
    /// Whether the version tables were looked for (once, at the first
    /// connection: the program's versions must not change kind while it runs).
    probed: bool,
}

impl Postgres {
    /// Connects (no TLS: a loopback or private-network database).
    pub fn open(url: &str) -> Result<Postgres, SourceError> {
        let mut database = Postgres {
            url: url.to_string(),
            client: None,
            versioned: false,
            per_table: false,
            read_at: None,
            probed: false,
        };
        database.client()?;
        Ok(database)
    }

    /// The open client, connecting again if the connection dropped.
    fn client(&mut self) -> Result<&mut Client, SourceError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let mut client = connect(&self.url)?;
            if !self.probed {
                let mut exists = |table: &str| {
                    client
                        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
                        .map(|row| row.get::<_, bool>(0))
                        .map_err(|e| SourceError::database(format!("cannot look for `{table}`: {e}")))
                };
                (self.versioned, self.per_table) = (exists(VERSION_TABLE)?, exists(CHANGES_TABLE)?);
                self.probed = true;
            }
            // A new connection counts the database as changed: the next
            // read is a fresh snapshot (of the bindings changed since the
            // last committed version).
            self.read_at = None;
            self.client = Some(client);
        }
        self.client.as_mut().ok_or_else(|| SourceError::database("no connection".into()))
    }

    /// Whether the database changed since the last read: its version moved
    /// (or, without the version table, always).
    pub fn changed(&mut self) -> Result<bool, SourceError> {
        self.client()?;
        let (versioned, read_at) = (self.versioned, self.read_at);
        let Some(client) = self.client.as_mut().filter(|_| versioned) else { return Ok(true) };
        let version = read_version(client)?;
        Ok(read_at != Some(version))
    }

    /// Runs every query in one snapshot.
    pub fn read(
        &mut self,
        config: &Config,
        arities: &[Option<usize>],
        since: Option<u64>,
        timeout: Duration,
    ) -> Result<SourceRead, SourceError> {
        self.client()?;
        let (versioned, per_table) = (self.versioned, self.per_table && since.is_some());
        let result = self.read_snapshot(config, arities, timeout, (versioned, per_table, since));
        if result.is_err() && self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        result
    }

    /// Takes a committed read's version as the one to compare with.
    pub fn mark_read(&mut self, marker: Option<i64>) {
        self.read_at = marker.and_then(|m| u64::try_from(m).ok());
    }

    fn read_snapshot(
        &mut self,
        config: &Config,
        arities: &[Option<usize>],
        timeout: Duration,
        (versioned, per_table, since): (bool, bool, Option<u64>),
    ) -> Result<SourceRead, SourceError> {
        let client = self.client()?;
        let failed = |e: postgres::Error| SourceError::database(format!("cannot begin a read: {e}"));
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(failed)?;
        // The whole read's time: each statement gets what is left of it.
        let deadline = std::time::Instant::now() + timeout;
        let bound = |tx: &mut postgres::Transaction<'_>| {
            let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis().max(1);
            tx.batch_execute(&format!("SET LOCAL statement_timeout = {left}"))
                .map_err(|e| SourceError::database(format!("cannot bound the read's time: {e}")))
        };
        bound(&mut tx)?;
        let version = if versioned { Some(read_version(&mut tx)?) } else { None };
        let changes = if per_table { Some(read_changes(&mut tx)?) } else { None };
        let facts = read_bindings(config, arities, since, changes.as_ref(), |binding, arity, budget| {
            bound(&mut tx)?;
            read_binding(&mut tx, binding, arity, budget)
        })?;
        tx.commit().map_err(|e| SourceError::database(format!("cannot end the read: {e}")))?;
        let marker = version.and_then(|v| i64::try_from(v).ok());
        Ok(SourceRead { facts, version, marker })
    }

    /// `warden db install`: the version table, and a trigger on each of
    /// `tables` that raises the version (and notifies `warden`) in the
    /// writing transaction.
    pub fn install(&mut self, tables: &[String]) -> Result<(), SourceError> {
        let client = self.client()?;
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);
             INSERT INTO {VERSION_TABLE} VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
             CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (table_name text PRIMARY KEY, version bigint NOT NULL);
             CREATE OR REPLACE FUNCTION warden_bump() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE next bigint;
             BEGIN
               UPDATE {VERSION_TABLE} SET version = version + 1 WHERE id = 1 RETURNING version INTO next;
               INSERT INTO {CHANGES_TABLE} VALUES (COALESCE(TG_ARGV[0], TG_TABLE_NAME), next)
                 ON CONFLICT (table_name) DO UPDATE SET version = EXCLUDED.version;
               PERFORM pg_notify('warden', next::text);
               RETURN NULL;
             END $$;"
        );
        for table in tables {
            // The trigger records the table as `watch` names it (`public.page` or `page`).
            let (quoted, literal) = (quote_identifier(table), format!("'{}'", table.replace('\'', "''")));
            sql.push_str(&format!(
                "CREATE OR REPLACE TRIGGER warden_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quoted}
                 FOR EACH STATEMENT EXECUTE FUNCTION warden_bump({literal});"
            ));
        }
        let mut tx = client.transaction().map_err(|e| SourceError::database(e.to_string()))?;
        tx.batch_execute(&sql).map_err(|e| SourceError::database(format!("cannot install: {e}")))?;
        tx.commit().map_err(|e| SourceError::database(format!("cannot install: {e}")))?;
        (self.versioned, self.per_table, self.probed) = (true, true, true);
        self.client = None;
        Ok(())
    }

    /// A second connection that listens for the triggers' notifications.
    pub fn listener(&self) -> Listener {
        Listener { url: Some(self.url.clone()), client: None }
    }
}

/// Waits for the database's next change: PostgreSQL's notifications from
/// the version table's triggers, or (SQLite, or no connection) a plain
/// sleep. A lost connection is opened again at the next wait.
#[derive(Default)]
pub struct Listener {
    url: Option<String>,
    client: Option<Client>,
}

impl Listener {
    /// Returns when the database notified a change, or after `most`.
    pub fn wait(&mut self, most: Duration) {
        if self.client.is_none()
            && let Some(url) = &self.url
        {
            self.client =
                connect(url).ok().and_then(|mut client| client.batch_execute("LISTEN warden").ok().map(|()| client));
        }
        let Some(client) = &mut self.client else {
            std::thread::sleep(most);
            return;
        };
        let lost = {
            let mut notifications = client.notifications();
            let first = notifications.timeout_iter(most).next();
            if let Ok(Some(_)) = first {
                // A burst is drained: one read applies all of it.
                let mut pending = notifications.iter();
                while let Ok(Some(_)) = pending.next() {}
            }
            first.is_err()
        };
        if lost {
            self.client = None;
            std::thread::sleep(most);
        }
    }
}

/// Connects with bounded waits: 10 s to connect; a peer that stops
/// answering is given up after about a minute (TCP keepalives and user
/// timeout); no statement runs longer than a read may (`statement_timeout`,
/// which a read lowers as its time runs out).
fn connect(url: &str) -> Result<Client, SourceError> {
    let mut config: postgres::Config =
        url.parse().map_err(|e| SourceError::database(format!("not a PostgreSQL connection string: {e}")))?;
    config
        .connect_timeout(Duration::from_secs(10))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(60))
        .options(&format!("-c statement_timeout={}", super::READ_TIMEOUT.as_millis()));
    config.connect(NoTls).map_err(|e| SourceError::database(format!("cannot connect to PostgreSQL: {e}")))
}

/// The version at which each watched table last changed.
fn read_changes(client: &mut impl postgres::GenericClient) -> Result<BTreeMap<String, u64>, SourceError> {
    let rows = client
        .query(&format!("SELECT table_name, version FROM {CHANGES_TABLE}"), &[])
        .map_err(|e| SourceError::database(format!("cannot read `{CHANGES_TABLE}`: {e}")))?;
    Ok(rows.iter().map(|row| (row.get::<_, String>(0), u64::try_from(row.get::<_, i64>(1)).unwrap_or(0))).collect())
}

/// The version table's one value.
fn read_version(client: &mut impl postgres::GenericClient) -> Result<u64, SourceError> {
    let row = client
        .query_one(&format!("SELECT version FROM {VERSION_TABLE} WHERE id = 1"), &[])
        .map_err(|e| SourceError::database(format!("cannot read the database's version: {e}")))?;
    let version: i64 = row.get(0);
    Ok(u64::try_from(version).unwrap_or(0))
}

fn read_binding(
    tx: &mut postgres::Transaction<'_>,
    binding: &Binding,
    arity: Option<usize>,
    budget: &mut Budget,
) -> Result<Vec<LiveFact>, SourceError> {
    let failed = |e: postgres::Error| {
        SourceError::of(binding, e.as_db_error().map_or(e.to_string(), |d| d.message().to_string()))
    };
    let statement = tx.prepare(&binding.query).map_err(failed)?;
    let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
    binding.check_width(types.len(), arity).map_err(|message| SourceError::of(binding, message))?;
    let mut rows = tx.query_raw(&statement, std::iter::empty::<&dyn ToSql>()).map_err(failed)?;
    let mut facts = Vec::new();
    let mut cells = Vec::with_capacity(types.len());
    while let Some(row) = rows.next().map_err(failed)? {
        budget.take_row(binding)?;
        cells.clear();
        for (i, ty) in types.iter().enumerate() {
            let cell =
                cell(&row, i, ty).map_err(|message| SourceError::row(binding, facts.len() + 1, &cells, message))?;
            if let Cell::Text(text) = &cell {
                budget.take_bytes(binding, text.len())?;
            }
            cells.push(cell);
        }
        facts.push(rows::fact_of(binding, facts.len() + 1, &cells)?);
    }
    Ok(facts)
}

/// One value, by the column's type.
fn cell(row: &Row, i: usize, ty: &Type) -> Result<Cell, String> {
    let bad = |e: postgres::Error| format!("column {}: {e}", i + 1);
    Ok(match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<String>>(i).map_err(bad)?.map_or(Cell::Null, Cell::Text)
        }
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(bad)?.map_or(Cell::Null, |n| Cell::Int(n.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(bad)?.map_or(Cell::Null, |n| Cell::Int(n.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(bad)?.map_or(Cell::Null, Cell::Int),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(bad)?.map_or(Cell::Null, Cell::Bool),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => match row.try_get::<_, Option<SystemTime>>(i).map_err(bad)? {
            None => Cell::Null,
            Some(t) => Cell::Time(micros(t)),
        },
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(bad)?.map_or(Cell::Null, |x| Cell::Real(x.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(bad)?.map_or(Cell::Null, Cell::Real),
        ref other => return Err(format!("column {} has type {other}; cast it to text or an integer", i + 1)),
    })
}

/// A time as microseconds since the epoch.
fn micros(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// A table name as an SQL identifier (`schema.table` kept as two parts).
fn quote_identifier(name: &str) -> String {
    name.split('.').map(|part| format!("\"{}\"", part.replace('"', "\"\""))).collect::<Vec<_>>().join(".")
}

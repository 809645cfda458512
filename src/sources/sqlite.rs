//! Reading the sources from an SQLite file: opened read-only, every query
//! of one read in one transaction (one snapshot), bounded in rows, bytes and
//! time.

use super::config::{Binding, Config};
use super::rows::{self, Cell};
use super::{Budget, CHANGES_TABLE, SourceError, SourceRead, VERSION_TABLE, read_bindings};
use crate::live::LiveFact;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// An open, read-only connection to the database.
pub struct Sqlite {
    path: std::path::PathBuf,
    connection: Connection,
    /// Whether the database has the version table (`warden db install`).
    versioned: bool,
    /// Whether it has the changes table too (per-table versions).
    per_table: bool,
    /// `PRAGMA data_version` at the last read: it changes when another
    /// connection commits.
    read_at: Option<i64>,
}

impl Sqlite {
    /// Opens the file read-only (it must exist).
    pub fn open(path: &Path) -> Result<Sqlite, SourceError> {
        let failed = |e: rusqlite::Error| SourceError::database(format!("cannot open `{}`: {e}", path.display()));
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(path, flags).map_err(failed)?;
        connection.busy_timeout(Duration::from_secs(5)).map_err(failed)?;
        let has = |table: &str| {
            connection
                .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |row| {
                    row.get::<_, i64>(0)
                })
                .map(|n| n > 0)
        };
        let (versioned, per_table) = (has(VERSION_TABLE).map_err(failed)?, has(CHANGES_TABLE).map_err(failed)?);
        Ok(Sqlite { path: path.to_path_buf(), connection, versioned, per_table, read_at: None })
    }

    /// Whether another connection committed since the last read (always,
    /// before the first).
    pub fn changed(&mut self) -> Result<bool, SourceError> {
        let now = self.data_version()?;
        Ok(self.read_at != Some(now))
    }

    fn data_version(&self) -> Result<i64, SourceError> {
        self.connection
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .map_err(|e| SourceError::database(format!("cannot read the database's version: {e}")))
    }

    /// Runs every query in one read transaction. Any error (a failing
    /// query, a bad row, a bound passed) fails the whole read.
    pub fn read(
        &mut self,
        config: &Config,
        arities: &[Option<usize>],
        since: Option<u64>,
        timeout: Duration,
    ) -> Result<SourceRead, SourceError> {
        let deadline = Instant::now() + timeout;
        // Interrupts a statement that runs past the deadline.
        self.connection
            .progress_handler(10_000, Some(move || Instant::now() > deadline))
            .map_err(|e| SourceError::database(format!("cannot bound the read's time: {e}")))?;
        let begun = self.connection.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;");
        let result = begun
            .map_err(|e| SourceError::database(format!("cannot begin a read: {e}")))
            .and_then(|()| self.read_in_transaction(config, arities, since, deadline));
        let _ = self.connection.execute_batch("COMMIT");
        let _ = self.connection.progress_handler(0, None::<fn() -> bool>);
        let (_, read) = result?;
        Ok(read)
    }

    fn read_in_transaction(
        &self,
        config: &Config,
        arities: &[Option<usize>],
        since: Option<u64>,
        deadline: Instant,
    ) -> Result<(i64, SourceRead), SourceError> {
        let data_version = self.data_version()?;
        let version = match self.versioned {
            true => Some(
                self.connection
                    .query_row(&format!("SELECT version FROM {VERSION_TABLE} WHERE id = 1"), [], |row| {
                        row.get::<_, i64>(0)
                    })
                    .map(|v| u64::try_from(v).unwrap_or(0))
                    .map_err(|e| SourceError::database(format!("cannot read the database's version: {e}")))?,
            ),
            false => None,
        };
        let changes = match self.per_table && since.is_some() {
            true => Some(self.changes()?),
            false => None,
        };
        let facts = read_bindings(config, arities, since, changes.as_ref(), |binding, arity, budget| {
            self.read_binding(binding, arity, budget).map_err(|e| match e {
                e if Instant::now() > deadline => {
                    SourceError::of(binding, format!("the read passed its time limit ({e})"))
                }
                e => e,
            })
        })?;
        Ok((data_version, SourceRead { facts, version, marker: Some(data_version) }))
    }

    /// Takes a committed read's `data_version` as the one to compare with.
    pub fn mark_read(&mut self, marker: Option<i64>) {
        self.read_at = marker;
    }

    /// The version at which each watched table last changed.
    fn changes(&self) -> Result<BTreeMap<String, u64>, SourceError> {
        let failed = |e: rusqlite::Error| SourceError::database(format!("cannot read `{CHANGES_TABLE}`: {e}"));
        let mut statement =
            self.connection.prepare(&format!("SELECT table_name, version FROM {CHANGES_TABLE}")).map_err(failed)?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0))))
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn read_binding(
        &self,
        binding: &Binding,
        arity: Option<usize>,
        budget: &mut Budget,
    ) -> Result<Vec<LiveFact>, SourceError> {
        let failed = |e: rusqlite::Error| SourceError::of(binding, e.to_string());
        let mut statement = self.connection.prepare(&binding.query).map_err(failed)?;
        if !statement.readonly() {
            return Err(SourceError::of(binding, "the query writes; a source may only read".into()));
        }
        let columns = statement.column_count();
        binding.check_width(columns, arity).map_err(|message| SourceError::of(binding, message))?;
        let mut rows = statement.query([]).map_err(failed)?;
        let mut facts = Vec::new();
        let mut cells = Vec::with_capacity(columns);
        while let Some(row) = rows.next().map_err(failed)? {
            budget.take_row(binding)?;
            cells.clear();
            for i in 0..columns {
                let cell = match row.get_ref(i).map_err(failed)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(n) => Cell::Int(n),
                    ValueRef::Real(x) => Cell::Real(x),
                    ValueRef::Text(bytes) => {
                        budget.take_bytes(binding, bytes.len())?;
                        match std::str::from_utf8(bytes) {
                            Ok(text) => Cell::Text(text.to_string()),
                            Err(_) => {
                                let message = format!("column {} is not valid UTF-8", i + 1);
                                return Err(SourceError::row(binding, facts.len() + 1, &cells, message));
                            }
                        }
                    }
                    ValueRef::Blob(_) => Cell::Blob,
                };
                cells.push(cell);
            }
            facts.push(rows::fact_of(binding, facts.len() + 1, &cells)?);
        }
        Ok(facts)
    }

    /// `warden db install`: the version table, and triggers on each of
    /// `tables` that raise the version in the writing transaction.
    pub fn install(&mut self, tables: &[String]) -> Result<(), SourceError> {
        let failed = |e: rusqlite::Error| SourceError::database(format!("cannot install: {e}"));
        let mut writer = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(failed)?;
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
             INSERT OR IGNORE INTO {VERSION_TABLE} VALUES (1, 0);
             CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (table_name TEXT PRIMARY KEY, version INTEGER NOT NULL);"
        );
        for table in tables {
            let quoted = format!("\"{}\"", table.replace('"', "\"\""));
            let literal = format!("'{}'", table.replace('\'', "''"));
            // One name per table (its bytes in hex: `a-b` and `a_b` differ),
            // replaced by a new install.
            let name: String = table.bytes().map(|b| format!("{b:02x}")).collect();
            for event in ["INSERT", "UPDATE", "DELETE"] {
                sql.push_str(&format!(
                    "DROP TRIGGER IF EXISTS warden_bump_{name}_{event};
                     CREATE TRIGGER warden_bump_{name}_{event} AFTER {event} ON {quoted}
                     BEGIN
                       UPDATE {VERSION_TABLE} SET version = version + 1 WHERE id = 1;
                       INSERT OR REPLACE INTO {CHANGES_TABLE}
                         VALUES ({literal}, (SELECT version FROM {VERSION_TABLE} WHERE id = 1));
                     END;"
                ));
            }
        }
        let tx = writer.transaction().map_err(failed)?;
        tx.execute_batch(&sql).map_err(failed)?;
        tx.commit().map_err(failed)?;
        (self.versioned, self.per_table) = (true, true);
        Ok(())
    }
}

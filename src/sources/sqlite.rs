//! Reading the sources from an SQLite file: opened read-only, every query
//! of one read in one transaction (one snapshot), bounded in rows, bytes and
//! time.

use super::config::{Binding, Config};
use super::rows::{self, Cell};
use super::{SourceError, SourceRead};
use crate::live::LiveFact;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::{Duration, Instant};

/// The most bytes of text one read may return (1 GiB).
pub const MAX_READ_BYTES: usize = 1 << 30;

/// An open, read-only connection to the database.
pub struct Sqlite {
    connection: Connection,
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
        Ok(Sqlite { connection, read_at: None })
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
            .and_then(|()| self.read_in_transaction(config, arities, deadline));
        let _ = self.connection.execute_batch("COMMIT");
        let _ = self.connection.progress_handler(0, None::<fn() -> bool>);
        let (version, facts) = result?;
        self.read_at = Some(version);
        Ok(SourceRead { facts })
    }

    fn read_in_transaction(
        &self,
        config: &Config,
        arities: &[Option<usize>],
        deadline: Instant,
    ) -> Result<(i64, Vec<Vec<LiveFact>>), SourceError> {
        let version = self.data_version()?;
        let mut budget = Budget { rows: config.max_rows, bytes: MAX_READ_BYTES };
        let mut facts = Vec::with_capacity(config.bindings.len());
        for (i, binding) in config.bindings.iter().enumerate() {
            let arity = arities.get(i).copied().flatten();
            let read = self.read_binding(binding, arity, &mut budget).map_err(|e| match e {
                e if Instant::now() > deadline => {
                    SourceError::of(binding, format!("the read passed its time limit ({e})"))
                }
                e => e,
            })?;
            facts.push(read);
        }
        Ok((version, facts))
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
}

/// What is left of one read's bounds.
struct Budget {
    rows: usize,
    bytes: usize,
}

impl Budget {
    fn take_row(&mut self, binding: &Binding) -> Result<(), SourceError> {
        self.rows = self.rows.checked_sub(1).ok_or_else(|| {
            SourceError::of(binding, "the sources return more rows than `max_rows` allows".to_string())
        })?;
        Ok(())
    }

    fn take_bytes(&mut self, binding: &Binding, n: usize) -> Result<(), SourceError> {
        self.bytes = self.bytes.checked_sub(n).ok_or_else(|| {
            SourceError::of(binding, format!("the sources return more than {} MiB of text", MAX_READ_BYTES >> 20))
        })?;
        Ok(())
    }
}

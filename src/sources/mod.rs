//! Facts from a database: relations and built-in statements bound to SQL
//! queries in a source file (`warden.toml`, see [`config`]).
//!
//! A read runs every query in one read transaction, so the facts are one
//! snapshot of the database; each row becomes one fact of its binding's
//! shape ([`Shape`]), checked value by value, never parsed as text. A read
//! that fails in any way (a query error, a row with a NULL where a name is
//! wanted, a real number, too many rows) fails whole: the program keeps the
//! facts of its last good read, and the error names the source and the row.
//!
//! [`Sources::load`] adds a read to a program; [`crate::live::Live`] keeps
//! one fresh ([`crate::live::Live::refresh`]), applying the difference from
//! the last read as one atomic update.
//!
//! Only this module imports `rusqlite` and `toml`.

mod changes;
pub mod config;
mod postgres;
mod rows;
mod sqlite;

pub use changes::Pending;
pub use config::{Binding, Config, Database, Shape};
pub use postgres::Listener;
pub use rows::parse_sql_timestamp;

use crate::Diagnostic;
use crate::engine::{Engine, LoadError};
use crate::live::LiveFact;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long one read may take before it is interrupted (60 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The most bytes of text one read may return (1 GiB).
pub const MAX_READ_BYTES: usize = 1 << 30;

/// The table `warden db install` creates: one row, the database's version,
/// raised by a trigger on each watched table in the writing transaction.
pub const VERSION_TABLE: &str = "warden_version";

/// The table of the version at which each watched table last changed
/// (kept by the same triggers): a binding that names its `tables` is read
/// again only when one of them changed.
pub const CHANGES_TABLE: &str = "warden_changes";

/// Why a read of the sources failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SourceError {
    /// The binding (`source `owner``), or `None` for the database itself.
    pub binding: Option<String>,
    /// The row (from 1) and its values, when one row is at fault.
    pub row: Option<(usize, String)>,
    /// What is wrong.
    pub message: String,
}

impl SourceError {
    fn database(message: String) -> SourceError {
        SourceError { binding: None, row: None, message }
    }

    fn of(binding: &Binding, message: String) -> SourceError {
        SourceError { binding: Some(binding.label()), row: None, message }
    }

    fn row(binding: &Binding, row: usize, cells: &[rows::Cell], message: String) -> SourceError {
        let values: Vec<String> = cells.iter().map(ToString::to_string).collect();
        SourceError { binding: Some(binding.label()), row: Some((row, values.join(", "))), message }
    }

    fn describe(&self) -> String {
        match (&self.binding, &self.row) {
            (Some(source), Some((n, values))) => format!("{source}, row {n} ({values}): {}", self.message),
            (Some(source), None) => format!("{source}: {}", self.message),
            _ => self.message.clone(),
        }
    }

    /// The error as a load error (nothing to point at in a policy).
    pub fn into_load_error(self) -> LoadError {
        LoadError { diagnostics: vec![Diagnostic::global(self.to_string())], sources: Default::default() }
    }
}

/// The facts of one read, per binding in the source file's order; `None`
/// for a binding not read again (none of its tables changed).
pub struct SourceRead {
    facts: Vec<Option<Vec<LiveFact>>>,
    /// The database's version in the read's snapshot (with the version table).
    version: Option<u64>,
    /// What tells the next read whether the database changed since this one
    /// (SQLite's `data_version`, PostgreSQL's version); taken only when the
    /// read is committed, so a read the program could not apply is read again.
    marker: Option<i64>,
}

/// Reads the bindings of one snapshot with `read_one` (a binding, its
/// relation's arity, the read's budget): every binding on the first read
/// (`since` is `None`), without the changes table, or when it does not name
/// its tables; otherwise only those whose tables changed after `since`.
fn read_bindings(
    config: &Config,
    arities: &[Option<usize>],
    since: Option<u64>,
    changes: Option<&BTreeMap<String, u64>>,
    mut read_one: impl FnMut(&Binding, Option<usize>, &mut Budget) -> Result<Vec<LiveFact>, SourceError>,
) -> Result<Vec<Option<Vec<LiveFact>>>, SourceError> {
    let mut budget = Budget::new(config.max_rows);
    let mut facts = Vec::with_capacity(config.bindings.len());
    for (i, binding) in config.bindings.iter().enumerate() {
        let must_read = match (since, changes, &binding.tables) {
            (Some(since), Some(changes), Some(tables)) => {
                tables.iter().any(|t| changes.get(t).is_some_and(|v| *v > since))
            }
            _ => true,
        };
        let read = match must_read {
            true => Some(read_one(binding, arities.get(i).copied().flatten(), &mut budget)?),
            false => None,
        };
        facts.push(read);
    }
    Ok(facts)
}

/// What is left of one read's bounds.
struct Budget {
    rows: usize,
    bytes: usize,
}

impl Budget {
    fn new(rows: usize) -> Budget {
        Budget { rows, bytes: MAX_READ_BYTES }
    }

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

/// The connection of one kind of database.
enum Connection {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// What one full read gave ([`Sources::read_each`]).
#[derive(Clone, Debug)]
pub struct ReadCounts {
    /// Each binding's label and how many facts it gave.
    pub per_binding: Vec<(String, usize)>,
    /// The database's version (with the version table).
    pub version: Option<u64>,
}

/// An open connection to the sources' database, checked against a program.
pub struct Sources {
    config: Arc<Config>,
    database: Connection,
    /// The column count of each binding that feeds a relation.
    arities: Vec<Option<usize>>,
    /// The last committed read.
    known: changes::Known,
}

impl Sources {
    /// Opens the database and checks every binding against the program: a
    /// relation must be declared (`relation owner(user, page);`), and a
    /// typed column must be one the relation has.
    pub fn open(config: Arc<Config>, program: &Engine) -> Result<Sources, LoadError> {
        let errors = check_bindings(&config, program);
        if !errors.is_empty() {
            return Err(LoadError { diagnostics: errors, sources: config.sources.clone() });
        }
        let database = match &config.database {
            Database::Sqlite(path) => {
                Connection::Sqlite(sqlite::Sqlite::open(path).map_err(SourceError::into_load_error)?)
            }
            Database::Postgres(url) => {
                Connection::Postgres(postgres::Postgres::open(url).map_err(SourceError::into_load_error)?)
            }
        };
        let arities = config
            .bindings
            .iter()
            .map(|b| match &b.shape {
                Shape::Relation(name) => {
                    program.checked().program.relations.iter().find(|r| r.name == *name).map(|r| r.arity)
                }
                _ => None,
            })
            .collect();
        Ok(Sources { config, database, arities, known: changes::Known::default() })
    }

    /// The database, as facts' source names show it (`sqlite wiki.sqlite3`).
    pub fn describe(&self) -> String {
        match &self.config.database {
            Database::Sqlite(path) => format!("sqlite {}", path.display()),
            Database::Postgres(url) => format!("postgres {}", without_password(url)),
        }
    }

    /// The source file.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the database changed since the last read (always before the
    /// first).
    pub fn changed(&mut self) -> Result<bool, SourceError> {
        match &mut self.database {
            Connection::Sqlite(db) => db.changed(),
            Connection::Postgres(db) => db.changed(),
        }
    }

    fn read_since(&mut self, since: Option<u64>) -> Result<SourceRead, SourceError> {
        match &mut self.database {
            Connection::Sqlite(db) => db.read(&self.config, &self.arities, since, READ_TIMEOUT),
            Connection::Postgres(db) => db.read(&self.config, &self.arities, since, READ_TIMEOUT),
        }
    }

    /// Reads, in one snapshot, every binding whose tables changed since the
    /// last committed read (every binding, the first time), and returns the
    /// difference to the facts of that read. Nothing is kept until
    /// [`Sources::commit`].
    pub fn read_changes(&mut self) -> Result<Pending, SourceError> {
        let since = if self.known.read { self.known.version } else { None };
        let read = self.read_since(since)?;
        Ok(self.known.difference(read))
    }

    /// Takes a read as the last committed one (after the program took its
    /// difference): until then, the database counts as changed.
    pub fn commit(&mut self, pending: Pending) {
        let marker = pending.marker;
        self.known.commit(pending);
        match &mut self.database {
            Connection::Sqlite(db) => db.mark_read(marker),
            Connection::Postgres(db) => db.mark_read(marker),
        }
    }

    /// Every fact of the last committed read, sorted.
    pub fn facts(&self) -> Vec<LiveFact> {
        self.known.union()
    }

    /// The database's version at the last committed read (with the version table).
    pub fn version(&self) -> Option<u64> {
        self.known.version
    }

    /// Reads every binding in one snapshot; how many facts each gave (in
    /// the source file's order, with each binding's label), and the
    /// database's version (with the version table).
    pub fn read_each(&mut self) -> Result<ReadCounts, SourceError> {
        let read = self.read_since(None)?;
        let counts = read.facts.iter().map(|facts| facts.as_ref().map_or(0, Vec::len));
        let per_binding = self.config.bindings.iter().zip(counts).map(|(b, n)| (b.label(), n)).collect();
        Ok(ReadCounts { per_binding, version: read.version })
    }

    /// Reads every binding and adds the facts to a program loaded from files.
    pub fn load(&mut self, program: &Engine) -> Result<Engine, LoadError> {
        let pending = self.read_changes().map_err(SourceError::into_load_error)?;
        let engine = apply(program, &self.describe(), &pending.inserted, &[])?;
        self.commit(pending);
        Ok(engine)
    }

    /// `warden db install`: creates the version table and a trigger on each
    /// watched table (`watch` in the source file), so that every committed
    /// write raises the database's version: a change is then noticed
    /// without re-reading, and a caller can wait for its own write.
    pub fn install(&mut self) -> Result<(), SourceError> {
        let tables = self.config.watch.clone();
        if tables.is_empty() {
            return Err(SourceError::database(
                "the source file watches no tables: add `watch = [\"TABLE\", ...]` under `[database]`".into(),
            ));
        }
        match &mut self.database {
            Connection::Sqlite(db) => db.install(&tables),
            Connection::Postgres(db) => db.install(&tables),
        }
    }

    /// Something to wait on for the next change: PostgreSQL's notifications
    /// (with the version table), else a plain poll.
    pub fn listener(&self) -> Listener {
        match &self.database {
            Connection::Postgres(db) => db.listener(),
            Connection::Sqlite(_) => Listener::default(),
        }
    }
}

/// A connection string with its password replaced by `***`: in a URL's
/// user information or `password=` parameter, or a `password` key of the
/// `key = value` form (quoted or not, spaces around `=` or not).
fn without_password(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (address, query) = rest.split_once('?').map_or((rest, None), |(a, q)| (a, Some(q)));
        let address = match address.rsplit_once('@') {
            Some((credentials, host)) => match credentials.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => address.to_string(),
            },
            None => address.to_string(),
        };
        let query = query.map(|q| {
            q.split('&')
                .map(|part| match part.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => part.to_string(),
                })
                .collect::<Vec<_>>()
                .join("&")
        });
        return match query {
            Some(query) => format!("{scheme}://{address}?{query}"),
            None => format!("{scheme}://{address}"),
        };
    }
    // `key = value` pairs: after `password`, `=`, and the value (to the next
    // space, or a quoted string with `\'` escapes).
    let lower = url.to_ascii_lowercase();
    let Some(at) = lower.find("password") else { return url.to_string() };
    let after_key = at + "password".len();
    let rest = url.get(after_key..).unwrap_or("");
    let Some(equals) = rest.find('=').filter(|i| rest.get(..*i).is_some_and(|gap| gap.trim().is_empty())) else {
        return url.to_string();
    };
    let value_start = after_key + equals + 1;
    let value = url.get(value_start..).unwrap_or("");
    let skipped = value.len() - value.trim_start().len();
    let value = value.trim_start();
    let value_len = if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        let close = quoted.char_indices().find(|(_, c)| {
            let end = *c == '\'' && !escaped;
            escaped = *c == '\\' && !escaped;
            end
        });
        close.map_or(value.len(), |(i, _)| i + 2)
    } else {
        value.find(char::is_whitespace).unwrap_or(value.len())
    };
    let end = value_start + skipped + value_len;
    format!("{}***{}", url.get(..value_start + skipped).unwrap_or(""), without_password(url.get(end..).unwrap_or("")))
}

/// Applies the difference between two reads of `database` to a snapshot
/// (the facts are shown in a source named after the database).
pub fn apply(
    snapshot: &Engine,
    database: &str,
    inserted: &[LiveFact],
    removed: &[LiveFact],
) -> Result<Engine, LoadError> {
    snapshot.with_source_facts(&format!("<{database}>"), inserted.iter(), removed.iter())
}

/// Each binding against the program's relations.
fn check_bindings(config: &Config, program: &Engine) -> Vec<Diagnostic> {
    let relations: BTreeMap<&str, (bool, usize)> =
        program.checked().program.relations.iter().map(|r| (r.name.as_str(), (r.declared, r.arity))).collect();
    let mut errors = Vec::new();
    for binding in &config.bindings {
        let Shape::Relation(name) = &binding.shape else { continue };
        match relations.get(name.as_str()) {
            Some((true, arity)) if binding.types.len() > *arity => errors.push(Diagnostic::error(
                format!("source `{name}` gives {} types, but `{name}` has {arity} columns", binding.types.len()),
                binding.span,
                "here",
            )),
            Some((true, _)) => {}
            _ => errors.push(
                Diagnostic::error(
                    format!("source `{name}` feeds a relation the policy does not declare"),
                    binding.span,
                    "this source",
                )
                .with_help(format!("declare it in the policy: `relation {name}(TYPE, ...);`")),
            ),
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn passwords_are_hidden_in_every_form_of_connection_string() {
        assert_eq!(without_password("postgresql://ann:s3cret@db/wiki"), "postgresql://ann:***@db/wiki");
        assert_eq!(
            without_password("postgresql://db/wiki?user=ann&password=s3cret&sslmode=disable"),
            "postgresql://db/wiki?user=ann&password=***&sslmode=disable"
        );
        assert_eq!(without_password("host=db user=ann password=s3cret"), "host=db user=ann password=***");
        assert_eq!(without_password("host=db password = s3cret user=ann"), "host=db password = *** user=ann");
        assert_eq!(without_password("password='a b\\' c' host=db"), "password=*** host=db");
        assert_eq!(without_password("postgresql://ann@db/wiki"), "postgresql://ann@db/wiki");
    }
}

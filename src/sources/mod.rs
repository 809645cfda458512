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

pub mod config;
mod rows;
mod sqlite;

pub use config::{Binding, Config, Database, Shape};
pub use rows::parse_sql_timestamp;

use crate::Diagnostic;
use crate::engine::{Engine, LoadError};
use crate::live::LiveFact;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// How long one read may take before it is interrupted (60 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

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

/// The facts of one read, per binding in the source file's order.
pub struct SourceRead {
    facts: Vec<Vec<LiveFact>>,
}

impl SourceRead {
    /// Every fact of the read, once each.
    pub fn into_set(self) -> BTreeSet<LiveFact> {
        self.facts.into_iter().flatten().collect()
    }
}

/// An open connection to the sources' database, checked against a program.
pub struct Sources {
    config: Arc<Config>,
    database: sqlite::Sqlite,
    /// The column count of each binding that feeds a relation.
    arities: Vec<Option<usize>>,
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
            Database::Sqlite(path) => sqlite::Sqlite::open(path).map_err(SourceError::into_load_error)?,
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
        Ok(Sources { config, database, arities })
    }

    /// The database, as facts' source names show it (`sqlite wiki.sqlite3`).
    pub fn describe(&self) -> String {
        match &self.config.database {
            Database::Sqlite(path) => format!("sqlite {}", path.display()),
        }
    }

    /// The source file.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the database changed since the last read (always before the
    /// first).
    pub fn changed(&mut self) -> Result<bool, SourceError> {
        self.database.changed()
    }

    /// Reads every binding in one snapshot.
    pub fn read(&mut self) -> Result<BTreeSet<LiveFact>, SourceError> {
        let read = self.database.read(&self.config, &self.arities, READ_TIMEOUT)?;
        Ok(read.into_set())
    }

    /// Reads every binding in one snapshot; how many facts each gave (in
    /// the source file's order, with each binding's label).
    pub fn read_each(&mut self) -> Result<Vec<(String, usize)>, SourceError> {
        let read = self.database.read(&self.config, &self.arities, READ_TIMEOUT)?;
        Ok(self.config.bindings.iter().zip(&read.facts).map(|(b, facts)| (b.label(), facts.len())).collect())
    }

    /// Adds a read's facts to a program loaded from files.
    pub fn load(&mut self, program: &Engine) -> Result<(Engine, BTreeSet<LiveFact>), LoadError> {
        let facts = self.read().map_err(SourceError::into_load_error)?;
        let engine = apply(program, &self.describe(), &facts, &BTreeSet::new())?;
        Ok((engine, facts))
    }
}

/// Applies the difference between two reads of `database` to a snapshot
/// (the facts are shown in a source named after the database).
pub fn apply(
    snapshot: &Engine,
    database: &str,
    inserted: &BTreeSet<LiveFact>,
    removed: &BTreeSet<LiveFact>,
) -> Result<Engine, LoadError> {
    let inserted: Vec<LiveFact> = inserted.iter().cloned().collect();
    let removed: Vec<LiveFact> = removed.iter().cloned().collect();
    snapshot.with_source_facts(&format!("<{database}>"), &inserted, &removed)
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

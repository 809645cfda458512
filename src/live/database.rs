//! A live program's database: re-reading it when it changed, applying the
//! difference as one update, and how fresh its facts are.

use super::{Live, LiveFact};
use crate::Diagnostic;
use crate::engine::LoadError;
use crate::sources::{self, Sources};
use crate::syntax::span::SourceMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Live {
    /// Re-reads the database, if the program has one and it changed since
    /// the last read, and applies the difference as one update: checks see
    /// the old facts or the new ones, never a mix. A fact the files state
    /// stays when the database drops it; a live update's insertion or
    /// removal stays in force. Returns whether the program changed. On error
    /// (a failing query, a bad row) the running snapshot stays, and the
    /// error names the source and the row.
    pub fn refresh(&self) -> Result<bool, LoadError> {
        self.refresh_unless_read_since(self.reads_begun())
    }

    /// How many reads of the database have begun: a caller that notes it,
    /// and later calls [`Live::refresh_unless_read_since`] with it, shares
    /// any read that began in between.
    pub fn reads_begun(&self) -> u64 {
        self.reads_started.load(Ordering::Acquire)
    }

    /// [`Live::refresh`], unless a read began after the caller saw
    /// `reads_begun` reads begun: that read looked at the database after
    /// everything the caller committed before, and once it is published its
    /// error is returned, or `false` (whether it changed the program is that
    /// read's to say).
    pub fn refresh_unless_read_since(&self, reads_begun: u64) -> Result<bool, LoadError> {
        let Some(database) = &self.database else { return Ok(false) };
        let started = std::time::Instant::now();
        let waiting_since = reads_begun;
        let mut database = database.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A read that began while this one waited for the lock looked at the
        // database after every write committed before this call, and was
        // published (or failed) before it let go of the lock: a burst of
        // refreshes reads once, and shares that read's outcome.
        if self.reads_started.load(Ordering::Acquire) != waiting_since {
            let failed = self.freshness.lock().unwrap_or_else(std::sync::PoisonError::into_inner).error.clone();
            return match failed {
                Some(error) => {
                    Err(LoadError { diagnostics: vec![Diagnostic::global(error)], sources: SourceMap::new() })
                }
                None => Ok(false),
            };
        }
        self.reads_started.fetch_add(1, Ordering::AcqRel);
        let result = self.read_database(&mut database).map(|(changed, generation)| {
            if let Some(generation) = generation {
                self.publish(generation);
            }
            changed
        });
        let mut freshness = self.freshness.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &result {
            Ok(changed) => {
                (freshness.read_at, freshness.error) = (Some(std::time::Instant::now()), None);
                if *changed {
                    freshness.applied += 1;
                    freshness.apply_seconds += started.elapsed().as_secs_f64();
                }
            }
            Err(e) => {
                freshness.error = Some(e.render(false));
                freshness.failed += 1;
            }
        }
        result
    }

    /// Something to wait on for the database's next change (`None` without
    /// a database); see [`sources::Listener`].
    pub fn listener(&self) -> Option<sources::Listener> {
        let database = self.database.as_ref()?;
        Some(database.lock().unwrap_or_else(std::sync::PoisonError::into_inner).listener())
    }

    /// Whether the program reads facts from a database.
    pub fn has_database(&self) -> bool {
        self.database.is_some()
    }

    /// The database, when the last good read was, and the last read's error
    /// (`None` without a database).
    pub fn database_status(&self) -> Option<DatabaseStatus> {
        self.database.as_ref()?;
        let freshness = self.freshness.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(DatabaseStatus {
            database: self.database_name.clone(),
            since_good_read: freshness.read_at.map(|at| at.elapsed()),
            error: freshness.error.clone(),
            applied: freshness.applied,
            failed: freshness.failed,
            apply_seconds: freshness.apply_seconds,
        })
    }

    /// Reads the database (if it changed) and applies the difference;
    /// whether the program changed, and the generation to publish.
    fn read_database(&self, database: &mut Sources) -> Result<(bool, Option<u64>), LoadError> {
        if !database.changed().map_err(sources::SourceError::into_load_error)? {
            return Ok((false, None));
        }
        let pending = database.read_changes().map_err(sources::SourceError::into_load_error)?;
        let name = &self.database_name;
        let generation = {
            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let moved = pending.version > state.database_version;
            // A fact the files state too stays when the database drops it.
            let removed: Vec<LiveFact> =
                pending.removed.iter().filter(|fact| state.files.base_fact(fact).is_err()).cloned().collect();
            let inserted = &pending.inserted;
            if inserted.is_empty() && removed.is_empty() {
                state.database_version = state.database_version.max(pending.version);
                database.commit(pending);
                if !moved {
                    return Ok((false, None));
                }
                // The same facts at a newer version: published so that a
                // caller waiting for that version is answered.
                state.generation += 1;
                return Ok((false, Some(state.generation)));
            }
            let (base, latest) = if state.overlay.inserted.is_empty() && state.overlay.removed.is_empty() {
                // No live changes: the snapshot is the base, changed once
                // (from the published snapshot, whose plan the next one reuses).
                let latest = sources::apply(&state.latest, name, inserted, &removed)?;
                (latest.clone(), latest)
            } else {
                // Live changes stay in force over the database's.
                let overlaid =
                    |fact: &&LiveFact| !state.overlay.inserted.contains(fact) && !state.overlay.removed.contains(fact);
                let latest_inserted: Vec<LiveFact> = inserted.iter().filter(overlaid).cloned().collect();
                let latest_removed: Vec<LiveFact> = removed.iter().filter(overlaid).cloned().collect();
                let base = sources::apply(&state.base, name, inserted, &removed)?;
                (base, sources::apply(&state.latest, name, &latest_inserted, &latest_removed)?)
            };
            (state.base, state.latest) = (base, Arc::new(latest));
            state.database_version = state.database_version.max(pending.version);
            database.commit(pending);
            state.generation += 1;
            state.generation
        };
        Ok((true, Some(generation)))
    }
}

/// How the reads of the database went.
#[derive(Default)]
pub(super) struct Freshness {
    /// When the last good read finished.
    read_at: Option<std::time::Instant>,
    /// The last read's error, if it failed.
    error: Option<String>,
    /// Reads that changed the program, reads that failed, and the time the
    /// changing ones took (read, apply and publish).
    applied: u64,
    failed: u64,
    apply_seconds: f64,
}

impl Freshness {
    /// A program that has just read its database.
    pub(super) fn new() -> Freshness {
        Freshness { read_at: Some(std::time::Instant::now()), ..Freshness::default() }
    }
}

/// The state of a live program's database ([`Live::database_status`]).
#[derive(Clone, Debug)]
pub struct DatabaseStatus {
    /// The database (`sqlite wiki.sqlite3`).
    pub database: String,
    /// How long ago the last good read finished (the facts are at least
    /// this stale when `error` is set).
    pub since_good_read: Option<std::time::Duration>,
    /// Why the last read failed; the program keeps the last good read.
    pub error: Option<String>,
    /// How many reads changed the program.
    pub applied: u64,
    /// How many reads failed.
    pub failed: u64,
    /// The time the changing reads took in all (read, apply, publish), in seconds.
    pub apply_seconds: f64,
}

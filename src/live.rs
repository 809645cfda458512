//! Embedding: typed checks, and a program whose data changes while it serves.
//!
//! [`Engine::check`] decides one [`Request`] (user, permission, object, time,
//! context) and returns a [`Decision`] with its reason; it never fails: any
//! error denies, and says why. [`Live`] holds the current [`Engine`] snapshot
//! behind an atomically swapped `Arc`: checks load it without a lock, while
//! [`Live::update`] (a batch of fact insertions and removals) and
//! [`Live::reload`] build a new snapshot and swap it in whole, so a reader sees
//! the old program or the new one, never a mix. A batch or a reload that does
//! not load is rejected with its diagnostics and the running snapshot stays.
//!
//! A new snapshot is published with its check plan built, so checks never
//! leave the compiled plan while the data changes; `update` returns once its
//! change is published (read your writes). Writers that arrive while a plan
//! builds queue their changes, and the next build publishes all of them: a
//! burst of updates builds two plans, not one per update.
//!
//! ```
//! use warden::live::{Live, Request};
//! let live = Live::from_source("p.warden", "role viewer { read; }\npage:1 in project:a;").unwrap();
//! let bob = Request::new("bob", "read", "page:1").at("2026-11-23T10:00:00Z").unwrap();
//! assert!(!live.check(&bob).allowed);
//! live.update(|tx| tx.insert("assign bob viewer on project:a;")).unwrap();
//! assert!(live.check(&bob).allowed);
//! ```

use crate::engine::{Engine, LoadError, RequestOptions};
use crate::sources::{self, Sources};
use crate::syntax::span::SourceMap;
use crate::{Diagnostic, syntax};
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod database;
mod fact;
mod update;
pub use crate::engine::{Decision, EngineBuilder, PreparedRequest, Request};
pub use database::DatabaseStatus;
use database::Freshness;
pub(crate) use fact::means_every_object;
pub use fact::{Direction, FactError, Holding, LiveFact};
use update::Overlay;
pub use update::{LiveChanges, Transaction};

/// Where a live program's text comes from.
#[derive(Clone, Debug)]
enum Input {
    File(PathBuf),
    Text(String, String),
}

/// A program that changes while it serves; checks never wait for a writer.
pub struct Live {
    /// The published snapshot (its plan built).
    current: ArcSwap<Engine>,
    inputs: Vec<Input>,
    /// Writers take this lock; readers never do.
    state: Mutex<State>,
    /// The generation of the published snapshot; held while a plan builds,
    /// so that one plan builds at a time.
    published: Mutex<u64>,
    /// How many plans were built for publication (see the tests).
    builds: std::sync::atomic::AtomicUsize,
    configure: Arc<dyn Fn(&mut Engine) + Send + Sync>,
    /// Whether updates may add superusers, lift `inactive`, or change `role_extends` or a role's entries.
    privileged: bool,
    /// The database the program's other facts come from, if any; held by
    /// the one reader that refreshes.
    database: Option<Mutex<Sources>>,
    /// The database as facts' sources name it (`sqlite wiki.sqlite3`).
    database_name: String,
    /// How the last reads of the database went.
    freshness: Mutex<Freshness>,
    /// How many reads of the database began (see `read_database`).
    reads_started: AtomicU64,
    /// The version of the published snapshot (see [`Live::version`]).
    version: AtomicU64,
}

/// What writers share.
struct State {
    /// The changes so far.
    overlay: Overlay,
    /// The program of the files alone (a fact they state is never removed
    /// because the database no longer has it).
    files: Engine,
    /// The files and the database's facts (to tell a base fact from an inserted one).
    base: Engine,
    /// The database's version at the last good read (with `warden db install`): the
    /// program's version is then the database's.
    database_version: Option<u64>,
    /// The newest snapshot, published or not, and its generation.
    latest: Arc<Engine>,
    generation: u64,
}

impl Live {
    /// A live program over files and directories.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Live, LoadError> {
        Live::new(paths.iter().cloned().map(Input::File).collect(), Arc::new(|_: &mut Engine| {}))
    }

    /// A live program over one text.
    pub fn from_source(name: &str, text: &str) -> Result<Live, LoadError> {
        Live::new(vec![Input::Text(name.into(), text.into())], Arc::new(|_: &mut Engine| {}))
    }

    /// A live program whose every snapshot is configured by `configure`
    /// (register `extern fn`s, set limits).
    pub fn with_configuration(
        paths: &[PathBuf],
        configure: Arc<dyn Fn(&mut Engine) + Send + Sync>,
    ) -> Result<Live, LoadError> {
        Live::new(paths.iter().cloned().map(Input::File).collect(), configure)
    }

    /// A live program over one text whose every snapshot is configured by
    /// `configure` (as [`Live::with_configuration`]).
    pub fn from_source_with_configuration(
        name: &str,
        text: &str,
        configure: Arc<dyn Fn(&mut Engine) + Send + Sync>,
    ) -> Result<Live, LoadError> {
        Live::new(vec![Input::Text(name.into(), text.into())], configure)
    }

    /// A live program over files and a database (the relations bound in the
    /// source file `config`); [`Live::refresh`] keeps it fresh.
    pub fn with_sources(
        paths: &[PathBuf],
        config: Arc<sources::Config>,
        configure: Arc<dyn Fn(&mut Engine) + Send + Sync>,
    ) -> Result<Live, LoadError> {
        Live::open(paths.iter().cloned().map(Input::File).collect(), Some(config), configure)
    }

    fn new(inputs: Vec<Input>, configure: Arc<dyn Fn(&mut Engine) + Send + Sync>) -> Result<Live, LoadError> {
        Live::open(inputs, None, configure)
    }

    fn open(
        inputs: Vec<Input>,
        config: Option<Arc<sources::Config>>,
        configure: Arc<dyn Fn(&mut Engine) + Send + Sync>,
    ) -> Result<Live, LoadError> {
        let files = read_inputs(&inputs)?;
        let (base, database) = match config {
            Some(config) => {
                let mut database = Sources::open(config, &files)?;
                (database.load(&files)?, Some(database))
            }
            None => (files.clone(), None),
        };
        let database_version = database.as_ref().and_then(Sources::version);
        let database_name = database.as_ref().map(Sources::describe).unwrap_or_default();
        let engine = with_overlay(&base, &Overlay::default(), configure.as_ref())?;
        // The first snapshot is ready to check at full speed when this returns.
        let _ = engine.check_plan();
        let latest = Arc::new(engine);
        let state =
            State { overlay: Overlay::default(), files, base, database_version, latest: latest.clone(), generation: 0 };
        Ok(Live {
            current: ArcSwap::new(latest),
            inputs,
            state: Mutex::new(state),
            published: Mutex::new(0),
            builds: Default::default(),
            configure,
            privileged: false,
            database: database.map(Mutex::new),
            database_name,
            freshness: Mutex::new(Freshness::new()),
            reads_started: AtomicU64::new(0),
            version: AtomicU64::new(database_version.unwrap_or(0)),
        })
    }

    /// Publishes the newest snapshot, with its plan built, unless one at
    /// least as new as `generation` is published already (by a writer that
    /// built while this one waited).
    fn publish(&self, generation: u64) {
        let mut published = self.published.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *published >= generation {
            return;
        }
        let (latest, newest, version) = {
            let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (state.latest.clone(), state.generation, state.database_version.unwrap_or(state.generation))
        };
        // A panic while building leaves a snapshot that checks by the demand path.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| latest.check_plan().is_some()));
        self.builds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.current.store(latest);
        *published = newest;
        self.version.fetch_max(version, Ordering::AcqRel);
    }

    /// The version of the published snapshot. With a database that has the
    /// version table (`warden db install`), it is the database's version
    /// the facts were read at: a web request that wrote to the database
    /// reads `warden_version` after committing and asks for at least that.
    /// Otherwise it grows by one with each update, reload and refresh that
    /// changed the program, and [`Live::update`] returns the version that
    /// holds its change.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Waits until the published version is at least `version`, up to
    /// `timeout`; whether it got there. With a database, it is re-read first
    /// if it changed (so a write committed before the call is seen), and
    /// then, with the version table, every few milliseconds while the
    /// database's version is behind (a cheap query each); without it, only
    /// other writers can raise the version.
    pub fn wait_for(&self, version: u64, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let _ = self.refresh();
        loop {
            if self.version() >= version {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            if self.versioned() {
                let _ = self.refresh();
            }
        }
    }

    /// Whether the program's version is its database's (`warden db install`).
    fn versioned(&self) -> bool {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).database_version.is_some()
    }

    /// How many plans were built to publish updates and reloads.
    #[doc(hidden)]
    pub fn plans_built(&self) -> usize {
        self.builds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Allows (or, the default, refuses) privileged updates: adding a
    /// `superuser`, removing an `inactive`, changing `role_extends` or a
    /// role's entries (roles as data). These
    /// widen access in bulk, so a service that builds updates from its own
    /// data must opt in to send them.
    pub fn allow_privileged_updates(mut self, allow: bool) -> Live {
        self.privileged = allow;
        self
    }

    /// The current snapshot (lock-free).
    pub fn snapshot(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// Whether a request is allowed, by the current snapshot (lock-free,
    /// no reason built; see [`Engine::is_allowed`]).
    pub fn is_allowed(&self, request: &Request) -> bool {
        self.current.load().is_allowed(request)
    }

    /// Decides a request against the current snapshot.
    pub fn check(&self, request: &Request) -> Decision {
        self.current.load().check(request)
    }

    /// Answers a query against the current snapshot.
    pub fn query(&self, query: &str, options: &RequestOptions) -> Result<crate::Answer, LoadError> {
        self.current.load().query(query, options)
    }

    /// Applies a batch of fact changes atomically and returns the version
    /// that holds them. On error nothing changes.
    pub fn update(&self, batch: impl FnOnce(&mut Transaction)) -> Result<u64, LoadError> {
        let mut tx = Transaction::default();
        batch(&mut tx);
        let refused = |e: FactError| LoadError {
            diagnostics: vec![Diagnostic::global(e.to_string())],
            sources: SourceMap::new(),
        };
        let mut inserted = Vec::new();
        let mut removed = Vec::new();
        let sides = [(tx.inserted, &mut inserted, Direction::Insert), (tx.removed, &mut removed, Direction::Remove)];
        for (items, out, direction) in sides {
            for item in items {
                let fact = item.map_err(refused)?;
                fact.validate().map_err(refused)?;
                if fact.is_privileged(direction) && !self.privileged {
                    return Err(refused(FactError::Privileged(fact.to_statement())));
                }
                if direction == Direction::Remove && matches!(fact, LiveFact::Role(_)) {
                    return Err(refused(FactError::Undeclare(fact.to_statement())));
                }
                out.push(fact);
            }
        }
        let generation = {
            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // The snapshot changes in place (only the touched relations are rebuilt);
            // the overlay remembers the changes for the next reload.
            let engine = state.latest.with_changes(&inserted, &removed)?;
            let in_base = |fact: &LiveFact| state.base.base_fact(fact).is_ok();
            let mut next = state.overlay.clone();
            for fact in removed {
                next.inserted.retain(|f| *f != fact);
                if in_base(&fact) || !state.overlay.inserted.contains(&fact) {
                    next.removed.push(fact);
                }
            }
            for fact in inserted {
                next.removed.retain(|f| *f != fact);
                if !in_base(&fact) && !next.inserted.contains(&fact) {
                    next.inserted.push(fact);
                }
            }
            state.overlay = next;
            state.latest = Arc::new(engine);
            state.generation += 1;
            (state.generation, state.database_version.unwrap_or(state.generation))
        };
        self.publish(generation.0);
        // The version checks see once published (the database's, when it
        // has the version table: a live update does not move it).
        Ok(generation.1)
    }

    /// Re-reads the inputs, keeping or dropping the live changes (see
    /// [`LiveChanges`]); returns notes on what was kept. On error the running
    /// snapshot and the live changes stay, and the diagnostics are returned.
    pub fn reload(&self, changes: LiveChanges) -> Result<Vec<String>, LoadError> {
        // The database's lock is held throughout (taken first, as a refresh
        // takes it), so that no refresh lands between reading its facts and
        // publishing the program built on them.
        let database = self.database.as_ref().map(|d| d.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let database_facts = database.as_ref().map(|d| d.facts());
        let mut guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *guard;
        let files = read_inputs(&self.inputs)?;
        let base = match &database_facts {
            Some(facts) => sources::apply(&files, &self.database_name, facts, &[])?,
            None => files.clone(),
        };
        let mut notes = Vec::new();
        let overlay = match changes {
            LiveChanges::Drop => {
                let (inserted, removed) = (state.overlay.inserted.len(), state.overlay.removed.len());
                if inserted + removed > 0 {
                    notes.push(format!("dropped the live changes: {inserted} inserted and {removed} removed facts"));
                }
                Overlay::default()
            }
            LiveChanges::Keep => {
                let mut kept = state.overlay.clone();
                kept.inserted.retain(|fact| base.base_fact(fact).is_err());
                kept.removed.retain(|fact| {
                    let still_there = base.base_fact(fact).is_ok();
                    if !still_there {
                        notes.push(format!(
                            "the live removal of `{}` no longer applies: the files no longer hold it",
                            fact.to_statement()
                        ));
                    }
                    still_there
                });
                kept
            }
        };
        state.latest = Arc::new(with_overlay(&base, &overlay, self.configure.as_ref())?);
        (state.overlay, state.files, state.base) = (overlay, files, base);
        state.generation += 1;
        let generation = state.generation;
        drop(guard);
        drop(database);
        self.publish(generation);
        Ok(notes)
    }
}

/// The program of the files and texts alone.
fn read_inputs(inputs: &[Input]) -> Result<Engine, LoadError> {
    let failed = |d: Diagnostic| LoadError { diagnostics: vec![d], sources: SourceMap::new() };
    let mut sources = SourceMap::new();
    for input in inputs {
        match input {
            Input::File(path) => {
                let files = syntax::collect_files(std::slice::from_ref(path)).map_err(failed)?;
                for (_, file) in syntax::read_files(&files).map_err(failed)?.files() {
                    sources.add(file.name.clone(), file.text.clone());
                }
            }
            Input::Text(name, text) => {
                sources.add(name.clone(), text.clone());
            }
        }
    }
    Engine::from_sources(sources)
}

/// A snapshot: the base program, then the live changes applied as an
/// update is (so a role declared or extended by an update is the same fact
/// after a reload), then the configuration.
fn with_overlay(
    base: &Engine,
    overlay: &Overlay,
    configure: &(dyn Fn(&mut Engine) + Send + Sync),
) -> Result<Engine, LoadError> {
    let mut engine = if overlay.inserted.is_empty() && overlay.removed.is_empty() {
        base.clone()
    } else {
        base.with_changes(&overlay.inserted, &overlay.removed)?
    };
    configure(&mut engine);
    Ok(engine)
}

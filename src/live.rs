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

use crate::engine::{Engine, LoadError, RequestOptions, Strategy};
use crate::eval::EvalError;
use crate::eval::functions::Env;
use crate::eval::plan::CheckPlan;
use crate::eval::plan::run::Run;
use crate::eval::{Additions, render};
use crate::lower::builtins;
use crate::lower::intern::{FRESH, Sym, Symbols};
use crate::lower::ir::{self, Value};
use crate::syntax::span::SourceMap;
use crate::{Diagnostic, syntax, time};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod fact;
mod prepared;
mod update;
pub use fact::{FactError, Holding, LiveFact};
pub use prepared::PreparedRequest;
use update::Overlay;
pub use update::{LiveChanges, Transaction};

/// One authorization question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The subject.
    pub user: String,
    /// The permission.
    pub perm: String,
    /// The object.
    pub object: String,
    /// The request time (microseconds since the epoch); `None` is now.
    pub at: Option<i64>,
    /// The request context (`ctx.KEY`), values written as policy constants.
    pub ctx: BTreeMap<String, String>,
}

impl Request {
    /// `user` asks to `perm` on `object`, now, with an empty context.
    pub fn new(user: impl Into<String>, perm: impl Into<String>, object: impl Into<String>) -> Request {
        Request { user: user.into(), perm: perm.into(), object: object.into(), at: None, ctx: BTreeMap::new() }
    }

    /// At an RFC 3339 instant.
    pub fn at(mut self, timestamp: &str) -> Result<Request, String> {
        self.at = Some(time::parse_timestamp(timestamp)?);
        Ok(self)
    }

    /// At an instant in microseconds since the epoch.
    pub fn at_micros(mut self, micros: i64) -> Request {
        self.at = Some(micros);
        self
    }

    /// With a context value.
    pub fn ctx(mut self, key: impl Into<String>, value: impl Into<String>) -> Request {
        self.ctx.insert(key.into(), value.into());
        self
    }
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// Errors met while deciding (they never grant).
    pub errors: Vec<String>,
}

/// What deciding a request found: allowed, permitted (before deny rules and
/// `inactive`), and whether the user is inactive.
struct Verdict {
    allowed: bool,
    permitted: bool,
    inactive: bool,
}

impl Engine {
    /// Whether a request is allowed: the same decision as
    /// [`Engine::check`]`(request).allowed`, without building the reason. On
    /// the compiled plan it allocates nothing (unless a condition needs
    /// strings or fails).
    pub fn is_allowed(&self, request: &Request) -> bool {
        match self.compiled(request, |plan, run, values| run.holds(plan.allowed, values)) {
            Some(result) => result.unwrap_or(false),
            None => self.check(request).allowed,
        }
    }

    /// Decides a request. Never fails: an error denies, with the reason.
    pub fn check(&self, request: &Request) -> Decision {
        self.check_compiled(request).unwrap_or_else(|| self.check_by_demand(request))
    }

    /// Decides a request on the compiled plan, in microseconds; `None` when
    /// it needs the demand-driven evaluation instead (no plan ready, a
    /// constant the plan does not know, or a condition that erred), which
    /// can take far longer (a server admits that separately).
    pub fn check_compiled(&self, request: &Request) -> Option<Decision> {
        let compiled = self.compiled(request, |plan, run, values| {
            let allowed = run.holds(plan.allowed, values)?;
            let permitted = if allowed { true } else { run.holds(plan.permitted, values)? };
            let inactive = self.is_inactive(values[0]);
            Ok(Verdict { allowed, permitted, inactive })
        })?;
        Some(self.decision(request, compiled.map(|decided| (decided, Vec::new())).map_err(|e| e.to_string())))
    }

    /// The decision and its reason for a verdict (or the error that stopped it).
    fn decision(&self, request: &Request, outcome: Result<(Verdict, Vec<String>), String>) -> Decision {
        let (Verdict { allowed, permitted, inactive }, errors) = match outcome {
            Ok(outcome) => outcome,
            Err(e) => return Decision { allowed: false, reason: format!("denied: {e}"), errors: vec![e] },
        };
        let (u, p, o) = (
            render::quote_if_needed(&request.user),
            render::quote_if_needed(&request.perm),
            render::quote_if_needed(&request.object),
        );
        let reason = if allowed {
            format!("allowed: {u} may {p} {o}")
        } else if !errors.is_empty() {
            format!("denied: an error occurred while deciding ({})", errors.join("; "))
        } else if permitted && inactive {
            format!("denied: {u} is inactive")
        } else if permitted {
            format!("denied: a deny rule overrides the permission of {u} to {p} {o}")
        } else {
            format!("denied: nothing permits {u} to {p} {o}")
        };
        Decision { allowed, reason, errors }
    }

    /// Runs `decide` on the compiled plan, when the engine uses one, the
    /// request names only constants of the program, and no condition errs.
    fn compiled<T>(
        &self,
        request: &Request,
        decide: impl FnOnce(&CheckPlan, &mut Run, &[Value; 3]) -> Result<T, EvalError>,
    ) -> Option<Result<T, EvalError>> {
        let plan = self.compiled_plan()?;
        let program = &self.checked().program;
        // A constant the program does not know takes a stand-in's place.
        let mut unknown: Vec<&str> = Vec::new();
        let mut values = [Value::Sym(builtins::STAR); 3];
        for (value, name) in values.iter_mut().zip([&request.user, &request.perm, &request.object]) {
            *value = match program.symbols.get(name) {
                Some(sym) => Some(Value::Sym(sym)).filter(|v| plan.knows(*v))?,
                None if plan.decides_unknown_constants() => {
                    let at = unknown.iter().position(|u| *u == name.as_str()).unwrap_or(unknown.len());
                    if at == unknown.len() {
                        unknown.push(name);
                    }
                    Value::Sym(*FRESH.get(at)?)
                }
                None => return None,
            };
        }
        let symbols = Symbols::with_fresh(&program.symbols, &unknown);
        let ctx = crate::engine::context(&symbols, &request.ctx);
        let now = request.at.unwrap_or_else(time::now);
        self.run_compiled(plan, &values, &symbols, &ctx, now, decide)
    }

    /// The check plan, when the engine checks by it and it is ready.
    pub(crate) fn compiled_plan(&self) -> Option<&CheckPlan> {
        if self.strategy() != Strategy::Compiled {
            return None;
        }
        self.check_plan()
    }

    /// Runs `decide` on `plan` for resolved values, context and time.
    ///
    /// `None` when a condition erred: the plan decides in two values, and
    /// an error makes a tuple unknown (SPEC section 5), which only the
    /// three-valued evaluation weighs exactly, so the caller asks it.
    pub(crate) fn run_compiled<T>(
        &self,
        plan: &CheckPlan,
        values: &[Value; 3],
        symbols: &Symbols,
        ctx: &BTreeMap<Sym, Value>,
        now: i64,
        decide: impl FnOnce(&CheckPlan, &mut Run, &[Value; 3]) -> Result<T, EvalError>,
    ) -> Option<Result<T, EvalError>> {
        let program = &self.checked().program;
        let env = Env { program, symbols, now, ctx, externs: self.externs() };
        let mut run = Run::new(plan, &env, self.limits().max_tuples);
        let result = decide(plan, &mut run, values);
        run.errors.is_empty().then_some(result)
    }

    /// Decides a request by the demand-driven (three-valued) evaluation,
    /// without trying the compiled plan first: what [`Engine::check`] does
    /// when [`Engine::check_compiled`] says `None`.
    pub fn check_by_demand(&self, request: &Request) -> Decision {
        self.decision(request, self.verdict_by_demand(request))
    }

    /// The demand-driven verdict: (allowed, permitted, inactive) and the
    /// condition errors met.
    fn verdict_by_demand(&self, request: &Request) -> Result<(Verdict, Vec<String>), String> {
        let program = &self.checked().program;
        let symbols = Symbols::new(&program.symbols);
        let ctx = crate::engine::context(&symbols, &request.ctx);
        let now = request.at.unwrap_or_else(time::now);
        let env = Env { program, symbols: &symbols, now, ctx: &ctx, externs: self.externs() };
        let values = [&request.user, &request.perm, &request.object].map(|s| Value::Sym(symbols.intern(s)));
        let decide = |rel: ir::RelId| -> Result<(bool, Vec<String>), String> {
            let atom = ir::Atom { rel, args: values.iter().map(|v| ir::Term::Const(*v)).collect() };
            let additions = Additions { domain: values.to_vec(), ..Additions::default() };
            let (rows, model) = self.decide(&env, &additions, &atom).map_err(|e| e.to_string())?;
            Ok((!rows.is_empty(), self.render_errors(&model)))
        };
        let (allowed, errors) = decide(builtins::ALLOWED)?;
        if allowed || !errors.is_empty() {
            return Ok((Verdict { allowed, permitted: allowed, inactive: false }, errors));
        }
        let (permitted, _) = decide(builtins::PERMITTED)?;
        let inactive = self.is_inactive(values[0]);
        Ok((Verdict { allowed: false, permitted, inactive }, errors))
    }
}

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
    /// Whether updates may add superusers, lift `inactive` or change `role_extends`.
    privileged: bool,
}

/// What writers share.
struct State {
    /// The changes so far.
    overlay: Overlay,
    /// The program of the inputs alone (to tell a base fact from an inserted one).
    base: Engine,
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

    fn new(inputs: Vec<Input>, configure: Arc<dyn Fn(&mut Engine) + Send + Sync>) -> Result<Live, LoadError> {
        let engine = build(&inputs, &Overlay::default(), configure.as_ref())?;
        // The first snapshot is ready to check at full speed when this returns.
        let _ = engine.check_plan();
        let latest = Arc::new(engine.clone());
        let state = State { overlay: Overlay::default(), base: engine, latest: latest.clone(), generation: 0 };
        Ok(Live {
            current: ArcSwap::new(latest),
            inputs,
            state: Mutex::new(state),
            published: Mutex::new(0),
            builds: Default::default(),
            configure,
            privileged: false,
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
        let (latest, newest) = {
            let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (state.latest.clone(), state.generation)
        };
        // A panic while building leaves a snapshot that checks by the demand path.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| latest.check_plan().is_some()));
        self.builds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.current.store(latest);
        *published = newest;
    }

    /// How many plans were built to publish updates and reloads.
    #[doc(hidden)]
    pub fn plans_built(&self) -> usize {
        self.builds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Allows (or, the default, refuses) privileged updates: adding a
    /// `superuser`, removing an `inactive`, changing `role_extends`. These
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

    /// Applies a batch of fact changes atomically. On error nothing changes.
    pub fn update(&self, batch: impl FnOnce(&mut Transaction)) -> Result<(), LoadError> {
        let mut tx = Transaction::default();
        batch(&mut tx);
        let refused = |e: FactError| LoadError {
            diagnostics: vec![Diagnostic::global(e.to_string())],
            sources: SourceMap::new(),
        };
        let mut inserted = Vec::new();
        let mut removed = Vec::new();
        for (items, out, inserting) in [(tx.inserted, &mut inserted, true), (tx.removed, &mut removed, false)] {
            for item in items {
                let fact = item.map_err(refused)?;
                fact.validate().map_err(refused)?;
                if fact.is_privileged(inserting) && !self.privileged {
                    return Err(refused(FactError::Privileged(fact.to_statement())));
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
            state.generation
        };
        self.publish(generation);
        Ok(())
    }

    /// Re-reads the inputs, keeping or dropping the live changes (see
    /// [`LiveChanges`]); returns notes on what was kept. On error the running
    /// snapshot and the live changes stay, and the diagnostics are returned.
    pub fn reload(&self, changes: LiveChanges) -> Result<Vec<String>, LoadError> {
        let mut guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *guard;
        let base = build(&self.inputs, &Overlay::default(), self.configure.as_ref())?;
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
        state.latest = Arc::new(build(&self.inputs, &overlay, self.configure.as_ref())?);
        (state.overlay, state.base) = (overlay, base);
        state.generation += 1;
        let generation = state.generation;
        drop(guard);
        self.publish(generation);
        Ok(notes)
    }
}

/// Builds a snapshot: the inputs, the inserted statements as `<updates>`, and
/// the removed facts taken away.
fn build(
    inputs: &[Input],
    overlay: &Overlay,
    configure: &(dyn Fn(&mut Engine) + Send + Sync),
) -> Result<Engine, LoadError> {
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
    if !overlay.inserted.is_empty() {
        // Validated facts: each reads back as exactly itself.
        let text: String = overlay.inserted.iter().map(|fact| fact.to_statement() + "\n").collect();
        sources.add("<updates>", text);
    }
    let mut engine = Engine::from_sources(sources)?;
    let mut removed = BTreeSet::new();
    for fact in &overlay.removed {
        let key = engine
            .base_fact(fact)
            .map_err(|e| failed(Diagnostic::global(format!("cannot remove `{}`: {e}", fact.to_statement()))))?;
        removed.insert(key);
    }
    engine.set_removed(removed);
    configure(&mut engine);
    Ok(engine)
}

/// Builds an [`Engine`] from files and strings, with `extern fn`s and limits.
///
/// ```
/// use std::sync::Arc;
/// use warden::{Engine, Val};
/// let engine = Engine::builder()
///     .policy_str("p.warden", "role viewer { read; }\nextern fn in_office(ip);\nallow U enter on O if in_office(ctx.ip), U == alice, O == door;")
///     .extern_fn("in_office", Arc::new(|args: &[Val]| Ok(Val::Bool(matches!(args.first(), Some(Val::Str(ip)) if ip.starts_with("10."))))))
///     .build()
///     .unwrap();
/// let request = warden::live::Request::new("alice", "enter", "door").ctx("ip", "10.1.2.3");
/// assert!(engine.check(&request).allowed);
/// ```
#[derive(Default)]
pub struct EngineBuilder {
    files: Vec<PathBuf>,
    texts: Vec<(String, String)>,
    externs: Vec<(String, crate::ExternFn)>,
    limits: Option<crate::Limits>,
}

impl EngineBuilder {
    /// Adds a policy file (or a directory of policy and data files).
    pub fn policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(path.into());
        self
    }

    /// Adds a YAML data file.
    pub fn data_file(self, path: impl Into<PathBuf>) -> Self {
        self.policy_file(path)
    }

    /// Adds policy (or, for a name ending in `.yaml`, data) text.
    pub fn policy_str(mut self, name: &str, text: &str) -> Self {
        self.texts.push((name.to_string(), text.to_string()));
        self
    }

    /// Registers the implementation of an `extern fn`.
    pub fn extern_fn(mut self, name: &str, f: crate::ExternFn) -> Self {
        self.externs.push((name.to_string(), f));
        self
    }

    /// Sets the evaluation limits.
    pub fn limits(mut self, limits: crate::Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Loads, checks and configures the engine; every diagnostic on failure.
    pub fn build(self) -> Result<Engine, LoadError> {
        let failed = |d: Diagnostic| LoadError { diagnostics: vec![d], sources: SourceMap::new() };
        let files = syntax::collect_files(&self.files).map_err(failed)?;
        let mut sources = SourceMap::new();
        for (_, file) in syntax::read_files(&files).map_err(failed)?.files() {
            sources.add(file.name.clone(), file.text.clone());
        }
        for (name, text) in self.texts {
            sources.add(name, text);
        }
        let mut engine = Engine::from_sources(sources)?;
        for (name, f) in self.externs {
            engine.register_extern(&name, f);
        }
        if let Some(limits) = self.limits {
            engine.set_limits(limits);
        }
        Ok(engine)
    }
}

impl Engine {
    /// Starts building an engine: `Engine::builder().policy_file(..).extern_fn(..).build()`.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }
}

//! The public API: load a program, ask queries, run tests.
//!
//! ```
//! use warden::{Engine, RequestOptions};
//! let engine = Engine::from_source("policy.warden", r#"
//!     role viewer { read; }
//!     assign alice viewer on project:apollo;
//!     page:7 in project:apollo;
//! "#).unwrap();
//! let answer = engine.query("allowed(alice, read, page:7)", &RequestOptions::default()).unwrap();
//! assert!(answer.holds());
//! ```

use crate::analyze::{self, Checked};
use crate::diagnostics::{self, Diagnostic};
use crate::eval::demand::Coverage;
use crate::eval::functions::{Env, ExternFn, Externs};
use crate::eval::plan::CheckPlan;
use crate::eval::{self, Additions, Limits, Model, Reading};
use crate::lower::builtins;
use crate::lower::ir::{self, Origin, Value};
use crate::syntax::span::SourceMap;
use crate::{lower, syntax};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

mod batch;
mod builder;
mod check;
mod explain;
mod list;
mod memory;
mod notes;
mod on_demand;
mod plan;
mod prepared;
mod query;
mod request;
mod rules;
pub use builder::EngineBuilder;
pub use list::{ObjectList, SubjectList, Window};
pub use memory::{MemoryUsage, RelationMemory};
pub use prepared::PreparedRequest;
pub(crate) use request::Resolved;
pub use request::{Decision, Request};

/// A program that failed to load: every diagnostic, with the sources to render them.
#[derive(Debug)]
pub struct LoadError {
    /// What went wrong.
    pub diagnostics: Vec<Diagnostic>,
    /// The files, for rendering.
    pub sources: SourceMap,
}

impl LoadError {
    /// The diagnostics rendered as text.
    pub fn render(&self, colour: bool) -> String {
        diagnostics::render(&self.diagnostics, &self.sources, colour)
    }
}

/// The request a query is evaluated at: time and context.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    /// The request time in microseconds since the epoch; `None` is the wall clock.
    pub at: Option<i64>,
    /// `ctx.KEY` values; each value is written as a policy constant (`10.0.0.1`
    /// that is no constant stays a string).
    pub ctx: BTreeMap<String, String>,
    /// Base facts taken away for this request, as the REPL's `:retract`
    /// resolves them (internal ids: not a stable API).
    #[doc(hidden)]
    pub retracted: Vec<(ir::RelId, Vec<Value>)>,
}

/// The answer to a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The named variables of the query, in order of first occurrence.
    pub variables: Vec<String>,
    /// One row per distinct binding of the variables, sorted, rendered as policy text.
    pub rows: Vec<Vec<String>>,
    /// Errors raised inside conditions while deciding (they never grant).
    pub errors: Vec<String>,
    /// Why the evaluation stopped before it finished (a resource limit): the
    /// answers are then empty, not a listing. `None` for a finished one.
    pub stopped: Option<String>,
    /// Notes on the question: a constant or typed-id type that appears
    /// nowhere in the program (a typo?), with the nearest known name.
    pub notes: Vec<String>,
}

impl Answer {
    /// Whether the query has at least one answer.
    pub fn holds(&self) -> bool {
        !self.rows.is_empty()
    }
}

/// A test's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// `None` when it passed; otherwise what failed, with its location.
    pub failure: Option<String>,
}

/// How queries with constants are evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Checks run the compiled check plan (see the README, "How checks are
    /// decided") when the
    /// program has one; queries, and checks it cannot take, go as `Demand`.
    #[default]
    Compiled,
    /// Through the demand (magic-set) transformation: only what the query needs.
    Demand,
    /// Every relation, in full (the reference the demand path is tested against).
    Full,
}

/// Demand-transformed programs (`None`: evaluate in full) by relation and bound positions.
type DemandCache = std::collections::HashMap<(ir::RelId, Vec<bool>), Option<Arc<eval::demand::Demand>>>;

/// A loaded, checked program. Cheap to clone; safe to share between threads.
#[derive(Clone, Debug)]
pub struct Engine {
    checked: Arc<Checked>,
    sources: Arc<SourceMap>,
    /// Where each rule's parts were written (for the lints; evaluation
    /// never reads it).
    rule_spans: Arc<Vec<lower::RuleSpans>>,
    externs: Externs,
    limits: Limits,
    strategy: Strategy,
    /// The base relations and their index cache, shared by every check.
    pub(crate) prepared: Arc<eval::Prepared>,
    /// Demand-transformed programs by queried relation and binding pattern.
    demands: Arc<std::sync::Mutex<DemandCache>>,
    /// The compiled check plan, built on first use (`None`: the program has none).
    plan: Arc<plan::PlanCell>,
    /// The plan of the snapshot this one was updated from, until this one's
    /// plan is built: what did not change is reused from it.
    previous_plan: Arc<std::sync::Mutex<Option<Arc<CheckPlan>>>>,
    /// Identifies the symbol table: the same for snapshots whose symbols
    /// extend this one's (live updates), new for every load.
    symbols_id: u64,
    /// The kinds of the program's columns (from its rules, so shared by the
    /// snapshots of live updates).
    column_kinds: Arc<analyze::kinds::Kinds>,
    /// The kinds of values in this snapshot's facts, sorted on the first
    /// open query that needs them (see [`Engine::of_their_kinds`]).
    kinds: Arc<std::sync::OnceLock<analyze::kinds::Admitted>>,
    /// The program's symbols sorted by name, on the first listing that
    /// checks named values (a type's names are then one range).
    by_name: Arc<std::sync::OnceLock<Vec<lower::intern::Sym>>>,
    /// The symbols in this snapshot's facts of the relations that can make
    /// an object an exception to "every" (see `RuleFacts::adverse`),
    /// sorted by name, on the first listing that asks.
    adverse_names: Arc<std::sync::OnceLock<Vec<lower::intern::Sym>>>,
    /// What the rules say that explanations and listings ask (shared like
    /// `column_kinds`).
    rules: Arc<rules::RuleFacts>,
}

/// Numbers symbol tables (see [`Engine::symbols_id`]).
static SYMBOL_TABLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Engine {
    /// Loads files and directories (a directory means every `*.warden`,
    /// `*.yaml` and `*.yml` below it).
    pub fn from_paths(paths: &[PathBuf]) -> Result<Engine, LoadError> {
        let failed = |d: Diagnostic| LoadError { diagnostics: vec![d], sources: SourceMap::new() };
        let files = syntax::collect_files(paths).map_err(failed)?;
        let sources = syntax::read_files(&files).map_err(failed)?;
        Engine::from_sources(sources)
    }

    /// Loads one policy (or, when `name` ends in `.yaml`, data) text.
    pub fn from_source(name: &str, text: &str) -> Result<Engine, LoadError> {
        let mut sources = SourceMap::new();
        sources.add(name, text);
        Engine::from_sources(sources)
    }

    /// Parses, lowers and analyses the files of a source map.
    pub fn from_sources(sources: SourceMap) -> Result<Engine, LoadError> {
        let (ast, mut errors) = syntax::parse(&sources);
        let (lowered, lower_errors) = lower::lower(&ast);
        errors.extend(lower_errors);
        if !errors.is_empty() {
            return Err(LoadError { diagnostics: errors, sources });
        }
        let analyze::Analyzed { checked, spans } = match analyze::analyze(lowered) {
            Ok(analyzed) => analyzed,
            Err(diagnostics) => {
                return Err(LoadError { diagnostics, sources });
            }
        };
        let prepared = Arc::new(eval::Prepared::new(&checked.program));
        let column_kinds = Arc::new(analyze::kinds::Kinds::of(&checked.program));
        let rules = Arc::new(rules::RuleFacts::of(&checked));
        Ok(Engine {
            checked: Arc::new(checked),
            sources: Arc::new(sources),
            rule_spans: Arc::new(spans),
            externs: Externs::new(),
            limits: Limits::default(),
            strategy: Strategy::default(),
            prepared,
            demands: Arc::default(),
            plan: Arc::default(),
            previous_plan: Arc::default(),
            symbols_id: SYMBOL_TABLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            column_kinds,
            kinds: Arc::default(),
            by_name: Arc::default(),
            adverse_names: Arc::default(),
            rules,
        })
    }

    /// Warnings about the program (unused roles, dead rules, shadowed allows,
    /// expired assignments at `at`, single-use variables, ...).
    pub fn lints(&self, at: i64) -> Vec<Diagnostic> {
        debug_assert_eq!(self.rule_spans.len(), self.checked.program.rules.len(), "a rule without its spans");
        analyze::lints::lints(&self.checked, &self.rule_spans, at)
    }

    /// `warden check --strict`: an error for each relation used without a
    /// declaration (`relation NAME(TYPE, ...);`).
    pub fn undeclared_relations(&self) -> Vec<Diagnostic> {
        analyze::joins::undeclared_relations(&self.checked.program)
    }

    /// Registers the implementation of an `extern fn`.
    pub fn register_extern(&mut self, name: &str, f: ExternFn) {
        self.externs.register(name, f);
    }

    /// Whether `user` is declared `inactive`.
    pub(crate) fn is_inactive(&self, user: Value) -> bool {
        self.prepared.base_rows(builtins::INACTIVE).is_some_and(|rows| rows.contains(std::slice::from_ref(&user)))
    }

    /// How checks and queries are evaluated.
    pub(crate) fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Sets how queries with constants are evaluated.
    pub fn set_strategy(&mut self, strategy: Strategy) {
        self.strategy = strategy;
    }

    /// Sets the evaluation limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The evaluation limits.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// The registered `extern fn`s.
    pub(crate) fn externs(&self) -> &Externs {
        &self.externs
    }

    /// The analysed program with its strata.
    #[doc(hidden)]
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// The checked program.
    #[doc(hidden)]
    pub fn program(&self) -> &ir::Program {
        &self.checked.program
    }

    /// The source files.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// This engine with other base facts: same rules, strata, `extern fn`s,
    /// limits and demand programs; base relations and indexes shared where
    /// `changes` leaves them as they were.
    pub(crate) fn with_facts(
        &self,
        program: ir::Program,
        sources: SourceMap,
        changes: &crate::eval::base::BaseChanges,
    ) -> Engine {
        let prepared = Arc::new(self.prepared.updated(&program, changes));
        let checked = Checked { program, strata: self.checked.strata.clone() };
        Engine {
            checked: Arc::new(checked),
            sources: Arc::new(sources),
            prepared,
            plan: Arc::default(),
            previous_plan: Arc::new(std::sync::Mutex::new(self.built_or_previous_plan())),
            kinds: Arc::default(),
            by_name: Arc::default(),
            adverse_names: Arc::default(),
            ..self.clone()
        }
    }

    /// Where a rule or fact comes from (`file:line:col`) and its text (empty
    /// for data items, which are shown by what they say).
    #[doc(hidden)]
    pub fn locate(&self, origin: ir::OriginId) -> Option<(String, String)> {
        match self.checked.program.origin(origin) {
            Some(Origin::Source(span)) => {
                let is_data = self.sources.get(span.file).is_some_and(|f| syntax::is_data_file(&f.name));
                let text = if is_data { String::new() } else { self.sources.snippet(*span).to_string() };
                Some((self.sources.location(*span).to_string(), text))
            }
            _ => None,
        }
    }

    /// A rule's origin as a short label: `file:line:col`, or the built-in's label (`B7`).
    #[doc(hidden)]
    pub fn origin_label(&self, origin: ir::OriginId) -> String {
        match self.checked.program.origin(origin) {
            Some(Origin::Source(span)) => self.sources.location(*span).to_string(),
            Some(Origin::Builtin(label, text)) => format!("{label}: {text}"),
            None => "?".into(),
        }
    }

    /// The tuples answering `atom`: through the demand transformation when the
    /// atom has constants (only what the query needs is evaluated), else by
    /// evaluating everything. Returns the rows and the model they came from.
    pub(crate) fn decide(
        &self,
        env: &Env,
        additions: &Additions,
        atom: &ir::Atom,
    ) -> Result<(Vec<eval::Row>, Model), eval::EvalError> {
        let (model, answers) = self.evaluate_for(env, additions, atom)?;
        let rows = eval::answers(&model, &answers, Reading::at_boundary(atom.rel));
        Ok((rows.to_rows(), model))
    }

    /// Evaluates what `atom` needs (see [`Engine::decide`]); returns the model
    /// and the atom to read the answers from (the adorned relation on the
    /// demand path, `atom` itself otherwise).
    pub(crate) fn evaluate_for(
        &self,
        env: &Env,
        additions: &Additions,
        atom: &ir::Atom,
    ) -> Result<(Model, ir::Atom), eval::EvalError> {
        self.evaluate_within(env, additions, atom, self.limits)
    }

    /// [`Engine::evaluate_for`] under `limits` (an explanation's remaining time).
    pub(crate) fn evaluate_within(
        &self,
        env: &Env,
        additions: &Additions,
        atom: &ir::Atom,
        limits: eval::Limits,
    ) -> Result<(Model, ir::Atom), eval::EvalError> {
        self.evaluate_covered(env, additions, atom, limits).map(|(model, answers, _)| (model, answers))
    }

    /// [`Engine::evaluate_within`], with which tuples the model holds in
    /// full (an explanation reads its patterns there first).
    pub(crate) fn evaluate_covered(
        &self,
        env: &Env,
        additions: &Additions,
        atom: &ir::Atom,
        limits: eval::Limits,
    ) -> Result<(Model, ir::Atom, Coverage), eval::EvalError> {
        let bound: Vec<bool> = atom.args.iter().map(|t| matches!(t, ir::Term::Const(_))).collect();
        let demand = match self.strategy {
            Strategy::Compiled | Strategy::Demand => {
                // The lock is held for a look-up, never for a rewrite: two
                // threads may both rewrite a new pattern (the same result).
                let key = (atom.rel, bound.clone());
                let cache = || self.demands.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let cached = cache().get(&key).cloned();
                match cached {
                    Some(demand) => demand,
                    None => {
                        let demand = eval::demand::transform(&self.checked, atom.rel, &bound).map(Arc::new);
                        cache().entry(key).or_insert(demand).clone()
                    }
                }
            }
            Strategy::Full => None,
        };
        let mut additions = additions.clone();
        if let Some(demand) = demand {
            let seed: Vec<Value> = atom.constants().collect();
            additions.facts.push(ir::Fact { rel: demand.seed, tuple: seed, origin: ir::OriginId(u32::MAX) });
            let model =
                eval::evaluate_rules(&self.prepared, &self.checked.program, &demand.checked, env, &additions, limits)?;
            let answers = ir::Atom { rel: demand.answers, args: atom.args.clone() };
            return Ok((model, answers, Coverage::Demand(demand)));
        }
        // Only the strata the question depends on.
        let program = &self.checked.program;
        let strata = analyze::strata::needed_by(program, &self.checked.strata, atom.rel);
        let model =
            eval::evaluate_strata(&self.prepared, program, program, &strata, env, &additions, limits, &|_, _| None)?;
        let complete = strata.iter().flat_map(|s| s.relations.iter().copied()).collect();
        Ok((model, atom.clone(), Coverage::Relations(complete)))
    }

    pub(crate) fn render_errors(&self, model: &Model) -> Vec<String> {
        self.render_error_set(&model.errors)
    }

    /// Errors raised inside conditions, with the location of their rule.
    pub(crate) fn render_error_set(&self, errors: &std::collections::BTreeSet<(ir::OriginId, String)>) -> Vec<String> {
        errors
            .iter()
            .map(|(origin, message)| match self.checked.program.origin(*origin) {
                Some(Origin::Source(span)) => {
                    format!("{}: {message}", self.sources.location(*span))
                }
                Some(Origin::Builtin(label, _)) => format!("built-in rule {label}: {message}"),
                None => message.clone(),
            })
            .collect()
    }
}

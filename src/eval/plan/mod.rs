//! The compiled check plan: `allowed(user, perm, object)` with all three
//! bound, decided top-down over a materialized snapshot.
//!
//! At load time the program is split in two ([`snapshot`]): relations that do
//! not depend on the request are evaluated once, bottom-up, and indexed. The
//! rules of the others (`assigned`, `has_role`, ... `allowed`: everything
//! that reads `now`, `ctx` or an `extern fn`, directly or not) are flattened
//! ([`flatten`]: unfolded into each other, static joins precomputed as views)
//! and compiled, for each binding pattern a check reaches, into a *goal*: per
//! rule, a fixed sequence of steps (index probes on interned values, calls of
//! other goals, conditions) in a join order chosen by a cost model over the
//! snapshot's sizes. A check runs the goals depth-first ([`run`]) and stops at
//! the first derivation; expiry and time-of-day conditions are filters on the
//! way, so nothing is re-materialized when the clock moves.
//!
//! Top-down evaluation without tabling terminates only when the dynamic rules
//! are not recursive; a program whose dynamic part is recursive (or that
//! exceeds the plan's fixed sizes) is not compiled, and its checks take the
//! general demand-driven path. Both are tested against the reference
//! evaluator.

mod compile;
pub(crate) use compile::named_by_rules;
pub mod describe;
pub mod fast;
pub mod flatten;
pub mod linear;
pub mod run;
pub mod snapshot;
mod view_delta;

use crate::analyze::Checked;
use crate::lower::intern::Sym;
use crate::lower::ir::{Expr, OriginId, RelId, RuleId, Value};
use snapshot::{Index, IndexSpec, Snapshot};

/// The most variables one rule of the plan may have.
pub const MAX_VARS: usize = 32;
/// The most columns a relation read by the plan may have.
pub const MAX_ARITY: usize = 8;
/// The longest rule body ordered exhaustively (longer ones greedily).
const MAX_ORDERED: usize = 12;

/// Where a value comes from at run time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot {
    /// A variable of the rule.
    Var(u8),
    /// A constant.
    Const(Value),
    /// The request time.
    Now,
    /// A request context value (a missing key makes the rule not fire).
    Ctx(Sym),
}

/// What to do with one returned column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Out {
    /// Bind this variable.
    Bind(u8),
    /// Must equal this (already bound) variable.
    Check(u8),
    /// Must equal this value.
    Is(Slot),
    /// Must equal the returned column at this position (a repeated variable).
    Same(u8),
    /// A variable local to a `not`: anything.
    Ignore,
}

/// How a step's matches continue the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Once per match (the step binds variables).
    Each,
    /// Once if there is a match (a filter).
    Exists,
    /// Once if there is no match (`not`).
    NotExists,
}

/// One step of a compiled rule.
#[derive(Clone, Debug)]
pub enum Step {
    /// Probe an index of a static relation.
    Scan {
        /// Into [`CheckPlan::indexes`].
        index: u32,
        /// The key, in the index's key order.
        key: Vec<Slot>,
        /// One per returned column.
        out: Vec<Out>,
        /// How matches continue.
        mode: Mode,
    },
    /// Solve a goal of a dynamic relation.
    Call {
        /// Into [`CheckPlan::goals`].
        goal: u32,
        /// The bound arguments, in column order.
        args: Vec<Slot>,
        /// One per free column of the goal.
        out: Vec<Out>,
        /// How matches continue.
        mode: Mode,
    },
    /// A condition (every variable bound).
    Cond {
        /// The expression.
        expr: Expr,
        /// Its allocation-free form, when it has one.
        fast: Option<fast::Cond>,
        /// The program rule it comes from (its error policy and origin).
        source: RuleId,
    },
    /// `X in [..]`: binds `X` to each item, or checks it.
    Member {
        /// The variable.
        var: u8,
        /// The items.
        items: Vec<Expr>,
        /// Whether `X` is bound before this step.
        bound: bool,
        /// The program rule it comes from.
        source: RuleId,
    },
}

/// How a goal's column is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Given {
    /// Not given: the goal returns it.
    Free,
    /// Given at run time.
    Bound,
    /// Given at compile time: the goal is specialized for this constant.
    Const(Value),
}

/// How a bound argument of a goal enters a rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HeadIn {
    /// Binds this variable.
    Bind(u8),
    /// Must equal this variable (a repeated head variable).
    Check(u8),
    /// Must equal this constant.
    Is(Value),
}

/// One rule compiled for one binding pattern of its head.
#[derive(Clone, Debug)]
pub struct RulePlan {
    /// The rule.
    pub rule: RuleId,
    /// Where it came from.
    pub origin: OriginId,
    /// One per bound head position, in column order.
    pub inputs: Vec<HeadIn>,
    /// One per free head position, in column order.
    pub outputs: Vec<Slot>,
    /// Variables set before the body runs (head variables given as constants).
    pub preset: Vec<(u8, Value)>,
    /// The body, in execution order.
    pub steps: Vec<Step>,
    /// The body as nested loops, when it is only probes, calls and
    /// compiled conditions (the runner then takes this form).
    pub linear: Option<linear::Linear>,
    /// Variable names (for `warden plan`).
    pub var_names: Vec<String>,
}

/// A dynamic relation compiled for one binding pattern.
#[derive(Clone, Debug)]
pub struct Goal {
    /// The relation.
    pub rel: RelId,
    /// How each column is given.
    pub bound: Vec<Given>,
    /// Its rules.
    pub rules: Vec<RulePlan>,
    /// Estimated work per call.
    pub cost: f64,
    /// Estimated answers per call.
    pub card: f64,
}

/// Why a program has no check plan (its checks take the general path).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotCompiled {
    /// The dynamic rules are recursive.
    #[error("`{0}` is recursive and depends on the request")]
    Recursive(String),
    /// A rule exceeds the plan's fixed sizes or uses what it cannot run.
    #[error("a rule of `{0}` is beyond the compiled plan ({1})")]
    Unsupported(String, &'static str),
    /// Materializing the static relations failed.
    #[error("materializing the static relations failed: {0}")]
    Materialize(String),
}

/// A program compiled for `allowed(bound, bound, bound)`.
#[derive(Debug)]
pub struct CheckPlan {
    /// The static relations.
    pub snapshot: Snapshot,
    /// Indexes over them, referenced by the steps.
    pub indexes: Vec<std::sync::Arc<Index>>,
    /// What each index holds.
    pub specs: Vec<IndexSpec>,
    /// Compiled goals (`None`: abandoned while compiling, never referenced).
    pub goals: Vec<Option<Goal>>,
    /// `allowed(b, b, b)`.
    pub allowed: u32,
    /// `permitted(b, b, b)` (for the reason of a denial).
    pub permitted: u32,
    /// `allowed(b, b, f)`: the objects a listing checks, when the rules can
    /// enumerate them.
    pub list_objects: Option<u32>,
    /// `allowed(f, b, b)`: the subjects a listing checks, likewise.
    pub list_subjects: Option<u32>,
    /// Per program symbol, the symbol of its `type(..)` when interned.
    pub types: Vec<Option<Sym>>,
    /// Names of the views (relations after the program's own).
    pub view_names: Vec<String>,
    /// How each view was built (to reuse it after a live update).
    pub views: Vec<flatten::ViewRecord>,
    /// The indexes the views were joined with (likewise).
    pub join_indexes: Vec<flatten::JoinIndex>,
    /// The symbol table its ids belong to.
    pub symbols_id: u64,
    /// The string constants rules and `fn`s name: a check naming one that
    /// is no constant of the facts takes the general path (a stand-in would
    /// not compare equal to it in a condition).
    pub named_by_rules: rustc_hash::FxHashSet<Sym>,
}

impl CheckPlan {
    /// The bytes its relations, views and indexes hold (estimated; base
    /// relations it shares with the snapshot's evaluator included).
    pub fn heap_bytes(&self) -> usize {
        let relations: usize = self.snapshot.relations.iter().map(|rows| rows.bytes()).sum();
        relations + self.indexes.iter().map(|index| index.heap_bytes()).sum::<usize>()
    }

    /// Compiles the dynamic part of a checked program over its snapshot.
    /// `previous` is the plan of the same rules before a live update, whose
    /// views and indexes are reused where their tuples are the same.
    pub fn compile(
        checked: &Checked,
        snapshot: Snapshot,
        dynamic: Vec<bool>,
        previous: Option<&CheckPlan>,
        symbols_id: u64,
    ) -> Result<CheckPlan, NotCompiled> {
        compile::build(checked, snapshot, dynamic, previous, symbols_id)
    }

    /// Whether a constant belongs to the program's active domain.
    pub fn knows(&self, value: Value) -> bool {
        self.snapshot.domain.contains(&value)
    }

    /// Whether a check may name constants the program does not know (they
    /// take the [`crate::lower::intern::FRESH`] stand-ins' places); else
    /// such a check takes the general path.
    pub fn decides_unknown_constants(&self) -> bool {
        self.snapshot.fresh
    }
}

/// A relation's name: the program's, or a view's.
pub fn relation_name(program: &crate::lower::ir::Program, views: &[String], rel: RelId) -> String {
    match (rel.0 as usize).checked_sub(program.relations.len()) {
        Some(view) => views.get(view).cloned().unwrap_or_else(|| "?".into()),
        None => program.relation_name(rel).to_string(),
    }
}

/// The rule id of a dynamic relation's own facts.
pub const FACTS: RuleId = RuleId(u32::MAX);

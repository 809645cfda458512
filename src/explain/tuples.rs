//! What an explanation reads: the tuples of a relation that match a
//! pattern, and whether a changed request would hold (what-if questions).
//!
//! Two sources implement it. [`Evaluated`] reads one evaluated model (the
//! full evaluation of a small program, a test block, `diff`). The engine's
//! on-demand source answers each pattern by a demand-driven evaluation of
//! just that pattern, so an explanation on a large program holds only what
//! its proof and its why-not look at (see `engine/explain.rs`).

use crate::analyze::Checked;
use crate::eval::functions::Env;
use crate::eval::{self, Additions, Limits, Model, Reading, Row, Rows, Table};
use crate::lower::ir::{OriginId, RelId, Value};

/// The tuples an explanation reads.
pub trait Tuples {
    /// The rows of `rel` in `reading` whose values match `pattern` (`None`
    /// matches any value), sorted.
    fn matching(&self, rel: RelId, pattern: &[Option<Value>], reading: Reading) -> Rows;

    /// The condition errors met while deciding what was read: the rule's
    /// origin and the error.
    fn errors(&self) -> Vec<(OriginId, String)>;

    /// Whether `rel(row)` holds at the access boundary at `now` with
    /// `additions` instead of the request's; `None` when that evaluation
    /// stops on a limit.
    fn holds_under(&self, now: i64, additions: &Additions, rel: RelId, row: &Row) -> Option<bool>;

    /// Where each of the program's base facts of `rel` comes from, when the
    /// source keeps that (a request's own facts are not in it); `None`: the
    /// explainer gathers it from the program.
    fn base_origins(&self, _rel: RelId) -> Option<std::sync::Arc<eval::base::Origins>> {
        None
    }
}

/// Whether a row matches a pattern.
pub fn fits(pattern: &[Option<Value>], row: &[Value]) -> bool {
    pattern.len() == row.len() && pattern.iter().zip(row).all(|(p, v)| p.is_none_or(|p| p == *v))
}

/// The tuples of one evaluated model.
pub struct Evaluated<'a> {
    /// The program the model is of.
    pub checked: &'a Checked,
    /// The request it was evaluated for.
    pub env: &'a Env<'a>,
    /// The model.
    pub model: &'a Model,
    /// Bounds on each what-if re-evaluation.
    pub limits: Limits,
}

/// The rows of sorted `rows` that match `pattern`: all of them, shared, when
/// it binds nothing; else a copy of those it matches (see [`select`]).
pub fn select_shared(rows: &Rows, pattern: &[Option<Value>]) -> Rows {
    if pattern.iter().all(Option::is_none) && (rows.is_empty() || rows.width() == pattern.len()) {
        return rows.clone();
    }
    std::sync::Arc::new(select(rows, pattern))
}

/// The rows of sorted `rows` that match `pattern`: the bound leading
/// values narrow them by binary search, the rest are filtered.
pub fn select(rows: &Table, pattern: &[Option<Value>]) -> Table {
    let prefix: Vec<Value> = pattern.iter().map_while(|p| *p).collect();
    let start = rows.partition_point(|r| r.get(..prefix.len()).is_some_and(|head| head < prefix.as_slice()));
    let end = rows.partition_point(|r| r.get(..prefix.len()).is_some_and(|head| head <= prefix.as_slice()));
    Table::from_sorted(rows.width(), rows.between(start, end).filter(|r| fits(pattern, r)))
}

impl Tuples for Evaluated<'_> {
    fn matching(&self, rel: RelId, pattern: &[Option<Value>], reading: Reading) -> Rows {
        std::sync::Arc::new(select(self.model.rows(rel, reading), pattern))
    }

    fn errors(&self) -> Vec<(OriginId, String)> {
        self.model.errors.iter().cloned().collect()
    }

    fn holds_under(&self, now: i64, additions: &Additions, rel: RelId, row: &Row) -> Option<bool> {
        let env = Env { now, ..*self.env };
        let model = eval::evaluate(self.checked, &env, additions, self.limits).ok()?;
        Some(model.rows(rel, Reading::at_boundary(rel)).binary_search(row).is_ok())
    }
}

//! The nearest misses of a why-not: rows of the relation a rule needed
//! that differ from what it needed in exactly one value (joe's own
//! `review(joe, page:1, false)` where the rule needs `true`).

use super::{Attempt, Explainer};
use crate::lower::ir::{RelId, RelationKind, Value};

/// The most near-miss lines a summary shows.
const MAX_MISSES: usize = 3;

impl Explainer<'_> {
    /// For every failing atom of a relation of the policy's own (not a
    /// built-in, whose misses the role and time notes name), down the
    /// attempts: the rows that match it but for one of its values, each
    /// with where it comes from and the value the rule needed. A row that
    /// differs in `subject` (the one asking) is someone else's, not a miss.
    pub fn near_misses(&self, attempts: &[Attempt], subject: Option<Value>) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_misses(attempts, subject, &mut out);
        out.truncate(MAX_MISSES);
        out
    }

    fn collect_misses(&self, attempts: &[Attempt], subject: Option<Value>, out: &mut Vec<String>) {
        for attempt in attempts {
            if let Some((rel, pattern)) = &attempt.missing
                && self.checked.program.relation(*rel).is_some_and(|r| r.kind == RelationKind::User)
            {
                for line in self.misses_of(*rel, pattern, subject) {
                    if !out.contains(&line) {
                        out.push(line);
                    }
                }
            }
            // One level down only where this atom's values were all fixed:
            // below a value an earlier literal happened to bind, none is.
            if attempt.missing.is_some() {
                self.collect_misses(&attempt.because, subject, out);
            }
        }
    }

    /// The rows of `rel` that differ from `pattern` in exactly one bound
    /// value (other than `subject`).
    fn misses_of(&self, rel: RelId, pattern: &[Option<Value>], subject: Option<Value>) -> Vec<String> {
        let bound: Vec<usize> = pattern.iter().enumerate().filter(|(_, p)| p.is_some()).map(|(i, _)| i).collect();
        if bound.len() < 2 {
            return Vec::new(); // with one value bound, "all but one" is every row
        }
        let mut lines = Vec::new();
        for &i in &bound {
            let mut relaxed = pattern.to_vec();
            let Some(wanted) = relaxed.get_mut(i).and_then(Option::take) else { continue };
            if Some(wanted) == subject {
                continue;
            }
            for row in self.matching(rel, &relaxed).iter().take(MAX_MISSES) {
                let Some(got) = row.get(i).filter(|got| **got != wanted) else { continue };
                let values: Vec<Option<Value>> = row.iter().map(|v| Some(*v)).collect();
                let place = self
                    .base_origin(rel, row)
                    .and_then(|origin| (self.locate)(origin))
                    .map_or_else(String::new, |(location, _)| format!(" ({location})"));
                lines.push(format!(
                    "nearest: `{}`{place} holds, with {} where the rule needs {}",
                    self.atom_text(rel, &values),
                    self.value(*got),
                    self.value(wanted)
                ));
            }
        }
        lines
    }
}

/// The failing steps, down the attempts, that are unknown (an error
/// occurred while deciding them): the first thing a summary names.
pub fn unknown_steps(attempts: &[Attempt]) -> Vec<String> {
    let mut out = Vec::new();
    for attempt in attempts {
        if let Some(step) = attempt.failed.strip_suffix(UNKNOWN) {
            let line = format!("`{step}` is unknown: an error occurred while deciding it, and an error never grants");
            if !out.contains(&line) {
                out.push(line);
            }
        }
        for inner in unknown_steps(&attempt.because) {
            if !out.contains(&inner) {
                out.push(inner);
            }
        }
    }
    out
}

/// How a why-not marks a step that is unknown.
pub(super) const UNKNOWN: &str = " (unknown: an error occurred while deciding it, and an error never grants)";

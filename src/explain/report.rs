//! The explanation of one query, as data (serialised for `--json`) and as text.

use super::{Attempt, ProofNode};
use serde::Serialize;

/// When a decision changes by itself.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TimeChange {
    /// The instant (RFC 3339).
    pub at: String,
    /// Whether the fact holds from then on.
    pub holds_after: bool,
    /// Base facts whose `from`/`until` falls at that instant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<String>,
}

/// Why one answer holds.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Why {
    /// The answer as an atom.
    pub answer: String,
    /// A minimal-height proof.
    pub proof: ProofNode,
    /// The smallest sets of base facts whose removal would deny it (ground queries).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revoke: Vec<Vec<String>>,
    /// When it stops holding, if the data says (ground queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<TimeChange>,
}

/// Why a query has no answer.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct WhyNot {
    /// Facts about the request that matter (inactive subject, expired assignments, roles that would grant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// When a deny rule blocks: the proof of the permission it overrides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permitted: Option<ProofNode>,
    /// When a deny rule blocks: its proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<ProofNode>,
    /// Every rule that could derive it, and where each fails.
    pub attempts: Vec<Attempt>,
    /// Single added facts that would make it hold (each verified).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<String>,
    /// When it starts holding, if the data says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<TimeChange>,
    /// Whether the notes summarize the attempts (an `allowed` question);
    /// otherwise the short text lists the rules tried, one line each.
    #[serde(skip)]
    pub summarized: bool,
}

/// The explanation of a query at one request.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Explanation {
    /// The query as given.
    pub query: String,
    /// The request time (RFC 3339).
    pub at: String,
    /// Whether the query has an answer.
    pub holds: bool,
    /// One proof per answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<Why>,
    /// For a query without answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<WhyNot>,
    /// Errors raised inside conditions while deciding.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Explanation {
    /// The explanation as a person reads it first: for an answer, its proof
    /// and what would deny it; for none, the nearest misses (the
    /// failing condition, row, type or time bound closest to granting), the
    /// repairs and when it changes. The rules tried and where each failed
    /// are in [`Explanation::to_text_verbose`] (and always in the JSON).
    pub fn to_text(&self) -> String {
        self.text(false)
    }

    /// The explanation with every rule tried and where it failed.
    pub fn to_text_verbose(&self) -> String {
        self.text(true)
    }

    fn text(&self, verbose: bool) -> String {
        let mut out = format!("{} at {}: {}\n", self.query, self.at, self.holds);
        for why in &self.proofs {
            out.push_str(&format!("\nwhy {}:\n", why.answer));
            tree(&why.proof, "", true, true, &mut out);
            if let Some(change) = &why.changes {
                out.push_str(&change_text(change));
            }
            if !why.revoke.is_empty() {
                out.push_str("to deny it, remove any one of:\n");
                for set in &why.revoke {
                    out.push_str(&format!("  - {}\n", set.join(" and ")));
                }
            }
        }
        if let Some(why_not) = &self.why_not {
            out.push_str("\nwhy not:\n");
            for note in &why_not.notes {
                out.push_str(&format!("  - {note}\n"));
            }
            if let (Some(permit), Some(deny)) = (&why_not.permitted, &why_not.denied) {
                out.push_str("\npermitted by:\n");
                tree(permit, "", true, true, &mut out);
                out.push_str("\nbut denied by (deny overrides allow):\n");
                tree(deny, "", true, true, &mut out);
            } else if verbose {
                for attempt in &why_not.attempts {
                    attempt_text(attempt, 1, &mut out);
                }
            } else if !why_not.summarized || why_not.notes.is_empty() {
                // No summary: the rules tried, one line each.
                for attempt in &why_not.attempts {
                    let place = attempt.location.as_ref().map_or_else(String::new, |l| format!(" ({l})"));
                    out.push_str(&format!("  - {}{place} fails at {}\n", one_line(&attempt.rule), attempt.failed));
                }
            }
            if !why_not.repairs.is_empty() {
                out.push_str("\nit would hold with any one of (each checked by re-evaluation):\n");
                for repair in &why_not.repairs {
                    out.push_str(&format!("  + {repair}\n"));
                }
            }
            if let Some(change) = &why_not.changes {
                out.push_str(&change_text(change));
            }
        }
        for error in &self.errors {
            out.push_str(&format!("note: {error}\n"));
        }
        out
    }
}

fn change_text(change: &TimeChange) -> String {
    let what = if change.holds_after { "holds again from" } else { "holds until" };
    let mut out = format!("time: {what} {}", change.at);
    if !change.because.is_empty() {
        let verb = if change.holds_after { "starts or ends then" } else { "ends then" };
        out.push_str(&format!(" ({} {verb})", change.because.join(", ")));
    }
    out.push('\n');
    out
}

fn tree(node: &ProofNode, prefix: &str, last: bool, root: bool, out: &mut String) {
    let (branch, next) = match (root, last) {
        (true, _) => ("", String::new()),
        (false, true) => ("└─ ", format!("{prefix}   ")),
        (false, false) => ("├─ ", format!("{prefix}│  ")),
    };
    let source = match (&node.rule, &node.location) {
        (Some(rule), Some(location)) if rule.is_empty() => format!("  [{location}]"),
        (Some(rule), Some(location)) => format!("  [{location}: {}]", one_line(rule)),
        (Some(rule), None) => format!("  [{}]", rule.split(':').next().unwrap_or(rule)),
        (None, Some(location)) => format!("  [{location}]"),
        (None, None) => String::new(),
    };
    out.push_str(&format!("{prefix}{branch}{}{source}\n", node.reads));
    let shown: Vec<&ProofNode> = node.children.iter().filter(|c| c.kind != super::ProofKind::Constant).collect();
    for condition in &node.conditions {
        let bar = if shown.is_empty() { " " } else { "│" };
        // A condition in which something erred is marked `!`, never `✓`
        // (it can still hold: `true || error` is true).
        let erred = condition.contains("= error") || condition.contains("→ error");
        let mark = if erred { "!" } else { "✓" };
        out.push_str(&format!("{next}{bar}  {mark} {condition}\n"));
    }
    for (i, child) in shown.iter().enumerate() {
        tree(child, &next, i + 1 == shown.len(), false, out);
    }
}

/// A statement on one line, shortened to a glance (between words).
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(72) {
        Some((cut, _)) => {
            let head = &line[..cut];
            let head = head.rfind(' ').map_or(head, |space| &head[..space]);
            format!("{}…", head.trim_end_matches([',', ' ']))
        }
        None => line,
    }
}

fn attempt_text(attempt: &Attempt, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let place = attempt.location.as_ref().map_or_else(String::new, |l| format!(" ({l})"));
    out.push_str(&format!("{pad}- {}{place}\n", one_line(&attempt.rule)));
    if let Some(closest) = &attempt.closest {
        out.push_str(&format!("{pad}  holds: {closest}\n"));
    }
    out.push_str(&format!("{pad}  fails: {}\n", attempt.failed));
    for inner in &attempt.because {
        attempt_text(inner, depth + 2, out);
    }
}

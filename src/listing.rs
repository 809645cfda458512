//! Listing answers with reasons: stable pagination over sorted answers
//! (`--limit`, `--after`) and one proof line per answer (`--why`).
//!
//! Never a silent truncation: a page that stops early carries the cursor of
//! its last answer, and the next page starts right after it.

use crate::engine::{Answer, Engine, RequestOptions};
use crate::explain::{ProofKind, ProofNode};
use crate::lower::builtins;

/// One page of answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The answers of this page, in order.
    pub rows: Vec<Vec<String>>,
    /// How many answers there are in all.
    pub total: usize,
    /// The cursor to pass as `--after` for the next page, when there is one.
    pub next: Option<String>,
}

/// An answer row as a cursor: its values joined by `, `.
pub fn cursor(row: &[String]) -> String {
    row.join(", ")
}

/// The answers after `after` (a cursor), at most `limit` of them.
pub fn page(answer: &Answer, after: Option<&str>, limit: Option<usize>) -> Result<Page, String> {
    let start = match after {
        None => 0,
        Some(c) => match answer.rows.iter().position(|row| cursor(row) == c) {
            Some(i) => i + 1,
            None => return Err(format!("the cursor `{c}` is not an answer of this query (did the data change?)")),
        },
    };
    let rest = answer.rows.get(start..).unwrap_or(&[]);
    let take = limit.unwrap_or(rest.len()).min(rest.len());
    let rows: Vec<Vec<String>> = rest.iter().take(take).cloned().collect();
    let next = (take < rest.len()).then(|| rows.last().map(|r| cursor(r))).flatten();
    Ok(Page { rows, total: answer.rows.len(), next })
}

/// One line per answer row saying why it holds: the base facts its proof
/// rests on. One evaluation for all of them (`rows` as [`Engine::query`]
/// renders them; `[[]]` for a ground query).
pub fn why_lines(engine: &Engine, query: &str, rows: &[Vec<String>], options: &RequestOptions) -> Vec<String> {
    let Ok(proofs) = engine.proofs_of_answers(query, options, rows) else { return vec![String::new(); rows.len()] };
    proofs
        .iter()
        .map(|proof| match proof {
            Some(proof) => summary(proof),
            None => "(no proof: the answer does not hold for this request)".into(),
        })
        .collect()
}

/// The base facts of a proof, with locations, on one line.
fn summary(proof: &ProofNode) -> String {
    fn leaves<'p>(node: &'p ProofNode, out: &mut Vec<&'p ProofNode>) {
        if node.kind == ProofKind::Fact {
            out.push(node);
        }
        node.children.iter().for_each(|c| leaves(c, out));
    }
    let mut facts = Vec::new();
    leaves(proof, &mut facts);
    let shown: Vec<String> = facts
        .iter()
        // What roles exist and extend says little about one answer; what they grant does.
        .filter(|f| !matches!(f.relation, builtins::ROLE | builtins::ROLE_EXTENDS))
        .map(|f| match &f.location {
            Some(l) => format!("{} ({l})", f.reads),
            None => f.reads.clone(),
        })
        .collect();
    if shown.is_empty() {
        format!("by {}", proof.rule.as_deref().unwrap_or("?"))
    } else {
        format!("because {}", shown.join("; "))
    }
}

//! Listing answers with reasons: stable pagination over sorted answers
//! (`--limit`, `--after`) and one proof line per answer (`--why`).
//!
//! Never a silent truncation: a page that stops early carries the cursor of
//! its last answer, and the next page starts right after it.

use crate::engine::{Answer, Engine, RequestOptions};
use crate::explain::ProofNode;
use crate::syntax::ast::Term;
use crate::syntax::span::FileId;

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

/// One line saying why an answer holds: the base facts its proof rests on.
pub fn why_line(
    engine: &Engine,
    query: &str,
    variables: &[String],
    row: &[String],
    options: &RequestOptions,
) -> String {
    let Ok(atom) = crate::syntax::parser::parse_query(FileId(0), query) else { return String::new() };
    let args: Vec<String> = atom
        .args
        .iter()
        .map(|arg| match &arg.node {
            Term::Var(name) => {
                variables.iter().position(|v| v == name).and_then(|i| row.get(i)).cloned().unwrap_or_else(|| "_".into())
            }
            Term::Anon => "_".into(),
            Term::Const(_) => engine.sources().snippet(arg.span).to_string(),
            Term::Now | Term::Ctx(_) => "_".into(),
        })
        .collect();
    // Constants are re-read from the query text, so spans refer to it.
    let args: Vec<String> = args
        .into_iter()
        .zip(&atom.args)
        .map(|(text, arg)| {
            if matches!(arg.node, Term::Const(_)) {
                query.get(arg.span.range()).unwrap_or(&text).to_string()
            } else {
                text
            }
        })
        .collect();
    let ground = format!("{}({})", atom.relation.node, args.join(", "));
    match engine.explain_proofs(&ground, options) {
        Ok(explanation) => match explanation.proofs.first() {
            Some(why) => summary(&why.proof),
            None => "(no proof: the answer does not hold for this request)".into(),
        },
        Err(_) => String::new(),
    }
}

/// The base facts of a proof, with locations, on one line.
fn summary(proof: &ProofNode) -> String {
    fn leaves<'p>(node: &'p ProofNode, out: &mut Vec<&'p ProofNode>) {
        if node.kind == "fact" {
            out.push(node);
        }
        node.children.iter().for_each(|c| leaves(c, out));
    }
    let mut facts = Vec::new();
    leaves(proof, &mut facts);
    let shown: Vec<String> = facts
        .iter()
        .filter(|f| !f.reads.starts_with("role ") || f.reads.contains(" grants "))
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

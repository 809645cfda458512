//! What an explanation says, once the engine has resolved and decided the
//! question: for each answer its proof (for a ground question also what
//! would revoke it and when it next changes); for none, why not, the
//! nearest misses first, and for a denied check the deny rule that
//! overrides a permission, or the smallest repairs.

use super::report::{Explanation, TimeChange, Why, WhyNot};
use super::{Explainer, unknown_steps};
use crate::eval::Row;
use crate::lower::builtins;
use crate::lower::intern::Symbols;
use crate::lower::ir::{self, Value};
use crate::time;

/// Open queries explain at most this many answers.
const MAX_EXPLAINED_ANSWERS: usize = 20;

/// How far an explanation goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Proofs and why-not only.
    Proofs,
    /// Also the revoke sets, repairs and the next change in time (which
    /// re-evaluate the program).
    WhatIf,
}

/// A decided question, as the engine hands it over.
pub(crate) struct Question<'q> {
    /// The question.
    pub atom: &'q ir::Atom,
    /// Its answers, as the decision reads them.
    pub rows: &'q [Row],
    /// Whether an answer is unknown (an error while deciding it).
    pub unknown: &'q dyn Fn(&Row) -> bool,
    /// Every argument a constant: a yes/no question.
    pub ground: bool,
    /// How far to go.
    pub depth: Depth,
    /// The request's symbols.
    pub symbols: &'q Symbols<'q>,
    /// Notes on a name the program never mentions (a typo?).
    pub unknown_names: &'q dyn Fn(&str) -> Vec<String>,
}

/// Fills `explanation`'s proofs or why-not for `question`.
pub(crate) fn compose(explainer: &Explainer, question: &Question, explanation: &mut Explanation) {
    let Question { atom, rows, ground, depth, symbols, .. } = *question;
    for row in rows.iter().take(MAX_EXPLAINED_ANSWERS) {
        if (question.unknown)(row) {
            // Read as holding at the access boundary (an unknown deny
            // denies), with no proof: no derivation is certain.
            let fact = explainer.atom_text(atom.rel, &row.iter().map(|v| Some(*v)).collect::<Vec<_>>());
            explanation
                .errors
                .push(format!("`{fact}` is unknown: an error occurred while deciding it, and an unknown deny denies"));
            continue;
        }
        let Some(proof) = explainer.prove(atom.rel, row) else { continue };
        let (revoke, changes) = if ground && depth == Depth::WhatIf {
            (explainer.revocations(atom.rel, row), explainer.next_change(atom.rel, row).map(time_change))
        } else {
            (Vec::new(), None)
        };
        let answer = explainer.atom_text(atom.rel, &row.iter().map(|v| Some(*v)).collect::<Vec<_>>());
        explanation.proofs.push(Why { answer, proof, revoke, changes });
    }
    if rows.is_empty() {
        let target: Vec<Option<Value>> = atom.args.iter().map(ir::Term::as_const).collect();
        let mut why_not = WhyNot { attempts: explainer.why_not(atom.rel, &target, 3), ..WhyNot::default() };
        // The nearest misses first: rows a rule needed, but for one value.
        let subject = if atom.rel == builtins::ALLOWED { target.first().copied().flatten() } else { None };
        why_not.notes = unknown_steps(&why_not.attempts);
        why_not.notes.extend(explainer.near_misses(&why_not.attempts, subject));
        if ground && depth == Depth::WhatIf && atom.rel == builtins::ALLOWED {
            let row: Vec<Value> = target.iter().flatten().copied().collect();
            why_not.summarized = true;
            why_not.notes.extend(explainer.allowed_notes(&row));
            if explainer.holds(builtins::DENIED, &row) {
                why_not.permitted = explainer.prove(builtins::PERMITTED, &row);
                why_not.denied = explainer.prove(builtins::DENIED, &row);
                let denied = explainer.gloss(builtins::DENIED, &row);
                if why_not.permitted.is_none() {
                    why_not.notes.push(format!("a deny rule applies too: {denied}"));
                } else {
                    let permitted = explainer.gloss(builtins::PERMITTED, &row);
                    let rule = why_not.denied.as_ref().and_then(|deny| match (&deny.rule, &deny.location) {
                        (Some(rule), Some(at)) => Some(format!("`{}` ({at})", rule.trim_end_matches(';'))),
                        _ => None,
                    });
                    let rule = rule.unwrap_or_else(|| "a deny rule".into());
                    why_not.notes.insert(0, format!("{permitted}, but {rule} overrides it: {denied}"));
                }
            } else {
                // No repair grants a permission the program never mentions (a typo).
                let perm = match row.get(1) {
                    Some(Value::Sym(s)) => symbols.resolve(*s).to_string(),
                    _ => String::new(),
                };
                let notes = (question.unknown_names)(&perm);
                // A repair naming `*` would not load: a fact holds constants only.
                let fresh = row.iter().any(|v| matches!(v, Value::Sym(s) if crate::lower::intern::FRESH.contains(s)));
                if notes.is_empty() && !fresh {
                    why_not.repairs = explainer.repairs(&row);
                }
                why_not.notes.extend(notes);
            }
            why_not.changes = explainer.next_change(atom.rel, &row).map(time_change);
        }
        explanation.why_not = Some(why_not);
    }
}

fn time_change((at, holds_after, because): (i64, bool, Vec<String>)) -> TimeChange {
    let because = because.into_iter().map(|s| s.trim_end_matches(';').to_string()).collect();
    TimeChange { at: time::format_timestamp(at), holds_after, because }
}

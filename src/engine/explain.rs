//! Explanations through the engine: the question resolved once, the
//! program evaluated once, and the explainer asked for proofs, why-nots and
//! what-ifs over that one model (see [`crate::explain`]).

use super::LoadError;
use super::request::Resolved;
use super::{Engine, RequestOptions};
use crate::eval::{self, Reading};
use crate::explain::report::{Explanation, TimeChange, Why, WhyNot};
use crate::explain::{Explainer, ProofNode};
use crate::lower::builtins;
use crate::lower::ir::{self, Value};
use crate::time;

impl Engine {
    /// Explains a query: a proof per answer, or why it has none.
    pub fn explain(&self, query: &str, options: &RequestOptions) -> Result<Explanation, LoadError> {
        self.explain_with(query, options, true)
    }

    /// Like [`Engine::explain`], but only the proofs and why-not: no revoke
    /// sets, repairs or time search (which re-evaluate the program).
    pub fn explain_proofs(&self, query: &str, options: &RequestOptions) -> Result<Explanation, LoadError> {
        self.explain_with(query, options, false)
    }

    fn explain_with(&self, query: &str, options: &RequestOptions, what_if: bool) -> Result<Explanation, LoadError> {
        let resolved = Resolved::new(self, options.at, &options.ctx, &[]);
        let (symbols, now) = (&resolved.symbols, resolved.now);
        let (atom, names) = self.query_atom(query, symbols)?;
        let env = resolved.env();
        let additions = self.query_additions(&atom, options);
        let mut explanation = Explanation {
            query: query.to_string(),
            at: time::format_timestamp(now),
            holds: false,
            proofs: Vec::new(),
            why_not: None,
            errors: Vec::new(),
        };
        let model = match eval::evaluate(&self.checked, &env, &additions, self.limits) {
            Ok(model) => model,
            Err(e) => {
                explanation.errors.push(format!("{e}; the query is denied"));
                return Ok(explanation);
            }
        };
        explanation.errors = self.render_errors(&model);
        let locate = |origin: ir::OriginId| self.locate(origin);
        let explainer = Explainer::new(&self.checked, &env, &additions, &model, &locate).with_limits(self.limits);
        let rows = eval::answers(&model, &atom, Reading::at_boundary(atom.rel));
        let ground = names.iter().all(|n| n == "_") && atom.args.iter().all(|t| matches!(t, ir::Term::Const(_)));
        explanation.holds = !rows.is_empty();
        for row in rows.iter().take(MAX_EXPLAINED_ANSWERS) {
            if model.is_unknown(atom.rel, row) {
                // Read as holding at the access boundary (an unknown deny
                // denies), with no proof: no derivation is certain.
                let fact = explainer.atom_text(atom.rel, &row.iter().map(|v| Some(*v)).collect::<Vec<_>>());
                explanation.errors.push(format!(
                    "`{fact}` is unknown: an error occurred while deciding it, and an unknown deny denies"
                ));
                continue;
            }
            let Some(proof) = explainer.prove(atom.rel, row) else { continue };
            let (revoke, changes) = if ground && what_if {
                (explainer.revocations(atom.rel, row), explainer.next_change(atom.rel, row).map(time_change))
            } else {
                (Vec::new(), None)
            };
            let answer = explainer.atom_text(atom.rel, &row.iter().map(|v| Some(*v)).collect::<Vec<_>>());
            explanation.proofs.push(Why { answer, proof, revoke, changes });
        }
        if rows.is_empty() {
            let target: Vec<Option<Value>> =
                atom.args.iter().map(|t| if let ir::Term::Const(v) = t { Some(*v) } else { None }).collect();
            let mut why_not = WhyNot { attempts: explainer.why_not(atom.rel, &target, 3), ..WhyNot::default() };
            if ground && what_if && atom.rel == builtins::ALLOWED {
                let row: Vec<Value> = target.iter().flatten().copied().collect();
                why_not.notes = explainer.allowed_notes(&row);
                if explainer.holds(builtins::DENIED, &row) {
                    why_not.permitted = explainer.prove(builtins::PERMITTED, &row);
                    why_not.denied = explainer.prove(builtins::DENIED, &row);
                    if why_not.permitted.is_none() {
                        why_not
                            .notes
                            .push(format!("a deny rule applies too: {}", explainer.gloss(builtins::DENIED, &row)));
                    }
                } else {
                    // No repair grants a permission the program never mentions (a typo).
                    let perm = match row.get(1) {
                        Some(Value::Sym(s)) => symbols.resolve(*s).to_string(),
                        _ => String::new(),
                    };
                    let notes = self.unknown_constant_notes(std::iter::once(perm.as_str()));
                    // A repair naming `*` would not load: a fact holds constants only.
                    let fresh =
                        row.iter().any(|v| matches!(v, Value::Sym(s) if crate::lower::intern::FRESH.contains(s)));
                    if notes.is_empty() && !fresh {
                        why_not.repairs = explainer.repairs(&row);
                    }
                    why_not.notes.extend(notes);
                }
                why_not.changes = explainer.next_change(atom.rel, &row).map(time_change);
            }
            explanation.why_not = Some(why_not);
        }
        Ok(explanation)
    }

    /// One proof for each of `rows` (answers of an open `query` as
    /// [`Engine::query`] renders them; `[[]]` for a ground query), from one
    /// evaluation of the program: what `warden query --why` prints. `None`
    /// where no certain proof exists (an unknown answer).
    pub fn proofs_of_answers(
        &self,
        query: &str,
        options: &RequestOptions,
        rows: &[Vec<String>],
    ) -> Result<Vec<Option<ProofNode>>, LoadError> {
        let resolved = Resolved::new(self, options.at, &options.ctx, &[]);
        let symbols = &resolved.symbols;
        let (atom, names) = self.query_atom(query, symbols)?;
        let env = resolved.env();
        let additions = self.query_additions(&atom, options);
        let mut proofs: Vec<Option<ProofNode>> = vec![None; rows.len()];
        let Ok(model) = eval::evaluate(&self.checked, &env, &additions, self.limits) else { return Ok(proofs) };
        let locate = |origin: ir::OriginId| self.locate(origin);
        let explainer = Explainer::new(&self.checked, &env, &additions, &model, &locate).with_limits(self.limits);
        let positions = super::named_positions(&atom, &names);
        for row in eval::answers(&model, &atom, Reading::at_boundary(atom.rel)) {
            let shown: Vec<String> =
                positions.iter().filter_map(|p| row.get(*p).map(|v| eval::render::value(*v, symbols))).collect();
            let Some(at) = rows.iter().position(|r| *r == shown) else { continue };
            if let Some(slot) = proofs.get_mut(at).filter(|slot| slot.is_none())
                && !model.is_unknown(atom.rel, &row)
            {
                *slot = explainer.prove(atom.rel, &row);
            }
        }
        Ok(proofs)
    }
}

/// Open queries explain at most this many answers.
const MAX_EXPLAINED_ANSWERS: usize = 20;

fn time_change((at, holds_after, because): (i64, bool, Vec<String>)) -> TimeChange {
    let because = because.into_iter().map(|s| s.trim_end_matches(';').to_string()).collect();
    TimeChange { at: time::format_timestamp(at), holds_after, because }
}

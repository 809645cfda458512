//! `warden test`: running `test` blocks, checking the paths asserts name
//! (`via`, `because`), and rule coverage (`--coverage`).

use crate::engine::{Answer, Engine, Resolved, TestOutcome};
use crate::eval::functions::Env;
use crate::eval::{self, Additions, Row};
use crate::explain::{Explainer, ProofNode};
use crate::lower::builtins;
use crate::lower::intern::Symbols;
use crate::lower::ir::{self, Origin, OriginId};
use crate::time;
use serde::Serialize;
use std::collections::BTreeSet;

/// Whether one rule or role entry was used by some assert's proof.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Covered {
    /// `file:line:col`.
    pub location: String,
    /// The statement's text.
    pub text: String,
    /// Whether a proof used it.
    pub covered: bool,
}

/// Proofs at most examined per assert.
const MAX_PROOFS: usize = 64;

impl Engine {
    /// Runs every `test` block.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        let mut used = None;
        self.checked()
            .program
            .tests
            .iter()
            .map(|case| TestOutcome { name: case.name.clone(), failure: self.run_test(case, &mut used).err() })
            .collect()
    }

    /// Runs every `test` block and reports, per user rule and role entry,
    /// whether any assert's proof used it.
    pub fn run_tests_with_coverage(&self) -> (Vec<TestOutcome>, Vec<Covered>) {
        let mut used = Some(BTreeSet::new());
        let outcomes: Vec<TestOutcome> = self
            .checked()
            .program
            .tests
            .iter()
            .map(|case| TestOutcome { name: case.name.clone(), failure: self.run_test(case, &mut used).err() })
            .collect();
        let used = used.unwrap_or_default();
        let program = &self.checked().program;
        let rules = program.rules.iter().map(|r| r.origin);
        let entries = program.facts.iter().filter(|f| f.rel == builtins::ROLE_PERM).map(|f| f.origin);
        let mut items: Vec<(OriginId, Covered)> = rules
            .chain(entries)
            .filter(|o| matches!(program.origin(*o), Some(Origin::Source(_))))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter_map(|o| {
                self.locate(o).map(|(location, text)| {
                    (
                        o,
                        Covered {
                            location,
                            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                            covered: used.contains(&o),
                        },
                    )
                })
            })
            .collect();
        items.sort_by(|a, b| (a.1.location.split(':').next(), a.0).cmp(&(b.1.location.split(':').next(), b.0)));
        (outcomes, items.into_iter().map(|(_, c)| c).collect())
    }

    fn run_test(&self, case: &ir::TestCase, used: &mut Option<BTreeSet<OriginId>>) -> Result<(), String> {
        let program = &self.checked().program;
        let default_now = case.at.unwrap_or_else(time::now);
        for assertion in &case.asserts {
            let fresh: Vec<&str> = assertion.fresh.iter().map(String::as_str).collect();
            let now = assertion.at.unwrap_or(default_now);
            let resolved = Resolved::lowered(self, Some(now), &case.ctx, &fresh);
            let symbols = &resolved.symbols;
            // Each assert is a query: its constants join the active domain.
            let additions = Additions {
                facts: case.facts.clone(),
                domain: assertion.atom.constants().collect(),
                ..Additions::default()
            };
            let env = resolved.env();
            let failed = |why: String| {
                let location = self.sources().location(assertion.span);
                let text = self.sources().snippet(assertion.span).split_whitespace().collect::<Vec<_>>().join(" ");
                let at = match assertion.at.or(case.at) {
                    Some(t) => format!(" (at {})", time::format_timestamp(t)),
                    None => String::new(),
                };
                format!("{location}: `{text}` failed{at}: {why}")
            };
            let (model, answers, coverage) = self
                .evaluate_covered(&env, &additions, &assertion.atom, self.limits())
                .map_err(|e| failed(e.to_string()))?;
            let rows = eval::answers(&model, &answers, eval::Reading::at_boundary(assertion.atom.rel)).to_rows();
            let answer = self.answer(rows.clone(), &model, &assertion.atom, &assertion.var_names, symbols, &additions);
            let count = answer.rows.len() as i64;
            let failure = match assertion.expect {
                ir::Expectation::Holds if count == 0 => Some("expected it to hold, but it does not".to_string()),
                ir::Expectation::NotHolds if count > 0 => {
                    Some(format!("expected it not to hold, but it does{}", witness(&answer)))
                }
                // Below the access boundary an unknown tuple is neither true nor
                // false: `assert not` of it fails (at `allowed` unknown is a deny).
                ir::Expectation::NotHolds
                    if model.has_unknowns()
                        && assertion.atom.rel != builtins::ALLOWED
                        && self.possibly_holds(&env, &additions, &assertion.atom) =>
                {
                    Some(format!("it is unknown: an error occurred while deciding it ({})", answer.errors.join("; ")))
                }
                ir::Expectation::Count(n) if n != count => {
                    Some(format!("expected {n} answers, found {count}{}", witness(&answer)))
                }
                _ => None,
            };
            if let Some(why) = failure {
                return Err(failed(why));
            }
            if assertion.path.is_none() && used.is_none() {
                continue;
            }
            // Proofs, for `via`/`because` and coverage, read the assert's own
            // evaluation and evaluate what else they need on demand.
            let atom = &assertion.atom;
            let proved = self.with_explainer(&env, &additions, model, coverage, |explainer| {
                let proofs: Vec<ProofNode> =
                    rows.iter().take(MAX_PROOFS).filter_map(|row| explainer.prove(atom.rel, row)).collect();
                let blocking = blocking_proof(explainer, atom);
                let blocked = |name: &str| match (name, ground_row(atom).as_deref()) {
                    ("deny", Some(row)) => explainer.holds(builtins::DENIED, &row.to_vec()),
                    ("inactive", Some([user, ..])) => explainer.holds(builtins::INACTIVE, &vec![*user]),
                    (other, _) => blocking.as_ref().is_some_and(|p| mentions(p, other, program, symbols)),
                };
                let blocked = match &assertion.path {
                    Some((false, name)) => blocked(name),
                    _ => false,
                };
                (proofs, blocking, blocked)
            });
            let (proofs, blocking, blocked) =
                proved.map_err(|e| failed(format!("could not find its proofs within the limits ({e})")))?;
            if let Some(used) = used.as_mut() {
                for proof in proofs.iter().chain(&blocking) {
                    collect(proof, used);
                }
            }
            match &assertion.path {
                Some((true, name)) if !proofs.iter().any(|p| mentions(p, name, program, symbols)) => {
                    return Err(failed(format!("it holds, but no proof uses `{name}`")));
                }
                Some((false, name)) if !blocked => {
                    return Err(failed(format!("it does not hold, but not because of `{name}`")));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Whether some tuple matching `atom` is possible (true or unknown), by
    /// the full three-valued evaluation.
    fn possibly_holds(&self, env: &Env, additions: &Additions, atom: &ir::Atom) -> bool {
        match eval::evaluate(self.checked(), env, additions, self.limits()) {
            Ok(model) => !eval::answers(&model, atom, eval::Reading::Possible).is_empty(),
            Err(_) => true,
        }
    }
}

/// The values of an atom whose arguments are all constants.
fn ground_row(atom: &ir::Atom) -> Option<Row> {
    atom.args.iter().map(ir::Term::as_const).collect()
}

/// For a ground `allowed(u, p, o)` that a deny blocks: the proof of the deny.
fn blocking_proof(explainer: &Explainer, atom: &ir::Atom) -> Option<ProofNode> {
    if atom.rel != builtins::ALLOWED {
        return None;
    }
    let row = ground_row(atom)?;
    explainer.prove(builtins::DENIED, &row)
}

/// Every rule and fact origin a proof uses.
fn collect(node: &ProofNode, used: &mut BTreeSet<OriginId>) {
    if let Some(origin) = node.origin {
        used.insert(origin);
    }
    node.children.iter().for_each(|c| collect(c, used));
}

/// Whether a proof uses `name`: as a relation, or as a value of some fact.
fn mentions(node: &ProofNode, name: &str, program: &ir::Program, symbols: &Symbols) -> bool {
    let wanted = eval::render::quote_if_needed(name);
    let hit = program.relation_name(node.relation).trim_start_matches('$') == name
        || node.row.iter().any(|value| eval::render::value(*value, symbols) == wanted);
    hit || node.children.iter().any(|c| mentions(c, name, program, symbols))
}

/// The answers of a failed assert, briefly.
fn witness(answer: &Answer) -> String {
    if answer.variables.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = answer.rows.iter().take(10).map(|r| r.join(", ")).collect();
    let more = if answer.rows.len() > 10 { ", ..." } else { "" };
    format!(": {}{more}", shown.join("; "))
}

//! Explanations through the engine: the question resolved once and decided
//! as a check decides it, then handed to the explainer, whose `compose`
//! decides what to tell (proofs, why-nots and what-ifs). The explainer evaluates each pattern
//! it reads on demand ([`OnDemand`]), never the full model, so an
//! explanation stays within the engine's limits at any data size and never
//! states a decision other than the check's. (Reading one full model
//! instead gives the same text, word for word: property-tested.)

use super::LoadError;
use super::on_demand::OnDemand;
use super::request::Resolved;
use super::{Engine, RequestOptions};
use crate::eval::functions::Env;
use crate::eval::{self, Additions, Reading};
use crate::explain::compose::{Depth, Question, compose};
use crate::explain::report::{Explanation, WhyNot};
use crate::explain::{Evaluated, Explainer, ProofNode, Tuples};
use crate::lower::ir::{self, Value};
use crate::time;

impl Engine {
    /// Explains a query: a proof per answer, or why it has none.
    pub fn explain(&self, query: &str, options: &RequestOptions) -> Result<Explanation, LoadError> {
        self.explain_with(query, options, Depth::WhatIf, Source::OnDemand)
    }

    /// Like [`Engine::explain`], but only the proofs and why-not: no revoke
    /// sets, repairs or time search (which re-evaluate the program).
    pub fn explain_proofs(&self, query: &str, options: &RequestOptions) -> Result<Explanation, LoadError> {
        self.explain_with(query, options, Depth::Proofs, Source::OnDemand)
    }

    /// [`Engine::explain`] reading one full model of the request instead
    /// (the reference the on-demand explanations are tested against).
    #[doc(hidden)]
    pub fn explain_from_full_model(&self, query: &str, options: &RequestOptions) -> Result<Explanation, LoadError> {
        self.explain_with(query, options, Depth::WhatIf, Source::FullModel)
    }

    fn explain_with(
        &self,
        query: &str,
        options: &RequestOptions,
        depth: Depth,
        source: Source,
    ) -> Result<Explanation, LoadError> {
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
        // The decision, as a check or a query makes it.
        let (decided, answers, coverage) = match self.evaluate_covered(&env, &additions, &atom, self.limits) {
            Ok(decided) => decided,
            Err(e) => {
                explanation.errors.push(format!("{e}; the query is denied"));
                return Ok(explanation);
            }
        };
        let rows = eval::answers(&decided, &answers, Reading::at_boundary(atom.rel)).to_rows();
        explanation.errors = self.render_errors(&decided);
        explanation.holds = !rows.is_empty();
        let full = match source {
            Source::FullModel => match eval::evaluate(&self.checked, &env, &additions, self.limits) {
                Ok(model) => Some(model),
                Err(e) => {
                    explanation.errors.push(format!("could not explain within the limits ({e})"));
                    return Ok(explanation);
                }
            },
            Source::OnDemand => None,
        };
        let on_demand = OnDemand::new(self, &env, &additions).primed(decided.clone(), coverage);
        let evaluated =
            full.as_ref().map(|model| Evaluated { checked: &self.checked, env: &env, model, limits: self.limits });
        let tuples: &dyn Tuples = match &evaluated {
            Some(evaluated) => evaluated,
            None => &on_demand,
        };
        let locate = |origin: ir::OriginId| self.locate(origin);
        let explainer = Explainer::new(&self.checked, &env, &additions, tuples, &locate);
        let ground = names.iter().all(|n| n == "_") && atom.args.iter().all(|t| matches!(t, ir::Term::Const(_)));
        let question = Question {
            atom: &atom,
            rows: &rows,
            unknown: &|row: &Vec<Value>| decided.is_unknown(answers.rel, row),
            ground,
            depth,
            symbols,
            unknown_names: &|name: &str| self.unknown_constant_notes(std::iter::once(name)),
        };
        compose(&explainer, &question, &mut explanation);
        if let Some(e) = on_demand.stopped() {
            // What was read after a limit may be incomplete (a `not` of what
            // was never read would hold): state no proof or why-not built on it.
            explanation.proofs.clear();
            if let Some(why_not) = &mut explanation.why_not {
                *why_not = WhyNot::default();
            }
            explanation.errors.push(format!(
                "could not explain within the limits ({e}); the decision above is the check's ({} patterns read)",
                on_demand.lookups()
            ));
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
        let none = || vec![None; rows.len()];
        let Ok((decided, answers, coverage)) = self.evaluate_covered(&env, &additions, &atom, self.limits) else {
            return Ok(none());
        };
        let positions = super::query::named_positions(&atom, &names);
        // Each rendered row's first place among `rows`.
        let mut place: std::collections::HashMap<&[String], usize> = std::collections::HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            place.entry(row.as_slice()).or_insert(i);
        }
        let found = eval::answers(&decided, &answers, Reading::at_boundary(atom.rel)).to_rows();
        // The proofs read what this one evaluation holds, and evaluate only what it lacks.
        let proved = self.with_explainer(&env, &additions, decided.clone(), coverage, |explainer| {
            let mut proofs: Vec<Option<ProofNode>> = none();
            for row in found {
                let shown: Vec<String> =
                    positions.iter().filter_map(|p| row.get(*p).map(|v| eval::render::value(*v, symbols))).collect();
                let Some(&at) = place.get(shown.as_slice()) else { continue };
                if let Some(slot) = proofs.get_mut(at).filter(|slot| slot.is_none())
                    && !decided.is_unknown(answers.rel, &row)
                {
                    *slot = explainer.prove(atom.rel, &row);
                }
            }
            proofs
        });
        // What was read after a limit may be incomplete: no proof built on it.
        Ok(proved.unwrap_or_else(|_| none()))
    }
}

impl Engine {
    /// Runs `explain` with an explainer of the request `env`, `additions`
    /// that reads what `model` (its evaluation, holding in full what
    /// `coverage` says) holds and evaluates the rest on demand (`query
    /// --why`, test blocks' `via`, `because` and coverage); the limit a
    /// lookup stopped at, if one did, so that nothing is built on what it
    /// may have missed.
    pub(crate) fn with_explainer<R>(
        &self,
        env: &Env,
        additions: &Additions,
        model: eval::Model,
        coverage: crate::eval::demand::Coverage,
        explain: impl FnOnce(&Explainer) -> R,
    ) -> Result<R, eval::EvalError> {
        let on_demand = OnDemand::new(self, env, additions).primed(model, coverage);
        let locate = |origin: ir::OriginId| self.locate(origin);
        let explainer = Explainer::new(&self.checked, env, additions, &on_demand, &locate);
        let out = explain(&explainer);
        on_demand.stopped().map_or(Ok(out), Err)
    }
}

/// Where an explanation reads its tuples from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Each pattern evaluated on demand.
    OnDemand,
    /// One full model of the request (the reference for tests).
    FullModel,
}

//! Stage 5, explanation: why a fact holds, and why it does not.
//!
//! Reads the tuples of one request through [`Tuples`] (one evaluated model,
//! or the engine's on-demand evaluations), after the decision, so it costs
//! nothing on checks. **Why**: a minimal-height proof tree, found top-down by iterative
//! deepening; each node is a fact with the rule that derived it (its source
//! location and text) and the facts that satisfied the rule's body; leaves are
//! base facts with their location. **Why not**: for every rule that could
//! derive the fact, the first body literal that fails and the closest partial
//! match; then the smallest sets of base facts that, added, make the query
//! hold (each verified by re-evaluation). **Revoke** is the dual: the smallest
//! sets whose removal denies. **Time**: the next instant the decision flips.
//! The summary of a why-not names the nearest misses first (see `misses`).

pub(crate) mod compose;
mod misses;
pub mod report;
mod search;
mod text;
pub mod tuples;
pub mod whatif;

use crate::analyze::Checked;
use crate::eval::functions::Env;
use crate::eval::{Additions, Reading, Row};
use crate::lower::builtins;
use crate::lower::ir::{Literal, OriginId, RelId, Rule, RuleId, Value};
pub use misses::unknown_steps;
use search::{Binding, Match, instantiate, unify_head};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
pub use tuples::{Evaluated, Tuples};

/// Maps an origin to its location (`file:line:col`) and text, for output.
pub type Locate<'a> = &'a dyn Fn(OriginId) -> Option<(String, String)>;

/// One node of a proof: a fact, how it holds, and the facts it rests on.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ProofNode {
    /// The fact as an atom (`has_role(alice, editor, page:7)`).
    pub fact: String,
    /// The fact as a sentence (`alice holds editor on page:7`).
    pub reads: String,
    /// A base fact, a derived one, or a constant of the active domain.
    pub kind: ProofKind,
    /// The relation of the fact.
    #[serde(skip)]
    pub(crate) relation: RelId,
    /// The fact's values.
    #[serde(skip)]
    pub(crate) row: Row,
    /// The rule's label or the statement's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `file:line:col` of the rule or fact (absent for built-in rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Conditions and negations of the rule, with their values at the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// The body facts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ProofNode>,
    /// The rule or fact's origin (for coverage).
    #[serde(skip)]
    pub(crate) origin: Option<OriginId>,
}

/// What a [`ProofNode`] is (in JSON: `"fact"`, `"rule"`, `"constant"`).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProofKind {
    /// A base fact, with the statement that says it.
    Fact,
    /// A fact a rule derived from its children.
    Rule,
    /// A constant of the active domain (`$adom`).
    Constant,
}

/// A rule that could have derived a missing fact, and where it failed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Attempt {
    /// The rule's label or text.
    pub rule: String,
    /// Where the rule is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The first body literal that no binding satisfies.
    pub failed: String,
    /// What held before it (the closest partial match), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closest: Option<String>,
    /// Why that literal fails, one level down (for derived relations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<Attempt>,
    /// The failing atom as a pattern of the values the question and the
    /// rule fix (`None` elsewhere), for the nearest rows (see
    /// `Explainer::near_misses`).
    #[serde(skip)]
    pub(crate) missing: Option<(RelId, Vec<Option<Value>>)>,
}

/// Explains facts of one evaluated model.
pub struct Explainer<'a> {
    /// The program.
    pub checked: &'a Checked,
    /// The request the model was evaluated for.
    pub env: &'a Env<'a>,
    /// The request's added facts and constants.
    pub additions: &'a Additions,
    /// The tuples it reads.
    pub tuples: &'a dyn Tuples,
    locate: Locate<'a>,
    /// Rules with `now` and `ctx` resolved for the request (`None`: cannot fire).
    rules: Vec<Option<std::borrow::Cow<'a, Rule>>>,
    /// Base facts and where they come from, per relation, gathered on first
    /// use when the tuples' source does not keep them.
    base: std::cell::RefCell<HashMap<RelId, HashMap<Row, OriginId>>>,
    /// Rules by head relation.
    by_head: BTreeMap<RelId, Vec<RuleId>>,
    /// What the proof search knows of each fact it tried.
    memo: std::cell::RefCell<HashMap<(RelId, Row), Known>>,
    /// The bindings under which a rule derives a fact, per rule and fact.
    bodies: std::cell::RefCell<HashMap<(RuleId, Row), Bindings>>,
}

/// Bindings of a rule's variables, shared.
type Bindings = std::rc::Rc<Vec<Binding>>;

/// What the proof search knows of one fact: no proof of height up to the
/// first value, or its minimal-height proof, of the height given.
#[derive(Clone)]
enum Known {
    FailsUpTo(usize),
    Proof(usize, ProofNode),
}

/// Deepest proof searched.
const MAX_PROOF_HEIGHT: usize = 48;

impl<'a> Explainer<'a> {
    /// Prepares to explain facts read from `tuples`.
    pub fn new(
        checked: &'a Checked,
        env: &'a Env<'a>,
        additions: &'a Additions,
        tuples: &'a dyn Tuples,
        locate: Locate<'a>,
    ) -> Self {
        let program = &checked.program;
        let rules = program.rules.iter().map(|r| crate::eval::prepare_rule(env, r)).collect();
        let mut by_head: BTreeMap<RelId, Vec<RuleId>> = BTreeMap::new();
        for (i, rule) in program.rules.iter().enumerate() {
            by_head.entry(rule.head.rel).or_default().push(RuleId(i as u32));
        }
        let base = Default::default();
        let (memo, bodies) = Default::default();
        Explainer { checked, env, additions, tuples, locate, rules, base, by_head, memo, bodies }
    }

    /// Where the base fact `rel(row)` comes from; `None` when it is not one.
    pub(crate) fn base_origin(&self, rel: RelId, row: &[Value]) -> Option<OriginId> {
        let own = || self.additions.facts.iter().find(|f| f.rel == rel && f.tuple == row).map(|f| f.origin);
        if let Some(origins) = self.tuples.base_origins(rel) {
            return origins.get(row).or_else(own);
        }
        // Gathered from the program once, for every relation.
        let mut base = self.base.borrow_mut();
        if base.is_empty() {
            for fact in self.checked.program.facts.iter().chain(&self.additions.facts) {
                base.entry(fact.rel).or_default().entry(fact.tuple.clone()).or_insert(fact.origin);
            }
        }
        base.get(&rel).and_then(|facts| facts.get(row)).copied()
    }

    /// Whether a fact holds (is certain).
    pub fn holds(&self, rel: RelId, row: &Row) -> bool {
        !self.tuples.matching(rel, &ground(row), Reading::Certain).is_empty()
    }

    /// Whether a fact is unknown: possible (some derivation met an error), not certain.
    pub fn is_unknown(&self, rel: RelId, row: &Row) -> bool {
        !self.holds(rel, row) && !self.tuples.matching(rel, &ground(row), Reading::Possible).is_empty()
    }

    /// The certain rows of `rel` matching `pattern`.
    pub(crate) fn matching(&self, rel: RelId, pattern: &[Option<Value>]) -> crate::eval::Rows {
        self.tuples.matching(rel, pattern, Reading::Certain)
    }

    fn rule_label(&self, id: RuleId) -> (String, Option<String>) {
        let origin = self.checked.program.rules.get(id.0 as usize).map(|r| r.origin);
        match origin.and_then(|o| self.checked.program.origin(o)) {
            Some(crate::lower::ir::Origin::Builtin(label, text)) => (format!("{label}: {text}"), None),
            _ => match origin.and_then(|o| (self.locate)(o)) {
                Some((location, text)) => (text, Some(location)),
                None => ("?".into(), None),
            },
        }
    }

    /// A minimal-height proof of a fact in the model.
    pub fn prove(&self, rel: RelId, row: &Row) -> Option<ProofNode> {
        self.prove_within(rel, row, MAX_PROOF_HEIGHT)
    }

    /// A minimal-height proof of height at most `limit`: each height tried
    /// in turn (iterative deepening, so a recursive fact is not its own
    /// proof), each remembered.
    fn prove_within(&self, rel: RelId, row: &Row, limit: usize) -> Option<ProofNode> {
        let key = (rel, row.clone());
        let from = match self.memo.borrow().get(&key) {
            Some(Known::Proof(height, proof)) => return (*height <= limit).then(|| proof.clone()),
            Some(Known::FailsUpTo(tried)) if *tried >= limit => return None,
            Some(Known::FailsUpTo(tried)) => tried + 1,
            None => 0,
        };
        for height in from..=limit {
            if let Some(proof) = self.search_proof(rel, row, height) {
                self.memo.borrow_mut().insert(key, Known::Proof(height, proof.clone()));
                return Some(proof);
            }
            self.memo.borrow_mut().insert(key.clone(), Known::FailsUpTo(height));
        }
        None
    }

    /// The bindings under which rule `id` derives `rel(row)`, once per rule and fact.
    fn deriving(&self, id: RuleId, rule: &Rule, row: &Row) -> Bindings {
        let key = (id, row.clone());
        if let Some(known) = self.bodies.borrow().get(&key) {
            return known.clone();
        }
        let target: Vec<Option<Value>> = row.iter().map(|v| Some(*v)).collect();
        let bindings = match unify_head(&rule.head, &target).map(|start| self.match_body(rule, start)) {
            Some(Match::Holds(bindings)) => bindings,
            _ => Vec::new(),
        };
        let bindings = std::rc::Rc::new(bindings);
        self.bodies.borrow_mut().insert(key, bindings.clone());
        bindings
    }

    fn search_proof(&self, rel: RelId, row: &Row, height: usize) -> Option<ProofNode> {
        // The fact's texts, made only for a proof found.
        let fact = || self.atom_text(rel, &row.iter().map(|v| Some(*v)).collect::<Vec<_>>());
        let reads = || self.gloss(rel, row);
        if let Some(origin) = self.base_origin(rel, row) {
            let (rule, location) = match (self.locate)(origin) {
                Some((location, text)) => (Some(text), Some(location)),
                None => (None, None),
            };
            let origin = Some(origin);
            return Some(ProofNode {
                fact: fact(),
                reads: reads(),
                kind: ProofKind::Fact,
                relation: rel,
                row: row.clone(),
                rule,
                location,
                conditions: vec![],
                children: vec![],
                origin,
            });
        }
        if rel == builtins::ADOM {
            return Some(ProofNode {
                fact: fact(),
                reads: reads(),
                kind: ProofKind::Constant,
                relation: rel,
                row: row.clone(),
                rule: None,
                location: None,
                conditions: vec![],
                children: vec![],
                origin: None,
            });
        }
        if height == 0 || !self.holds(rel, row) {
            return None;
        }
        for id in self.by_head.get(&rel).into_iter().flatten() {
            let Some(Some(rule)) = self.rules.get(id.0 as usize) else { continue };
            let bindings = self.deriving(*id, rule, row);
            'bindings: for b in bindings.iter().take(64) {
                let mut children = Vec::new();
                let mut conditions = Vec::new();
                for literal in &rule.body {
                    match literal {
                        Literal::Pos(a) => {
                            let child_row: Row = instantiate(a, b).into_iter().flatten().collect();
                            // The smallest proof of each child (iterative deepening).
                            let child = self.prove_within(a.rel, &child_row, height - 1);
                            match child {
                                Some(c) => children.push(c),
                                None => continue 'bindings,
                            }
                        }
                        Literal::Domain(v) => {
                            if let Some(value) = b.get(v) {
                                children.extend(self.prove_within(builtins::ADOM, &vec![*value], 0));
                            }
                        }
                        Literal::Cond(e) => {
                            if !self.is_unbounded_time(e, b) {
                                conditions.push(self.condition_values(rule, e, b));
                            }
                        }
                        Literal::Neg(_) | Literal::Member(..) => {
                            conditions.push(format!("{}: true", self.literal_text(rule, literal, b)))
                        }
                    }
                }
                let (label, location) = self.rule_label(*id);
                let origin = self.checked.program.rules.get(id.0 as usize).map(|r| r.origin);
                return Some(ProofNode {
                    fact: fact(),
                    reads: reads(),
                    kind: ProofKind::Rule,
                    relation: rel,
                    row: row.clone(),
                    rule: Some(label),
                    location,
                    conditions,
                    children,
                    origin,
                });
            }
        }
        None
    }

    /// Conditions that say nothing to a reader: `F <= now` with `F` the "no
    /// `from`" sentinel, and the built-ins' `C != *` scope checks.
    fn is_unbounded_time(&self, e: &crate::lower::ir::Expr, b: &Binding) -> bool {
        use crate::lower::ir::{Expr, Term};
        let sentinel = |x: &Expr| match x {
            Expr::Term(Term::Var(v)) => {
                b.get(v).is_some_and(|v| *v == builtins::FOREVER_BEFORE || *v == builtins::FOREVER_AFTER)
            }
            Expr::Term(Term::Const(c)) => *c == Value::Sym(builtins::STAR),
            _ => false,
        };
        matches!(e, Expr::Binary(_, l, r) if sentinel(l) || sentinel(r))
    }

    /// For a fact that does not hold: every rule that could derive it, the
    /// first literal that fails, and (down to `depth` levels) why.
    pub fn why_not(&self, rel: RelId, target: &[Option<Value>], depth: usize) -> Vec<Attempt> {
        let mut attempts = Vec::new();
        for id in self.by_head.get(&rel).into_iter().flatten() {
            let Some(rule) = self.checked.program.rules.get(id.0 as usize) else { continue };
            let Some(start) = unify_head(&rule.head, target) else { continue };
            let (label, location) = self.rule_label(*id);
            let Some(Some(prepared)) = self.rules.get(id.0 as usize) else {
                let failed = "an atom reads a `ctx` key the request lacks".to_string();
                attempts.push(Attempt { rule: label, location, failed, closest: None, because: vec![], missing: None });
                continue;
            };
            let order = self.solving_order(prepared, &start);
            let Match::Fails { literal, partial } = self.match_body(prepared, start.clone()) else { continue };
            let Some(failed_index) = order.get(literal).copied() else { continue };
            let Some(failed_literal) = prepared.body.get(failed_index) else { continue };
            let given = start.clone();
            let partial = partial.unwrap_or(start);
            // What held, without the reflexive steps (`alice lies within alice`).
            let reflexive = |l: &Literal| match l {
                Literal::Pos(a) if a.rel == builtins::WITHIN => {
                    let values = instantiate(a, &partial);
                    values.first() == values.get(1)
                }
                _ => false,
            };
            let closest: Vec<String> = order
                .iter()
                .take(literal)
                .filter_map(|i| prepared.body.get(*i))
                .filter(|l| matches!(l, Literal::Pos(_)) && !reflexive(l))
                .map(|l| self.literal_text(prepared, l, &partial))
                .collect();
            let mut failed = match failed_literal {
                Literal::Cond(e) => self.condition_values(prepared, e, &partial),
                other => self.literal_text(prepared, other, &partial),
            };
            if let Literal::Pos(a) | Literal::Neg(a) = failed_literal {
                let row: Option<Row> = instantiate(a, &partial).into_iter().collect();
                if row.is_some_and(|row| self.is_unknown(a.rel, &row)) {
                    failed.push_str(misses::UNKNOWN);
                }
            }
            let because = match failed_literal {
                Literal::Pos(a) if depth > 0 && !self.base_only(a.rel) => {
                    self.why_not(a.rel, &instantiate(a, &partial), depth - 1)
                }
                _ => Vec::new(),
            };
            let closest = (!closest.is_empty()).then(|| closest.join(", "));
            // Only what the question or the rule fixes (not what an earlier
            // literal happened to bind) makes a near miss.
            // (An atom with a value an earlier literal bound has no near miss:
            // that value is one binding among others, not what the rule needs.)
            let missing = match failed_literal {
                Literal::Pos(a) => {
                    let fixed = instantiate(a, &given);
                    let bound = instantiate(a, &partial);
                    let incidental = fixed.iter().zip(&bound).any(|(f, b)| f.is_none() && b.is_some());
                    (!incidental).then_some((a.rel, fixed))
                }
                _ => None,
            };
            attempts.push(Attempt { rule: label, location, failed, closest, because, missing });
        }
        attempts
    }

    /// Whether a relation has no rules (only base facts).
    fn base_only(&self, rel: RelId) -> bool {
        self.by_head.get(&rel).is_none_or(Vec::is_empty)
    }
}

/// A row as a pattern that matches only itself.
fn ground(row: &[Value]) -> Vec<Option<Value>> {
    row.iter().map(|v| Some(*v)).collect()
}

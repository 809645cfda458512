//! Stage 4, evaluation: the checked program plus a request → a model.
//!
//! Strata are evaluated in order, each semi-naively on datafrog
//! ([`seminaive`]). The request time `now`, the context `ctx`, the query's
//! constants and a test's local facts enter here, so time-dependent rules are
//! right for the request given. Conditions follow SPEC section 5: a missing
//! `ctx` key makes its literal false; an error is false in allow rules and
//! true in deny rules, and is recorded in [`Model::errors`].

pub mod base;
pub mod functions;
pub mod plan;
pub mod render;
pub mod seminaive;

use crate::analyze::{Checked, Stratum};
use crate::lower::ir::{Atom, ErrorPolicy, Expr, Fact, Literal, OriginId, Program, RelId, Rule, Term, Value, VarId};
pub use base::{Prepared, Rows};
use functions::{Env, Fault, Val};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A tuple of a relation.
pub type Row = Vec<Value>;

/// Bounds on one evaluation; exceeding one is an error (and so a deny).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most tuples all relations together may hold.
    pub max_tuples: usize,
    /// The longest one evaluation may take (checked between rounds and steps).
    pub max_time: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_tuples: 20_000_000, max_time: std::time::Duration::from_secs(30) }
    }
}

/// Why an evaluation stopped without a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The program derived more tuples than [`Limits::max_tuples`].
    #[error("evaluation stopped: more than {0} derived tuples (raise the limit or narrow the rules)")]
    TooManyTuples(usize),
    /// The evaluation took longer than [`Limits::max_time`].
    #[error("evaluation stopped: it took longer than {0} ms (raise the limit or narrow the rules)")]
    TooSlow(u128),
    /// A compiled check took more than this many steps.
    #[error("check stopped: more than {0} steps (raise the limit or narrow the rules)")]
    TooManySteps(usize),
}

/// What a request adds to the program: a test's local facts and the query's constants.
#[derive(Clone, Debug, Default)]
pub struct Additions {
    /// Facts that hold for this request only.
    pub facts: Vec<Fact>,
    /// Constants that join the active domain.
    pub domain: Vec<Value>,
    /// Base facts taken away for this request (what-if questions: "would the
    /// query still hold without this assignment?").
    pub removed: BTreeSet<(RelId, Row)>,
}

/// The result of an evaluation: every relation, sorted, plus condition errors.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Tuples of each relation, indexed by `RelId`, sorted and deduplicated.
    pub relations: Vec<Rows>,
    /// Errors raised inside conditions, with the rule they happened in.
    pub errors: BTreeSet<(OriginId, String)>,
}

/// The base tuples of every relation: facts, a request's additions, and the
/// active domain in `$adom`.
pub fn base_relations(program: &Program, additions: &Additions) -> Vec<Rows> {
    Prepared::new(program).relations(program, additions)
}

/// Evaluates the program for one request with the semi-naive engine.
pub fn evaluate(checked: &Checked, env: &Env, additions: &Additions, limits: Limits) -> Result<Model, EvalError> {
    evaluate_rules(&Prepared::new(&checked.program), &checked.program, checked, env, additions, limits)
}

/// Evaluates the rules and strata of `rules` over the shared base relations
/// of `prepared` (built from `base`; a demand-transformed program shares its
/// base's facts, and its relation table extends the base's).
pub fn evaluate_rules(
    prepared: &Prepared,
    base: &Program,
    rules: &Checked,
    env: &Env,
    additions: &Additions,
    limits: Limits,
) -> Result<Model, EvalError> {
    evaluate_strata(prepared, base, &rules.program, &rules.strata, env, additions, limits, &|_, _| None)
}

/// What an earlier evaluation already knows of a stratum: given the stratum
/// and the relations so far, its relations' tuples, when they cannot have
/// changed (see the check plan's snapshot).
pub type Reuse<'a> = dyn Fn(&Stratum, &[Rows]) -> Option<Vec<(RelId, Rows)>> + 'a;

/// Evaluates `strata` (of the rules of `program`) over the base relations of
/// `prepared`; relations of other strata stay as the base has them. A stratum
/// `reuse` answers is not evaluated.
#[expect(clippy::too_many_arguments, reason = "the program, its strata, the request, and the reuse hook")]
pub fn evaluate_strata(
    prepared: &Prepared,
    base: &Program,
    program: &Program,
    strata: &[Stratum],
    env: &Env,
    additions: &Additions,
    limits: Limits,
    reuse: &Reuse,
) -> Result<Model, EvalError> {
    let deadline = std::time::Instant::now() + limits.max_time;
    let mut relations = prepared.relations(base, additions);
    relations.resize(program.relations.len().max(relations.len()), Arc::default());
    let mut model = Model { relations, errors: BTreeSet::new() };
    for stratum in strata {
        if let Some(known) = reuse(stratum, &model.relations) {
            for (rel, rows) in known {
                if let Some(slot) = model.relations.get_mut(rel.0 as usize) {
                    *slot = rows;
                }
            }
            continue;
        }
        let rules: Vec<Cow<Rule>> = stratum
            .rules
            .iter()
            .filter_map(|id| program.rules.get(id.0 as usize))
            .filter_map(|rule| prepare_rule(env, rule))
            .collect();
        seminaive::eval_stratum(stratum, &rules, &mut model, prepared, env, (limits, deadline))?;
    }
    Ok(model)
}

/// A rule with `now` and `ctx.KEY` in its atoms replaced by their values for
/// this request; `None` when an atom reads a missing `ctx` key (its literal is
/// false, so the rule cannot fire).
pub fn prepare_rule<'r>(env: &Env, rule: &'r Rule) -> Option<Cow<'r, Rule>> {
    let reads_request = |atom: &Atom| atom.args.iter().any(|t| matches!(t, Term::Now | Term::Ctx(_)));
    let atoms = std::iter::once(&rule.head).chain(rule.body.iter().filter_map(|l| match l {
        Literal::Pos(a) | Literal::Neg(a) => Some(a),
        _ => None,
    }));
    if !atoms.into_iter().any(reads_request) {
        // Most rules: nothing to fill in, so no copy on the check path.
        return Some(Cow::Borrowed(rule));
    }
    let fix = |atom: &Atom| -> Option<Atom> {
        let mut args = Vec::with_capacity(atom.args.len());
        for t in &atom.args {
            args.push(match t {
                Term::Now | Term::Ctx(_) => Term::Const(env.term(t, &|_| None).ok()?),
                other => other.clone(),
            });
        }
        Some(Atom { rel: atom.rel, args })
    };
    // Heads hold `now`/`ctx` only in the demand program's magic rules.
    let head = fix(&rule.head)?;
    let mut body = Vec::with_capacity(rule.body.len());
    for literal in &rule.body {
        body.push(match literal {
            Literal::Pos(a) => Literal::Pos(fix(a)?),
            Literal::Neg(a) => Literal::Neg(fix(a)?),
            other => other.clone(),
        });
    }
    Some(Cow::Owned(Rule { head, body, ..rule.clone() }))
}

/// Decides a condition literal under `bindings`, applying the rule's error
/// policy; errors are recorded in `errors`.
pub fn condition(
    env: &Env,
    rule: &Rule,
    expr: &Expr,
    bindings: &dyn Fn(VarId) -> Option<Value>,
    errors: &mut BTreeSet<(OriginId, String)>,
) -> bool {
    let fault = match env.eval(expr, bindings) {
        Ok(Val::Bool(b)) => return b,
        Ok(other) => Fault::Error(format!("type error: a condition must be a boolean, found `{other}`")),
        Err(fault) => fault,
    };
    match fault {
        Fault::MissingCtx(_) => false,
        Fault::Error(message) => {
            errors.insert((rule.origin, message));
            rule.on_error == ErrorPolicy::FailTrue
        }
    }
}

/// What a `X in [a, b]` literal says under one binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    /// The items' values: `X` must be one of them (or, unbound, becomes each).
    Values(Vec<Value>),
    /// An item failed in a deny rule: the literal is true (it binds nothing).
    Holds,
    /// An item read a missing `ctx` key, or failed in another rule: the literal is false.
    Fails,
}

impl Membership {
    /// Whether a bound `X` satisfies the literal.
    pub fn admits(&self, x: &Value) -> bool {
        match self {
            Membership::Values(values) => values.contains(x),
            Membership::Holds => true,
            Membership::Fails => false,
        }
    }

    /// The values an unbound `X` takes (none when the literal is decided by an error).
    pub fn values(self) -> Vec<Value> {
        match self {
            Membership::Values(values) => values,
            Membership::Holds | Membership::Fails => Vec::new(),
        }
    }
}

/// Evaluates the items of `X in [a, b]` under SPEC section 5: a missing `ctx`
/// key makes the literal false; an error makes it false, or true in a deny
/// rule (errors recorded).
pub fn member_values(
    env: &Env,
    rule: &Rule,
    items: &[Expr],
    bindings: &dyn Fn(VarId) -> Option<Value>,
    errors: &mut BTreeSet<(OriginId, String)>,
) -> Membership {
    let mut out = Vec::new();
    for item in items {
        match env.eval(item, bindings) {
            Ok(v) => out.push(env.value(&v)),
            Err(Fault::MissingCtx(_)) => return Membership::Fails,
            Err(Fault::Error(message)) => {
                errors.insert((rule.origin, message));
                return if rule.on_error == ErrorPolicy::FailTrue { Membership::Holds } else { Membership::Fails };
            }
        }
    }
    Membership::Values(out)
}

/// The answers to an atom: rows of its relation matching its constants and
/// repeated variables, sorted for output.
pub fn answers(model: &Model, atom: &Atom) -> Vec<Row> {
    let rows = model.relations.get(atom.rel.0 as usize).map_or(&[][..], |r| r.as_slice());
    rows.iter().filter(|row| matches(atom, row)).cloned().collect()
}

/// Whether a row matches an atom's constants and repeated variables.
pub fn matches(atom: &Atom, row: &[Value]) -> bool {
    let mut seen: Vec<(VarId, Value)> = Vec::new();
    atom.args.len() == row.len()
        && atom.args.iter().zip(row).all(|(term, value)| match term {
            Term::Const(c) => c == value,
            Term::Var(v) => match seen.iter().find(|(w, _)| w == v) {
                Some((_, bound)) => bound == value,
                None => {
                    seen.push((*v, *value));
                    true
                }
            },
            Term::Now | Term::Ctx(_) => false,
        })
}

//! The reference evaluator: naive, bottom-up, obviously correct.
//!
//! Three-valued, as SPEC section 5 says, written directly in Kleene's logic
//! (not as the optimised evaluator's two passes): every tuple has a truth
//! value, false (absent), unknown or true. A rule's body is the minimum of its
//! literals' values (false < unknown < true): an erroring condition is
//! unknown, `not` of an unknown atom is unknown. A head takes the maximum
//! over its derivations. Each stratum is iterated to a fixpoint by re-running
//! every rule over the full relations (no deltas, no indexes, no datafrog).
//! A rule's bindings are built literal by literal, in the plainest order:
//! positive atoms, then list generators, then the active domain, then
//! conditions and negations. Every optimised evaluator must derive exactly
//! the same certain and possible tuples.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(dead_code)]

mod conditions;

use conditions::Outcome;
use std::collections::{BTreeMap, BTreeSet};
use warden::internals::Checked;
use warden::internals::eval::functions::Env;
use warden::internals::eval::{self, Additions, Row};
use warden::internals::lower::builtins;
use warden::internals::lower::ir::{Atom, Expr, Literal, Rule, Term, Value, VarId};

type Binding = BTreeMap<VarId, Value>;

/// A truth value of Kleene's logic, ordered false < unknown < true.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Truth {
    False,
    Unknown,
    True,
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }
}

/// One relation: each tuple that is not false, with its value.
type Relation = BTreeMap<Row, Truth>;

/// The reference model: per relation, the certain (true) tuples and the
/// possible (true or unknown) ones.
pub struct Reference {
    pub certain: Vec<BTreeSet<Row>>,
    pub possible: Vec<BTreeSet<Row>>,
}

/// Evaluates every stratum naively in three values.
pub fn evaluate(checked: &Checked, env: &Env, additions: &Additions) -> Reference {
    let program = &checked.program;
    let mut relations: Vec<Relation> = eval::base_relations(program, additions)
        .into_iter()
        .map(|rows| rows.iter().map(|row| (row.to_vec(), Truth::True)).collect())
        .collect();
    for stratum in &checked.strata {
        let rules: Vec<Rule> = stratum
            .rules
            .iter()
            .map(|id| &program.rules[id.0 as usize])
            .filter_map(|r| eval::prepare_rule(env, r).map(std::borrow::Cow::into_owned))
            .collect();
        loop {
            let mut new_rows: Vec<(usize, Row, Truth)> = Vec::new();
            for rule in &rules {
                for (binding, truth) in bindings(rule, &relations, env) {
                    let row: Row = rule.head.args.iter().map(|t| value_of(t, &binding)).collect();
                    new_rows.push((rule.head.rel.0 as usize, row, truth));
                }
            }
            let mut changed = false;
            for (rel, row, truth) in new_rows {
                if truth == Truth::False {
                    continue;
                }
                let slot = relations[rel].entry(row).or_insert(Truth::False);
                if truth > *slot {
                    *slot = truth;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
    let certain = relations
        .iter()
        .map(|r| r.iter().filter(|(_, t)| **t == Truth::True).map(|(row, _)| row.clone()).collect())
        .collect();
    let possible = relations.iter().map(|r| r.keys().cloned().collect()).collect();
    Reference { certain, possible }
}

fn value_of(term: &Term, binding: &Binding) -> Value {
    match term {
        Term::Const(v) => *v,
        Term::Var(v) => binding[v],
        Term::Now | Term::Ctx(_) => unreachable!("prepared rules have no `now` or `ctx` in atoms"),
    }
}

/// A condition's value: an error is unknown, a missing `ctx` key false
/// (`conditions`: the reference semantics, not the engine's evaluator).
fn condition(env: &Env, expr: &Expr, b: &Binding) -> Truth {
    match conditions::eval(env, expr, b) {
        Outcome::Value(conditions::V::Bool(true)) => Truth::True,
        Outcome::Value(conditions::V::Bool(false)) | Outcome::Missing => Truth::False,
        Outcome::Value(_) | Outcome::Error => Truth::Unknown,
    }
}

/// The values of a list's items, or, when an item fails, the list's truth
/// (false for a missing `ctx` key, else unknown) and the items that did not.
fn items(env: &Env, items: &[Expr], b: &Binding) -> Result<Vec<Value>, (Truth, Vec<Value>)> {
    let mut out = Vec::new();
    let mut erred = false;
    for item in items {
        match conditions::eval(env, item, b) {
            Outcome::Value(v) => out.push(conditions::constant(env, &v)),
            Outcome::Missing => return Err((Truth::False, Vec::new())),
            Outcome::Error => erred = true,
        }
    }
    if erred { Err((Truth::Unknown, out)) } else { Ok(out) }
}

/// Every binding of the rule's variables with the truth of its body.
fn bindings(rule: &Rule, relations: &[Relation], env: &Env) -> Vec<(Binding, Truth)> {
    let mut current: Vec<(Binding, Truth)> = vec![(Binding::new(), Truth::True)];
    // 1. Positive atoms, in the order written.
    for literal in &rule.body {
        if let Literal::Pos(atom) = literal {
            current = current.iter().flat_map(|(b, t)| extend(b, *t, atom, &relations[atom.rel.0 as usize])).collect();
        }
    }
    // 2. List generators for variables nothing else binds. An unknown list
    //    may hold for any value: the variable takes every value of the active
    //    domain and of the items that did not fail, each unknown.
    for literal in &rule.body {
        if let Literal::Member(v, list) = literal {
            let mut next = Vec::new();
            for (b, t) in &current {
                if b.contains_key(v) {
                    next.push((b.clone(), *t));
                    continue;
                }
                let (values, truth) = match items(env, list, b) {
                    Ok(values) => (values, *t),
                    Err((Truth::Unknown, mut values)) => {
                        values.extend(relations[builtins::ADOM.0 as usize].keys().map(|row| row[0]));
                        (values, (*t).min(Truth::Unknown))
                    }
                    Err(_) => (Vec::new(), Truth::False),
                };
                for value in values {
                    let mut extended = b.clone();
                    extended.insert(*v, value);
                    next.push((extended, truth));
                }
            }
            current = next;
        }
    }
    // 3. The active domain.
    for literal in &rule.body {
        if let Literal::Domain(v) = literal {
            let atom = Atom { rel: builtins::ADOM, args: vec![Term::Var(*v)] };
            current =
                current.iter().flat_map(|(b, t)| extend(b, *t, &atom, &relations[builtins::ADOM.0 as usize])).collect();
        }
    }
    // 4. Conditions, negations and list checks: the body's value is the least.
    for (b, truth) in &mut current {
        for literal in &rule.body {
            let value = match literal {
                Literal::Cond(e) => condition(env, e, b),
                Literal::Neg(atom) => relations[atom.rel.0 as usize]
                    .iter()
                    .filter(|(row, _)| unifies(b, atom, row, rule))
                    .map(|(_, t)| *t)
                    .max()
                    .unwrap_or(Truth::False)
                    .not(),
                Literal::Member(v, list) => match items(env, list, b) {
                    Ok(values) if values.contains(&b[v]) => Truth::True,
                    Ok(_) => Truth::False,
                    Err((t, _)) => t,
                },
                Literal::Pos(_) | Literal::Domain(_) => Truth::True,
            };
            *truth = (*truth).min(value);
        }
    }
    current.retain(|(_, t)| *t != Truth::False);
    current
}

/// The bindings extending `b` (of truth `truth`) with each row of `rows`
/// that matches `atom`, each with the lesser of the two truths.
fn extend(b: &Binding, truth: Truth, atom: &Atom, rows: &Relation) -> Vec<(Binding, Truth)> {
    let mut out = Vec::new();
    'rows: for (row, row_truth) in rows {
        let mut extended = b.clone();
        for (term, value) in atom.args.iter().zip(row) {
            match term {
                Term::Const(c) if c != value => continue 'rows,
                Term::Const(_) => {}
                Term::Var(v) => match extended.get(v) {
                    Some(bound) if bound != value => continue 'rows,
                    Some(_) => {}
                    None => {
                        extended.insert(*v, *value);
                    }
                },
                Term::Now | Term::Ctx(_) => continue 'rows,
            }
        }
        out.push((extended, truth.min(*row_truth)));
    }
    out
}

/// Whether a row matches a negated atom under `b` (`_` matches anything).
fn unifies(b: &Binding, atom: &Atom, row: &Row, rule: &Rule) -> bool {
    let mut local = b.clone();
    atom.args.iter().zip(row).all(|(term, value)| match term {
        Term::Const(c) => c == value,
        Term::Var(v) if rule.var_names[v.0 as usize] == "_" => true,
        Term::Var(v) => match local.get(v) {
            Some(bound) => bound == value,
            None => {
                local.insert(*v, *value);
                true
            }
        },
        Term::Now | Term::Ctx(_) => false,
    })
}

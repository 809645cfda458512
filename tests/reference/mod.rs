//! The reference evaluator: naive, bottom-up, obviously correct.
//!
//! Each stratum is iterated to a fixpoint by re-running every rule over the
//! full relations (no deltas, no indexes, no datafrog). A rule's bindings are
//! built literal by literal, in the plainest order: positive atoms, then list
//! generators, then the active domain, then conditions and negations. Every
//! optimised evaluator must derive exactly the same relations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use warden::analyze::Checked;
use warden::eval::functions::Env;
use warden::eval::{self, Additions, Row};
use warden::lower::builtins;
use warden::lower::ir::{Atom, Literal, OriginId, Rule, Term, Value, VarId};

type Binding = BTreeMap<VarId, Value>;

/// Evaluates every stratum naively; returns each relation as a sorted set.
pub fn evaluate(checked: &Checked, env: &Env, additions: &Additions) -> Vec<BTreeSet<Row>> {
    let program = &checked.program;
    let mut relations: Vec<BTreeSet<Row>> =
        eval::base_relations(program, additions).into_iter().map(|rows| rows.iter().cloned().collect()).collect();
    let mut errors = BTreeSet::new();
    for stratum in &checked.strata {
        let rules: Vec<Rule> = stratum
            .rules
            .iter()
            .map(|id| &program.rules[id.0 as usize])
            .filter_map(|r| eval::prepare_rule(env, r).map(std::borrow::Cow::into_owned))
            .collect();
        loop {
            let mut new_rows: Vec<(usize, Row)> = Vec::new();
            for rule in &rules {
                for binding in bindings(rule, &relations, env, &mut errors) {
                    let row: Row = rule.head.args.iter().map(|t| value_of(t, &binding)).collect();
                    new_rows.push((rule.head.rel.0 as usize, row));
                }
            }
            let mut changed = false;
            for (rel, row) in new_rows {
                changed |= relations[rel].insert(row);
            }
            if !changed {
                break;
            }
        }
    }
    relations
}

fn value_of(term: &Term, binding: &Binding) -> Value {
    match term {
        Term::Const(v) => *v,
        Term::Var(v) => binding[v],
        Term::Now | Term::Ctx(_) => unreachable!("prepared rules have no `now` or `ctx` in atoms"),
    }
}

/// Every binding of the rule's variables that satisfies its body.
fn bindings(
    rule: &Rule,
    relations: &[BTreeSet<Row>],
    env: &Env,
    errors: &mut BTreeSet<(OriginId, String)>,
) -> Vec<Binding> {
    let mut current: Vec<Binding> = vec![Binding::new()];
    // 1. Positive atoms, in the order written.
    for literal in &rule.body {
        if let Literal::Pos(atom) = literal {
            current = current.iter().flat_map(|b| extend(b, atom, &relations[atom.rel.0 as usize])).collect();
        }
    }
    // 2. List generators for variables nothing else binds.
    for literal in &rule.body {
        if let Literal::Member(v, items) = literal {
            let mut next = Vec::new();
            for b in &current {
                if b.contains_key(v) {
                    next.push(b.clone());
                    continue;
                }
                for value in eval::member_values(env, rule, items, &|w| b.get(&w).copied(), errors).values() {
                    let mut extended = b.clone();
                    extended.insert(*v, value);
                    next.push(extended);
                }
            }
            current = next;
        }
    }
    // 3. The active domain.
    for literal in &rule.body {
        if let Literal::Domain(v) = literal {
            let atom = Atom { rel: builtins::ADOM, args: vec![Term::Var(*v)] };
            current = current.iter().flat_map(|b| extend(b, &atom, &relations[builtins::ADOM.0 as usize])).collect();
        }
    }
    // 4. Conditions, negations and list checks.
    current.retain(|b| {
        rule.body.iter().all(|literal| match literal {
            Literal::Cond(e) => eval::condition(env, rule, e, &|w| b.get(&w).copied(), errors),
            Literal::Neg(atom) => !relations[atom.rel.0 as usize].iter().any(|row| unifies(b, atom, row, rule)),
            Literal::Member(v, items) => {
                eval::member_values(env, rule, items, &|w| b.get(&w).copied(), errors).admits(&b[v])
            }
            Literal::Pos(_) | Literal::Domain(_) => true,
        })
    });
    current
}

/// The bindings extending `b` with each row of `rows` that matches `atom`.
fn extend(b: &Binding, atom: &Atom, rows: &BTreeSet<Row>) -> Vec<Binding> {
    let mut out = Vec::new();
    'rows: for row in rows {
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
        out.push(extended);
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

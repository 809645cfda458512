//! Matching rule bodies against an evaluated model: the bindings that derive
//! a fact, and, when there are none, the first literal that fails.

use super::Explainer;
use crate::eval::{Reading, condition, member_values};
use crate::lower::builtins;
use crate::lower::ir::{Atom, Literal, Rule, Term, Value, VarId};
use std::collections::{BTreeMap, BTreeSet};

/// Values of a rule's variables.
pub type Binding = BTreeMap<VarId, Value>;

/// At most this many partial bindings are kept per literal (explanations
/// are about one decision; a wider search only repeats itself).
const MAX_BINDINGS: usize = 4096;

/// The outcome of matching a rule body.
pub enum Match {
    /// Bindings under which every literal holds.
    Holds(Vec<Binding>),
    /// No binding: the index of the first literal (in solving order) that
    /// failed, and a binding of the literals before it.
    Fails { literal: usize, partial: Option<Binding> },
}

impl Explainer<'_> {
    /// The order literals are solved in: positive atoms (most-bound first),
    /// list generators, active-domain literals, then conditions and negations.
    pub(super) fn solving_order(&self, rule: &Rule, start: &Binding) -> Vec<usize> {
        let mut bound: BTreeSet<VarId> = start.keys().copied().collect();
        let mut atoms: Vec<usize> =
            rule.body.iter().enumerate().filter(|(_, l)| matches!(l, Literal::Pos(_))).map(|(i, _)| i).collect();
        let mut order = Vec::new();
        while !atoms.is_empty() {
            let score = |i: &usize| match rule.body.get(*i) {
                Some(Literal::Pos(a)) => {
                    a.args.iter().filter(|t| !matches!(t, Term::Var(v) if !bound.contains(v))).count() * 100
                        / a.args.len().max(1)
                }
                _ => 0,
            };
            let best = atoms.iter().copied().enumerate().max_by_key(|(k, i)| (score(i), usize::MAX - k));
            let Some((k, i)) = best else { break };
            atoms.remove(k);
            if let Some(Literal::Pos(a)) = rule.body.get(i) {
                bound.extend(a.vars());
            }
            order.push(i);
        }
        for kind in 0..3 {
            for (i, literal) in rule.body.iter().enumerate() {
                let wanted = match literal {
                    Literal::Member(..) => kind == 0,
                    Literal::Domain(_) => kind == 1,
                    Literal::Cond(_) | Literal::Neg(_) => kind == 2,
                    Literal::Pos(_) => false,
                };
                if wanted {
                    order.push(i);
                }
            }
        }
        order
    }

    /// Matches a rule's body starting from `start` (the head's values).
    pub(super) fn match_body(&self, rule: &Rule, start: Binding) -> Match {
        let order = self.solving_order(rule, &start);
        let mut bindings = vec![start];
        for (step, &i) in order.iter().enumerate() {
            let Some(literal) = rule.body.get(i) else { continue };
            let next = self.apply(rule, literal, &bindings);
            if next.is_empty() {
                return Match::Fails { literal: step, partial: bindings.into_iter().next() };
            }
            bindings = next;
        }
        Match::Holds(bindings)
    }

    /// The bindings that survive one literal. A proof is of certain facts:
    /// positive atoms read the certain tuples, `not` the possible ones, and
    /// an erroring condition fails (SPEC section 5).
    fn apply(&self, rule: &Rule, literal: &Literal, bindings: &[Binding]) -> Vec<Binding> {
        let mut errors = BTreeSet::new();
        let mut out = Vec::new();
        for b in bindings {
            if out.len() >= MAX_BINDINGS {
                break;
            }
            match literal {
                Literal::Pos(atom) => out.extend(self.extend(b, atom)),
                Literal::Domain(v) => {
                    let atom = Atom { rel: builtins::ADOM, args: vec![Term::Var(*v)] };
                    out.extend(self.extend(b, &atom));
                }
                Literal::Member(v, items) => {
                    let membership =
                        member_values(self.env, rule, items, &|w| b.get(&w).copied(), Reading::Certain, &mut errors);
                    match b.get(v) {
                        Some(x) if membership.admits(x) => out.push(b.clone()),
                        Some(_) => {}
                        None => out.extend(membership.values(&crate::eval::table::EMPTY).into_iter().map(|x| {
                            let mut e = b.clone();
                            e.insert(*v, x);
                            e
                        })),
                    }
                }
                Literal::Cond(e) => {
                    if condition(self.env, rule, e, &|w| b.get(&w).copied(), Reading::Certain, &mut errors) {
                        out.push(b.clone());
                    }
                }
                Literal::Neg(atom) => {
                    let possible = self.tuples.matching(atom.rel, &instantiate(atom, b), Reading::Possible);
                    if possible.iter().all(|row| !unifies(b, atom, row, rule)) {
                        out.push(b.clone());
                    }
                }
            }
        }
        out
    }

    /// `b` extended by every row of the atom's relation that matches it.
    fn extend(&self, b: &Binding, atom: &Atom) -> Vec<Binding> {
        let mut out = Vec::new();
        'rows: for row in self.matching(atom.rel, &instantiate(atom, b)).iter() {
            let mut e = b.clone();
            for (term, value) in atom.args.iter().zip(row) {
                match term {
                    Term::Const(c) if c != value => continue 'rows,
                    Term::Var(v) => match e.get(v) {
                        Some(x) if x != value => continue 'rows,
                        Some(_) => {}
                        None => {
                            e.insert(*v, *value);
                        }
                    },
                    Term::Const(_) => {}
                    Term::Now | Term::Ctx(_) => continue 'rows,
                }
            }
            out.push(e);
            if out.len() >= MAX_BINDINGS {
                break;
            }
        }
        out
    }
}

/// Unifies a rule head with a (possibly partial) target; `None` when they clash.
pub fn unify_head(head: &Atom, target: &[Option<Value>]) -> Option<Binding> {
    let mut b = Binding::new();
    for (term, want) in head.args.iter().zip(target) {
        let Some(want) = want else { continue };
        match term {
            Term::Const(c) if c != want => return None,
            Term::Var(v) => match b.get(v) {
                Some(x) if x != want => return None,
                Some(_) => {}
                None => {
                    b.insert(*v, *want);
                }
            },
            _ => {}
        }
    }
    Some(b)
}

/// A body atom instantiated under a binding: known values, `None` for unbound.
pub fn instantiate(atom: &Atom, b: &Binding) -> Vec<Option<Value>> {
    atom.args
        .iter()
        .map(|t| match t {
            Term::Const(c) => Some(*c),
            Term::Var(v) => b.get(v).copied(),
            Term::Now | Term::Ctx(_) => None,
        })
        .collect()
}

/// Whether a row matches a negated atom under `b` (`_` matches anything).
fn unifies(b: &Binding, atom: &Atom, row: &[Value], rule: &Rule) -> bool {
    let mut local = b.clone();
    atom.args.iter().zip(row).all(|(term, value)| match term {
        Term::Const(c) => c == value,
        Term::Var(v) if rule.var_names.get(v.0 as usize).is_some_and(|n| n == "_") => true,
        Term::Var(v) => match local.get(v) {
            Some(x) => x == value,
            None => {
                local.insert(*v, *value);
                true
            }
        },
        Term::Now | Term::Ctx(_) => false,
    })
}

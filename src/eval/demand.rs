//! The demand (magic-set) transformation: a query with constants evaluates
//! only what it needs.
//!
//! For a query `allowed(alice, write, page:7)` the rules of `allowed` are
//! rewritten for the binding pattern `bbb` ("all three bound"): each adorned
//! rule starts from a *magic* relation holding the demanded values, and each
//! body atom of a derived relation is replaced by its adorned version, whose
//! magic relation is fed by the values known at that point (left to right,
//! most-bound atom first). Negated atoms are adorned the same way, fed by the
//! rule's positive atoms. So a deny rule with free variables, a global
//! assignment or a superuser never ranges over the whole active domain: only
//! over the demanded constants.
//!
//! Evaluated from the seed fact `magic(query constants)`, the adorned query
//! relation holds exactly the query's answers (property-tested against the
//! full evaluation). The transformed program is re-stratified; if that fails
//! (negation through the new dependencies), [`transform`] returns `None` and
//! the caller evaluates everything.

use crate::analyze::{Checked, expr_vars, strata};
use crate::lower::ir::{Atom, Literal, Program, RelId, Relation, RelationKind, Rule, Term, Value, VarId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A demand-transformed program for one relation and binding pattern.
#[derive(Clone, Debug)]
pub struct Demand {
    /// The rules and strata (facts, symbols and tests stay in the base program).
    pub checked: Checked,
    /// The adorned relation holding the answers.
    pub answers: RelId,
    /// The magic relation to seed with the query's bound values.
    pub seed: RelId,
    /// Every adorned relation of the program (see [`Demand::covers`]).
    pub adorned: Vec<Adorned>,
    /// The derived relations whose original rules the program evaluates in
    /// full (queried with nothing bound, or read by such a relation).
    pub complete: BTreeSet<RelId>,
}

/// An adorned relation: for each tuple of `magic` (values at the `bound`
/// positions), `adorned` holds every tuple of `rel` with those values.
#[derive(Clone, Debug)]
pub struct Adorned {
    /// The original relation.
    pub rel: RelId,
    /// Its bound positions.
    pub bound: Vec<usize>,
    /// The relation holding the demanded tuples.
    pub adorned: RelId,
    /// The relation holding the demanded values.
    pub magic: RelId,
}

/// Which tuples an evaluated model holds in full: what its demand
/// transformation computed, or the relations of the strata it evaluated.
#[derive(Clone, Debug)]
pub enum Coverage {
    /// A demand-transformed program's model.
    Demand(std::sync::Arc<Demand>),
    /// A model of the original program's relations (only these are complete).
    Relations(BTreeSet<RelId>),
}

impl Coverage {
    /// Where `model` holds every tuple of `rel` matching `pattern`: the
    /// relation to read them from (see [`Demand::covers`]).
    pub fn covers(&self, model: &super::Model, rel: RelId, pattern: &[Option<Value>]) -> Option<RelId> {
        match self {
            Coverage::Demand(demand) => demand.covers(model, rel, pattern),
            Coverage::Relations(complete) => complete.contains(&rel).then_some(rel),
        }
    }
}

impl Demand {
    /// Where an evaluated `model` of this program holds every tuple of `rel`
    /// that matches `pattern` (`None`: any value): the original relation if
    /// it was evaluated in full, else an adorned relation whose bound
    /// positions the pattern binds and whose demand includes the pattern's
    /// values there. `None` when the model does not tell.
    ///
    /// This is the magic-set invariant: an adorned relation holds exactly
    /// the tuples of its relation whose bound values were demanded. A
    /// demand is read as possible, as the evaluation reads it.
    pub fn covers(&self, model: &super::Model, rel: RelId, pattern: &[Option<Value>]) -> Option<RelId> {
        if self.complete.contains(&rel) {
            return Some(rel);
        }
        self.adorned.iter().filter(|a| a.rel == rel).find_map(|a| {
            let key: Option<Vec<Value>> = a.bound.iter().map(|p| pattern.get(*p).copied().flatten()).collect();
            let demanded = model.rows(a.magic, super::Reading::Possible);
            key.filter(|key| demanded.binary_search(key).is_ok()).map(|_| a.adorned)
        })
    }
}

/// Adornment: `true` for a bound position.
type Pattern = Vec<bool>;

struct Transformer<'a> {
    base: &'a Program,
    relations: Vec<Relation>,
    rules: Vec<Rule>,
    adorned: BTreeMap<(RelId, Pattern), (RelId, RelId)>,
    queue: VecDeque<(RelId, Pattern)>,
    /// Relations evaluated in full (queried with nothing bound).
    full: BTreeSet<RelId>,
}

/// Transforms `checked` for queries on `rel` with the positions in `bound`
/// bound. `None` when nothing is bound, the relation has no rules, or the
/// result cannot be stratified.
pub fn transform(checked: &Checked, rel: RelId, bound: &[bool]) -> Option<Demand> {
    let program = &checked.program;
    let has_rules = |r: RelId| program.rules.iter().any(|rule| rule.head.rel == r);
    if !bound.iter().any(|b| *b) || !has_rules(rel) {
        return None;
    }
    let mut t = Transformer {
        base: program,
        relations: program.relations.clone(),
        rules: Vec::new(),
        adorned: BTreeMap::new(),
        queue: VecDeque::new(),
        full: BTreeSet::new(),
    };
    let (answers, seed) = t.adorn(rel, bound.to_vec());
    while let Some((r, pattern)) = t.queue.pop_front() {
        t.rewrite(r, &pattern);
    }
    let complete = t.include_full();
    let mut out = Program {
        relations: t.relations,
        rules: t.rules,
        fns: program.fns.clone(),
        externs: program.externs.clone(),
        ..Program::default()
    };
    out.origins = program.origins.clone();
    let edges = strata::edges(&out);
    let components = strata::components(out.relations.len(), &edges);
    let mut component_of = vec![usize::MAX; out.relations.len()];
    for (i, c) in components.iter().enumerate() {
        for r in c {
            if let Some(slot) = component_of.get_mut(r.0 as usize) {
                *slot = i;
            }
        }
    }
    if edges.iter().any(|e| e.negative && component_of.get(e.head.0 as usize) == component_of.get(e.body.0 as usize)) {
        return None;
    }
    let strata = strata::strata(&out, &components, &edges);
    let positions = |pattern: &Pattern| pattern.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i).collect();
    let adorned = t
        .adorned
        .iter()
        .map(|((rel, pattern), (adorned, magic))| Adorned {
            rel: *rel,
            bound: positions(pattern),
            adorned: *adorned,
            magic: *magic,
        })
        .collect();
    Some(Demand { checked: Checked { program: out, strata }, answers, seed, adorned, complete })
}

impl Transformer<'_> {
    fn has_rules(&self, r: RelId) -> bool {
        self.base.rules.iter().any(|rule| rule.head.rel == r)
    }

    /// The adorned and magic relations of `(r, pattern)`, queued for rewriting when new.
    fn adorn(&mut self, r: RelId, pattern: Pattern) -> (RelId, RelId) {
        if let Some(ids) = self.adorned.get(&(r, pattern.clone())) {
            return *ids;
        }
        let base = self.base.relation(r).cloned();
        let name = base.as_ref().map_or("?".to_string(), |b| b.name.clone());
        let arity = pattern.len();
        let letters: String = pattern.iter().map(|b| if *b { 'b' } else { 'f' }).collect();
        let bound = pattern.iter().filter(|b| **b).count();
        let adorned = self.push(format!("{name}@{letters}"), arity, RelationKind::Internal);
        let magic = self.push(format!("magic@{name}@{letters}"), bound, RelationKind::Magic);
        self.adorned.insert((r, pattern.clone()), (adorned, magic));
        self.queue.push_back((r, pattern));
        (adorned, magic)
    }

    fn push(&mut self, name: String, arity: usize, kind: RelationKind) -> RelId {
        self.relations.push(Relation {
            name,
            arity,
            kind,
            domain_columns: 0,
            first_use: None,
            columns: None,
            declared: false,
        });
        RelId(self.relations.len() as u32 - 1)
    }

    /// An atom of a derived relation, seen with `bound` variables known: the
    /// adorned atom to use instead, and the magic atom to feed (if any).
    fn demand_atom(&mut self, atom: &Atom, bound: &BTreeSet<VarId>) -> (Atom, Option<Atom>) {
        if !self.has_rules(atom.rel) {
            return (atom.clone(), None);
        }
        let pattern: Pattern = atom.args.iter().map(|t| !matches!(t, Term::Var(v) if !bound.contains(v))).collect();
        if !pattern.iter().any(|b| *b) {
            self.full.insert(atom.rel);
            return (atom.clone(), None);
        }
        let (adorned, magic) = self.adorn(atom.rel, pattern.clone());
        let magic_args = atom.args.iter().zip(&pattern).filter(|(_, b)| **b).map(|(t, _)| t.clone()).collect();
        (Atom { rel: adorned, args: atom.args.clone() }, Some(Atom { rel: magic, args: magic_args }))
    }

    /// Rewrites every rule of `r` for `pattern`.
    fn rewrite(&mut self, r: RelId, pattern: &Pattern) {
        let Some((adorned, magic)) = self.adorned.get(&(r, pattern.clone())).copied() else { return };
        let rules: Vec<Rule> = self.base.rules.iter().filter(|rule| rule.head.rel == r).cloned().collect();
        // The relation's base facts (program, data, a test's local facts) pass through:
        // r@pattern(X1..Xn) :- magic(bound Xi), r(X1..Xn).
        if let Some(template) = rules.first() {
            let args: Vec<Term> = (0..pattern.len()).map(|i| Term::Var(VarId(i as u32))).collect();
            let magic_args = args.iter().zip(pattern).filter(|(_, b)| **b).map(|(t, _)| t.clone()).collect();
            let body = vec![
                Literal::Pos(Atom { rel: magic, args: magic_args }),
                Literal::Pos(Atom { rel: r, args: args.clone() }),
            ];
            self.rules.push(Rule {
                head: Atom { rel: adorned, args },
                body,
                var_names: (0..pattern.len()).map(|i| format!("X{i}")).collect(),
                ..template.clone()
            });
        }
        for rule in rules {
            let magic_head: Vec<Term> =
                rule.head.args.iter().zip(pattern).filter(|(_, b)| **b).map(|(t, _)| t.clone()).collect();
            let mut bound: BTreeSet<VarId> = vars(&magic_head).collect();
            let mut body = vec![Literal::Pos(Atom { rel: magic, args: magic_head })];
            // Positive atoms, most-bound first (sideways information passing).
            let mut pending: Vec<usize> =
                (0..rule.body.len()).filter(|i| matches!(rule.body.get(*i), Some(Literal::Pos(_)))).collect();
            while !pending.is_empty() {
                let score = |i: &usize| match rule.body.get(*i) {
                    Some(Literal::Pos(a)) => {
                        a.args.iter().filter(|t| !matches!(t, Term::Var(v) if !bound.contains(v))).count()
                    }
                    _ => 0,
                };
                let Some((k, _)) = pending.iter().enumerate().max_by_key(|(k, i)| (score(i), usize::MAX - k)) else {
                    break;
                };
                let i = pending.remove(k);
                let Some(Literal::Pos(atom)) = rule.body.get(i) else { continue };
                let (replacement, feed) = self.demand_atom(atom, &bound);
                if let Some(feed) = feed {
                    self.magic_rule(feed, &body, &rule);
                }
                bound.extend(vars(&atom.args));
                body.push(Literal::Pos(replacement));
            }
            // Everything else in its original order; negated atoms are demanded too.
            for literal in &rule.body {
                let new = match literal {
                    Literal::Pos(_) => continue,
                    Literal::Neg(atom) => {
                        let named: BTreeSet<VarId> = bound.iter().copied().collect();
                        let (replacement, feed) = self.demand_atom(atom, &named);
                        if let Some(feed) = feed {
                            let positives: Vec<Literal> =
                                body.iter().filter(|l| matches!(l, Literal::Pos(_))).cloned().collect();
                            // Bindings of the feed's variables may also come from generators.
                            let mut context = positives;
                            context.extend(
                                rule.body
                                    .iter()
                                    .filter(|l| matches!(l, Literal::Member(..) | Literal::Domain(_)))
                                    .cloned(),
                            );
                            self.magic_rule(feed, &context, &rule);
                        }
                        Literal::Neg(replacement)
                    }
                    other => other.clone(),
                };
                body.push(new);
            }
            let head = Atom { rel: adorned, args: rule.head.args.clone() };
            self.rules.push(Rule { head, body, ..rule.clone() });
        }
    }

    /// `magic(args) :- context` — a demand for an atom from the literals before it.
    fn magic_rule(&mut self, feed: Atom, context: &[Literal], rule: &Rule) {
        let mut body: Vec<Literal> = context.to_vec();
        // A head variable must be bound by the context; a generator binds it otherwise.
        let bound: BTreeSet<VarId> = body
            .iter()
            .flat_map(|l| match l {
                Literal::Pos(a) => vars(&a.args).collect::<Vec<_>>(),
                Literal::Member(v, _) | Literal::Domain(v) => vec![*v],
                _ => Vec::new(),
            })
            .collect();
        for v in vars(&feed.args) {
            if !bound.contains(&v) {
                body.push(Literal::Domain(v));
            }
        }
        // Member generators whose items need unbound variables cannot run: drop them
        // (the magic relation may over-approximate, never under-approximate).
        body.retain(|l| match l {
            Literal::Member(_, items) => {
                let mut needs = BTreeSet::new();
                items.iter().for_each(|e| expr_vars(e, &mut needs));
                needs.is_subset(&bound)
            }
            _ => true,
        });
        self.rules.push(Rule { head: feed, body, ..rule.clone() });
    }

    /// Adds the original rules of every relation evaluated in full, and of
    /// everything those depend on; returns those relations.
    fn include_full(&mut self) -> BTreeSet<RelId> {
        let mut todo: Vec<RelId> = self.full.iter().copied().collect();
        let mut done = BTreeSet::new();
        while let Some(r) = todo.pop() {
            if !done.insert(r) {
                continue;
            }
            for rule in self.base.rules.iter().filter(|rule| rule.head.rel == r) {
                for literal in &rule.body {
                    if let Literal::Pos(a) | Literal::Neg(a) = literal {
                        todo.push(a.rel);
                    }
                }
                self.rules.push(rule.clone());
            }
        }
        done
    }
}

fn vars(args: &[Term]) -> impl Iterator<Item = VarId> + '_ {
    args.iter().filter_map(Term::as_var)
}

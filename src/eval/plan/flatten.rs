//! Flattening the dynamic rules before they are compiled: fewer, longer
//! rules over static relations, so a check takes fewer steps.
//!
//! 1. **Unfolding.** A positive atom of a dynamic relation that is not
//!    recursive and has no facts of its own is replaced by the bodies of
//!    its rules (one copy of the calling rule per called rule, variables
//!    renamed apart, heads unified). `has_perm :- has_role(U, R, O), ...`
//!    becomes one rule per `has_role` rule, and `assigned` inside those
//!    becomes `$assign` with its expiry conditions: a check runs one flat
//!    join instead of calling goal after goal.
//! 2. **Views.** When a variable of a flattened rule occurs in exactly two
//!    static atoms and nowhere else, the two atoms are joined once, in the
//!    snapshot, into a *view* without that variable: `role_implies(H, R),
//!    $role_perm(R, P, T)` becomes `view(H, P, T)`, one probe per role held
//!    instead of one per implied role. A view larger than its inputs allow
//!    ([`MAX_VIEW_GROWTH`]) is not built.
//!
//! Both are plain relational identities (a join of rules is the union of
//! their bodies; `π(A ⋈ B)` over a variable used nowhere else), so the
//! flattened program has the same `allowed`; the property tests check it.
//! Each body literal keeps the rule it came from ([`FlatRule::sources`]), so
//! a condition error is reported at, and counted by, its own rule.

use super::snapshot::{Columns, Snapshot};
use crate::analyze::Checked;
use crate::eval::Rows;
use crate::lower::builtins;
use crate::lower::ir::{Atom, BinOp, Expr, Literal, RelId, Rule, RuleId, Term, VarId};
use rustc_hash::{FxHashMap, FxHashSet};

mod views;
pub use views::JoinIndex;
pub(super) use views::join;

/// The most variables a flattened rule may have (the plan's register file).
const MAX_VARS: usize = super::MAX_VARS;
/// The most rules one rule may unfold into.
const MAX_VARIANTS: usize = 32;
/// A view may hold at most this many times the tuples of its larger input (plus 1,000).
pub const MAX_VIEW_GROWTH: usize = 4;

/// A rule of a dynamic relation after flattening.
#[derive(Clone, Debug)]
pub struct FlatRule {
    /// The rule: its head, and its body over static relations, views and
    /// the dynamic atoms that could not be unfolded.
    pub rule: Rule,
    /// Per body literal, the program rule it comes from.
    pub sources: Vec<RuleId>,
    /// The program rule this one flattens.
    pub top: RuleId,
}

/// The flattened rules of every dynamic relation, and the views they read
/// (appended to the snapshot's relations).
#[derive(Debug, Default)]
pub struct Flat {
    /// Flattened rules, in program order of their top rules.
    pub rules: Vec<FlatRule>,
    /// Names of the views, in relation-id order after the program's relations.
    pub view_names: Vec<String>,
    /// How each view was built.
    pub views: Vec<ViewRecord>,
    /// The indexes the views were joined with.
    pub join_indexes: Vec<JoinIndex>,
}

/// A view's definition, the tuples it was joined from, and its tuples: after
/// a live update, a view over the very same inputs is not joined again.
#[derive(Clone, Debug)]
pub struct ViewRecord {
    pub(super) key: (Atom, Atom, Vec<VarId>),
    pub(super) inputs: (Rows, Rows),
    /// `None`: refused, too large.
    pub(super) rows: Option<Rows>,
    /// The joined pairs before projection (what the limit bounds).
    pub(super) pairs: usize,
    pub(super) columns: Columns,
}

/// Flattens the rules of the dynamic relations; builds the views into
/// `snapshot` (reusing `previous` views over the very same inputs).
pub fn flatten(
    checked: &Checked,
    snapshot: &mut Snapshot,
    dynamic: &mut Vec<bool>,
    previous: (&[ViewRecord], &[JoinIndex]),
) -> Flat {
    let program = &checked.program;
    let recursive: FxHashSet<RelId> =
        checked.strata.iter().filter(|s| s.recursive).flat_map(|s| s.relations.iter().copied()).collect();
    let mut flattener = Flattener {
        checked,
        snapshot,
        dynamic,
        recursive,
        expanded: FxHashMap::default(),
        views: FxHashMap::default(),
        view_names: Vec::new(),
        records: Vec::new(),
        previous: previous.0,
        join_indexes: Vec::new(),
        previous_join_indexes: previous.1,
    };
    let mut rules = Vec::new();
    for (i, rule) in program.rules.iter().enumerate() {
        if !flattener.is_dynamic(rule.head.rel) {
            continue;
        }
        let start =
            FlatRule { rule: rule.clone(), sources: vec![RuleId(i as u32); rule.body.len()], top: RuleId(i as u32) };
        for mut flat in flattener.unfold(start, 0) {
            flattener.fold_views(&mut flat);
            rules.push(flat);
        }
    }
    Flat { rules, view_names: flattener.view_names, views: flattener.records, join_indexes: flattener.join_indexes }
}

struct Flattener<'a> {
    checked: &'a Checked,
    snapshot: &'a mut Snapshot,
    dynamic: &'a mut Vec<bool>,
    recursive: FxHashSet<RelId>,
    /// Unfolded rules of each relation unfolded into others.
    expanded: FxHashMap<RelId, Vec<FlatRule>>,
    /// Views by definition.
    views: FxHashMap<(Atom, Atom, Vec<VarId>), RelId>,
    view_names: Vec<String>,
    records: Vec<ViewRecord>,
    /// The views of the plan before a live update.
    previous: &'a [ViewRecord],
    join_indexes: Vec<JoinIndex>,
    previous_join_indexes: &'a [JoinIndex],
}

/// What unfolding one atom with one rule gives.
enum Inlined {
    /// The rule's head cannot match the atom (different constants).
    Never,
    /// The combined rule.
    Rule(FlatRule),
    /// Beyond the limits: keep the call.
    Unsupported,
}

impl Flattener<'_> {
    fn is_dynamic(&self, rel: RelId) -> bool {
        self.dynamic.get(rel.0 as usize).copied().unwrap_or(true)
    }

    /// Whether an atom of `rel` may be replaced by its rules' bodies.
    fn unfoldable(&self, rel: RelId) -> bool {
        self.is_dynamic(rel) && !self.recursive.contains(&rel) && self.snapshot.rows(rel).is_empty()
    }

    /// The unfolded rules of `rel` (memoized).
    fn rules_of(&mut self, rel: RelId, depth: usize) -> Vec<FlatRule> {
        if let Some(rules) = self.expanded.get(&rel) {
            return rules.clone();
        }
        let program = &self.checked.program;
        let starts: Vec<FlatRule> = program
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.head.rel == rel)
            .map(|(i, r)| FlatRule {
                rule: r.clone(),
                sources: vec![RuleId(i as u32); r.body.len()],
                top: RuleId(i as u32),
            })
            .collect();
        let rules: Vec<FlatRule> = starts.into_iter().flat_map(|start| self.unfold(start, depth + 1)).collect();
        self.expanded.insert(rel, rules.clone());
        rules
    }

    /// Unfolds every unfoldable positive atom of `flat`, left to right.
    fn unfold(&mut self, flat: FlatRule, depth: usize) -> Vec<FlatRule> {
        let mut done = Vec::new();
        let mut pending = vec![(flat, 0usize)];
        while let Some((flat, from)) = pending.pop() {
            let next = flat.rule.body.iter().enumerate().skip(from).find_map(|(i, l)| match l {
                Literal::Pos(atom) if depth < 8 && self.unfoldable(atom.rel) => Some((i, atom.clone())),
                _ => None,
            });
            let Some((i, atom)) = next else {
                done.push(flat);
                continue;
            };
            let callees = self.rules_of(atom.rel, depth);
            let mut variants = Vec::new();
            let mut unsupported = false;
            for callee in &callees {
                match inline(&flat, i, &atom, callee) {
                    Inlined::Never => {}
                    Inlined::Rule(rule) => variants.push(rule),
                    Inlined::Unsupported => unsupported = true,
                }
            }
            if unsupported || done.len() + pending.len() + variants.len() > MAX_VARIANTS {
                // Keep this atom a call; go on after it.
                pending.push((flat, i + 1));
            } else {
                // Each variant's inlined literals are already flat: resume after them.
                pending.extend(variants.into_iter().map(|v| (v, i)));
            }
        }
        done.reverse();
        done
    }
}

/// Replaces the atom at `at` of `host` (an atom of the head's relation of
/// `callee`) with `callee`'s body.
fn inline(host: &FlatRule, at: usize, atom: &Atom, callee: &FlatRule) -> Inlined {
    let offset = host.rule.var_names.len();
    let total = offset + callee.rule.var_names.len();
    if total > MAX_VARS {
        return Inlined::Unsupported;
    }
    let rename = |t: &Term| match t {
        Term::Var(v) => Term::Var(VarId(v.0 + offset as u32)),
        other => other.clone(),
    };
    let mut subst: Vec<Option<Term>> = vec![None; total];
    let mut equalities: Vec<(Term, Term)> = Vec::new();
    for (head_term, arg) in callee.rule.head.args.iter().zip(&atom.args) {
        match (rename(head_term), arg) {
            (Term::Var(x), _) => match subst.get(x.0 as usize).cloned().flatten() {
                None => set(&mut subst, x, arg.clone()),
                Some(previous) => equalities.push((previous, arg.clone())),
            },
            (Term::Const(c), Term::Const(d)) if c != *d => return Inlined::Never,
            (Term::Const(_), Term::Const(_)) => {}
            (Term::Const(c), Term::Var(y)) => match subst.get(y.0 as usize).cloned().flatten() {
                None => set(&mut subst, *y, Term::Const(c)),
                Some(previous) => equalities.push((previous, Term::Const(c))),
            },
            (Term::Const(c), other) => equalities.push((other.clone(), Term::Const(c))),
            (Term::Now | Term::Ctx(_), _) => return Inlined::Unsupported,
        }
    }
    let apply = |t: &Term| resolve(&subst, t);
    let source = host.sources.get(at).copied().unwrap_or(host.top);
    let mut body = Vec::new();
    let mut sources = Vec::new();
    for (i, literal) in host.rule.body.iter().enumerate() {
        if i == at {
            for (literal, from) in callee.rule.body.iter().zip(&callee.sources) {
                body.push(map_literal(literal, &|t| apply(&rename(t))));
                sources.push(*from);
            }
        } else {
            body.push(map_literal(literal, &apply));
            sources.push(host.sources.get(i).copied().unwrap_or(host.top));
        }
    }
    for (a, b) in equalities {
        let equal = Expr::Binary(BinOp::Eq, Box::new(Expr::Term(apply(&a))), Box::new(Expr::Term(apply(&b))));
        body.push(Literal::Cond(equal));
        sources.push(source);
    }
    let mut var_names = host.rule.var_names.clone();
    var_names.extend(callee.rule.var_names.iter().map(|n| format!("{n}'")));
    let head = Atom { rel: host.rule.head.rel, args: host.rule.head.args.iter().map(apply).collect() };
    let rule = Rule { head, body, var_names, origin: host.rule.origin };
    Inlined::Rule(FlatRule { rule, sources, top: host.top })
}

fn set(subst: &mut [Option<Term>], var: VarId, term: Term) {
    if let Some(slot) = subst.get_mut(var.0 as usize) {
        *slot = Some(term);
    }
}

/// A term after substitution (followed through chains of variables).
fn resolve(subst: &[Option<Term>], term: &Term) -> Term {
    let mut current = term.clone();
    for _ in 0..=subst.len() {
        match &current {
            Term::Var(v) => match subst.get(v.0 as usize).cloned().flatten() {
                Some(next) if next != current => current = next,
                _ => return current,
            },
            _ => return current,
        }
    }
    current
}

/// A literal with every variable mapped through `map`.
fn map_literal(literal: &Literal, map: &dyn Fn(&Term) -> Term) -> Literal {
    let atom = |a: &Atom| Atom { rel: a.rel, args: a.args.iter().map(map).collect() };
    match literal {
        Literal::Pos(a) => Literal::Pos(atom(a)),
        Literal::Neg(a) => Literal::Neg(atom(a)),
        Literal::Cond(e) => Literal::Cond(map_expr(e, map)),
        Literal::Member(v, items) => {
            let items: Vec<Expr> = items.iter().map(|e| map_expr(e, map)).collect();
            match map(&Term::Var(*v)) {
                Term::Var(w) => Literal::Member(w, items),
                other => Literal::Cond(Expr::InList(Box::new(Expr::Term(other)), items)),
            }
        }
        Literal::Domain(v) => match map(&Term::Var(*v)) {
            Term::Var(w) => Literal::Domain(w),
            other => Literal::Pos(Atom { rel: builtins::ADOM, args: vec![other] }),
        },
    }
}

fn map_expr(e: &Expr, map: &dyn Fn(&Term) -> Term) -> Expr {
    match e {
        Expr::Term(t) => Expr::Term(map(t)),
        Expr::Param(i) => Expr::Param(*i),
        Expr::Call(callee, args) => Expr::Call(*callee, args.iter().map(|a| map_expr(a, map)).collect()),
        Expr::Not(a) => Expr::Not(Box::new(map_expr(a, map))),
        Expr::Binary(op, a, b) => Expr::Binary(*op, Box::new(map_expr(a, map)), Box::new(map_expr(b, map))),
        Expr::InList(x, items) => {
            Expr::InList(Box::new(map_expr(x, map)), items.iter().map(|i| map_expr(i, map)).collect())
        }
    }
}

fn literal_uses(literal: &Literal, var: VarId) -> bool {
    match literal {
        Literal::Pos(a) | Literal::Neg(a) => a.args.contains(&Term::Var(var)),
        Literal::Cond(e) => {
            let mut found = false;
            crate::analyze::visit_vars(e, &mut |v| found |= v == var);
            found
        }
        Literal::Member(v, items) => {
            let mut found = *v == var;
            for e in items {
                crate::analyze::visit_vars(e, &mut |w| found |= w == var);
            }
            found
        }
        Literal::Domain(v) => *v == var,
    }
}

/// The variables used by the head and by every literal not in `except`.
fn uses(flat: &FlatRule, except: &[usize]) -> FxHashSet<VarId> {
    let rule = &flat.rule;
    let mut used: FxHashSet<VarId> = rule.head.vars().collect();
    let others = rule.body.iter().enumerate().filter(|(i, _)| !except.contains(i)).map(|(_, l)| l);
    for literal in others {
        for var in (0..rule.var_names.len()).map(|v| VarId(v as u32)) {
            if !used.contains(&var) && literal_uses(literal, var) {
                used.insert(var);
            }
        }
    }
    used
}

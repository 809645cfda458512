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

use super::snapshot::{Columns, Key, MAX_KEY, Snapshot, pack};
use crate::analyze::Checked;
use crate::lower::builtins;
use crate::lower::ir::{Atom, BinOp, Expr, Literal, RelId, Rule, RuleId, Term, Value, VarId};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

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

/// The tuples of a relation, shared.
type Rows = Arc<Vec<Vec<Value>>>;

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

    /// Replaces pairs of static atoms joined only by variables used nowhere
    /// else with views.
    fn fold_views(&mut self, flat: &mut FlatRule) {
        let mut refused: FxHashSet<VarId> = FxHashSet::default();
        loop {
            let Some((v, a, b)) = self.foldable(flat, &refused) else { return };
            let (Some(Literal::Pos(left)), Some(Literal::Pos(right))) = (flat.rule.body.get(a), flat.rule.body.get(b))
            else {
                return;
            };
            let (left, right) = (left.clone(), right.clone());
            // Variables of the pair used nowhere else are projected away.
            let elsewhere = uses(flat, &[a, b]);
            let mut out: Vec<VarId> = Vec::new();
            for var in atom_vars(&left).chain(atom_vars(&right)) {
                if elsewhere.contains(&var) && !out.contains(&var) {
                    out.push(var);
                }
            }
            if self.may_project_a_stand_in(&left, &right, &out) {
                refused.insert(v);
                continue;
            }
            let Some(view) = self.view(&left, &right, &out) else {
                refused.insert(v);
                continue;
            };
            let atom = Atom { rel: view, args: out.iter().map(|v| Term::Var(*v)).collect() };
            if let Some(slot) = flat.rule.body.get_mut(a) {
                *slot = Literal::Pos(atom);
            }
            flat.rule.body.remove(b);
            flat.sources.remove(b);
            flat.rule.body_spans = vec![None; flat.rule.body.len()];
        }
    }

    /// Whether the view would project away a variable that can take one of
    /// the snapshot's [`crate::lower::intern::FRESH`] stand-ins: its rows
    /// would then hold for checks that do not use that stand-in.
    fn may_project_a_stand_in(&self, left: &Atom, right: &Atom, out: &[VarId]) -> bool {
        if !self.snapshot.fresh {
            return false;
        }
        let holds_fresh = |atom: &Atom, column: usize| self.snapshot.holds_stand_in(atom.rel, column);
        let projected = atom_vars(left).chain(atom_vars(right)).filter(|v| !out.contains(v));
        projected.into_iter().any(|var| {
            let columns = |atom: &'_ Atom| {
                let positions: Vec<usize> =
                    atom.args.iter().enumerate().filter(|(_, t)| **t == Term::Var(var)).map(|(i, _)| i).collect();
                positions
            };
            let (l, r) = (columns(left), columns(right));
            l.iter().all(|c| holds_fresh(left, *c)) && r.iter().all(|c| holds_fresh(right, *c))
        })
    }

    /// A variable in exactly two static atoms (positions `a < b`) and nowhere else.
    fn foldable(&self, flat: &FlatRule, refused: &FxHashSet<VarId>) -> Option<(VarId, usize, usize)> {
        let rule = &flat.rule;
        for var in (0..rule.var_names.len()).map(|v| VarId(v as u32)) {
            if refused.contains(&var) || rule.head.args.contains(&Term::Var(var)) {
                continue;
            }
            let holders: Vec<usize> =
                rule.body.iter().enumerate().filter(|(_, l)| literal_uses(l, var)).map(|(i, _)| i).collect();
            let [a, b] = holders[..] else { continue };
            let static_atom = |i: usize| match rule.body.get(i) {
                Some(Literal::Pos(atom)) => {
                    !self.is_dynamic(atom.rel) && atom.args.iter().all(|t| matches!(t, Term::Var(_) | Term::Const(_)))
                }
                _ => false,
            };
            if static_atom(a) && static_atom(b) {
                return Some((var, a, b));
            }
        }
        None
    }

    /// The view `π_out(left ⋈ right)`, built once per definition; `None`
    /// when it would be too large.
    fn view(&mut self, left: &Atom, right: &Atom, out: &[VarId]) -> Option<RelId> {
        let key = normalize(left, right, out);
        if let Some(rel) = self.views.get(&key) {
            return Some(*rel);
        }
        let input = |rel: RelId| self.snapshot.relations.get(rel.0 as usize).cloned().unwrap_or_default();
        let inputs = (input(left.rel), input(right.rel));
        let same = |r: &&ViewRecord| {
            r.key == key && Arc::ptr_eq(&r.inputs.0, &inputs.0) && Arc::ptr_eq(&r.inputs.1, &inputs.1)
        };
        // Built (or refused) before, in this plan or the previous one, over the same tuples?
        let known = self.records.iter().find(same).or_else(|| self.previous.iter().find(same)).cloned();
        let record = match known {
            Some(record) => record,
            None => {
                let limit = MAX_VIEW_GROWTH * inputs.0.len().max(inputs.1.len()) + 1_000;
                let (cache, previous) = (&mut self.join_indexes, self.previous_join_indexes);
                // The previous plan's view, when one input only gained tuples: extended.
                let grown = self.previous.iter().filter(|r| r.key == key).find_map(|old| {
                    super::view_delta::extended(old, left, right, &inputs, out, limit, cache, previous)
                });
                grown.unwrap_or_else(|| {
                    let joined = join(left, &inputs.0, right, &inputs.1, out, limit, cache, previous);
                    let (rows, pairs) = joined.map_or((None, 0), |(rows, pairs)| (Some(Arc::new(rows)), pairs));
                    let columns = rows.as_deref().map(|rows| Columns::of(rows)).unwrap_or_default();
                    ViewRecord { key: key.clone(), inputs: inputs.clone(), rows, pairs, columns }
                })
            }
        };
        if !self.records.iter().any(|r| same(&r)) {
            self.records.push(record.clone());
        }
        let (rows, columns) = (record.rows?, record.columns);
        let rel = RelId((self.snapshot.relations.len()) as u32);
        let program = &self.checked.program;
        let name_of = |rel| super::relation_name(program, &self.view_names, rel);
        let name = format!("view{}[{} ⋈ {}]", self.view_names.len(), name_of(left.rel), name_of(right.rel));
        self.snapshot.push(rows, columns);
        if self.dynamic.len() < self.snapshot.relations.len() {
            self.dynamic.resize(self.snapshot.relations.len(), false);
        }
        self.view_names.push(name);
        self.views.insert(key, rel);
        Some(rel)
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
    let rule = Rule {
        head,
        body_spans: vec![None; body.len()],
        body,
        var_names,
        var_spans: Vec::new(),
        origin: host.rule.origin,
    };
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

fn atom_vars(atom: &Atom) -> impl Iterator<Item = VarId> + '_ {
    atom.args.iter().filter_map(|t| if let Term::Var(v) = t { Some(*v) } else { None })
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
    let mut used: FxHashSet<VarId> = atom_vars(&rule.head).collect();
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

/// A view's definition with variables numbered by first appearance, so the
/// same join in two rules is one view.
fn normalize(left: &Atom, right: &Atom, out: &[VarId]) -> (Atom, Atom, Vec<VarId>) {
    let mut order: Vec<VarId> = Vec::new();
    let mut number = |v: VarId| {
        let i = order.iter().position(|w| *w == v).unwrap_or_else(|| {
            order.push(v);
            order.len() - 1
        });
        VarId(i as u32)
    };
    let mut renumber = |a: &Atom| Atom {
        rel: a.rel,
        args: a
            .args
            .iter()
            .map(|t| match t {
                Term::Var(v) => Term::Var(number(*v)),
                other => other.clone(),
            })
            .collect(),
    };
    let (l, r) = (renumber(left), renumber(right));
    let out = out.iter().map(|v| number(*v)).collect();
    (l, r, out)
}

/// An index of a relation's tuples (those matching an atom's constants and
/// repeated variables) by some columns, for joining views; kept across live
/// updates while the tuples are the very same.
#[derive(Clone, Debug)]
pub struct JoinIndex {
    rows: Rows,
    filter: Vec<Term>,
    key: Vec<usize>,
    groups: Arc<FxHashMap<Key, Vec<u32>>>,
}

/// `π_out(left ⋈ right)` over the snapshot rows, probing an index of the
/// larger side (from `cache` or `previous` when one fits), with the number
/// of joined pairs it was projected from; `None` past `limit` pairs or past
/// [`MAX_KEY`] shared variables.
#[expect(clippy::too_many_arguments, reason = "two atoms with their tuples, the output, and the index caches")]
pub(super) fn join(
    left: &Atom,
    lrows: &Rows,
    right: &Atom,
    rrows: &Rows,
    out: &[VarId],
    limit: usize,
    cache: &mut Vec<JoinIndex>,
    previous: &[JoinIndex],
) -> Option<(Vec<Vec<Value>>, usize)> {
    let first = |atom: &Atom, v: VarId| atom.args.iter().position(|t| *t == Term::Var(v));
    let mut shared: Vec<VarId> = atom_vars(left).filter(|v| first(right, *v).is_some()).collect();
    shared.sort();
    shared.dedup();
    if shared.len() > MAX_KEY {
        return None;
    }
    // Iterate the smaller side, probe the larger.
    let ((small, srows), (big, brows)) =
        if lrows.len() <= rrows.len() { ((left, lrows), (right, rrows)) } else { ((right, rrows), (left, lrows)) };
    let key_columns: Vec<usize> = shared.iter().filter_map(|v| first(big, *v)).collect();
    let filter = normalize_args(big);
    let fits = |i: &&JoinIndex| Arc::ptr_eq(&i.rows, brows) && i.filter == filter && i.key == key_columns;
    let cached = cache.iter().find(fits).map(|i| i.groups.clone());
    let groups = match cached.or_else(|| previous.iter().find(fits).map(|i| i.groups.clone())) {
        Some(groups) => groups,
        None => {
            let mut groups: FxHashMap<Key, Vec<u32>> = FxHashMap::default();
            for (i, row) in brows.iter().enumerate() {
                if crate::eval::base::consistent(&big.args, row) {
                    groups.entry(key_of(row, &key_columns)).or_default().push(i as u32);
                }
            }
            Arc::new(groups)
        }
    };
    if !cache.iter().any(|i| fits(&i)) {
        cache.push(JoinIndex { rows: brows.clone(), filter, key: key_columns, groups: groups.clone() });
    }
    let small_columns: Vec<usize> = shared.iter().filter_map(|v| first(small, *v)).collect();
    // Counted first: a view over the limit is refused without being built,
    // and one within it is built in a buffer of its size (grown by doubling,
    // a view of millions of tuples would be copied again and again).
    let matching = |row: &&Vec<Value>| crate::eval::base::consistent(&small.args, row);
    let total: usize =
        srows.iter().filter(matching).filter_map(|row| groups.get(&key_of(row, &small_columns))).map(Vec::len).sum();
    if total > limit {
        return None;
    }
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(total);
    for srow in srows.iter().filter(matching) {
        let Some(matches) = groups.get(&key_of(srow, &small_columns)) else { continue };
        for brow in matches.iter().filter_map(|i| brows.get(*i as usize)) {
            let value = |v: &VarId| {
                first(small, *v).and_then(|i| srow.get(i)).or_else(|| first(big, *v).and_then(|i| brow.get(i))).copied()
            };
            rows.push(out.iter().filter_map(value).collect());
        }
    }
    rows.sort_unstable();
    rows.dedup();
    Some((rows, total))
}

/// The packed values at `columns`.
fn key_of(row: &[Value], columns: &[usize]) -> Key {
    let mut key = [0; MAX_KEY];
    for (slot, column) in key.iter_mut().zip(columns) {
        *slot = pack(row.get(*column).copied().unwrap_or(super::snapshot::PAD));
    }
    key
}

/// An atom's arguments with variables numbered by first appearance.
fn normalize_args(atom: &Atom) -> Vec<Term> {
    let mut order: Vec<VarId> = Vec::new();
    atom.args
        .iter()
        .map(|t| match t {
            Term::Var(v) => {
                let i = order.iter().position(|w| w == v).unwrap_or_else(|| {
                    order.push(*v);
                    order.len() - 1
                });
                Term::Var(VarId(i as u32))
            }
            other => other.clone(),
        })
        .collect()
}

impl Snapshot {
    /// Appends a relation (a view) with its column statistics.
    pub fn push(&mut self, rows: Rows, columns: Columns) {
        self.columns.push(columns);
        self.relations.push(rows);
    }
}

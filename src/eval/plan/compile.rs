//! Compiling the flattened dynamic rules into goals: for each binding
//! pattern a check reaches, each rule's steps in the order the cost model
//! ([`cost`]) picks, with the indexes they probe.

mod cost;

use super::flatten::{self, FlatRule};
use super::linear::Linear;
use super::snapshot::{Index, IndexSpec, MAX_KEY, Snapshot};
use super::{
    CheckPlan, FACTS, Given, Goal, HeadIn, MAX_ARITY, MAX_VARS, Mode, NotCompiled, Out, RulePlan, Slot, Step, fast,
    relation_name,
};
use crate::analyze::{Checked, visit_vars};
use crate::lower::builtins;
use crate::lower::intern::Sym;
use crate::lower::ir::{Atom, Expr, Literal, OriginId, RelId, RuleId, Term, Value};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Flattens the dynamic rules, compiles the goals a check reaches and builds
/// the indexes their steps probe.
pub(super) fn build(
    checked: &Checked,
    mut snapshot: Snapshot,
    mut dynamic: Vec<bool>,
    previous: Option<&CheckPlan>,
    symbols_id: u64,
) -> Result<CheckPlan, NotCompiled> {
    let flat = flatten::flatten(
        checked,
        &mut snapshot,
        &mut dynamic,
        previous.map_or((&[][..], &[][..]), |p| (&p.views[..], &p.join_indexes[..])),
    );
    let mut rules_by_head: FxHashMap<RelId, Vec<RuleId>> = FxHashMap::default();
    for (i, flat) in flat.rules.iter().enumerate() {
        rules_by_head.entry(flat.rule.head.rel).or_default().push(RuleId(i as u32));
    }
    let mut compiler = Compiler {
        checked,
        rules: &flat.rules,
        view_names: &flat.view_names,
        snapshot: &snapshot,
        dynamic: &dynamic,
        rules_by_head,
        specs: Vec::new(),
        spec_ids: FxHashMap::default(),
        goals: Vec::new(),
        goal_ids: FxHashMap::default(),
        failed: FxHashMap::default(),
        matching: FxHashMap::default(),
    };
    let allowed = compiler.goal(builtins::ALLOWED, vec![Given::Bound; 3])?;
    let permitted = compiler.goal(builtins::PERMITTED, vec![Given::Bound; 3])?;
    // Listings leave the object, or the subject, free; a program whose rules
    // cannot enumerate one lists by checking each named value instead.
    let (bound, free) = (Given::Bound, Given::Free);
    let list_objects = compiler.goal(builtins::ALLOWED, vec![bound, bound, free]).ok();
    let list_subjects = compiler.goal(builtins::ALLOWED, vec![free, bound, bound]).ok();
    let (specs, goals) = (compiler.specs, compiler.goals);
    // An index over the very same tuples as one of the previous plan's is that index.
    let reused = |spec: &IndexSpec| {
        let previous = previous?;
        let rows = snapshot.relations.get(spec.rel.0 as usize)?;
        previous.specs.iter().zip(&previous.indexes).find_map(|(old, index)| {
            let same_rows = previous.snapshot.relations.get(old.rel.0 as usize).is_some_and(|r| Arc::ptr_eq(r, rows));
            (same_rows && old.key == spec.key && old.values == spec.values).then(|| index.clone())
        })
    };
    let indexes =
        specs.iter().map(|spec| reused(spec).unwrap_or_else(|| Arc::new(Index::build(&snapshot, spec)))).collect();
    // Symbol tables only grow between live updates: compute the new symbols' types only.
    let symbols = &checked.program.symbols;
    let mut types: Vec<Option<Sym>> = previous.map(|p| p.types.clone()).unwrap_or_default();
    types.truncate(symbols.len());
    let start = types.len() as u32;
    types.extend(
        (start..symbols.len() as u32)
            .map(|i| symbols.resolve(Sym(i)).and_then(|name| symbols.get(crate::eval::functions::type_of(name)))),
    );
    let (view_names, views, join_indexes) = (flat.view_names, flat.views, flat.join_indexes);
    let named_by_rules = named_by_rules(&checked.program);
    Ok(CheckPlan {
        snapshot,
        indexes,
        specs,
        goals,
        allowed,
        permitted,
        list_objects,
        list_subjects,
        types,
        view_names,
        views,
        join_indexes,
        symbols_id,
        named_by_rules,
    })
}

/// The string constants that rules and `fn`s name (in atoms and conditions).
pub(crate) fn named_by_rules(program: &crate::lower::ir::Program) -> rustc_hash::FxHashSet<Sym> {
    fn expr(e: &Expr, out: &mut rustc_hash::FxHashSet<Sym>) {
        crate::analyze::visit_terms(e, &mut |t| {
            if let Term::Const(Value::Sym(s)) = t {
                out.insert(*s);
            }
        });
    }
    let mut out = rustc_hash::FxHashSet::default();
    let atom = |a: &Atom, out: &mut rustc_hash::FxHashSet<Sym>| {
        out.extend(a.args.iter().filter_map(|t| match t {
            Term::Const(Value::Sym(s)) => Some(*s),
            _ => None,
        }))
    };
    for rule in &program.rules {
        atom(&rule.head, &mut out);
        for literal in &rule.body {
            match literal {
                Literal::Pos(a) | Literal::Neg(a) => atom(a, &mut out),
                Literal::Cond(e) => expr(e, &mut out),
                Literal::Member(_, items) => items.iter().for_each(|e| expr(e, &mut out)),
                Literal::Domain(_) => {}
            }
        }
    }
    for f in &program.fns {
        expr(&f.body, &mut out);
    }
    out
}

/// A body literal as the plan sees it (`Domain(X)` is `$adom(X)`).
#[derive(Clone, Debug)]
enum Lit<'r> {
    Pos(Atom),
    Neg(&'r Atom),
    Cond(&'r Expr),
    Member(u8, &'r [Expr]),
}

/// A set of variables (at most [`MAX_VARS`]).
type Vars = u64;

fn bit(v: u8) -> Vars {
    1u64 << v
}

struct Compiler<'a> {
    checked: &'a Checked,
    /// The flattened rules of the dynamic relations.
    rules: &'a [FlatRule],
    view_names: &'a [String],
    snapshot: &'a Snapshot,
    dynamic: &'a [bool],
    rules_by_head: FxHashMap<RelId, Vec<RuleId>>,
    specs: Vec<IndexSpec>,
    spec_ids: FxHashMap<IndexSpec, u32>,
    goals: Vec<Option<Goal>>,
    /// Goals by relation and pattern; `None` while being compiled.
    goal_ids: FxHashMap<(RelId, Vec<Given>), Option<u32>>,
    /// Goals that could not be compiled, and why.
    failed: FxHashMap<(RelId, Vec<Given>), NotCompiled>,
    /// Tuples matching some constants, by relation and (column, value) pairs.
    matching: FxHashMap<(RelId, Vec<(usize, Value)>), usize>,
}

impl Compiler<'_> {
    fn name(&self, rel: RelId) -> String {
        relation_name(&self.checked.program, self.view_names, rel)
    }

    fn is_dynamic(&self, rel: RelId) -> bool {
        self.dynamic.get(rel.0 as usize).copied().unwrap_or(true)
    }

    /// The goal for `rel` with columns given as `bound` says, compiled on first use.
    fn goal(&mut self, rel: RelId, bound: Vec<Given>) -> Result<u32, NotCompiled> {
        let key = (rel, bound.clone());
        match self.goal_ids.get(&key) {
            Some(Some(id)) => return Ok(*id),
            Some(None) => return Err(NotCompiled::Recursive(self.name(rel))),
            None => {}
        }
        if let Some(e) = self.failed.get(&key) {
            return Err(e.clone());
        }
        self.goal_ids.insert(key.clone(), None);
        match self.goal_rules(rel, &bound) {
            Ok((rules, cost, mut card)) => {
                if bound.iter().all(|b| *b != Given::Free) {
                    card = f64::min(card, 1.0);
                }
                let id = self.goals.len() as u32;
                self.goals.push(Some(Goal { rel, bound, rules, cost, card }));
                self.goal_ids.insert(key, Some(id));
                Ok(id)
            }
            Err(e) => {
                self.goal_ids.remove(&key);
                self.failed.insert(key, e.clone());
                Err(e)
            }
        }
    }

    /// A goal's rules (its base facts first, as a rule of their own), their
    /// total cost and answers.
    fn goal_rules(&mut self, rel: RelId, bound: &[Given]) -> Result<(Vec<RulePlan>, f64, f64), NotCompiled> {
        if bound.len() > MAX_ARITY {
            return Err(NotCompiled::Unsupported(self.name(rel), "too many columns"));
        }
        let (mut rules, mut cost, mut card) = (Vec::new(), 0.0, 0.0);
        if !self.snapshot.rows(rel).is_empty() {
            // A dynamic relation's own facts: `rel(X0, .., Xn)` read from the snapshot.
            let args: Vec<Term> = (0..bound.len()).map(|i| Term::Var(crate::lower::ir::VarId(i as u32))).collect();
            let atom = Atom { rel, args };
            let mut known: Vars = 0;
            let mut inputs = Vec::new();
            let mut outputs = Vec::new();
            let mut preset = Vec::new();
            for (i, given) in bound.iter().enumerate() {
                match given {
                    Given::Bound => inputs.push(HeadIn::Bind(i as u8)),
                    Given::Const(c) => preset.push((i as u8, *c)),
                    Given::Free => outputs.push(Slot::Var(i as u8)),
                }
                if *given != Given::Free {
                    known |= bit(i as u8);
                }
            }
            let consts = preset_consts(&preset);
            let fanout = self.static_fanout(rel, &pattern(&atom, known, &consts));
            let step = self.atom_step(&atom, &mut known, &consts, false, true, &|_| false)?;
            let origin = OriginId(u32::MAX);
            let var_names = (0..bound.len()).map(|i| format!("_{i}")).collect();
            let steps = vec![step];
            let linear = Linear::of(&steps);
            rules.push(RulePlan { rule: FACTS, origin, inputs, outputs, preset, steps, linear, var_names });
            cost += 2.0;
            card += fanout;
        }
        for id in self.rules_by_head.get(&rel).cloned().unwrap_or_default() {
            if let Some((plan, rule_cost, rule_card)) = self.rule(id, bound)? {
                rules.push(plan);
                cost += 1.0 + rule_cost;
                card += rule_card;
            }
        }
        Ok((rules, cost, card))
    }

    /// One rule for a head pattern: its plan, estimated cost and answers.
    fn rule(&mut self, id: RuleId, bound: &[Given]) -> Result<Option<(RulePlan, f64, f64)>, NotCompiled> {
        let rules = self.rules;
        let Some(flat) = rules.get(id.0 as usize) else {
            return Err(NotCompiled::Unsupported(String::new(), "missing rule"));
        };
        let rule = &flat.rule;
        let name = self.name(rule.head.rel);
        let unsupported = |what| NotCompiled::Unsupported(name.clone(), what);
        if rule.var_names.len() > MAX_VARS {
            return Err(unsupported("too many variables"));
        }
        // Columns given as constants fix head variables (or rule the rule out).
        let mut consts: Consts = [None; MAX_VARS];
        for (term, given) in rule.head.args.iter().zip(bound) {
            let Given::Const(c) = given else { continue };
            match term {
                Term::Var(v) => match consts.get_mut(v.0 as usize) {
                    Some(slot @ None) => *slot = Some(*c),
                    Some(Some(d)) if d == c => {}
                    _ => return Ok(None),
                },
                Term::Const(d) if d == c => {}
                Term::Const(_) => return Ok(None),
                Term::Now | Term::Ctx(_) => return Err(unsupported("`now` or `ctx` in a head")),
            }
        }
        let preset: Vec<(u8, Value)> = consts.iter().enumerate().filter_map(|(v, c)| c.map(|c| (v as u8, c))).collect();
        let mut known: Vars = preset.iter().fold(0, |acc, (v, _)| acc | bit(*v));
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for (term, given) in rule.head.args.iter().zip(bound) {
            match (term, given) {
                (_, Given::Const(_)) => {}
                (Term::Var(v), Given::Bound) if known & bit(v.0 as u8) != 0 => {
                    inputs.push(HeadIn::Check(v.0 as u8));
                }
                (Term::Var(v), Given::Bound) => {
                    known |= bit(v.0 as u8);
                    inputs.push(HeadIn::Bind(v.0 as u8));
                }
                (Term::Const(c), Given::Bound) => inputs.push(HeadIn::Is(*c)),
                (Term::Var(v), Given::Free) => outputs.push(Slot::Var(v.0 as u8)),
                (Term::Const(c), Given::Free) => outputs.push(Slot::Const(*c)),
                (Term::Now | Term::Ctx(_), _) => return Err(unsupported("`now` or `ctx` in a head")),
            }
        }
        let mut sources: Vec<RuleId> = flat.sources.clone();
        let literals: Vec<Lit> = rule
            .body
            .iter()
            .map(|literal| match literal {
                Literal::Pos(atom) => Lit::Pos(atom.clone()),
                Literal::Neg(atom) => Lit::Neg(atom),
                Literal::Cond(e) => Lit::Cond(e),
                Literal::Member(v, items) => Lit::Member(v.0 as u8, items),
                Literal::Domain(v) => Lit::Pos(Atom { rel: builtins::ADOM, args: vec![Term::Var(*v)] }),
            })
            .collect();
        // Static literals decided by the snapshot alone: an atom no tuple
        // matches kills the rule; `not` of such an atom always holds.
        let mut literals = literals;
        let mut i = 0;
        while let Some(literal) = literals.get(i) {
            let (atom, negated) = match literal {
                Lit::Pos(atom) => (atom, false),
                Lit::Neg(atom) => (*atom, true),
                _ => {
                    i += 1;
                    continue;
                }
            };
            let none_match = !self.is_dynamic(atom.rel) && self.matching(atom.rel, &pattern(atom, 0, &consts)) == 0;
            match (none_match, negated) {
                (true, false) => return Ok(None),
                (true, true) => {
                    literals.remove(i);
                    sources.remove(i);
                }
                (false, _) => i += 1,
            }
        }
        // Variables that occur in one `not` atom and nowhere else are local to it.
        let mut occurrences = [0usize; MAX_VARS];
        let mut count = |v: u8| {
            if let Some(n) = occurrences.get_mut(v as usize) {
                *n += 1;
            }
        };
        rule.head.args.iter().filter_map(var_of).for_each(&mut count);
        for literal in &literals {
            match literal {
                Lit::Pos(atom) => atom.args.iter().filter_map(var_of).for_each(&mut count),
                Lit::Neg(atom) => {
                    let mut seen: Vars = 0;
                    for v in atom.args.iter().filter_map(var_of) {
                        if seen & bit(v) == 0 {
                            count(v);
                        }
                        seen |= bit(v);
                    }
                }
                Lit::Cond(e) => visit_vars(e, &mut |v| count(v.0 as u8)),
                Lit::Member(v, items) => {
                    count(*v);
                    items.iter().for_each(|e| visit_vars(e, &mut |v| count(v.0 as u8)));
                }
            }
        }
        let local = |v: u8| occurrences.get(v as usize).copied().unwrap_or(0) <= 1;
        let (order, cost, card) = self.order(&literals, known, &consts, &local)?;
        let mut steps = Vec::new();
        for i in order {
            let Some(literal) = literals.get(i) else { continue };
            let source = sources.get(i).copied().unwrap_or(flat.top);
            let step = self.step(literal, source, &mut known, &consts, &local)?;
            // A call of a goal without rules: never holds.
            if let Step::Call { goal, mode, .. } = &step
                && self.goals.get(*goal as usize).and_then(Option::as_ref).is_some_and(|g| g.rules.is_empty())
            {
                if *mode == Mode::NotExists {
                    continue;
                }
                return Ok(None);
            }
            steps.push(step);
        }
        for slot in &outputs {
            if let Slot::Var(v) = slot
                && known & bit(*v) == 0
            {
                return Err(unsupported("an unbound head variable"));
            }
        }
        let plan = RulePlan {
            rule: flat.top,
            origin: rule.origin,
            inputs,
            outputs,
            preset,
            linear: Linear::of(&steps),
            steps,
            var_names: rule.var_names.clone(),
        };
        Ok(Some((plan, cost, card)))
    }

    /// The step for `literal`, given the variables bound before it; marks
    /// the ones it binds.
    fn step(
        &mut self,
        literal: &Lit,
        source: RuleId,
        known: &mut Vars,
        consts: &Consts,
        local: &dyn Fn(u8) -> bool,
    ) -> Result<Step, NotCompiled> {
        match literal {
            Lit::Cond(e) => Ok(Step::Cond { expr: (*e).clone(), fast: fast::Cond::compile(e), source }),
            Lit::Member(v, items) => {
                let bound = *known & bit(*v) != 0;
                *known |= bit(*v);
                Ok(Step::Member { var: *v, items: items.to_vec(), bound, source })
            }
            Lit::Pos(atom) => self.atom_step(atom, known, consts, false, false, local),
            Lit::Neg(atom) => self.atom_step(atom, known, consts, true, false, local),
        }
    }

    /// The step reading `atom` (its facts only when `facts`): a probe of a
    /// static relation, or a call of a dynamic relation's goal.
    fn atom_step(
        &mut self,
        atom: &Atom,
        known: &mut Vars,
        consts: &Consts,
        negated: bool,
        facts: bool,
        local: &dyn Fn(u8) -> bool,
    ) -> Result<Step, NotCompiled> {
        if atom.args.len() > MAX_ARITY {
            return Err(NotCompiled::Unsupported(self.name(atom.rel), "too many columns"));
        }
        let pattern = pattern(atom, *known, consts);
        let dynamic = self.is_dynamic(atom.rel) && !facts;
        // Returned columns: bind new variables, check repeated ones.
        let mut out = Vec::new();
        let mut first_column: FxHashMap<u8, u8> = FxHashMap::default();
        let mut binds_any = false;
        let mut key = Vec::new();
        let mut key_columns = Vec::new();
        let mut value_columns = Vec::new();
        // A `ctx` value goes into the key, whose look-up stops the rule when
        // the request lacks it (SPEC section 5: the literal is false, negated
        // or not); compared as a returned column, a missing key would only
        // fail to match, and a `not` would pass.
        let reads_ctx = |(term, given): (&Term, &Given)| *given == Given::Bound && matches!(term, Term::Ctx(_));
        let mut ctx_left = atom.args.iter().zip(&pattern).filter(|pair| reads_ctx(*pair)).count();
        if !dynamic && ctx_left > MAX_KEY {
            return Err(NotCompiled::Unsupported(self.name(atom.rel), "more context values than key columns"));
        }
        for (column, (term, given)) in atom.args.iter().zip(&pattern).enumerate() {
            let slot = match given {
                Given::Const(c) => Slot::Const(*c),
                _ => slot_of(term),
            };
            if dynamic && matches!(given, Given::Const(_)) {
                continue;
            }
            let from_ctx = reads_ctx((term, given));
            ctx_left -= usize::from(from_ctx);
            let given = *given != Given::Free;
            if given && (dynamic || from_ctx || key.len() + ctx_left < MAX_KEY) {
                key.push(slot);
                key_columns.push(column);
                continue;
            }
            value_columns.push(column);
            let position = out.len() as u8;
            out.push(match term {
                Term::Var(v) => {
                    let v = v.0 as u8;
                    if given {
                        Out::Check(v)
                    } else if let Some(first) = first_column.get(&v) {
                        Out::Same(*first)
                    } else {
                        first_column.insert(v, position);
                        if negated && local(v) {
                            Out::Ignore
                        } else {
                            binds_any = true;
                            Out::Bind(v)
                        }
                    }
                }
                _ => Out::Is(slot),
            });
        }
        let mode = if negated {
            Mode::NotExists
        } else if binds_any {
            Mode::Each
        } else {
            Mode::Exists
        };
        if !negated {
            for term in &atom.args {
                if let Some(v) = var_of(term) {
                    *known |= bit(v);
                }
            }
        }
        if dynamic {
            let goal = self.goal(atom.rel, pattern)?;
            return Ok(Step::Call { goal, args: key, out, mode });
        }
        let spec = IndexSpec { rel: atom.rel, key: key_columns, values: value_columns };
        let index = match self.spec_ids.get(&spec) {
            Some(id) => *id,
            None => {
                let id = self.specs.len() as u32;
                self.specs.push(spec.clone());
                self.spec_ids.insert(spec, id);
                id
            }
        };
        Ok(Step::Scan { index, key, out, mode })
    }
}

fn var_of(term: &Term) -> Option<u8> {
    if let Term::Var(v) = term { Some(v.0 as u8) } else { None }
}

fn slot_of(term: &Term) -> Slot {
    match term {
        Term::Var(v) => Slot::Var(v.0 as u8),
        Term::Const(c) => Slot::Const(*c),
        Term::Now => Slot::Now,
        Term::Ctx(key) => Slot::Ctx(*key),
    }
}

/// How each column of an atom is given when `known` variables are bound and
/// `consts` fixed.
fn pattern(atom: &Atom, known: Vars, consts: &Consts) -> Vec<Given> {
    atom.args
        .iter()
        .map(|t| match t {
            Term::Const(c) => Given::Const(*c),
            Term::Var(v) => match consts.get(v.0 as usize).copied().flatten() {
                Some(c) => Given::Const(c),
                None if known & bit(v.0 as u8) != 0 => Given::Bound,
                None => Given::Free,
            },
            Term::Now | Term::Ctx(_) => Given::Bound,
        })
        .collect()
}

/// Head variables fixed to constants, by variable.
type Consts = [Option<Value>; MAX_VARS];

fn preset_consts(preset: &[(u8, Value)]) -> Consts {
    let mut consts: Consts = [None; MAX_VARS];
    for (v, c) in preset {
        if let Some(slot) = consts.get_mut(*v as usize) {
            *slot = Some(*c);
        }
    }
    consts
}

/// The variables a literal binds when placed.
fn binds(literal: &Lit) -> Vars {
    match literal {
        Lit::Pos(atom) => atom.args.iter().filter_map(var_of).fold(0, |acc, v| acc | bit(v)),
        Lit::Member(v, _) => bit(*v),
        Lit::Neg(_) | Lit::Cond(_) => 0,
    }
}

fn all_bound(e: &Expr, known: Vars) -> bool {
    let mut ok = true;
    visit_vars(e, &mut |v| ok &= (v.0 as usize) < MAX_VARS && known & bit(v.0 as u8) != 0);
    ok
}

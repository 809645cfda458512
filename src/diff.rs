//! `warden diff`: which `allowed(user, perm, obj)` tuples a policy or data
//! change adds and removes, each with the fact or rule responsible.
//!
//! Both programs are evaluated in full at one request time; the decisions are
//! compared by their text. For each change, the proof in the program where it
//! holds is searched for the base facts (or, failing that, the user rules)
//! that the other program lacks: those are the cause.

use crate::engine::Engine;
use crate::eval::functions::{Env, Externs};
use crate::eval::{self, Additions, Model, Row};
use crate::explain::{Evaluated, Explainer, ProofKind, ProofNode};
use crate::lower::builtins;
use crate::lower::intern::Symbols;
use crate::lower::ir::{self, Origin, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One decision that changed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Change {
    /// The object.
    pub object: String,
    /// The fact or rule responsible, with its location.
    pub because: String,
}

/// The changes of one user and permission.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Group {
    /// The subject.
    pub user: String,
    /// The permission.
    pub perm: String,
    /// How many objects changed.
    pub count: usize,
    /// The objects, sorted.
    pub changes: Vec<Change>,
}

/// The difference between two programs' decisions.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Diff {
    /// The request time both were evaluated at.
    pub at: String,
    /// Decisions the new program allows and the old did not.
    pub added: Vec<Group>,
    /// Decisions the old program allowed and the new does not.
    pub removed: Vec<Group>,
}

impl Diff {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// As text: one header per user and permission, one line per object.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (sign, groups) in [("+", &self.added), ("-", &self.removed)] {
            for g in groups {
                let noun = if g.count == 1 { "object" } else { "objects" };
                out.push_str(&format!("{sign} {} {}: {} {noun}\n", g.user, g.perm, g.count));
                for c in &g.changes {
                    out.push_str(&format!("    {}  {}\n", c.object, c.because));
                }
            }
        }
        let count = |groups: &[Group]| groups.iter().map(|g| g.count).sum::<usize>();
        out.push_str(&format!(
            "{} allowed added, {} removed (at {})\n",
            count(&self.added),
            count(&self.removed),
            self.at
        ));
        out
    }
}

/// One program's decisions and what it is made of, as text.
struct Side<'e> {
    engine: &'e Engine,
    model: Model,
    symbols: Symbols<'e>,
    additions: Additions,
    allowed: BTreeMap<(String, String, String), Row>,
    statements: BTreeSet<String>,
    rules: BTreeSet<String>,
}

/// The program's constants as text (strings) or values (others).
fn constants(engine: &Engine) -> Vec<Result<String, Value>> {
    let program = &engine.checked().program;
    program
        .domain
        .iter()
        .map(|v| match v {
            Value::Sym(s) => Ok(program.symbols.resolve(*s).map(|n| n.to_string()).unwrap_or_default()),
            other => Err(*other),
        })
        .collect()
}

/// Evaluates one program over its constants and the other's (so a constant
/// that only one program mentions does not change what the other decides).
fn side<'e>(
    engine: &'e Engine,
    other: &[Result<String, Value>],
    at: i64,
    externs: &Externs,
) -> Result<Side<'e>, String> {
    let checked = engine.checked();
    let program = &checked.program;
    let symbols = Symbols::new(&program.symbols);
    let ctx = BTreeMap::new();
    let env = Env { program, symbols: &symbols, now: at, ctx: &ctx, externs };
    let domain = other.iter().map(|c| match c {
        Ok(name) => Value::Sym(symbols.intern(name)),
        Err(value) => *value,
    });
    let additions = Additions { domain: domain.collect(), ..Additions::default() };
    let model = eval::evaluate(checked, &env, &additions, engine.limits()).map_err(|e| e.to_string())?;
    let render = |v: &Value| eval::render::value(*v, &symbols);
    let mut allowed = BTreeMap::new();
    for row in model.relations.get(builtins::ALLOWED.0 as usize).map_or(&crate::eval::table::EMPTY, |r| r) {
        if let [u, p, o] = row {
            allowed.insert((render(u), render(p), render(o)), row.to_vec());
        }
    }
    let locate = |origin| engine.locate(origin);
    let tuples = Evaluated { checked, env: &env, model: &model, limits: engine.limits() };
    let explainer = Explainer::new(checked, &env, &additions, &tuples, &locate);
    let statements = program.facts.iter().map(|f| explainer.gloss(f.rel, &f.tuple)).collect();
    let rules = program
        .rules
        .iter()
        .filter_map(|r| match program.origin(r.origin) {
            Some(Origin::Source(_)) => engine.locate(r.origin).map(|(_, text)| normalize(&text)),
            _ => None,
        })
        .collect();
    drop(explainer);
    Ok(Side { engine, model, symbols, additions, allowed, statements, rules })
}

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The base facts and user rules of a proof.
fn leaves<'p>(node: &'p ProofNode, facts: &mut Vec<&'p ProofNode>, rules: &mut Vec<&'p ProofNode>) {
    match node.kind {
        ProofKind::Fact => facts.push(node),
        ProofKind::Rule if node.location.is_some() => rules.push(node),
        _ => {}
    }
    for child in &node.children {
        leaves(child, facts, rules);
    }
}

/// Why `row` is allowed in `here` but not in `there`: what `here` has that `there` lacks.
fn cause(here: &Side, there: &Side, row: &Row, externs: &Externs, at: i64) -> String {
    let program = &here.engine.checked().program;
    let ctx = BTreeMap::new();
    let env = Env { program, symbols: &here.symbols, now: at, ctx: &ctx, externs };
    let locate = |origin| here.engine.locate(origin);
    let checked = here.engine.checked();
    let tuples = Evaluated { checked, env: &env, model: &here.model, limits: here.engine.limits() };
    let explainer = Explainer::new(checked, &env, &here.additions, &tuples, &locate);
    let Some(proof) = explainer.prove(builtins::ALLOWED, row) else { return "(no proof found)".into() };
    let (mut facts, mut rules) = (Vec::new(), Vec::new());
    leaves(&proof, &mut facts, &mut rules);
    let at_location = |n: &ProofNode| n.location.as_ref().map_or_else(String::new, |l| format!(" ({l})"));
    if let Some(fact) = facts.iter().find(|f| !there.statements.contains(&f.reads)) {
        return format!("via {}{}", fact.reads, at_location(fact));
    }
    if let Some(rule) = rules.iter().find(|r| r.rule.as_ref().is_some_and(|t| !there.rules.contains(&normalize(t)))) {
        return format!("via rule `{}`{}", normalize(rule.rule.as_deref().unwrap_or("")), at_location(rule));
    }
    "via a change in what it depends on".into()
}

/// Compares the decisions of `old` and `new` at `at`.
pub fn diff(old: &Engine, new: &Engine, at: i64) -> Result<Diff, String> {
    let externs = Externs::new();
    let (old_constants, new_constants) = (constants(old), constants(new));
    let (old_side, new_side) = (side(old, &new_constants, at, &externs)?, side(new, &old_constants, at, &externs)?);
    // Both sides range over both programs' constants, so a superuser's
    // permissions cancel out; a change is reported only when its values are
    // of their columns' kinds where it holds (no user as a permission).
    let open = ir::Atom { rel: builtins::ALLOWED, args: (0..3).map(|v| ir::Term::Var(ir::VarId(v))).collect() };
    let group = |here: &Side, there: &Side| -> Vec<Group> {
        let mut groups: BTreeMap<(String, String), Vec<Change>> = BTreeMap::new();
        let changed: Vec<Row> = (here.allowed.iter())
            .filter(|((u, p, o), _)| !there.allowed.contains_key(&(u.clone(), p.clone(), o.clone())))
            .map(|(_, row)| row.clone())
            .collect();
        let changed: BTreeSet<Row> = here.engine.of_their_kinds(changed, &open, &here.additions).into_iter().collect();
        for ((u, p, o), row) in &here.allowed {
            if !changed.contains(row) {
                continue;
            }
            let because = cause(here, there, row, &externs, at);
            groups.entry((u.clone(), p.clone())).or_default().push(Change { object: o.clone(), because });
        }
        groups.into_iter().map(|((user, perm), changes)| Group { user, perm, count: changes.len(), changes }).collect()
    };
    Ok(Diff {
        at: crate::time::format_timestamp(at),
        added: group(&new_side, &old_side),
        removed: group(&old_side, &new_side),
    })
}

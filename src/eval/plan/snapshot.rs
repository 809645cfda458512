//! The request-independent half of a program, materialized once per snapshot.
//!
//! A relation is *static* when nothing it is derived from reads the request:
//! no `now`, no `ctx.KEY`, no `extern fn` (which may read anything), and no
//! static-looking rule over a relation that does. Static relations are
//! evaluated in full, once, by the semi-naive engine; the check plan reads them
//! through hash indexes built at compile time. Every other relation is
//! *dynamic* and is decided per check, top-down, seeded by the request; so
//! is one a rule derives over the active domain (`deny U P on O if
//! locked(O)` holds for every subject and permission: materialized, it
//! would be a cross product of the domain), unless it is recursive.

use super::super::base::Prepared;
use super::super::functions::Env;
use super::super::table::EMPTY;
use super::super::{Additions, EvalError, Limits, Rows, Table, evaluate_strata};
use crate::analyze::{Checked, Stratum};
use crate::lower::builtins;
use crate::lower::intern::FRESH;
use crate::lower::ir::{Callee, Expr, Literal, Program, RelId, Rule, Term, Value};
use rustc_hash::FxHashSet;
use std::sync::Arc;

/// Which relations are decided per check (`dynamic[rel]`): those that
/// depend on the request, and those a rule derives over the active domain
/// (`deny U P on O if locked(O)`: every subject and permission, a cross
/// product no snapshot should hold) unless that would make a recursive
/// relation dynamic (the plan decides no recursion top-down).
pub fn dynamic_relations(checked: &Checked) -> Vec<bool> {
    let program = &checked.program;
    let reading_request = dynamic_closure(program, vec![false; program.relations.len()], &|_| false);
    let over_domain = |rule: &Rule| rule.body.iter().any(|literal| matches!(literal, Literal::Domain(_)));
    if !program.rules.iter().any(over_domain) {
        return reading_request;
    }
    let widened = dynamic_closure(program, reading_request.clone(), &over_domain);
    let recursive = |rel: &RelId| checked.strata.iter().any(|s| s.recursive && s.relations.contains(rel));
    let newly_dynamic =
        (0..widened.len()).filter(|&i| widened.get(i) == Some(&true) && reading_request.get(i) != Some(&true));
    if newly_dynamic.map(|i| RelId(i as u32)).any(|rel| recursive(&rel)) { reading_request } else { widened }
}

/// `dynamic` grown by the rules that read the request, or a dynamic
/// relation, or that `also` says, to a fixpoint.
fn dynamic_closure(program: &Program, mut dynamic: Vec<bool>, also: &dyn Fn(&Rule) -> bool) -> Vec<bool> {
    let fns = fns_reading_request(program);
    loop {
        let mut changed = false;
        for rule in &program.rules {
            let head = rule.head.rel.0 as usize;
            if dynamic.get(head).copied().unwrap_or(true) {
                continue;
            }
            let reads_dynamic = rule.body.iter().any(|literal| match literal {
                Literal::Pos(atom) | Literal::Neg(atom) => dynamic.get(atom.rel.0 as usize).copied().unwrap_or(true),
                _ => false,
            });
            if reads_dynamic || reads_request(rule, &fns) || also(rule) {
                if let Some(slot) = dynamic.get_mut(head) {
                    *slot = true;
                }
                changed = true;
            }
        }
        if !changed {
            return dynamic;
        }
    }
}

/// Whether a rule reads `now`, `ctx` or an `extern fn` itself (`fns`: which
/// `fn`s do, see [`fns_reading_request`]).
fn reads_request(rule: &Rule, fns: &[bool]) -> bool {
    let term = |t: &Term| matches!(t, Term::Now | Term::Ctx(_));
    std::iter::once(&rule.head).any(|a| a.args.iter().any(term))
        || rule.body.iter().any(|literal| match literal {
            Literal::Pos(atom) | Literal::Neg(atom) => atom.args.iter().any(term),
            Literal::Cond(e) => expr_reads_request(e, fns),
            Literal::Member(_, items) => items.iter().any(|e| expr_reads_request(e, fns)),
            Literal::Domain(_) => false,
        })
}

/// Which `fn`s read the request, each body looked at once (a `fn` calling
/// another twice, which calls another twice, ... stays linear here).
fn fns_reading_request(program: &Program) -> Vec<bool> {
    let mut reads = vec![false; program.fns.len()];
    for i in program.fns_callees_first() {
        let own = program.fns.get(i).is_none_or(|f| expr_reads_request(&f.body, &reads));
        if let Some(slot) = reads.get_mut(i) {
            *slot = own;
        }
    }
    reads
}

/// Whether an expression reads `now`, `ctx` or an `extern fn`; `fns` says
/// which `fn`s do.
fn expr_reads_request(e: &Expr, fns: &[bool]) -> bool {
    let recurse = |e: &Expr| expr_reads_request(e, fns);
    match e {
        Expr::Term(t) => matches!(t, Term::Now | Term::Ctx(_)),
        Expr::Param(_) => false,
        Expr::Call(callee, args) => {
            let body = match callee {
                Callee::Builtin(_) => false,
                Callee::Extern(_) => true,
                Callee::Fn(i) => fns.get(*i as usize).copied().unwrap_or(true),
            };
            body || args.iter().any(recurse)
        }
        Expr::Not(a) => recurse(a),
        Expr::Binary(_, a, b) => recurse(a) || recurse(b),
        Expr::InList(x, items) => recurse(x) || items.iter().any(recurse),
    }
}

/// The static relations of a program, evaluated in full, with what the plan's
/// cost model needs to know about them.
#[derive(Debug)]
pub struct Snapshot {
    /// Tuples of each relation (dynamic relations are empty here).
    pub relations: Vec<Rows>,
    /// Per relation, what the cost model and the folding know of its columns.
    pub columns: Vec<Columns>,
    /// The active domain (query constants outside it take the general path):
    /// a bit per program symbol, and the other values in a set.
    pub domain: Domain,
    /// The base facts it was computed from, per relation (to tell, after a
    /// live update, which derived relations can be kept).
    pub base: Vec<Rows>,
    /// Whether the active domain it was computed over holds the
    /// [`FRESH`] stand-ins, so that a check naming constants the program does
    /// not know can be decided on it (see `fresh_constants_are_generic`).
    pub fresh: bool,
}

impl Snapshot {
    /// Evaluates the static strata of `checked` over its base facts with
    /// `removed`'s changes (none today: a live update changes the facts
    /// themselves); an evaluation over its limits is an error.
    /// `previous` is the snapshot of the same rules before a live update: a
    /// stratum whose inputs are the very same tuples (shared, not equal) as
    /// then is not evaluated again.
    pub fn materialize(
        checked: &Checked,
        prepared: &Prepared,
        dynamic: &[bool],
        env: &Env,
        removed: &Additions,
        limits: Limits,
        previous: Option<&Snapshot>,
    ) -> Result<Snapshot, EvalError> {
        let is_static = |rel: &RelId| !dynamic.get(rel.0 as usize).copied().unwrap_or(true);
        let strata: Vec<Stratum> =
            checked.strata.iter().filter(|stratum| stratum.relations.iter().all(is_static)).cloned().collect();
        let program = &checked.program;
        let fresh = fresh_constants_are_generic(program, &strata);
        let mut additions = removed.clone();
        if fresh {
            additions.domain.extend(FRESH.map(Value::Sym));
        }
        let reuse = |stratum: &Stratum, now: &[Rows]| -> Option<Vec<(RelId, Rows)>> {
            let previous = previous?;
            let unchanged = |rel: &RelId| match (now.get(rel.0 as usize), previous.relations.get(rel.0 as usize)) {
                // The domain is rebuilt with the stand-ins each time: compare it by content.
                (Some(a), Some(b)) if *rel == builtins::ADOM => Arc::ptr_eq(a, b) || a == b,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            let inputs = stratum.rules.iter().filter_map(|id| program.rules.get(id.0 as usize)).flat_map(|rule| {
                rule.body.iter().filter_map(|literal| match literal {
                    Literal::Pos(atom) | Literal::Neg(atom) => Some(atom.rel),
                    Literal::Domain(_) => Some(builtins::ADOM),
                    _ => None,
                })
            });
            let mut inputs = inputs.filter(|rel| !stratum.relations.contains(rel));
            // The stratum's own facts (a relation with rules and facts) must be unchanged too.
            let own_facts_unchanged = stratum.relations.iter().all(|rel| {
                prepared.base_rows(*rel).zip(previous.base.get(rel.0 as usize)).is_some_and(|(a, b)| Arc::ptr_eq(&a, b))
            });
            (own_facts_unchanged && inputs.all(|rel| unchanged(&rel))).then(|| {
                stratum
                    .relations
                    .iter()
                    .filter_map(|rel| previous.relations.get(rel.0 as usize).map(|rows| (*rel, rows.clone())))
                    .collect()
            })
        };
        let mut model = evaluate_strata(prepared, program, program, &strata, env, &additions, limits, &reuse)?;
        // The domain is built anew each time: the same tuples as before are
        // the previous snapshot's, so that its indexes and views are kept.
        let adom = builtins::ADOM.0 as usize;
        if let (Some(now), Some(before)) = (model.relations.get_mut(adom), previous.and_then(|p| p.relations.get(adom)))
            && !Arc::ptr_eq(now, before)
            && now == before
        {
            *now = before.clone();
        }
        if model.has_unknowns() {
            // The plan reads static relations in two values; a static rule
            // that errs can make tuples unknown, which the plan cannot weigh.
            return Err(EvalError::Unknown(model.errors.len()));
        }
        let columns = model
            .relations
            .iter()
            .enumerate()
            .map(|(i, rows)| {
                match (previous.and_then(|p| p.relations.get(i)), previous.and_then(|p| p.columns.get(i))) {
                    (Some(old), Some(columns)) if Arc::ptr_eq(old, rows) => columns.clone(),
                    _ => Columns::of(rows),
                }
            })
            .collect();
        let domain = Domain::new(&checked.program.domain);
        let base = (0..program.relations.len()).filter_map(|i| prepared.base_rows(RelId(i as u32))).collect();
        Ok(Snapshot { relations: model.relations, columns, domain, base, fresh })
    }

    /// The tuples of a relation.
    pub fn rows(&self, rel: RelId) -> &Table {
        self.relations.get(rel.0 as usize).map_or(&EMPTY, |rows| rows)
    }

    /// Expected distinct keys of the `bound` columns (independent columns).
    pub fn keys(&self, rel: RelId, bound: &[bool]) -> f64 {
        let counts = self.columns.get(rel.0 as usize).map(|c| c.distinct.as_slice());
        let mut keys = 1.0;
        for (column, _) in bound.iter().enumerate().filter(|(_, b)| **b) {
            keys *= counts.and_then(|c| c.get(column)).copied().unwrap_or(1).max(1) as f64;
        }
        keys
    }

    /// Whether some tuple of `rel` holds one of the [`FRESH`] stand-ins in
    /// `column` (known from one pass over the tuples, not a scan per ask).
    pub fn holds_stand_in(&self, rel: RelId, column: usize) -> bool {
        self.columns.get(rel.0 as usize).and_then(|c| c.stand_in.get(column)).copied().unwrap_or(false)
    }
}

/// Whether the static rules cannot tell one constant that no fact and no
/// rule mentions from another: then the snapshot computed with the [`FRESH`]
/// stand-ins in the active domain holds, for each stand-in, exactly the
/// tuples a check's unknown constant would get (SPEC section 5: a query's
/// constants join the domain), and the tuples without stand-ins are those
/// of the program alone.
///
/// Only the domain, and relations derived from it (`D`), hold stand-ins. It
/// holds when every static rule that reads `D`:
/// - has no condition, and negates only relations outside `D`: it joins and
///   copies values, never inspects them (`type(X)`, `X < "m"`), and `not
///   p(X)` holds alike for a stand-in and an unknown constant (neither is in
///   `p`);
/// - projects away no variable that only `D` atoms bind: a stand-in used
///   in a derivation stays in the derived tuple, so a tuple over known
///   constants never depends on a stand-in, and one over some stand-ins
///   never on the others.
///
/// Any other program keeps the general path for unknown constants.
fn fresh_constants_are_generic(program: &Program, strata: &[Stratum]) -> bool {
    let rules: Vec<&Rule> =
        strata.iter().flat_map(|s| &s.rules).filter_map(|id| program.rules.get(id.0 as usize)).collect();
    let mut from_domain: FxHashSet<RelId> = FxHashSet::default();
    from_domain.insert(builtins::ADOM);
    let reads = |rule: &Rule, from_domain: &FxHashSet<RelId>| {
        rule.body.iter().any(|literal| match literal {
            Literal::Pos(atom) | Literal::Neg(atom) => from_domain.contains(&atom.rel),
            Literal::Domain(_) => true,
            Literal::Cond(_) | Literal::Member(..) => false,
        })
    };
    loop {
        let before = from_domain.len();
        for rule in &rules {
            if reads(rule, &from_domain) {
                from_domain.insert(rule.head.rel);
            }
        }
        if from_domain.len() == before {
            break;
        }
    }
    let generic = |rule: &&&Rule| {
        let mut pinned: FxHashSet<Term> = FxHashSet::default();
        let mut carried: Vec<Term> = Vec::new();
        for literal in &rule.body {
            match literal {
                Literal::Pos(atom) if from_domain.contains(&atom.rel) => carried.extend(atom.args.iter().cloned()),
                Literal::Pos(atom) => pinned.extend(atom.args.iter().cloned()),
                Literal::Neg(atom) if !from_domain.contains(&atom.rel) => {}
                Literal::Domain(v) => carried.push(Term::Var(*v)),
                _ => return false,
            }
        }
        let head = &rule.head.args;
        head.iter().all(|t| matches!(t, Term::Var(_) | Term::Const(_)))
            && carried.iter().all(|t| !matches!(t, Term::Var(_)) || pinned.contains(t) || head.contains(t))
    };
    rules.iter().filter(|rule| reads(rule, &from_domain)).all(|rule| generic(&rule))
}

/// What the plan knows of a relation's columns, from one pass over its tuples.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    /// The number of distinct values in each column (the cost model's).
    pub distinct: Vec<usize>,
    /// Whether each column holds one of the [`FRESH`] stand-ins (a fold
    /// must not project such a column away).
    pub stand_in: Vec<bool>,
}

impl Columns {
    /// Symbol ids below this are counted in a bitset (8 MiB a column at most).
    const BITSET_SYMBOLS: u32 = 1 << 26;

    /// The statistics of `rows`: symbols counted in a bitset over their
    /// ids (no hashing) when the relation has a tuple per 64 ids or more,
    /// other values (and the symbols of a sparse relation) in a hash set.
    pub fn of(rows: &Table) -> Columns {
        let arity = rows.width();
        let largest = rows.iter().flatten().filter_map(|v| match v {
            Value::Sym(s) if !FRESH.contains(s) => Some(s.0),
            _ => None,
        });
        let words = largest.max().map_or(0, |id| id / 64 + 1);
        let dense = words as usize <= rows.len() && words <= Self::BITSET_SYMBOLS / 64;
        let mut symbols: Vec<SymbolBits> = vec![SymbolBits::default(); arity];
        let mut others: Vec<FxHashSet<&Value>> = vec![FxHashSet::default(); arity];
        let mut stand_in = vec![false; arity];
        for row in rows {
            for (column, value) in row.iter().enumerate() {
                match value {
                    Value::Sym(s) if FRESH.contains(s) => {
                        if let (Some(flag), Some(set)) = (stand_in.get_mut(column), others.get_mut(column)) {
                            *flag = true;
                            set.insert(value);
                        }
                    }
                    Value::Sym(s) if dense => {
                        if let Some(bits) = symbols.get_mut(column) {
                            bits.insert(s.0);
                        }
                    }
                    _ => {
                        if let Some(set) = others.get_mut(column) {
                            set.insert(value);
                        }
                    }
                }
            }
        }
        let distinct = symbols.iter().zip(&others).map(|(bits, others)| bits.len() + others.len()).collect();
        Columns { distinct, stand_in }
    }
}

/// A set of values tuned for "is this constant in the active domain?":
/// symbols by a bit each, other values hashed.
#[derive(Debug, Default)]
pub struct Domain {
    symbols: SymbolBits,
    others: FxHashSet<Value>,
}

impl Domain {
    /// The set of `values`.
    pub fn new(values: &[Value]) -> Domain {
        let mut domain = Domain::default();
        for value in values {
            match value {
                Value::Sym(s) => domain.symbols.insert(s.0),
                other => {
                    domain.others.insert(*other);
                }
            }
        }
        domain
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: &Value) -> bool {
        match value {
            Value::Sym(s) => self.symbols.contains(s.0),
            other => self.others.contains(other),
        }
    }
}

/// A set of symbol ids, a bit each, grown to the largest id inserted (the
/// callers bound the ids they insert).
#[derive(Clone, Debug, Default)]
pub(crate) struct SymbolBits(Vec<u64>);

impl SymbolBits {
    /// Adds `id`.
    pub(crate) fn insert(&mut self, id: u32) {
        let word = id as usize / 64;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        if let Some(w) = self.0.get_mut(word) {
            *w |= 1 << (id % 64);
        }
    }

    /// Whether `id` was added.
    pub(crate) fn contains(&self, id: u32) -> bool {
        self.0.get(id as usize / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// How many ids were added.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The bytes it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<u64>()
    }
}

mod index;
mod slots;
pub use index::{Index, IndexSpec, Key, MAX_KEY, PAD, Packed, pack};

#[cfg(test)]
mod tests;

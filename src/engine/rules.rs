//! What the rules of a program say that requests ask about again and
//! again, found once at load (rules do not change with live updates, so the
//! snapshots of a live program share it).

use crate::eval::plan::snapshot::dynamic_relations;
use crate::lower::builtins::ADOM;
use crate::lower::intern::Sym;
use crate::lower::ir::{BinOp, Builtin, Callee, Expr, Literal, Origin, Program, RelId, Term, VarId};
use std::collections::BTreeSet;

/// Facts about the rules, for explanations and listings.
#[derive(Debug)]
pub(crate) struct RuleFacts {
    /// Relations some rule derives (the others hold base facts only).
    pub(crate) derived: BTreeSet<RelId>,
    /// Which relations are decided per check: those that depend on the
    /// request, and those derived over the active domain (the rest the check plan
    /// materializes once).
    pub(crate) dynamic: Vec<bool>,
    /// The string constants rules and `fn`s name.
    pub(crate) named_by_rules: rustc_hash::FxHashSet<Sym>,
    /// Whether a condition looks into a value beyond `==`, `!=` and `type(..)`.
    pub(crate) inspects_values: bool,
    /// The same, counting `type(..)` of a variable as looking.
    pub(crate) inspects_values_or_types: bool,
    /// The relations whose tuples can take a permission away from a named
    /// object that a fresh one of its type holds (see [`adverse_relations`]).
    pub(crate) adverse: BTreeSet<RelId>,
}

impl RuleFacts {
    /// What the rules of a checked program say.
    pub(crate) fn of(checked: &crate::analyze::Checked) -> RuleFacts {
        let program = &checked.program;
        RuleFacts {
            derived: program.rules.iter().map(|r| r.head.rel).collect(),
            dynamic: dynamic_relations(checked),
            named_by_rules: crate::eval::plan::named_by_rules(program),
            inspects_values: inspects_values(program, false),
            inspects_values_or_types: inspects_values(program, true),
            adverse: adverse_relations(program),
        }
    }
}

/// Whether a condition of the program looks into a variable's value beyond
/// comparing it with `==`/`!=` (or a list) or, unless `types_too`, asking
/// its `type(..)`: then two values the program does not name may be decided
/// differently (an untyped `*` and `user:7` differ in their type).
fn inspects_values(program: &Program, types_too: bool) -> bool {
    fn inspects(e: &Expr, types_too: bool) -> bool {
        match e {
            Expr::Term(_) | Expr::Param(_) => false,
            Expr::Call(Callee::Builtin(Builtin::Type), args) if types_too => args.iter().any(mentions_var),
            Expr::Call(Callee::Builtin(Builtin::Type), args) => args.iter().any(|a| !matches!(a, Expr::Term(_))),
            Expr::Call(_, args) => args.iter().any(mentions_var),
            // A variable compared with a computed value (`O == lower(ctx.p)`):
            // the value may be a name no fact holds.
            Expr::Binary(BinOp::Eq | BinOp::Ne, a, b)
                if (mentions_var(a) && computes(b)) || (mentions_var(b) && computes(a)) =>
            {
                true
            }
            Expr::Binary(BinOp::Eq | BinOp::Ne | BinOp::And | BinOp::Or, a, b) => {
                inspects(a, types_too) || inspects(b, types_too)
            }
            Expr::Binary(_, a, b) => mentions_var(a) || mentions_var(b),
            Expr::Not(a) => inspects(a, types_too),
            Expr::InList(x, items) => {
                (mentions_var(x) && items.iter().any(computes))
                    || (computes(x) && items.iter().any(mentions_var))
                    || inspects(x, types_too)
                    || items.iter().any(|i| inspects(i, types_too))
            }
        }
    }
    /// Whether `e` calls a function (but `type(..)`): its value is computed.
    fn computes(e: &Expr) -> bool {
        match e {
            Expr::Term(_) | Expr::Param(_) => false,
            // The type of a variable is alike for two objects of a type; of
            // anything else (`type(ctx.t)`) it is a name no fact may hold.
            Expr::Call(Callee::Builtin(Builtin::Type), args) => {
                args.iter().any(|a| !matches!(a, Expr::Term(Term::Var(_))))
            }
            Expr::Call(..) => true,
            Expr::Binary(_, a, b) => computes(a) || computes(b),
            Expr::Not(a) => computes(a),
            Expr::InList(x, items) => computes(x) || items.iter().any(computes),
        }
    }
    // The built-in rules compare assignment bounds with `now` and ask
    // `type(O)`: none looks into an object's name.
    let own = |rule: &&crate::lower::ir::Rule| matches!(program.origin(rule.origin), Some(Origin::Source(_)));
    program.rules.iter().filter(own).flat_map(|r| &r.body).any(|literal| match literal {
        Literal::Cond(e) => inspects(e, types_too),
        // `O in [lower(T)]` binds or compares `O` with computed values.
        Literal::Member(_, items) => items.iter().any(|i| computes(i) || inspects(i, types_too)),
        _ => false,
    })
}

/// The relations whose tuples can take a permission away from a named
/// object `o` while a fresh object `F` of its type holds it (listings ask,
/// to check only the objects that can be the exceptions to "every").
///
/// Where no condition looks into values (the only case listings ask
/// about), a derivation of `allowed(u, p, F)` is one of `allowed(u, p, o)`
/// with `o` for `F`: `F` is in no fact, so the tuples it uses hold for any
/// constant (`$adom`, `within` itself), conditions compare it with `==`,
/// `!=` or ask its `type(..)`, alike for `o` (a comparison with a computed
/// value, `O == lower(ctx.p)`, counts as looking into values). It fails
/// only at a `not` whose atom holds for `o`, or where `o` meets a value it
/// equals: a comparison of two variables (`X != Y`, `Y` bound to `o` by a
/// tuple), a constant of a rule, a `ctx` value, or a name of the request
/// itself (`deny U manage on U`). So `o` can be an exception only if it is
/// in a tuple of a relation read under `not`, or joined in a rule that
/// compares two variables, or one those are derived from (these
/// relations), or a rule names it, or the request's `ctx` holds it, or it
/// is one of the request's own names.
fn adverse_relations(program: &Program) -> BTreeSet<RelId> {
    let mut adverse = BTreeSet::new();
    let positive = |rule: &crate::lower::ir::Rule| -> Vec<RelId> {
        rule.body
            .iter()
            .filter_map(|literal| match literal {
                Literal::Pos(atom) => Some(atom.rel),
                _ => None,
            })
            .collect()
    };
    for rule in &program.rules {
        for literal in &rule.body {
            match literal {
                Literal::Neg(atom) => {
                    adverse.insert(atom.rel);
                }
                Literal::Cond(e) if compares_variables(std::slice::from_ref(e)) => adverse.extend(positive(rule)),
                // `X in [a, Y]` compares `X` with `Y`.
                Literal::Member(_, items) if items.iter().any(mentions_var) => adverse.extend(positive(rule)),
                _ => {}
            }
        }
    }
    // Everything they are derived from.
    let mut grew = true;
    while grew {
        grew = false;
        for rule in &program.rules {
            if !adverse.contains(&rule.head.rel) {
                continue;
            }
            for literal in &rule.body {
                if let Literal::Pos(atom) | Literal::Neg(atom) = literal {
                    grew |= adverse.insert(atom.rel);
                }
            }
        }
    }
    // Every constant is in `$adom`, a fresh one too: it tells none apart.
    adverse.remove(&ADOM);
    adverse
}

/// Whether the expressions read two variables or more (outside `type(..)`,
/// alike for any two objects of one type).
fn compares_variables(exprs: &[Expr]) -> bool {
    fn vars(e: &Expr, out: &mut BTreeSet<VarId>) {
        match e {
            Expr::Call(Callee::Builtin(Builtin::Type), _) | Expr::Param(_) => {}
            Expr::Term(Term::Var(v)) => {
                out.insert(*v);
            }
            Expr::Term(_) => {}
            Expr::Call(_, args) => args.iter().for_each(|a| vars(a, out)),
            Expr::Binary(_, a, b) => {
                vars(a, out);
                vars(b, out);
            }
            Expr::Not(a) => vars(a, out),
            Expr::InList(x, items) => {
                vars(x, out);
                items.iter().for_each(|i| vars(i, out));
            }
        }
    }
    let mut out = BTreeSet::new();
    exprs.iter().for_each(|e| vars(e, &mut out));
    out.len() >= 2
}

/// Whether `e` reads a variable.
fn mentions_var(e: &Expr) -> bool {
    let mut found = false;
    crate::analyze::visit_vars(e, &mut |_| found = true);
    found
}

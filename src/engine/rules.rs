//! What the rules of a program say that requests ask about again and
//! again, found once at load (rules do not change with live updates, so the
//! snapshots of a live program share it).

use crate::eval::plan::snapshot::dynamic_relations;
use crate::lower::intern::Sym;
use crate::lower::ir::{BinOp, Builtin, Callee, Expr, Literal, Origin, Program, RelId};
use std::collections::BTreeSet;

/// Facts about the rules, for explanations and listings.
#[derive(Debug)]
pub(crate) struct RuleFacts {
    /// Relations some rule derives (the others hold base facts only).
    pub(crate) derived: BTreeSet<RelId>,
    /// Which relations depend on the request (the rest the check plan
    /// materializes once).
    pub(crate) dynamic: Vec<bool>,
    /// The string constants rules and `fn`s name.
    pub(crate) named_by_rules: rustc_hash::FxHashSet<Sym>,
    /// Whether a condition looks into a value beyond `==`, `!=` and `type(..)`.
    pub(crate) inspects_values: bool,
    /// The same, counting `type(..)` of a variable as looking.
    pub(crate) inspects_values_or_types: bool,
}

impl RuleFacts {
    /// What `program`'s rules say.
    pub(crate) fn of(program: &Program) -> RuleFacts {
        RuleFacts {
            derived: program.rules.iter().map(|r| r.head.rel).collect(),
            dynamic: dynamic_relations(program),
            named_by_rules: crate::eval::plan::named_by_rules(program),
            inspects_values: inspects_values(program, false),
            inspects_values_or_types: inspects_values(program, true),
        }
    }
}

/// Whether a condition of the program looks into a variable's value beyond
/// comparing it with `==`/`!=` (or a list) or, unless `types_too`, asking
/// its `type(..)`: then two values the program does not name may be decided
/// differently (an untyped `*` and `user:7` differ in their type).
fn inspects_values(program: &Program, types_too: bool) -> bool {
    fn mentions_var(e: &Expr) -> bool {
        let mut found = false;
        crate::analyze::visit_vars(e, &mut |_| found = true);
        found
    }
    fn inspects(e: &Expr, types_too: bool) -> bool {
        match e {
            Expr::Term(_) | Expr::Param(_) => false,
            Expr::Call(Callee::Builtin(Builtin::Type), args) if types_too => args.iter().any(mentions_var),
            Expr::Call(Callee::Builtin(Builtin::Type), args) => args.iter().any(|a| !matches!(a, Expr::Term(_))),
            Expr::Call(_, args) => args.iter().any(mentions_var),
            Expr::Binary(BinOp::Eq | BinOp::Ne | BinOp::And | BinOp::Or, a, b) => {
                inspects(a, types_too) || inspects(b, types_too)
            }
            Expr::Binary(_, a, b) => mentions_var(a) || mentions_var(b),
            Expr::Not(a) => inspects(a, types_too),
            Expr::InList(x, items) => inspects(x, types_too) || items.iter().any(|i| inspects(i, types_too)),
        }
    }
    // The built-in rules compare assignment bounds with `now` and ask
    // `type(O)`: none looks into an object's name.
    let own = |rule: &&crate::lower::ir::Rule| matches!(program.origin(rule.origin), Some(Origin::Source(_)));
    program
        .rules
        .iter()
        .filter(own)
        .flat_map(|r| &r.body)
        .any(|literal| matches!(literal, Literal::Cond(e) if inspects(e, types_too)))
}

//! Facts, literals and conditions as sentences that read like the policy.

use super::Explainer;
use super::search::Binding;
use crate::eval::render;
use crate::lower::builtins::{self, FOREVER_AFTER, FOREVER_BEFORE, STAR};
use crate::lower::ir::{BinOp, Callee, Expr, Literal, RelId, Rule, Term, Value};
use crate::time;

impl Explainer<'_> {
    /// A value as policy text.
    pub(super) fn value(&self, v: Value) -> String {
        render::value(v, self.env.symbols)
    }

    /// `rel(a, b)` with `_` for unknown positions.
    pub fn atom_text(&self, rel: RelId, row: &[Option<Value>]) -> String {
        let args: Vec<String> = row.iter().map(|v| v.map_or_else(|| "_".to_string(), |v| self.value(v))).collect();
        // Internal relations are shown without their `$` (they read like the statement kinds).
        format!("{}({})", self.checked.program.relation_name(rel).trim_start_matches('$'), args.join(", "))
    }

    /// A fact as a sentence in the policy's terms (the built-in relations read
    /// like the statements they come from).
    pub fn gloss(&self, rel: RelId, row: &[Value]) -> String {
        self.gloss_pattern(rel, &row.iter().map(|x| Some(*x)).collect::<Vec<_>>())
    }

    /// A pattern (`None`: any value) as a sentence: a built-in relation
    /// reads like its statement with "some role", "someone", ... where a
    /// value is open; another relation as `rel(a, _)`.
    pub fn gloss_pattern(&self, rel: RelId, row: &[Option<Value>]) -> String {
        let v = |i: usize| match row.get(i) {
            Some(Some(x)) => self.value(*x),
            Some(None) => placeholder(rel, i).to_string(),
            None => "?".to_string(),
        };
        let scope = |i: usize| match row.get(i) {
            Some(Some(x)) if *x == Value::Sym(STAR) => " everywhere".to_string(),
            Some(_) => format!(" on {}", v(i)),
            None => String::new(),
        };
        let bounds = |from: usize, until: usize| {
            let mut out = String::new();
            if let Some(Some(Value::Time(t))) = row.get(from).filter(|x| **x != Some(FOREVER_BEFORE)) {
                out.push_str(&format!(" from {}", time::format_timestamp(*t)));
            }
            if let Some(Some(Value::Time(t))) = row.get(until).filter(|x| **x != Some(FOREVER_AFTER)) {
                out.push_str(&format!(" until {}", time::format_timestamp(*t)));
            }
            out
        };
        match rel {
            r if r == builtins::PARENT => format!("{} in {}", v(0), v(1)),
            r if r == builtins::WITHIN => format!("{} lies within {}", v(0), v(1)),
            r if r == builtins::ROLE_EXTENDS => format!("role {} extends {}", v(0), v(1)),
            r if r == builtins::ROLE_IMPLIES => format!("{} has every permission of {}", v(0), v(1)),
            r if r == builtins::ROLE => format!("role {} is declared", v(0)),
            r if r == builtins::ROLE_PERM => match row.get(2) {
                Some(Some(x)) if *x == Value::Sym(STAR) => format!("role {} grants {}", v(0), v(1)),
                Some(Some(_)) => format!("role {} grants {} on objects of type {}", v(0), v(1), v(2)),
                _ => format!("role {} grants {} on objects of some type", v(0), v(1)),
            },
            r if r == builtins::ASSIGN => {
                format!("assign {} {}{}{}", v(0), v(1), scope(2).replace(" everywhere", ""), bounds(3, 4))
            }
            r if r == builtins::GRANT => {
                format!("grant {} {}{}{}", v(0), v(1), scope(2).replace(" everywhere", ""), bounds(3, 4))
            }
            r if r == builtins::ASSIGNED => format!("{} is assigned {}{} (active now)", v(0), v(1), scope(2)),
            r if r == builtins::GRANTED => format!("{} is granted {}{} (active now)", v(0), v(1), scope(2)),
            r if r == builtins::HAS_ROLE => format!("{} holds {} on {}", v(0), v(1), v(2)),
            r if r == builtins::HAS_PERM => format!("{} has {} on {}", v(0), v(1), v(2)),
            r if r == builtins::PERMITTED => format!("{} is permitted {} on {}", v(0), v(1), v(2)),
            r if r == builtins::DENIED => format!("{} is denied {} on {}", v(0), v(1), v(2)),
            r if r == builtins::ALLOWED => format!("{} may {} {}", v(0), v(1), v(2)),
            r if r == builtins::SUPERUSER => format!("superuser {}", v(0)),
            r if r == builtins::INACTIVE => format!("inactive {}", v(0)),
            r if r == builtins::ADOM => format!("{} is a constant of the program or the query", v(0)),
            _ => self.atom_text(rel, row),
        }
    }

    /// A body literal under a (partial) binding, as text.
    pub fn literal_text(&self, rule: &Rule, literal: &Literal, b: &Binding) -> String {
        match literal {
            Literal::Pos(a) => self.gloss_pattern(a.rel, &super::search::instantiate(a, b)),
            Literal::Neg(a) => {
                let row = super::search::instantiate(a, b);
                let shown = self.atom_text(a.rel, &row);
                let shown =
                    if a.rel == builtins::INACTIVE { format!("inactive {}", shown_arg(&row, self)) } else { shown };
                format!("not {shown}")
            }
            Literal::Cond(e) => self.expr_text(rule, e, b),
            Literal::Member(v, items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr_text(rule, i, b)).collect();
                format!("{} in [{}]", self.var_text(rule, *v, b), items.join(", "))
            }
            Literal::Domain(v) => format!("{} is any constant", self.var_text(rule, *v, b)),
        }
    }

    fn var_text(&self, rule: &Rule, v: crate::lower::ir::VarId, b: &Binding) -> String {
        match b.get(&v) {
            Some(x) => self.value(*x),
            None => rule.var_names.get(v.0 as usize).cloned().unwrap_or_else(|| "_".into()),
        }
    }

    /// An expression with bound variables replaced by their values.
    pub fn expr_text(&self, rule: &Rule, e: &Expr, b: &Binding) -> String {
        match e {
            Expr::Term(Term::Var(v)) => self.var_text(rule, *v, b),
            Expr::Term(Term::Const(c)) => self.value(*c),
            Expr::Term(Term::Now) => "now".into(),
            Expr::Term(Term::Ctx(k)) => format!("ctx.{}", self.env.symbols.resolve(*k)),
            Expr::Param(i) => format!("${i}"),
            Expr::Not(a) => format!("!{}", self.expr_text(rule, a, b)),
            Expr::Binary(op, l, r) => {
                let wrap = |x: &Expr| match x {
                    Expr::Binary(BinOp::Or | BinOp::And, ..) => format!("({})", self.expr_text(rule, x, b)),
                    _ => self.expr_text(rule, x, b),
                };
                format!("{} {} {}", wrap(l), op.symbol(), wrap(r))
            }
            Expr::InList(x, items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr_text(rule, i, b)).collect();
                format!("{} in [{}]", self.expr_text(rule, x, b), items.join(", "))
            }
            Expr::Call(callee, args) => {
                let name = match callee {
                    Callee::Builtin(f) => f.name().to_string(),
                    Callee::Fn(i) => self.checked.program.fns.get(*i as usize).map_or("?".into(), |f| f.name.clone()),
                    Callee::Extern(i) => {
                        self.checked.program.externs.get(*i as usize).map_or("?".into(), |f| f.name.clone())
                    }
                };
                let args: Vec<String> = args.iter().map(|a| self.expr_text(rule, a, b)).collect();
                format!("{name}({})", args.join(", "))
            }
        }
    }

    /// What a condition evaluated to: its calls and `now`/`ctx` values, then the result.
    pub fn condition_values(&self, rule: &Rule, e: &Expr, b: &Binding) -> String {
        let mut parts = Vec::new();
        self.collect_values(rule, e, b, &mut parts);
        let result = match self.env.eval(e, &|v| b.get(&v).copied()) {
            Ok(v) => v.to_string(),
            Err(crate::eval::functions::Fault::MissingCtx(k)) => format!("false (the request has no ctx.{k})"),
            Err(crate::eval::functions::Fault::Error(m)) => format!("error: {m}"),
        };
        let text = self.expr_text(rule, e, b);
        if parts.is_empty() {
            format!("{text}: {result}")
        } else {
            format!("{text}: {} → {result}", parts.join(", "))
        }
    }

    fn collect_values(&self, rule: &Rule, e: &Expr, b: &Binding, out: &mut Vec<String>) {
        let show = |x: &Expr, out: &mut Vec<String>| {
            let text = self.expr_text(rule, x, b);
            let value = match self.env.eval(x, &|v| b.get(&v).copied()) {
                Ok(v) => v.to_string(),
                Err(crate::eval::functions::Fault::MissingCtx(_)) => "missing".into(),
                Err(crate::eval::functions::Fault::Error(m)) => format!("error ({m})"),
            };
            let entry = format!("{text} = {value}");
            if !out.contains(&entry) {
                out.push(entry);
            }
        };
        match e {
            Expr::Term(Term::Now | Term::Ctx(_)) => show(e, out),
            Expr::Call(_, args) => {
                args.iter().for_each(|a| self.collect_values(rule, a, b, out));
                show(e, out);
            }
            Expr::Not(a) => self.collect_values(rule, a, b, out),
            Expr::Binary(_, l, r) => {
                self.collect_values(rule, l, b, out);
                self.collect_values(rule, r, b, out);
            }
            Expr::InList(x, items) => {
                self.collect_values(rule, x, b, out);
                items.iter().for_each(|i| self.collect_values(rule, i, b, out));
            }
            Expr::Term(_) | Expr::Param(_) => {}
        }
    }
}

fn shown_arg(row: &[Option<Value>], ex: &Explainer) -> String {
    row.first().copied().flatten().map_or_else(|| "_".into(), |v| ex.value(v))
}

/// How a built-in relation's open column reads ("some role", "someone").
fn placeholder(rel: RelId, col: usize) -> &'static str {
    let subject_first = [
        builtins::ASSIGN,
        builtins::GRANT,
        builtins::ASSIGNED,
        builtins::GRANTED,
        builtins::HAS_ROLE,
        builtins::HAS_PERM,
        builtins::PERMITTED,
        builtins::DENIED,
        builtins::ALLOWED,
        builtins::SUPERUSER,
        builtins::INACTIVE,
    ];
    let roles = [builtins::ROLE, builtins::ROLE_EXTENDS, builtins::ROLE_IMPLIES];
    match col {
        _ if rel == builtins::PARENT || rel == builtins::WITHIN || rel == builtins::ADOM => "something",
        0 if subject_first.contains(&rel) => "someone",
        0 | 1 if roles.contains(&rel) => "some role",
        0 if rel == builtins::ROLE_PERM => "some role",
        1 if rel == builtins::ASSIGN || rel == builtins::ASSIGNED || rel == builtins::HAS_ROLE => "some role",
        1 if rel == builtins::ROLE_PERM => "some permission",
        1 => "some permission",
        2 => "some object",
        _ => "something",
    }
}

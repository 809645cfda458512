//! Lowering of rule bodies, terms and expressions.

use super::ir::{self, Callee, Literal, RelId};
use super::{Lowerer, closest};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{self, BinOp as AstOp};
use crate::syntax::span::{Span, Spanned};
use std::collections::HashMap;

/// The variables of one rule, numbered in order of first occurrence.
#[derive(Default)]
pub(super) struct VarTable {
    names: Vec<String>,
    spans: Vec<Span>,
    index: HashMap<String, ir::VarId>,
}

impl VarTable {
    /// The id of a named variable, adding it when new.
    pub(super) fn named(&mut self, name: &str, span: Span) -> ir::VarId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = self.fresh_named(name, span);
        self.index.insert(name.to_string(), id);
        id
    }

    /// A fresh anonymous variable.
    pub(super) fn fresh(&mut self, span: Span) -> ir::VarId {
        self.fresh_named("_", span)
    }

    fn fresh_named(&mut self, name: &str, span: Span) -> ir::VarId {
        self.names.push(name.to_string());
        self.spans.push(span);
        ir::VarId(self.names.len() as u32 - 1)
    }

    /// Where each variable first occurs.
    pub(super) fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Names and spans, indexed by variable id.
    pub(super) fn into_parts(self) -> (Vec<String>, Vec<Span>) {
        (self.names, self.spans)
    }
}

/// Where an expression is lowered: in a rule (variables allowed) or a `fn` body.
enum Scope<'a> {
    Rule(&'a mut VarTable),
    Fn(&'a [String]),
}

impl Lowerer {
    /// A relation that must exist (have a fact or rule, or be built in).
    pub(super) fn known_relation(&mut self, name: &str, span: Span) -> Option<RelId> {
        let id = self.relations.get(name).copied();
        let known = id.is_some_and(|id| {
            self.defined.contains(&id) || self.program.relation(id).is_some_and(|r| r.kind != ir::RelationKind::User)
        });
        if known {
            return id;
        }
        let candidates: Vec<String> = self
            .program
            .relations
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                r.kind != ir::RelationKind::Internal
                    && (r.kind != ir::RelationKind::User || self.defined.contains(&RelId(*i as u32)))
            })
            .map(|(_, r)| r.name.clone())
            .chain(self.functions.keys().cloned())
            .collect();
        let mut d = Diagnostic::error(
            format!("unknown relation or function `{name}`"),
            span,
            "no fact, rule or function defines this",
        );
        d = match closest(name, candidates.iter()) {
            Some(near) => d.with_help(format!("did you mean `{near}`?")),
            None => d.with_help("add a fact or a rule for it, or declare a `fn`"),
        };
        self.error(d);
        None
    }

    /// A head term of a rule; access rules accept `_` (any object).
    pub(super) fn head_term(
        &mut self,
        term: &Spanned<ast::Term>,
        vars: &mut VarTable,
        access: bool,
    ) -> Option<ir::Term> {
        match &term.node {
            ast::Term::Anon if access => Some(ir::Term::Var(vars.fresh(term.span))),
            ast::Term::Anon => {
                self.error(
                    Diagnostic::error("`_` cannot appear in a rule head", term.span, "anonymous variable in the head")
                        .with_help("name the variable and bind it in the body"),
                );
                None
            }
            ast::Term::Now | ast::Term::Ctx(_) => {
                self.error(Diagnostic::error(
                    "a rule head takes variables and constants only",
                    term.span,
                    "not allowed in a head",
                ));
                None
            }
            _ => self.term(term, vars),
        }
    }

    /// A term of an atom.
    pub(super) fn term(&mut self, term: &Spanned<ast::Term>, vars: &mut VarTable) -> Option<ir::Term> {
        Some(match &term.node {
            ast::Term::Var(name) => ir::Term::Var(vars.named(name, term.span)),
            ast::Term::Anon => ir::Term::Var(vars.fresh(term.span)),
            ast::Term::Const(c) => ir::Term::Const(self.value(c)),
            ast::Term::Now => ir::Term::Now,
            ast::Term::Ctx(key) => ir::Term::Ctx(self.program.symbols.intern(key)),
            ast::Term::Any(_) => {
                self.error(wildcard_outside_a_question(term.span));
                return None;
            }
        })
    }

    /// Body literals, each with its span. `&&` splits into separate literals.
    pub(super) fn body(&mut self, literals: &[ast::Literal], vars: &mut VarTable) -> Vec<(Literal, Span)> {
        let mut out = Vec::new();
        for literal in literals {
            match literal {
                ast::Literal::Not(atom) if self.is_function(&atom.relation.node) => {
                    let args: Vec<_> =
                        atom.args.iter().map(|t| Spanned::new(ast::Expr::Term(t.node.clone()), t.span)).collect();
                    let call = Spanned::new(ast::Expr::Call(atom.relation.clone(), args), atom.span);
                    if let Some(e) = self.expr(&call, &mut Scope::Rule(vars)) {
                        out.push((Literal::Cond(ir::Expr::Not(Box::new(e))), atom.span));
                    }
                }
                ast::Literal::Not(atom) => {
                    if let Some(a) =
                        self.body_atom(&atom.relation, atom.args.iter().map(|t| Ok(t.clone())), atom.span, vars)
                    {
                        out.push((Literal::Neg(a), atom.span));
                    }
                }
                ast::Literal::Expr(e) => self.expr_literal(e, vars, &mut out),
            }
        }
        out
    }

    fn expr_literal(&mut self, e: &Spanned<ast::Expr>, vars: &mut VarTable, out: &mut Vec<(Literal, Span)>) {
        match &e.node {
            ast::Expr::Binary(AstOp::And, a, b) => {
                self.expr_literal(a, vars, out);
                self.expr_literal(b, vars, out);
            }
            ast::Expr::Call(name, args) if !self.is_function(&name.node) => {
                let terms = args.iter().map(as_term);
                if let Some(a) = self.body_atom(name, terms, e.span, vars) {
                    out.push((Literal::Pos(a), e.span));
                }
            }
            ast::Expr::InContainer(x, y) => {
                let name = Spanned::new("within".to_string(), e.span);
                if let Some(a) = self.body_atom(&name, [as_term(x), as_term(y)].into_iter(), e.span, vars) {
                    out.push((Literal::Pos(a), e.span));
                }
            }
            ast::Expr::InList(x, items) if matches!(x.node, ast::Expr::Term(ast::Term::Var(_))) => {
                let ast::Expr::Term(ast::Term::Var(name)) = &x.node else {
                    return;
                };
                let var = vars.named(name, x.span);
                let mut lowered = Vec::new();
                for item in items {
                    lowered.extend(self.expr(item, &mut Scope::Rule(vars)));
                }
                if lowered.len() == items.len() {
                    out.push((Literal::Member(var, lowered), e.span));
                }
            }
            _ => {
                if let Some(cond) = self.expr(e, &mut Scope::Rule(vars)) {
                    out.push((Literal::Cond(cond), e.span));
                }
            }
        }
    }

    /// A positive or negated body atom; its relation must exist.
    fn body_atom(
        &mut self,
        name: &Spanned<String>,
        args: impl Iterator<Item = Result<Spanned<ast::Term>, Span>>,
        span: Span,
        vars: &mut VarTable,
    ) -> Option<ir::Atom> {
        let rel = self.known_relation(&name.node, span);
        let mut terms = Vec::new();
        for arg in args {
            match arg {
                Ok(t) => terms.extend(self.term(&t, vars)),
                Err(bad) => self.error(
                    Diagnostic::error("an atom's arguments must be variables or constants", bad, "an expression")
                        .with_help("bind the value to a variable first: `rel(X), X == a + b`"),
                ),
            }
        }
        let rel = rel?;
        let arity = self.program.relation(rel).map_or(0, |r| r.arity);
        (terms.len() == arity).then_some(ir::Atom { rel, args: terms })
    }

    /// A `fn` body: parameters become [`ir::Expr::Param`].
    pub(super) fn fn_body(&mut self, body: &Spanned<ast::Expr>, params: &[String]) -> Option<ir::Expr> {
        self.expr(body, &mut Scope::Fn(params))
    }

    fn expr(&mut self, e: &Spanned<ast::Expr>, scope: &mut Scope) -> Option<ir::Expr> {
        Some(match &e.node {
            ast::Expr::Term(term) => {
                if let Scope::Fn(params) = scope {
                    let name = match term {
                        ast::Term::Var(n) | ast::Term::Const(ast::Constant::Str(n)) => Some(n),
                        _ => None,
                    };
                    if let Some(i) = name.and_then(|n| params.iter().position(|p| p == n)) {
                        return Some(ir::Expr::Param(i as u32));
                    }
                    if matches!(term, ast::Term::Var(_) | ast::Term::Anon) {
                        self.error(
                            Diagnostic::error("unknown parameter", e.span, "not a parameter of this function")
                                .with_help("a function body may use its parameters, `now`, `ctx` and constants"),
                        );
                        return None;
                    }
                }
                let spanned = Spanned::new(term.clone(), e.span);
                let mut scratch = VarTable::default();
                let vars = match scope {
                    Scope::Rule(vars) => &mut **vars,
                    Scope::Fn(_) => &mut scratch,
                };
                ir::Expr::Term(self.term(&spanned, vars)?)
            }
            ast::Expr::Call(name, args) => {
                let (callee, arity) = match self.functions.get(&name.node) {
                    Some((callee, arity, _)) => (*callee, *arity),
                    None => match ir::Builtin::lookup(&name.node) {
                        Some((builtin, arity)) => (Callee::Builtin(builtin), arity),
                        None => {
                            let is_relation = self.relations.contains_key(&name.node);
                            let candidates: Vec<String> = self
                                .functions
                                .keys()
                                .cloned()
                                .chain(ir::Builtin::ALL.iter().map(|(_, n, _)| n.to_string()))
                                .collect();
                            let mut d = Diagnostic::error(
                                format!("unknown function `{}`", name.node),
                                name.span,
                                "no function of this name",
                            );
                            d = if is_relation {
                                d.with_help("a relation can only be a literal of its own in a rule body, not part of an expression")
                            } else if let Some(near) = closest(&name.node, candidates.iter()) {
                                d.with_help(format!("did you mean `{near}`?"))
                            } else {
                                d.with_help("built-in functions: hour, minute, weekday, date, starts_with, ends_with, contains, lower, type")
                            };
                            self.error(d);
                            return None;
                        }
                    },
                };
                if args.len() != arity {
                    self.error(Diagnostic::error(
                        format!("wrong number of arguments: `{}` takes {arity}, got {}", name.node, args.len()),
                        e.span,
                        format!("{} argument{}", args.len(), super::plural(args.len())),
                    ));
                    return None;
                }
                let mut lowered = Vec::new();
                for arg in args {
                    lowered.push(self.expr(arg, scope)?);
                }
                ir::Expr::Call(callee, lowered)
            }
            ast::Expr::Not(inner) => ir::Expr::Not(Box::new(self.expr(inner, scope)?)),
            ast::Expr::Binary(op, a, b) => {
                let (a, b) = (self.expr(a, scope), self.expr(b, scope));
                ir::Expr::Binary(lower_op(*op), Box::new(a?), Box::new(b?))
            }
            ast::Expr::InList(x, items) => {
                let x = self.expr(x, scope);
                let mut lowered = Vec::new();
                for item in items {
                    lowered.extend(self.expr(item, scope));
                }
                if lowered.len() != items.len() {
                    return None;
                }
                ir::Expr::InList(Box::new(x?), lowered)
            }
            ast::Expr::InContainer(..) => {
                self.error(
                    Diagnostic::error(
                        "containment `X in Y` must be a literal of its own",
                        e.span,
                        "inside an expression",
                    )
                    .with_help("write it as a separate condition (`X in Y, ...`), or use a list: `X in [a, b]`"),
                );
                return None;
            }
        })
    }
}

/// An expression that must be a plain term (an atom argument).
fn as_term(e: &Spanned<ast::Expr>) -> Result<Spanned<ast::Term>, Span> {
    match &e.node {
        ast::Expr::Term(t) => Ok(Spanned::new(t.clone(), e.span)),
        _ => Err(e.span),
    }
}

fn lower_op(op: AstOp) -> ir::BinOp {
    match op {
        AstOp::Or => ir::BinOp::Or,
        AstOp::And => ir::BinOp::And,
        AstOp::Eq => ir::BinOp::Eq,
        AstOp::Ne => ir::BinOp::Ne,
        AstOp::Lt => ir::BinOp::Lt,
        AstOp::Le => ir::BinOp::Le,
        AstOp::Gt => ir::BinOp::Gt,
        AstOp::Ge => ir::BinOp::Ge,
        AstOp::Add => ir::BinOp::Add,
        AstOp::Sub => ir::BinOp::Sub,
    }
}

/// `*` in a rule or a fact: it asks about a fresh constant, which only a
/// question can do.
pub(super) fn wildcard_outside_a_question(span: crate::syntax::span::Span) -> Diagnostic {
    Diagnostic::error("`*` is a question about any object, not a constant", span, "only in a question")
        .with_help("use `*` or `TYPE:*` in a query, a check or an assert; a global assignment or grant omits `on`")
}

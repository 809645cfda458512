//! Lowering what a request brings at run time: a query atom (`warden
//! query`, explanations, listings), the `ctx` values (read per check with
//! the lexer, not the parser) and single constants, against the program's
//! symbols and the request's own.

use super::intern::Symbols;
use super::ir::{self, Value, VarId};
use crate::diagnostics::Diagnostic;
use crate::syntax::{self, ast};
use std::collections::BTreeMap;

/// A query atom over the program's relations, its constants interned for this request.
pub(crate) fn query_atom(
    program: &ir::Program,
    symbols: &Symbols,
    atom: &ast::Atom,
) -> Result<(ir::Atom, Vec<String>), Diagnostic> {
    let name = &atom.relation.node;
    let rel = program
        .relation_id(name)
        .filter(|r| program.relation(*r).is_some_and(|r| r.kind != ir::RelationKind::Internal));
    let Some(rel) = rel else {
        let names: Vec<String> =
            program.relations.iter().filter(|r| r.kind != ir::RelationKind::Internal).map(|r| r.name.clone()).collect();
        let mut d = Diagnostic::error(
            format!("unknown relation `{name}`"),
            atom.relation.span,
            "not a relation of the program",
        );
        if let Some(near) = super::closest(name, names.iter()) {
            d = d.with_help(format!("did you mean `{near}`?"));
        }
        return Err(d);
    };
    let arity = program.relation(rel).map_or(0, |r| r.arity);
    if arity != atom.args.len() {
        return Err(Diagnostic::error(
            format!("arity mismatch: `{name}` has {arity} arguments, the query has {}", atom.args.len()),
            atom.span,
            "wrong number of arguments",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    let mut args = Vec::new();
    for arg in &atom.args {
        let term = match &arg.node {
            ast::Term::Var(n) => {
                let id = names.iter().position(|m| m == n).unwrap_or_else(|| {
                    names.push(n.clone());
                    names.len() - 1
                });
                ir::Term::Var(VarId(id as u32))
            }
            ast::Term::Any(ty) => {
                // A fresh constant: one the program does not know, shown as written.
                let shown = ty.as_ref().map_or_else(|| "*".to_string(), |t| format!("{t}:*"));
                let Some(sym) = symbols.fresh(&shown) else {
                    return Err(Diagnostic::error("at most three `*` in one question", arg.span, "one too many"));
                };
                ir::Term::Const(Value::Sym(sym))
            }
            ast::Term::Anon => {
                names.push("_".into());
                ir::Term::Var(VarId(names.len() as u32 - 1))
            }
            ast::Term::Const(c) => ir::Term::Const(constant_value(symbols, c)),
            ast::Term::Now | ast::Term::Ctx(_) => {
                return Err(Diagnostic::error(
                    "a query takes variables and constants only",
                    arg.span,
                    "not allowed in a query",
                ));
            }
        };
        args.push(term);
    }
    Ok((ir::Atom { rel, args }, names))
}

/// The value of a constant a request names, its string interned for the request.
pub(crate) fn constant_value(symbols: &Symbols, c: &ast::Constant) -> Value {
    super::value_of(c, |name| symbols.intern(name))
}

/// The request context: each value parsed as a constant, or kept as a string.
pub(crate) fn context(symbols: &Symbols, ctx: &BTreeMap<String, String>) -> BTreeMap<super::intern::Sym, Value> {
    if ctx.is_empty() {
        return BTreeMap::new();
    }
    ctx.iter()
        .map(|(k, v)| {
            let value = match syntax::lexer::lone_constant(v) {
                Some(c) => constant_value(symbols, &c),
                None => Value::Sym(symbols.intern(v)),
            };
            (symbols.intern(k), value)
        })
        .collect()
}

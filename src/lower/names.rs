//! Lowering's first pass: the names a program declares (roles,
//! functions, relations with their arities), checked before any statement
//! is lowered, so a use can be told from a typo wherever it appears.

use super::ir::{self, Callee, RelationKind, Value};
use super::{Lowerer, RoleDecl, plural};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{self, StatementKind};
use crate::syntax::span::{Span, Spanned};

impl Lowerer {
    /// Roles and functions, with duplicate checks.
    pub(super) fn declare_names(&mut self, ast: &ast::Ast) {
        for statement in &ast.statements {
            match &statement.kind {
                StatementKind::Role { name, extends, .. } => {
                    if let Some(first) = self.role_index.get(&name.node).copied() {
                        self.error(
                            Diagnostic::error(
                                format!("role `{}` is defined twice", name.node),
                                name.span,
                                "second definition",
                            )
                            .with_note(first, "first defined here")
                            .with_help("merge the two role bodies into one"),
                        );
                        continue;
                    }
                    self.role_index.insert(name.node.clone(), name.span);
                    let extends = extends.iter().map(|e| (e.node.clone(), e.span)).collect();
                    self.roles.push(RoleDecl { name: name.node.clone(), extends });
                }
                StatementKind::Fn { name, params, .. } | StatementKind::ExternFn { name, params } => {
                    let is_extern = matches!(statement.kind, StatementKind::ExternFn { .. });
                    if ir::Builtin::lookup(&name.node).is_some() {
                        self.error(Diagnostic::error(
                            format!("`{}` is a built-in function and cannot be redefined", name.node),
                            name.span,
                            "already a built-in",
                        ));
                        continue;
                    }
                    if let Some((_, _, first)) = self.functions.get(&name.node) {
                        let first = *first;
                        self.error(
                            Diagnostic::error(
                                format!("function `{}` is defined twice", name.node),
                                name.span,
                                "second definition",
                            )
                            .with_note(first, "first defined here"),
                        );
                        continue;
                    }
                    let callee = if is_extern {
                        self.program.externs.push(ir::ExternDef {
                            name: name.node.clone(),
                            arity: params.len(),
                            span: name.span,
                        });
                        Callee::Extern(self.program.externs.len() as u32 - 1)
                    } else {
                        let placeholder = ir::Expr::Term(ir::Term::Const(Value::Bool(false)));
                        self.program.fns.push(ir::FnDef {
                            name: name.node.clone(),
                            arity: params.len(),
                            body: placeholder,
                            span: name.span,
                        });
                        Callee::Fn(self.program.fns.len() as u32 - 1)
                    };
                    self.functions.insert(name.node.clone(), (callee, params.len(), name.span));
                }
                _ => {}
            }
        }
    }

    pub(super) fn is_function(&self, name: &str) -> bool {
        self.functions.contains_key(name) || ir::Builtin::lookup(name).is_some()
    }

    /// Every relation use, in source order: the first fixes the arity.
    pub(super) fn declare_relations(&mut self, ast: &ast::Ast) {
        let mut uses = Vec::new();
        for statement in &ast.statements {
            self.collect_uses(statement, &mut uses);
        }
        uses.sort_by_key(|u: &Use| (u.span.file, u.span.start));
        for u in &uses {
            match self.relations.get(&u.name).copied() {
                None => {
                    let id = self.add_relation(&u.name, u.arity, RelationKind::User, u.arity, Some(u.span));
                    if u.defines {
                        self.defined.insert(id);
                    }
                }
                Some(id) => {
                    let Some(rel) = self.program.relation(id).cloned() else {
                        continue;
                    };
                    if rel.arity != u.arity {
                        let mut d = Diagnostic::error(
                            format!(
                                "arity mismatch: `{}` has {} argument{}, here it has {}",
                                u.name,
                                rel.arity,
                                plural(rel.arity),
                                u.arity
                            ),
                            u.span,
                            format!("{} argument{}", u.arity, plural(u.arity)),
                        );
                        d = match rel.first_use {
                            Some(first) => d.with_note(first, format!("first used with {} here", rel.arity)),
                            None => {
                                d.with_help(format!("`{}` is a built-in relation with {} arguments", u.name, rel.arity))
                            }
                        };
                        self.error(d);
                        continue;
                    }
                    if u.defines {
                        if rel.kind == RelationKind::BuiltinDerived {
                            self.error(
                                Diagnostic::error(
                                    format!("`{}` is derived by Warden and cannot be defined", u.name),
                                    u.span,
                                    "defined here",
                                )
                                .with_help("define a relation of your own, or use `allow`/`deny` rules"),
                            );
                        }
                        self.defined.insert(id);
                    }
                }
            }
        }
    }

    /// Records declared column types, and `NAME: []` declarations of data
    /// files (their arity comes from the uses).
    pub(super) fn record_declarations(&mut self, ast: &ast::Ast) {
        for statement in &ast.statements {
            let StatementKind::Relation { name, columns } = &statement.kind else { continue };
            let Some(id) = self.relations.get(&name.node).copied() else {
                // `NAME: []` that nothing uses: nothing to declare.
                continue;
            };
            let Some(relation) = self.program.relation(id).cloned() else { continue };
            if relation.kind != RelationKind::User {
                self.error(Diagnostic::error(
                    format!("`{}` is built in and cannot be declared", name.node),
                    name.span,
                    "built in",
                ));
                continue;
            }
            self.defined.insert(id);
            if let Some(slot) = self.program.relations.get_mut(id.0 as usize) {
                slot.declared = true;
            }
            let Some(columns) = columns else { continue };
            if let Some((_, first)) = &relation.columns {
                self.error(
                    Diagnostic::error(format!("`{}` is declared twice", name.node), name.span, "declared again")
                        .with_note(*first, "first declared here"),
                );
                continue;
            }
            let types = columns.iter().map(|c| ir::ColumnType(c.node.clone())).collect();
            if let Some(slot) = self.program.relations.get_mut(id.0 as usize) {
                slot.columns = Some((types, name.span));
            }
        }
    }

    fn collect_uses(&self, statement: &ast::Statement, uses: &mut Vec<Use>) {
        let atom = |a: &ast::Atom, defines: bool, uses: &mut Vec<Use>| {
            uses.push(Use { name: a.relation.node.clone(), arity: a.args.len(), span: a.span, defines });
        };
        match &statement.kind {
            StatementKind::Fact(a) => atom(a, true, uses),
            StatementKind::Relation { name, columns: Some(columns) } => {
                uses.push(Use { name: name.node.clone(), arity: columns.len(), span: name.span, defines: true });
            }
            StatementKind::Rule { head, body } => {
                atom(head, true, uses);
                self.literal_uses(body, uses);
            }
            StatementKind::Access { body, .. } => self.literal_uses(body, uses),
            StatementKind::Role { entries, .. } => {
                for entry in entries {
                    self.literal_uses(&entry.conditions, uses);
                }
            }
            StatementKind::Test { items, .. } => {
                for item in items {
                    match item {
                        ast::TestItem::Fact(s) => self.collect_uses(s, uses),
                        ast::TestItem::Assert(a) => {
                            let (ast::AssertKind::Holds(x)
                            | ast::AssertKind::NotHolds(x)
                            | ast::AssertKind::Count(x, _)) = &a.kind;
                            atom(x, false, uses);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn literal_uses(&self, body: &[ast::Literal], uses: &mut Vec<Use>) {
        for literal in body {
            match literal {
                ast::Literal::Not(a) if !self.is_function(&a.relation.node) => {
                    uses.push(Use { name: a.relation.node.clone(), arity: a.args.len(), span: a.span, defines: false });
                }
                ast::Literal::Expr(e) => self.expr_uses(e, uses),
                _ => {}
            }
        }
    }

    fn expr_uses(&self, e: &Spanned<ast::Expr>, uses: &mut Vec<Use>) {
        match &e.node {
            ast::Expr::Binary(ast::BinOp::And, a, b) => {
                self.expr_uses(a, uses);
                self.expr_uses(b, uses);
            }
            ast::Expr::Call(name, args) if !self.is_function(&name.node) => {
                uses.push(Use { name: name.node.clone(), arity: args.len(), span: e.span, defines: false });
            }
            _ => {}
        }
    }
}

/// One use of a relation name, for arity checking in source order.
struct Use {
    name: String,
    arity: usize,
    span: Span,
    defines: bool,
}

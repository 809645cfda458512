//! Building the AST from pest's pairs: every node with its span in the
//! file, constants unescaped, and the limits on operators per statement.

use super::super::ast::*;
use super::super::diagnostic::Diagnostic;
use super::super::span::{FileId, Span, Spanned};
use super::{MAX_OPERATORS, Result, Rule};
use pest::iterators::Pair;

/// Builds AST nodes from pairs, shifting spans by `offset` (the chunk's start).
pub(super) struct Builder {
    file: FileId,
    offset: usize,
    /// Binary operators seen in the current statement.
    operators: std::cell::Cell<usize>,
}

impl Builder {
    /// A builder for the text of `file` starting at byte `offset`.
    pub(super) fn new(file: FileId, offset: usize) -> Builder {
        Builder { file, offset, operators: Default::default() }
    }

    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    pub(super) fn internal(&self, range: std::ops::Range<usize>) -> Diagnostic {
        Diagnostic::error(
            "internal parser error: the syntax tree has an unexpected shape",
            Span::new(self.file, self.offset + range.start, self.offset + range.end),
            "while reading this",
        )
        .with_help("this is a bug in Warden; please report it with this input")
    }

    fn unexpected(&self, pair: &Pair<Rule>) -> Diagnostic {
        let s = pair.as_span();
        self.internal(s.start()..s.end())
    }

    pub(super) fn statement(&self, pair: Pair<Rule>) -> Result<Statement> {
        let span = self.span(&pair);
        self.operators.set(0);
        let grammar_rule = pair.as_rule();
        let kind = match grammar_rule {
            Rule::role_decl => self.role(pair)?,
            Rule::assign_stmt => StatementKind::Assign(self.holding(pair)?),
            Rule::grant_stmt => StatementKind::Grant(self.holding(pair)?),
            Rule::superuser_stmt => StatementKind::Superuser(self.only_name(pair)?),
            Rule::inactive_stmt => StatementKind::Inactive(self.only_name(pair)?),
            Rule::in_stmt => {
                let mut inner = pair.into_inner();
                let member = self.name_opt(inner.next(), span)?;
                let container = self.name_opt(inner.next(), span)?;
                StatementKind::In(member, container)
            }
            Rule::allow_stmt | Rule::deny_stmt => self.access(pair, grammar_rule == Rule::allow_stmt)?,
            Rule::rule => {
                let mut inner = pair.into_inner();
                let head = self.atom(self.need(inner.next(), span)?)?;
                let body = self.conditions(self.need(inner.next(), span)?)?;
                StatementKind::Rule { head, body }
            }
            Rule::fact => {
                let mut inner = pair.into_inner();
                StatementKind::Fact(self.atom(self.need(inner.next(), span)?)?)
            }
            Rule::relation_decl => {
                let mut inner = pair.into_inner();
                let name = self.need(inner.next(), span)?;
                let name = Spanned::new(name.as_str().to_string(), self.span(&name));
                let columns = inner
                    .map(|column| {
                        let span = self.span(&column);
                        Spanned::new(column.into_inner().map(|ty| ty.as_str().to_string()).collect(), span)
                    })
                    .collect();
                StatementKind::Relation { name, columns: Some(columns) }
            }
            Rule::fn_decl => {
                let mut name = None;
                let mut params = Vec::new();
                let mut body = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::fn_name => name = Some(Spanned::new(p.as_str().to_string(), self.span(&p))),
                        Rule::params => params = self.params(p),
                        Rule::expr => body = Some(self.expr(p)?),
                        _ => return Err(self.unexpected(&p)),
                    }
                }
                let name = name.ok_or_else(|| self.internal(0..0))?;
                let body = body.ok_or_else(|| self.internal(0..0))?;
                StatementKind::Fn { name, params, body }
            }
            Rule::extern_fn_decl => {
                let mut name = None;
                let mut params = Vec::new();
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::fn_name => name = Some(Spanned::new(p.as_str().to_string(), self.span(&p))),
                        Rule::params => params = self.params(p),
                        _ => return Err(self.unexpected(&p)),
                    }
                }
                StatementKind::ExternFn { name: name.ok_or_else(|| self.internal(0..0))?, params }
            }
            Rule::test_block => self.test(pair)?,
            _ => return Err(self.unexpected(&pair)),
        };
        Ok(Statement { kind, span })
    }

    fn count_operator(&self, span: Span) -> Result<()> {
        self.operators.set(self.operators.get() + 1);
        if self.operators.get() > MAX_OPERATORS {
            return Err(Diagnostic::error("statement is too long", span, "too many operators").with_help(format!(
                "a statement may hold at most {MAX_OPERATORS} operators; split it into rules or `fn`s"
            )));
        }
        Ok(())
    }

    fn need<'a>(&self, pair: Option<Pair<'a, Rule>>, span: Span) -> Result<Pair<'a, Rule>> {
        pair.ok_or_else(|| self.internal(span.start as usize - self.offset..span.end as usize - self.offset))
    }

    fn role(&self, pair: Pair<Rule>) -> Result<StatementKind> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let name = self.name_opt(inner.next(), span)?;
        let mut extends = Vec::new();
        let mut entries = Vec::new();
        for p in inner {
            if p.as_rule() == Rule::role_entry {
                entries.push(self.role_entry(p)?);
            } else {
                extends.push(self.name(p)?);
            }
        }
        Ok(StatementKind::Role { name, extends, entries })
    }

    fn role_entry(&self, pair: Pair<Rule>) -> Result<RoleEntry> {
        let span = self.span(&pair);
        let mut perm = None;
        let mut on_type = None;
        let mut conditions = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::type_name => on_type = Some(Spanned::new(p.as_str().to_string(), self.span(&p))),
                Rule::conditions => conditions = self.conditions(p)?,
                _ => perm = Some(self.name(p)?),
            }
        }
        Ok(RoleEntry { perm: self.need_value(perm, span)?, on_type, conditions, span })
    }

    fn need_value<T>(&self, value: Option<T>, span: Span) -> Result<T> {
        value.ok_or_else(|| self.internal(span.start as usize - self.offset..span.end as usize - self.offset))
    }

    fn holding(&self, pair: Pair<Rule>) -> Result<Holding> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let subject = self.name_opt(inner.next(), span)?;
        let what = self.name_opt(inner.next(), span)?;
        let mut holding = Holding { subject, what, on: None, from: None, until: None };
        for p in inner {
            let clause = p.as_rule();
            let child = self.need(p.into_inner().next(), span)?;
            match clause {
                Rule::scope => holding.on = Some(self.name(child)?),
                Rule::from_clause => holding.from = Some(self.timestamp(child)?),
                Rule::until_clause => holding.until = Some(self.timestamp(child)?),
                _ => return Err(self.unexpected(&child)),
            }
        }
        Ok(holding)
    }

    fn only_name(&self, pair: Pair<Rule>) -> Result<Spanned<String>> {
        let span = self.span(&pair);
        self.name_opt(pair.into_inner().next(), span)
    }

    fn name_opt(&self, pair: Option<Pair<Rule>>, span: Span) -> Result<Spanned<String>> {
        self.name(self.need(pair, span)?)
    }

    /// A constant that must be a string (role, user, permission, object).
    fn name(&self, pair: Pair<Rule>) -> Result<Spanned<String>> {
        let span = self.span(&pair);
        match self.constant(pair)? {
            Constant::Str(s) => Ok(Spanned::new(s, span)),
            _ => Err(Diagnostic::error("expected a name", span, "this is not a name")),
        }
    }

    fn timestamp(&self, pair: Pair<Rule>) -> Result<Spanned<i64>> {
        let span = self.span(&pair);
        let micros =
            crate::time::parse_timestamp(pair.as_str()).map_err(|e| Diagnostic::error("invalid timestamp", span, e))?;
        Ok(Spanned::new(micros, span))
    }

    fn params(&self, pair: Pair<Rule>) -> Vec<Spanned<String>> {
        pair.into_inner().map(|p| Spanned::new(p.as_str().to_string(), self.span(&p))).collect()
    }

    fn access(&self, pair: Pair<Rule>, allow: bool) -> Result<StatementKind> {
        let span = self.span(&pair);
        let mut terms = Vec::new();
        let mut body = Vec::new();
        for p in pair.into_inner() {
            if p.as_rule() == Rule::conditions {
                body = self.conditions(p)?;
            } else {
                terms.push(self.term(p)?);
            }
        }
        let mut terms = terms.into_iter();
        let subject = self.need_value(terms.next(), span)?;
        let perm = self.need_value(terms.next(), span)?;
        let object = terms.next();
        let effect = if allow { Effect::Allow } else { Effect::Deny };
        Ok(StatementKind::Access { effect, subject, perm, object, body })
    }

    fn test(&self, pair: Pair<Rule>) -> Result<StatementKind> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name_pair = self.need(inner.next(), span)?;
        let name = self.name(name_pair)?;
        let mut items = Vec::new();
        for p in inner {
            let item_span = self.span(&p);
            let item = match p.as_rule() {
                Rule::test_at => TestItem::At(self.timestamp(self.need(p.into_inner().next(), item_span)?)?.node),
                Rule::test_ctx => {
                    let mut parts = p.into_inner();
                    let key = self.need(parts.next(), item_span)?.as_str().to_string();
                    let value = self.constant(self.need(parts.next(), item_span)?)?;
                    TestItem::Ctx(key, value)
                }
                Rule::assert_stmt => TestItem::Assert(self.assertion(p)?),
                _ => TestItem::Fact(self.statement(p)?),
            };
            items.push(item);
        }
        Ok(StatementKind::Test { name, items })
    }

    fn assertion(&self, pair: Pair<Rule>) -> Result<Assert> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let what = self.need(inner.next(), span)?;
        let mut at = None;
        let mut path = None;
        for p in inner {
            if p.as_rule() == Rule::assert_path {
                let mut parts = p.into_inner();
                let word = self.need(parts.next(), span)?;
                let via = word.as_rule() == Rule::via_word;
                let target = self.need(parts.next(), span)?;
                let name = if target.as_rule() == Rule::path_keyword {
                    Spanned::new(target.as_str().to_string(), self.span(&target))
                } else {
                    self.name(target)?
                };
                path = Some((via, name));
            } else {
                at = Some(self.timestamp(p)?.node);
            }
        }
        let what_span = self.span(&what);
        let kind = match what.as_rule() {
            Rule::assert_count => {
                let mut parts = what.into_inner();
                let atom = self.atom(self.need(parts.next(), what_span)?)?;
                let n_pair = self.need(parts.next(), what_span)?;
                let n = match self.constant(n_pair)? {
                    Constant::Int(n) => n,
                    _ => return Err(self.internal(0..0)),
                };
                AssertKind::Count(atom, n)
            }
            Rule::assert_not => {
                let target = self.need(what.into_inner().nth(1), what_span)?;
                AssertKind::NotHolds(self.assert_target(target)?)
            }
            Rule::assert_atom | Rule::assert_in => AssertKind::Holds(self.assert_target(what)?),
            _ => return Err(self.unexpected(&what)),
        };
        Ok(Assert { kind, path, at, span })
    }

    /// `assert_atom`, `assert_in` or a bare `atom` → the atom to check.
    fn assert_target(&self, pair: Pair<Rule>) -> Result<Atom> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::atom => self.atom(pair),
            Rule::assert_atom => self.atom(self.need(pair.into_inner().next(), span)?),
            Rule::assert_in => {
                let mut inner = pair.into_inner();
                let x = self.name_opt(inner.next(), span)?;
                let y = self.name_opt(inner.next(), span)?;
                let args = vec![
                    Spanned::new(Term::Const(Constant::Str(x.node)), x.span),
                    Spanned::new(Term::Const(Constant::Str(y.node)), y.span),
                ];
                Ok(Atom { relation: Spanned::new("within".into(), span), args, span })
            }
            _ => Err(self.unexpected(&pair)),
        }
    }

    fn conditions(&self, pair: Pair<Rule>) -> Result<Vec<Literal>> {
        let mut literals = Vec::new();
        for literal in pair.into_inner() {
            let span = self.span(&literal);
            let inner = self.need(literal.into_inner().next(), span)?;
            match inner.as_rule() {
                Rule::negated => {
                    let target = self.need(inner.into_inner().nth(1), span)?;
                    let atom = if target.as_rule() == Rule::in_atom {
                        let target_span = self.span(&target);
                        let mut parts = target.into_inner();
                        let x = self.term(self.need(parts.next(), span)?)?;
                        let y = self.term(self.need(parts.next(), span)?)?;
                        Atom {
                            relation: Spanned::new("within".into(), target_span),
                            args: vec![x, y],
                            span: target_span,
                        }
                    } else {
                        self.atom(target)?
                    };
                    literals.push(Literal::Not(atom));
                }
                _ => literals.push(Literal::Expr(self.expr(inner)?)),
            }
        }
        Ok(literals)
    }

    /// `rel(t, ...)`.
    pub(crate) fn atom(&self, pair: Pair<Rule>) -> Result<Atom> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let rel = self.need(inner.next(), span)?;
        let relation = Spanned::new(rel.as_str().to_string(), self.span(&rel));
        let args = inner.map(|p| self.term(p)).collect::<Result<Vec<_>>>()?;
        Ok(Atom { relation, args, span })
    }

    fn term(&self, pair: Pair<Rule>) -> Result<Spanned<Term>> {
        let span = self.span(&pair);
        let term = match pair.as_rule() {
            Rule::variable => {
                if pair.as_str().starts_with('_') {
                    Term::Anon
                } else {
                    Term::Var(pair.as_str().to_string())
                }
            }
            Rule::now => Term::Now,
            Rule::ctx_ref => Term::Ctx(self.need(pair.into_inner().next(), span)?.as_str().to_string()),
            Rule::wildcard => Term::Any(pair.into_inner().next().map(|ty| ty.as_str().to_string())),
            _ => Term::Const(self.constant(pair)?),
        };
        Ok(Spanned::new(term, span))
    }

    pub(super) fn constant(&self, pair: Pair<Rule>) -> Result<Constant> {
        let span = self.span(&pair);
        let text = pair.as_str();
        Ok(match pair.as_rule() {
            Rule::bare_ident => Constant::Str(text.to_string()),
            Rule::typed_id => {
                let mut inner = pair.into_inner();
                let ty = self.need(inner.next(), span)?.as_str();
                let id_pair = self.need(inner.next(), span)?;
                let id = if id_pair.as_rule() == Rule::string {
                    // `doc:"Q3 plan"` is the string `doc:Q3 plan`.
                    self.string(id_pair)?
                } else {
                    id_pair.as_str().to_string()
                };
                Constant::Str(format!("{ty}:{id}"))
            }
            Rule::string => Constant::Str(self.string(pair)?),
            Rule::integer => Constant::Int(text.parse::<i64>().map_err(|_| {
                Diagnostic::error("integer out of range", span, "does not fit in a 64-bit integer")
                    .with_help("integers are between -9223372036854775808 and 9223372036854775807")
            })?),
            Rule::duration => Constant::Dur(
                crate::time::parse_duration(text).map_err(|e| Diagnostic::error("invalid duration", span, e))?,
            ),
            Rule::timestamp => Constant::Time(self.timestamp(pair)?.node),
            Rule::boolean => Constant::Bool(text == "true"),
            _ => return Err(self.unexpected(&pair)),
        })
    }

    /// The value of a string literal, escapes resolved.
    fn string(&self, pair: Pair<Rule>) -> Result<String> {
        let span = self.span(&pair);
        let raw = pair.as_str();
        let inner = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
        unescape(inner).map_err(|(at, msg)| {
            let start = span.start as usize + 1 + at;
            Diagnostic::error("invalid escape in string", Span::new(self.file, start, start + 2), msg)
                .with_help("strings accept \\\", \\\\, \\n, \\t and \\u{...}")
        })
    }

    fn expr(&self, pair: Pair<Rule>) -> Result<Spanned<Expr>> {
        let pair = innermost(pair);
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr(self.need(pair.into_inner().next(), span)?),
            Rule::or_expr | Rule::and_expr | Rule::additive => {
                let mut inner = pair.into_inner();
                let mut left = self.expr(self.need(inner.next(), span)?)?;
                while let Some(op) = inner.next() {
                    self.count_operator(span)?;
                    let right = self.expr(self.need(inner.next(), span)?)?;
                    let op = match op.as_str() {
                        "||" => BinOp::Or,
                        "&&" => BinOp::And,
                        "+" => BinOp::Add,
                        _ => BinOp::Sub,
                    };
                    let joined = left.span.to(right.span);
                    left = Spanned::new(Expr::Binary(op, Box::new(left), Box::new(right)), joined);
                }
                Ok(left)
            }
            Rule::unary => {
                let mut bangs = 0;
                let mut operand = None;
                for p in pair.into_inner() {
                    if p.as_rule() == Rule::bang {
                        bangs += 1;
                    } else {
                        operand = Some(self.expr(p)?);
                    }
                }
                let mut result = self.need_value(operand, span)?;
                for _ in 0..bangs {
                    result = Spanned::new(Expr::Not(Box::new(result)), span);
                }
                Ok(result)
            }
            Rule::comparison => {
                let mut inner = pair.into_inner();
                let left = self.expr(self.need(inner.next(), span)?)?;
                let Some(op) = inner.next() else {
                    return Ok(left);
                };
                let right_pair = self.need(inner.next(), span)?;
                if op.as_rule() == Rule::cmp_op {
                    let op = match op.as_str() {
                        "==" => BinOp::Eq,
                        "!=" => BinOp::Ne,
                        "<=" => BinOp::Le,
                        ">=" => BinOp::Ge,
                        "<" => BinOp::Lt,
                        _ => BinOp::Gt,
                    };
                    Ok(Spanned::new(Expr::Binary(op, Box::new(left), Box::new(self.expr(right_pair)?)), span))
                } else if right_pair.as_rule() == Rule::list {
                    let items = right_pair.into_inner().map(|p| self.expr(p)).collect::<Result<Vec<_>>>()?;
                    Ok(Spanned::new(Expr::InList(Box::new(left), items), span))
                } else {
                    Ok(Spanned::new(Expr::InContainer(Box::new(left), Box::new(self.expr(right_pair)?)), span))
                }
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name_pair = self.need(inner.next(), span)?;
                let name = Spanned::new(name_pair.as_str().to_string(), self.span(&name_pair));
                let args = inner.map(|p| self.expr(p)).collect::<Result<Vec<_>>>()?;
                Ok(Spanned::new(Expr::Call(name, args), span))
            }
            _ => {
                let term = self.term(pair)?;
                Ok(Spanned::new(Expr::Term(term.node), term.span))
            }
        }
    }
}

/// The first pair down from `pair` that is not a rule wrapping one child
/// (an `or_expr` without `||`, a `comparison` without an operator, the
/// `expr` inside brackets, ...): such a rule builds what its child builds,
/// so a bracket's level of nesting costs one loop step here, not six calls
/// deep (a debug build's frames would overflow a 2 MiB stack within the
/// nesting limit).
fn innermost(mut pair: Pair<Rule>) -> Pair<Rule> {
    loop {
        let wraps = matches!(
            pair.as_rule(),
            Rule::expr | Rule::or_expr | Rule::and_expr | Rule::unary | Rule::comparison | Rule::additive
        );
        if !wraps {
            return pair;
        }
        let mut inner = pair.clone().into_inner();
        match (inner.next(), inner.next()) {
            (Some(only), None) if only.as_rule() != Rule::bang => pair = only,
            _ => return pair,
        }
    }
}

/// Resolves `\"`, `\\`, `\n`, `\t`, `\u{...}`; on error, the byte offset of the bad escape.
pub(crate) fn unescape(s: &str) -> std::result::Result<String, (usize, String)> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => {
                let rest = s.get(i + 2..).unwrap_or("");
                let close = rest.find('}');
                let code = match (rest.strip_prefix('{'), close) {
                    (Some(_), Some(end)) => rest.get(1..end).and_then(|h| u32::from_str_radix(h, 16).ok()),
                    _ => None,
                };
                match code.and_then(char::from_u32) {
                    Some(ch) => {
                        out.push(ch);
                        let consumed = close.unwrap_or(0) + 1;
                        for _ in 0..consumed {
                            chars.next();
                        }
                    }
                    None => {
                        return Err((i, "`\\u` needs a hexadecimal code point in braces, like \\u{e9}".into()));
                    }
                }
            }
            Some((_, other)) => return Err((i, format!("unknown escape `\\{other}`"))),
            None => return Err((i, "a string cannot end with `\\`".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r#"a\"b\\c\n\u{e9}x"#).unwrap(), "a\"b\\c\né x".replace(' ', ""));
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\u{zz}").is_err());
    }
}

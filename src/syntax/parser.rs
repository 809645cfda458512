//! Parsing: policy files, queries and constants with the pest grammar
//! (`grammar/warden.pest`); the `build` module turns its pairs into the AST.
//!
//! A file is cut into top-level statements (with the lexer): plain facts are
//! read by hand ([`plain`]), the others by the grammar one at a time. Should
//! any fail, the file is parsed whole with the grammar; when that fails too,
//! each statement is parsed on its own again, so one run reports every
//! syntax error of the file, not only the first.

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::lexer;
use super::span::{FileId, Span};
use pest::Parser as _;

mod grammar {
    /// The parser generated from `grammar/warden.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/warden.pest"]
    pub(in crate::syntax) struct WardenParser;
}
use super::errors::syntax_error;
pub(super) use grammar::Rule;
use grammar::WardenParser;

type Result<T> = std::result::Result<T, Diagnostic>;

mod build;
mod plain;
use build::Builder;
pub(crate) use build::unescape;

/// Parses one policy file; returns its statements and every syntax error found.
pub fn parse_file(file: FileId, text: &str) -> (Vec<Statement>, Vec<Diagnostic>) {
    if let Some(error) = nesting_error(file, text) {
        return (Vec::new(), vec![error]);
    }
    if let Some(statements) = parse_plain_first(file, text) {
        return (statements, Vec::new());
    }
    parse_whole(file, text)
}

/// The statements of a file without syntax errors: plain facts read by
/// hand, the rest by the grammar one statement at a time. `None` at the
/// first statement that does not parse (or text between statements that is
/// not whitespace or comments): the caller parses the file whole, for the
/// grammar's diagnostics.
fn parse_plain_first(file: FileId, text: &str) -> Option<Vec<Statement>> {
    let ranges = lexer::statement_ranges(text);
    let mut statements = Vec::with_capacity(ranges.len());
    let mut end = 0;
    for range in ranges {
        if !plain::is_blank(text.get(end..range.start)?) {
            return None;
        }
        end = range.end;
        let chunk = text.get(range.clone())?;
        if let Some(statement) = plain::statement(file, range.start, chunk) {
            statements.push(statement);
            continue;
        }
        let mut pairs = WardenParser::parse(Rule::single_statement, chunk).ok()?;
        let pair = pairs.next()?.into_inner().find(|p| p.as_rule() != Rule::EOI)?;
        statements.push(Builder::new(file, range.start).statement(pair).ok()?);
    }
    plain::is_blank(text.get(end..)?).then_some(statements)
}

/// The grammar's parse of a whole file, and of each statement when that fails.
fn parse_whole(file: FileId, text: &str) -> (Vec<Statement>, Vec<Diagnostic>) {
    match WardenParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let builder = Builder::new(file, 0);
            let mut statements = Vec::new();
            let mut errors = Vec::new();
            if let Some(file_pair) = pairs.next() {
                for pair in file_pair.into_inner() {
                    if pair.as_rule() == Rule::EOI {
                        continue;
                    }
                    match builder.statement(pair) {
                        Ok(s) => statements.push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
            (statements, errors)
        }
        Err(_) => parse_statement_by_statement(file, text),
    }
}

/// The recovery path: parse each top-level statement separately.
fn parse_statement_by_statement(file: FileId, text: &str) -> (Vec<Statement>, Vec<Diagnostic>) {
    let mut statements = Vec::new();
    let mut errors = Vec::new();
    for range in lexer::statement_ranges(text) {
        let chunk = text.get(range.clone()).unwrap_or("");
        let builder = Builder::new(file, range.start);
        match WardenParser::parse(Rule::single_statement, chunk) {
            Ok(mut pairs) => {
                let inner = pairs.next().and_then(|p| p.into_inner().find(|p| p.as_rule() != Rule::EOI));
                if let Some(pair) = inner {
                    match builder.statement(pair) {
                        Ok(s) => statements.push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(syntax_error(file, range.start, chunk, &e)),
        }
    }
    if errors.is_empty() {
        // The whole-file parse failed but no statement did: the lexer split
        // differently from the grammar (an unterminated comment or string).
        errors.push(Diagnostic::error(
            "unexpected end of file",
            Span::new(file, text.len(), text.len()),
            "the file ends inside a comment, string or block",
        ));
    }
    (statements, errors)
}

/// One statement may hold at most this many binary operators (so expression
/// trees stay shallow enough for the recursive evaluator).
pub const MAX_OPERATORS: usize = 256;

/// Brackets and `!` may nest at most this deep (the parser and evaluator recurse).
pub const MAX_NESTING: usize = 32;

/// Rejects input whose brackets nest deeper than [`MAX_NESTING`] before the
/// recursive parser sees it.
fn nesting_error(file: FileId, text: &str) -> Option<Diagnostic> {
    // Each level is a `(`, `[` or `!`: a text with no more of them than the
    // limit cannot pass it (a large policy of facts has next to none), so
    // it is not lexed for this.
    if text.bytes().filter(|b| matches!(b, b'(' | b'[' | b'!')).count() <= MAX_NESTING {
        return None;
    }
    let mut depth = 0usize;
    let mut bangs = 0usize;
    for (token, range) in lexer::tokens(text) {
        let slice = text.get(range.clone()).unwrap_or("");
        match (token, slice) {
            (Ok(lexer::Token::Open), "(" | "[") => depth += 1,
            (Ok(lexer::Token::Close), ")" | "]") => depth = depth.saturating_sub(1),
            (Ok(lexer::Token::Operator), "!") => bangs += 1,
            _ => bangs = 0,
        }
        if depth + bangs > MAX_NESTING {
            return Some(
                Diagnostic::error("expression nests too deeply", Span::new(file, range.start, range.end), "too deep")
                    .with_help(format!("brackets and `!` may nest at most {MAX_NESTING} levels")),
            );
        }
    }
    None
}

/// Parses a query atom such as `allowed(alice, P, page:7)`.
pub fn parse_query(file: FileId, text: &str) -> Result<Atom> {
    if let Some(error) = nesting_error(file, text) {
        return Err(error);
    }
    let builder = Builder::new(file, 0);
    let mut pairs = WardenParser::parse(Rule::query, text).map_err(|e| syntax_error(file, 0, text, &e))?;
    let pair = pairs.next().and_then(|p| p.into_inner().next()).ok_or_else(|| builder.internal(0..text.len()))?;
    builder.atom(pair)
}

/// Parses one constant with the grammar; `None` when the text is not a
/// constant. The reference that [`super::lexer::lone_constant`], which a
/// check reads its `ctx` values with, is tested against.
pub fn parse_constant(text: &str) -> Option<Constant> {
    let builder = Builder::new(FileId(0), 0);
    let mut pairs = WardenParser::parse(Rule::lone_constant, text).ok()?;
    let pair = pairs.next()?.into_inner().next()?;
    builder.constant(pair).ok()
}

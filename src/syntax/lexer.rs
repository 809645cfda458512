//! A `logos` lexer for the policy language: the REPL's highlighting and
//! completion, the parser's statement-by-statement error recovery, and a
//! check's `ctx` values ([`lone_constant`], read per check).
//!
//! It agrees with `grammar/warden.pest` on token boundaries for well-formed
//! input, and `lone_constant` agrees with the grammar's `lone_constant` rule
//! on any text (`tests/lexer.rs` holds both).

use super::ast::Constant;
use logos::Logos;
use std::ops::Range;

/// One token of policy text.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    /// `// ...` or `/* ... */`
    #[regex(r"//[^\n]*", allow_greedy = true)]
    #[regex(r"/\*([^*]|\*+[^*/])*\*+/")]
    Comment,
    /// A reserved word.
    #[token("role")]
    #[token("extends")]
    #[token("assign")]
    #[token("grant")]
    #[token("on")]
    #[token("until")]
    #[token("from")]
    #[token("in")]
    #[token("superuser")]
    #[token("inactive")]
    #[token("allow")]
    #[token("deny")]
    #[token("if")]
    #[token("not")]
    #[token("fn")]
    #[token("extern")]
    #[token("test")]
    #[token("assert")]
    #[token("at")]
    #[token("ctx")]
    #[token("now")]
    Keyword,
    /// `true` or `false`.
    #[token("true")]
    #[token("false")]
    Boolean,
    /// A bare identifier constant: `alice`, `page.write`.
    #[regex(r"[a-z][A-Za-z0-9_.]*")]
    Ident,
    /// A variable: `U`, `Obj`, `_`.
    #[regex(r"[A-Z][A-Za-z0-9_]*|_[A-Za-z0-9_]*")]
    Variable,
    /// A typed id: `page:7`, `doc:"Q3 plan"`.
    #[regex(r#"[A-Za-z_][A-Za-z0-9_]*:([A-Za-z0-9_\-.]+|"([^"\\\n]|\\.)*")"#)]
    TypedId,
    /// `*` or `TYPE:*` in a question: any object (of the type).
    #[regex(r"\*|[A-Za-z_][A-Za-z0-9_]*:\*")]
    Wildcard,
    /// A string: `"..."`.
    #[regex(r#""([^"\\\n]|\\.)*""#)]
    String,
    /// An RFC 3339 timestamp.
    #[regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")]
    Timestamp,
    /// A duration: `30s`, `8h`.
    #[regex(r"[0-9]+[smhd]")]
    Duration,
    /// An integer (the sign is a separate token).
    #[regex(r"[0-9]+")]
    Integer,
    /// `:-`
    #[token(":-")]
    Arrow,
    /// Comparison and boolean operators.
    #[token("==")]
    #[token("!=")]
    #[token("<=")]
    #[token(">=")]
    #[token("<")]
    #[token(">")]
    #[token("&&")]
    #[token("||")]
    #[token("|")]
    #[token("!")]
    #[token("+")]
    #[token("-")]
    #[token("=")]
    Operator,
    /// `(` `[` `{`
    #[token("(")]
    #[token("[")]
    #[token("{")]
    Open,
    /// `)` `]` `}`
    #[token(")")]
    #[token("]")]
    #[token("}")]
    Close,
    /// `,`
    #[token(",")]
    Comma,
    /// `;`
    #[token(";")]
    Semicolon,
    /// `.` (in `ctx.KEY`)
    #[token(".")]
    Dot,
}

/// Lexes `text` into tokens with their byte ranges; `Err(())` marks text that is no token.
pub fn tokens(text: &str) -> Vec<(Result<Token, ()>, Range<usize>)> {
    Token::lexer(text).spanned().collect()
}

/// The constant `text` is, alone (comments and blanks around it allowed), as
/// the grammar's `lone_constant` reads it: a request's `ctx` values, read per
/// check by the lexer rather than the parser. `None` when `text` is not one
/// constant (the caller then takes it as a plain string).
pub fn lone_constant(text: &str) -> Option<Constant> {
    let mut tokens = Token::lexer(text).spanned().filter(|(token, _)| *token != Ok(Token::Comment));
    let (first, range) = tokens.next()?;
    let lexeme = text.get(range.clone())?;
    // `-5`: a sign directly before the digits.
    let (token, lexeme) = match (first, lexeme) {
        (Ok(Token::Operator), "-") => match tokens.next()? {
            (Ok(Token::Integer), digits) if digits.start == range.end => {
                (Token::Integer, text.get(range.start..digits.end)?)
            }
            _ => return None,
        },
        (token, lexeme) => (token.ok()?, lexeme),
    };
    // One constant: nothing but blanks and comments after it (text glued
    // to it, or that is no token, lexes as one more token).
    if tokens.next().is_some() {
        return None;
    }
    Some(match token {
        Token::Ident => Constant::Str(lexeme.to_string()),
        Token::Boolean => Constant::Bool(lexeme == "true"),
        Token::Integer => Constant::Int(lexeme.parse().ok()?),
        Token::Duration => Constant::Dur(crate::time::parse_duration(lexeme).ok()?),
        Token::Timestamp => Constant::Time(crate::time::parse_timestamp(lexeme).ok()?),
        Token::String => Constant::Str(quoted(lexeme)?),
        Token::TypedId => {
            let (ty, id) = lexeme.split_once(':')?;
            // The grammar reads `true`/`false` first and then finds no end.
            if ty == "true" || ty == "false" {
                return None;
            }
            let id = if id.starts_with('"') { quoted(id)? } else { id.to_string() };
            Constant::Str(format!("{ty}:{id}"))
        }
        _ => return None,
    })
}

/// The value of a string literal (`"..."`), escapes resolved.
fn quoted(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    super::parser::unescape(inner).ok()
}

/// The byte ranges of the top-level statements of a file: each ends at a `;`
/// outside any block, or at the `}` that closes a top-level block.
pub fn statement_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start: Option<usize> = None;
    let mut depth = 0usize;
    for (token, span) in Token::lexer(text).spanned() {
        if token == Ok(Token::Comment) {
            continue;
        }
        let begin = *start.get_or_insert(span.start);
        match (token, text.get(span.clone())) {
            (Ok(Token::Open), Some("{")) => depth += 1,
            (Ok(Token::Close), Some("}")) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    ranges.push(begin..span.end);
                    start = None;
                }
            }
            (Ok(Token::Semicolon), _) if depth == 0 => {
                ranges.push(begin..span.end);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        ranges.push(begin..text.len());
    }
    ranges
}

/// The length of the first token of `text` (after leading whitespace, which it includes).
pub fn first_token_len(text: &str) -> Option<usize> {
    let mut lexer = Token::lexer(text);
    let _first = lexer.next()?;
    Some(lexer.span().end)
}

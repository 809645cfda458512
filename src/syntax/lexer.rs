//! A `logos` lexer for the policy language: the REPL's highlighting and
//! completion, and the parser's statement-by-statement error recovery.
//!
//! It agrees with `grammar/warden.pest` on token boundaries for well-formed
//! input (a test in `tests/lexer.rs` holds them together).

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

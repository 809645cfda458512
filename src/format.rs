//! `warden fmt`: the source formatter for policy files.
//!
//! Token-based: it lexes the text with [`crate::syntax::lexer`] and prints the
//! same tokens again, changing only the whitespace between them. Every comment
//! is kept. The layout:
//!
//! - one top-level statement a line; a blank line between two statements (or
//!   comments) is kept when the source had one or more there;
//! - a `{` ends its line, each entry of the block is on its own line indented
//!   by two spaces, and the `}` is on its own line; an empty block is `{ }`;
//! - single spaces between words and around binary operators and `:-`; none
//!   before `,` `;` `)` `]`, after `(` `[` or a unary `!` `-`, around `.`, or
//!   between a relation or function name and its `(`;
//! - a comment stays at the end of the line of the token before it when it
//!   was there in the source; otherwise it is on its own line.
//!
//! Formatting is idempotent, and the formatted text lexes to the same tokens as
//! the source (checked before returning).

use crate::syntax::lexer::{Token, tokens};

/// One indentation level.
const INDENT: &str = "  ";

/// A token of the source, with what the whitespace before it looked like.
#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    kind: Token,
    text: &'a str,
    /// The number of line breaks between the previous token and this one.
    newlines: usize,
    /// No whitespace at all between the previous token and this one.
    touching: bool,
}

impl Tok<'_> {
    fn is(&self, kind: Token, text: &str) -> bool {
        self.kind == kind && self.text == text
    }
}

/// Why a file was left unformatted.
#[derive(Debug)]
pub enum FormatError {
    /// The file does not parse: its diagnostics (a formatter that went on
    /// would join statements and hide the error).
    Syntax(crate::engine::LoadError),
    /// The text cannot be lexed, or the formatter would change its tokens.
    Tokens(String),
}

/// Formats one policy file, refusing one that does not parse.
///
/// # Errors
///
/// [`FormatError::Syntax`] with the file's diagnostics when it does not parse;
/// [`FormatError::Tokens`] as [`format()`].
pub fn format_file(name: &str, text: &str) -> Result<String, FormatError> {
    let mut sources = crate::syntax::span::SourceMap::new();
    let file = sources.add(name, text);
    let (_, errors) = crate::syntax::parser::parse_file(file, text);
    if !errors.is_empty() {
        return Err(FormatError::Syntax(crate::engine::LoadError { diagnostics: errors, sources }));
    }
    format(text).map_err(FormatError::Tokens)
}

/// Formats the policy text `text` (see the module documentation for the layout).
///
/// # Errors
///
/// When some of the text is no token of the language (it cannot be lexed), with
/// the line of the first such place; the caller reports it and leaves the file
/// alone.
pub fn format(text: &str) -> Result<String, String> {
    let toks = lex(text)?;
    let mut printer = Printer::default();
    for (i, tok) in toks.iter().enumerate() {
        if tok.kind == Token::Comment {
            printer.comment(*tok);
        } else {
            printer.token(*tok, toks.get(i.saturating_add(1)));
        }
    }
    let mut out = printer.out;
    if !out.is_empty() {
        out.push('\n');
    }
    let same = lex(&out).is_ok_and(|again| {
        again.len() == toks.len() && again.iter().zip(&toks).all(|(a, b)| a.kind == b.kind && a.text == b.text)
    });
    if !same {
        return Err("the formatter would change the tokens of this file (a bug in `warden fmt`)".to_string());
    }
    Ok(out)
}

/// The tokens of `text`, or where the first text that is no token starts.
fn lex(text: &str) -> Result<Vec<Tok<'_>>, String> {
    let mut out = Vec::new();
    let mut end = 0;
    for (token, range) in tokens(text) {
        let slice = text.get(range.clone()).unwrap_or("");
        let gap = text.get(end..range.start).unwrap_or("");
        let Ok(kind) = token else {
            let line = text.get(..range.start).unwrap_or("").matches('\n').count().saturating_add(1);
            return Err(format!("line {line}: `{slice}` is not a token of the policy language"));
        };
        out.push(Tok { kind, text: slice, newlines: gap.matches('\n').count(), touching: gap.is_empty() });
        end = range.end;
    }
    Ok(out)
}

/// Whether `a` written right before `b`, with nothing between, still lexes as
/// those two tokens (`!` and `=` would become `!=`, `ctx` and `.` one name).
fn glues(a: &Tok<'_>, b: &Tok<'_>) -> bool {
    let joined = format!("{}{}", a.text, b.text);
    let split = a.text.len();
    matches!(
        tokens(&joined).as_slice(),
        [(Ok(x), first), (Ok(y), second)]
            if *x == a.kind && *y == b.kind && first.end == split && second.start == split
    )
}

/// A token that can be (part of) a context key: `ctx ip-v4 = ...;`, `ctx.src-ip`.
fn is_word(kind: Token) -> bool {
    matches!(kind, Token::Ident | Token::Variable | Token::Keyword | Token::Boolean | Token::Integer | Token::Duration)
}

/// The output being built, and what the tokens printed so far imply.
#[derive(Default)]
struct Printer<'a> {
    out: String,
    /// How many blocks are open.
    depth: usize,
    /// Inside a statement or block entry (its continuation lines are indented once more).
    in_stmt: bool,
    /// The next token starts a new line.
    need_break: bool,
    /// The `{` just printed is followed directly by its `}`.
    empty_block: bool,
    /// The last token printed, comments included.
    prev: Option<Tok<'a>>,
    /// The last token printed that is not a comment.
    prev_code: Option<Tok<'a>>,
    /// The last token printed is a prefix `!` or `-`.
    prev_unary: bool,
    /// The last token printed is part of a context key, where a `-` between
    /// words is part of the key when the source wrote it without spaces.
    in_key: bool,
}

impl<'a> Printer<'a> {
    fn indent(&self) -> usize {
        self.depth.saturating_add(usize::from(self.in_stmt))
    }

    /// Starts a new line for `tok` (no line before the first token), with a
    /// blank line when the source had one and it is not just inside a block.
    fn newline(&mut self, tok: &Tok<'_>, indent: usize) {
        if !self.out.is_empty() {
            self.out.push('\n');
            let after_open = self.prev.is_some_and(|p| p.is(Token::Open, "{"));
            if tok.newlines >= 2 && !after_open && !tok.is(Token::Close, "}") {
                self.out.push('\n');
            }
        }
        for _ in 0..indent {
            self.out.push_str(INDENT);
        }
        self.need_break = false;
    }

    fn comment(&mut self, tok: Tok<'a>) {
        let trailing = self.prev.is_some() && tok.newlines == 0;
        if trailing {
            self.out.push(' ');
        } else {
            self.newline(&tok, self.indent());
        }
        self.out.push_str(tok.text);
        if !trailing || tok.text.starts_with("//") {
            self.need_break = true;
        }
        self.prev = Some(tok);
        self.prev_unary = false;
        self.in_key = false;
    }

    fn token(&mut self, tok: Tok<'a>, next: Option<&Tok<'a>>) {
        let joined = self.joins(&tok);
        if tok.is(Token::Close, "}") {
            if self.empty_block {
                self.out.push(' ');
            } else {
                self.depth = self.depth.saturating_sub(1);
                self.in_stmt = false;
                self.newline(&tok, self.depth);
            }
        } else if self.need_break {
            self.newline(&tok, self.indent());
        } else {
            let space = match self.prev {
                Some(prev) => !joined && self.spaced(&prev, &tok),
                None => false,
            };
            if space {
                self.out.push(' ');
            }
        }
        self.out.push_str(tok.text);

        let unary = !joined && self.is_unary(&tok);
        let after_ctx = self.prev.is_some_and(|p| p.is(Token::Keyword, "ctx"));
        let after_head = after_ctx || self.prev.is_some_and(|p| p.kind == Token::Dot);
        self.in_key = joined
            || tok.is(Token::Keyword, "ctx")
            || (tok.kind == Token::Ident && tok.text.starts_with("ctx."))
            || (self.in_key && tok.kind == Token::Dot && after_ctx)
            || (self.in_key && is_word(tok.kind) && after_head);
        if tok.kind == Token::Semicolon || tok.is(Token::Close, "}") {
            self.need_break = true;
            self.in_stmt = false;
            self.empty_block = false;
        } else if tok.is(Token::Open, "{") {
            self.need_break = true;
            self.in_stmt = false;
            if next.is_some_and(|n| n.is(Token::Close, "}")) {
                self.empty_block = true;
            } else {
                self.depth = self.depth.saturating_add(1);
            }
        } else {
            self.in_stmt = true;
        }
        self.prev = Some(tok);
        self.prev_code = Some(tok);
        self.prev_unary = unary;
    }

    /// A `-` inside a context key, or the word after it, written without
    /// spaces in the source: kept without spaces (`ctx.src-ip` is one key).
    fn joins(&self, tok: &Tok<'_>) -> bool {
        let Some(prev) = self.prev else { return false };
        self.in_key
            && tok.touching
            && ((tok.is(Token::Operator, "-") && prev.kind != Token::Dot)
                || (prev.is(Token::Operator, "-") && is_word(tok.kind)))
    }

    /// Whether a prefix operator: `!` always, `-` where no operand ends before it.
    fn is_unary(&self, tok: &Tok<'_>) -> bool {
        if tok.is(Token::Operator, "!") {
            return true;
        }
        if !tok.is(Token::Operator, "-") {
            return false;
        }
        match self.prev_code {
            None => true,
            Some(p) => match p.kind {
                Token::Open | Token::Comma | Token::Semicolon | Token::Operator | Token::Arrow => true,
                Token::Keyword => p.text != "now",
                _ => false,
            },
        }
    }

    /// Whether a space goes between `prev` and `tok` on one line.
    fn spaced(&self, prev: &Tok<'_>, tok: &Tok<'_>) -> bool {
        let tight = matches!(tok.kind, Token::Comma | Token::Semicolon | Token::Dot)
            || tok.is(Token::Close, ")")
            || tok.is(Token::Close, "]")
            || prev.kind == Token::Dot
            || prev.is(Token::Open, "(")
            || prev.is(Token::Open, "[")
            || self.prev_unary
            || (tok.is(Token::Open, "(") && prev.kind == Token::Ident);
        !tight || !glues(prev, tok)
    }
}

//! The plain facts of a policy file read without the grammar: `assign S R
//! [on O];`, `grant S P [on O];` and `X in Y;` whose names are bare
//! identifiers or typed ids (`page:7`). A large policy is mostly these (the
//! BENCH.md large workload: 344,000 of them), and pest takes microseconds
//! a statement where this takes a fraction of one.
//!
//! Anything else (strings, timestamps, comments inside the statement, a
//! keyword where a name goes, any character this does not expect) is not
//! read here: the caller hands the statement to the grammar, so a mistake
//! gets the grammar's diagnostic. Property tests check that files read the
//! same, statements, spans and diagnostics, both ways.

use super::super::KEYWORDS;
use super::super::ast::{Holding, Statement, StatementKind};
use super::super::span::{FileId, Span, Spanned};

/// The statement `chunk` (which starts at byte `offset` of `file`, at its
/// first token, and ends with its `;`), when it is a plain fact.
pub(super) fn statement(file: FileId, offset: usize, chunk: &str) -> Option<Statement> {
    let words = words(chunk)?;
    let span = |(start, end): (usize, usize)| Span::new(file, offset + start, offset + end);
    let text = |at: (usize, usize)| chunk.get(at.0..at.1);
    let name = |at: (usize, usize)| -> Option<Spanned<String>> {
        let word = text(at)?;
        is_name(word).then(|| Spanned::new(word.to_string(), span(at)))
    };
    let kind = match words.as_slice() {
        [first, subject, what, rest @ ..] if matches!(text(*first), Some("assign" | "grant")) => {
            let on = match rest {
                [] => None,
                [on, object] if text(*on) == Some("on") => Some(name(*object)?),
                _ => return None,
            };
            let holding = Holding { subject: name(*subject)?, what: name(*what)?, on, from: None, until: None };
            if text(*first) == Some("assign") { StatementKind::Assign(holding) } else { StatementKind::Grant(holding) }
        }
        [member, word_in, container] if text(*word_in) == Some("in") => {
            StatementKind::In(name(*member)?, name(*container)?)
        }
        _ => return None,
    };
    Some(Statement { kind, span: Span::new(file, offset, offset + chunk.len()) })
}

/// The byte ranges of the words of `chunk` before its final `;`, split by
/// whitespace; `None` when it holds anything else (a comment, a string,
/// punctuation) or does not end with `;`.
fn words(chunk: &str) -> Option<Vec<(usize, usize)>> {
    let body = chunk.strip_suffix(';')?;
    let mut words = Vec::with_capacity(5);
    let mut start: Option<usize> = None;
    for (at, byte) in body.bytes().enumerate() {
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {
                if let Some(begin) = start.take() {
                    words.push((begin, at));
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b':' | b'-' => {
                start.get_or_insert(at);
            }
            _ => return None,
        }
    }
    if let Some(begin) = start {
        words.push((begin, body.len()));
    }
    (words.len() <= 5).then_some(words)
}

/// Whether `word` (letters, digits, `_ . : -`) is what the grammar's `name`
/// reads as a whole: a typed id `TYPE:ID` or a bare identifier that is not
/// a keyword.
fn is_name(word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match word.split_once(':') {
        Some((ty, id)) => {
            ty.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && ty.chars().all(ident)
                && !id.is_empty()
                && id.chars().all(|c| ident(c) || c == '-' || c == '.')
        }
        None => {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word.chars().all(|c| ident(c) || c == '.')
                && !KEYWORDS.contains(&word)
        }
    }
}

/// Whether `gap` (text between statements) is only whitespace and whole
/// comments, as the grammar skips between statements.
pub(super) fn is_blank(gap: &str) -> bool {
    let blank: [char; 4] = [' ', '\t', '\r', '\n'];
    let mut rest = gap.trim_start_matches(blank);
    while !rest.is_empty() {
        if let Some(line) = rest.strip_prefix("//") {
            rest = line.find('\n').and_then(|end| line.get(end..)).unwrap_or("");
        } else if let Some(block) = rest.strip_prefix("/*") {
            let Some(end) = block.find("*/") else { return false };
            rest = block.get(end + 2..).unwrap_or("");
        } else {
            return false;
        }
        rest = rest.trim_start_matches(blank);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::{parse_file, parse_plain_first, parse_whole};
    use crate::syntax::span::SourceMap;
    use proptest::prelude::*;

    /// Names the grammar reads as a whole: bare identifiers, typed ids
    /// (of keyword types too), ids with dots and dashes.
    const NAMES: [&str; 16] = [
        "u1",
        "alice",
        "a.b",
        "online",
        "in.x",
        "inactivex",
        "a.",
        "page:1",
        "page:a-b.c",
        "_t:9",
        "P:x",
        "in:x",
        "on:x",
        "true:x",
        "y:-z",
        "role:admin",
    ];

    /// Names the grammar reads otherwise, or not at all.
    const NOT_NAMES: [&str; 17] = [
        "on",
        "in",
        "true",
        "role",
        "inactive",
        "Alice",
        "_x",
        "p:",
        ":x",
        "a:b:c",
        "u-1",
        "12",
        "-3",
        "\"x y\"",
        "doc:\"Q3 plan\"",
        "ä",
        "page:1é",
    ];

    fn name() -> BoxedStrategy<String> {
        prop_oneof![4 => prop::sample::select(&NAMES[..]), 1 => prop::sample::select(&NOT_NAMES[..])]
            .prop_map(str::to_string)
            .boxed()
    }

    fn good_name() -> BoxedStrategy<String> {
        prop::sample::select(&NAMES[..]).prop_map(str::to_string).boxed()
    }

    /// Text between tokens: whitespace, and what the hand reader leaves to the grammar.
    fn gap() -> BoxedStrategy<String> {
        prop_oneof![
            4 => prop::sample::select(vec![" ", "  ", "\n", "\t", "\r\n"]),
            1 => prop::sample::select(vec![" // c\n", " /* c */ ", "", "\u{a0}", "\u{feff}", "/**/"]),
        ]
        .prop_map(str::to_string)
        .boxed()
    }

    /// A plain fact with `name`s and `gap`s.
    fn plain(name: BoxedStrategy<String>, gap: BoxedStrategy<String>) -> impl Strategy<Value = String> {
        let verb = prop::sample::select(vec!["assign", "grant"]);
        let holding = (verb, name.clone(), name.clone(), prop::option::of(name.clone()), gap.clone(), gap.clone());
        prop_oneof![
            (holding, gap.clone()).prop_map(|((verb, s, w, on, g1, g2), g3)| {
                let on = on.map_or(String::new(), |o| format!(" on{g2}{o}"));
                format!("{verb} {s}{g1} {w}{on}{g3};")
            }),
            (name.clone(), name, gap.clone(), gap).prop_map(|(x, y, g1, g2)| format!("{x}{g1} in {y}{g2};")),
        ]
    }

    fn statement() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => plain(name(), gap()),
            1 => prop::sample::select(vec![
                "assign u r until 2026-01-01T00:00:00Z;",
                "grant u read on page:1 from 2026-01-01T00:00:00Z;",
                "assign a b on c d e;",
                "role r { read on page; }",
                "p(X) :- q(X);",
                "q(a);",
                "superuser root;",
                "x in y/* c */;",
                "assign u;",
                "/* open",
                "x in y",
                "}",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn blank() -> BoxedStrategy<String> {
        prop::sample::select(vec![" ", "\n", "\t", "\r\n"]).prop_map(str::to_string).boxed()
    }

    /// Every name, in every place of every plain fact, reads as the grammar
    /// reads it.
    #[test]
    fn each_name_in_each_place_reads_as_the_grammar_reads_it() {
        let places = ["assign {} r;", "assign u {};", "grant u p on {};", "{} in y;", "x in {};", "x in y;\n{} in y;"];
        for name in NAMES.iter().chain(&NOT_NAMES) {
            for place in places {
                let text = place.replace("{}", name);
                let mut sources = SourceMap::new();
                let file = sources.add("p.warden", text.clone());
                assert_eq!(
                    format!("{:?}", parse_file(file, &text)),
                    format!("{:?}", parse_whole(file, &text)),
                    "{text}"
                );
            }
        }
    }

    proptest! {
        /// A file reads the same, statements, spans and diagnostics, with
        /// plain facts read by hand as with the grammar alone.
        #[test]
        fn plain_facts_read_as_the_grammar_reads_them(
            parts in prop::collection::vec((gap(), statement()), 0..8),
            tail in gap(),
        ) {
            let text: String = parts.iter().map(|(g, s)| format!("{g}{s}")).chain([tail]).collect();
            let mut sources = SourceMap::new();
            let file = sources.add("p.warden", text.clone());
            let fast = parse_file(file, &text);
            let whole = parse_whole(file, &text);
            prop_assert_eq!(format!("{fast:?}"), format!("{whole:?}"), "{}", text);
        }

        /// A file of plain facts of names, between whitespace and whole
        /// comments, takes the hand reader's path (and reads as the grammar
        /// reads it).
        #[test]
        fn a_file_of_plain_facts_is_read_by_hand(
            parts in prop::collection::vec((prop_oneof![blank(), Just(" // c\n".to_string())], plain(good_name(), blank())), 1..8),
        ) {
            let text: String = parts.iter().map(|(g, s)| format!("{g}{s}")).collect();
            let mut sources = SourceMap::new();
            let file = sources.add("p.warden", text.clone());
            for range in crate::syntax::lexer::statement_ranges(&text) {
                let chunk = text.get(range.clone()).unwrap_or_default();
                prop_assert!(super::statement(file, range.start, chunk).is_some(), "{:?} of {:?}", chunk, text);
            }
            let fast = parse_plain_first(file, &text);
            prop_assert!(fast.is_some(), "{}", text);
            prop_assert_eq!(format!("{:?}", (fast.unwrap_or_default(), Vec::<()>::new())), format!("{:?}", (parse_whole(file, &text).0, Vec::<()>::new())));
            prop_assert!(parse_whole(file, &text).1.is_empty());
        }
    }
}

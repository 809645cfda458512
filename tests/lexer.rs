//! The logos lexer agrees with the pest grammar on token boundaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::syntax::lexer::{Token, tokens};
use warden::syntax::parser::parse_constant;

fn shipped_policies() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["policies", "examples"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "warden") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

#[test]
fn every_constant_token_is_exactly_one_grammar_constant() {
    for (name, text) in shipped_policies() {
        for (token, range) in tokens(&text) {
            let slice = &text[range.clone()];
            let token = token.unwrap_or_else(|()| panic!("{name}: `{slice}` at {range:?} is no token"));
            if matches!(
                token,
                Token::Ident
                    | Token::TypedId
                    | Token::String
                    | Token::Timestamp
                    | Token::Duration
                    | Token::Integer
                    | Token::Boolean
            ) {
                assert!(
                    parse_constant(slice).is_some(),
                    "{name}: the lexer's {token:?} `{slice}` is not one constant of the grammar"
                );
            }
        }
    }
}

#[test]
fn tokens_cover_all_text_but_whitespace() {
    for (name, text) in shipped_policies() {
        let mut covered = vec![false; text.len()];
        for (_, range) in tokens(&text) {
            covered[range].iter_mut().for_each(|c| *c = true);
        }
        for (i, byte) in text.bytes().enumerate() {
            assert!(covered[i] || byte.is_ascii_whitespace(), "{name}: byte {i} is outside every token");
        }
    }
}

#[test]
fn keywords_and_constants_split_like_the_grammar() {
    let kinds = |text: &str| tokens(text).into_iter().map(|(t, _)| t.unwrap()).collect::<Vec<_>>();
    assert_eq!(kinds("role"), [Token::Keyword]);
    assert_eq!(kinds("roles"), [Token::Ident]);
    assert_eq!(kinds("role:admin"), [Token::TypedId]);
    assert_eq!(kinds("on.call"), [Token::Ident]);
    assert_eq!(kinds("8h"), [Token::Duration]);
    assert_eq!(kinds("2026-12-01T00:00:00Z"), [Token::Timestamp]);
    assert_eq!(kinds("doc:\"Q3 plan\""), [Token::TypedId]);
    assert_eq!(kinds("X in Y"), [Token::Variable, Token::Keyword, Token::Variable]);
    for text in ["roles", "role:admin", "on.call", "8h", "2026-12-01T00:00:00Z", "doc:\"Q3 plan\"", "-5", "true"] {
        assert!(parse_constant(text).is_some(), "{text}");
    }
    assert!(parse_constant("role").is_none());
}

//! The logos lexer agrees with the pest grammar on token boundaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use warden::internals::syntax::lexer::{Token, lone_constant, tokens};
use warden::internals::syntax::parse_constant;

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
    // Every keyword of SPEC section 2, a prefix of another one included
    // (`in` of `inactive`), is reserved.
    let keywords = "role extends assign grant on until from in superuser inactive allow deny if not fn extern test assert at ctx now";
    for keyword in keywords.split_whitespace() {
        assert!(parse_constant(keyword).is_none(), "{keyword} is a keyword");
        assert!(parse_constant(&format!("{keyword}x")).is_some(), "{keyword}x is a name");
    }
}

/// Text made of the pieces constants are made of, glued in any order:
/// signs, digits, unit letters, keywords, colons, quotes, escapes, dots,
/// blanks and comments.
fn constant_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "-",
        "5",
        "42",
        "9223372036854775808",
        "s",
        "h",
        "x",
        "X",
        "_",
        ":",
        ".",
        "\"",
        "\\q",
        "\\n",
        " ",
        "\t",
        "// c",
        "/* c */",
        "/*",
        "on",
        "role",
        "true",
        "false",
        "now",
        "page",
        "page:7",
        "doc:",
        "é",
        "2026-12-01",
        "T10:00:00",
        "Z",
        "+01:00",
        "*",
        "\n",
        "d",
        "m",
        "t",
        "z",
        "\\u{e9}",
        "\r",
        "+5",
        "\\\n",
    ]);
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    /// A check reads its `ctx` values with the lexer: it finds exactly the
    /// constant the grammar finds, and none where the grammar finds none.
    #[test]
    fn the_lexer_reads_a_lone_constant_as_the_grammar_does(text in constant_like()) {
        prop_assert_eq!(lone_constant(&text), parse_constant(&text), "{:?}", text);
    }
}

#[test]
fn lone_constants_of_every_kind() {
    for text in [
        "alice",
        "page.write",
        "page:7",
        "doc:\"Q3 plan\"",
        "\"a\\\"b\"",
        "-5",
        "42",
        "8h",
        "true",
        "false",
        "2026-12-01T10:00:00Z",
        " 5 ",
        "5 // why",
        "/* a */ page:7",
        "on",
        "now",
        "5x",
        "- 5",
        "page:",
        "\"\\q\"",
        "",
        "   ",
        "99999999999999999999",
        "a b",
    ] {
        assert_eq!(lone_constant(text), parse_constant(text), "{text:?}");
    }
    assert_eq!(lone_constant("-5"), Some(warden::internals::syntax::ast::Constant::Int(-5)));
    assert_eq!(
        lone_constant("doc:\"Q3 plan\""),
        Some(warden::internals::syntax::ast::Constant::Str("doc:Q3 plan".into()))
    );
    assert_eq!(lone_constant("on"), None);
}

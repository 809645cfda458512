//! The TextMate grammar in `editors/warden.tmLanguage.json` agrees with the logos lexer.
//!
//! No regex engine is a dependency, so the checks are structural: every lexer
//! token kind has a scope in the grammar; the literal tokens (keywords,
//! booleans, operators, punctuation) are exactly the literals of the grammar's
//! alternations; every lexer regex reappears verbatim in the grammar; and the
//! grammar's pattern order resolves ties the way the lexer's longest match does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use warden::internals::syntax::lexer::{Token, tokens};

const GRAMMAR: &str = "editors/warden.tmLanguage.json";
const LEXER: &str = "src/syntax/lexer.rs";

/// SPEC section 2: the reserved words (`true` and `false` are lexed as booleans).
const SPEC_KEYWORDS: &str = "role extends assign grant on until from in superuser inactive \
                             allow deny if not fn extern test assert at ctx now true false";

/// How the grammar wraps an alternation of reserved words: `\b(?:role|...)\b(?![.:])`.
/// The look-ahead mirrors the lexer's longest match: `role.x` is an identifier
/// and `role:x` a typed id, neither a keyword.
const WORD_START: &str = r"\b(?:";
const WORD_END: &str = r")\b(?![.:])";

/// Every lexer token kind.
const ALL_TOKENS: [Token; 18] = [
    Token::Comment,
    Token::Keyword,
    Token::Boolean,
    Token::Ident,
    Token::Variable,
    Token::TypedId,
    Token::Wildcard,
    Token::String,
    Token::Timestamp,
    Token::Duration,
    Token::Integer,
    Token::Arrow,
    Token::Operator,
    Token::Open,
    Token::Close,
    Token::Comma,
    Token::Semicolon,
    Token::Dot,
];

/// The grammar scopes that highlight a lexer token kind. The match is
/// exhaustive, so a new token kind cannot be added without choosing its scope.
fn scopes(token: Token) -> &'static [&'static str] {
    match token {
        Token::Comment => &["comment.line.double-slash.warden", "comment.block.warden"],
        Token::Keyword => &["keyword.control.warden"],
        Token::Boolean => &["constant.language.boolean.warden"],
        // A name before `(` is a relation or function; any other is a symbol.
        Token::Ident => &["constant.other.symbol.warden", "entity.name.function.warden"],
        Token::Variable => &["variable.other.warden"],
        Token::TypedId => &["constant.other.typed-id.warden"],
        Token::Wildcard => &["constant.language.wildcard.warden"],
        Token::String => &["string.quoted.double.warden"],
        Token::Timestamp => &["constant.other.timestamp.warden"],
        Token::Duration => &["constant.numeric.duration.warden"],
        Token::Integer => &["constant.numeric.integer.warden"],
        Token::Arrow | Token::Operator => &["keyword.operator.warden"],
        Token::Open => &["punctuation.section.bracket.begin.warden"],
        Token::Close => &["punctuation.section.bracket.end.warden"],
        Token::Comma => &["punctuation.separator.comma.warden"],
        Token::Semicolon => &["punctuation.terminator.statement.warden"],
        Token::Dot => &["punctuation.accessor.warden"],
    }
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shipped_policies() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["policies", "examples"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "warden") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(!out.is_empty(), "no .warden files under policies/ or examples/");
    out
}

// ---------------------------------------------------------------- the grammar

/// One top-level pattern of the grammar.
struct Rule {
    /// Its place in the `patterns` array (earlier wins a tie).
    index: usize,
    scope: String,
    /// The `match` regex, or `None` for a `begin`/`end` pattern.
    matches: Option<String>,
    /// The `begin` regex of a `begin`/`end` pattern.
    begin: Option<String>,
    json: Value,
}

struct Grammar {
    json: Value,
    rules: Vec<Rule>,
}

impl Grammar {
    fn load() -> Self {
        let json: Value =
            serde_json::from_str(&read(GRAMMAR)).unwrap_or_else(|e| panic!("{GRAMMAR}: invalid JSON: {e}"));
        let patterns = json["patterns"].as_array().unwrap_or_else(|| panic!("{GRAMMAR}: no `patterns` array"));
        let rules = patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                let text = |key: &str| pattern[key].as_str().map(str::to_owned);
                Rule {
                    index,
                    scope: text("name").unwrap_or_else(|| panic!("{GRAMMAR}: pattern {index} has no `name`")),
                    matches: text("match"),
                    begin: text("begin"),
                    json: pattern.clone(),
                }
            })
            .collect();
        Grammar { json, rules }
    }

    /// The patterns of a scope. (The items borrow the grammar only, not `scope`.)
    fn rules_for<'a>(&'a self, scope: &str) -> impl Iterator<Item = &'a Rule> {
        self.rules.iter().filter(move |rule| rule.scope == scope)
    }

    /// The single `match` regex of a scope.
    fn only_match(&self, scope: &str) -> &str {
        let rules: Vec<&Rule> = self.rules_for(scope).collect();
        assert_eq!(rules.len(), 1, "{GRAMMAR}: `{scope}` should have exactly one top-level pattern");
        rules[0].matches.as_deref().unwrap_or_else(|| panic!("{GRAMMAR}: `{scope}` should be a `match` pattern"))
    }

    /// Where the first pattern of a scope stands in the `patterns` array.
    fn position(&self, scope: &str) -> usize {
        self.rules_for(scope).map(|rule| rule.index).next().unwrap_or_else(|| panic!("{GRAMMAR}: no `{scope}` pattern"))
    }

    /// The literals a scope's regex matches, checked to be written the way the lexer needs.
    fn literals(&self, scope: &str) -> BTreeSet<String> {
        let regex = self.only_match(scope);
        let alternatives = match regex.strip_prefix(WORD_START) {
            Some(rest) => {
                let core = rest
                    .strip_suffix(WORD_END)
                    .unwrap_or_else(|| panic!("{GRAMMAR}: `{scope}` should end with `{WORD_END}`: {regex}"));
                alternation(scope, core)
            }
            None => {
                let alternatives = alternation(scope, regex);
                // Alternation takes the first alternative that matches, so a
                // longer operator must come before its prefix (`<=` before `<`).
                for (i, short) in alternatives.iter().enumerate() {
                    for long in &alternatives[i + 1..] {
                        assert!(
                            !long.starts_with(short.as_str()),
                            "{GRAMMAR}: in `{scope}`, `{long}` must come before `{short}` (longest match)"
                        );
                    }
                }
                alternatives
            }
        };
        let words = alternatives.iter().any(|a| a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(
            !words || regex.starts_with(WORD_START),
            "{GRAMMAR}: `{scope}` lists words, so it should read `{WORD_START}...{WORD_END}`: {regex}"
        );
        let set: BTreeSet<String> = alternatives.iter().cloned().collect();
        assert_eq!(set.len(), alternatives.len(), "{GRAMMAR}: `{scope}` lists a literal twice: {regex}");
        set
    }
}

/// Splits `a|\+|b` into its literals, refusing anything but escaped literals.
fn alternation(scope: &str, regex: &str) -> Vec<String> {
    let mut alternatives = vec![String::new()];
    let mut chars = regex.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => alternatives.push(String::new()),
            '\\' => match chars.next() {
                Some(escaped) if !escaped.is_ascii_alphanumeric() => alternatives.last_mut().unwrap().push(escaped),
                other => panic!("{GRAMMAR}: `{scope}` should be literals only, found `\\{other:?}` in {regex}"),
            },
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' => {
                panic!("{GRAMMAR}: `{scope}` should be literals only, found an unescaped `{c}` in {regex}")
            }
            c => alternatives.last_mut().unwrap().push(c),
        }
    }
    assert!(alternatives.iter().all(|a| !a.is_empty()), "{GRAMMAR}: `{scope}` has an empty alternative: {regex}");
    alternatives
}

// ---------------------------------------------------------------- the lexer source

/// What `src/syntax/lexer.rs` declares for one `Token` variant.
#[derive(Default, Debug)]
struct Declared {
    /// `#[token("...")]`
    literals: Vec<String>,
    /// `#[regex(r"...")]`
    regexes: Vec<String>,
}

/// The `#[token]` and `#[regex]` attributes of each `Token` variant, by variant name.
fn lexer_declarations() -> BTreeMap<String, Declared> {
    let source = read(LEXER);
    let (_, body) = source.split_once("pub enum Token {").unwrap_or_else(|| panic!("{LEXER}: no `pub enum Token`"));
    let (body, _) = body.split_once("\n}").unwrap_or_else(|| panic!("{LEXER}: `enum Token` is not closed"));
    let mut variants = BTreeMap::new();
    let mut pending = Declared::default();
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[token(") {
            pending.literals.push(rust_string(rest));
        } else if let Some(rest) = line.strip_prefix("#[regex(") {
            pending.regexes.push(rust_string(rest));
        } else if let Some(name) = line.strip_suffix(',').filter(|name| is_variant_name(name)) {
            variants.insert(name.to_owned(), std::mem::take(&mut pending));
        }
    }
    assert!(pending.literals.is_empty() && pending.regexes.is_empty(), "{LEXER}: attributes after the last variant");
    variants
}

fn is_variant_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value of the Rust string literal (`"..."`, `r"..."` or `r#"..."#`) at the start of `text`.
fn rust_string(text: &str) -> String {
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"').unwrap_or_else(|| panic!("{LEXER}: bad raw string: {text}"));
        let close = format!("\"{}", "#".repeat(hashes));
        let end = body.find(&close).unwrap_or_else(|| panic!("{LEXER}: unterminated raw string: {text}"));
        return body[..end].to_owned();
    }
    let body = text.strip_prefix('"').unwrap_or_else(|| panic!("{LEXER}: expected a string literal: {text}"));
    let mut value = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return value,
            '\\' => match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(escaped) => value.push(escaped),
                None => break,
            },
            c => value.push(c),
        }
    }
    panic!("{LEXER}: unterminated string literal: {text}")
}

fn declared(declarations: &BTreeMap<String, Declared>, token: Token) -> &Declared {
    let name = format!("{token:?}");
    declarations.get(&name).unwrap_or_else(|| panic!("{LEXER}: no `{name}` variant found"))
}

/// The literals the lexer gives the token kinds highlighted with `scope`, if
/// those kinds are all literal (no regex).
fn lexer_literals(declarations: &BTreeMap<String, Declared>, scope: &str) -> Option<BTreeSet<String>> {
    let kinds: Vec<&Declared> =
        ALL_TOKENS.iter().filter(|t| scopes(**t).contains(&scope)).map(|t| declared(declarations, *t)).collect();
    if kinds.is_empty() || kinds.iter().any(|d| !d.regexes.is_empty()) {
        return None;
    }
    Some(kinds.iter().flat_map(|d| d.literals.iter().cloned()).collect())
}

fn all_scopes() -> BTreeSet<&'static str> {
    ALL_TOKENS.iter().flat_map(|t| scopes(*t).iter().copied()).collect()
}

// ---------------------------------------------------------------- tests

#[test]
fn grammar_is_valid_json_for_warden_files() {
    let grammar = Grammar::load();
    assert_eq!(grammar.json["scopeName"], "source.warden");
    let file_types = grammar.json["fileTypes"].as_array().expect("`fileTypes` is an array");
    assert!(file_types.iter().any(|t| t == "warden"), "`fileTypes` should include `warden`");
    assert!(!grammar.rules.is_empty());
    for rule in &grammar.rules {
        let begin_end = rule.begin.is_some() && rule.json["end"].is_string();
        assert!(
            rule.matches.is_some() != begin_end,
            "{GRAMMAR}: `{}` should have either `match` or `begin` and `end`",
            rule.scope
        );
    }
}

#[test]
fn every_lexer_token_kind_has_a_scope_in_the_grammar() {
    // ALL_TOKENS lists exactly the variants of `enum Token`.
    let declarations = lexer_declarations();
    let listed: BTreeSet<String> = ALL_TOKENS.iter().map(|t| format!("{t:?}")).collect();
    let in_source: BTreeSet<String> = declarations.keys().cloned().collect();
    assert_eq!(listed, in_source, "ALL_TOKENS and {LEXER} list different variants");

    let grammar = Grammar::load();
    for token in ALL_TOKENS {
        for scope in scopes(token) {
            assert!(grammar.rules_for(scope).next().is_some(), "{GRAMMAR}: no `{scope}` pattern for {token:?}");
        }
    }
    // Escapes are highlighted inside strings.
    let string = grammar.rules_for("string.quoted.double.warden").next().unwrap();
    let inner = string.json["patterns"].as_array().expect("strings have inner patterns");
    assert!(
        inner.iter().any(|p| p["name"] == "constant.character.escape.warden"),
        "{GRAMMAR}: strings should highlight escapes"
    );
}

#[test]
fn keywords_are_the_spec_keywords() {
    let declarations = lexer_declarations();
    let spec: BTreeSet<String> = SPEC_KEYWORDS.split_whitespace().map(str::to_owned).collect();
    let lexer: BTreeSet<String> = [Token::Keyword, Token::Boolean]
        .into_iter()
        .flat_map(|t| declared(&declarations, t).literals.iter().cloned())
        .collect();
    assert_eq!(lexer, spec, "{LEXER}: the reserved words differ from SPEC section 2");

    let grammar = Grammar::load();
    let keywords = grammar.literals("keyword.control.warden");
    let booleans = grammar.literals("constant.language.boolean.warden");
    let expected: BTreeSet<String> = ["false", "true"].map(str::to_owned).into_iter().collect();
    assert_eq!(booleans, expected, "{GRAMMAR}: the booleans are `true` and `false`");
    assert!(keywords.is_disjoint(&booleans), "{GRAMMAR}: `true`/`false` are booleans, not keywords");
    let both: BTreeSet<String> = keywords.union(&booleans).cloned().collect();
    assert_eq!(both, spec, "{GRAMMAR}: the reserved words differ from SPEC section 2");
}

#[test]
fn literal_tokens_agree_with_the_lexer() {
    // Keywords, booleans, operators (with `:-`) and punctuation: the grammar's
    // alternation for each scope lists exactly the lexer's `#[token]`s.
    let declarations = lexer_declarations();
    let grammar = Grammar::load();
    let mut checked = 0;
    for scope in all_scopes() {
        if let Some(expected) = lexer_literals(&declarations, scope) {
            let found = grammar.literals(scope);
            let missing: Vec<&String> = expected.difference(&found).collect();
            let extra: Vec<&String> = found.difference(&expected).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{GRAMMAR}: `{scope}` is missing {missing:?} and has extra {extra:?} compared with {LEXER}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "expected keywords, booleans, operators and punctuation to be checked");
}

#[test]
fn lexer_regexes_reappear_in_the_grammar() {
    // A one-line token's regex appears verbatim in its scope's `match`. Block
    // comments and strings may span lines or hold escapes, so the grammar
    // scopes them with `begin`/`end`; the `begin` must then open the lexer's regex.
    let declarations = lexer_declarations();
    let grammar = Grammar::load();
    for token in ALL_TOKENS {
        for regex in &declared(&declarations, token).regexes {
            let rules: Vec<&Rule> = scopes(token).iter().flat_map(|scope| grammar.rules_for(scope)).collect();
            let verbatim = rules.iter().any(|r| r.matches.as_deref().is_some_and(|m| m.contains(regex.as_str())));
            let opened = rules.iter().any(|r| r.begin.as_deref().is_some_and(|b| regex.starts_with(b)));
            assert!(
                verbatim || opened,
                "{GRAMMAR}: no pattern for {token:?} ({:?}) contains the lexer's regex {regex}",
                scopes(token)
            );
        }
    }
}

#[test]
fn pattern_order_resolves_ties_like_the_lexer() {
    // TextMate picks the earliest match and, on a tie, the earlier pattern;
    // the lexer picks the longest. Where two patterns can match at the same
    // place, the one the lexer would choose must come first.
    let grammar = Grammar::load();
    let before = [
        // `role:admin`, `true:1`, `U:x`, `doc:7`
        ("constant.other.typed-id.warden", "keyword.control.warden"),
        ("constant.other.typed-id.warden", "constant.language.boolean.warden"),
        ("constant.other.typed-id.warden", "variable.other.warden"),
        ("constant.other.typed-id.warden", "entity.name.function.warden"),
        ("constant.other.typed-id.warden", "constant.other.symbol.warden"),
        // `2026-12-01T00:00:00Z`, `30s`, `30`
        ("constant.other.timestamp.warden", "constant.numeric.duration.warden"),
        ("constant.numeric.duration.warden", "constant.numeric.integer.warden"),
        // `not (`, `true`, `allowed(`
        ("keyword.control.warden", "entity.name.function.warden"),
        ("keyword.control.warden", "constant.other.symbol.warden"),
        ("constant.language.boolean.warden", "entity.name.function.warden"),
        ("constant.language.boolean.warden", "constant.other.symbol.warden"),
        ("entity.name.function.warden", "constant.other.symbol.warden"),
        // `// ...` is a comment, not two operators
        ("comment.line.double-slash.warden", "keyword.operator.warden"),
        ("comment.block.warden", "keyword.operator.warden"),
    ];
    for (first, second) in before {
        assert!(
            grammar.position(first) < grammar.position(second),
            "{GRAMMAR}: the `{first}` pattern must come before `{second}`"
        );
    }
}

#[test]
fn shipped_policy_tokens_have_their_scope() {
    let declarations = lexer_declarations();
    let grammar = Grammar::load();
    let literals: BTreeMap<&str, BTreeSet<String>> = all_scopes()
        .into_iter()
        .filter_map(|scope| lexer_literals(&declarations, scope).map(|_| (scope, grammar.literals(scope))))
        .collect();
    for (name, text) in shipped_policies() {
        for (token, range) in tokens(&text) {
            let slice = &text[range.clone()];
            let token = token.unwrap_or_else(|()| panic!("{name}: `{slice}` at {range:?} is no token"));
            for scope in scopes(token) {
                assert!(
                    grammar.rules_for(scope).next().is_some(),
                    "{name}: no `{scope}` pattern for {token:?} `{slice}`"
                );
                if let Some(set) = literals.get(scope) {
                    assert!(set.contains(slice), "{name}: the {token:?} `{slice}` at {range:?} is not in `{scope}`");
                }
            }
        }
    }
}

//! Syntax errors: pest's failures as diagnostics that say what was expected,
//! at the right place.

use super::diagnostic::Diagnostic;
use super::lexer;
use super::parser::Rule;
use super::span::{FileId, Span};

/// Turns a pest error into a diagnostic: what was expected, at the right place.
pub(super) fn syntax_error(file: FileId, offset: usize, text: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let rest = text.get(start..).unwrap_or("");
    let start = start + (rest.len() - rest.trim_start().len());
    let found = text.get(start..).and_then(|rest| lexer::first_token_len(rest).and_then(|n| rest.get(..n)));
    let end = end.max(start + found.map_or(0, str::len));
    let message = match found {
        Some(token) => format!("syntax error: unexpected `{token}`"),
        None => "syntax error: unexpected end of input".to_string(),
    };
    let label = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            names.sort_unstable();
            names.dedup();
            match names.len() {
                0 => "not expected here".to_string(),
                1 => format!("expected {}", names.join("")),
                _ => format!("expected one of {}", names.join(", ")),
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::error(message, Span::new(file, offset + start, offset + end), label)
        .with_help("statements end with `;`; see the language reference in README.md")
}

/// A readable name for a grammar rule in "expected ..." messages.
fn rule_name(grammar_rule: Rule) -> Option<&'static str> {
    Some(match grammar_rule {
        Rule::atom | Rule::call => "an atom",
        Rule::relation => "a relation name",
        Rule::term | Rule::variable => "a variable",
        Rule::constant | Rule::name | Rule::bare_ident | Rule::typed_id | Rule::string => "a constant",
        Rule::timestamp => "a timestamp",
        Rule::integer => "an integer",
        Rule::expr | Rule::literal | Rule::conditions | Rule::unary | Rule::comparison | Rule::additive => {
            "a condition"
        }
        Rule::cmp_op => "a comparison",
        Rule::add_op => "`+` or `-`",
        Rule::and_op => "`&&`",
        Rule::or_op => "`||`",
        Rule::role_entry => "a role entry",
        Rule::type_name => "a type name",
        Rule::fn_name => "a function name",
        Rule::params | Rule::param => "a parameter",
        Rule::scope => "`on`",
        Rule::from_clause => "`from`",
        Rule::until_clause => "`until`",
        Rule::test_block => "a test",
        Rule::assert_stmt => "`assert`",
        Rule::EOI => "end of input",
        Rule::role_decl
        | Rule::assign_stmt
        | Rule::grant_stmt
        | Rule::superuser_stmt
        | Rule::inactive_stmt
        | Rule::allow_stmt
        | Rule::deny_stmt
        | Rule::fn_decl
        | Rule::extern_fn_decl
        | Rule::in_stmt
        | Rule::rule
        | Rule::fact => "a statement",
        Rule::ctx_key => "a context key",
        Rule::list => "a list",
        Rule::not_kw => "`not`",
        _ => return None,
    })
}

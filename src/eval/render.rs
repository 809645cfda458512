//! Rendering values and tuples as policy text (sorted output, stable bytes).

use crate::lower::intern::Symbols;
use crate::lower::ir::Value;
use crate::syntax::KEYWORDS;
use crate::time;

/// A string as it would be written in a policy: bare when it reads back as the
/// same constant (`alice`, `page:7`), quoted otherwise (`"Q3 plan"`).
pub fn quote_if_needed(s: &str) -> std::borrow::Cow<'_, str> {
    if s == "*" || is_bare(s) || is_typed(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(string_literal(s))
}

/// A string as a policy string literal, always quoted (`"a \"b\""`).
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_bare(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !KEYWORDS.contains(&s)
}

fn is_typed(s: &str) -> bool {
    let Some((ty, id)) = s.split_once(':') else {
        return false;
    };
    let mut ty_chars = ty.chars();
    ty_chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && ty_chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A value as policy text.
pub fn value(v: Value, symbols: &Symbols) -> String {
    match v {
        // `*` and `TYPE:*` asked about (a fresh constant): as written.
        Value::Sym(s) if crate::lower::intern::FRESH.contains(&s) && is_wildcard(&symbols.resolve(s)) => {
            symbols.resolve(s).to_string()
        }
        Value::Sym(s) => quote_if_needed(&symbols.resolve(s)).into_owned(),
        Value::Int(n) => n.to_string(),
        Value::Time(t) => time::format_timestamp(t),
        Value::Dur(d) => time::format_duration(d),
        Value::Bool(b) => b.to_string(),
    }
}

/// The order of rendered output: strings by their text, then numbers, times,
/// durations, booleans; independent of interning order.
pub fn compare(a: Value, b: Value, symbols: &Symbols) -> std::cmp::Ordering {
    let rank = |v: &Value| match v {
        Value::Sym(_) => 0,
        Value::Int(_) => 1,
        Value::Time(_) => 2,
        Value::Dur(_) => 3,
        Value::Bool(_) => 4,
    };
    match (a, b) {
        (Value::Sym(x), Value::Sym(y)) => symbols.resolve(x).cmp(&symbols.resolve(y)),
        _ => rank(&a).cmp(&rank(&b)).then(a.cmp(&b)),
    }
}

/// Compares two rows value by value with [`compare`].
pub fn compare_rows(a: &[Value], b: &[Value], symbols: &Symbols) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = compare(*x, *y, symbols);
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Whether a name is `*` or `TYPE:*`: a question about any object (of the
/// type), SPEC section 9.
pub fn is_wildcard(name: &str) -> bool {
    match name.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => prefix.strip_suffix(':').is_some_and(|ty| {
            ty.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }),
        None => false,
    }
}

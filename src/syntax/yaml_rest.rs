//! The shape errors of a data file after the first: serde stops at the
//! first error, so the file is read again as plain YAML values and each
//! section, row and value is checked on its own. An error found this way
//! points at its row (found by its first value, as items are), not at the
//! exact value; the first error keeps serde's exact line and column.

use super::diagnostic::Diagnostic;
use super::span::{FileId, SourceFile, Span};
use super::yaml::{AssignRow, GrantRow, Name, RoleRow, Row};
use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// The sections a data file may hold.
const SECTIONS: [&str; 7] = ["in", "assign", "grant", "superuser", "inactive", "roles", "facts"];

/// Every shape error of the file but `first` (the error serde reported,
/// whose message names the same section and row), in file order.
pub(super) fn further_errors(file: FileId, source: &SourceFile, first: &Diagnostic) -> Vec<Diagnostic> {
    let Ok(Value::Mapping(top)) = serde_yaml::from_str::<Value>(&source.text) else { return Vec::new() };
    let mut finder = Finder { file, source, errors: Vec::new() };
    let mut cursor = 0;
    for (key, value) in &top {
        let Some(key) = key.as_str() else { continue };
        let at = finder.key_offset(key, cursor);
        cursor = at;
        match key {
            "in" => finder.rows::<(Name, Name)>(key, key, value, at),
            "assign" => finder.rows::<AssignRow>(key, key, value, at),
            "grant" => finder.rows::<GrantRow>(key, key, value, at),
            "superuser" | "inactive" => finder.rows::<Name>(key, key, value, at),
            "roles" => finder.rows::<RoleRow>(key, key, value, at),
            "facts" => finder.facts(value, at),
            _ => {
                let span = Span::new(file, at, at + key.len());
                let expected = SECTIONS.map(|s| format!("`{s}`")).join(", ");
                finder.error(format!("unknown field `{key}`, expected one of {expected}"), span);
            }
        }
    }
    let first = first.message.trim_start_matches(PREFIX);
    // The same error as serde's: its message starts with what this one is
    // about, up to a boundary (`in[1]` is not about `in[10]`).
    let same = |what: &str| {
        first
            .strip_prefix(what)
            .is_some_and(|rest| rest.is_empty() || what.ends_with(':') || rest.starts_with([':', '[', '.']))
    };
    finder.errors.into_iter().filter(|(what, _)| !same(what)).map(|(_, d)| d).collect()
}

const PREFIX: &str = "invalid data file: ";

struct Finder<'a> {
    file: FileId,
    source: &'a SourceFile,
    /// Each error with what it is about (`in[3]`, or its whole message).
    errors: Vec<(String, Diagnostic)>,
}

impl Finder<'_> {
    fn error(&mut self, message: String, span: Span) {
        self.error_about(message.clone(), message, span);
    }

    fn error_about(&mut self, about: String, message: String, span: Span) {
        let d = Diagnostic::error(format!("{PREFIX}{message}"), span, "here").with_help(
            "data files hold `in`, `assign`, `grant`, `superuser`, `inactive`, `roles` and `facts` (SPEC section 6)",
        );
        self.errors.push((about, d));
    }

    /// The offset of `key:` starting an entry at or after `from`.
    fn key_offset(&self, key: &str, from: usize) -> usize {
        super::yaml::key_offset(&self.source.text, key, from)
    }

    /// Each row of a section, read as `T`; a row that does not read is an
    /// error at the row.
    /// `key` is the section's key as written at `at`; `label` names it in messages.
    fn rows<T: DeserializeOwned>(&mut self, label: &str, key: &str, value: &Value, at: usize) {
        let rows = match value {
            Value::Null => return,
            Value::Sequence(rows) => rows,
            _ => {
                let about = format!("{label}:"); // serde's own message for it starts so
                return self.error_about(about, format!("`{label}` holds a list"), self.span(at, key));
            }
        };
        let mut cursor = at + key.len();
        for (i, row) in rows.iter().enumerate() {
            let span = self.locate(row, &mut cursor, at, key);
            if let Err(e) = T::deserialize(row.clone()) {
                self.error_about(format!("{label}[{i}]"), format!("{label}[{i}]: {e}"), span);
            }
        }
    }

    /// The `facts:` section: a map from relation names to rows.
    fn facts(&mut self, value: &Value, at: usize) {
        let relations = match value {
            Value::Null => return,
            Value::Mapping(relations) => relations,
            _ => {
                let message = "`facts` holds a map from relation names to rows".to_string();
                return self.error_about("facts:".into(), message, self.span(at, "facts"));
            }
        };
        let mut cursor = at;
        for (name, rows) in relations {
            let Some(name) = name.as_str() else { continue };
            let key_at = self.key_offset(name, cursor);
            cursor = key_at;
            self.rows::<Row>(&format!("facts.{name}"), name, rows, key_at);
        }
    }

    fn span(&self, at: usize, key: &str) -> Span {
        Span::new(self.file, at, at + key.len())
    }

    /// The row's span: from its first value after `*cursor` to the end of
    /// that line (the section's key when the row has no value to find).
    fn locate(&self, row: &Value, cursor: &mut usize, section: usize, key: &str) -> Span {
        let Some(needle) = first_scalar(row).filter(|n| !n.is_empty()) else { return self.span(section, key) };
        match super::yaml::find_item(&self.source.text, &needle, cursor) {
            Some((start, end)) => Span::new(self.file, start, end),
            None => self.span(section, key),
        }
    }
}

/// The text of a row's first scalar, as it is most likely written.
fn first_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Sequence(items) => items.iter().find_map(first_scalar),
        Value::Mapping(map) => map.iter().find_map(|(k, v)| first_scalar(v).or_else(|| first_scalar(k))),
        Value::Tagged(tagged) => first_scalar(&tagged.value),
        Value::Null => None,
    }
}

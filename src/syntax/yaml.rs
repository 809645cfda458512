//! YAML data files (SPEC section 6) → the same AST statements as policy files.
//!
//! serde_yaml reads and checks the shape; errors it raises (an unknown key, a
//! tuple of the wrong length, a value that is no constant) carry its line and
//! column. serde_yaml does not report where successfully read values stood, so
//! each item's span is recovered by finding its first value in the text after
//! the previous item (exact for ordinary files; for files that reorder with
//! anchors, it points at the section).

use super::ast::{Atom, Constant, Holding, RoleEntry, Statement, StatementKind, Term};
use super::diagnostic::Diagnostic;
use super::span::{FileId, SourceFile, Span, Spanned};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A scalar value of a data file.
#[derive(Clone, Debug, PartialEq)]
struct Scalar(Constant);

/// Reads one constant.
struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a constant (a name, an integer, a timestamp or a boolean)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(string_constant(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(Constant::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        i64::try_from(v)
            .map(|n| Scalar(Constant::Int(n)))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(Constant::Bool(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Err(E::custom(format!("`{v}` is not a constant: numbers are integers")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Err(E::custom("an empty value is not a constant"))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A row of a `facts:` relation: a list of constants, or one constant alone
/// for a unary relation (`locked: [page:1, page:2]`).
pub(super) struct Row(Vec<Scalar>);

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a row: a list of constants, or one constant for a unary relation")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<Scalar>()? {
                    values.push(value);
                }
                Ok(Row(values))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Row, E> {
                ScalarVisitor.visit_str(v).map(|s| Row(vec![s]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Row, E> {
                ScalarVisitor.visit_i64(v).map(|s| Row(vec![s]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Row, E> {
                ScalarVisitor.visit_u64(v).map(|s| Row(vec![s]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Row, E> {
                ScalarVisitor.visit_bool(v).map(|s| Row(vec![s]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Row, E> {
                ScalarVisitor.visit_f64(v).map(|s| Row(vec![s]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Row, E> {
                ScalarVisitor.visit_unit().map(|s| Row(vec![s]))
            }
        }
        deserializer.deserialize_any(RowVisitor)
    }
}

/// A string that is an RFC 3339 timestamp is a timestamp; any other is a
/// string (data files, and the JSON facts of live updates).
pub(crate) fn string_constant(v: &str) -> Constant {
    match crate::time::parse_timestamp(v) {
        Ok(t) if v.len() >= 20 => Constant::Time(t),
        _ => Constant::Str(v.to_string()),
    }
}

/// A value that must be a name (a string that is not a timestamp).
#[derive(Clone, Debug)]
pub(super) struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(deserializer)?.0 {
            Constant::Str(s) if !s.is_empty() => Ok(Name(s)),
            Constant::Str(_) => Err(de::Error::custom("a name cannot be empty")),
            other => Err(de::Error::custom(format!("expected a name, found {}", describe(&other)))),
        }
    }
}

/// A value that must be a timestamp.
#[derive(Clone, Copy, Debug)]
struct Stamp(i64);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(deserializer)?.0 {
            Constant::Time(t) => Ok(Stamp(t)),
            Constant::Str(s) => Err(de::Error::custom(
                crate::time::parse_timestamp(&s).err().unwrap_or_else(|| format!("`{s}` is not a timestamp")),
            )),
            other => Err(de::Error::custom(format!("expected a timestamp, found {}", describe(&other)))),
        }
    }
}

fn describe(c: &Constant) -> &'static str {
    match c {
        Constant::Str(_) => "a string",
        Constant::Int(_) => "an integer",
        Constant::Time(_) => "a timestamp",
        Constant::Dur(_) => "a duration",
        Constant::Bool(_) => "a boolean",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AssignRow {
    subject: Name,
    role: Name,
    on: Option<Name>,
    from: Option<Stamp>,
    until: Option<Stamp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantRow {
    subject: Name,
    perm: Name,
    on: Option<Name>,
    from: Option<Stamp>,
    until: Option<Stamp>,
}

/// An `assign` or `grant` row: subject, role or permission, scope, bounds.
type HoldingRow = (Name, Name, Option<Name>, Option<Stamp>, Option<Stamp>);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DataFile {
    #[serde(default, rename = "in")]
    in_: Vec<(Name, Name)>,
    #[serde(default)]
    assign: Vec<AssignRow>,
    #[serde(default)]
    grant: Vec<GrantRow>,
    #[serde(default)]
    superuser: Vec<Name>,
    #[serde(default)]
    inactive: Vec<Name>,
    #[serde(default)]
    roles: Vec<RoleRow>,
    #[serde(default)]
    facts: Sections,
}

/// A role as data (`roles:`), the same as a `role` block: its name, the
/// roles it extends, its permissions (`read`, or `{perm: write, on: page}`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleRow {
    name: Name,
    #[serde(default)]
    extends: Vec<Name>,
    #[serde(default)]
    permissions: Vec<PermissionRow>,
}

/// One permission of a role as data.
#[derive(Deserialize)]
#[serde(untagged)]
enum PermissionRow {
    /// `read`: on every object.
    Everywhere(Name),
    /// `{perm: write, on: page}`: on objects of one type.
    OnType { perm: Name, on: Name },
}

/// The `facts:` section: each relation's rows, in file order. A relation
/// named twice is an error (a map would keep only the last list, silently
/// dropping the rows of the first: an export that writes one section per
/// table must not lose a table).
#[derive(Default)]
struct Sections(Vec<(String, Vec<Vec<Scalar>>)>);

impl<'de> Deserialize<'de> for Sections {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SectionsVisitor;
        impl<'de> Visitor<'de> for SectionsVisitor {
            type Value = Sections;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from relation names to lists of rows")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Sections, E> {
                Ok(Sections::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Sections, A::Error> {
                let mut sections: Vec<(String, Vec<Vec<Scalar>>)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if sections.iter().any(|(seen, _)| *seen == name) {
                        return Err(de::Error::custom(format!("duplicate key `{name}`")));
                    }
                    let rows = map.next_value::<Option<Vec<Row>>>()?.unwrap_or_default();
                    let rows = rows.into_iter().map(|Row(values)| values).collect();
                    sections.push((name, rows));
                }
                Ok(Sections(sections))
            }
        }
        deserializer.deserialize_map(SectionsVisitor)
    }
}

/// The deepest nesting a data file may have (a data file needs 4: the file,
/// a section, a row, a value; a YAML parser given 100,000 takes a minute).
const MAX_NESTING: usize = 32;

/// Where the text nests deeper than [`MAX_NESTING`], found in one pass
/// before any YAML parsing: `[`/`{` outside quotes, plus block levels (each
/// deeper indentation, each `- ` starting an item).
fn nesting_error(file: FileId, source: &SourceFile) -> Option<Diagnostic> {
    let text = &source.text;
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_start_matches(' ');
        if flow == 0 && !body.trim().is_empty() && !body.starts_with('#') {
            let indent = line.len() - body.len();
            while indents.last().is_some_and(|top| *top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut dashes = 0;
        let mut rest = body;
        while let Some(after) = rest.strip_prefix("- ") {
            dashes += 1;
            rest = after.trim_start_matches(' ');
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for (i, c) in line.char_indices() {
            match (quote, c) {
                (None, '#') if previous == ' ' => break,
                // A quote opens only where a scalar starts (`a'b` is plain text).
                (None, '"' | '\'') if matches!(previous, ' ' | '[' | '{' | ',' | ':') => quote = Some(c),
                // `\` escapes only in double quotes.
                (Some('"'), '"') if previous != '\\' => quote = None,
                (Some('\''), '\'') => quote = None,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            previous = c;
            if indents.len() + dashes + flow > MAX_NESTING {
                let at = start + i;
                return Some(
                    Diagnostic::error(
                        format!("invalid data file: nested deeper than {MAX_NESTING} levels"),
                        Span::new(file, at, at + c.len_utf8()),
                        "too deep",
                    )
                    .with_help("a data file is sections of rows of values (SPEC section 6)"),
                );
            }
        }
    }
    None
}

/// Reads one data file into statements; a shape error stops the file, and
/// every shape error of it is reported.
pub fn parse_data_file(file: FileId, source: &SourceFile) -> (Vec<Statement>, Vec<Diagnostic>) {
    if let Some(error) = nesting_error(file, source) {
        return (Vec::new(), vec![error]);
    }
    let data: DataFile = match serde_yaml::from_str::<Option<DataFile>>(&source.text) {
        Ok(data) => data.unwrap_or_default(),
        Err(e) => {
            let first = yaml_error(file, source, &e);
            let mut errors = super::yaml_rest::further_errors(file, source, &first);
            errors.insert(0, first);
            errors.sort_by_key(|d| d.span.map(|s| s.start));
            return (Vec::new(), errors);
        }
    };
    let mut out = Converter { file, source, statements: Vec::new(), errors: Vec::new() };
    out.convert(data);
    (out.statements, out.errors)
}

fn yaml_error(file: FileId, source: &SourceFile, e: &serde_yaml::Error) -> Diagnostic {
    let message = e.to_string();
    // serde_yaml appends " at line L column C"; the span already says where.
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    if let Some(duplicate) = duplicate_key_error(file, source, e, &message) {
        return duplicate;
    }
    let span = match e.location() {
        Some(loc) => {
            let start = source.offset_of(loc.line(), loc.column());
            let len = source.text.get(start..).map_or(0, |r| r.find(['\n', ',', ']', '}']).unwrap_or(r.len()));
            Span::new(file, start, start + len.max(1))
        }
        None => Span::new(file, 0, 0),
    };
    Diagnostic::error(format!("invalid data file: {message}"), span, "here")
        .with_help("data files hold `in`, `assign`, `grant`, `superuser`, `inactive` and `facts` (SPEC section 6)")
}

/// A key written twice in one mapping (serde's "duplicate field `in`" or
/// ours, "duplicate key `locked`"), reported at both places. serde_yaml
/// points at the start of the mapping; the two keys are the first two
/// places after it where that key starts an entry of the same mapping.
fn duplicate_key_error(file: FileId, source: &SourceFile, e: &serde_yaml::Error, message: &str) -> Option<Diagnostic> {
    let key = ["duplicate field `", "duplicate key `"]
        .iter()
        .find_map(|prefix| message.split(prefix).nth(1))
        .and_then(|rest| rest.split('`').next())?;
    let location = e.location()?;
    let start = source.offset_of(location.line(), location.column());
    let text = &source.text;
    let column = |offset: usize| offset - text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |n| n + 1);
    let flow = text.get(start..).is_some_and(|rest| rest.starts_with('{'));
    let mut found: Vec<usize> = Vec::new();
    let mut at = start;
    while found.len() < 2 {
        let Some(pos) = text.get(at..).and_then(|r| r.find(key)).map(|p| at + p) else { break };
        at = pos + key.len();
        let quoted = text.get(pos.saturating_sub(1)..pos).is_some_and(|c| c == "\"" || c == "'");
        let key_start = if quoted { pos - 1 } else { pos };
        let before = text.get(..key_start).and_then(|t| t.chars().next_back());
        let after = text.get(at..).unwrap_or("").trim_start_matches(['"', '\'']).trim_start_matches(' ');
        let starts_entry = before.is_none_or(|c| matches!(c, '\n' | ' ' | '{' | ',' | '\t'));
        // Block style: keys of one mapping share a column; flow style (`{...}`, JSON) need not.
        let same_mapping = flow || found.first().is_none_or(|first| column(*first) == column(key_start));
        if starts_entry && after.starts_with(':') && same_mapping {
            found.push(key_start);
        }
    }
    let [first, second] = found[..] else { return None };
    let span = |offset: usize| {
        Span::new(file, offset, offset + key.len() + usize::from(text.get(offset..offset + 1) == Some("\"")) * 2)
    };
    Some(
        Diagnostic::error(
            format!("invalid data file: duplicate key `{key}` (first at line {})", source.line_col(first).0),
            span(second),
            "named again here",
        )
        .with_note(span(first), "first named here")
        .with_help(format!("a key may appear once per mapping: merge the two lists under one `{key}:`")),
    )
}

struct Converter<'a> {
    file: FileId,
    source: &'a SourceFile,
    statements: Vec<Statement>,
    errors: Vec<Diagnostic>,
}

impl Converter<'_> {
    /// The offset of a top-level (or nested) `key:` after `from`.
    fn key_offset(&self, key: &str, from: usize) -> usize {
        key_offset(&self.source.text, key, from)
    }

    /// The span of the next item whose values are `needles` (the first one
    /// starting the item, the others later on its line when the item is written
    /// on one line), searching from `*cursor`.
    fn locate_item(&self, needles: &[&str], cursor: &mut usize) -> Span {
        let text = &self.source.text;
        let Some(first) = needles.first().filter(|first| !first.is_empty()) else {
            return Span::new(self.file, *cursor, *cursor); // nothing to find (`find("")` would never move on)
        };
        let mut at = *cursor;
        while let Some(found) = text.get(at..).and_then(|r| r.find(first)) {
            let start = at + found;
            let line_end = text.get(start..).and_then(|r| r.find('\n')).map_or(text.len(), |n| start + n);
            let rest = text.get(start + first.len()..line_end).unwrap_or("");
            if needles.iter().skip(1).all(|n| rest.contains(n)) {
                *cursor = start + first.len();
                return Span::new(self.file, start, line_end.max(start + first.len()));
            }
            at = start + first.len();
        }
        self.locate(first, cursor)
    }

    /// The span of the next item whose first value is `needle`, searching from `*cursor`.
    fn locate(&self, needle: &str, cursor: &mut usize) -> Span {
        match find_item(&self.source.text, needle, cursor) {
            Some((start, end)) => Span::new(self.file, start, end),
            None => Span::new(self.file, *cursor, *cursor),
        }
    }

    fn push(&mut self, kind: StatementKind, span: Span) {
        self.statements.push(Statement { kind, span });
    }

    fn convert(&mut self, data: DataFile) {
        let mut cursor = self.key_offset("in", 0);
        for (member, container) in data.in_ {
            let span = self.locate_item(&[&member.0, &container.0], &mut cursor);
            self.push(StatementKind::In(Spanned::new(member.0, span), Spanned::new(container.0, span)), span);
        }
        for (key, is_assign) in [("assign", true), ("grant", false)] {
            let mut cursor = self.key_offset(key, 0);
            let rows: Vec<HoldingRow> = if is_assign {
                data.assign.iter().map(|r| (r.subject.clone(), r.role.clone(), r.on.clone(), r.from, r.until)).collect()
            } else {
                data.grant.iter().map(|r| (r.subject.clone(), r.perm.clone(), r.on.clone(), r.from, r.until)).collect()
            };
            for (subject, what, on, from, until) in rows {
                let span = self.locate_item(&[&subject.0, &what.0], &mut cursor);
                let holding = Holding {
                    subject: Spanned::new(subject.0, span),
                    what: Spanned::new(what.0, span),
                    on: on.map(|o| Spanned::new(o.0, span)),
                    from: from.map(|t| Spanned::new(t.0, span)),
                    until: until.map(|t| Spanned::new(t.0, span)),
                };
                let kind = if is_assign { StatementKind::Assign(holding) } else { StatementKind::Grant(holding) };
                self.push(kind, span);
            }
        }
        let mut cursor = self.key_offset("roles", 0);
        for role in data.roles {
            let span = self.locate_item(&[&role.name.0], &mut cursor);
            let at = |text: String| Spanned::new(text, span);
            let entries = role
                .permissions
                .into_iter()
                .map(|p| {
                    let (perm, on) = match p {
                        PermissionRow::Everywhere(perm) => (perm, None),
                        PermissionRow::OnType { perm, on } => (perm, Some(on)),
                    };
                    RoleEntry { perm: at(perm.0), on_type: on.map(|t| at(t.0)), conditions: Vec::new(), span }
                })
                .collect();
            let extends = role.extends.into_iter().map(|e| at(e.0)).collect();
            self.push(StatementKind::Role { name: at(role.name.0), extends, entries }, span);
        }
        for (key, names) in [("superuser", &data.superuser), ("inactive", &data.inactive)] {
            let mut cursor = self.key_offset(key, 0);
            for name in names {
                let span = self.locate(&name.0, &mut cursor);
                let node = Spanned::new(name.0.clone(), span);
                let kind =
                    if key == "superuser" { StatementKind::Superuser(node) } else { StatementKind::Inactive(node) };
                self.push(kind, span);
            }
        }
        let facts_at = self.key_offset("facts", 0);
        for (relation, rows) in data.facts.0 {
            let mut cursor = self.key_offset(&relation, facts_at);
            let relation_span = Span::new(self.file, cursor, cursor + relation.len());
            if !is_relation_name(&relation) {
                self.errors.push(
                    Diagnostic::error(
                        format!("invalid relation name `{relation}`"),
                        relation_span,
                        "not a relation name",
                    )
                    .with_help("relation names start with a lower-case letter and hold letters, digits and `_`"),
                );
                continue;
            }
            if rows.is_empty() {
                // `NAME: []` declares NAME with no facts (SPEC section 9).
                let name = Spanned::new(relation.clone(), relation_span);
                self.push(StatementKind::Relation { name, columns: None }, relation_span);
                continue;
            }
            let arity = rows.first().map_or(0, Vec::len);
            for row in rows {
                let needles: Vec<String> = row.iter().map(|s| scalar_text(&s.0)).collect();
                let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
                let span = self.locate_item(&needles, &mut cursor);
                if row.len() != arity {
                    self.errors.push(Diagnostic::error(
                        format!(
                            "wrong arity: `{relation}` has {arity} columns in this file, this row has {}",
                            row.len()
                        ),
                        span,
                        format!("{} values", row.len()),
                    ));
                    continue;
                }
                let args = row.into_iter().map(|s| Spanned::new(Term::Const(s.0), span)).collect();
                let atom = Atom { relation: Spanned::new(relation.clone(), span), args, span };
                self.push(StatementKind::Fact(atom), span);
            }
        }
    }
}

/// How a constant is most likely written in the YAML text (for locating it).
fn scalar_text(c: &Constant) -> String {
    match c {
        Constant::Str(s) => s.clone(),
        Constant::Int(n) => n.to_string(),
        Constant::Time(t) => crate::time::format_timestamp(*t).chars().take(10).collect(),
        Constant::Dur(d) => crate::time::format_duration(*d),
        Constant::Bool(b) => b.to_string(),
    }
}

/// Where the next item whose first value is `needle` stands, from
/// `*cursor`: from the value to the end of its line (and the cursor moves
/// past the value); `None` when it is not found.
pub(super) fn find_item(text: &str, needle: &str, cursor: &mut usize) -> Option<(usize, usize)> {
    let start = *cursor + text.get(*cursor..)?.find(needle)?;
    let end = text.get(start..).and_then(|r| r.find('\n')).map_or(text.len(), |n| start + n);
    *cursor = start + needle.len();
    Some((start, end.max(start + needle.len())))
}

/// The offset in `text` of `key:` starting an entry (after a line start, a
/// space, `{`, `,` or a quote) at or after `from`; `from` when none does.
pub(super) fn key_offset(text: &str, key: &str, from: usize) -> usize {
    if key.is_empty() {
        return from; // an empty key: nothing to find (and `find("")` would never move on)
    }
    let mut at = from;
    while let Some(found) = text.get(at..).and_then(|r| r.find(key)) {
        let pos = at + found;
        let before = text.get(..pos).and_then(|t| t.chars().next_back());
        let after = text.get(pos + key.len()..).unwrap_or("").trim_start_matches(['"', '\'']);
        if before.is_none_or(|c| matches!(c, '\n' | ' ' | '{' | ',' | '"' | '\'')) && after.starts_with(':') {
            return pos;
        }
        at = pos + key.len();
    }
    from
}

fn is_relation_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

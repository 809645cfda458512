//! Rows to facts: each row of a query becomes one fact of its binding's
//! shape, every value checked. A value is data, never syntax: a row is
//! turned into a [`LiveFact`] directly, and no text is parsed.

use super::SourceError;
use super::config::{Binding, Shape};
use crate::live::{Holding, LiveFact};
use crate::syntax::ast::Constant;
use crate::time;

/// One value of a row, as the database gave it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number (no Warden value is one).
    Real(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A timestamp, in microseconds since the epoch.
    Time(i64),
    /// Bytes (no Warden value is one).
    Blob,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => write!(f, "NULL"),
            Cell::Int(n) => write!(f, "{n}"),
            Cell::Real(x) => write!(f, "{x}"),
            Cell::Text(s) => write!(f, "{s:?}"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Time(t) => write!(f, "{}", time::format_timestamp(*t)),
            Cell::Blob => write!(f, "<blob>"),
        }
    }
}

/// The fact a row states (its width checked by [`Binding::check_width`]).
/// `row` counts from 1, for the error.
pub fn fact_of(binding: &Binding, row: usize, cells: &[Cell]) -> Result<LiveFact, SourceError> {
    let error = |message: String| SourceError::row(binding, row, cells, message);
    let reader = Reader { binding, cells };
    let fact = match &binding.shape {
        Shape::In => LiveFact::In { member: reader.name(0).map_err(error)?, container: reader.name(1).map_err(error)? },
        Shape::Assign | Shape::Grant => {
            let holding = Holding {
                subject: reader.name(0).map_err(error)?,
                what: reader.name(1).map_err(error)?,
                on: reader.optional(2, Reader::name).map_err(error)?,
                from: reader.optional(3, Reader::timestamp).map_err(error)?,
                until: reader.optional(4, Reader::timestamp).map_err(error)?,
            };
            if binding.shape == Shape::Assign { LiveFact::Assign(holding) } else { LiveFact::Grant(holding) }
        }
        Shape::Superuser => LiveFact::Superuser(reader.name(0).map_err(error)?),
        Shape::Inactive => LiveFact::Inactive(reader.name(0).map_err(error)?),
        Shape::Role => {
            let role = reader.name(0).map_err(error)?;
            match reader.optional(1, Reader::name).map_err(error)? {
                None => LiveFact::Role(role),
                Some(perm) => {
                    LiveFact::RolePermission { role, perm, on: reader.optional(2, Reader::name).map_err(error)? }
                }
            }
        }
        Shape::Relation(name) => {
            let args = (0..cells.len()).map(|i| reader.constant(i)).collect::<Result<Vec<_>, _>>().map_err(error)?;
            LiveFact::Relation { name: name.clone(), args }.normalized()
        }
    };
    fact.check_names().map_err(|e| error(e.to_string()))?;
    Ok(fact)
}

/// Reads the cells of one row by column.
struct Reader<'a> {
    binding: &'a Binding,
    cells: &'a [Cell],
}

impl Reader<'_> {
    fn cell(&self, i: usize) -> &Cell {
        self.cells.get(i).unwrap_or(&Cell::Null)
    }

    fn type_of(&self, i: usize) -> Option<&str> {
        self.binding.types.get(i).and_then(|t| t.as_deref())
    }

    /// A name (subject, role, object, ...): text, or an integer under a type.
    fn name(&self, i: usize) -> Result<String, String> {
        match self.constant(i)? {
            Constant::Str(s) => Ok(s),
            Constant::Int(n) => {
                Err(format!("column {} is the number {n}, where a name is wanted (give it a type)", i + 1))
            }
            other => Err(format!("column {} is {other:?}, where a name is wanted", i + 1)),
        }
    }

    /// Any value of a relation's column.
    fn constant(&self, i: usize) -> Result<Constant, String> {
        let typed = |text: String| match self.type_of(i) {
            Some(ty) => Constant::Str(format!("{ty}:{text}")),
            None => Constant::Str(text),
        };
        Ok(match self.cell(i) {
            Cell::Null => return Err(format!("column {} is NULL", i + 1)),
            // `*` is the policy's "every object": a row must not be able to say it.
            Cell::Text(s) if crate::live::means_every_object(s) => {
                return Err(format!(
                    "column {} is `{s}`, which is no value a database may give (`*` means every object)",
                    i + 1
                ));
            }
            Cell::Text(s) => typed(s.clone()),
            Cell::Int(n) if self.type_of(i).is_some() => typed(n.to_string()),
            Cell::Int(n) => Constant::Int(*n),
            Cell::Bool(b) => Constant::Bool(*b),
            Cell::Time(t) => Constant::Time(*t),
            Cell::Real(x) => return Err(format!("column {} is the real number {x}; Warden has no such values", i + 1)),
            Cell::Blob => return Err(format!("column {} is a blob", i + 1)),
        })
    }

    /// A `from`/`until` bound: a timestamp, or text in RFC 3339 or SQL's
    /// `YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]` (UTC when no offset is given).
    fn timestamp(&self, i: usize) -> Result<i64, String> {
        match self.cell(i) {
            Cell::Time(t) => Ok(*t),
            Cell::Text(s) => parse_sql_timestamp(s).map_err(|e| format!("column {}: {e}", i + 1)),
            other => Err(format!("column {} is {other}, where a timestamp is wanted", i + 1)),
        }
    }

    /// A column that may be missing or NULL ("none").
    fn optional<T>(&self, i: usize, read: fn(&Self, usize) -> Result<T, String>) -> Result<Option<T>, String> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            _ => read(self, i).map(Some),
        }
    }
}

/// Reads a timestamp as SQL databases write it: RFC 3339, or a space for the
/// `T` and no offset meaning UTC (`2026-11-30 16:49:44.123456`, as Django
/// stores `DateTimeField` in SQLite).
pub fn parse_sql_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let mut normal = text.replacen(' ', "T", 1);
    if normal.len() == 10 {
        normal.push_str("T00:00:00");
    }
    let has_offset = normal.ends_with(['Z', 'z']) || normal.get(19..).is_some_and(|rest| rest.contains(['+', '-']));
    if !has_offset {
        normal.push('Z');
    }
    time::parse_timestamp(&normal).map_err(|_| format!("`{text}` is not a timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_timestamps_read_as_utc() {
        let t = time::parse_timestamp("2026-11-30T16:49:44.5Z").unwrap_or_default();
        assert_eq!(parse_sql_timestamp("2026-11-30 16:49:44.5"), Ok(t));
        assert_eq!(parse_sql_timestamp("2026-11-30 17:49:44.5+01:00"), Ok(t));
        assert_eq!(parse_sql_timestamp("2026-11-30T16:49:44.5Z"), Ok(t));
        assert!(parse_sql_timestamp("yesterday").is_err());
        assert!(parse_sql_timestamp("2026-11-30").is_ok());
    }
}

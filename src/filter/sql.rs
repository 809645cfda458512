//! A [`Filter`] as a SQL condition for SQLite or PostgreSQL: a `WHERE`
//! fragment over one column of the application's table, every value a
//! bound parameter.
//!
//! - every object: `"id" IS NOT NULL` (a row without a key is no object;
//!   with [`Key::Name`], also a name of the type: `substr("name", 1, 5) =
//!   'page:'`);
//! - none: `1 = 0`;
//! - only these: `"id" IN (?1, ?2)`, or past [`SqlTarget::inline_max`]
//!   values one parameter: `"id" = ANY($1::bigint[])` (PostgreSQL) or
//!   `"id" IN (SELECT value FROM json_each(?1))` (SQLite, a JSON array);
//! - every one but these: the same with `NOT IN` (`<> ALL` on PostgreSQL),
//!   and `IS NOT NULL`;
//! - decided per row ([`Residual::PerRow`]): `"id" IS NOT NULL`, and
//!   [`Sql::check_each_row`] says the caller checks each row it returns.
//!
//! The text is built from a fixed set of shapes, the column's name
//! (checked to be an identifier, then quoted) and parameter numbers: no
//! value is ever written into it, so no object name can become SQL.

use super::{Filter, Residual};

/// The SQL dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?N` parameters, JSON arrays through `json_each`.
    Sqlite,
    /// PostgreSQL: `$N` parameters, arrays.
    Postgres,
}

/// How the column holds an object of the type (`page:7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// An integer key: `7` (a name whose key is no integer written plainly,
    /// `page:07` or `page:x`, names no row).
    Integer,
    /// A text key: `'7'`.
    Text,
    /// The whole name as text: `'page:7'`.
    Name,
}

/// How parameters are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// `?1` (SQLite) or `$1` (PostgreSQL), numbered from
    /// [`SqlTarget::first_param`].
    Numbered,
    /// `%s`, in order (Python's DB-API `format` style: psycopg, Django's
    /// cursors).
    Format,
}

/// Where the condition applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlTarget {
    /// The dialect.
    pub dialect: Dialect,
    /// The column: an identifier, or `table.column`.
    pub column: String,
    /// How it holds the object.
    pub key: Key,
    /// The number of the first parameter (after the query's own), from 1.
    pub first_param: usize,
    /// How parameters are written.
    pub placeholder: Placeholder,
    /// The most values written as parameters of their own; more go in one
    /// array (PostgreSQL) or JSON (SQLite) parameter.
    pub inline_max: usize,
}

impl SqlTarget {
    /// `column` of the table, holding `key`s, parameters numbered from 1,
    /// up to 100 values inline.
    pub fn new(dialect: Dialect, column: impl Into<String>, key: Key) -> SqlTarget {
        SqlTarget {
            dialect,
            column: column.into(),
            key,
            first_param: 1,
            placeholder: Placeholder::Numbered,
            inline_max: 100,
        }
    }
}

/// A parameter's value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum SqlParam {
    /// An integer.
    Integer(i64),
    /// A text.
    Text(String),
    /// A PostgreSQL `bigint[]`.
    IntegerArray(Vec<i64>),
    /// A PostgreSQL `text[]`.
    TextArray(Vec<String>),
}

/// A condition and its parameters, in order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sql {
    /// The condition, to put in a `WHERE` clause (parenthesized when
    /// combined with `OR`).
    pub condition: String,
    /// The values of its parameters, numbered from the target's first one.
    pub params: Vec<SqlParam>,
    /// Whether each row the condition selects must still be checked
    /// ([`crate::Engine::is_allowed`]): the condition is then a superset.
    pub check_each_row: bool,
}

/// Renders `filter` for `target` (see the module).
pub(super) fn render(filter: &Filter, target: &SqlTarget) -> Result<Sql, String> {
    if target.first_param == 0 {
        return Err("parameters are numbered from 1".into());
    }
    let column = quoted(&target.column)?;
    let head = format!("{}:", filter.ty);
    let mut sql = Sql { condition: String::new(), params: Vec::new(), check_each_row: false };
    let mut param = |value: SqlParam, cast: &str| {
        let n = target.first_param + sql.params.len();
        sql.params.push(value);
        let cast = if target.dialect == Dialect::Postgres { cast } else { "" };
        match target.placeholder {
            Placeholder::Numbered if target.dialect == Dialect::Sqlite => format!("?{n}{cast}"),
            Placeholder::Numbered => format!("${n}{cast}"),
            Placeholder::Format => format!("%s{cast}"),
        }
    };
    // A row with a key, and with a whole name, one of this type (only
    // where the condition says "every row but", so that each parameter is
    // written once).
    let needs_present = !matches!(filter.residual, Residual::Only(_) | Residual::Never);
    let present = match target.key {
        _ if !needs_present => String::new(),
        Key::Name => {
            let prefix = param(SqlParam::Text(head.clone()), "::text");
            let length = head.chars().count();
            format!("{column} IS NOT NULL AND substr({column}, 1, {length}) = {prefix} AND length({column}) > {length}")
        }
        Key::Integer | Key::Text => format!("{column} IS NOT NULL"),
    };
    let (names, negated) = match &filter.residual {
        Residual::Always => return Ok(Sql { condition: present, ..sql }),
        Residual::Never => return Ok(Sql { condition: "1 = 0".into(), params: Vec::new(), check_each_row: false }),
        Residual::PerRow(_) => return Ok(Sql { condition: present, check_each_row: true, ..sql }),
        Residual::Only(names) => (names, false),
        Residual::AllBut(names) => (names, true),
    };
    let keys: Vec<&str> = names.iter().filter_map(|name| name.strip_prefix(&head)).collect();
    let values: Vec<SqlParam> = match target.key {
        Key::Integer => keys
            .iter()
            .filter_map(|key| key.parse::<i64>().ok().filter(|n| n.to_string() == *key))
            .map(SqlParam::Integer)
            .collect(),
        Key::Text => keys.iter().map(|key| SqlParam::Text(key.to_string())).collect(),
        Key::Name => keys.iter().map(|key| SqlParam::Text(format!("{head}{key}"))).collect(),
    };
    if values.is_empty() {
        // No name is a row's key: every row of the type, or none.
        return Ok(if negated {
            Sql { condition: present, ..sql }
        } else {
            Sql { condition: "1 = 0".into(), params: Vec::new(), check_each_row: false }
        });
    }
    let (op, all) = if negated { ("NOT IN", "<> ALL") } else { ("IN", "= ANY") };
    // PostgreSQL infers a parameter's type from the column (`integer` is no
    // `bigint`): the cast says which value it is given.
    let scalar = if target.key == Key::Integer { "::bigint" } else { "::text" };
    let test = if values.len() <= target.inline_max {
        let list: Vec<String> = values.into_iter().map(|value| param(value, scalar)).collect();
        format!("{column} {op} ({})", list.join(", "))
    } else if target.dialect == Dialect::Postgres {
        let (cast, array) = as_array(values);
        format!("{column} {all}({})", param(array, cast))
    } else {
        let json = serde_json::to_string(&values).map_err(|e| e.to_string())?;
        format!("{column} {op} (SELECT value FROM json_each({}))", param(SqlParam::Text(json), ""))
    };
    let condition = if negated { format!("{present} AND {test}") } else { test };
    Ok(Sql { condition, ..sql })
}

/// The values as one PostgreSQL array, and its type.
fn as_array(values: Vec<SqlParam>) -> (&'static str, SqlParam) {
    let (mut integers, mut texts) = (Vec::new(), Vec::new());
    for value in values {
        match value {
            SqlParam::Integer(n) => integers.push(n),
            SqlParam::Text(t) => texts.push(t),
            SqlParam::IntegerArray(_) | SqlParam::TextArray(_) => {}
        }
    }
    if texts.is_empty() {
        ("::bigint[]", SqlParam::IntegerArray(integers))
    } else {
        ("::text[]", SqlParam::TextArray(texts))
    }
}

/// `column` or `table.column`, each part an identifier, quoted.
fn quoted(column: &str) -> Result<String, String> {
    let identifier = |part: &str| {
        part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = column.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|part| identifier(part)) {
        return Err(format!("`{column}` is no column: an identifier or `table.column` (letters, digits, `_`)"));
    }
    Ok(parts.iter().map(|part| format!("\"{part}\"")).collect::<Vec<_>>().join("."))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn filter(residual: Residual) -> Filter {
        Filter { ty: "page".into(), residual, errors: Vec::new() }
    }

    #[test]
    fn small_lists_are_parameters_of_their_own_and_large_ones_one_array() {
        let only = filter(Residual::Only(vec!["page:1".into(), "page:07".into(), "page:x".into(), "page:2".into()]));
        let sqlite = SqlTarget::new(Dialect::Sqlite, "wiki_page.id", Key::Integer);
        let sql = only.to_sql(&sqlite).unwrap();
        assert_eq!(sql.condition, r#""wiki_page"."id" IN (?1, ?2)"#);
        assert_eq!(sql.params, [SqlParam::Integer(1), SqlParam::Integer(2)]);
        let postgres =
            SqlTarget { first_param: 3, inline_max: 1, ..SqlTarget::new(Dialect::Postgres, "id", Key::Integer) };
        let but = filter(Residual::AllBut(vec!["page:1".into(), "page:2".into()]));
        let sql = but.to_sql(&postgres).unwrap();
        assert_eq!(sql.condition, r#""id" IS NOT NULL AND "id" <> ALL($3::bigint[])"#);
        assert_eq!(sql.params, [SqlParam::IntegerArray(vec![1, 2])]);
        let sqlite = SqlTarget { inline_max: 1, ..SqlTarget::new(Dialect::Sqlite, "url", Key::Name) };
        let sql = but.to_sql(&sqlite).unwrap();
        assert_eq!(
            sql.condition,
            r#""url" IS NOT NULL AND substr("url", 1, 5) = ?1 AND length("url") > 5 AND "url" NOT IN (SELECT value FROM json_each(?2))"#
        );
        assert_eq!(sql.params, [SqlParam::Text("page:".into()), SqlParam::Text(r#"["page:1","page:2"]"#.into())]);
        let format =
            SqlTarget { placeholder: Placeholder::Format, ..SqlTarget::new(Dialect::Postgres, "id", Key::Text) };
        assert_eq!(but.to_sql(&format).unwrap().condition, r#""id" IS NOT NULL AND "id" NOT IN (%s::text, %s::text)"#);
        assert!(but.to_sql(&SqlTarget { first_param: 0, ..format }).is_err());
    }

    #[test]
    fn a_column_is_an_identifier_and_names_that_are_no_key_match_nothing() {
        let target = SqlTarget::new(Dialect::Sqlite, "id; DROP TABLE x", Key::Integer);
        assert!(filter(Residual::Always).to_sql(&target).is_err());
        let target = SqlTarget::new(Dialect::Sqlite, "id", Key::Integer);
        let only_bad = filter(Residual::Only(vec!["page:x".into()]));
        assert_eq!(only_bad.to_sql(&target).unwrap().condition, "1 = 0");
        let but_bad = filter(Residual::AllBut(vec!["page:x".into()]));
        assert_eq!(but_bad.to_sql(&target).unwrap().condition, r#""id" IS NOT NULL"#);
    }
}

//! The source file (`warden.toml`): which database, and which query feeds
//! which relation.
//!
//! ```toml
//! [database]
//! sqlite = "wiki.sqlite3"      # relative to this file; opened read-only
//! # postgres = "postgresql://warden@localhost/wiki"   # or "$DATABASE_URL"
//! poll_ms = 1000               # re-read when the database changed
//! watch = ["auth_user_groups", "wiki_page", "wiki_roleassignment"]
//!
//! [sources]
//! in = [
//!   "SELECT 'user:' || user_id, 'group:' || group_id FROM auth_user_groups",
//!   { query = "SELECT id, project_id FROM wiki_page", types = ["page", "project"] },
//! ]
//! superuser = "SELECT 'user:' || id FROM auth_user WHERE is_superuser"
//! owner = { query = "SELECT owner_id, id FROM wiki_page", types = ["user", "page"], tables = ["wiki_page"] }
//! ```

use crate::Diagnostic;
use crate::syntax::span::{FileId, SourceMap, Span};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parsed source file.
#[derive(Clone, Debug)]
pub struct Config {
    /// The database the queries run against.
    pub database: Database,
    /// How often a server looks for a change of the database (and
    /// re-reads it when it changed); with PostgreSQL and `warden db
    /// install`, a change is noticed at once by its notification.
    pub poll: std::time::Duration,
    /// The most rows one read may return, over all queries (a read past it
    /// fails and the running program stays).
    pub max_rows: usize,
    /// Every query, in the file's order.
    pub bindings: Vec<Binding>,
    /// The tables whose writes raise the database's version (`warden db
    /// install` puts a trigger on each).
    pub watch: Vec<String>,
    /// The source file's text, for errors that point into it.
    pub sources: SourceMap,
}

/// Where the facts live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, opened read-only.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// What the rows of one query state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `member, container`: `member in container;`.
    In,
    /// `subject, role [, scope [, from [, until]]]`: `assign ...;`.
    Assign,
    /// `subject, perm [, object [, from [, until]]]`: `grant ...;`.
    Grant,
    /// `subject`: `superuser subject;`.
    Superuser,
    /// `subject`: `inactive subject;`.
    Inactive,
    /// `role [, perm [, type]]`: the role is declared; with a permission, it
    /// grants it (on objects of the type): roles as data.
    Role,
    /// The columns of a declared relation.
    Relation(String),
}

impl Shape {
    fn of(name: &str) -> Shape {
        match name {
            "in" => Shape::In,
            "assign" => Shape::Assign,
            "grant" => Shape::Grant,
            "superuser" => Shape::Superuser,
            "inactive" => Shape::Inactive,
            "role" => Shape::Role,
            other => Shape::Relation(other.to_string()),
        }
    }

    /// How many columns a row has: at least, at most.
    pub fn columns(&self) -> Option<(usize, usize)> {
        match self {
            Shape::In => Some((2, 2)),
            Shape::Assign | Shape::Grant => Some((2, 5)),
            Shape::Superuser | Shape::Inactive => Some((1, 1)),
            Shape::Role => Some((1, 3)),
            Shape::Relation(_) => None,
        }
    }
}

/// One query and the relation (or statement) its rows feed.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The key it was given under (`owner`, `in`, ...).
    pub name: String,
    /// What its rows state.
    pub shape: Shape,
    /// The SQL text.
    pub query: String,
    /// A type per column: a value `42` in a column of type `page` becomes
    /// `page:42`; `None` (or `""`) keeps the value as it is.
    pub types: Vec<Option<String>>,
    /// The watched tables the query reads (`tables = [...]`): with the
    /// version table, the query is read again only when one of them
    /// changed. `None`: read again after any change.
    pub tables: Option<Vec<String>>,
    /// Where it is written in the source file.
    pub span: Span,
}

impl Binding {
    /// `source `owner``, as errors name it.
    pub fn label(&self) -> String {
        format!("source `{}`", self.name)
    }

    /// Whether a query returning `columns` columns fits: a relation's
    /// `arity`, or the statement's shape.
    pub fn check_width(&self, columns: usize, arity: Option<usize>) -> Result<(), String> {
        let (least, most) = match (self.shape.columns(), arity) {
            (Some(range), _) => range,
            (None, Some(arity)) => (arity, arity),
            (None, None) => return Ok(()),
        };
        if (least..=most).contains(&columns) {
            return Ok(());
        }
        let wanted = if least == most { least.to_string() } else { format!("{least} to {most}") };
        Err(format!("the query returns {columns} columns; `{}` has {wanted}", self.name))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: RawDatabase,
    #[serde(default)]
    sources: BTreeMap<String, toml::Spanned<RawBinding>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    sqlite: Option<String>,
    postgres: Option<String>,
    #[serde(default)]
    watch: Vec<String>,
    poll_ms: Option<u64>,
    max_rows: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawBinding {
    Query(String),
    Typed(RawQuery),
    Many(Vec<RawItem>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawItem {
    Query(String),
    Typed(RawQuery),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    query: String,
    #[serde(default)]
    types: Vec<String>,
    tables: Option<Vec<String>>,
}

/// The default of `poll_ms`: one second.
pub const DEFAULT_POLL_MS: u64 = 1000;

/// The default of `max_rows`: ten million rows.
pub const DEFAULT_MAX_ROWS: usize = 10_000_000;

impl Config {
    /// Reads a source file; a relative database path is relative to it.
    pub fn from_file(path: &Path) -> Result<Config, (Vec<Diagnostic>, SourceMap)> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            (vec![Diagnostic::global(format!("cannot read `{}`: {e}", path.display()))], SourceMap::new())
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::from_text(&path.display().to_string(), &text, &dir)
    }

    /// Reads source-file text; `dir` is where relative database paths start.
    pub fn from_text(name: &str, text: &str, dir: &Path) -> Result<Config, (Vec<Diagnostic>, SourceMap)> {
        let mut sources = SourceMap::new();
        let file = sources.add(name, text);
        let span = |range: Option<std::ops::Range<usize>>| {
            let range = range.unwrap_or(0..0);
            Span::new(file, range.start, range.end)
        };
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let mut message = e.message().trim().to_string();
                if message.contains("untagged enum") {
                    message = "a source is a query, a table `{ query = \"...\", types = [...] }`, or a list of them"
                        .to_string();
                }
                return Err((vec![Diagnostic::error(message, span(e.span()), "here")], sources));
            }
        };
        let mut errors = Vec::new();
        let database = match (raw.database.sqlite, raw.database.postgres) {
            (Some(path), None) if !path.is_empty() => Database::Sqlite(dir.join(path)),
            (None, Some(url)) if !url.is_empty() => match url.strip_prefix('$') {
                Some(variable) => match std::env::var(variable) {
                    Ok(url) => Database::Postgres(url),
                    Err(_) => {
                        errors.push(Diagnostic::global(format!("{name}: the variable `{variable}` is not set")));
                        Database::Postgres(String::new())
                    }
                },
                None => Database::Postgres(url),
            },
            _ => {
                let message = format!("{name}: `[database]` needs `sqlite = \"PATH\"` or `postgres = \"URL\"`");
                errors.push(Diagnostic::global(message));
                Database::Sqlite(PathBuf::new())
            }
        };
        let mut bindings = Vec::new();
        for (key, raw_binding) in raw.sources {
            let at = span(Some(raw_binding.span()));
            let items: Vec<(RawItem, Span)> = match raw_binding.into_inner() {
                RawBinding::Query(q) => vec![(RawItem::Query(q), at)],
                RawBinding::Typed(q) => vec![(RawItem::Typed(q), at)],
                RawBinding::Many(items) => items.into_iter().map(|item| (item, at)).collect(),
            };
            for (item, at) in items {
                match binding(&key, item, at, &raw.database.watch) {
                    Ok(b) => bindings.push(b),
                    Err(d) => errors.push(d),
                }
            }
        }
        if !errors.is_empty() {
            return Err((errors, sources));
        }
        Ok(Config {
            database,
            poll: std::time::Duration::from_millis(raw.database.poll_ms.unwrap_or(DEFAULT_POLL_MS).max(1)),
            max_rows: raw.database.max_rows.unwrap_or(DEFAULT_MAX_ROWS),
            bindings,
            watch: raw.database.watch,
            sources,
        })
    }

    /// The file id of the source file in [`Config::sources`].
    pub fn file(&self) -> FileId {
        FileId(0)
    }
}

/// One query of a key, checked.
fn binding(key: &str, item: RawItem, span: Span, watch: &[String]) -> Result<Binding, Diagnostic> {
    let (query, types, tables) = match item {
        RawItem::Query(q) => (q, Vec::new(), None),
        RawItem::Typed(q) => (q.query, q.types, q.tables),
    };
    if let Some(unwatched) = tables.iter().flatten().find(|t| !watch.contains(t)) {
        return Err(Diagnostic::error(
            format!("source `{key}` reads `{unwatched}`, which `watch` does not list"),
            span,
            "here",
        )
        .with_help("a table's changes are seen only when it is watched: add it to `watch` under `[database]`"));
    }
    let shape = Shape::of(key);
    if let Shape::Relation(name) = &shape {
        let mut chars = name.chars();
        let identifier = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(Diagnostic::error(format!("`{name}` is not a relation name"), span, "this source"));
        }
    }
    if query.trim().is_empty() {
        return Err(Diagnostic::error(format!("source `{key}` has an empty query"), span, "here"));
    }
    if let Some((_, most)) = shape.columns()
        && types.len() > most
    {
        return Err(Diagnostic::error(
            format!("source `{key}` gives {} types, but its rows have at most {most} columns", types.len()),
            span,
            "here",
        ));
    }
    if let Some(bad) = types.iter().find(|t| !t.is_empty() && !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(Diagnostic::error(format!("`{bad}` is not a type name"), span, "in these types"));
    }
    let types = types.into_iter().map(|t| if t.is_empty() { None } else { Some(t) }).collect();
    Ok(Binding { name: key.to_string(), shape, query, types, tables, span })
}

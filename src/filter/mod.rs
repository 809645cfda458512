//! "Which pages may alice read?" as a condition for the application's own
//! query: [`Engine::filter`] answers a [`Filter`], a [`Residual`] over the
//! object (every one, none, only these, every one but these) decided from
//! a listing ([`Engine::list_objects`]), so exactly as a check decides
//! each row; [`Filter::to_sql`] renders it as a SQL `WHERE` condition with
//! bound parameters for SQLite or PostgreSQL ([`sql`]).
//!
//! An object no fact names (a page created since the last update) is
//! decided like a fresh object of the type: when that is allowed the
//! residual is [`Residual::AllBut`], so the new row is in the list, and
//! when the policy looks into values beyond `==` and `!=` (`starts_with(O,
//! "page:1")`), it is [`Residual::PerRow`]: the named ones, and every
//! other row decided by a check, never wrongly shown or left out.

pub mod sql;

use crate::engine::{Engine, RequestOptions};
pub use sql::{Dialect, Key, Placeholder, Sql, SqlParam, SqlTarget};

/// The condition on an object of the filtered type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Residual {
    /// Every object of the type.
    Always,
    /// No object.
    Never,
    /// Only these objects (sorted, never empty).
    Only(Vec<String>),
    /// Every object of the type but these (sorted, never empty).
    AllBut(Vec<String>),
    /// These named objects (sorted), and any other only as a check decides
    /// it: the policy looks into values (`starts_with(O, "page:1")`,
    /// arithmetic), so an object no fact names is not decided like a
    /// fresh one. The SQL keeps every row with a key, and says each must
    /// be checked ([`Sql::check_each_row`]).
    PerRow(Vec<String>),
}

/// The objects of one type a subject may act on, as a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The type (`page`): the objects are `page:KEY`.
    pub ty: String,
    /// The condition.
    pub residual: Residual,
    /// Errors raised inside conditions while deciding (they never grant).
    pub errors: Vec<String>,
}

/// Why there is no filter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The question is not one (a type that is no name).
    #[error("{0}")]
    Invalid(String),
    /// A resource limit stopped the listing: no filter (an empty one would
    /// read as "nothing", a partial one as "only these").
    #[error("the listing stopped: {0}")]
    Stopped(String),
}

impl Engine {
    /// The objects of type `ty` that `user` may `perm`, as a [`Filter`]:
    /// exactly the objects [`Engine::list_objects`] lists, which are those
    /// a check allows.
    pub fn filter(&self, user: &str, perm: &str, ty: &str, options: &RequestOptions) -> Result<Filter, FilterError> {
        let list = self.list_objects(user, perm, ty, options).map_err(|e| FilterError::Invalid(e.render(false)))?;
        if let Some(stopped) = list.stopped {
            return Err(FilterError::Stopped(stopped));
        }
        let residual = match (list.every, list.objects, list.excluded) {
            (false, objects, _) if !self.decides_unnamed_like_fresh() => Residual::PerRow(objects),
            (true, _, excluded) if excluded.is_empty() => Residual::Always,
            (true, _, excluded) => Residual::AllBut(excluded),
            (false, objects, _) if objects.is_empty() => Residual::Never,
            (false, objects, _) => Residual::Only(objects),
        };
        Ok(Filter { ty: ty.to_string(), residual, errors: list.errors })
    }
}

impl Filter {
    /// The condition as SQL for `target` (a column of the application's
    /// table and how it holds the object's key): see [`sql`].
    pub fn to_sql(&self, target: &SqlTarget) -> Result<Sql, String> {
        sql::render(self, target)
    }

    /// Whether the filter lets `object` (a name such as `page:7`) through;
    /// `None` when only a check says ([`Residual::PerRow`], an object it
    /// does not list).
    pub fn admits(&self, object: &str) -> Option<bool> {
        let of_type = object.strip_prefix(self.ty.as_str()).is_some_and(|rest| rest.len() > 1 && rest.starts_with(':'));
        let listed = |objects: &[String]| objects.binary_search_by(|o| o.as_str().cmp(object)).is_ok();
        match &self.residual {
            Residual::Always => Some(of_type),
            Residual::Never => Some(false),
            Residual::Only(objects) => Some(listed(objects)),
            Residual::AllBut(objects) => Some(of_type && !listed(objects)),
            Residual::PerRow(objects) if listed(objects) => Some(true),
            Residual::PerRow(_) if of_type => None,
            Residual::PerRow(_) => Some(false),
        }
    }
}

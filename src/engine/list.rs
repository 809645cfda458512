//! "Which pages may alice read?": the objects of one type a subject may act
//! on, the question list pages ask ([`Engine::list_objects`]).

use super::{Engine, LoadError, Request, RequestOptions};
use crate::eval::render::quote_if_needed;
use serde::Serialize;

/// The objects of one type that a subject may act on.
///
/// Either a list (`every` false: `objects`), or every object of the type,
/// even one no fact mentions, but the `excluded` ones the program knows
/// (a global role or grant, a superuser, with deny rules carving out some).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ObjectList {
    /// Whether every object of the type is allowed but `excluded`.
    pub every: bool,
    /// When not `every`: the objects allowed, sorted.
    pub objects: Vec<String>,
    /// When `every`: the objects of the type the program names that are not
    /// allowed, sorted.
    pub excluded: Vec<String>,
    /// Errors raised inside conditions while deciding (they never grant).
    pub errors: Vec<String>,
    /// Why the evaluation stopped (a resource limit): then nothing is
    /// listed, and the list is no answer. `None` for a finished one.
    pub stopped: Option<String>,
}

impl Engine {
    /// The objects of type `ty` (`page` for `page:7`) that `user` may `perm`,
    /// each decided by [`Engine::is_allowed`], so exactly as a check would.
    ///
    /// An object the program does not name is decided like `TYPE:*` (a
    /// fresh object of the type): when that holds the answer is `every`,
    /// with the named objects that are denied in `excluded`. Costs one
    /// check per object of the type the program names (about a microsecond
    /// each on the compiled plan).
    pub fn list_objects(
        &self,
        user: &str,
        perm: &str,
        ty: &str,
        options: &RequestOptions,
    ) -> Result<ObjectList, LoadError> {
        // One instant for every check of the listing.
        let at = Some(options.at.unwrap_or_else(crate::time::now));
        let options = RequestOptions { at, ..options.clone() };
        let head = format!("{ty}:");
        let every =
            self.query(&format!("allowed({}, {}, {ty}:*)", quote_if_needed(user), quote_if_needed(perm)), &options)?;
        let mut errors = every.errors.clone();
        if every.stopped.is_some() {
            return Ok(ObjectList { errors, stopped: every.stopped, ..ObjectList::default() });
        }
        let symbols = &self.checked().program.symbols;
        let mut named: Vec<String> = symbols
            .syms()
            .filter_map(|sym| symbols.resolve(sym))
            .filter(|name| name.starts_with(&head) && name.len() > head.len())
            .map(|name| name.to_string())
            .collect();
        named.sort();
        let mut allowed = Vec::new();
        let mut denied = Vec::new();
        for object in named {
            let request =
                Request { user: user.to_string(), perm: perm.to_string(), object, at, ctx: options.ctx.clone() };
            let decision = self.check(&request);
            errors.extend(decision.errors);
            if decision.allowed { allowed.push(request.object) } else { denied.push(request.object) }
        }
        errors.sort();
        errors.dedup();
        Ok(if every.holds() {
            ObjectList { every: true, objects: Vec::new(), excluded: denied, errors, stopped: None }
        } else {
            ObjectList { every: false, objects: allowed, excluded: Vec::new(), errors, stopped: None }
        })
    }
}

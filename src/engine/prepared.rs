//! Requests resolved once and checked many times.
//!
//! A service that checks the same kind of request over and over (the same
//! user on every page of a listing, a cached session) can resolve its
//! strings to the program's interned constants once: [`Engine::prepare`].
//! [`Engine::is_allowed_prepared`] then hashes no string. A prepared request
//! stays valid across live updates (their symbol tables only grow); after a
//! reload, or on another engine, it is resolved again on the fly, so it is
//! never wrong, only slower.

use super::request::Resolved;
use super::{Engine, Request};
use crate::lower::intern::{Sym, Symbols};
use crate::lower::ir::Value;
use std::collections::BTreeMap;

/// A [`Request`] with its constants resolved against one symbol table.
#[derive(Clone, Debug)]
pub struct PreparedRequest {
    request: Request,
    /// User, permission and object, when all three are program constants
    /// (whether they are in the active domain is asked per check: a live
    /// update can remove a constant's last fact).
    values: Option<[Value; 3]>,
    /// The context, when every value is a constant of the program (a new
    /// string would need a request-local symbol).
    ctx: Option<BTreeMap<Sym, Value>>,
    /// The symbol table the values belong to.
    symbols_id: u64,
}

impl PreparedRequest {
    /// The request it was prepared from.
    pub fn request(&self) -> &Request {
        &self.request
    }
}

impl Engine {
    /// Resolves a request's constants once (see [`PreparedRequest`]).
    pub fn prepare(&self, request: &Request) -> PreparedRequest {
        let program = &self.checked().program;
        let symbols = Symbols::new(&program.symbols);
        let ctx = crate::lower::request::context(&symbols, &request.ctx);
        let ctx = symbols.extra_syms().is_empty().then_some(ctx);
        let constant = |name: &str| program.symbols.get(name).map(Value::Sym);
        let values = (|| Some([constant(&request.user)?, constant(&request.perm)?, constant(&request.object)?]))();
        PreparedRequest { request: request.clone(), values, ctx, symbols_id: self.symbols_id() }
    }

    /// Whether a prepared request is allowed: the same decision as
    /// [`Engine::is_allowed`] on its request, without resolving strings.
    pub fn is_allowed_prepared(&self, prepared: &PreparedRequest) -> bool {
        let (Some(values), Some(ctx)) = (&prepared.values, &prepared.ctx) else {
            return self.is_allowed(&prepared.request);
        };
        let plan = self
            .compiled_plan()
            .filter(|plan| prepared.symbols_id == self.symbols_id() && values.iter().all(|v| plan.knows(*v)));
        let Some(plan) = plan else { return self.is_allowed(&prepared.request) };
        let resolved = Resolved::prepared(self, prepared.request.at, ctx);
        match self.run_compiled(plan, values, &resolved, |plan, run, values| run.holds(plan.allowed, values)) {
            Some(result) => result.unwrap_or(false),
            None => self.is_allowed(&prepared.request),
        }
    }
}

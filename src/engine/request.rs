//! The questions an embedding program asks and their answers: a
//! [`Request`] (user, permission, object, time, context) and its
//! [`Decision`]; and, inside the crate, a request resolved once against a
//! snapshot ([`Resolved`]), the one place a check's evaluation context is
//! built.

use super::Engine;
use crate::eval::functions::Env;
use crate::lower::intern::{Sym, Symbols};
use crate::lower::ir::Value;
use crate::time;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One authorization question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The subject.
    pub user: String,
    /// The permission.
    pub perm: String,
    /// The object.
    pub object: String,
    /// The request time (microseconds since the epoch); `None` is now.
    pub at: Option<i64>,
    /// The request context (`ctx.KEY`), values written as policy constants.
    pub ctx: BTreeMap<String, String>,
}

impl Request {
    /// `user` asks to `perm` on `object`, now, with an empty context.
    pub fn new(user: impl Into<String>, perm: impl Into<String>, object: impl Into<String>) -> Request {
        Request { user: user.into(), perm: perm.into(), object: object.into(), at: None, ctx: BTreeMap::new() }
    }

    /// At an RFC 3339 instant.
    pub fn at(mut self, timestamp: &str) -> Result<Request, String> {
        self.at = Some(time::parse_timestamp(timestamp)?);
        Ok(self)
    }

    /// At an instant in microseconds since the epoch.
    pub fn at_micros(mut self, micros: i64) -> Request {
        self.at = Some(micros);
        self
    }

    /// With a context value.
    pub fn ctx(mut self, key: impl Into<String>, value: impl Into<String>) -> Request {
        self.ctx.insert(key.into(), value.into());
        self
    }
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// Errors met while deciding (they never grant).
    pub errors: Vec<String>,
    /// Notes on the question: a permission or subject that appears nowhere
    /// in the program (a typo?), with the nearest known name.
    pub notes: Vec<String>,
}

/// A request resolved against one snapshot: its strings interned (with
/// the request's own, or the given unknown constants as stand-ins), its
/// context read as constants, its time fixed.
pub(crate) struct Resolved<'e> {
    engine: &'e Engine,
    /// The program's symbols and the request's own strings.
    pub symbols: Symbols<'e>,
    /// The context, as values (borrowed from a prepared request).
    pub ctx: Cow<'e, BTreeMap<Sym, Value>>,
    /// The decision time.
    pub now: i64,
}

impl<'e> Resolved<'e> {
    /// Resolves the time and context of a request (`fresh`: the unknown
    /// constants that take the plan's stand-ins, see
    /// [`crate::lower::intern::FRESH`]).
    pub fn new(engine: &'e Engine, at: Option<i64>, ctx: &BTreeMap<String, String>, fresh: &[&str]) -> Resolved<'e> {
        let symbols = Symbols::with_fresh(&engine.checked().program.symbols, fresh);
        let ctx = Cow::Owned(crate::lower::request::context(&symbols, ctx));
        Resolved { engine, symbols, ctx, now: at.unwrap_or_else(time::now) }
    }

    /// A request whose context was resolved before (a prepared request's,
    /// holding program constants only).
    pub fn prepared(engine: &'e Engine, at: Option<i64>, ctx: &'e BTreeMap<Sym, Value>) -> Resolved<'e> {
        Resolved::lowered(engine, at, ctx, &[])
    }

    /// A request whose context was lowered with the program (a test
    /// block's), with `fresh` as in [`Resolved::new`].
    pub fn lowered(engine: &'e Engine, at: Option<i64>, ctx: &'e BTreeMap<Sym, Value>, fresh: &[&str]) -> Resolved<'e> {
        let symbols = Symbols::with_fresh(&engine.checked().program.symbols, fresh);
        Resolved { engine, symbols, ctx: Cow::Borrowed(ctx), now: at.unwrap_or_else(time::now) }
    }

    /// The evaluation context.
    pub fn env(&self) -> Env<'_> {
        let engine = self.engine;
        Env {
            program: &engine.checked().program,
            symbols: &self.symbols,
            now: self.now,
            ctx: &self.ctx,
            externs: engine.externs(),
        }
    }
}

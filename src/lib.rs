//! # Warden
//!
//! An authorization engine: a small policy language (roles that extend roles,
//! scoped and expiring assignments, groups, per-object grants, allow and deny
//! rules, conditions on time and context) lowered to Datalog and evaluated
//! semi-naively on datafrog.
//!
//! ## The pipeline
//!
//! ```text
//!  text ──► syntax ──► lower ──► analyze ──► eval ──► answers
//!  (.warden, .yaml)  AST       Datalog IR  strata    model
//!                    + spans   + origins
//! ```
//!
//! 1. [`syntax`] — the pest grammar (`grammar/warden.pest`) and the YAML data
//!    loader produce one typed AST; every node keeps its span.
//! 2. [`lower`] — sugar becomes facts and rules over interned constants; the
//!    built-in relations of SPEC section 4 are ordinary rules
//!    ([`lower::builtins`]).
//! 3. [`analyze`] — whole-program checks and stratification.
//! 4. [`eval`] — semi-naive evaluation per stratum, for one request (time,
//!    context, query constants).
//! 5. [`engine`] — the one facade over the stages: a [`Request`] is resolved
//!    once (its strings, context and time) and decided on the compiled plan
//!    or by the demand-driven evaluation ([`Engine::check`]); queries,
//!    explanations and tests go through it too. [`live`] holds a changing
//!    [`Engine`] ([`Live`]), whose facts may come from a database
//!    ([`sources`]: SQLite or PostgreSQL, read in one snapshot and kept
//!    fresh); the CLI, the REPL and the server are thin shells.
//!
//! ## Architecture invariants
//!
//! - `eval` never sees a span or a pest pair; only `syntax` imports pest,
//!   logos and serde_yaml; only `diagnostics` imports ariadne; only `eval`
//!   imports datafrog; only `sources` imports rusqlite, postgres and toml.
//! - Deny by default; deny overrides allow; an error while deciding never
//!   grants.
//! - The same inputs give the same output bytes: answers are sorted by their
//!   text, never by hash or interning order.
//! - Library code does not panic on input: it returns errors with spans.

#![forbid(unsafe_code)]
#![forbid(missing_docs)]

pub mod analyze;
pub mod diagnostics;
pub mod diff;
pub mod engine;
pub mod eval;
pub mod explain;
pub mod filter;
pub mod format;
pub mod inspect;
pub mod listing;
pub mod live;
pub mod lower;
pub mod repl;
pub mod server;
pub mod sources;
pub mod syntax;
pub mod testing;
pub mod time;

pub use diagnostics::{Diagnostic, Severity};
pub use engine::{
    Answer, Decision, Engine, EngineBuilder, LoadError, ObjectList, PreparedRequest, Request, RequestOptions, Strategy,
    SubjectList, TestOutcome, Window,
};
pub use eval::Limits;
pub use eval::functions::{ExternFn, Val};
pub use eval::render::string_literal;
pub use filter::{Filter, Residual};
pub use live::{Live, LiveChanges, LiveFact, Transaction};

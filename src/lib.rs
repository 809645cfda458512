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
//! 1. `syntax` — the pest grammar (`grammar/warden.pest`, with plain facts
//!    read by hand) and the YAML data loader produce one typed AST; every
//!    node keeps its span.
//! 2. `lower` — sugar becomes facts and rules over interned constants; the
//!    built-in relations of SPEC section 4 are ordinary rules
//!    (`lower::builtins`).
//! 3. `analyze` — whole-program checks and stratification.
//! 4. `eval` — semi-naive evaluation per stratum, for one request (time,
//!    context, query constants).
//! 5. [`engine`] — the one facade over the stages: a [`Request`] is resolved
//!    once (its strings, context and time) and decided on the compiled plan
//!    or by the demand-driven evaluation ([`Engine::check`]); queries,
//!    explanations and tests go through it too. [`live`] holds a changing
//!    [`Engine`] ([`Live`]), whose facts may come from a database
//!    ([`sources`]: SQLite or PostgreSQL, read in one snapshot and kept
//!    fresh); the CLI, the REPL and the server are thin shells.
//!
//! The stages are private to the crate. The public API is the engine and
//! its request, decision and explanation types, [`Live`] and
//! [`Transaction`], diagnostics, [`Limits`], [`ExternFn`] and [`Val`], all
//! at the root; `internals` (hidden, unstable) serves the tests and tools.
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

// The stages, in pipeline order (crate-private: embedders use the engine;
// tests and tools reach the stages through [`internals`]).
pub(crate) mod analyze;
pub(crate) mod eval;
pub(crate) mod explain;
pub(crate) mod inspect;
pub(crate) mod lower;
pub(crate) mod syntax;
pub(crate) mod testing;

// The facade, and the shells and services over it.
pub mod diagnostics;
pub mod diff;
pub mod engine;
pub mod filter;
pub mod format;
pub mod listing;
pub mod live;
pub mod repl;
pub mod server;
pub mod sources;
pub mod time;

pub use diagnostics::{Diagnostic, Severity};
pub use engine::{
    Answer, Decision, Engine, EngineBuilder, LoadError, MemoryUsage, ObjectList, PreparedRequest, RelationMemory,
    Request, RequestOptions, Strategy, SubjectList, TestOutcome, Window,
};
pub use eval::Limits;
pub use eval::functions::{ExternFn, Val};
pub use eval::render::string_literal;
pub use explain::report::{Explanation, TimeChange, Why, WhyNot};
pub use explain::{Attempt, ProofKind, ProofNode};
pub use filter::{Filter, Residual};
pub use live::{Live, LiveChanges, LiveFact, Transaction};

/// The stages' items that tests, benchmarks and the CLI reach directly.
/// Not a stable API: anything here may change without notice.
#[doc(hidden)]
pub mod internals {
    /// Stage 1: text to AST.
    pub mod syntax {
        pub use crate::syntax::parser::parse_constant;
        pub use crate::syntax::{ast, collect_files, lexer, span};
    }
    /// Stage 2: AST to Datalog IR.
    pub mod lower {
        pub use crate::lower::{builtins, intern, ir};
    }
    /// Stage 4: evaluation.
    pub mod eval {
        pub use crate::eval::{
            Additions, Limits, Reading, Row, base_relations, cancel, evaluate, functions, plan, prepare_rule, render,
        };
    }
    pub use crate::analyze::{Checked, Stratum};
}

//! Building an [`Engine`] in one expression: files, texts, `extern fn`s,
//! limits.

use super::{Engine, LoadError};
use crate::Diagnostic;
use crate::syntax;
use crate::syntax::span::SourceMap;
use std::path::PathBuf;

/// Builds an [`Engine`] from files and strings, with `extern fn`s and limits.
///
/// ```
/// use std::sync::Arc;
/// use warden::{Engine, Val};
/// let engine = Engine::builder()
///     .policy_str("p.warden", "role viewer { read; }\nextern fn in_office(ip);\nallow U enter on O if in_office(ctx.ip), U == alice, O == door;")
///     .extern_fn("in_office", Arc::new(|args: &[Val]| Ok(Val::Bool(matches!(args.first(), Some(Val::Str(ip)) if ip.starts_with("10."))))))
///     .build()
///     .unwrap();
/// let request = warden::live::Request::new("alice", "enter", "door").ctx("ip", "10.1.2.3");
/// assert!(engine.check(&request).allowed);
/// ```
#[derive(Default)]
pub struct EngineBuilder {
    files: Vec<PathBuf>,
    texts: Vec<(String, String)>,
    externs: Vec<(String, crate::ExternFn)>,
    limits: Option<crate::Limits>,
}

impl EngineBuilder {
    /// Adds a policy file (or a directory of policy and data files).
    pub fn policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(path.into());
        self
    }

    /// Adds a YAML data file.
    pub fn data_file(self, path: impl Into<PathBuf>) -> Self {
        self.policy_file(path)
    }

    /// Adds policy (or, for a name ending in `.yaml`, data) text.
    pub fn policy_str(mut self, name: &str, text: &str) -> Self {
        self.texts.push((name.to_string(), text.to_string()));
        self
    }

    /// Registers the implementation of an `extern fn`.
    pub fn extern_fn(mut self, name: &str, f: crate::ExternFn) -> Self {
        self.externs.push((name.to_string(), f));
        self
    }

    /// Sets the evaluation limits.
    pub fn limits(mut self, limits: crate::Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Loads, checks and configures the engine; every diagnostic on failure.
    pub fn build(self) -> Result<Engine, LoadError> {
        let failed = |d: Diagnostic| LoadError { diagnostics: vec![d], sources: SourceMap::new() };
        let files = syntax::collect_files(&self.files).map_err(failed)?;
        let mut sources = SourceMap::new();
        for (_, file) in syntax::read_files(&files).map_err(failed)?.files() {
            sources.add(file.name.clone(), file.text.clone());
        }
        for (name, text) in self.texts {
            sources.add(name, text);
        }
        let mut engine = Engine::from_sources(sources)?;
        for (name, f) in self.externs {
            engine.register_extern(&name, f);
        }
        if let Some(limits) = self.limits {
            engine.set_limits(limits);
        }
        Ok(engine)
    }
}

impl Engine {
    /// Starts building an engine: `Engine::builder().policy_file(..).extern_fn(..).build()`.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }
}

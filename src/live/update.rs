//! Changing a live program: a batch of fact insertions and removals
//! ([`Transaction`]), applied to a snapshot in place
//! ([`Engine::with_changes`]), and remembered as an overlay on top of the
//! files for the next reload ([`LiveChanges`]).

use super::{Direction, FactError, LiveFact};
use crate::Diagnostic;
use crate::engine::{Engine, LoadError};
use crate::eval::base::BaseChanges;
use crate::lower::ir;
use std::collections::{BTreeMap, BTreeSet};

impl Engine {
    /// Applies base-fact changes to this snapshot without rebuilding it: the
    /// inserted facts are lowered against the program, the removed facts
    /// dropped, and only the touched base relations (and `$adom`)
    /// re-indexed. Rules and strata are unchanged, and no derived relation
    /// is materialized, so nothing else is recomputed. Each inserted fact
    /// becomes its statement directly (no text is parsed: a value is never
    /// read as syntax), shown in a source `<update N>`, one per line.
    pub fn with_changes(&self, inserted: &[LiveFact], removed: &[LiveFact]) -> Result<Engine, LoadError> {
        if let Some(e) = inserted.iter().find_map(|fact| fact.check_names().err()) {
            return Err(LoadError {
                diagnostics: vec![Diagnostic::global(e.to_string())],
                sources: self.sources().clone(),
            });
        }
        let name = format!("<update {}>", self.sources().files().count());
        self.with_source_facts(&name, inserted.iter(), removed.iter())
    }

    /// Applies base-fact changes whose names are checked (an update's, or
    /// a database's rows, see [`crate::sources`]): each inserted fact's
    /// statement is built directly, shown in a source named `name`, one
    /// per line.
    pub(crate) fn with_source_facts<'f>(
        &self,
        name: &str,
        inserted: impl ExactSizeIterator<Item = &'f LiveFact> + Clone,
        removed: impl Iterator<Item = &'f LiveFact>,
    ) -> Result<Engine, LoadError> {
        let mut sources = self.sources().clone();
        let mut text = String::new();
        let mut spans = Vec::with_capacity(inserted.len());
        for fact in inserted.clone() {
            let start = text.len();
            fact.write_statement(&mut text);
            spans.push((start, text.len()));
            text.push('\n');
        }
        let file = sources.add(name, text);
        let statements: Vec<_> = inserted
            .zip(spans)
            .map(|(fact, (start, end))| fact.statement(crate::syntax::span::Span::new(file, start, end)))
            .collect();
        self.apply(sources, &statements, removed)
    }

    fn apply<'f>(
        &self,
        sources: crate::syntax::span::SourceMap,
        statements: &[crate::syntax::ast::Statement],
        removed: impl Iterator<Item = &'f LiveFact>,
    ) -> Result<Engine, LoadError> {
        let mut removals: BTreeMap<_, BTreeSet<_>> = BTreeMap::new();
        for fact in removed {
            let (rel, tuple) = self.base_fact(fact).map_err(|e| LoadError {
                diagnostics: vec![Diagnostic::global(format!("cannot remove `{}`: {e}", fact.to_statement()))],
                sources: sources.clone(),
            })?;
            removals.entry(rel).or_default().insert(tuple);
        }
        let (mut program, facts, errors) = crate::lower::lower_facts(self.checked().program.clone(), statements);
        if !errors.is_empty() {
            return Err(LoadError { diagnostics: errors, sources });
        }
        let before = std::mem::take(&mut program.domain);
        let mut domain = before.clone();
        if !removals.is_empty() {
            let gone = |f: &ir::Fact| removals.get(&f.rel).is_some_and(|g| g.contains(f.tuple.as_slice()));
            // The removed facts' values may leave the domain (the relations
            // are the same before and after: an update declares none).
            let old = &self.checked().program;
            let mut candidates = BTreeSet::new();
            program.facts.retain(|f| {
                let keep = !gone(f);
                if !keep {
                    candidates.extend(crate::lower::domain_values(old, f));
                }
                keep
            });
            domain = crate::lower::domain_without(&program, &domain, &candidates);
        }
        // The domain grows by the new facts' constants (merged in one pass: a
        // bulk load adds thousands).
        let added = || facts.iter().flat_map(|fact| crate::lower::domain_values(&program, fact));
        if added().any(|value| domain.binary_search(&value).is_err()) {
            domain = crate::lower::sorted_distinct(domain.iter().copied().chain(added()), program.symbols.len());
        }
        let changes =
            BaseChanges { inserted_from: program.facts.len(), removed: removals, domain_changed: domain != before };
        program.facts.extend(facts);
        program.domain = domain;
        Ok(self.with_facts(program, sources, &changes))
    }
}

/// The base-fact changes applied so far: facts added, facts removed.
#[derive(Clone, Debug, Default)]
pub(super) struct Overlay {
    pub(super) inserted: Vec<LiveFact>,
    pub(super) removed: Vec<LiveFact>,
}

/// A batch of fact changes, applied atomically by [`crate::live::Live::update`].
#[derive(Debug, Default)]
pub struct Transaction {
    pub(super) inserted: Vec<Result<LiveFact, FactError>>,
    pub(super) removed: Vec<Result<LiveFact, FactError>>,
}

impl Transaction {
    /// Adds a fact written as one statement (`assign ...;`, `grant ...;`,
    /// `X in Y;`, `rel(a, b);`, ...), or a role block without conditions
    /// (`role editor extends viewer { write on page; }`: roles as data).
    /// Text that is not exactly one such statement fails the whole batch.
    pub fn insert(&mut self, statement: &str) {
        Self::push_parsed(&mut self.inserted, LiveFact::parse_many(statement, Direction::Insert));
    }

    /// Removes a fact written as one statement (one the program has, or one
    /// inserted before); a role block removes its `extends` edges and its
    /// entries.
    pub fn remove(&mut self, statement: &str) {
        Self::push_parsed(&mut self.removed, LiveFact::parse_many(statement, Direction::Remove));
    }

    fn push_parsed(into: &mut Vec<Result<LiveFact, FactError>>, parsed: Result<Vec<LiveFact>, FactError>) {
        match parsed {
            Ok(facts) => into.extend(facts.into_iter().map(Ok)),
            Err(e) => into.push(Err(e)),
        }
    }

    /// Adds a fact given as data: no value is ever read as syntax.
    pub fn insert_fact(&mut self, fact: LiveFact) {
        self.inserted.push(Ok(fact.normalized()));
    }

    /// Removes a fact given as data.
    pub fn remove_fact(&mut self, fact: LiveFact) {
        self.removed.push(Ok(fact.normalized()));
    }
}

/// What [`crate::live::Live::reload`] does with the live changes (updates applied since
/// the files were read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveChanges {
    /// Apply them again on top of the files: an insertion the files now hold
    /// is no longer needed, and a removal of a fact the files no longer hold
    /// is dropped with a note.
    Keep,
    /// Forget them: the program is what the files say.
    Drop,
}

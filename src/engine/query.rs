//! Queries: an atom such as `allowed(alice, P, page:7)` parsed, resolved
//! against the program (its constants interned for the request), decided,
//! and its answers projected onto the named variables.

use super::request::Resolved;
use super::{Answer, Engine, LoadError, RequestOptions};
use crate::eval::{Additions, Model, render};
use crate::lower;
use crate::lower::intern::Symbols;
use crate::lower::ir::{self, Value};
use crate::syntax;
use crate::syntax::span::SourceMap;

impl Engine {
    /// What a query adds to the program: its constants (to the active domain)
    /// and the facts the request takes away.
    pub(super) fn query_additions(&self, atom: &ir::Atom, options: &RequestOptions) -> Additions {
        Additions {
            domain: atom.constants().collect(),
            removed: options.retracted.iter().cloned().collect(),
            ..Additions::default()
        }
    }

    /// Parses a query and resolves it against the program; errors point into the query text.
    pub(super) fn query_atom(&self, query: &str, symbols: &Symbols) -> Result<(ir::Atom, Vec<String>), LoadError> {
        let mut sources = SourceMap::new();
        let file = sources.add("<query>", query);
        let resolved = syntax::parser::parse_query(file, query)
            .and_then(|parsed| lower::request::query_atom(&self.checked.program, symbols, &parsed));
        resolved.map_err(|d| LoadError { diagnostics: vec![d], sources })
    }

    /// Answers a query atom such as `allowed(alice, P, page:7)`.
    pub fn query(&self, query: &str, options: &RequestOptions) -> Result<Answer, LoadError> {
        let resolved = Resolved::new(self, options.at, &options.ctx, &[]);
        let symbols = &resolved.symbols;
        let (atom, names) = self.query_atom(query, symbols)?;
        let env = resolved.env();
        let additions = self.query_additions(&atom, options);
        let constants: Vec<String> = atom
            .args
            .iter()
            .filter_map(|t| match t {
                ir::Term::Const(Value::Sym(s)) => Some(symbols.resolve(*s).to_string()),
                _ => None,
            })
            .collect();
        let notes = self.unknown_constant_notes(constants.iter().map(String::as_str));
        let answer = match self.decide(&env, &additions, &atom) {
            Ok((rows, model)) => self.answer(rows, &model, &atom, &names, symbols, &additions),
            // A failed evaluation never grants: no answers, and the reason.
            Err(e) => Answer {
                variables: named(&names),
                rows: Vec::new(),
                errors: vec![e.to_string()],
                stopped: Some(e.to_string()),
                notes: Vec::new(),
            },
        };
        Ok(Answer { notes, ..answer })
    }

    /// Projects a model's answers to an atom onto its named variables.
    pub(crate) fn answer(
        &self,
        answers: Vec<Vec<Value>>,
        model: &Model,
        atom: &ir::Atom,
        names: &[String],
        symbols: &Symbols,
        additions: &Additions,
    ) -> Answer {
        let answers = self.of_their_kinds(answers, atom, additions);
        let mut rows = project(answers, atom, names);
        rows.sort_by(|a, b| render::compare_rows(a, b, symbols));
        rows.dedup();
        Answer {
            variables: named(names),
            rows: render_rows(rows, symbols),
            errors: self.render_errors(model),
            stopped: None,
            notes: Vec::new(),
        }
    }
}

/// Answer rows projected onto the atom's named variables.
fn project(answers: Vec<Vec<Value>>, atom: &ir::Atom, names: &[String]) -> Vec<Vec<Value>> {
    let positions = named_positions(atom, names);
    answers.into_iter().map(|row| positions.iter().filter_map(|p| row.get(*p).copied()).collect()).collect()
}

/// Rows as policy text.
fn render_rows(rows: Vec<Vec<Value>>, symbols: &Symbols) -> Vec<Vec<String>> {
    rows.into_iter().map(|row| row.into_iter().map(|v| render::value(v, symbols)).collect()).collect()
}

fn named(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if n != "_" && !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// Positions in an atom of the first occurrence of each named variable.
pub(super) fn named_positions(atom: &ir::Atom, names: &[String]) -> Vec<usize> {
    let mut seen = Vec::new();
    let mut positions = Vec::new();
    for (i, term) in atom.args.iter().enumerate() {
        if let ir::Term::Var(v) = term {
            let name = names.get(v.0 as usize).map_or("_", String::as_str);
            if name != "_" && !seen.contains(v) {
                seen.push(*v);
                positions.push(i);
            }
        }
    }
    positions
}

//! Stage 1, syntax: text → typed AST with spans.
//!
//! Policy files (`*.warden`) are parsed by the pest grammar in
//! `grammar/warden.pest` (plain facts read by hand to the same AST, see
//! `parser::plain`); data files (`*.yaml`, `*.yml`, `*.json`: JSON is YAML) by serde_yaml. Both
//! become the same [`ast::Statement`]s. Parsing never stops at the first error:
//! every syntax error of every file is reported.

/// The reserved words of SPEC section 2 (the grammar's `keyword` rule): none
/// is a bare name, each can still be a constant when quoted.
pub const KEYWORDS: [&str; 23] = [
    "role",
    "extends",
    "assign",
    "grant",
    "on",
    "until",
    "from",
    "in",
    "superuser",
    "inactive",
    "allow",
    "deny",
    "if",
    "not",
    "fn",
    "extern",
    "test",
    "assert",
    "at",
    "ctx",
    "now",
    "true",
    "false",
];

pub mod ast;
pub mod diagnostic;
mod errors;
pub mod lexer;
pub mod parser;
pub mod span;
pub mod yaml;
mod yaml_rest;

use diagnostic::Diagnostic;
use span::SourceMap;
use std::path::{Path, PathBuf};

/// Whether a file name is a data file (YAML) rather than a policy file.
pub fn is_data_file(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

/// Parses every file of the map into one AST, collecting every error.
pub fn parse(sources: &SourceMap) -> (ast::Ast, Vec<Diagnostic>) {
    let mut statements = Vec::new();
    let mut errors = Vec::new();
    for (id, file) in sources.files() {
        let (mut s, mut e) =
            if is_data_file(&file.name) { yaml::parse_data_file(id, file) } else { parser::parse_file(id, &file.text) };
        statements.append(&mut s);
        errors.append(&mut e);
    }
    (ast::Ast { statements }, errors)
}

/// Expands the paths given on the command line: a directory means every
/// `*.warden`, `*.yaml`, `*.yml` and `*.json` below it, in sorted order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(Diagnostic::global(format!("cannot read `{}`: no such file or directory", path.display())));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let read_error = |e: std::io::Error| Diagnostic::global(format!("cannot read `{}`: {e}", dir.display()));
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(read_error)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            let name = path.to_string_lossy();
            if name.ends_with(".warden") || is_data_file(&name) {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// The largest policy or data file read (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads files into a source map. Invalid UTF-8, files over
/// [`MAX_FILE_BYTES`] and unreadable files are errors.
pub fn read_files(files: &[PathBuf]) -> Result<SourceMap, Diagnostic> {
    let mut sources = SourceMap::new();
    for path in files {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
            return Err(Diagnostic::global(format!(
                "`{}` is larger than {} MiB",
                path.display(),
                MAX_FILE_BYTES >> 20
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| Diagnostic::global(format!("cannot read `{}`: {e}", path.display())))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Diagnostic::global(format!(
                "`{}` is not valid UTF-8 (at byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        sources.add(path.display().to_string(), text);
    }
    Ok(sources)
}

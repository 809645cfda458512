//! One function per command; each loads the program, runs, and returns the exit code.

use super::cli::Ask;
use super::{colour, load};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use warden::{Engine, RequestOptions};

pub fn check(files: &[PathBuf], at: Option<&str>, deny_warnings: bool, strict: bool) -> ExitCode {
    let at = match parse_at(at) {
        Ok(at) => at.unwrap_or_else(warden::time::now),
        Err(code) => return code,
    };
    let engine = match load(files) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let undeclared = if strict { engine.undeclared_relations() } else { Vec::new() };
    if !undeclared.is_empty() {
        eprint!("{}", warden::diagnostics::render(&undeclared, engine.sources(), colour()));
        let n = undeclared.len();
        eprintln!("{n} error{} (--strict)", if n == 1 { "" } else { "s" });
        return ExitCode::from(1);
    }
    let warnings = engine.lints(at);
    if !warnings.is_empty() {
        eprint!("{}", warden::diagnostics::render(&warnings, engine.sources(), colour()));
    }
    let files = engine.sources().files().count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if deny_warnings && !warnings.is_empty() {
        eprintln!("{} warning{} (denied by --deny-warnings)", warnings.len(), plural(warnings.len()));
        return ExitCode::from(1);
    }
    println!(
        "ok: {files} file{} checked, no errors, {} warning{}",
        plural(files),
        warnings.len(),
        plural(warnings.len())
    );
    ExitCode::SUCCESS
}

/// How `query` lists answers: with reasons, paginated.
pub struct Listing {
    pub why: bool,
    pub limit: Option<usize>,
    pub after: Option<String>,
}

/// The request options and the loaded program of a `query` or `explain`.
fn prepare(ask: &Ask) -> Result<(RequestOptions, Engine), ExitCode> {
    let options = request_options(ask.request.at.as_deref(), &ask.request.ctx)?;
    Ok((options, load(&ask.files)?))
}

pub fn run_query(ask: &Ask, listing: &Listing) -> ExitCode {
    let (query, json) = (ask.query.as_str(), ask.json);
    let (options, engine) = match prepare(ask) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let answer = match engine.query(query, &options) {
        Ok(answer) => answer,
        Err(e) => {
            eprint!("{}", e.render(colour()));
            return ExitCode::from(1);
        }
    };
    for note in answer.errors.iter().chain(&answer.notes) {
        eprintln!("note: {note}");
    }
    if let Some(why) = &answer.stopped {
        // Not an answer: an empty listing or `false` here would read as "nobody".
        eprintln!("error: the query was not answered: {why}");
        if json {
            let out = serde_json::json!({ "query": query, "holds": false, "errors": answer.errors, "stopped": why });
            println!("{out}");
        } else if answer.variables.is_empty() {
            println!("false");
        }
        return ExitCode::from(1);
    }
    let page = match warden::listing::page(&answer, listing.after.as_deref(), listing.limit) {
        Ok(page) => page,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let reasons: Vec<String> =
        if listing.why { warden::listing::why_lines(&engine, query, &page.rows, &options) } else { Vec::new() };
    if json {
        let rows: Vec<serde_json::Value> = page
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mut object: serde_json::Map<String, serde_json::Value> = answer
                    .variables
                    .iter()
                    .cloned()
                    .zip(row.iter().map(|v| serde_json::Value::String(v.clone())))
                    .collect();
                if let Some(reason) = reasons.get(i) {
                    object.insert("why".into(), reason.clone().into());
                }
                serde_json::Value::Object(object)
            })
            .collect();
        let mut out = serde_json::Map::new();
        out.insert("query".into(), query.into());
        out.insert("holds".into(), answer.holds().into());
        if !answer.variables.is_empty() {
            out.insert("variables".into(), serde_json::json!(answer.variables));
            out.insert("answers".into(), serde_json::Value::Array(rows));
            out.insert("total".into(), page.total.into());
            if let Some(next) = &page.next {
                out.insert("next".into(), next.clone().into());
            }
        }
        out.insert("errors".into(), serde_json::json!(answer.errors));
        println!("{}", serde_json::Value::Object(out));
    } else if answer.variables.is_empty() {
        println!("{}", answer.holds());
        if listing.why && answer.holds() {
            let lines = warden::listing::why_lines(&engine, query, &[Vec::new()], &options);
            println!("{}", lines.concat());
        }
    } else {
        for (i, row) in page.rows.iter().enumerate() {
            match reasons.get(i) {
                Some(reason) => println!("{}  {reason}", row.join(", ")),
                None => println!("{}", row.join(", ")),
            }
        }
    }
    if let Some(next) = &page.next {
        eprintln!("note: showing {} of {} answers; next page: --after {next:?}", page.rows.len(), page.total);
    }
    ExitCode::SUCCESS
}

pub fn diff(old: &[PathBuf], new: &[PathBuf], at: Option<&str>, json: bool) -> ExitCode {
    let at = match parse_at(at) {
        Ok(at) => at.unwrap_or_else(warden::time::now),
        Err(code) => return code,
    };
    let (old, new) = match (load(old), load(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let report = match warden::diff::diff(&old, &new, at) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{}", report.to_text());
    }
    if report.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) }
}

/// `--at` as a timestamp; a bad value is an error (exit 1).
fn parse_at(at: Option<&str>) -> Result<Option<i64>, ExitCode> {
    at.map(warden::time::parse_timestamp).transpose().map_err(|e| {
        eprintln!("error: invalid --at: {e}");
        ExitCode::from(1)
    })
}

/// `--at` and `--ctx` as request options; a bad value is an error (exit 1).
pub fn request_options(at: Option<&str>, ctx: &[String]) -> Result<RequestOptions, ExitCode> {
    let mut options = RequestOptions { at: parse_at(at)?, ..RequestOptions::default() };
    for pair in ctx {
        match pair.split_once('=') {
            Some((key, value)) if is_ctx_key(key) => {
                options.ctx.insert(key.to_string(), value.to_string());
            }
            _ => {
                eprintln!(
                    "error: invalid --ctx `{pair}`: expected KEY=VALUE, where KEY is letters, digits, `_` or `-`"
                );
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok(options)
}

pub fn explain(ask: &Ask, verbose: bool) -> ExitCode {
    let (query, json) = (ask.query.as_str(), ask.json);
    let (options, engine) = match prepare(ask) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    match engine.explain(query, &options) {
        Ok(explanation) if json => match serde_json::to_string_pretty(&explanation) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        Ok(explanation) => {
            let text = if verbose { explanation.to_text_verbose() } else { explanation.to_text() };
            print!("{}", if stdout_colour() { paint(&text) } else { text });
        }
        Err(e) => {
            eprint!("{}", e.render(colour()));
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

pub fn plan(files: &[PathBuf]) -> ExitCode {
    let engine = match load(files) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let locate = |origin| engine.origin_label(origin);
    match engine.compile_plan() {
        Ok(plan) => {
            print!("{}", plan.describe(engine.program(), &locate));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("no compiled plan: {e}; checks take the demand-driven path");
            ExitCode::SUCCESS
        }
    }
}

pub fn fmt(paths: &[PathBuf], check: bool) -> ExitCode {
    let files = match warden::internals::syntax::collect_files(paths) {
        Ok(files) => files,
        Err(d) => {
            eprintln!("error: {}", d.message);
            return ExitCode::from(1);
        }
    };
    let (mut changed, mut failed) = (0usize, false);
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "warden")) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let formatted = match warden::format::format_file(&path.display().to_string(), &text) {
            Ok(formatted) => formatted,
            Err(warden::format::FormatError::Syntax(e)) => {
                eprint!("{}", e.render(colour()));
                eprintln!("error: {}: not formatted: it does not parse", path.display());
                failed = true;
                continue;
            }
            Err(warden::format::FormatError::Tokens(e)) => {
                eprintln!("error: {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check {
            println!("{}", path.display());
        } else if let Err(e) = std::fs::write(path, formatted) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            failed = true;
        }
    }
    if failed || (check && changed > 0) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn stdout_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Colours an explanation for a terminal: checks green, sources dim.
fn paint(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.replace('✓', "\x1b[32m✓\x1b[0m");
        match line.rfind("  [").filter(|_| line.ends_with(']')) {
            Some(i) => {
                let (body, source) = (line.get(..i).unwrap_or(""), line.get(i..).unwrap_or(""));
                out.push_str(&format!("{body}\x1b[2m{source}\x1b[0m\n"));
            }
            None => {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

fn is_ctx_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn test(files: &[PathBuf], coverage: bool) -> ExitCode {
    let engine = match load(files) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let (outcomes, covered) =
        if coverage { engine.run_tests_with_coverage() } else { (engine.run_tests(), Vec::new()) };
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    for outcome in &outcomes {
        match &outcome.failure {
            None => println!("PASS {}", outcome.name),
            Some(why) => println!("FAIL {} — {why}", outcome.name),
        }
    }
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    if coverage {
        let used = covered.iter().filter(|c| c.covered).count();
        println!("coverage: {used} of {} rules and role entries used by some assert's proof", covered.len());
        for item in &covered {
            let mark = if item.covered { "covered    " } else { "NOT COVERED" };
            println!("  {mark}  {}  {}", item.location, item.text);
        }
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// `warden db status` reads every source once and prints what each gives;
/// `warden db install` first creates the version table and its triggers.
pub fn db(files: &[PathBuf], install: bool) -> ExitCode {
    let failed = |e: warden::LoadError| {
        eprint!("{}", e.render(colour()));
        ExitCode::from(1)
    };
    let config = match super::source_config() {
        Ok(Some(config)) => config,
        Ok(None) => {
            eprintln!("error: `warden db` needs `--source FILE`");
            return ExitCode::from(2);
        }
        Err(e) => return failed(e),
    };
    let engine = match Engine::from_paths(files) {
        Ok(engine) => engine,
        Err(e) => return failed(e),
    };
    let mut sources = match warden::sources::Sources::open(config, &engine) {
        Ok(sources) => sources,
        Err(e) => return failed(e),
    };
    if install {
        if let Err(e) = sources.install() {
            return failed(e.into_load_error());
        }
        let tables = sources.config().watch.join(", ");
        println!("installed the version table `{}` and triggers on {tables}", warden::sources::VERSION_TABLE);
    }
    let started = std::time::Instant::now();
    let warden::sources::ReadCounts { per_binding: counts, version } = match sources.read_each() {
        Ok(read) => read,
        Err(e) => return failed(e.into_load_error()),
    };
    let elapsed = started.elapsed();
    match version {
        Some(version) => println!("{}, version {version}", sources.describe()),
        None => println!("{} (no version table: `warden db install` adds one)", sources.describe()),
    }
    for (label, count) in &counts {
        println!("  {label}: {count} fact{}", if *count == 1 { "" } else { "s" });
    }
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    println!("{total} facts read in {} ms, in one snapshot", elapsed.as_millis());
    ExitCode::SUCCESS
}

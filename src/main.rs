//! The `warden` command line: `check`, `query`, `test`.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use warden::{Engine, RequestOptions};

#[derive(Parser)]
#[command(name = "warden", version, about = "Warden: authorization policies as Datalog")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Stop an evaluation that derives more tuples than this (it then denies, with the reason).
    #[arg(long, global = true, value_name = "N")]
    max_tuples: Option<usize>,
    /// Stop a check on the compiled plan that takes more steps than this (it then denies, with the reason).
    #[arg(long, global = true, value_name = "N")]
    max_steps: Option<usize>,
    /// Stop an evaluation that runs longer than this many milliseconds (it then denies).
    #[arg(long, global = true, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Stop an evaluation whose rows would take more than this many MiB (estimated; it then denies).
    #[arg(long, global = true, value_name = "MIB")]
    max_memory_mib: Option<usize>,
}

/// The evaluation limits given on the command line.
static LIMITS: std::sync::OnceLock<warden::Limits> = std::sync::OnceLock::new();

/// What `query` and `explain` take: the program, the question, the request.
#[derive(clap::Args)]
struct Ask {
    /// Files or directories.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The query atom.
    #[arg(short, long)]
    query: String,
    /// The request time (RFC 3339); the wall clock when absent.
    #[arg(long)]
    at: Option<String>,
    /// A request context value, `KEY=VALUE` (repeatable).
    #[arg(long = "ctx", value_name = "KEY=VALUE")]
    ctx: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and analyse policy and data files; print every diagnostic.
    Check {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The time lints compare `until` bounds with (RFC 3339); the wall clock when absent.
        #[arg(long)]
        at: Option<String>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Require a declaration (`relation NAME(TYPE, ...);`) for every relation.
        #[arg(long)]
        strict: bool,
    },
    /// Answer a query atom, e.g. `allowed(alice, write, page:7)`.
    Query {
        #[command(flatten)]
        ask: Ask,
        /// One proof line per answer.
        #[arg(long)]
        why: bool,
        /// At most this many answers (the rest: resume with `--after`).
        #[arg(long)]
        limit: Option<usize>,
        /// Start after this answer (a cursor printed by a previous `--limit`).
        #[arg(long)]
        after: Option<String>,
    },
    /// Explain why a query holds (a proof per answer) or why not.
    Explain {
        #[command(flatten)]
        ask: Ask,
        /// Also print every rule tried and where it failed (JSON always has them).
        #[arg(short, long)]
        verbose: bool,
    },
    /// Explore a policy interactively (plain, scriptable input when piped).
    Repl {
        /// Files or directories to load.
        files: Vec<PathBuf>,
    },
    /// Serve decisions over HTTP (JSON): /v1/check, /v1/query, /v1/explain, /v1/facts, /v1/reload, /healthz, /metrics.
    Serve {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The address to listen on (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1:8181")]
        addr: String,
        /// Reload when the files change and then stand still for a poll (a
        /// broken change keeps the running program; deploy by atomic rename).
        #[arg(long)]
        watch: bool,
        /// Honour a request's `at` (what-if questions, tests); otherwise the
        /// server's clock decides and a request with `at` is refused.
        #[arg(long)]
        allow_client_time: bool,
        /// Accept live updates that add a superuser, lift `inactive` or
        /// change `role_extends` (refused by default).
        #[arg(long)]
        allow_privileged_updates: bool,
        /// A file holding the bearer token for reads (else `WARDEN_READ_TOKEN`; unset: reads are open).
        #[arg(long)]
        read_token_file: Option<PathBuf>,
        /// A file holding the bearer token for writes (else `WARDEN_WRITE_TOKEN`; unset: writes are disabled).
        #[arg(long)]
        write_token_file: Option<PathBuf>,
        /// Open the write routes without a token (loopback only; for development).
        #[arg(long)]
        insecure_open_writes: bool,
        /// The longest a connection may take to send a request's headers, or its body (408), or stay idle.
        #[arg(long, default_value_t = 10_000)]
        header_timeout_ms: u64,
        /// Serve HTTPS with this PEM certificate chain (with `--tls-key`).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of `--tls-cert`.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Compare the decisions of two programs: `warden diff OLD... -- NEW...` (exit 3 when they differ).
    Diff {
        /// The old program's files or directories.
        #[arg(required = true)]
        old: Vec<PathBuf>,
        /// The new program's files or directories (after `--`).
        #[arg(last = true, required = true)]
        new: Vec<PathBuf>,
        /// The request time (RFC 3339); the wall clock when absent.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Format policy files in place; with `--check`, list the files that would change.
    Fmt {
        /// Files or directories (every `*.warden` below a directory).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing: print the files that are not formatted, exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Print the compiled check plan of `allowed(user, perm, object)`: the
    /// static relations, and each goal's steps in execution order.
    Plan {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run every `test` block.
    Test {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Report which rules and role entries the asserts' proofs use.
        #[arg(long)]
        coverage: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut limits = warden::Limits::default();
    if let Some(n) = cli.max_tuples {
        limits.max_tuples = n;
    }
    if let Some(n) = cli.max_steps {
        limits.max_steps = n;
    }
    if let Some(ms) = cli.timeout_ms {
        limits.max_time = std::time::Duration::from_millis(ms);
    }
    if let Some(mib) = cli.max_memory_mib {
        limits.max_bytes = mib.saturating_mul(1 << 20);
    }
    let _ = LIMITS.set(limits);
    match cli.command {
        Command::Check { files, at, deny_warnings, strict } => check(&files, at.as_deref(), deny_warnings, strict),
        Command::Query { ask, why, limit, after } => run_query(&ask, &Listing { why, limit, after }),
        Command::Explain { ask, verbose } => explain(&ask, verbose),
        Command::Plan { files } => plan(&files),
        Command::Test { files, coverage } => test(&files, coverage),
        Command::Fmt { files, check } => fmt(&files, check),
        Command::Diff { old, new, at, json } => {
            // Options may also follow the new files (`-- NEW... --at TS --json`).
            let (mut at, mut json, mut files) = (at, json, Vec::new());
            let mut rest = new.into_iter();
            while let Some(arg) = rest.next() {
                match arg.to_str() {
                    Some("--json") => json = true,
                    Some("--at") => at = rest.next().map(|t| t.to_string_lossy().into_owned()),
                    _ => files.push(arg),
                }
            }
            diff(&old, &files, at.as_deref(), json)
        }
        Command::Serve {
            files,
            addr,
            watch,
            allow_client_time,
            allow_privileged_updates,
            read_token_file,
            write_token_file,
            insecure_open_writes,
            header_timeout_ms,
            tls_cert,
            tls_key,
        } => {
            let auth = match warden::server::Auth::load(read_token_file.as_deref(), write_token_file.as_deref()) {
                Ok(auth) => warden::server::Auth { insecure_open_writes, ..auth },
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let options = warden::server::Options {
                watch,
                allow_client_time,
                allow_privileged_updates,
                limits,
                auth,
                header_timeout: std::time::Duration::from_millis(header_timeout_ms),
                tls: tls_cert.zip(tls_key).map(|(cert, key)| warden::server::TlsFiles { cert, key }),
                ..warden::server::Options::default()
            };
            match warden::server::run(files, &addr, options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprint!("{e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Repl { files } => match warden::repl::helper::run(files) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn load(files: &[PathBuf]) -> Result<Engine, ExitCode> {
    let loaded = Engine::from_paths(files).map(|mut engine| {
        engine.set_limits(LIMITS.get().copied().unwrap_or_default());
        engine
    });
    loaded.map_err(|e| {
        eprint!("{}", e.render(colour()));
        let n = e.diagnostics.len();
        eprintln!("{n} error{}", if n == 1 { "" } else { "s" });
        ExitCode::from(1)
    })
}

fn check(files: &[PathBuf], at: Option<&str>, deny_warnings: bool, strict: bool) -> ExitCode {
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
struct Listing {
    why: bool,
    limit: Option<usize>,
    after: Option<String>,
}

/// The request options and the loaded program of a `query` or `explain`.
fn prepare(ask: &Ask) -> Result<(RequestOptions, Engine), ExitCode> {
    let options = request_options(ask.at.as_deref(), &ask.ctx)?;
    Ok((options, load(&ask.files)?))
}

fn run_query(ask: &Ask, listing: &Listing) -> ExitCode {
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

fn diff(old: &[PathBuf], new: &[PathBuf], at: Option<&str>, json: bool) -> ExitCode {
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
fn request_options(at: Option<&str>, ctx: &[String]) -> Result<RequestOptions, ExitCode> {
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

fn explain(ask: &Ask, verbose: bool) -> ExitCode {
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

fn plan(files: &[PathBuf]) -> ExitCode {
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

fn fmt(paths: &[PathBuf], check: bool) -> ExitCode {
    let files = match warden::syntax::collect_files(paths) {
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

fn test(files: &[PathBuf], coverage: bool) -> ExitCode {
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

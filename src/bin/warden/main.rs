//! The `warden` command line: `check`, `query`, `explain`, `test`, `serve`, ...
//!
//! `cli` declares the arguments, `commands` runs each command, `main` reads
//! the arguments and loads the program (files, and a database with
//! `--source`).

mod cli;
mod commands;
mod filter;

use clap::Parser;
use cli::{Cli, Command, DbCommand, LIMITS, SOURCE};
use commands::{Listing, check, diff, explain, fmt, plan, run_query, test};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use warden::Engine;

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
    let _ = SOURCE.set(cli.source.clone());
    match cli.command {
        Command::Check { files, at, deny_warnings, strict } => check(&files, at.as_deref(), deny_warnings, strict),
        Command::Query { ask, why, limit, after } => run_query(&ask, &Listing { why, limit, after }),
        Command::Explain { ask, verbose } => explain(&ask, verbose),
        Command::Plan { files } => plan(&files),
        Command::Test { files, coverage } => test(&files, coverage),
        Command::Db { command: DbCommand::Status { files } } => commands::db(&files, false),
        Command::Db { command: DbCommand::Install { files } } => commands::db(&files, true),
        Command::Fmt { files, check } => fmt(&files, check),
        Command::Filter(args) => filter::run(&args),
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
            let source = match source_config() {
                Ok(source) => source,
                Err(e) => {
                    eprint!("{}", e.render(colour()));
                    return ExitCode::from(1);
                }
            };
            let options = warden::server::Options {
                source,
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
    let loaded = Engine::from_paths(files).and_then(|engine| match source_config()? {
        Some(config) => warden::sources::Sources::open(config, &engine)?.load(&engine),
        None => Ok(engine),
    });
    let loaded = loaded.map(|mut engine| {
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

/// The source file of `--source`, read.
fn source_config() -> Result<Option<std::sync::Arc<warden::sources::Config>>, warden::LoadError> {
    let Some(Some(path)) = SOURCE.get() else { return Ok(None) };
    let config = warden::sources::Config::from_file(path)
        .map_err(|(diagnostics, sources)| warden::LoadError { diagnostics, sources })?;
    Ok(Some(std::sync::Arc::new(config)))
}

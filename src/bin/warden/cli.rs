//! The command line's arguments.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "warden", version, about = "Warden: authorization policies as Datalog")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Stop an evaluation that derives more tuples than this (it then denies, with the reason).
    #[arg(long, global = true, value_name = "N")]
    pub max_tuples: Option<usize>,
    /// Stop a check on the compiled plan that takes more steps than this (it then denies, with the reason).
    #[arg(long, global = true, value_name = "N")]
    pub max_steps: Option<usize>,
    /// Stop an evaluation that runs longer than this many milliseconds (it then denies).
    #[arg(long, global = true, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// Stop an evaluation whose rows would take more than this many MiB (estimated; it then denies).
    #[arg(long, global = true, value_name = "MIB")]
    pub max_memory_mib: Option<usize>,
    /// Also read facts from a database: the source file (`warden.toml`)
    /// binding relations to SQL queries.
    #[arg(long, global = true, value_name = "FILE")]
    pub source: Option<PathBuf>,
}

/// The source file given with `--source`.
pub static SOURCE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The evaluation limits given on the command line.
pub static LIMITS: std::sync::OnceLock<warden::Limits> = std::sync::OnceLock::new();

/// What `query` and `explain` take: the program, the question, the request.
#[derive(clap::Args)]
pub struct Ask {
    /// Files or directories.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The query atom.
    #[arg(short, long)]
    pub query: String,
    #[command(flatten)]
    pub request: RequestArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The request's time and context, as `query`, `explain` and `filter` take them.
#[derive(clap::Args)]
pub struct RequestArgs {
    /// The request time (RFC 3339); the wall clock when absent.
    #[arg(long)]
    pub at: Option<String>,
    /// A request context value, `KEY=VALUE` (repeatable).
    #[arg(long = "ctx", value_name = "KEY=VALUE")]
    pub ctx: Vec<String>,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// Serve decisions over HTTP (JSON): /v1/check, /v1/check/batch, /v1/query, /v1/explain, /v1/list, /v1/facts, /v1/reload, /healthz, /metrics.
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
    /// The objects of a type a user may act on, as a condition for the
    /// application's own query: the residual and, with `--sql`, a SQL
    /// `WHERE` condition and its parameters.
    Filter(FilterArgs),
    /// The database behind `--source`: `warden db status POLICY... --source warden.toml`.
    Db {
        #[command(subcommand)]
        command: DbCommand,
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

/// What `warden filter` takes.
#[derive(clap::Args)]
pub struct FilterArgs {
    /// Files or directories.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The subject.
    #[arg(long)]
    pub user: String,
    /// The permission.
    #[arg(long)]
    pub perm: String,
    /// The objects' type (`page` for `page:7`).
    #[arg(long = "type", value_name = "TYPE")]
    pub ty: String,
    /// Render the condition as SQL for this database.
    #[arg(long, value_name = "sqlite|postgres", value_parser = ["sqlite", "postgres"])]
    pub sql: Option<String>,
    /// The column holding the object's key (`id`, or `table.id`).
    #[arg(long, default_value = "id")]
    pub column: String,
    /// What the column holds: `integer` (7 for page:7), `text` ('7') or `name` ('page:7').
    #[arg(long, default_value = "integer", value_parser = ["integer", "text", "name"])]
    pub key: String,
    #[command(flatten)]
    pub request: RequestArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `warden db` does.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Read every source once and print how many facts each gives, and how long the read took.
    Status {
        /// The policy's files or directories (the relations the sources feed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Create the version table and a trigger on each watched table, so that
    /// changes are noticed at once and callers can wait for their writes.
    Install {
        /// The policy's files or directories (the relations the sources feed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

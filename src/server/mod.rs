//! `warden serve`: a decision server over HTTP for services not written in Rust.
//!
//! `POST /v1/check`, `/v1/check/batch`, `/v1/query`, `/v1/explain`, `/v1/list`, `/v1/facts`, `/v1/reload`;
//! `GET /healthz`, `/metrics` (Prometheus text). Every error is a JSON body
//! `{"error": {"code", "message"}}` with a 4xx status: malformed JSON, unknown
//! fields, oversize bodies, bad timestamps, rejected updates. Requests are
//! logged through `tracing`. Checks run on the blocking pool against the
//! current [`Live`] snapshot; `--watch` reloads a file set once it has stood
//! still for a poll, and keeps the old program when the new one has errors.
//!
//! The server decides at its own clock: a body's `at` is refused unless the
//! server was started with `--allow-client-time` (what-if questions, tests),
//! and every answer says which time it used. Live updates name facts as
//! structured values ([`FactItem`]); privileged ones are refused unless
//! `--allow-privileged-updates`.

use crate::engine::RequestOptions;
use crate::live::{Direction, Live, LiveChanges, Request};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

mod admission;
mod auth;
mod batch;
mod connections;
mod facts;
mod fresh;
mod list;
mod metrics;
mod tls;
mod watch;

pub use auth::Auth;
pub use batch::MAX_BATCH;
pub use facts::{FactFields, FactItem, HoldingFields};
pub use metrics::Metrics;
use std::sync::Arc;
use std::time::Instant;
use watch::WATCH_POLL;
pub use watch::{Stamp, Watcher, stamp};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How `warden serve` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Reload when the files change (once they stand still for a poll).
    pub watch: bool,
    /// Honour a request's `at` (otherwise the server's clock decides).
    pub allow_client_time: bool,
    /// Accept privileged live updates (new superusers, lifting `inactive`,
    /// changing `role_extends`).
    pub allow_privileged_updates: bool,
    /// Bounds on every evaluation.
    pub limits: crate::Limits,
    /// Who may read and who may write.
    pub auth: Auth,
    /// Expensive requests (queries, explanations, listings, batches of
    /// checks, checks off the compiled plan) running at once.
    pub max_running: usize,
    /// Expensive requests waiting for a slot; past that, 503.
    pub max_waiting: usize,
    /// The longest a connection may take to send a request's headers (and
    /// stay idle between requests).
    pub header_timeout: std::time::Duration,
    /// Serve over TLS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// Also read facts from this database, re-read every `poll` of its
    /// source file.
    pub source: Option<Arc<crate::sources::Config>>,
    /// The longest a request waits for the version it asks for (`at_least`).
    pub freshness_timeout: std::time::Duration,
}

/// A PEM certificate chain and its private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, the server's own first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Options {
            watch: false,
            allow_client_time: false,
            allow_privileged_updates: false,
            source: None,
            freshness_timeout: fresh::FRESHNESS_TIMEOUT,
            limits: crate::Limits::default(),
            auth: Auth::default(),
            max_running: cores,
            max_waiting: 64,
            header_timeout: std::time::Duration::from_secs(10),
            tls: None,
        }
    }
}

struct AppState {
    live: Arc<Live>,
    metrics: Metrics,
    allow_client_time: bool,
    auth: Auth,
    admission: admission::Admission,
    /// The longest a request body may take to arrive (the header timeout).
    body_timeout: std::time::Duration,
    /// The longest a request waits for its `at_least` version.
    freshness_timeout: std::time::Duration,
    /// Held by the one request-made read of the database at a time.
    refresh_gate: Arc<tokio::sync::Semaphore>,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message.into() } }))).into_response()
}

/// Why a request's body was refused.
pub(crate) enum BodyError {
    /// Not JSON, not an object, or not the fields the route takes.
    Json(JsonRejection),
    /// The body did not arrive within the header timeout (this long).
    TooSlow(std::time::Duration),
}

impl From<JsonRejection> for BodyError {
    fn from(r: JsonRejection) -> BodyError {
        BodyError::Json(r)
    }
}

impl axum::response::IntoResponse for BodyError {
    fn into_response(self) -> Response {
        rejection(self)
    }
}

/// A route's JSON body, or why it was refused.
type Body<T> = Result<Object<T>, BodyError>;

fn rejection(r: BodyError) -> Response {
    let r = match r {
        BodyError::Json(r) => r,
        BodyError::TooSlow(limit) => {
            let message = format!("the body did not arrive within {} ms", limit.as_millis());
            return error(StatusCode::REQUEST_TIMEOUT, "body_timeout", message);
        }
    };
    let (status, code) = match &r {
        JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
        JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
        _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        _ => (StatusCode::BAD_REQUEST, "bad_request"),
    };
    error(status, code, r.body_text())
}

/// The request time and context of a body, or a 400. The time is the
/// server's clock unless the server honours a client's `at`.
fn request_options(
    at: Option<&str>,
    ctx: &BTreeMap<String, Json_>,
    allow_client_time: bool,
) -> Result<RequestOptions, Box<Response>> {
    let mut options = RequestOptions { at: Some(crate::time::now()), ..RequestOptions::default() };
    if let Some(at) = at {
        if !allow_client_time {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "client_time_not_allowed",
                "this server decides at its own clock; `at` is honoured only when it runs with --allow-client-time",
            )));
        }
        options.at =
            Some(crate::time::parse_timestamp(at).map_err(|e| error(StatusCode::BAD_REQUEST, "bad_timestamp", e))?);
    }
    for (key, value) in ctx {
        let text = match value {
            Json_::String(s) => s.clone(),
            Json_::Number(n) => n.to_string(),
            Json_::Bool(b) => b.to_string(),
            _ => {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "bad_context",
                    format!("ctx.{key} must be a string, number or boolean"),
                )));
            }
        };
        options.ctx.insert(key.clone(), text);
    }
    Ok(options)
}

/// A JSON body that must be an object: serde would also read a struct's
/// fields from an array, by position.
pub(crate) struct Object<T>(T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<Arc<AppState>> for Object<T> {
    type Rejection = BodyError;

    async fn from_request(request: axum::extract::Request, state: &Arc<AppState>) -> Result<Self, BodyError> {
        let json =
            request.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            // Not JSON (a browser's "simple" cross-site POST among others):
            // the JSON extractor rejects it with `not_json` (415).
            let Json(body) = Json::<T>::from_request(request, state).await?;
            return Ok(Object(body));
        }
        // A body that trickles in is cut off (hyper's header timeout covers
        // only headers): it gets as long as the headers did.
        let limit = state.body_timeout;
        let read = tokio::time::timeout(limit, axum::body::Bytes::from_request(request, state));
        let bytes = match read.await {
            Ok(bytes) => bytes.map_err(JsonRejection::from)?,
            Err(_) => return Err(BodyError::TooSlow(limit)),
        };
        // An object first (a syntax error or another JSON value is rejected
        // here), then the fields, with serde's messages either way.
        let _ = Json::<serde_json::Map<String, Json_>>::from_bytes(&bytes)?;
        let Json(body) = Json::<T>::from_bytes(&bytes)?;
        Ok(Object(body))
    }
}

/// A JSON body and its request options (`at`, `ctx`), or the 4xx response.
/// What every question's body says besides the question: the time, the
/// context, and the version to answer at (at least).
trait Asks {
    fn asked(&self) -> (Option<&str>, &BTreeMap<String, Json_>, Option<u64>);
}

/// Reads a question's body: the body, its request options, and the version
/// it is answered at (after waiting for `at_least`, see [`fresh::fresh`]).
async fn accept<T: Asks>(state: &AppState, body: Body<T>) -> Result<(T, RequestOptions, u64), Response> {
    let Object(body) = body.map_err(rejection)?;
    accept_read(state, body).await
}

/// [`accept`] for a body already read (and checked for what can be
/// refused without waiting for freshness).
async fn accept_read<T: Asks>(state: &AppState, body: T) -> Result<(T, RequestOptions, u64), Response> {
    let (time, ctx, at_least) = body.asked();
    let options = request_options(time, ctx, state.allow_client_time).map_err(|response| *response)?;
    let version = fresh::fresh(state, at_least).await?;
    Ok((body, options, version))
}

/// The time a request was decided at, as the answer reports it.
fn used_time(options: &RequestOptions) -> String {
    crate::time::format_timestamp(options.at.unwrap_or_else(crate::time::now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    user: String,
    perm: String,
    obj: String,
    /// Answer at this version or a later one (see [`fresh::fresh`]).
    at_least: Option<u64>,
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

impl Asks for CheckBody {
    fn asked(&self) -> (Option<&str>, &BTreeMap<String, Json_>, Option<u64>) {
        (self.at.as_deref(), &self.ctx, self.at_least)
    }
}

async fn check(State(state): State<Arc<AppState>>, body: Body<CheckBody>) -> Response {
    let (body, options, version) = match accept(&state, body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let at = used_time(&options);
    let request = Request { user: body.user, perm: body.perm, object: body.obj, at: options.at, ctx: options.ctx };
    let answer = |decision: crate::live::Decision| {
        Json(json!({ "allowed": decision.allowed, "reason": decision.reason, "errors": decision.errors, "notes": decision.notes, "at": at, "version": version }))
            .into_response()
    };
    // The compiled plan decides in microseconds, right here; anything else
    // (the demand-driven path) is admitted like other expensive work.
    let snapshot = state.live.snapshot();
    if let Some(decision) = snapshot.check_compiled(&request) {
        return answer(decision);
    }
    match state.admission.run(move || snapshot.check_by_demand(&request)).await {
        Ok(decision) => answer(decision),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    query: String,
    /// Answer at this version or a later one (see [`fresh::fresh`]).
    at_least: Option<u64>,
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

impl Asks for QueryBody {
    fn asked(&self) -> (Option<&str>, &BTreeMap<String, Json_>, Option<u64>) {
        (self.at.as_deref(), &self.ctx, self.at_least)
    }
}

async fn query(State(state): State<Arc<AppState>>, body: Body<QueryBody>) -> Response {
    let (body, options, version) = match accept(&state, body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let at = used_time(&options);
    let live = state.live.clone();
    match state.admission.run(move || live.query(&body.query, &options).map_err(|e| e.render(false))).await {
        // Not an answer: an empty listing must not read as "nobody".
        Ok(Ok(answer)) if answer.stopped.is_some() => {
            error(StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded", answer.stopped.unwrap_or_default())
        }
        Ok(Ok(answer)) => {
            let answers: Vec<Json_> = answer
                .rows
                .iter()
                .map(|row| {
                    Json_::Object(
                        answer.variables.iter().cloned().zip(row.iter().map(|v| Json_::String(v.clone()))).collect(),
                    )
                })
                .collect();
            Json(json!({ "holds": answer.holds(), "variables": answer.variables, "answers": answers, "errors": answer.errors, "notes": answer.notes, "at": at, "version": version })).into_response()
        }
        Ok(Err(diagnostics)) => error(StatusCode::BAD_REQUEST, "bad_query", diagnostics),
        Err(response) => response,
    }
}

async fn explain(State(state): State<Arc<AppState>>, body: Body<QueryBody>) -> Response {
    let (body, options, _) = match accept(&state, body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let live = state.live.clone();
    match state.admission.run(move || live.snapshot().explain(&body.query, &options).map_err(|e| e.render(false))).await
    {
        Ok(Ok(explanation)) => Json(explanation).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::BAD_REQUEST, "bad_query", diagnostics),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsBody {
    #[serde(default)]
    insert: Vec<FactItem>,
    #[serde(default)]
    remove: Vec<FactItem>,
}

async fn facts(State(state): State<Arc<AppState>>, body: Body<FactsBody>) -> Response {
    let Object(body) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    let mut inserted = Vec::new();
    let mut removed = Vec::new();
    let sides = [(body.insert, &mut inserted, Direction::Insert), (body.remove, &mut removed, Direction::Remove)];
    for (items, out, direction) in sides {
        for (i, item) in items.into_iter().enumerate() {
            match item.into_facts(direction) {
                Ok(facts) => out.extend(facts),
                Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fact", format!("item {i}: {e}")),
            }
        }
    }
    let live = state.live.clone();
    let result = tokio::task::spawn_blocking(move || {
        live.update(|tx| {
            inserted.into_iter().for_each(|f| tx.insert_fact(f));
            removed.into_iter().for_each(|f| tx.remove_fact(f));
        })
        .map_err(|e| e.render(false))
    })
    .await;
    match result {
        Ok(Ok(version)) => Json(json!({ "ok": true, "version": version })).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::UNPROCESSABLE_ENTITY, "rejected", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the update failed; nothing changed"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReloadBody {
    /// `"keep"`: apply the live changes again on top of the files; `"drop"`: forget them.
    live_changes: String,
}

async fn reload(State(state): State<Arc<AppState>>, body: Body<ReloadBody>) -> Response {
    let changes = match body.map(|Object(b)| b.live_changes) {
        Ok(choice) if choice == "keep" => LiveChanges::Keep,
        Ok(choice) if choice == "drop" => LiveChanges::Drop,
        Ok(other) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("`live_changes` is `keep` or `drop`, not `{other}`"),
            );
        }
        Err(r) => return rejection(r),
    };
    let live = state.live.clone();
    match tokio::task::spawn_blocking(move || live.reload(changes).map_err(|e| e.render(false))).await {
        Ok(Ok(notes)) => Json(json!({ "ok": true, "notes": notes })).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::UNPROCESSABLE_ENTITY, "rejected", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the reload failed; nothing changed"),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render() + &fresh::metrics(&state.live);
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

async fn track(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Labelled by route, not by raw path: a client sending many unknown
    // paths must not grow the metrics without bound.
    let path = auth::route(request.uri().path()).map_or("other", |(route, _)| route).to_string();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&path, status, elapsed);
    tracing::info!(%method, %path, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// The routes over a live program.
pub fn router(live: Arc<Live>, options: &Options) -> Router {
    let state = Arc::new(AppState {
        live,
        metrics: Metrics::default(),
        allow_client_time: options.allow_client_time,
        auth: options.auth.clone(),
        admission: admission::Admission::new(options.max_running, options.max_waiting),
        body_timeout: options.header_timeout,
        freshness_timeout: options.freshness_timeout,
        refresh_gate: Arc::new(tokio::sync::Semaphore::new(1)),
    });
    Router::new()
        .route("/v1/check", post(check))
        .route("/v1/check/batch", post(batch::check_batch))
        .route("/v1/query", post(query))
        .route("/v1/explain", post(explain))
        .route("/v1/list", post(list::list))
        .route("/v1/facts", post(facts))
        .route("/v1/reload", post(reload))
        .route("/healthz", get(|State(state): State<Arc<AppState>>| fresh::healthz(state.live.clone())))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method for this endpoint")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves `live` on `listener` until the process ends; with `options.watch`,
/// reloads when the files under `paths` change and then stand still.
pub async fn serve(
    live: Arc<Live>,
    listener: tokio::net::TcpListener,
    paths: Vec<PathBuf>,
    options: Options,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    if options.auth.write.is_none() && !local.ip().is_loopback() {
        return Err(std::io::Error::other(format!(
            "refusing to serve on {local}, which is not a loopback address, without a write token: \
             set WARDEN_WRITE_TOKEN (or --write-token-file)"
        )));
    }
    if options.watch {
        let live = live.clone();
        tokio::spawn(async move {
            let mut watcher = Watcher::new(stamp(&paths));
            loop {
                tokio::time::sleep(WATCH_POLL).await;
                if !watcher.poll(stamp(&paths)) {
                    continue;
                }
                let live = live.clone();
                let reloaded =
                    tokio::task::spawn_blocking(move || live.reload(LiveChanges::Keep).map_err(|e| e.render(false)));
                match reloaded.await {
                    Ok(Ok(notes)) if notes.is_empty() => tracing::info!("reloaded after a file change"),
                    // A live change that no longer applies is worth a look.
                    Ok(Ok(notes)) => tracing::warn!(?notes, "reloaded after a file change; live changes dropped"),
                    Ok(Err(d)) => tracing::warn!(diagnostics = %d, "reload rejected; the running program stays"),
                    Err(_) => tracing::warn!("reload failed; the running program stays"),
                }
            }
        });
    }
    if let Some(config) = &options.source {
        fresh::spawn_follower(&live, config.poll);
    }
    let tls = match &options.tls {
        Some(files) => Some(tls::acceptor(&files.cert, &files.key).map_err(std::io::Error::other)?),
        None => None,
    };
    let limits = connections::Limits { header_read: options.header_timeout, ..connections::Limits::from_system() };
    connections::serve_connections(listener, router(live, &options), limits, tls).await
}

/// `warden serve`: loads `paths`, binds `addr`, serves until killed.
pub fn run(paths: Vec<PathBuf>, addr: &str, options: Options) -> Result<(), String> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
    let limits = options.limits;
    let configure = Arc::new(move |engine: &mut crate::Engine| engine.set_limits(limits));
    let live = match &options.source {
        Some(config) => Live::with_sources(&paths, config.clone(), configure),
        None => Live::with_configuration(&paths, configure),
    };
    let live = live.map_err(|e| e.render(false))?;
    let live = Arc::new(live.allow_privileged_updates(options.allow_privileged_updates));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let resolved: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host(addr).await.map_err(|e| format!("cannot resolve {addr}: {e}"))?.collect();
        if options.auth.write.is_none() && resolved.iter().any(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "refusing to listen on {addr}, which is not a loopback address, without a write token: \
                 set WARDEN_WRITE_TOKEN (or --write-token-file)\n"
            ));
        }
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%local, "warden serving");
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        eprintln!("listening on {scheme}://{local}");
        serve(live, listener, paths, options).await.map_err(|e| e.to_string())
    })
}

//! `warden serve`: a decision server over HTTP for services not written in Rust.
//!
//! `POST /v1/check`, `/v1/query`, `/v1/explain`, `/v1/facts`, `/v1/reload`;
//! `GET /healthz`, `/metrics` (Prometheus text). Every error is a JSON body
//! `{"error": {"code", "message"}}` with a 4xx status: malformed JSON, unknown
//! fields, oversize bodies, bad timestamps, rejected updates. Requests are
//! logged through `tracing`. Checks run on the blocking pool against the
//! current [`Live`] snapshot; `--watch` reloads on file change and keeps the
//! old program when the new one has errors.

use crate::engine::RequestOptions;
use crate::live::{Live, Request};
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 10] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Request counts and latencies, for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    fn record(&self, path: &str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((path.to_string(), status)).or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let h = latency.entry(path.to_string()).or_default();
        let seconds = elapsed.as_secs_f64();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP warden_requests_total HTTP requests by path and status.\n# TYPE warden_requests_total counter\n",
        );
        for ((path, status), n) in self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            out.push_str(&format!("warden_requests_total{{path=\"{path}\",status=\"{status}\"}} {n}\n"));
        }
        out.push_str("# HELP warden_request_seconds Request latency.\n# TYPE warden_request_seconds histogram\n");
        for (path, h) in self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                out.push_str(&format!("warden_request_seconds_bucket{{path=\"{path}\",le=\"{bound}\"}} {count}\n"));
            }
            out.push_str(&format!("warden_request_seconds_bucket{{path=\"{path}\",le=\"+Inf\"}} {}\n", h.count));
            out.push_str(&format!("warden_request_seconds_sum{{path=\"{path}\"}} {}\n", h.sum));
            out.push_str(&format!("warden_request_seconds_count{{path=\"{path}\"}} {}\n", h.count));
        }
        out
    }
}

struct AppState {
    live: Arc<Live>,
    metrics: Metrics,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message.into() } }))).into_response()
}

fn rejection(r: JsonRejection) -> Response {
    let (status, code) = match &r {
        JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
        JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
        _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        _ => (StatusCode::BAD_REQUEST, "bad_request"),
    };
    error(status, code, r.body_text())
}

/// The request time and context of a body, or a 400.
fn request_options(at: Option<&str>, ctx: &BTreeMap<String, Json_>) -> Result<RequestOptions, Box<Response>> {
    let mut options = RequestOptions::default();
    if let Some(at) = at {
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

/// A JSON body and its request options (`at`, `ctx`), or the 4xx response.
fn parse<T>(
    body: Result<Json<T>, JsonRejection>,
    at: impl Fn(&T) -> (Option<&str>, &BTreeMap<String, Json_>),
) -> Result<(T, RequestOptions), Box<Response>> {
    let Json(body) = body.map_err(|r| Box::new(rejection(r)))?;
    let (time, ctx) = at(&body);
    let options = request_options(time, ctx)?;
    Ok((body, options))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    user: String,
    perm: String,
    obj: String,
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

async fn check(State(state): State<Arc<AppState>>, body: Result<Json<CheckBody>, JsonRejection>) -> Response {
    let (body, options) = match parse(body, |b| (b.at.as_deref(), &b.ctx)) {
        Ok(parsed) => parsed,
        Err(response) => return *response,
    };
    let request = Request { user: body.user, perm: body.perm, object: body.obj, at: options.at, ctx: options.ctx };
    let live = state.live.clone();
    match tokio::task::spawn_blocking(move || live.check(&request)).await {
        Ok(decision) => Json(decision).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the check failed; denied"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    query: String,
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

async fn query(State(state): State<Arc<AppState>>, body: Result<Json<QueryBody>, JsonRejection>) -> Response {
    let (body, options) = match parse(body, |b| (b.at.as_deref(), &b.ctx)) {
        Ok(parsed) => parsed,
        Err(response) => return *response,
    };
    let live = state.live.clone();
    let result =
        tokio::task::spawn_blocking(move || live.query(&body.query, &options).map_err(|e| e.render(false))).await;
    match result {
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
            Json(json!({ "holds": answer.holds(), "variables": answer.variables, "answers": answers, "errors": answer.errors })).into_response()
        }
        Ok(Err(diagnostics)) => error(StatusCode::BAD_REQUEST, "bad_query", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the query failed"),
    }
}

async fn explain(State(state): State<Arc<AppState>>, body: Result<Json<QueryBody>, JsonRejection>) -> Response {
    let (body, options) = match parse(body, |b| (b.at.as_deref(), &b.ctx)) {
        Ok(parsed) => parsed,
        Err(response) => return *response,
    };
    let live = state.live.clone();
    let result = tokio::task::spawn_blocking(move || {
        live.snapshot().explain(&body.query, &options).map_err(|e| e.render(false))
    })
    .await;
    match result {
        Ok(Ok(explanation)) => Json(explanation).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::BAD_REQUEST, "bad_query", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the explanation failed"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsBody {
    #[serde(default)]
    insert: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

async fn facts(State(state): State<Arc<AppState>>, body: Result<Json<FactsBody>, JsonRejection>) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    let live = state.live.clone();
    let result = tokio::task::spawn_blocking(move || {
        live.update(|tx| {
            body.insert.iter().for_each(|s| tx.insert(s));
            body.remove.iter().for_each(|s| tx.remove(s));
        })
        .map_err(|e| e.render(false))
    })
    .await;
    match result {
        Ok(Ok(())) => Json(json!({ "ok": true })).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::UNPROCESSABLE_ENTITY, "rejected", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the update failed; nothing changed"),
    }
}

async fn reload(State(state): State<Arc<AppState>>) -> Response {
    let live = state.live.clone();
    match tokio::task::spawn_blocking(move || live.reload().map_err(|e| e.render(false))).await {
        Ok(Ok(())) => Json(json!({ "ok": true })).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::UNPROCESSABLE_ENTITY, "rejected", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the reload failed; nothing changed"),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

async fn track(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
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
pub fn router(live: Arc<Live>) -> Router {
    let state = Arc::new(AppState { live, metrics: Metrics::default() });
    Router::new()
        .route("/v1/check", post(check))
        .route("/v1/query", post(query))
        .route("/v1/explain", post(explain))
        .route("/v1/facts", post(facts))
        .route("/v1/reload", post(reload))
        .route("/healthz", get(|| async { Json(json!({ "ok": true })) }))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method for this endpoint")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves `live` on `listener` until the process ends; with `watch`, reloads
/// when one of those files changes.
pub async fn serve(
    live: Arc<Live>,
    listener: tokio::net::TcpListener,
    watch: Option<Vec<PathBuf>>,
) -> std::io::Result<()> {
    if let Some(paths) = watch {
        let live = live.clone();
        tokio::spawn(async move {
            let mut last = stamp(&paths);
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = stamp(&paths);
                if now != last {
                    last = now;
                    let live = live.clone();
                    match tokio::task::spawn_blocking(move || live.reload().map_err(|e| e.render(false))).await {
                        Ok(Ok(())) => tracing::info!("reloaded after a file change"),
                        Ok(Err(d)) => tracing::warn!(diagnostics = %d, "reload rejected; the running program stays"),
                        Err(_) => tracing::warn!("reload failed; the running program stays"),
                    }
                }
            }
        });
    }
    axum::serve(listener, router(live)).await
}

/// Modification times of every policy and data file under `paths`.
fn stamp(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>)> {
    let files = crate::syntax::collect_files(paths).unwrap_or_default();
    files.into_iter().map(|f| (f.clone(), std::fs::metadata(&f).and_then(|m| m.modified()).ok())).collect()
}

/// `warden serve`: loads `paths`, binds `addr`, serves until killed.
pub fn run(paths: Vec<PathBuf>, addr: &str, watch: bool) -> Result<(), String> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
    let live = Arc::new(Live::from_paths(&paths).map_err(|e| e.render(false))?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%local, "warden serving");
        eprintln!("listening on http://{local}");
        serve(live, listener, watch.then_some(paths)).await.map_err(|e| e.to_string())
    })
}

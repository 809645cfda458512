//! `warden serve`: a decision server over HTTP for services not written in Rust.
//!
//! `POST /v1/check`, `/v1/query`, `/v1/explain`, `/v1/facts`, `/v1/reload`;
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
use crate::live::{Holding, Live, LiveChanges, LiveFact, Request};
use crate::syntax::ast::Constant;
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

/// How `warden serve` runs.
#[derive(Clone, Debug, Default)]
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
}

/// Bearer tokens guarding the routes. A write token admits the write routes
/// (`/v1/facts`, `/v1/reload`) and the read routes; a read token the read
/// routes (`/v1/check`, `/v1/query`, `/v1/explain`, `/metrics`). Without a
/// read token reads are open; without a write token writes are disabled
/// unless `insecure_open_writes`. `/healthz` is always open.
#[derive(Clone, Default)]
pub struct Auth {
    /// The token for reads, if reads need one.
    pub read: Option<String>,
    /// The token for writes (and reads).
    pub write: Option<String>,
    /// Open the write routes to anyone (loopback only; for development).
    pub insecure_open_writes: bool,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a token.
        f.debug_struct("Auth")
            .field("read", &self.read.as_ref().map(|_| "<set>"))
            .field("write", &self.write.as_ref().map(|_| "<set>"))
            .field("insecure_open_writes", &self.insecure_open_writes)
            .finish()
    }
}

impl Auth {
    /// The tokens from the environment (`WARDEN_READ_TOKEN`,
    /// `WARDEN_WRITE_TOKEN`) or from files (which win); an empty token is an error.
    pub fn load(read_file: Option<&std::path::Path>, write_file: Option<&std::path::Path>) -> Result<Auth, String> {
        let token = |file: Option<&std::path::Path>, var: &str| -> Result<Option<String>, String> {
            let text = match file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read the token file `{}`: {e}", path.display()))?,
                ),
                None => std::env::var(var).ok(),
            };
            match text.map(|t| t.trim().to_string()) {
                Some(t) if t.is_empty() => {
                    let source = file.map_or(var.to_string(), |p| p.display().to_string());
                    Err(format!("the token from {source} is empty"))
                }
                other => Ok(other),
            }
        };
        Ok(Auth {
            read: token(read_file, "WARDEN_READ_TOKEN")?,
            write: token(write_file, "WARDEN_WRITE_TOKEN")?,
            insecure_open_writes: false,
        })
    }
}

/// What a route needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Open,
    Read,
    Write,
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct AppState {
    live: Arc<Live>,
    metrics: Metrics,
    allow_client_time: bool,
    auth: Auth,
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
pub struct Object<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Object<T> {
    type Rejection = JsonRejection;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, JsonRejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(JsonRejection::from)?;
        // An object first (a syntax error or another JSON value is rejected
        // here), then the fields, with serde's messages either way.
        let _ = Json::<serde_json::Map<String, Json_>>::from_bytes(&bytes)?;
        let Json(body) = Json::<T>::from_bytes(&bytes)?;
        Ok(Object(body))
    }
}

/// A JSON body and its request options (`at`, `ctx`), or the 4xx response.
fn parse<T>(
    state: &AppState,
    body: Result<Object<T>, JsonRejection>,
    at: impl Fn(&T) -> (Option<&str>, &BTreeMap<String, Json_>),
) -> Result<(T, RequestOptions), Box<Response>> {
    let Object(body) = body.map_err(|r| Box::new(rejection(r)))?;
    let (time, ctx) = at(&body);
    let options = request_options(time, ctx, state.allow_client_time)?;
    Ok((body, options))
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
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

async fn check(State(state): State<Arc<AppState>>, body: Result<Object<CheckBody>, JsonRejection>) -> Response {
    let (body, options) = match parse(&state, body, |b| (b.at.as_deref(), &b.ctx)) {
        Ok(parsed) => parsed,
        Err(response) => return *response,
    };
    let at = used_time(&options);
    let request = Request { user: body.user, perm: body.perm, object: body.obj, at: options.at, ctx: options.ctx };
    let live = state.live.clone();
    match tokio::task::spawn_blocking(move || live.check(&request)).await {
        Ok(decision) => {
            Json(json!({ "allowed": decision.allowed, "reason": decision.reason, "errors": decision.errors, "at": at }))
                .into_response()
        }
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

async fn query(State(state): State<Arc<AppState>>, body: Result<Object<QueryBody>, JsonRejection>) -> Response {
    let (body, options) = match parse(&state, body, |b| (b.at.as_deref(), &b.ctx)) {
        Ok(parsed) => parsed,
        Err(response) => return *response,
    };
    let at = used_time(&options);
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
            let mut body = json!({ "holds": answer.holds(), "variables": answer.variables, "answers": answers, "errors": answer.errors, "at": at });
            if let (Some(stopped), Some(object)) = (&answer.stopped, body.as_object_mut()) {
                // Not an answer: say so, so an empty listing is not read as "nobody".
                object.insert("stopped".into(), stopped.clone().into());
            }
            Json(body).into_response()
        }
        Ok(Err(diagnostics)) => error(StatusCode::BAD_REQUEST, "bad_query", diagnostics),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the query failed"),
    }
}

async fn explain(State(state): State<Arc<AppState>>, body: Result<Object<QueryBody>, JsonRejection>) -> Response {
    let (body, options) = match parse(&state, body, |b| (b.at.as_deref(), &b.ctx)) {
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
    insert: Vec<FactItem>,
    #[serde(default)]
    remove: Vec<FactItem>,
}

/// One fact of `/v1/facts`: structured (the documented form), or the text
/// of exactly one fact statement.
///
/// ```json
/// {"relation": "owner", "args": ["alice", "page:7"]}
/// {"in": ["user:zed", "group:editors"]}
/// {"assign": {"subject": "alice", "role": "editor", "on": "project:apollo", "until": "2026-12-01T00:00:00Z"}}
/// {"grant": {"subject": "dave", "perm": "read", "on": "page:7"}}
/// {"superuser": "root"}
/// {"inactive": "mallory"}
/// "assign bob viewer on project:apollo;"
/// ```
#[derive(Deserialize)]
#[serde(untagged)]
pub enum FactItem {
    /// One fact statement.
    Text(String),
    /// A structured fact.
    Fact(Box<FactFields>),
}

/// The fields of a structured fact: exactly one form per item.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactFields {
    relation: Option<String>,
    args: Option<Vec<Json_>>,
    #[serde(rename = "in")]
    in_: Option<(String, String)>,
    assign: Option<HoldingFields>,
    grant: Option<HoldingFields>,
    superuser: Option<String>,
    inactive: Option<String>,
}

/// The fields of an `assign` (`role`) or a `grant` (`perm`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldingFields {
    subject: String,
    role: Option<String>,
    perm: Option<String>,
    on: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

impl FactItem {
    /// The live fact this item names, or why it names none.
    fn into_fact(self) -> Result<LiveFact, String> {
        let fields = match self {
            FactItem::Text(text) => return LiveFact::parse(&text).map_err(|e| e.to_string()),
            FactItem::Fact(fields) => fields,
        };
        let FactFields { relation, args, in_, assign, grant, superuser, inactive } = *fields;
        let forms = [
            relation.is_some(),
            in_.is_some(),
            assign.is_some(),
            grant.is_some(),
            superuser.is_some(),
            inactive.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            return Err(
                "a fact has exactly one of `relation` (with `args`), `in`, `assign`, `grant`, `superuser`, `inactive`"
                    .into(),
            );
        }
        if args.is_some() && relation.is_none() {
            return Err("`args` belongs with `relation`".into());
        }
        let holding = |h: HoldingFields, what: Option<String>, name: &str| -> Result<Holding, String> {
            let what = what.ok_or_else(|| format!("`{name}` is missing"))?;
            let stamp = |t: Option<String>| t.map(|t| crate::time::parse_timestamp(&t)).transpose();
            Ok(Holding { subject: h.subject, what, on: h.on, from: stamp(h.from)?, until: stamp(h.until)? })
        };
        Ok(match (relation, in_, assign, grant, superuser, inactive) {
            (Some(name), ..) if name == "in" => match args.as_deref() {
                Some([Json_::String(member), Json_::String(container)]) => {
                    LiveFact::In { member: member.clone(), container: container.clone() }
                }
                _ => return Err("`in` takes two names".into()),
            },
            (Some(name), ..) => {
                let args = args.unwrap_or_default().into_iter().map(constant).collect::<Result<Vec<_>, _>>()?;
                LiveFact::Relation { name, args }
            }
            (_, Some((member, container)), ..) => LiveFact::In { member, container },
            (_, _, Some(h), ..) => {
                if h.perm.is_some() {
                    return Err("an `assign` has a `role`, not a `perm`".into());
                }
                let role = h.role.clone();
                LiveFact::Assign(holding(h, role, "role")?)
            }
            (_, _, _, Some(h), ..) => {
                if h.role.is_some() {
                    return Err("a `grant` has a `perm`, not a `role`".into());
                }
                let perm = h.perm.clone();
                LiveFact::Grant(holding(h, perm, "perm")?)
            }
            (.., Some(name), _) => LiveFact::Superuser(name),
            (.., Some(name)) => LiveFact::Inactive(name),
            _ => return Err("an empty fact".into()),
        })
    }
}

/// A JSON value as a constant, as in data files: a string that is an RFC 3339
/// timestamp is a timestamp, an integer an integer, a boolean a boolean.
fn constant(value: Json_) -> Result<Constant, String> {
    match value {
        Json_::String(s) => Ok(match crate::time::parse_timestamp(&s) {
            Ok(t) if s.len() >= 20 => Constant::Time(t),
            _ => Constant::Str(s),
        }),
        Json_::Number(n) => n.as_i64().map(Constant::Int).ok_or_else(|| format!("`{n}` is not a 64-bit integer")),
        Json_::Bool(b) => Ok(Constant::Bool(b)),
        other => Err(format!("`{other}` is not a constant (a string, an integer or a boolean)")),
    }
}

async fn facts(State(state): State<Arc<AppState>>, body: Result<Object<FactsBody>, JsonRejection>) -> Response {
    let Object(body) = match body {
        Ok(b) => b,
        Err(r) => return rejection(r),
    };
    let mut inserted = Vec::new();
    let mut removed = Vec::new();
    for (items, out) in [(body.insert, &mut inserted), (body.remove, &mut removed)] {
        for (i, item) in items.into_iter().enumerate() {
            match item.into_fact() {
                Ok(fact) => out.push(fact),
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
        Ok(Ok(())) => Json(json!({ "ok": true })).into_response(),
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

async fn reload(State(state): State<Arc<AppState>>, body: Result<Object<ReloadBody>, JsonRejection>) -> Response {
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
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// Admits a request by its bearer token (see [`Auth`]).
async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let access = match request.uri().path() {
        "/v1/facts" | "/v1/reload" => Access::Write,
        "/v1/check" | "/v1/query" | "/v1/explain" | "/metrics" => Access::Read,
        _ => Access::Open,
    };
    let auth = &state.auth;
    let bearer = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let holds = |token: &Option<String>| matches!((bearer, token), (Some(given), Some(t)) if same_secret(given, t));
    let unauthorized = || {
        let mut response =
            error(StatusCode::UNAUTHORIZED, "unauthorized", "a valid `Authorization: Bearer` token is required");
        response
            .headers_mut()
            .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        response
    };
    match access {
        Access::Open => {}
        Access::Read => {
            if auth.read.is_some() && !holds(&auth.read) && !holds(&auth.write) {
                return unauthorized();
            }
        }
        Access::Write => match &auth.write {
            Some(_) if !holds(&auth.write) => return unauthorized(),
            Some(_) => {}
            None if !auth.insecure_open_writes => {
                return error(
                    StatusCode::FORBIDDEN,
                    "writes_disabled",
                    "writes are disabled: set WARDEN_WRITE_TOKEN (or --write-token-file), or --insecure-open-writes on loopback",
                );
            }
            None => {}
        },
    }
    next.run(request).await
}

async fn track(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Labelled by route, not by raw path: a client sending many unknown
    // paths must not grow the metrics without bound.
    let path = match request.uri().path() {
        known @ ("/v1/check" | "/v1/query" | "/v1/explain" | "/v1/facts" | "/v1/reload" | "/healthz" | "/metrics") => {
            known.to_string()
        }
        _ => "other".to_string(),
    };
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
    });
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
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
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
    axum::serve(listener, router(live, &options)).await
}

/// How often `--watch` looks at the files.
const WATCH_POLL: Duration = Duration::from_secs(1);

/// Size and modification time of every policy and data file.
type Stamp = Vec<(PathBuf, Option<(u64, SystemTime)>)>;

/// Decides when `--watch` reloads: only once a changed file set has stood
/// still for a whole poll (same sizes and times twice in a row), so a save
/// still being written is not loaded half-way. A file set that does not
/// parse is rejected by the reload itself and the running program stays.
/// Deploy by writing elsewhere and renaming into place (atomic).
#[derive(Debug)]
pub struct Watcher {
    loaded: Stamp,
    pending: Option<Stamp>,
}

impl Watcher {
    /// Watches from the file set as it was loaded.
    pub fn new(loaded: Stamp) -> Watcher {
        Watcher { loaded, pending: None }
    }

    /// Takes one poll's view; `true` when it is time to reload.
    pub fn poll(&mut self, now: Stamp) -> bool {
        if now == self.loaded {
            self.pending = None;
            return false;
        }
        if self.pending.as_ref() == Some(&now) {
            self.loaded = now;
            self.pending = None;
            return true;
        }
        self.pending = Some(now);
        false
    }
}

/// Sizes and modification times of every policy and data file under `paths`.
pub fn stamp(paths: &[PathBuf]) -> Stamp {
    let files = crate::syntax::collect_files(paths).unwrap_or_default();
    files
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f).ok();
            let seen = meta.and_then(|m| Some((m.len(), m.modified().ok()?)));
            (f, seen)
        })
        .collect()
}

/// `warden serve`: loads `paths`, binds `addr`, serves until killed.
pub fn run(paths: Vec<PathBuf>, addr: &str, options: Options) -> Result<(), String> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
    let limits = options.limits;
    let configure = Arc::new(move |engine: &mut crate::Engine| engine.set_limits(limits));
    let live = Live::with_configuration(&paths, configure).map_err(|e| e.render(false))?;
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
        eprintln!("listening on http://{local}");
        serve(live, listener, paths, options).await.map_err(|e| e.to_string())
    })
}

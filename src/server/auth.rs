//! Who may read and who may write: bearer tokens, compared in constant time.

use super::{AppState, error};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;

/// Bearer tokens guarding the routes. A write token admits the write routes
/// (`/v1/facts`, `/v1/reload`) and the read routes; a read token the read
/// routes (`/v1/check`, `/v1/check/batch`, `/v1/query`, `/v1/explain`,
/// `/v1/list`, `/metrics`). Without a read token reads are open; without a
/// write token writes are disabled unless `insecure_open_writes`.
/// `/healthz` is always open.
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
pub(super) enum Access {
    /// Anyone.
    Open,
    /// The read token (or the write token), when a read token is set.
    Read,
    /// The write token.
    Write,
}

/// Every route and what it needs; the router serves these paths, and a
/// path not listed is the 404 fallback (open, labelled `other` in metrics).
pub(super) const ROUTES: [(&str, Access); 9] = [
    ("/v1/check", Access::Read),
    ("/v1/check/batch", Access::Read),
    ("/v1/query", Access::Read),
    ("/v1/explain", Access::Read),
    ("/v1/list", Access::Read),
    ("/v1/facts", Access::Write),
    ("/v1/reload", Access::Write),
    ("/healthz", Access::Open),
    ("/metrics", Access::Read),
];

/// The route a path names, if any.
pub(super) fn route(path: &str) -> Option<(&'static str, Access)> {
    ROUTES.iter().find(|(route, _)| *route == path).copied()
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Admits a request by its bearer token (see [`Auth`]).
pub(super) async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let access = route(request.uri().path()).map_or(Access::Open, |(_, access)| access);
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

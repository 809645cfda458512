//! `POST /v1/check/batch`: many checks at one time and context in one
//! request (a page deciding each item of a list), decided by
//! [`crate::engine::Engine::check_many`]. The answers come in the order
//! asked; each check fails closed like a single one.

use super::{AppState, Asks, Body, Object, accept_read, error, rejection, used_time};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most checks one batch may ask.
pub const MAX_BATCH: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchBody {
    checks: Vec<OneCheck>,
    /// Answer at this version or a later one (see [`super::fresh::fresh`]).
    at_least: Option<u64>,
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

/// One check of a batch: the fields of a `/v1/check` body's question.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OneCheck {
    user: String,
    perm: String,
    obj: String,
}

impl Asks for BatchBody {
    fn asked(&self) -> (Option<&str>, &BTreeMap<String, Json_>, Option<u64>) {
        (self.at.as_deref(), &self.ctx, self.at_least)
    }
}

/// Decides every check of the batch. The batch runs admitted like other
/// work that may take long (a check the compiled plan cannot decide alone
/// takes the demand-driven path), under one deadline for the whole batch;
/// a batch over [`MAX_BATCH`] is refused before anything waits.
pub(super) async fn check_batch(State(state): State<Arc<AppState>>, body: Body<BatchBody>) -> Response {
    let body = match body {
        Ok(Object(body)) => body,
        Err(e) => return rejection(e),
    };
    if body.checks.len() > MAX_BATCH {
        let message = format!("a batch asks at most {MAX_BATCH} checks; this one asks {}", body.checks.len());
        return error(StatusCode::UNPROCESSABLE_ENTITY, "batch_too_large", message);
    }
    let (body, options, version) = match accept_read(&state, body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let at = used_time(&options);
    let checks: Vec<(String, String, String)> =
        body.checks.into_iter().map(|check| (check.user, check.perm, check.obj)).collect();
    let snapshot = state.live.snapshot();
    let decide = move || snapshot.check_many(&checks, options.at, &options.ctx);
    match state.admission.run(decide).await {
        Ok(Ok(allowed)) => Json(json!({ "allowed": allowed, "at": at, "version": version })).into_response(),
        // Not an answer: no check of a stopped batch is reported allowed.
        Ok(Err(stopped)) => error(StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded", stopped),
        Err(response) => response,
    }
}

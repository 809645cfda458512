//! `POST /v1/list`: the objects a user may act on, or the subjects that may
//! act on an object.

use super::{AppState, Asks, Body, accept, error, used_time};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListBody {
    user: Option<String>,
    perm: String,
    #[serde(rename = "type")]
    ty: Option<String>,
    object: Option<String>,
    subject_type: Option<String>,
    /// At most this many names (the rest: `after` the answer's `next`).
    limit: Option<usize>,
    /// Only names after this one (a `next` of an earlier page).
    after: Option<String>,
    /// Answer at this version or a later one (see [`fresh::fresh`]).
    at_least: Option<u64>,
    at: Option<String>,
    #[serde(default)]
    ctx: BTreeMap<String, Json_>,
}

impl Asks for ListBody {
    fn asked(&self) -> (Option<&str>, &BTreeMap<String, Json_>, Option<u64>) {
        (self.at.as_deref(), &self.ctx, self.at_least)
    }
}

/// The objects of a type a user may act on (`{user, perm, type}`,
/// [`crate::Engine::list_objects`]), or the subjects that may act on an
/// object (`{perm, object}`, [`crate::Engine::list_subjects`]), a page at
/// a time with `limit` and `after` (the `next` of the page before).
pub(super) async fn list(State(state): State<Arc<AppState>>, body: Body<ListBody>) -> Response {
    let (body, options, version) = match accept(&state, body).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let at = used_time(&options);
    let live = state.live.clone();
    let listing = match (body.user, body.ty, body.object, body.subject_type) {
        (Some(user), Some(ty), None, None) => Listing::Objects(user, ty),
        (None, None, Some(object), subject_type) => Listing::Subjects(object, subject_type),
        _ => {
            let message = "a listing is `{user, perm, type}` (objects) or `{perm, object, subject_type?}` (subjects)";
            return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message.to_string());
        }
    };
    let perm = body.perm;
    let window = crate::Window { limit: body.limit, after: body.after };
    let run = move || {
        let snapshot = live.snapshot();
        match listing {
            Listing::Objects(user, ty) => snapshot.list_objects_in(&user, &perm, &ty, &window, &options).map(|list| {
                let answer = json!({ "every": list.every, "objects": list.objects, "excluded": list.excluded, "next": list.next, "errors": list.errors, "at": at, "version": version });
                (list.stopped, answer)
            }),
            Listing::Subjects(object, ty) => snapshot.list_subjects_in(&perm, &object, ty.as_deref(), &window, &options).map(|list| {
                let answer = json!({ "every": list.every, "subjects": list.subjects, "excluded": list.excluded, "next": list.next, "errors": list.errors, "at": at, "version": version });
                (list.stopped, answer)
            }),
        }
    };
    match state.admission.run(move || run().map_err(|e| e.render(false))).await {
        // Not an answer: an empty list must not read as "nothing".
        Ok(Ok((Some(stopped), _))) => error(StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded", stopped),
        Ok(Ok((None, answer))) => Json(answer).into_response(),
        Ok(Err(diagnostics)) => error(StatusCode::BAD_REQUEST, "bad_request", diagnostics),
        Err(response) => response,
    }
}

/// What `/v1/list` lists.
enum Listing {
    /// The objects of a type (`user`, `type`).
    Objects(String, String),
    /// The subjects of an object (of one type, if given).
    Subjects(String, Option<String>),
}

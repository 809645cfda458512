//! A tiny web service whose routes are guarded by Warden.
//!
//! `cargo run --example service` then:
//!   curl -H 'x-user: alice' localhost:3000/pages/1          (allowed: alice edits apollo)
//!   curl -X DELETE -H 'x-user: bob' localhost:3000/pages/1  (403, with the reason)

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::get;
use std::sync::Arc;
use warden::live::{Live, Request};

/// Decides one request: the user from `x-user`, the permission from the method.
fn authorize(live: &Live, headers: &HeaderMap, method: &Method, object: &str) -> Result<(), (StatusCode, String)> {
    let user = headers.get("x-user").and_then(|v| v.to_str().ok()).unwrap_or("anonymous");
    let perm = match *method {
        Method::GET => "read",
        Method::DELETE => "delete",
        _ => "write",
    };
    let decision = live.check(&Request::new(user, perm, object));
    if decision.allowed { Ok(()) } else { Err((StatusCode::FORBIDDEN, decision.reason)) }
}

async fn page(
    State(live): State<Arc<Live>>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<u32>,
) -> Result<String, (StatusCode, String)> {
    let object = format!("page:{id}");
    authorize(&live, &headers, &method, &object)?;
    Ok(format!("{method} {object}: done\n"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live = Arc::new(Live::from_paths(&["policies".into()]).map_err(|e| e.render(false))?);
    let app = Router::new().route("/pages/{id}", get(page).put(page).delete(page)).with_state(live);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(listener, app).await?;
    Ok(())
}

//! Freshness: answers at a version at least the caller's (`at_least`), the
//! database re-read while the server runs, and `/healthz`.

use super::{AppState, error};
use crate::live::Live;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The longest a request waits for the version it asks for, by default.
pub const FRESHNESS_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the program is at `at_least` (a version an update, an
/// earlier answer or the database's version table gave); with a database,
/// first re-reads it if it changed, so that a write the caller committed
/// before asking is seen. Returns the version the answer is at least at, or
/// a 503 `stale` error when the version is not reached in time.
pub(super) async fn fresh(state: &AppState, at_least: Option<u64>) -> Result<u64, Response> {
    let (live, timeout) = (&state.live, state.freshness_timeout);
    let Some(wanted) = at_least else { return Ok(live.version()) };
    let deadline = tokio::time::Instant::now() + timeout;
    let stale = |live: &Live| {
        let version = live.version();
        let message = format!("version {wanted} was not applied within {timeout:?} (the program is at {version})");
        error(StatusCode::SERVICE_UNAVAILABLE, "stale", message)
    };
    if live.has_database() {
        // One request-made read at a time: its thread holds the gate until
        // the read ends, however long the database takes, so a stalled
        // database ties up one blocking thread, not one per request. A read
        // that began after this request arrived is shared, not repeated.
        let arrived = live.reads_begun();
        let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, state.refresh_gate.clone().acquire_owned()).await else {
            return Err(stale(live));
        };
        let reading = live.clone();
        let read = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            reading.refresh_unless_read_since(arrived)
        });
        // A read that failed (or was refused) cannot vouch for the caller's
        // write: stale, whatever the version says.
        if !matches!(tokio::time::timeout_at(deadline, read).await, Ok(Ok(Ok(_)))) {
            return Err(stale(live));
        }
    }
    // Waiting costs no thread: a version not reached ties up a timer.
    while live.version() < wanted {
        if tokio::time::Instant::now() >= deadline {
            return Err(stale(live));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(live.version())
}

/// Follows the database while the server runs: waits for its change
/// notification (PostgreSQL with `warden db install`) or `every`, then
/// re-reads it if it changed. A read that fails keeps the running program;
/// `/healthz` says so. The thread ends with the program.
pub(super) fn spawn_follower(live: &Arc<Live>, every: Duration) {
    let live = Arc::downgrade(live);
    let Some(mut listener) = live.upgrade().and_then(|live| live.listener()) else { return };
    std::thread::spawn(move || {
        let mut failing = false;
        loop {
            listener.wait(every);
            let Some(live) = live.upgrade() else { return };
            match live.refresh() {
                Ok(changed) => {
                    if changed {
                        tracing::info!(version = live.version(), "applied the database's changes");
                    }
                    if failing {
                        tracing::info!("the database reads again");
                    }
                    failing = false;
                }
                Err(e) if !failing => {
                    tracing::warn!(error = %e.render(false), "the database read failed; serving the last good read");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    });
}

/// `GET /healthz` (open to every caller): the version, and with a
/// database whether its facts are stale and how long ago the last good read
/// was. Always 200 while serving: a program whose last read failed still
/// answers from its last good read, and says `"stale": true`. The error
/// itself (which may quote rows) goes to the log, not here.
pub(super) async fn healthz(live: Arc<Live>) -> Response {
    let version = live.version();
    match live.database_status() {
        None => Json(json!({ "ok": true, "version": version })).into_response(),
        Some(status) => Json(json!({
            "ok": status.error.is_none(),
            "version": version,
            "stale": status.error.is_some(),
            "seconds_since_good_read": status.since_good_read.map(|d| d.as_secs_f64()),
        }))
        .into_response(),
    }
}

/// The program's version and, with a database, its reads, for `/metrics`.
pub(super) fn metrics(live: &Live) -> String {
    let mut out = format!(
        "# HELP warden_version The version of the program checks see.\n# TYPE warden_version gauge\nwarden_version {}\n",
        live.version()
    );
    let memory = live.snapshot().memory_usage();
    out.push_str(
        "# HELP warden_memory_bytes Bytes the current snapshot holds, by part (estimated from its buffers).\n\
         # TYPE warden_memory_bytes gauge\n",
    );
    for (part, bytes) in [
        ("symbols", memory.symbols),
        ("facts", memory.facts),
        ("base", memory.base),
        ("base_indexes", memory.base_indexes),
        ("plan_relations", memory.plan_relations),
        ("plan_indexes", memory.plan_indexes),
        ("total", memory.total),
    ] {
        out.push_str(&format!("warden_memory_bytes{{part=\"{part}\"}} {bytes}\n"));
    }
    if let Some(status) = live.database_status() {
        let stale = u8::from(status.error.is_some());
        let since = status.since_good_read.map_or(f64::NAN, |d| d.as_secs_f64());
        out.push_str(&format!(
            "# HELP warden_database_updates_applied_total Reads of the database that changed the program.\n\
             # TYPE warden_database_updates_applied_total counter\nwarden_database_updates_applied_total {}\n\
             # HELP warden_database_update_seconds_total Time those reads took, read to published.\n\
             # TYPE warden_database_update_seconds_total counter\nwarden_database_update_seconds_total {}\n\
             # HELP warden_database_read_failures_total Reads of the database that failed.\n\
             # TYPE warden_database_read_failures_total counter\nwarden_database_read_failures_total {}\n\
             # HELP warden_database_stale Whether the last read failed (the last good read is served).\n\
             # TYPE warden_database_stale gauge\nwarden_database_stale {stale}\n\
             # HELP warden_database_seconds_since_good_read Time since the last good read.\n\
             # TYPE warden_database_seconds_since_good_read gauge\nwarden_database_seconds_since_good_read {since}\n",
            status.applied, status.apply_seconds, status.failed
        ));
    }
    out
}

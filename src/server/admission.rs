//! Admission control: work that can be expensive (queries, explanations,
//! checks off the compiled plan) runs at most `running` at a time, with at
//! most `waiting` more queued; past that, or after waiting too long, the
//! request gets 503 `overloaded` at once instead of piling up threads and
//! memory. Compiled checks, the common case, are not queued. The slot goes
//! with the work (into the blocking task), and a client that hangs up
//! cancels its evaluation (which then stops within 4,096 rows and frees the
//! slot; see [`crate::eval::cancel`]).

use super::error;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The longest a request waits in the queue.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Slots for expensive work and a bounded queue in front of them.
pub struct Admission {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// A place in the queue, given back however the wait ends (a slot, a
/// timeout, or the request dropped because its client went away).
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sets the work's cancel flag when the request's future ends (harmless
/// once the work is done).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Admission {
    /// At most `running` at once and `waiting` queued.
    pub fn new(running: usize, waiting: usize) -> Admission {
        Admission { slots: Arc::new(Semaphore::new(running)), waiting: AtomicUsize::new(0), max_waiting: waiting }
    }

    /// Runs `work` on the blocking pool once a slot is free, holding the slot
    /// until the work ends; the work is cancelled when this future is dropped
    /// (the client went away). 503 when the queue is full or the wait too
    /// long, 500 if the work panicked.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
        let slot = self.enter().await?;
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_when_dropped = CancelOnDrop(cancel.clone());
        let done = tokio::task::spawn_blocking(move || {
            let out = crate::eval::cancel::cancellable(cancel, work);
            drop(slot);
            out
        });
        done.await
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed; nothing granted"))
    }

    /// A slot, once one is free; 503 when the queue is full or the wait too long.
    async fn enter(&self) -> Result<OwnedSemaphorePermit, Response> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        let overloaded =
            || error(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "too many expensive requests at once; retry later");
        let place = InQueue(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            return Err(overloaded());
        }
        let slot = tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned()).await;
        drop(place);
        match slot {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(overloaded()),
        }
    }
}

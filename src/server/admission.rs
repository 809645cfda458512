//! Admission control: work that can be expensive (queries, explanations,
//! checks off the compiled plan) runs at most `running` at a time, with at
//! most `waiting` more queued; past that, or after waiting too long, the
//! request gets 503 `overloaded` at once instead of piling up threads and
//! memory. Compiled checks, the common case, are not queued.

use super::error;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The longest a request waits in the queue.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Slots for expensive work and a bounded queue in front of them.
pub struct Admission {
    slots: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Admission {
    /// At most `running` at once and `waiting` queued.
    pub fn new(running: usize, waiting: usize) -> Admission {
        Admission { slots: Semaphore::new(running), waiting: AtomicUsize::new(0), max_waiting: waiting }
    }

    /// A slot, once one is free; 503 when the queue is full or the wait too long.
    pub async fn enter(&self) -> Result<SemaphorePermit<'_>, Response> {
        if let Ok(slot) = self.slots.try_acquire() {
            return Ok(slot);
        }
        let overloaded =
            || error(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "too many expensive requests at once; retry later");
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(overloaded());
        }
        let slot = tokio::time::timeout(QUEUE_WAIT, self.slots.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match slot {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(overloaded()),
        }
    }
}

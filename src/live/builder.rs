//! The background builder of check plans: one thread per [`super::Live`] at
//! most, building the plan of the newest snapshot only.
//!
//! Each live update makes a new snapshot whose check plan is built off the
//! request path (checks take the demand-driven path until it is ready). A
//! burst of updates must not start a build per update (each holds a copy of
//! the static relations): the builder keeps only the newest snapshot asked
//! for. While it builds one, newer requests replace each other, and a
//! snapshot that was superseded and dropped before its turn is never built.

use crate::engine::Engine;
use std::sync::{Arc, Mutex, Weak};

/// What the builder is asked to do, and whether its thread is running.
#[derive(Default)]
struct Queue {
    /// The newest snapshot whose plan is wanted.
    next: Option<Weak<Engine>>,
    running: bool,
}

/// Builds check plans in the background, coalescing requests.
#[derive(Clone, Default)]
pub(crate) struct PlanBuilder {
    queue: Arc<Mutex<Queue>>,
}

impl PlanBuilder {
    /// Asks for `engine`'s plan: it replaces any snapshot still waiting, and
    /// a thread is started unless one is running.
    pub(crate) fn request(&self, engine: &Arc<Engine>) {
        if engine.check_plan_if_built().is_some() {
            return;
        }
        engine.mark_plan_pending();
        let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.next = Some(Arc::downgrade(engine));
        if queue.running {
            return;
        }
        queue.running = true;
        drop(queue);
        let shared = self.queue.clone();
        let spawned = std::thread::Builder::new().name("warden-plan".into()).spawn(move || work(&shared));
        if spawned.is_err() {
            // No thread: the next check of a pending snapshot builds its plan itself.
            let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.running = false;
            if let Some(engine) = queue.next.take().and_then(|w| w.upgrade()) {
                engine.clear_plan_pending();
            }
        }
    }
}

/// The builder thread: builds the newest wanted plan until none is left.
fn work(queue: &Mutex<Queue>) {
    loop {
        let next = {
            let mut queue = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match queue.next.take() {
                Some(next) => next,
                None => {
                    queue.running = false;
                    return;
                }
            }
        };
        // A snapshot dropped before its turn (superseded and unused) is skipped.
        if let Some(engine) = next.upgrade() {
            // A panic must not stop later builds (nor leave `running` set):
            // the snapshot then checks by the demand-driven path.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.check_plan().is_some()));
            engine.clear_plan_pending();
        }
    }
}

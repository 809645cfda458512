//! Stopping an evaluation whose requester went away: a server runs each
//! expensive request inside [`cancellable`] with a flag it sets when the
//! client hangs up; evaluations on that thread check the flag where they
//! check their deadline (between rounds, and every 4,096 rows inside joins)
//! and stop with `EvalError::Cancelled`, which denies.

use super::{EvalError, Limits};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

thread_local! {
    /// The flag of the work running on this thread, if it can be cancelled.
    static FLAG: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread; evaluations inside it stop once `flag` is set.
pub fn cancellable<T>(flag: Arc<AtomicBool>, work: impl FnOnce() -> T) -> T {
    /// Clears the flag of this thread however `work` ends.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            FLAG.with(|f| f.borrow_mut().take());
        }
    }
    FLAG.with(|f| *f.borrow_mut() = Some(flag));
    let _reset = Reset;
    work()
}

/// An error once past `deadline`, or once the work was cancelled.
pub(crate) fn check(deadline: Instant, limits: &Limits) -> Result<(), EvalError> {
    if Instant::now() > deadline {
        return Err(EvalError::TooSlow(limits.max_time.as_millis()));
    }
    if FLAG.with(|f| f.borrow().as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed))) {
        return Err(EvalError::Cancelled);
    }
    Ok(())
}

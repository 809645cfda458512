//! The engine's compiled check plan: built on first use (a live update
//! builds it before publishing the snapshot), from the previous snapshot's
//! plan where nothing changed (see [`crate::eval::plan`]).

use super::{Engine, Resolved};
use crate::eval::Additions;
use crate::eval::plan::snapshot::Snapshot;
use crate::eval::plan::{CheckPlan, NotCompiled};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, TryLockError};

/// Where an engine keeps its check plan: built once, by the first check
/// that needs it (or by a snapshot about to be published). A check that
/// finds the plan being built by another does not wait for it: it takes
/// the general path, so no check ever blocks on a build.
#[derive(Debug, Default)]
pub(crate) struct PlanCell {
    plan: OnceLock<Option<Arc<CheckPlan>>>,
    /// Held by whoever builds the plan: a check that cannot take it at
    /// once does not wait. (A build that panics poisons it, which frees it.)
    building: Mutex<()>,
}

impl PlanCell {
    /// The plan, if its build has finished (`Some(None)`: the program has none).
    fn get(&self) -> Option<&Option<Arc<CheckPlan>>> {
        self.plan.get()
    }

    /// The plan, built now by `build` unless built before; `None` while
    /// another caller builds it (a check's way: it does not wait).
    fn get_or_build(&self, build: impl FnOnce() -> Option<Arc<CheckPlan>>) -> Option<&CheckPlan> {
        if let Some(plan) = self.plan.get() {
            return plan.as_deref();
        }
        let _building = match self.building.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        self.plan.get_or_init(build).as_deref()
    }

    /// The plan, built now by `build` unless built before, or waiting for
    /// the caller that builds it (a publisher's way: it needs the plan).
    fn get_or_wait(&self, build: impl FnOnce() -> Option<Arc<CheckPlan>>) -> Option<&CheckPlan> {
        if let Some(plan) = self.plan.get() {
            return plan.as_deref();
        }
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        self.plan.get_or_init(build).as_deref()
    }
}

impl Engine {
    /// The compiled check plan, built on first use (or waited for, while
    /// another thread builds it): the static relations materialized and the
    /// dynamic rules compiled. `None` when the program has no plan (its
    /// checks take the demand-driven path). A build that panics leaves no
    /// plan too, rather than a build retried per check.
    #[doc(hidden)]
    pub fn check_plan(&self) -> Option<&CheckPlan> {
        self.plan.get_or_wait(|| self.build_plan())
    }

    /// The plan for a check: built now if nobody has, `None` while another
    /// thread builds it (the check takes the general path, never waits).
    pub(crate) fn plan_for_check(&self) -> Option<&CheckPlan> {
        self.plan.get_or_build(|| self.build_plan())
    }

    /// Compiles the plan for the cell; a panic or an error leaves none.
    fn build_plan(&self) -> Option<Arc<CheckPlan>> {
        let compiled = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.compile_plan()));
        let build = || match compiled().unwrap_or_else(|_| Err(NotCompiled::Materialize("the build panicked".into()))) {
            Ok(plan) => {
                // The previous snapshot's plan is no longer needed.
                *self.previous_plan.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                Some(Arc::new(plan))
            }
            Err(e) => {
                tracing::debug!("no compiled check plan: {e}");
                None
            }
        };
        build()
    }

    /// The check plan if it has been built (without building it).
    #[doc(hidden)]
    pub fn check_plan_if_built(&self) -> Option<&CheckPlan> {
        self.plan.get().and_then(|plan| plan.as_deref())
    }

    /// Builds the check plan anew, or says why the program has none.
    #[doc(hidden)]
    pub fn compile_plan(&self) -> Result<CheckPlan, NotCompiled> {
        // The static relations read no request: any time and no context.
        let no_context = BTreeMap::new();
        let resolved = Resolved::prepared(self, Some(0), &no_context);
        let (env, symbols) = (resolved.env(), &resolved.symbols);
        // The rules do not change with live updates: neither does the split.
        let dynamic = self.rules.dynamic.clone();
        let previous = self.previous_plan.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let previous = previous.as_deref().filter(|p| p.symbols_id == self.symbols_id);
        let snapshot = Snapshot::materialize(
            &self.checked,
            &self.prepared,
            &dynamic,
            &env,
            &Additions::default(),
            self.limits,
            previous.map(|p| &p.snapshot),
        )
        .map_err(|e| NotCompiled::Materialize(e.to_string()))?;
        // Static rules computed strings of their own: not request-independent after all.
        if !symbols.extra_syms().is_empty() {
            return Err(NotCompiled::Materialize("static rules computed new strings".into()));
        }
        let plan = CheckPlan::compile(&self.checked, snapshot, dynamic, previous, self.symbols_id)?;
        // Bounded like any evaluation: past the limit, checks take the
        // demand-driven path (itself bounded) rather than hold the plan.
        let bytes = plan.heap_bytes();
        if bytes > self.limits.max_bytes {
            return Err(NotCompiled::Materialize(format!(
                "the plan would hold {} MiB, past the limit of {} MiB",
                bytes >> 20,
                self.limits.max_bytes >> 20
            )));
        }
        Ok(plan)
    }

    /// This snapshot's plan if built, else the one it would reuse.
    pub(super) fn built_or_previous_plan(&self) -> Option<Arc<CheckPlan>> {
        match self.plan.get() {
            Some(plan) => plan.clone(),
            None => self.previous_plan.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        }
    }

    /// Which symbol table this snapshot's ids belong to: a prepared request
    /// (see [`crate::live::PreparedRequest`]) is valid for every snapshot
    /// with the same id.
    pub fn symbols_id(&self) -> u64 {
        self.symbols_id
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Request};

    const POLICY: &str = "role editor { write on page; }\nassign alice editor on project:a;\npage:1 in project:a;\n";

    #[test]
    fn a_check_does_not_wait_for_a_plan_another_check_is_building() {
        let request = |perm: &str| Request::new("alice", perm, "page:1").at_micros(0);
        let engine = Engine::from_source("p.warden", POLICY).expect("loads");
        // Another caller (a check, or a publisher) is building the plan. The
        // checks run on a thread of their own: one that waited would never
        // come back (the builder here waits for them), and the receive below
        // reports that instead of hanging.
        let building = engine.plan.building.lock().expect("not poisoned");
        let (sender, answers) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _ = sender.send((engine.is_allowed(&request("write")), engine.is_allowed(&request("delete"))));
            });
            let answers = answers.recv_timeout(std::time::Duration::from_secs(60));
            assert_eq!(answers, Ok((true, false)), "the checks waited for the plan's build");
            drop(building);
        });
        assert!(engine.check_plan_if_built().is_none(), "a check built the plan, or waited for it");
        // A publisher needs the plan: it builds it (or waits for the builder).
        assert!(engine.check_plan().is_some());
        assert!(engine.is_allowed(&request("write")));
        // Nobody building: the first check builds it.
        let engine = Engine::from_source("p.warden", POLICY).expect("loads");
        assert!(engine.is_allowed(&request("write")));
        assert!(engine.check_plan_if_built().is_some());
    }
}

//! Many checks in one call: [`Engine::check_many`].
//!
//! A page that shows a list asks the same kind of question dozens of times
//! (may this user see each of these pages?). Asked one by one, each check
//! reads the clock, resolves its context and builds its evaluation context
//! again, and meets the user's tuples cold. A batch does those once: one
//! instant, one context, one evaluation context; the checks run sorted by
//! subject and object, so a subject's tuples are read while still in the
//! caches; the answers come back in the order asked. The batch as a whole
//! has one deadline ([`crate::Limits::max_time`]), as a listing does.

use super::request::Resolved;
use super::{Engine, Request};
use crate::eval::cancel;
use crate::eval::plan::run::Run;
use crate::lower::ir::Value;
use crate::time;
use std::collections::BTreeMap;

impl Engine {
    /// Whether each `(user, perm, object)` is allowed, all decided at one
    /// instant (`at`, or now) with one context: the same answers as
    /// [`Engine::is_allowed`] on each request at that instant, in the order
    /// given.
    ///
    /// On the compiled plan the batch shares its time, context and
    /// evaluation context and runs sorted by subject; a check the plan
    /// cannot decide alone (a name it does not know, a condition that
    /// erred) is decided like [`Engine::is_allowed`] would.
    ///
    /// `Err` with the reason when the batch is stopped (no partial
    /// answer): past one [`crate::Limits::max_time`] for the whole batch
    /// (each check keeps its own limits too), or cancelled.
    pub fn check_many<S: AsRef<str>>(
        &self,
        checks: &[(S, S, S)],
        at: Option<i64>,
        ctx: &BTreeMap<String, String>,
    ) -> Result<Vec<bool>, String> {
        let now = at.unwrap_or_else(time::now);
        let limits = self.limits();
        let deadline = std::time::Instant::now() + limits.max_time;
        let in_time = || cancel::check(deadline, &limits).map_err(|e| format!("the batch was stopped: {e}"));
        // A check asked alone, as the request it stands for.
        let request = |(user, perm, object): &(S, S, S)| Request {
            ctx: ctx.clone(),
            ..Request::new(user.as_ref(), perm.as_ref(), object.as_ref()).at_micros(now)
        };
        let one_by_one = |check: &(S, S, S)| self.is_allowed(&request(check));
        let Some(plan) = self.compiled_plan() else {
            return checks.iter().map(|check| in_time().map(|()| one_by_one(check))).collect();
        };
        // Checks of known names, by subject and object; the others alone.
        let mut allowed = vec![false; checks.len()];
        let mut planned: Vec<([Value; 3], usize)> = Vec::with_capacity(checks.len());
        for (position, check) in checks.iter().enumerate() {
            let (user, perm, object) = check;
            match self.plan_values(plan, [user.as_ref(), perm.as_ref(), object.as_ref()]) {
                Some((values, unknown)) if unknown.is_empty() => planned.push((values, position)),
                _ => {
                    in_time()?;
                    if let Some(slot) = allowed.get_mut(position) {
                        *slot = one_by_one(check);
                    }
                }
            }
        }
        planned.sort_unstable_by_key(|([user, _, object], position)| (*user, *object, *position));
        let resolved = Resolved::new(self, Some(now), ctx, &[]);
        let env = resolved.env();
        for (done, (values, position)) in planned.into_iter().enumerate() {
            // The clock is read every 64 checks on the plan (each is bounded
            // by its steps), before each that takes the demand path.
            if done % 64 == 0 {
                in_time()?;
            }
            let mut run = Run::new(plan, &env, limits.max_steps);
            let result = run.holds(plan.allowed, &values);
            let decided = match (run.errors.is_empty(), result) {
                (true, result) => result.unwrap_or(false),
                // A condition erred: the tuple may be unknown, which only
                // the three-valued evaluation weighs (SPEC section 5).
                (false, _) => {
                    in_time()?;
                    checks.get(position).is_some_and(|check| self.check_by_demand(&request(check)).allowed)
                }
            };
            if let Some(slot) = allowed.get_mut(position) {
                *slot = decided;
            }
        }
        Ok(allowed)
    }
}

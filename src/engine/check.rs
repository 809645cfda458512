//! Deciding a [`Request`]: on the compiled plan when it can (microseconds,
//! unknown constants included), else by the demand-driven three-valued
//! evaluation; either way a [`Decision`] with its reason, never a failure.

use super::request::Resolved;
use super::{Decision, Engine, Request, Strategy};
use crate::eval::plan::CheckPlan;
use crate::eval::plan::run::Run;
use crate::eval::render::is_wildcard;
use crate::eval::{Additions, EvalError, render};
use crate::lower::builtins;
use crate::lower::intern::FRESH;
use crate::lower::ir::{self, Value};

/// What deciding a request found: allowed, permitted (before deny rules and
/// `inactive`), and whether the user is inactive.
struct Verdict {
    allowed: bool,
    permitted: bool,
    inactive: bool,
}

impl Engine {
    /// Whether a request is allowed: the same decision as
    /// [`Engine::check`]`(request).allowed`, without building the reason. On
    /// the compiled plan it allocates nothing (unless a condition needs
    /// strings or fails).
    pub fn is_allowed(&self, request: &Request) -> bool {
        match self.compiled(request, |plan, run, values| run.holds(plan.allowed, values)) {
            Some(result) => result.unwrap_or(false),
            None => self.check(request).allowed,
        }
    }

    /// Decides a request. Never fails: an error denies, with the reason.
    pub fn check(&self, request: &Request) -> Decision {
        self.check_compiled(request).unwrap_or_else(|| self.check_by_demand(request))
    }

    /// Decides a request on the compiled plan, in microseconds; `None` when
    /// it needs the demand-driven evaluation instead (no plan ready, a
    /// constant the plan does not know, or a condition that erred), which
    /// can take far longer (a server admits that separately).
    pub fn check_compiled(&self, request: &Request) -> Option<Decision> {
        let compiled = self.compiled(request, |plan, run, values| {
            let allowed = run.holds(plan.allowed, values)?;
            let permitted = if allowed { true } else { run.holds(plan.permitted, values)? };
            let inactive = self.is_inactive(values[0]);
            Ok(Verdict { allowed, permitted, inactive })
        })?;
        Some(self.decision(request, compiled.map(|decided| (decided, Vec::new())).map_err(|e| e.to_string())))
    }

    /// The decision and its reason for a verdict (or the error that stopped it).
    fn decision(&self, request: &Request, outcome: Result<(Verdict, Vec<String>), String>) -> Decision {
        let (Verdict { allowed, permitted, inactive }, errors) = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                let notes = self.unknown_name_notes(&request.user, &request.perm);
                return Decision { allowed: false, reason: format!("denied: {e}"), errors: vec![e], notes };
            }
        };
        let (u, p, o) = (
            render::quote_if_needed(&request.user),
            render::quote_if_needed(&request.perm),
            render::quote_if_needed(&request.object),
        );
        let reason = if allowed {
            format!("allowed: {u} may {p} {o}")
        } else if !errors.is_empty() {
            format!("denied: an error occurred while deciding ({})", errors.join("; "))
        } else if permitted && inactive {
            format!("denied: {u} is inactive")
        } else if permitted {
            format!("denied: a deny rule overrides the permission of {u} to {p} {o}")
        } else {
            format!("denied: nothing permits {u} to {p} {o}")
        };
        let notes = self.unknown_name_notes(&request.user, &request.perm);
        Decision { allowed, reason, errors, notes }
    }

    /// Runs `decide` on the compiled plan, when the engine uses one, the
    /// request names only constants of the program, and no condition errs.
    fn compiled<T>(
        &self,
        request: &Request,
        decide: impl FnOnce(&CheckPlan, &mut Run, &[Value; 3]) -> Result<T, EvalError>,
    ) -> Option<Result<T, EvalError>> {
        let plan = self.compiled_plan()?;
        let (values, unknown) = self.plan_values(plan, [&request.user, &request.perm, &request.object])?;
        let resolved = Resolved::new(self, request.at, &request.ctx, &unknown);
        self.run_compiled(plan, &values, &resolved, decide)
    }

    /// The plan's values for a question's names: a constant the plan knows
    /// is itself; an unknown one (or a wildcard) takes a stand-in's place
    /// (the same name, the same stand-in), listed in the second vector.
    /// `None` when only the general path decides them: a name a rule or
    /// `fn` mentions but no fact holds, or an unknown one where the plan
    /// does not decide unknown constants.
    pub(crate) fn plan_values<'n, const N: usize>(
        &self,
        plan: &CheckPlan,
        names: [&'n str; N],
    ) -> Option<([Value; N], Vec<&'n str>)> {
        let program = &self.checked().program;
        let mut unknown: Vec<&str> = Vec::new();
        let mut values = [Value::Sym(builtins::STAR); N];
        for (value, name) in values.iter_mut().zip(names) {
            let known = if is_wildcard(name) { None } else { program.symbols.get(name) };
            *value = match known {
                Some(sym) if plan.knows(Value::Sym(sym)) => Value::Sym(sym),
                // A name a rule or `fn` mentions (`U == alice`) but no fact
                // holds: only the general path compares it exactly.
                Some(sym) if plan.named_by_rules.contains(&sym) => return None,
                // Unknown, or interned only by a test block or a query.
                _ if plan.decides_unknown_constants() => {
                    let at = unknown.iter().position(|u| *u == name).unwrap_or(unknown.len());
                    if at == unknown.len() {
                        unknown.push(name);
                    }
                    Value::Sym(*FRESH.get(at)?)
                }
                _ => return None,
            };
        }
        Some((values, unknown))
    }

    /// The check plan, when the engine checks by it and it is ready (built
    /// now if nobody has; `None` while another thread builds it).
    pub(crate) fn compiled_plan(&self) -> Option<&CheckPlan> {
        if self.strategy() != Strategy::Compiled {
            return None;
        }
        self.plan_for_check()
    }

    /// Runs `decide` on `plan` for a resolved request and its values.
    ///
    /// `None` when a condition erred: the plan decides in two values, and
    /// an error makes a tuple unknown (SPEC section 5), which only the
    /// three-valued evaluation weighs exactly, so the caller asks it.
    pub(crate) fn run_compiled<T>(
        &self,
        plan: &CheckPlan,
        values: &[Value; 3],
        resolved: &Resolved,
        decide: impl FnOnce(&CheckPlan, &mut Run, &[Value; 3]) -> Result<T, EvalError>,
    ) -> Option<Result<T, EvalError>> {
        let env = resolved.env();
        let mut run = Run::new(plan, &env, self.limits().max_steps);
        let result = decide(plan, &mut run, values);
        run.errors.is_empty().then_some(result)
    }

    /// Decides a request by the demand-driven (three-valued) evaluation,
    /// without trying the compiled plan first: what [`Engine::check`] does
    /// when [`Engine::check_compiled`] says `None`.
    pub fn check_by_demand(&self, request: &Request) -> Decision {
        self.decision(request, self.verdict_by_demand(request))
    }

    /// The demand-driven verdict: (allowed, permitted, inactive) and the
    /// condition errors met.
    fn verdict_by_demand(&self, request: &Request) -> Result<(Verdict, Vec<String>), String> {
        let resolved = Resolved::new(self, request.at, &request.ctx, &[]);
        let symbols = &resolved.symbols;
        let mut values = [Value::Sym(builtins::STAR); 3];
        for (value, name) in values.iter_mut().zip([&request.user, &request.perm, &request.object]) {
            let sym = if is_wildcard(name) { symbols.fresh(name) } else { Some(symbols.intern(name)) };
            *value = Value::Sym(sym.ok_or("at most three `*` in one question")?);
        }
        let env = resolved.env();
        let decide = |rel: ir::RelId| -> Result<(bool, Vec<String>), String> {
            let atom = ir::Atom { rel, args: values.iter().map(|v| ir::Term::Const(*v)).collect() };
            let additions = Additions { domain: values.to_vec(), ..Additions::default() };
            let (rows, model) = self.decide(&env, &additions, &atom).map_err(|e| e.to_string())?;
            Ok((!rows.is_empty(), self.render_errors(&model)))
        };
        let (allowed, errors) = decide(builtins::ALLOWED)?;
        if allowed || !errors.is_empty() {
            return Ok((Verdict { allowed, permitted: allowed, inactive: false }, errors));
        }
        let (permitted, _) = decide(builtins::PERMITTED)?;
        let inactive = self.is_inactive(values[0]);
        Ok((Verdict { allowed: false, permitted, inactive }, errors))
    }
}

//! The semi-naive evaluator against the naive reference, on random programs
//! (recursion, negation across strata, comparisons, list generators, access
//! rules over the active domain) and on every shipped policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod random_programs;
mod reference;

use random_programs::{Rng, random_program, random_role_program, random_timed_program, random_wide_program};

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use warden::Engine;
use warden::internals::eval::functions::{Env, Externs};
use warden::internals::eval::{self, Additions, Limits, Reading, Row};
use warden::internals::lower::intern::Symbols;

/// Evaluates with both engines at `now` and asserts every relation is equal.
fn assert_same(engine: &Engine, now: i64, source: &str) {
    assert_same_with(engine, now, source, &[]);
}

/// The same, with `fresh` names in the active domain, as a question naming
/// `*` or `page:*` adds them (SPEC section 9: a fresh constant, of that type).
fn assert_same_with(engine: &Engine, now: i64, source: &str, fresh: &[&str]) {
    let checked = engine.checked();
    let program = &checked.program;
    let symbols = Symbols::with_fresh(&program.symbols, fresh);
    let ctx = BTreeMap::new();
    let externs = Externs::new();
    let env = Env { program, symbols: &symbols, now, ctx: &ctx, externs: &externs };
    let domain =
        fresh.iter().map(|name| warden::internals::lower::ir::Value::Sym(symbols.fresh(name).unwrap())).collect();
    let additions = Additions { domain, ..Additions::default() };
    let fast = eval::evaluate(checked, &env, &additions, Limits::default()).expect("evaluation within limits");
    let slow = reference::evaluate(checked, &env, &additions);
    for (i, relation) in program.relations.iter().enumerate() {
        let rel = warden::internals::lower::ir::RelId(i as u32);
        for (reading, expected) in [(Reading::Certain, &slow.certain[i]), (Reading::Possible, &slow.possible[i])] {
            let rows = fast.rows(rel, reading);
            let fast_rows: BTreeSet<Row> = rows.iter().map(<[_]>::to_vec).collect();
            assert_eq!(fast_rows.len(), rows.len(), "duplicates in `{}`", relation.name);
            assert!(
                fast_rows == *expected,
                "{reading:?} tuples of `{}` differ\nsemi-naive: {:?}\nreference:  {:?}\nprogram:\n{source}",
                relation.name,
                fast_rows,
                expected
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seminaive_equals_reference_on_random_programs(seed in any::<u64>()) {
        let source = random_program(seed);
        let engine = Engine::from_source("random.warden", &source)
            .unwrap_or_else(|e| panic!("generated program does not load:\n{source}\n{}", e.render(false)));
        assert_same(&engine, 0, &source);
        for at in ["2026-03-02T12:05:00Z", "2026-02-28T09:40:00Z"] {
            assert_same(&engine, warden::time::parse_timestamp(at).unwrap(), &source);
        }
        assert_same_with(&engine, 0, &source, &["*", "page:*"]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arities 1 to 6, every kind of value, recursion through several
    /// relations: the linear strata on fixed-width tuples, the general
    /// pipelines (two recursive atoms, wider relations) and the reference agree.
    #[test]
    fn seminaive_equals_reference_on_wide_mixed_programs(seed in any::<u64>()) {
        let source = random_wide_program(seed);
        let engine = Engine::from_source("wide.warden", &source)
            .unwrap_or_else(|e| panic!("generated program does not load:\n{source}\n{}", e.render(false)));
        assert_same(&engine, 0, &source);
    }
}

#[test]
fn seminaive_equals_reference_on_shipped_policies() {
    for dir in ["policies", "examples"] {
        let engine = Engine::from_paths(&[PathBuf::from(dir)]).unwrap_or_else(|e| panic!("{}", e.render(false)));
        for at in ["2026-11-23T10:00:00Z", "2026-11-28T22:00:00Z", "2026-12-02T00:00:00Z"] {
            let now = warden::time::parse_timestamp(at).unwrap();
            assert_same(&engine, now, dir);
        }
    }
}

/// Answers of `query` under both strategies must be identical.
fn assert_same_answers(engine: &Engine, query: &str, source: &str) {
    let options = warden::RequestOptions { at: Some(0), ..Default::default() };
    let mut full = engine.clone();
    full.set_strategy(warden::Strategy::Full);
    let expected = full.query(query, &options).unwrap();
    let got = engine.query(query, &options).unwrap();
    // Rows must agree; condition errors may not (demand evaluates fewer conditions).
    assert_eq!(
        (got.variables, got.rows),
        (expected.variables, expected.rows),
        "demand and full evaluation differ on `{query}`\nprogram:\n{source}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The demand (magic-set) path answers every query exactly like the full evaluation.
    #[test]
    fn demand_equals_full_evaluation_on_random_queries(seed in any::<u64>(), picks in prop::collection::vec(any::<u64>(), 6)) {
        let source = random_program(seed);
        let engine = Engine::from_source("random.warden", &source).unwrap();
        let mut rng = Rng(picks[0]);
        let relations = [("d0", 0), ("d1", 0), ("d2", 0), ("d3", 0), ("allowed", 3), ("denied", 3), ("has_perm", 3), ("within", 2)];
        for pick in &picks {
            let (name, fixed) = relations[(*pick % relations.len() as u64) as usize];
            let arity = if fixed > 0 { fixed } else { engine.program().relation(engine.program().relation_id(name).unwrap()).unwrap().arity };
            let args: Vec<String> = (0..arity)
                .map(|i| if rng.chance(60) { rng.pick(&["a", "b", "c", "d", "1", "2", "read", "page:1", "zz", "*", "page:*"]).to_string() } else { format!("V{i}") })
                .collect();
            assert_same_answers(&engine, &format!("{name}({})", args.join(", ")), &source);
        }
    }
}

#[test]
fn demand_equals_full_evaluation_on_shipped_policies() {
    let engine = Engine::from_paths(&[PathBuf::from("policies")]).unwrap();
    for query in [
        "allowed(alice, write, page:1)",
        "allowed(U, write, page:4)",
        "allowed(alice, P, page:3)",
        "allowed(root, P, O)",
        "allowed(U, P, page:6)",
        "has_role(U, editor, page:5)",
        "locked(O)",
        "within(carol, G)",
        "denied(U, write, page:7)",
    ] {
        assert_same_answers(&engine, query, "policies/");
    }
    let engine = Engine::from_paths(&[PathBuf::from("examples")]).unwrap();
    for query in ["allowed(xia, stamp, form:1040)", "denied(U, view, form:w2)", "allowed(U, P, form:w2)"] {
        assert_same_answers(&engine, query, "examples/");
    }
}

/// Every node of a proof holds, and every leaf is a base fact or a constant.
fn assert_valid_proof(engine: &Engine, node: &warden::ProofNode, source: &str) {
    use warden::ProofKind;
    let options = warden::RequestOptions { at: Some(0), ..Default::default() };
    let relation = node.fact.split('(').next().unwrap_or("");
    let internal = engine.program().relation_id(relation).is_none()
        && engine.program().relation_id(&format!("${relation}")).is_some();
    if !internal {
        let answer =
            engine.query(&node.fact, &options).unwrap_or_else(|e| panic!("{}: {}", node.fact, e.render(false)));
        assert!(answer.holds(), "proof node `{}` does not hold\n{source}", node.fact);
    }
    match node.kind {
        ProofKind::Rule => assert!(node.rule.is_some(), "a rule node without its rule: {node:?}"),
        ProofKind::Fact | ProofKind::Constant => {
            assert!(node.children.is_empty(), "a leaf with children: {node:?}")
        }
    }
    for child in &node.children {
        assert_valid_proof(engine, child, source);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Proofs of random answers are valid trees, and every repair suggested
    /// for a denied `allowed` really grants once added to the program.
    #[test]
    fn proofs_are_valid_and_repairs_really_grant(seed in any::<u64>()) {
        let source = random_program(seed);
        let engine = Engine::from_source("random.warden", &source).unwrap();
        let options = warden::RequestOptions { at: Some(0), ..Default::default() };
        for relation in ["d0", "d1", "d2", "d3", "allowed"] {
            let arity = engine.program().relation(engine.program().relation_id(relation).unwrap()).unwrap().arity;
            let vars: Vec<String> = (0..arity).map(|i| format!("V{i}")).collect();
            let open = format!("{relation}({})", vars.join(", "));
            let explanation = engine.explain_proofs(&open, &options).unwrap();
            for why in explanation.proofs.iter().take(3) {
                assert_valid_proof(&engine, &why.proof, &source);
            }
        }
        if source.contains("role r1") {
            for (user, object) in [("a", "page:1"), ("b", "c"), ("d", "page:1")] {
                let query = format!("allowed({user}, read, {object})");
                let explanation = engine.explain(&query, &options).unwrap();
                let Some(why_not) = explanation.why_not else { continue };
                for repair in why_not.repairs {
                    let repaired = Engine::from_source("repaired.warden", &format!("{source}\n{repair}\n")).unwrap();
                    prop_assert!(repaired.query(&query, &options).unwrap().holds(), "repair `{}` does not grant {}\n{}", repair, query, source);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The compiled check plan decides every request exactly like the full
    /// evaluation, at several request times and contexts.
    #[test]
    fn compiled_checks_equal_full_evaluation(seed in any::<u64>(), picks in prop::collection::vec(any::<u64>(), 12)) {
        let source = random_timed_program(seed);
        let engine = Engine::from_source("random.warden", &source)
            .unwrap_or_else(|e| panic!("generated program does not load:\n{source}\n{}", e.render(false)));
        // Static rules that err make tuples unknown: then checks take the demand path.
        let unknown = engine.compile_plan().is_err_and(|e| static_rules_err(&e));
        prop_assert!(unknown || engine.check_plan().is_some(), "no check plan: {:?}\nprogram:\n{}", engine.compile_plan().err(), source);
        let mut full = engine.clone();
        full.set_strategy(warden::Strategy::Full);
        let mut rng = Rng(picks[0]);
        let subjects = ["a", "b", "c", "d", "1", "zz"];
        // `*` and `page:*` ask about a fresh object (SPEC section 9).
        let perms = ["read", "write", "comment", "share", "a", "*"];
        let objects = ["page:1", "c", "b", "a", "2", "page:9", "*", "page:*"];
        let times = ["2025-12-31T09:30:00Z", "2026-03-02T13:00:00Z", "2026-07-06T07:00:00Z", "2027-02-01T20:00:00Z"];
        for _ in &picks {
            let mut request = warden::live::Request::new(rng.pick(&subjects), rng.pick(&perms), rng.pick(&objects))
                .at(rng.pick(&times))
                .unwrap();
            if rng.chance(50) {
                request = request.ctx("k", rng.pick(&["a", "b", "page:9", "2"]));
            }
            if rng.chance(50) {
                request = request.ctx("n", rng.pick(&["0", "2", "x"]));
            }
            let expected = full.check(&request);
            let compiled = engine.check(&request);
            prop_assert_eq!(
                engine.is_allowed(&request), expected.allowed,
                "is_allowed differs from full evaluation on {:?}\nprogram:\n{}", request, source
            );
            prop_assert_eq!(
                engine.is_allowed_prepared(&engine.prepare(&request)), expected.allowed,
                "a prepared request differs from full evaluation on {:?}\nprogram:\n{}", request, source
            );
            prop_assert_eq!(
                &compiled.allowed, &expected.allowed,
                "compiled check differs from full evaluation on {:?}\nprogram:\n{}", request, source
            );
            if compiled.errors.is_empty() && expected.errors.is_empty() {
                prop_assert_eq!(&compiled.reason, &expected.reason, "reasons differ on {:?}\nprogram:\n{}", request, source);
            }
            // A constant the program does not know is decided on the plan
            // too, whenever the plan's static rules treat it generically.
            // (A constant that only a condition names is not of the domain: general path.)
            if let Some(plan) = engine.check_plan().filter(|p| p.decides_unknown_constants()) {
                let names = [&request.user, &request.perm, &request.object];
                let symbol = |name: &&String| engine.program().symbols.get(name);
                let unknown = names.iter().any(|name| symbol(name).is_none());
                let rest_known = names.iter().filter_map(symbol).all(|sym| plan.knows(warden::internals::lower::ir::Value::Sym(sym)));
                if unknown && rest_known && expected.errors.is_empty() {
                    prop_assert!(engine.check_compiled(&request).is_some(), "{:?} took the general path\nprogram:\n{}", request, source);
                }
            }
        }
        // A batch at one instant and context answers each check like the
        // full evaluation does, in the order asked (repeats and `*` included).
        let at = warden::time::parse_timestamp(rng.pick(&times)).unwrap();
        let mut ctx = std::collections::BTreeMap::new();
        if rng.chance(50) {
            ctx.insert("k".to_string(), rng.pick(&["a", "b", "page:9", "2"]).to_string());
        }
        if rng.chance(50) {
            // `x` makes `ctx.n > 1` err: such a check must fail closed.
            ctx.insert("n".to_string(), rng.pick(&["0", "2", "x"]).to_string());
        }
        let batch: Vec<(&str, &str, &str)> =
            (0..8).map(|_| (rng.pick(&subjects), rng.pick(&perms), rng.pick(&objects))).collect();
        let answers = engine.check_many(&batch, Some(at), &ctx).unwrap();
        prop_assert_eq!(answers.len(), batch.len());
        for ((user, perm, object), allowed) in batch.iter().zip(&answers) {
            let request = warden::live::Request { ctx: ctx.clone(), ..warden::live::Request::new(*user, *perm, *object).at_micros(at) };
            prop_assert_eq!(*allowed, full.check(&request).allowed, "check_many differs from full evaluation on {:?}\nprogram:\n{}", request, source);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Role-shaped programs compile to `allowed` rules that run as nested
    /// loops (the plan's linear form), and those decide every request like
    /// the full evaluation: expiry, start times, page-only grants, scopes
    /// and deny rules all tested on the tuples they bound.
    #[test]
    fn linear_rules_decide_like_full_evaluation(seed in any::<u64>(), picks in prop::collection::vec(any::<u64>(), 16)) {
        let source = random_role_program(seed);
        let engine = Engine::from_source("roles.warden", &source)
            .unwrap_or_else(|e| panic!("generated program does not load:\n{source}\n{}", e.render(false)));
        let plan = engine.check_plan().expect("a check plan");
        let goal = plan.goals[plan.allowed as usize].as_ref().expect("the allowed goal");
        prop_assert!(goal.rules.iter().all(|rule| rule.linear.is_some()), "a rule is not linear:\n{}", source);
        let mut full = engine.clone();
        full.set_strategy(warden::Strategy::Full);
        let mut rng = Rng(picks[0]);
        let times = ["2025-12-31T09:30:00Z", "2026-03-02T05:00:00Z", "2026-07-06T13:00:00Z", "2027-02-01T20:00:00Z"];
        for _ in &picks {
            let mut request = warden::live::Request::new(
                rng.pick(&["a", "b", "c", "d"]),
                rng.pick(&["read", "write", "share", "comment"]),
                rng.pick(&["page:1", "page:2", "page:3", "c", "p1"]),
            )
            .at(rng.pick(&times))
            .unwrap();
            if rng.chance(60) {
                request = request.ctx("session", rng.pick(&["s1", "s2"]));
            }
            let expected = full.check(&request).allowed;
            prop_assert_eq!(engine.is_allowed(&request), expected, "{:?}\nprogram:\n{}", request, source);
        }
    }
}

/// Whether a program has no check plan because its static rules err
/// (tuples unknown: its checks take the demand path).
fn static_rules_err(error: &warden::internals::eval::plan::NotCompiled) -> bool {
    matches!(error, warden::internals::eval::plan::NotCompiled::Materialize(m) if m.contains("unknown"))
}

/// A plan with every rule run step by step (no nested-loop form).
fn stepwise(mut plan: warden::internals::eval::plan::CheckPlan) -> warden::internals::eval::plan::CheckPlan {
    for goal in plan.goals.iter_mut().flatten() {
        for rule in &mut goal.rules {
            rule.linear = None;
        }
    }
    plan
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The nested-loop form of a rule counts steps where the step-by-step
    /// runner does: at every budget from 0 to 40 (and a large one) the two
    /// give the same answer, fail at the same point, and meet the same
    /// condition errors.
    #[test]
    fn linear_rules_spend_the_budget_like_steps(seed in any::<u64>(), timed in any::<bool>(), picks in prop::collection::vec(any::<u64>(), 6)) {
        use warden::internals::eval::plan::run::Run;
        use warden::internals::lower::ir::Value;
        let source = if timed { random_timed_program(seed) } else { random_role_program(seed) };
        let engine = Engine::from_source("budget.warden", &source).unwrap();
        // Static rules that err make tuples unknown: then there is no plan.
        let linear = match engine.compile_plan() {
            Err(e) if static_rules_err(&e) => return Ok(()),
            plan => plan.unwrap(),
        };
        let plain = stepwise(engine.compile_plan().unwrap());
        let goal = linear.goals[linear.allowed as usize].as_ref().expect("the allowed goal");
        prop_assert!(timed || goal.rules.iter().any(|rule| rule.linear.is_some()), "no rule is linear:\n{}", source);
        let program = engine.program();
        let symbols = Symbols::with_fresh(&program.symbols, &[]);
        let externs = Externs::new();
        let mut rng = Rng(picks[0]);
        for _ in &picks {
            let names = [rng.pick(&["a", "b", "c", "d"]), rng.pick(&["read", "write", "share", "comment"]), rng.pick(&["page:1", "page:2", "c", "p1", "b"])];
            let Some(values) = names.iter().map(|n| program.symbols.get(n).map(Value::Sym)).collect::<Option<Vec<_>>>() else { continue };
            // The context by symbol, when the program names the key:
            // `session` (read by atoms), `k`, and `n` (`x` makes `ctx.n > 1` err).
            let mut ctx = BTreeMap::new();
            for (key, values) in [("session", &["s1", "s2"][..]), ("k", &["a", "b"]), ("n", &["0", "2", "x"])] {
                if let (true, Some(key)) = (rng.chance(60), program.symbols.get(key)) {
                    let value = match rng.pick(values) {
                        number @ ("0" | "2") => Value::Int(number.parse().unwrap()),
                        name => Value::Sym(symbols.intern(name)),
                    };
                    ctx.insert(key, value);
                }
            }
            let now = warden::time::parse_timestamp(rng.pick(&["2025-12-31T09:30:00Z", "2026-07-06T13:00:00Z", "2027-02-01T20:00:00Z"])).unwrap();
            let env = Env { program, symbols: &symbols, now, ctx: &ctx, externs: &externs };
            for budget in (0..=40).chain([100_000]) {
                let mut nested = Run::new(&linear, &env, budget);
                let mut stepped = Run::new(&plain, &env, budget);
                let (a, b) = (nested.holds(linear.allowed, &values), stepped.holds(plain.allowed, &values));
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "budget {} on {:?}\nprogram:\n{}", budget, names, source);
                prop_assert_eq!(&nested.errors, &stepped.errors, "errors at budget {} on {:?}\nprogram:\n{}", budget, names, source);
                if budget == 100_000 {
                    prop_assert!(a.is_ok(), "no decision within 100,000 steps on {:?}\nprogram:\n{}", names, source);
                }
            }
        }
    }
}

/// The shipped policies compile to a plan, and it agrees with the
/// demand-driven evaluation (which `demand_equals_full_evaluation_on_shipped_policies`
/// holds to the full one; a full evaluation per check of a deny rule over
/// every subject and permission takes minutes here) on every (user, perm,
/// object) of their domain.
#[test]
fn compiled_checks_equal_full_evaluation_on_shipped_policies() {
    for dir in ["policies", "examples"] {
        let engine = Engine::from_paths(&[PathBuf::from(dir)]).unwrap_or_else(|e| panic!("{}", e.render(false)));
        assert!(engine.check_plan().is_some(), "{dir} has no check plan: {:?}", engine.compile_plan().err());
        let mut full = engine.clone();
        full.set_strategy(warden::Strategy::Demand);
        let program = engine.program();
        let names: Vec<String> = program
            .domain
            .iter()
            .map(|v| warden::internals::eval::render::value(*v, &Symbols::new(&program.symbols)))
            .filter(|s| !s.starts_with('"'))
            .collect();
        let users: Vec<&String> = names.iter().filter(|n| !n.contains(':')).take(12).collect();
        let objects: Vec<&String> = names.iter().filter(|n| n.contains(':')).take(12).collect();
        for at in ["2026-11-23T10:00:00Z", "2026-11-28T22:00:00Z"] {
            for user in &users {
                for perm in ["read", "write", "delete", "admin"] {
                    for object in &objects {
                        let request = warden::live::Request::new(user.as_str(), perm, object.as_str()).at(at).unwrap();
                        assert_eq!(
                            engine.is_allowed(&request),
                            full.check(&request).allowed,
                            "{dir}: compiled and full evaluation differ on {request:?}"
                        );
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// An explanation read on demand (one demand-driven evaluation per
    /// pattern, as on programs too large for a full model) says exactly what
    /// the one read from the full model says, and decides as the query does.
    #[test]
    fn explanations_on_demand_equal_explanations_from_the_full_model(seed in any::<u64>(), picks in prop::collection::vec(any::<u64>(), 4)) {
        let source = random_program(seed);
        let engine = Engine::from_source("random.warden", &source).unwrap();
        let options = warden::RequestOptions { at: Some(0), ..Default::default() };
        let mut rng = Rng(picks[0]);
        let relations = [("allowed", 3), ("denied", 3), ("d0", 0), ("d1", 0), ("within", 2)];
        let mut checked = 0;
        for pick in &picks {
            let (name, fixed) = relations[(*pick % relations.len() as u64) as usize];
            let arity = if fixed > 0 { fixed } else { engine.program().relation(engine.program().relation_id(name).unwrap()).unwrap().arity };
            let args: Vec<String> = (0..arity)
                .map(|i| if rng.chance(80) { rng.pick(&["a", "b", "c", "d", "1", "read", "write", "page:1"]).to_string() } else { format!("V{i}") })
                .collect();
            let query = format!("{name}({})", args.join(", "));
            let on_demand = engine.explain(&query, &options).unwrap();
            let full = engine.explain_from_full_model(&query, &options).unwrap();
            prop_assert_eq!(on_demand.holds, engine.query(&query, &options).unwrap().holds(), "`{}`\n{}", query, source);
            prop_assert_eq!(on_demand.to_text(), full.to_text(), "`{}` explained on demand differs\nprogram:\n{}", query, source);
            prop_assert_eq!(on_demand.to_text_verbose(), full.to_text_verbose(), "`{}` (verbose) differs\nprogram:\n{}", query, source);
            // Every near miss it names holds.
            for note in on_demand.why_not.iter().flat_map(|w| &w.notes) {
                if let Some(atom) = note.strip_prefix("nearest: `").and_then(|rest| rest.split('`').next()) {
                    prop_assert!(engine.query(atom, &options).unwrap().holds(), "`{}` does not hold\nprogram:\n{}", atom, source);
                }
            }
            checked += 1;
        }
        prop_assert_eq!(checked, picks.len());
    }

    /// `query --why` proves every answer of an open query from one
    /// evaluation (reading what it already holds, evaluating only what it
    /// lacks): each proof is the one the full model gives the ground answer.
    #[test]
    fn proofs_of_answers_equal_proofs_from_the_full_model(seed in any::<u64>(), pick in any::<u64>()) {
        let source = random_program(seed);
        let engine = Engine::from_source("random.warden", &source).unwrap();
        let options = warden::RequestOptions { at: Some(0), ..Default::default() };
        let mut rng = Rng(pick);
        let args: Vec<String> = (0..3)
            .map(|i| if rng.chance(40) { rng.pick(&["a", "b", "read", "write", "page:1"]).to_string() } else { format!("V{i}") })
            .collect();
        let name = if rng.chance(70) { "allowed" } else { "denied" };
        let query = format!("{name}({})", args.join(", "));
        let answer = engine.query(&query, &options).unwrap();
        let proofs = engine.proofs_of_answers(&query, &options, &answer.rows).unwrap();
        prop_assert_eq!(proofs.len(), answer.rows.len());
        // A few answers each (the full model is the slow reference).
        for (row, proof) in answer.rows.iter().zip(&proofs).take(4) {
            // The ground answer: each variable replaced by its value, in order.
            let mut values = row.iter();
            let ground: Vec<String> = args
                .iter()
                .map(|a| if a.starts_with('V') { values.next().cloned().unwrap_or_default() } else { a.clone() })
                .collect();
            let ground = format!("{name}({})", ground.join(", "));
            let full = engine.explain_from_full_model(&ground, &options).unwrap();
            let expected = full.proofs.first().map(|why| why.proof.clone());
            prop_assert_eq!(proof, &expected, "`{}` proved differently\nprogram:\n{}", ground, source);
        }
    }
}

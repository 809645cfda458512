//! `cargo run --release --bin bench -- [small|default|large] [--warden-checks N] [--seed S] [--plan] [--warm] [--updates] [--explain] [--database] [--listing] [--queries] [--server [--server-checks N]] [--export FILE]`
//!
//! Generates the workload of `BENCH.md`, decides its checks with a hand-written
//! Rust baseline (hash maps, role closure as bit masks) and with Warden
//! (`is_allowed`, `is_allowed_prepared`, and `query` on the first 200),
//! asserts they give the same decisions, and reports load time, check latency
//! (p50, p99) and checks per second, each against the baseline of the same
//! run. `--plan` prints the compiled check plan, `--warm` the cost with warm
//! caches, `--updates` the cost of live updates, `--explain` the cost of
//! explanations (`explain_load`), `--database` facts read from SQLite and
//! PostgreSQL (`db_load`), `--listing` listings of the pages a user may
//! read (`list_load`), `--queries` the open queries `allowed(U, P, page:G)`
//! and `allowed(uN, P, O)` (`query_load`), `--server` the server's
//! checks/s and latency under load, with and without a writer
//! (`server_load`). `--export FILE` writes the workload and the baseline's
//! decisions as JSON for the Python benchmark and stops.

#![allow(clippy::indexing_slicing, reason = "a benchmark tool over generated, in-range data")]

#[path = "../../../benches/support/workload.rs"]
mod workload;

#[path = "server_load.rs"]
mod server_load;

#[path = "explain_load.rs"]
mod explain_load;

#[path = "db_load.rs"]
mod db_load;

#[path = "list_load.rs"]
mod list_load;

#[path = "filter_load.rs"]
mod filter_load;

#[path = "query_load.rs"]
mod query_load;

use std::collections::HashSet;
use std::time::Instant;
use warden::{Engine, RequestOptions};
use workload::{PERMS, Scale, Workload};

/// The hand-written baseline: everything precomputed into hash maps.
struct Baseline {
    masks: Vec<u8>,
    assignments: Vec<Vec<(usize, Option<usize>)>>,
    direct: HashSet<(usize, usize, usize)>,
    pages_per_project: usize,
}

impl Baseline {
    fn new(w: &Workload) -> Baseline {
        Baseline {
            masks: w.role_masks(),
            assignments: w.assignments.clone(),
            direct: w.direct.iter().copied().collect(),
            pages_per_project: w.scale.pages_per_project,
        }
    }

    fn check(&self, user: usize, perm: usize, page: usize) -> bool {
        let project = page / self.pages_per_project;
        self.assignments.get(user).is_some_and(|list| {
            list.iter().any(|(role, scope)| {
                scope.is_none_or(|j| j == project) && self.masks.get(*role).is_some_and(|m| m & (1 << perm) != 0)
            })
        }) || self.direct.contains(&(user, perm, page))
    }
}

/// Writes the workload and the baseline's decisions as JSON, for the
/// Python benchmark (`benches/python/bench_django.py`).
fn export(workload: &Workload, decisions: &[bool], path: &str) {
    let scale = &workload.scale;
    let json = serde_json::json!({
        "scale": {
            "users": scale.users, "roles": scale.roles, "projects": scale.projects,
            "pages_per_project": scale.pages_per_project, "checks": scale.checks,
        },
        "perms": PERMS,
        "inherits": workload.inherits,
        "grants": workload.grants,
        "assignments": workload.assignments,
        "direct": workload.direct,
        "checks": workload.checks,
        "decisions": decisions,
    });
    if let Err(e) = std::fs::write(path, json.to_string()) {
        eprintln!("error: cannot write {path}: {e}");
        std::process::exit(1);
    }
    println!("exported the workload to {path}");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale_name =
        args.iter().find(|a| !a.starts_with("--") && a.parse::<u64>().is_err()).map_or("small", String::as_str);
    let option = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<u64>().ok())
    };
    let seed = option("--seed").unwrap_or(42);
    let warden_checks = option("--warden-checks").unwrap_or(200) as usize;
    let Some(scale) = Scale::named(scale_name) else {
        eprintln!("usage: bench [small|default|large] [--warden-checks N] [--seed S]");
        std::process::exit(2);
    };
    let started = Instant::now();
    let workload = Workload::generate(scale, seed);
    println!(
        "workload {scale_name} (seed {seed}): {scale:?}, generated in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    // Baseline.
    let started = Instant::now();
    let baseline = Baseline::new(&workload);
    let baseline_load = started.elapsed().as_secs_f64();
    let mut baseline_times = Vec::with_capacity(workload.checks.len());
    let mut decisions = Vec::with_capacity(workload.checks.len());
    for &(u, p, g) in &workload.checks {
        let t = Instant::now();
        let allowed = std::hint::black_box(baseline.check(u, p, g));
        baseline_times.push(t.elapsed().as_secs_f64() * 1e9);
        decisions.push(allowed);
    }
    baseline_times.sort_by(f64::total_cmp);
    let allowed_share = decisions.iter().filter(|d| **d).count() as f64 / decisions.len().max(1) as f64;
    println!("allowed fraction: {allowed_share:.3}");
    if let Some(path) = args.iter().position(|a| a == "--export").and_then(|i| args.get(i + 1)) {
        export(&workload, &decisions, path);
        return;
    }
    if args.iter().any(|a| a == "--database") {
        db_load::run(&workload, &decisions);
        return;
    }
    if args.iter().any(|a| a == "--listing") {
        list_load::run(&workload);
        return;
    }

    // Warden.
    let policy = workload.policy();
    let started = Instant::now();
    let engine = match Engine::from_source("bench.warden", &policy) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("{}", e.render(false));
            std::process::exit(1);
        }
    };
    let warden_load = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let has_plan = engine.check_plan().is_some();
    let plan_time = started.elapsed().as_secs_f64();
    println!("check plan: {has_plan}, built in {:.1} ms", plan_time * 1e3);
    let memory = engine.memory_usage();
    let mib = |bytes: usize| bytes as f64 / (1 << 20) as f64;
    println!(
        "memory: {:.0} MiB (symbols {:.0}, facts {:.0}, base {:.0}, base indexes {:.0}, plan relations {:.0}, plan indexes {:.0})",
        mib(memory.total),
        mib(memory.symbols),
        mib(memory.facts),
        mib(memory.base),
        mib(memory.base_indexes),
        mib(memory.plan_relations),
        mib(memory.plan_indexes)
    );
    if args.iter().any(|a| a == "--plan")
        && let Ok(plan) = engine.compile_plan()
    {
        print!("{}", plan.describe(engine.program(), &|origin| engine.origin_label(origin)));
    }
    let requests: Vec<warden::live::Request> = workload
        .checks
        .iter()
        .take(warden_checks)
        .map(|&(u, p, g)| warden::live::Request::new(format!("u{u}"), PERMS[p], format!("page:{g}")).at_micros(0))
        .collect();
    let n = requests.len();
    let warden_times = time_each(n, &decisions, "is_allowed", |i| engine.is_allowed(&requests[i]));
    if args.iter().any(|a| a == "--warm") {
        // The same few requests over and over: the cost with warm caches.
        let few = n.clamp(1, 8);
        let warm = |check: &dyn Fn(usize) -> bool| {
            let t = Instant::now();
            for i in 0..1_000_000 {
                std::hint::black_box(check(i % few));
            }
            t.elapsed().as_secs_f64() * 1e3
        };
        println!("warm: {:.0} ns per check ({few} requests, cycled)", warm(&|i| engine.is_allowed(&requests[i])));
        let baseline_warm = warm(&|i| {
            let (u, p, g) = workload.checks[i];
            baseline.check(u, p, g)
        });
        println!("warm baseline: {baseline_warm:.1} ns per check");
    }
    // The same checks with requests prepared once (strings resolved before the clock starts).
    let prepared: Vec<warden::live::PreparedRequest> = requests.iter().map(|r| engine.prepare(r)).collect();
    let prepared_times = time_each(n, &decisions, "is_allowed_prepared", |i| engine.is_allowed_prepared(&prepared[i]));
    let options = RequestOptions { at: Some(0), ..Default::default() };
    let queries: Vec<String> = workload
        .checks
        .iter()
        .take(n.min(200))
        .map(|&(u, p, g)| format!("allowed(u{u}, {}, page:{g})", PERMS[p]))
        .collect();
    let query_times = time_each(queries.len(), &decisions, "query", |i| {
        engine.query(&queries[i], &options).as_ref().is_ok_and(|a| a.holds())
    });
    // The same checks on objects nothing mentions (a page created after the
    // export): decided on the plan too; the first 200 held to the general path.
    let unknown: Vec<warden::live::Request> = requests
        .iter()
        .map(|r| warden::live::Request::new(&r.user, &r.perm, format!("{}000000", r.object)).at_micros(0))
        .collect();
    let unknown_decisions: Vec<bool> = unknown.iter().map(|r| engine.is_allowed(r)).collect();
    for (i, request) in unknown.iter().enumerate().take(200) {
        if engine.check_compiled(request).is_none() || engine.check_by_demand(request).allowed != unknown_decisions[i] {
            eprintln!("an unknown object is not decided on the plan, or differently: {request:?}");
            std::process::exit(1);
        }
    }
    let unknown_times = time_each(n, &unknown_decisions, "is_allowed (unknown)", |i| engine.is_allowed(&unknown[i]));
    let batch_line = check_many(&engine, &baseline, &workload.checks, &requests, &decisions);
    let update_line = args.iter().any(|a| a == "--updates").then(|| updates(&policy, warden_load));
    if args.iter().any(|a| a == "--queries") {
        query_load::run(&engine, &workload, &baseline);
    }
    let bp50 = percentile(&baseline_times, 0.5);
    println!("same decisions on the first {n} checks");
    println!("| engine | load | check p50 | check p99 | checks/s | p50 vs baseline |");
    println!("|---|---|---|---|---|---|");
    row("hand-written baseline", baseline_load, &baseline_times, bp50);
    row("warden query (demand-driven, parsed text)", warden_load, &query_times, bp50);
    row("warden is_allowed (compiled plan)", warden_load, &warden_times, bp50);
    row("warden is_allowed_prepared (compiled plan, ids resolved once)", warden_load, &prepared_times, bp50);
    row("warden is_allowed, objects nothing mentions (compiled plan)", warden_load, &unknown_times, bp50);
    println!("{batch_line}");
    if let Some(line) = update_line {
        println!("{line}");
    }
    if args.iter().any(|a| a == "--explain") {
        let mut allowed = Vec::new();
        let mut denied = Vec::new();
        for (query, decision) in queries.iter().zip(&decisions) {
            let list = if *decision { &mut allowed } else { &mut denied };
            if list.len() < 20 {
                list.push(query.clone());
            }
        }
        let (_, _, page) = workload.checks[0];
        explain_load::run(&policy, &allowed, &denied, &format!("allowed(U, read, page:{page})"));
    }
    if args.iter().any(|a| a == "--server") {
        let checks: Vec<(String, String, String)> =
            requests.iter().map(|r| (r.user.clone(), r.perm.clone(), r.object.clone())).collect();
        server_load::run(&policy, &checks, option("--server-checks").unwrap_or(6_000) as usize);
    }
}

/// `Engine::check_many` over batches of 1,000 requests (fewer when there
/// are fewer) against the baseline deciding the same ones in a loop (both timed per batch, so
/// neither pays the timer per check): the medians per request, as a line.
fn check_many(
    engine: &Engine,
    baseline: &Baseline,
    checks: &[(usize, usize, usize)],
    requests: &[warden::live::Request],
    decisions: &[bool],
) -> String {
    let size = requests.len().min(1_000);
    if size == 0 {
        return "check_many: no requests".to_string();
    }
    let (mut warden, mut hand) = (Vec::new(), Vec::new());
    let no_ctx = std::collections::BTreeMap::new();
    for (start, batch) in requests.chunks(size).enumerate().map(|(i, b)| (i * size, b)) {
        let end = start + batch.len();
        let triples: Vec<(&str, &str, &str)> =
            batch.iter().map(|r| (r.user.as_str(), r.perm.as_str(), r.object.as_str())).collect();
        let t = Instant::now();
        let answers = std::hint::black_box(engine.check_many(&triples, Some(0), &no_ctx)).unwrap_or_else(|e| {
            eprintln!("check_many: {e}");
            std::process::exit(1)
        });
        warden.push(t.elapsed().as_secs_f64() * 1e9 / batch.len() as f64);
        if answers.as_slice() != &decisions[start..end] {
            eprintln!("check_many differs from the baseline in the batch from check {start}");
            std::process::exit(1);
        }
        let t = Instant::now();
        for &(u, p, g) in &checks[start..end] {
            std::hint::black_box(baseline.check(u, p, g));
        }
        hand.push(t.elapsed().as_secs_f64() * 1e9 / batch.len() as f64);
    }
    warden.sort_by(f64::total_cmp);
    hand.sort_by(f64::total_cmp);
    let (w, h) = (percentile(&warden, 0.5), percentile(&hand, 0.5));
    format!(
        "check_many, batches of {size} ({} batches): {w:.0} ns per request; the baseline's loop over the same: {h:.0} ns ({:.1}x)",
        warden.len(),
        w / h.max(1e-9)
    )
}

/// Times `check(i)` alone for each of the first `n` checks; exits when a
/// decision differs from the baseline's. Returns the times in ns, sorted.
fn time_each(n: usize, decisions: &[bool], what: &str, check: impl Fn(usize) -> bool) -> Vec<f64> {
    let mut times = Vec::with_capacity(n);
    for (i, expected) in decisions.iter().enumerate().take(n) {
        let t = Instant::now();
        let allowed = std::hint::black_box(check(i));
        times.push(t.elapsed().as_secs_f64() * 1e9);
        if allowed != *expected {
            eprintln!("{what} differs from the baseline on check {i}: warden {allowed}, baseline {expected}");
            std::process::exit(1);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

/// One line of the results table.
fn row(label: &str, load_seconds: f64, times: &[f64], baseline_p50: f64) {
    let (p50, p99) = (percentile(times, 0.5), percentile(times, 0.99));
    println!(
        "| {label} | {:.1} ms | {p50:.0} ns | {p99:.0} ns | {:.0} | {:.0}x |",
        load_seconds * 1e3,
        1e9 / p50.max(1.0),
        p50 / baseline_p50.max(1.0)
    );
}

/// 20 single-fact insertions through `Live::update` of a grant, of a
/// scoped assignment and of a page's containment, each removed again (a
/// grant's insertion checked to allow, every removal checked to restore
/// the decision before it), against loading from scratch.
fn updates(policy: &str, load_seconds: f64) -> String {
    let live = warden::live::Live::from_source("bench.warden", policy).unwrap_or_else(|e| {
        eprintln!("{}", e.render(false));
        std::process::exit(1)
    });
    let facts = live.snapshot().program().facts.len();
    // A direct grant, and a project-scoped role assignment (which the plan
    // joins with containment: more to rebuild).
    type Statement = fn(usize) -> String;
    let kinds: [(&str, Statement); 3] = [
        ("grant", |i| format!("grant u{i} export on page:{i};")),
        ("assign", |i| format!("assign u{i} r0 on project:{i};")),
        // A page moved under a second project: containment (a recursive
        // static relation) changes.
        ("in", |i| format!("page:{i} in project:{};", i + 1)),
    ];
    let mut line = format!("single-fact update at {facts} base facts, until checks see it (p50):");
    for (kind, statement_of) in kinds {
        let (mut inserts, mut removals) = (Vec::new(), Vec::new());
        for i in 0..20 {
            let statement = statement_of(i);
            let check = warden::live::Request::new(format!("u{i}"), "export", format!("page:{i}")).at_micros(0);
            let before = live.check(&check).allowed;
            for (insert, times) in [(true, &mut inserts), (false, &mut removals)] {
                let t = Instant::now();
                let applied = live.update(|tx| if insert { tx.insert(&statement) } else { tx.remove(&statement) });
                if let Err(e) = applied {
                    eprintln!("{}", e.render(false));
                    std::process::exit(1);
                }
                let _ = live.snapshot().check_plan();
                times.push(t.elapsed().as_secs_f64());
                let after = live.check(&check).allowed;
                // The grant allows; r0 need not. Removing restores the decision.
                if (kind == "grant" && insert && !after) || (!insert && after != before) {
                    eprintln!("update {statement} (insert: {insert}) did not take effect");
                    std::process::exit(1);
                }
            }
        }
        inserts.sort_by(f64::total_cmp);
        removals.sort_by(f64::total_cmp);
        line.push_str(&format!(
            " {kind} insert {:.1} ms, remove {:.1} ms;",
            percentile(&inserts, 0.5) * 1e3,
            percentile(&removals, 0.5) * 1e3
        ));
    }
    format!("{line} load from scratch {:.1} ms", load_seconds * 1e3)
}

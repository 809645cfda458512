//! `cargo run --release --bin bench -- [small|default|large] [--warden-checks N] [--seed S]`
//!
//! Generates the workload of `BENCH.md`, decides its checks with a hand-written
//! Rust baseline (hash maps, role closure as bit masks) and with Warden, asserts
//! both give the same decisions, and reports load time, check latency (p50,
//! p99) and checks per second, each against the baseline of the same run.

#![allow(clippy::indexing_slicing, reason = "a benchmark tool over generated, in-range data")]

#[path = "../../benches/support/workload.rs"]
mod workload;

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
    let mut warden_times = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let t = Instant::now();
        let allowed = std::hint::black_box(engine.is_allowed(request));
        warden_times.push(t.elapsed().as_secs_f64() * 1e9);
        if allowed != decisions[i] {
            eprintln!("decision differs on {request:?}: warden {allowed}, baseline {}", decisions[i]);
            std::process::exit(1);
        }
    }
    if args.iter().any(|a| a == "--warm") {
        // The same few requests over and over: the cost with warm caches.
        let few = requests.len().clamp(1, 8);
        let t = Instant::now();
        for i in 0..1_000_000 {
            std::hint::black_box(engine.is_allowed(&requests[i % few]));
        }
        println!("warm: {:.0} ns per check ({few} requests, cycled)", t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for i in 0..1_000_000 {
            let (u, p, g) = workload.checks[i % few];
            std::hint::black_box(baseline.check(u, p, g));
        }
        println!("warm baseline: {:.1} ns per check", t.elapsed().as_secs_f64() * 1e3);
    }
    // The same checks with requests prepared once (strings resolved before the clock starts).
    let prepared: Vec<warden::live::PreparedRequest> = requests.iter().map(|r| engine.prepare(r)).collect();
    let mut prepared_times = Vec::with_capacity(prepared.len());
    for (i, request) in prepared.iter().enumerate() {
        let t = Instant::now();
        let allowed = std::hint::black_box(engine.is_allowed_prepared(request));
        prepared_times.push(t.elapsed().as_secs_f64() * 1e9);
        if allowed != decisions[i] {
            eprintln!("decision differs on prepared {:?}", request.request());
            std::process::exit(1);
        }
    }
    prepared_times.sort_by(f64::total_cmp);
    let options = RequestOptions { at: Some(0), ..Default::default() };
    let mut query_times = Vec::new();
    for (i, &(u, p, g)) in workload.checks.iter().take(warden_checks.min(200)).enumerate() {
        let query = format!("allowed(u{u}, {}, page:{g})", PERMS[p]);
        let t = Instant::now();
        let answer = engine.query(&query, &options);
        query_times.push(t.elapsed().as_secs_f64() * 1e9);
        if answer.as_ref().is_ok_and(|a| a.holds()) != decisions[i] {
            eprintln!("query differs on {query}");
            std::process::exit(1);
        }
    }
    query_times.sort_by(f64::total_cmp);
    warden_times.sort_by(f64::total_cmp);
    let (bp50, bp99) = (percentile(&baseline_times, 0.5), percentile(&baseline_times, 0.99));
    let (wp50, wp99) = (percentile(&warden_times, 0.5), percentile(&warden_times, 0.99));
    println!("same decisions on the first {} checks", warden_times.len());
    println!("| engine | load | check p50 | check p99 | checks/s | p50 vs baseline |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| hand-written baseline | {:.1} ms | {bp50:.0} ns | {bp99:.0} ns | {:.0} | 1x |",
        baseline_load * 1e3,
        1e9 / bp50.max(1.0)
    );
    let update_line = if args.iter().any(|a| a == "--updates") {
        let live = warden::live::Live::from_source("bench.warden", &policy).unwrap_or_else(|e| {
            eprintln!("{}", e.render(false));
            std::process::exit(1)
        });
        let facts = live.snapshot().program().facts.len();
        let mut times = Vec::new();
        for i in 0..20 {
            let statement = format!("grant u{i} export on page:{i};");
            let t = Instant::now();
            if let Err(e) = live.update(|tx| tx.insert(&statement)) {
                eprintln!("{}", e.render(false));
                std::process::exit(1);
            }
            times.push(t.elapsed().as_secs_f64());
            let check = warden::live::Request {
                user: format!("u{i}"),
                perm: "export".into(),
                object: format!("page:{i}"),
                at: Some(0),
                ctx: Default::default(),
            };
            if !live.check(&check).allowed {
                eprintln!("update {statement} did not take effect");
                std::process::exit(1);
            }
        }
        times.sort_by(f64::total_cmp);
        let median = percentile(&times, 0.5);
        Some(format!(
            "single-fact update at {facts} base facts: p50 {:.1} ms vs {:.1} ms to load from scratch ({:.1}x faster)",
            median * 1e3,
            warden_load * 1e3,
            warden_load / median.max(1e-9)
        ))
    } else {
        None
    };
    println!(
        "| warden query (demand-driven, parsed text) | {:.1} ms | {:.0} ns | {:.0} ns | {:.0} | {:.0}x |",
        warden_load * 1e3,
        percentile(&query_times, 0.5),
        percentile(&query_times, 0.99),
        1e9 / percentile(&query_times, 0.5).max(1.0),
        percentile(&query_times, 0.5) / bp50.max(1.0)
    );
    println!(
        "| warden is_allowed (compiled plan) | {:.1} ms | {wp50:.0} ns | {wp99:.0} ns | {:.0} | {:.0}x |",
        warden_load * 1e3,
        1e9 / wp50.max(1.0),
        wp50 / bp50.max(1.0)
    );
    println!(
        "| warden is_allowed_prepared (compiled plan, ids resolved once) | {:.1} ms | {:.0} ns | {:.0} ns | {:.0} | {:.0}x |",
        warden_load * 1e3,
        percentile(&prepared_times, 0.5),
        percentile(&prepared_times, 0.99),
        1e9 / percentile(&prepared_times, 0.5).max(1.0),
        percentile(&prepared_times, 0.5) / bp50.max(1.0)
    );
    if let Some(line) = update_line {
        println!("{line}");
    }
}

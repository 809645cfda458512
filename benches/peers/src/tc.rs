//! `--tc`: transitive closure, Warden's general evaluator against a
//! hand-written datafrog program, on three graphs (seeded SplitMix64):
//!
//! - `random`: 10,000 nodes, 30,000 distinct random edges (no self loops);
//!   its closure is ~89M pairs (one giant strongly connected component);
//! - `dag`: the same 10,000 nodes and 30,000 edges generation, each edge
//!   oriented from the lower to the higher node (a DAG; closure ~0.6M pairs);
//! - `chain`: 2,000 nodes, `i -> i+1` (closure 1,999,000 pairs, 1,999 rounds).
//!
//! Warden: `edge(a, b);` facts and
//! `path(X, Y) :- edge(X, Y); path(X, Z) :- edge(X, Y), path(Y, Z);`, loaded
//! with `Engine::from_source` (timed apart) and evaluated in full with
//! `warden::internals::eval::evaluate` (no printing). datafrog: one `Variable` for
//! `path` keyed by its first column, `from_join` with the reversed edges.
//! Each run is a child process (peak RSS its own); Warden's runs are capped at
//! [`WARDEN_MEMORY_CAP_GIB`] of address space and [`WARDEN_TIME_CAP`].

use crate::engines::peak_rss_mib;
use crate::workload::Rng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The graphs, in order.
const CASES: [&str; 3] = ["random", "dag", "chain"];

/// Address-space cap of a Warden child (the machine has 24 GiB and is shared).
pub const WARDEN_MEMORY_CAP_GIB: u64 = 12;

/// Evaluation time limit given to Warden (`Limits::max_time`).
pub const WARDEN_TIME_CAP: Duration = Duration::from_secs(300);

/// The nodes and edges of a case.
pub fn graph(case: &str, seed: u64) -> (usize, Vec<(u32, u32)>) {
    match case {
        "chain" => (2_000, (0..1_999).map(|i| (i, i + 1)).collect()),
        "random" | "dag" => {
            let (nodes, edges) = (10_000usize, 30_000usize);
            let mut rng = Rng(seed);
            let mut set = BTreeSet::new();
            while set.len() < edges {
                let (a, b) = (rng.below(nodes) as u32, rng.below(nodes) as u32);
                if a == b {
                    continue;
                }
                set.insert(if case == "dag" { (a.min(b), a.max(b)) } else { (a, b) });
            }
            (nodes, set.into_iter().collect())
        }
        other => panic!("unknown tc case {other}"),
    }
}

/// The closure's size and evaluation time, with datafrog.
fn datafrog_closure(edges: &[(u32, u32)]) -> usize {
    let mut iteration = datafrog::Iteration::new();
    // edge(X, Y) keyed by Y: (Y, X).
    let reversed: datafrog::Relation<(u32, u32)> = edges.iter().map(|&(x, y)| (y, x)).collect();
    // path(X, Y) keyed by X.
    let path = iteration.variable::<(u32, u32)>("path");
    path.extend(edges.iter().copied());
    while iteration.changed() {
        // path(X, Z) :- edge(X, Y), path(Y, Z).
        path.from_join(&path, &reversed, |_y, &z, &x| (x, z));
    }
    path.complete().len()
}

/// The Warden policy of a graph.
pub fn warden_policy(edges: &[(u32, u32)]) -> String {
    let mut out = String::with_capacity(edges.len() * 20);
    for (a, b) in edges {
        let _ = writeln!(out, "edge({a}, {b});");
    }
    out.push_str("path(X, Y) :- edge(X, Y);\npath(X, Z) :- edge(X, Y), path(Y, Z);\n");
    out
}

/// Load time, evaluation time and closure size, with Warden's general evaluator.
fn warden_closure(edges: &[(u32, u32)]) -> Result<(f64, f64, usize), String> {
    use warden::internals::eval::functions::{Env, Externs};
    use warden::internals::eval::{Additions, Limits, evaluate};
    use warden::internals::lower::intern::Symbols;
    let policy = warden_policy(edges);
    let t = Instant::now();
    let engine = warden::Engine::from_source("tc.warden", &policy).map_err(|e| e.render(false))?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let program = engine.program();
    let path = program.relation_id("path").ok_or("no relation `path`")?;
    let symbols = Symbols::new(&program.symbols);
    let (ctx, externs) = (BTreeMap::new(), Externs::new());
    let env = Env { program, symbols: &symbols, now: 0, ctx: &ctx, externs: &externs };
    let limits = Limits { max_tuples: usize::MAX, max_time: WARDEN_TIME_CAP, ..Limits::default() };
    let t = Instant::now();
    let model = evaluate(engine.checked(), &env, &Additions::default(), limits).map_err(|e| e.to_string())?;
    let eval_ms = t.elapsed().as_secs_f64() * 1e3;
    let tuples = model.relations.get(path.0 as usize).map_or(0, |rows| rows.len());
    Ok((load_ms, eval_ms, tuples))
}

/// One case with one engine, in a child process: its JSON line.
pub fn run_child(case: &str, engine: &str, seed: u64) -> Value {
    let (nodes, edges) = graph(case, seed);
    let base = json!({ "case": case, "engine": engine, "nodes": nodes, "edges": edges.len() });
    let mut out = base.as_object().cloned().unwrap_or_default();
    match engine {
        "datafrog" => {
            let t = Instant::now();
            let tuples = datafrog_closure(&edges);
            out.insert("ms".into(), json!(t.elapsed().as_secs_f64() * 1e3));
            out.insert("tuples".into(), json!(tuples));
        }
        _ => match warden_closure(&edges) {
            Ok((load_ms, eval_ms, tuples)) => {
                out.insert("load_ms".into(), json!(load_ms));
                out.insert("ms".into(), json!(eval_ms));
                out.insert("tuples".into(), json!(tuples));
            }
            Err(e) => {
                out.insert("error".into(), json!(e));
            }
        },
    }
    out.insert("rss_mib".into(), json!(peak_rss_mib()));
    Value::Object(out)
}

/// Runs every case with both engines and prints the comparison.
pub fn compare(seed: u64, json_lines: bool) -> ExitCode {
    let mut ok = true;
    let mut rows = Vec::new();
    for case in CASES {
        let args = |engine: &str| -> Vec<String> {
            ["--tc-only", case, "--tc-engine", engine, "--seed", &seed.to_string()]
                .iter()
                .map(|s| (*s).to_string())
                .collect()
        };
        eprintln!("tc {case}: datafrog");
        let df = crate::child(&args("datafrog"), None).unwrap_or_else(|e| json!({ "error": e }));
        eprintln!("tc {case}: warden");
        let cap = WARDEN_MEMORY_CAP_GIB * 1024 * 1024;
        let started = Instant::now();
        let wd = crate::child(&args("warden"), Some(cap)).unwrap_or_else(|e| {
            let why = if e.contains("SIGABRT") {
                format!("; an allocation failed under the {WARDEN_MEMORY_CAP_GIB} GiB address-space cap")
            } else {
                String::new()
            };
            json!({ "error": format!("{e} after {:.0} s{why}", started.elapsed().as_secs_f64()) })
        });
        let same = df["tuples"].is_u64() && df["tuples"] == wd["tuples"];
        // A Warden run that stopped at a cap is reported, not a mismatch.
        if wd["error"].is_null() && !same {
            ok = false;
        }
        let ratio = wd["ms"].as_f64().unwrap_or(f64::NAN) / df["ms"].as_f64().unwrap_or(f64::NAN);
        let row = json!({
            "case": case,
            "nodes": df["nodes"],
            "edges": df["edges"],
            "tuples_datafrog": df["tuples"],
            "tuples_warden": wd["tuples"],
            "same": same,
            "datafrog_ms": df["ms"],
            "warden_ms": wd["ms"],
            "warden_load_ms": wd["load_ms"],
            "ratio": ratio,
            "datafrog_rss_mib": df["rss_mib"],
            "warden_rss_mib": wd["rss_mib"],
            "warden_error": wd["error"],
        });
        if json_lines {
            println!("{row}");
        }
        rows.push(row);
    }
    if !json_lines {
        println!(
            "| graph | nodes | edges | closure (datafrog) | closure (warden) | same | datafrog ms | warden ms | \
             ratio | warden load ms | RSS MiB datafrog / warden |"
        );
        println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
        let num = |v: &Value| v.as_f64().map_or_else(|| "-".to_string(), crate::thousands);
        for r in &rows {
            let warden_tuples = match r["warden_error"].as_str() {
                Some(e) => format!("stopped: {e}"),
                None => num(&r["tuples_warden"]),
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                r["case"].as_str().unwrap_or("?"),
                num(&r["nodes"]),
                num(&r["edges"]),
                num(&r["tuples_datafrog"]),
                warden_tuples,
                r["same"],
                num(&r["datafrog_ms"]),
                num(&r["warden_ms"]),
                crate::ratio(r["ratio"].as_f64().unwrap_or(f64::NAN)),
                num(&r["warden_load_ms"]),
                num(&r["datafrog_rss_mib"]),
                num(&r["warden_rss_mib"]),
            );
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

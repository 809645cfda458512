//! `--explain`: the cost of explanations on the workload, with and without
//! a superuser (whose rule makes the full model quadratic in the number of
//! constants): `explain` of allowed and of denied checks, and `query --why`
//! of a listing against the plain query. Peak memory is read from the
//! kernel (`VmHWM`, reset through `/proc/self/clear_refs` before each part).

use std::time::Instant;
use warden::{Engine, RequestOptions};

/// Resets the peak resident memory (Linux); `false` where that is not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The resident memory now and the peak since the last reset, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(0.0)
}

/// Explains each query; returns the p50 in ms and the peak extra memory in MiB.
fn explain_each(engine: &Engine, queries: &[String], expect: bool) -> (f64, f64) {
    let options = RequestOptions { at: Some(0), ..Default::default() };
    reset_peak();
    let (before, _) = memory();
    let mut times = Vec::new();
    for query in queries {
        let t = Instant::now();
        let explanation = engine.explain(query, &options).unwrap_or_else(|e| {
            eprintln!("{}", e.render(false));
            std::process::exit(1)
        });
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if explanation.holds != expect || !explanation.errors.is_empty() {
            eprintln!(
                "explain {query}: holds {} (expected {expect}), errors {:?}",
                explanation.holds, explanation.errors
            );
            std::process::exit(1);
        }
    }
    let (_, peak) = memory();
    (median(times), (peak - before).max(0.0))
}

/// Prints the explanation table for `policy` (and the same with a superuser).
pub fn run(policy: &str, allowed: &[String], denied: &[String], listing: &str) {
    println!("| program | explain allowed p50 | explain denied p50 | peak extra memory | query --why / query |");
    println!("|---|---|---|---|---|");
    for (label, text) in
        [("workload", policy.to_string()), ("workload + superuser", format!("{policy}\nsuperuser root;\n"))]
    {
        let engine = Engine::from_source("bench.warden", &text).unwrap_or_else(|e| {
            eprintln!("{}", e.render(false));
            std::process::exit(1)
        });
        let (allowed_ms, allowed_mib) = explain_each(&engine, allowed, true);
        let (denied_ms, denied_mib) = explain_each(&engine, denied, false);
        let options = RequestOptions { at: Some(0), ..Default::default() };
        let t = Instant::now();
        let answer = engine.query(listing, &options).unwrap_or_else(|e| {
            eprintln!("{}", e.render(false));
            std::process::exit(1)
        });
        let plain = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let proofs = engine.proofs_of_answers(listing, &options, &answer.rows).unwrap_or_default();
        let why = plain + t.elapsed().as_secs_f64();
        if proofs.iter().any(Option::is_none) {
            eprintln!("query --why: an answer of {listing} has no proof");
            std::process::exit(1);
        }
        println!(
            "| {label} | {allowed_ms:.1} ms | {denied_ms:.1} ms | {:.0} MiB | {:.1}x ({} rows, {:.1} ms vs {:.1} ms) |",
            allowed_mib.max(denied_mib),
            why / plain.max(1e-9),
            answer.rows.len(),
            why * 1e3,
            plain * 1e3
        );
    }
}

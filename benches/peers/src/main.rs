//! `cargo run --release -p warden-peers -- --scale small|default|large [--json]
//! [--engines warden,cedar,...] [--checks N] [--seed S] [--tc]`
//!
//! Decides the checks of the `BENCH.md` workload (`benches/support/workload.rs`)
//! with hand-written baselines, Warden, Cedar and casbin, each in a child
//! process of its own (so its peak RSS is its own), and compares every
//! engine's decisions with the reference: `baseline` for the plain engines,
//! `baseline-time` for the `-time` ones (the time variant: expiring
//! assignments, business hours, locked pages). Exits non-zero if any engine
//! disagrees. `--tc` runs the transitive-closure micro-benchmark instead
//! (Warden's general evaluator against a hand-written datafrog program).
//!
//! Hidden flags (used between the parent and its children):
//! `--engine-only NAME`, `--tc-only CASE --tc-engine datafrog|warden`,
//! `--dump-policy plain|time` (prints the generated Warden policy).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "benchmark harness over generated data"
)]

#[path = "../../support/workload.rs"]
mod workload;

mod engines;
mod tc;

use serde_json::{Value, json};
use std::process::{Command, ExitCode, Stdio};

/// Every engine, in the order they run and are printed.
const ENGINES: [&str; 8] = [
    "baseline",
    "warden",
    "warden-prepared",
    "cedar",
    "casbin",
    "baseline-time",
    "warden-time",
    "warden-prepared-time",
];

const USAGE: &str = "usage: warden-peers --scale small|default|large [--json] [--engines warden,cedar,...] \
                     [--checks N] [--seed S] [--tc]";

/// Parsed command line.
struct Options {
    scale: String,
    json: bool,
    engines: Vec<String>,
    checks: Option<usize>,
    seed: u64,
    tc: bool,
    engine_only: Option<String>,
    tc_only: Option<String>,
    tc_engine: Option<String>,
    dump_policy: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        scale: "default".into(),
        json: false,
        engines: ENGINES.iter().map(|e| (*e).to_string()).collect(),
        checks: None,
        seed: 42,
        tc: false,
        engine_only: None,
        tc_only: None,
        tc_engine: None,
        dump_policy: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--scale" => options.scale = value("--scale")?,
            "--json" => options.json = true,
            "--tc" => options.tc = true,
            "--engines" => {
                options.engines = value("--engines")?.split(',').map(|e| e.trim().to_string()).collect();
                if let Some(bad) = options.engines.iter().find(|e| !ENGINES.contains(&e.as_str())) {
                    return Err(format!("unknown engine `{bad}` (engines: {})", ENGINES.join(", ")));
                }
            }
            "--checks" => options.checks = Some(value("--checks")?.parse().map_err(|e| format!("--checks: {e}"))?),
            "--seed" => options.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--engine-only" => options.engine_only = Some(value("--engine-only")?),
            "--tc-only" => options.tc_only = Some(value("--tc-only")?),
            "--tc-engine" => options.tc_engine = Some(value("--tc-engine")?),
            "--dump-policy" => options.dump_policy = Some(value("--dump-policy")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if workload::Scale::named(&options.scale).is_none() {
        return Err(format!("unknown scale `{}` (small, default, large)", options.scale));
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(which) = &options.dump_policy {
        let scale = workload::Scale::named(&options.scale).expect("checked scale");
        let w = workload::Workload::generate(scale, options.seed);
        match which.as_str() {
            "time" => print!("{}", workload::TimeVariant::generate(&w, options.seed).policy(&w)),
            _ => print!("{}", w.policy()),
        }
        return ExitCode::SUCCESS;
    }
    if let Some(engine) = &options.engine_only {
        let result = engines::run(engine, &options.scale, options.seed, options.checks);
        println!("{result}");
        return ExitCode::SUCCESS;
    }
    if let Some(case) = &options.tc_only {
        let engine = options.tc_engine.as_deref().unwrap_or("datafrog");
        println!("{}", tc::run_child(case, engine, options.seed));
        return ExitCode::SUCCESS;
    }
    if options.tc {
        return tc::compare(options.seed, options.json);
    }
    compare(&options)
}

/// Runs this binary with `args` and reads the JSON object on the last line of its output.
fn child(args: &[String], memory_cap_kib: Option<u64>) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = match memory_cap_kib {
        // `ulimit -v` caps the address space: an engine that needs more aborts
        // instead of taking the machine's memory.
        Some(cap) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!("ulimit -v {cap} && exec \"$0\" \"$@\"")).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let output =
        command.args(args).stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run {exe:?}: {e}"))?;
    if !output.status.success() {
        eprintln!("child {args:?}: {}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    match line.map(serde_json::from_str::<Value>) {
        Some(Ok(value)) if output.status.success() => Ok(value),
        _ => Err(format!("the child process failed ({})", output.status)),
    }
}

/// Runs each engine in its own child process and prints the comparison.
fn compare(options: &Options) -> ExitCode {
    // The ratios need the baseline of each family, so it always runs.
    let mut wanted: Vec<&str> = options.engines.iter().map(String::as_str).collect();
    if wanted.iter().any(|e| !e.ends_with("-time")) {
        wanted.push("baseline");
    }
    if wanted.iter().any(|e| e.ends_with("-time")) {
        wanted.push("baseline-time");
    }
    let list: Vec<&str> = ENGINES.iter().copied().filter(|e| wanted.contains(e)).collect();
    let mut results: Vec<Value> = Vec::new();
    for engine in &list {
        eprintln!("running {engine} ({} scale, seed {})", options.scale, options.seed);
        let mut args: Vec<String> =
            ["--engine-only", engine, "--scale", &options.scale, "--seed", &options.seed.to_string()]
                .iter()
                .map(|s| (*s).to_string())
                .collect();
        if let Some(n) = options.checks {
            args.extend(["--checks".to_string(), n.to_string()]);
        }
        results.push(child(&args, None).unwrap_or_else(|e| {
            eprintln!("{e}");
            json!({ "engine": engine, "scale": options.scale, "agree": false, "error": e })
        }));
    }
    let p50_of = |name: &str| {
        results.iter().find(|r| r["engine"] == name).and_then(|r| r["p50_ns"].as_f64()).unwrap_or(f64::NAN)
    };
    let (plain, time) = (p50_of("baseline"), p50_of("baseline-time"));
    for r in &mut results {
        let base = if r["engine"].as_str().is_some_and(|e| e.ends_with("-time")) { time } else { plain };
        if let Some(p50) = r["p50_ns"].as_f64() {
            r["ratio_p50"] = json!(p50 / base);
        }
    }
    if options.json {
        for r in &results {
            println!("{r}");
        }
    } else {
        print_table(&results);
    }
    if results.iter().all(|r| r["agree"] == true) {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: some engine's decisions differ from the reference (agree = false)");
        ExitCode::FAILURE
    }
}

/// `1234567.0` → `1,234,567`.
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

/// A ratio with two significant decimals below 10, none above.
pub fn ratio(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x < 10.0 {
        format!("{x:.2}x")
    } else {
        format!("{}x", thousands(x))
    }
}

fn print_table(results: &[Value]) {
    let num = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    if let Some(r) = results.first() {
        println!("scale `{}`, seed {}\n", r["scale"].as_str().unwrap_or("?"), r["seed"]);
    }
    println!(
        "| engine | checks | allowed | p50 ns | p99 ns | ratio_p50 | checks/s | load ms | first check ms | \
         rss MiB (inputs) | agree |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in results {
        if let Some(e) = r["error"].as_str() {
            println!("| {} | error: {e} | | | | | | | | | false |", r["engine"].as_str().unwrap_or("?"));
            continue;
        }
        println!(
            "| {} | {} | {:.3} | {} | {} | {} | {} | {:.1} | {:.3} | {:.0} ({:.0}) | {} |",
            r["engine"].as_str().unwrap_or("?"),
            thousands(num(r, "checks")),
            num(r, "allowed"),
            thousands(num(r, "p50_ns")),
            thousands(num(r, "p99_ns")),
            ratio(num(r, "ratio_p50")),
            thousands(num(r, "checks_per_s")),
            num(r, "load_ms"),
            num(r, "first_check_ms"),
            num(r, "rss_mib"),
            num(r, "rss_inputs_mib"),
            r["agree"],
        );
    }
    println!();
    for r in results {
        if let Some(model) = r["model"].as_str() {
            println!("- `{}`: {model}", r["engine"].as_str().unwrap_or("?"));
        }
    }
}

//! `--queries`: the two open questions of issue 20 on the BENCH.md
//! workload, through `Engine::query` (the demand-driven general
//! evaluator): who may do what on one page, `allowed(U, P, page:G)`, and
//! what one user may do anywhere, `allowed(uN, P, O)`. Each answer's page
//! rows are asserted equal to the hand-written baseline's over every user
//! (or every page) and permission; p50 and p99 over 20 pages and 20 users.

use super::workload::{PERMS, Workload};
use super::{Baseline, percentile};
use std::collections::BTreeSet;
use std::time::Instant;
use warden::{Engine, RequestOptions};

/// How many pages and users are asked about.
const ASKED: usize = 20;

/// Times both questions for the first [`ASKED`] pages and users of the
/// workload's checks; exits with an error if an answer differs from the
/// baseline's.
pub(super) fn run(engine: &Engine, workload: &Workload, baseline: &Baseline) {
    let options = RequestOptions { at: Some(0), ..Default::default() };
    let users = workload.scale.users;
    let pages = workload.scale.projects * workload.scale.pages_per_project;
    let asked: Vec<(usize, usize)> = workload.checks.iter().take(ASKED).map(|&(u, _, g)| (u, g)).collect();
    let mut on_page = Vec::new();
    let mut of_user = Vec::new();
    for &(user, page) in &asked {
        // Who may do what on the page.
        let t = Instant::now();
        let answer = answered(engine.query(&format!("allowed(U, P, page:{page})"), &options));
        on_page.push(t.elapsed().as_secs_f64());
        let got: BTreeSet<(String, String)> =
            answer.rows.into_iter().filter_map(|row| Some((row.first()?.clone(), row.get(1)?.clone()))).collect();
        let expected: BTreeSet<(String, String)> = (0..users)
            .flat_map(|u| (0..PERMS.len()).map(move |p| (u, p)))
            .filter(|&(u, p)| baseline.check(u, p, page))
            .map(|(u, p)| (format!("u{u}"), PERMS[p].to_string()))
            .collect();
        differs_exit(&format!("allowed(U, P, page:{page})"), &got, &expected);
        // What the user may do on every page.
        let t = Instant::now();
        let answer = answered(engine.query(&format!("allowed(u{user}, P, O)"), &options));
        of_user.push(t.elapsed().as_secs_f64());
        let page_rows = answer.rows.into_iter().filter(|row| row.get(1).is_some_and(|o| o.starts_with("page:")));
        let got: BTreeSet<(String, String)> =
            page_rows.filter_map(|row| Some((row.first()?.clone(), row.get(1)?.clone()))).collect();
        let expected: BTreeSet<(String, String)> = (0..pages)
            .flat_map(|g| (0..PERMS.len()).map(move |p| (p, g)))
            .filter(|&(p, g)| baseline.check(user, p, g))
            .map(|(p, g)| (PERMS[p].to_string(), format!("page:{g}")))
            .collect();
        differs_exit(&format!("allowed(u{user}, P, O)"), &got, &expected);
    }
    on_page.sort_by(f64::total_cmp);
    of_user.sort_by(f64::total_cmp);
    let ms = |times: &[f64], p: f64| percentile(times, p) * 1e3;
    println!("| query | answers equal the baseline's | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| `allowed(U, P, page:G)`, {ASKED} pages | yes | {:.2} ms | {:.2} ms |",
        ms(&on_page, 0.5),
        ms(&on_page, 0.99)
    );
    println!(
        "| `allowed(uN, P, O)`, {ASKED} users | yes | {:.2} ms | {:.2} ms |",
        ms(&of_user, 0.5),
        ms(&of_user, 0.99)
    );
}

/// The answer of a query that finished; exits with an error otherwise.
fn answered(answer: Result<warden::Answer, warden::LoadError>) -> warden::Answer {
    match answer {
        Ok(answer) if answer.stopped.is_none() => answer,
        Ok(answer) => {
            eprintln!("a query stopped: {:?}", answer.stopped);
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("a query failed:\n{}", e.render(false));
            std::process::exit(1)
        }
    }
}

/// Exits with an error when a query's answers are not the baseline's.
fn differs_exit(query: &str, got: &BTreeSet<(String, String)>, expected: &BTreeSet<(String, String)>) {
    if got != expected {
        let missing: Vec<_> = expected.difference(got).take(3).collect();
        let extra: Vec<_> = got.difference(expected).take(3).collect();
        eprintln!(
            "{query}: {} answers, the baseline {}; missing {missing:?}, extra {extra:?}",
            got.len(),
            expected.len()
        );
        std::process::exit(1);
    }
}

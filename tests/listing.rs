//! `warden query` listings: pagination with cursors equals the unpaged
//! listing, and `--why` gives one proof line per answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;
use warden::listing::page;
use warden::{Engine, RequestOptions};

fn options() -> RequestOptions {
    RequestOptions { at: Some(warden::time::parse_timestamp("2026-11-23T10:00:00Z").unwrap()), ..Default::default() }
}

#[test]
fn paging_with_cursors_equals_the_unpaged_listing() {
    let engine = Engine::from_paths(&["policies".into()]).unwrap();
    for query in ["allowed(U, P, page:4)", "allowed(U, write, O)", "within(X, Y)"] {
        let answer = engine.query(query, &options()).unwrap();
        assert!(answer.rows.len() > 5, "{query}");
        for limit in [1, 2, 3, 7] {
            let mut collected = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let p = page(&answer, after.as_deref(), Some(limit)).unwrap();
                assert!(p.rows.len() <= limit);
                assert_eq!(p.total, answer.rows.len());
                collected.extend(p.rows.clone());
                match p.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(collected, answer.rows, "{query} with limit {limit}");
        }
    }
    let answer = engine.query("allowed(U, P, page:4)", &options()).unwrap();
    assert!(page(&answer, Some("nobody, nothing"), Some(2)).is_err());
    assert_eq!(page(&answer, None, None).unwrap().next, None);
}

#[test]
fn the_cli_says_when_a_limit_cuts_and_explains_each_answer() {
    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["query", "policies/", "-q", "allowed(U, write, page:4)", "--at", "2026-11-23T10:00:00Z"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success());
        (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    let (first, note) = run(&["--limit", "3"]);
    assert_eq!(first.lines().count(), 3);
    assert!(note.contains("showing 3 of 8 answers; next page: --after \"dave\""), "{note}");
    let (second, _) = run(&["--limit", "3", "--after", "dave"]);
    let (all, quiet) = run(&[]);
    assert!(quiet.is_empty());
    assert!(all.starts_with(&(first.clone() + &second)));
    let (why, _) = run(&["--why"]);
    for line in why.lines() {
        assert!(line.contains("  because "), "{line}");
    }
    assert!(why.contains("dave  because grant dave write on page:4 (policies/data.yaml:"), "{why}");
}

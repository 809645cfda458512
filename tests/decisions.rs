//! The decision corpus: `tests/corpus/*.requests` name a policy and
//! requests; `*.expected` holds each decision with its reason, notes and
//! errors. Every strategy (the compiled plan, the demand-driven and the full
//! evaluation) must give exactly that. `UPDATE_EXPECT=1 cargo test --test
//! decisions` re-blesses the expected files (review the diff).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use warden::{Decision, Engine, Request, Strategy};

/// A request line: `USER PERM OBJECT [at=TIME] [KEY=VALUE ...]`.
fn request(line: &str) -> Request {
    let mut words = line.split_whitespace();
    let (user, perm, object) = (words.next().unwrap(), words.next().unwrap(), words.next().unwrap());
    let mut request = Request::new(user, perm, object);
    for word in words {
        let (key, value) = word.split_once('=').unwrap_or_else(|| panic!("`{word}` is not KEY=VALUE"));
        request = if key == "at" { request.at(value).unwrap() } else { request.ctx(key, value) };
    }
    request
}

fn render(line: &str, decision: &Decision) -> String {
    let mut out = format!("{line}\n  => {}\n", decision.reason);
    for note in &decision.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    for error in &decision.errors {
        out.push_str(&format!("  error: {error}\n"));
    }
    out
}

#[test]
fn decisions_and_reasons_match_the_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join("tests/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "requests"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "the corpus is missing");
    let mut stale = Vec::new();
    let mut decided = 0;
    for case in cases {
        let text = std::fs::read_to_string(&case).unwrap();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
        let policy = lines.next().and_then(|l| l.strip_prefix("policy: ")).expect("a `policy: PATH` line first");
        // Relative to the package (the working directory of tests): the
        // expected files hold the locations of errors.
        let compiled = Engine::from_paths(&[PathBuf::from(policy)]).unwrap_or_else(|e| panic!("{}", e.render(false)));
        let mut demand = compiled.clone();
        demand.set_strategy(Strategy::Demand);
        let mut full = compiled.clone();
        full.set_strategy(Strategy::Full);
        let mut out = String::new();
        for line in lines {
            let request = request(line);
            let decision = compiled.check(&request);
            assert_eq!(compiled.is_allowed(&request), decision.allowed, "is_allowed on {line}");
            for (name, other) in [("demand", &demand), ("full", &full)] {
                assert_eq!(other.check(&request), decision, "{name} differs from the compiled plan on {line}");
            }
            out.push_str(&render(line, &decision));
            decided += 1;
        }
        let expected = case.with_extension("expected");
        if update {
            std::fs::write(&expected, &out).unwrap();
        } else if std::fs::read_to_string(&expected).unwrap_or_default() != out {
            stale.push(format!("{}:\n{out}", expected.display()));
        }
    }
    assert!(decided >= 20, "only {decided} decisions checked");
    assert!(stale.is_empty(), "decisions differ from the corpus (UPDATE_EXPECT=1 re-blesses):\n{}", stale.join("\n"));
}

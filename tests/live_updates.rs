//! Live updates change the snapshot in place; any sequence of them must give
//! the same decisions as loading the final facts from scratch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use warden::internals::lower::ir::Value;
use warden::live::{Live, Request};
use warden::{Engine, RequestOptions};

const RULES: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
role admin extends editor { delete; }
allow U delete on O if owner(U, O);
deny U write on O if frozen(O);
owner(nobody, page:0);
frozen(page:3);
page:9 in project:a;
";

/// A fact statement from a few random choices. `curator` is a role kept
/// as data: declared by the rules, its edge and entries come and go.
fn statement(kind: u8, a: u8, b: u8, c: u8) -> String {
    let user = format!("u{}", a % 4);
    match kind % 8 {
        6 => format!(
            "role curator {{ {}{}; }}",
            ["read", "write", "delete"][(b % 3) as usize],
            ["", " on page"][(c % 2) as usize]
        ),
        7 => "role_extends(curator, viewer);".to_string(),
        0 => format!(
            "assign {user} {} on project:{};",
            ["viewer", "editor", "admin"][(b % 3) as usize],
            ["a", "b"][(c % 2) as usize]
        ),
        1 => format!("assign {user} {};", ["viewer", "editor", "curator"][(b % 3) as usize]),
        2 => format!("page:{} in project:{};", b % 4, ["a", "b"][(c % 2) as usize]),
        3 => format!("{user} in group:g{};", b % 2),
        4 => format!("grant group:g{} write on page:{};", b % 2, c % 4),
        _ => format!("owner({user}, page:{});", b % 4),
    }
}

/// The rules and the facts as one policy: the entries of `curator` inside
/// its one block, as a person would write it.
fn fresh_text(facts: &[String]) -> String {
    let (entries, others): (Vec<&String>, Vec<&String>) = facts.iter().partition(|f| f.starts_with("role curator {"));
    let entries: String =
        entries.iter().map(|e| e.trim_start_matches("role curator {").trim_end_matches('}')).collect();
    format!(
        "{RULES}\nrole curator {{ {entries} }}\n{}\n",
        others.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("\n")
    )
}

fn decisions(query: impl Fn(&str) -> bool) -> Vec<bool> {
    let mut out = Vec::new();
    for user in ["u0", "u1", "u2", "u3", "group:g0"] {
        for perm in ["read", "write", "delete"] {
            for page in ["page:0", "page:1", "page:2", "page:3"] {
                out.push(query(&format!("allowed({user}, {perm}, {page})")));
            }
        }
    }
    out
}

/// The same requests as [`decisions`], as typed checks at time 0.
fn checks(check: impl Fn(&Request) -> bool) -> Vec<bool> {
    let mut out = Vec::new();
    for user in ["u0", "u1", "u2", "u3", "group:g0"] {
        for perm in ["read", "write", "delete"] {
            for page in ["page:0", "page:1", "page:2", "page:3"] {
                out.push(check(&Request::new(user, perm, page).at_micros(0)));
            }
        }
    }
    out
}

/// The active domain's values, written out (the two engines intern apart).
fn domain_names(engine: &Engine) -> Vec<String> {
    let program = engine.program();
    let mut names: Vec<String> = program
        .domain
        .iter()
        .map(|value| match value {
            Value::Sym(s) => program.symbols.resolve(*s).map_or("?".to_string(), |n| n.to_string()),
            other => format!("{other:?}"),
        })
        .collect();
    names.sort();
    names
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn updates_equal_a_fresh_load(ops in prop::collection::vec((any::<bool>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()), 1..12)) {
        let live = Live::from_source("rules.warden", &format!("{RULES}\nrole curator {{}}")).unwrap().allow_privileged_updates(true);
        let options = RequestOptions { at: Some(0), ..Default::default() };
        let mut facts: Vec<String> = Vec::new();
        for (insert, kind, a, b, c) in ops {
            // Most removals take a fact that is there (so views lose tuples);
            // a quarter name a random one (usually absent: refused).
            let s = match facts.len() {
                n if !insert && n > 0 && a % 4 != 0 => facts[kind as usize % n].clone(),
                _ => statement(kind, a, b, c),
            };
            let present = facts.contains(&s);
            let result = live.update(|tx| if insert { tx.insert(&s) } else { tx.remove(&s) });
            if insert {
                prop_assert!(result.is_ok(), "insert {} failed", s);
                if !present {
                    facts.push(s);
                }
            } else if present {
                prop_assert!(result.is_ok(), "remove {} failed", s);
                facts.retain(|f| f != &s);
            } else {
                prop_assert!(result.is_err(), "removing an absent fact must fail: {}", s);
            }
            let fresh = Engine::from_source("fresh.warden", &fresh_text(&facts)).unwrap();
            let snapshot = live.snapshot();
            let got = decisions(|q| snapshot.query(q, &options).unwrap().holds());
            let want = decisions(|q| fresh.query(q, &options).unwrap().holds());
            prop_assert_eq!(&got, &want, "after {:?}", facts);
            // The active domain is maintained, not recomputed: the same constants.
            prop_assert_eq!(domain_names(&snapshot), domain_names(&fresh), "domain, after {:?}", facts);
            // The compiled plan, rebuilt from the previous one's unchanged parts, agrees.
            prop_assert!(snapshot.check_plan().is_some());
            let compiled = checks(|r| snapshot.is_allowed(r));
            prop_assert_eq!(&compiled, &checks(|r| fresh.is_allowed(r)), "compiled, after {:?}", facts);
            prop_assert_eq!(&compiled, &want, "compiled vs query, after {:?}", facts);
        }
    }
}

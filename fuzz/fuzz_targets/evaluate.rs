//! Whole-engine evaluation of small programs built from the input: facts and
//! rules over a few relations (some reading `now` and `ctx`), then every test
//! block, an open query, and compiled checks, which must agree with the
//! full evaluation.
#![no_main]
use libfuzzer_sys::fuzz_target;

const RELATIONS: [&str; 4] = ["p", "q", "r", "s"];
const TERMS: [&str; 8] = ["X", "Y", "Z", "a", "b", "1", "_", "page:1"];

fuzz_target!(|data: &[u8]| {
    let mut text = String::from("role viewer { read; }\nassign a viewer;\np(a); q(a, b); r(b); s(1, 2);\n");
    for chunk in data.chunks(6) {
        let pick = |i: usize, n: usize| chunk.get(i).map_or(0, |b| *b as usize % n);
        let head = RELATIONS[pick(0, 4)];
        let body = RELATIONS[pick(1, 4)];
        let neg = RELATIONS[pick(2, 4)];
        let (t1, t2) = (TERMS[pick(3, 8)], TERMS[pick(4, 8)]);
        let arity = |rel: &str| if rel == "q" || rel == "s" { 2 } else { 1 };
        let args = |rel: &str, a: &str, b: &str| if arity(rel) == 2 { format!("{a}, {b}") } else { a.to_string() };
        let mut rule = format!("{head}({}) :- {body}({})", args(head, t1, t2), args(body, t1, t2));
        if pick(5, 3) == 0 {
            rule.push_str(&format!(", not {neg}({})", args(neg, t1, t2)));
        }
        if pick(5, 3) == 1 {
            rule.push_str(&format!(", {t1} != {t2}"));
        }
        // Some rules read the request, so the check plan has dynamic rules to compile.
        match pick(0, 5) {
            0 => rule.push_str(", hour(now) >= 9"),
            1 => rule.push_str(", ctx.k == a"),
            _ => {}
        }
        text.push_str(&rule);
        text.push_str(";\n");
    }
    text.push_str("allow U read on O if p(U), r(O);\n");
    if let Ok(engine) = warden::Engine::from_source("fuzz.warden", &text) {
        let _ = engine.run_tests();
        let _ = engine.query("allowed(U, P, O)", &warden::RequestOptions { at: Some(0), ..Default::default() });
        let _ = engine.query("allowed(a, read, b)", &warden::RequestOptions { at: Some(0), ..Default::default() });
        let mut full = engine.clone();
        full.set_strategy(warden::Strategy::Full);
        for (user, object) in [("a", "b"), ("b", "a"), ("1", "page:1"), ("zz", "b")] {
            let request = warden::live::Request::new(user, "read", object).at_micros(36_000_000_000).ctx("k", "a");
            assert_eq!(engine.is_allowed(&request), full.check(&request).allowed, "{text}\n{request:?}");
        }
    }
});

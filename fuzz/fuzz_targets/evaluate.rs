//! Whole-engine evaluation of small programs built from the input: facts and
//! rules over a few relations, then every test block and an open query.
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
        text.push_str(&rule);
        text.push_str(";\n");
    }
    text.push_str("allow U read on O if p(U), r(O);\n");
    if let Ok(engine) = warden::Engine::from_source("fuzz.warden", &text) {
        let _ = engine.run_tests();
        let _ = engine.query("allowed(U, P, O)", &warden::RequestOptions { at: Some(0), ..Default::default() });
        let _ = engine.query("allowed(a, read, b)", &warden::RequestOptions { at: Some(0), ..Default::default() });
    }
});

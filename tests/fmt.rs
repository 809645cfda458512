//! `warden fmt`: the formatter keeps every token and comment, is idempotent,
//! and the formatted shipped policies load and pass their tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::LazyLock;
use warden::Engine;
use warden::format::format;
use warden::internals::syntax::lexer::{Token, tokens};
use warden::internals::syntax::span::SourceMap;

/// Every shipped `*.warden` file, as (name, text), sorted by name.
static SHIPPED: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for dir in ["policies", "examples"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "warden") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert!(!out.is_empty());
    out
});

/// The non-whitespace token sequence of a text that lexes.
fn signature(text: &str) -> Vec<(Token, String)> {
    tokens(text)
        .into_iter()
        .map(|(token, range)| {
            let token = token.unwrap_or_else(|()| panic!("no token at {range:?}"));
            (token, text[range].to_string())
        })
        .collect()
}

fn lexes(text: &str) -> bool {
    tokens(text).iter().all(|(token, _)| token.is_ok())
}

#[test]
fn shipped_policies_format_idempotently_and_keep_their_tokens() {
    for (name, text) in SHIPPED.iter() {
        let formatted = format(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(format(&formatted).unwrap(), formatted, "{name}: formatting is not idempotent");
        assert_eq!(signature(&formatted), signature(text), "{name}: the tokens changed");
        assert!(formatted.ends_with('\n') && !formatted.ends_with("\n\n"), "{name}: not one final newline");
        assert!(!formatted.starts_with('\n'), "{name}: blank lines at the start");
        for line in formatted.lines() {
            assert_eq!(line, line.trim_end(), "{name}: trailing whitespace in {line:?}");
            assert!(!line.contains('\t') || line.contains("//"), "{name}: a tab in {line:?}");
        }
    }
}

/// (name, passed) of every test: failure texts hold line numbers, which move.
fn summary(engine: &Engine) -> Vec<(String, bool)> {
    engine.run_tests().into_iter().map(|o| (o.name, o.failure.is_none())).collect()
}

#[test]
fn formatted_policies_load_and_pass_their_tests() {
    for dir in ["policies", "examples"] {
        let files = warden::internals::syntax::collect_files(&[PathBuf::from(dir)])
            .unwrap_or_else(|_| panic!("cannot list {dir}"));
        let mut original = SourceMap::new();
        let mut formatted = SourceMap::new();
        for path in &files {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).unwrap();
            let new = if name.ends_with(".warden") { format(&text).unwrap() } else { text.clone() };
            // A file that loads on its own still does, with the same test results.
            if name.ends_with(".warden")
                && let Ok(engine) = Engine::from_source(&name, &text)
            {
                let after = Engine::from_source(&name, &new)
                    .unwrap_or_else(|e| panic!("formatted {name} no longer loads:\n{}\n{new}", e.render(false)));
                assert_eq!(summary(&after), summary(&engine), "{name}: test results changed");
            }
            original.add(name.clone(), text);
            formatted.add(name, new);
        }
        let before = Engine::from_sources(original).unwrap_or_else(|e| panic!("{dir}:\n{}", e.render(false)));
        let after = Engine::from_sources(formatted)
            .unwrap_or_else(|e| panic!("{dir}, formatted, no longer loads:\n{}", e.render(false)));
        let results = summary(&after);
        assert!(!results.is_empty(), "{dir} has no tests");
        assert_eq!(results, summary(&before), "{dir}: test results changed");
        for (test, passed) in &results {
            assert!(*passed, "{dir}: test {test:?} fails once formatted");
        }
    }
}

const MESSY: &str = r#"


// Header comment.



role   editor extends viewer,commenter{write on page ; publish on page if business_hours( now ) ;}
role empty {
}
locked( O ):-archived(C),O in C,not restored(O);   // trailing comment
allow U write on O if owner(U,O)&&!blocked(U) ;


fn business_hours(t)=hour(t)>=8&&hour(t)<13&&weekday(t)!=sat ;
deny U P on O if ctx.src-ip=="0.0.0.0"||n(-5)+2>x-1;
/* block */ superuser root;
test "t" {   at 2026-11-23T10:00:00Z ;
      ctx src-ip = "10.0.0.1";

  // own line
  assert allowed(alice,write,page:1) at 2026-11-23T11:00:00Z;assert not allowed(bob, write, page:1); /* after */
     assert count allowed( U , write , page:1 ) == 1;
}


"#;

const TIDY: &str = r#"// Header comment.

role editor extends viewer, commenter {
  write on page;
  publish on page if business_hours(now);
}
role empty { }
locked(O) :- archived(C), O in C, not restored(O); // trailing comment
allow U write on O if owner(U, O) && !blocked(U);

fn business_hours(t) = hour(t) >= 8 && hour(t) < 13 && weekday(t) != sat;
deny U P on O if ctx.src-ip == "0.0.0.0" || n(-5) + 2 > x - 1;
/* block */
superuser root;
test "t" {
  at 2026-11-23T10:00:00Z;
  ctx src-ip = "10.0.0.1";

  // own line
  assert allowed(alice, write, page:1) at 2026-11-23T11:00:00Z;
  assert not allowed(bob, write, page:1); /* after */
  assert count allowed(U, write, page:1) == 1;
}
"#;

#[test]
fn golden() {
    assert_eq!(format(MESSY).unwrap(), TIDY);
    assert_eq!(format(TIDY).unwrap(), TIDY);
}

#[test]
fn small_cases() {
    assert_eq!(format("").unwrap(), "");
    assert_eq!(format(" \n\n \t").unwrap(), "");
    assert_eq!(format("superuser root;").unwrap(), "superuser root;\n");
    assert_eq!(format("role r {}").unwrap(), "role r { }\n");
    assert_eq!(format("role r { // why\n}").unwrap(), "role r { // why\n}\n");
    assert_eq!(format("p(X) :- q(X), -3 < X, X < now-1h;").unwrap(), "p(X) :- q(X), -3 < X, X < now - 1h;\n");
    assert_eq!(format("p(X) :- q(X),\n  // why\n  r(X);").unwrap(), "p(X) :- q(X),\n  // why\n  r(X);\n");
    assert_eq!(format("allow U read on O if x in [ 1 , -2 ];").unwrap(), "allow U read on O if x in [1, -2];\n");
}

#[test]
fn text_that_does_not_lex_is_an_error() {
    let error = format("role r {\n  read;\n}\n@oops;\n").unwrap_err();
    assert!(error.contains("line 4"), "{error}");
}

/// `s[a..b]` of the shipped text `file`, moved back to character boundaries.
fn piece(file: usize, a: usize, b: usize) -> &'static str {
    let text = SHIPPED[file % SHIPPED.len()].1.as_str();
    let (mut a, mut b) = (a % (text.len() + 1), b % (text.len() + 1));
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    while !text.is_char_boundary(b) {
        b -= 1;
    }
    &text[a..b]
}

/// Replaces the whitespace runs of `text`, in turn, by the chosen variants.
fn rewhitespace(text: &str, choices: &[usize]) -> String {
    const VARIANTS: [&str; 5] = [" ", "\n", "\n\n", "   \n\t\n\n", ""];
    let mut out = String::new();
    let mut run = 0;
    let mut in_space = false;
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !in_space {
                out.push_str(VARIANTS[choices[run % choices.len()] % VARIANTS.len()]);
                run += 1;
            }
            in_space = true;
        } else {
            in_space = false;
            out.push(c);
        }
    }
    out
}

proptest! {
    #[test]
    fn slices_and_splices_format_stably(
        first in (any::<usize>(), any::<usize>(), any::<usize>()),
        second in (any::<usize>(), any::<usize>(), any::<usize>()),
        glue in prop::sample::select(vec!["", " ", "\n", "\n\n", "// c\n", " /* c */ "]),
        splice in any::<bool>(),
        spaces in prop::collection::vec(0usize..5, 1..16),
        respace in any::<bool>(),
    ) {
        let mut input = piece(first.0, first.1, first.2).to_string();
        if splice {
            input.push_str(glue);
            input.push_str(piece(second.0, second.1, second.2));
        }
        if respace {
            input = rewhitespace(&input, &spaces);
        }
        match format(&input) {
            Ok(out) => {
                let again = format(&out);
                prop_assert_eq!(again.as_deref(), Ok(out.as_str()), "not idempotent on {:?}", input);
                prop_assert_eq!(signature(&out), signature(&input), "tokens changed on {:?}", input);
            }
            Err(error) => prop_assert!(!lexes(&input), "{} on text that lexes: {:?}", error, input),
        }
    }
}

/// A missing `;` used to make `warden fmt` join two statements into one line
/// (hiding the error) and exit 0.
#[test]
fn fmt_refuses_a_file_that_does_not_parse_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    let text = "role viewer { read; }\nassign alice viewer\ngrant bob read on page:1;\n";
    std::fs::write(&file, text).unwrap();
    for args in [vec!["fmt"], vec!["fmt", "--check"]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_warden")).args(&args).arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("syntax error") && stderr.contains("does not parse"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the file was touched");
    }
}

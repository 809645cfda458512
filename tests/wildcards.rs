//! `*` and `TYPE:*` in questions (SPEC section 9): a fresh object (of the
//! type) that no fact mentions. `allowed(lea, library.add_book, *)` holds
//! when lea may do it to every object, even one nothing mentions: through a
//! global assignment or grant, or as a superuser; `page:*` counts role
//! entries `on page` too; `*` as the permission only a superuser has.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use warden::{Engine, Request, RequestOptions};

const POLICY: &str = "
role librarian { library.add_book; }
role editor { write on page; }
assign lea librarian;
assign ben librarian on project:a;
assign max editor;
grant kim share;
superuser root;
page:1 in project:a;
";

fn engine() -> Engine {
    Engine::from_source("p.warden", POLICY).unwrap()
}

/// The answer by a query, by a check on the plan and by the demand path;
/// all three must agree.
fn holds(engine: &Engine, user: &str, perm: &str, object: &str) -> bool {
    let options = RequestOptions { at: Some(0), ..RequestOptions::default() };
    let query = format!("allowed({user}, {perm}, {object})");
    let by_query = engine.query(&query, &options).unwrap().holds();
    let request = Request::new(user, perm, object).at_micros(0);
    assert_eq!(engine.check(&request).allowed, by_query, "check vs query on {query}");
    assert_eq!(engine.check_by_demand(&request).allowed, by_query, "demand check vs query on {query}");
    by_query
}

#[test]
fn a_global_assignment_reaches_every_object_and_a_scoped_one_does_not() {
    let engine = engine();
    assert!(holds(&engine, "lea", "library.add_book", "*"));
    assert!(!holds(&engine, "ben", "library.add_book", "*"), "ben holds the role on project:a only");
    assert!(holds(&engine, "ben", "library.add_book", "page:1"));
    assert!(holds(&engine, "kim", "share", "*"), "a global grant");
    assert!(!holds(&engine, "kim", "read", "*"));
}

#[test]
fn a_typed_wildcard_counts_role_entries_on_that_type() {
    let engine = engine();
    assert!(holds(&engine, "max", "write", "page:*"));
    assert!(!holds(&engine, "max", "write", "*"), "an object of no type is not a page");
    assert!(!holds(&engine, "max", "write", "doc:*"));
}

#[test]
fn a_wildcard_permission_is_only_a_superusers() {
    let engine = engine();
    assert!(holds(&engine, "root", "*", "*"));
    assert!(holds(&engine, "root", "*", "page:1"));
    assert!(!holds(&engine, "lea", "*", "page:1"));
    assert!(!holds(&engine, "lea", "*", "*"));
}

#[test]
fn asserts_and_open_queries_take_wildcards() {
    let policy = format!(
        "{POLICY}\ntest \"wildcards\" {{\n  assert allowed(lea, library.add_book, *);\n  assert not allowed(ben, library.add_book, *);\n  assert allowed(max, write, page:*);\n}}\n"
    );
    let engine = Engine::from_source("p.warden", &policy).unwrap();
    let outcomes = engine.run_tests();
    assert!(outcomes.iter().all(|o| o.failure.is_none()), "{outcomes:?}");
    let options = RequestOptions { at: Some(0), ..RequestOptions::default() };
    let answer = engine.query("allowed(U, library.add_book, *)", &options).unwrap();
    let users: Vec<&str> = answer.rows.iter().map(|r| r[0].as_str()).collect();
    assert!(users.contains(&"lea") && users.contains(&"root") && !users.contains(&"ben"), "{users:?}");
    let explanation = engine.explain("allowed(lea, library.add_book, *)", &options).unwrap();
    assert!(explanation.holds);
}

#[test]
fn a_wildcard_in_a_rule_or_a_fact_is_an_error() {
    for text in ["owner(alice, *);", "r(X) :- owner(X, *);", "role viewer { read; }\nallow U read on * if owner(U, U);"]
    {
        let error = Engine::from_source("p.warden", &format!("owner(bob, page:1);\n{text}")).err();
        let rendered = error.map(|e| e.render(false)).unwrap_or_default();
        assert!(rendered.contains("error") && rendered.contains("`*`"), "{text}: {rendered}");
    }
}

/// A permission, subject or type that appears nowhere in the program is
/// most likely a typo: the question is answered (false) with a note naming
/// the nearest known name, and `explain` proposes no repair granting it.
#[test]
fn a_name_the_program_never_mentions_gets_a_note() {
    let engine = Engine::from_source(
        "p.warden",
        "role viewer { pages.view_page; }\nassign alice viewer;\npage:1 in project:a;\n",
    )
    .unwrap();
    let decision = engine.check(&Request::new("alice", "pages.veiw_page", "page:1").at_micros(0));
    assert!(!decision.allowed);
    assert!(
        decision
            .notes
            .iter()
            .any(|n| n == "`pages.veiw_page` appears nowhere in the program (did you mean `pages.view_page`?)"),
        "{:?}",
        decision.notes
    );
    let decision = engine.check(&Request::new("alcie", "pages.view_page", "page:1").at_micros(0));
    assert!(decision.notes.iter().any(|n| n.contains("`alcie` appears nowhere")), "{:?}", decision.notes);
    assert!(engine.check(&Request::new("alice", "pages.view_page", "page:1").at_micros(0)).notes.is_empty());
    let options = RequestOptions { at: Some(0), ..RequestOptions::default() };
    let answer = engine.query("allowed(alice, pages.view_page, pgae:1)", &options).unwrap();
    assert!(
        answer.notes.iter().any(|n| n.contains("the type `pgae` appears nowhere") && n.contains("`page`")),
        "{:?}",
        answer.notes
    );
    let explanation = engine.explain("allowed(alice, pages.veiw_page, page:1)", &options).unwrap();
    let why_not = explanation.why_not.unwrap();
    assert!(why_not.repairs.is_empty(), "a repair granting a typo: {:?}", why_not.repairs);
    assert!(why_not.notes.iter().any(|n| n.contains("did you mean `pages.view_page`")), "{:?}", why_not.notes);
}

/// The same `*` twice in one question is one value, on every path (the
/// query, the compiled check and the demand check agree).
#[test]
fn the_same_wildcard_twice_is_one_value() {
    let engine =
        Engine::from_source("p.warden", "role viewer { read; }\nallow U edit on O if U == O;\nassign ann viewer;\n")
            .unwrap();
    assert!(holds(&engine, "*", "edit", "*"));
    assert!(!holds(&engine, "*", "edit", "page:*"));
    assert!(holds(&engine, "ann", "edit", "ann"));
    let options = RequestOptions { at: Some(0), ..RequestOptions::default() };
    let explanation = engine.explain("allowed(ann, library.add_book, *)", &options).unwrap();
    assert!(explanation.why_not.unwrap().repairs.is_empty(), "a repair naming `*` would not load");
}

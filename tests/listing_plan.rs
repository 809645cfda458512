//! Listings on the compiled plan (the object, or the subject, left free,
//! each candidate then checked) against listings by the full evaluation
//! (no plan: every named value checked for a list; the exceptions to
//! "every" come from the same candidate code, so each page's listing is
//! also held to a check of every page, named or not), page by page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod random_programs;

use proptest::prelude::*;
use random_programs::{Rng, random_timed_program};
use warden::{Engine, ObjectList, RequestOptions, SubjectList, Window};

/// Typed objects for the listings: pages within containers, a nested one,
/// pages reached through plain relations and a grant on one.
const PAGES: &str = "locked(page:8);\ndeny X write on Y if locked(Y);\nuser:1 in c;\npage:2 in c;\npage:3 in page:2;\npage:4 in b;\ne2(a, page:5);\ne1(page:6, b);\ngrant b read on page:7;\n";

/// Every page of a listing, read `limit` names at a time.
fn paged<T>(
    limit: usize,
    mut page: impl FnMut(&Window) -> T,
    names: impl Fn(&T) -> (Vec<String>, Option<String>),
) -> Vec<String> {
    let mut window = Window { limit: Some(limit), after: None };
    let mut all = Vec::new();
    loop {
        let (mut names, next) = names(&page(&window));
        assert!(names.len() <= limit);
        all.append(&mut names);
        match next {
            Some(next) => window.after = Some(next),
            None => return all,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn listings_on_the_plan_equal_listings_by_the_full_evaluation(seed in any::<u64>(), picks in prop::collection::vec(any::<u64>(), 4)) {
        let source = format!("{}{PAGES}", random_timed_program(seed));
        let engine = Engine::from_source("random.warden", &source)
            .unwrap_or_else(|e| panic!("generated program does not load:\n{source}\n{}", e.render(false)));
        let mut full = engine.clone();
        full.set_strategy(warden::Strategy::Full);
        let mut rng = Rng(picks[0]);
        let times = ["2025-12-31T09:30:00Z", "2026-03-02T13:00:00Z", "2027-02-01T20:00:00Z"];
        for _ in &picks {
            let mut options = RequestOptions {
                at: Some(warden::time::parse_timestamp(rng.pick(&times)).unwrap()),
                ..RequestOptions::default()
            };
            if rng.chance(50) {
                options.ctx.insert("k".into(), rng.pick(&["a", "page:9", "page:2"]).into());
            }
            let user = rng.pick(&["a", "b", "c", "d", "zz"]);
            let perm = rng.pick(&["read", "write", "comment", "share"]);
            // Errors differ: the plan checks fewer names (the others are no candidates).
            let expected = ObjectList { errors: Vec::new(), ..full.list_objects(user, perm, "page", &options).unwrap() };
            let listed = ObjectList { errors: Vec::new(), ..engine.list_objects(user, perm, "page", &options).unwrap() };
            prop_assert_eq!(&listed, &expected, "{} {} page\nprogram:\n{}", user, perm, source);
            // Every page, named or not, is listed exactly when a check allows
            // it (one no fact names is left out where the policy looks into
            // names: then a filter says to check each row).
            let per_row = matches!(engine.filter(user, perm, "page", &options).unwrap().residual, warden::Residual::PerRow(_));
            for n in 1..=12 {
                let object = format!("page:{n}");
                let named = engine.program().symbols.get(&object).is_some() || options.ctx.values().any(|v| *v == object);
                if per_row && !named {
                    continue;
                }
                let mut request = warden::Request::new(user, perm, object.as_str());
                (request.at, request.ctx) = (options.at, options.ctx.clone());
                let listed = if listed.every { !listed.excluded.contains(&object) } else { listed.objects.contains(&object) };
                prop_assert_eq!(listed, engine.is_allowed(&request), "{} {} {}: {:?}\nprogram:\n{}", user, perm, object, listed, source);
            }
            let limit = 1 + rng.below(3);
            let pages = paged(limit, |w| engine.list_objects_in(user, perm, "page", w, &options).unwrap(),
                |l| (if l.every { l.excluded.clone() } else { l.objects.clone() }, l.next.clone()));
            let whole = if expected.every { &expected.excluded } else { &expected.objects };
            prop_assert_eq!(&pages, whole, "pages of {}: {} {} page\nprogram:\n{}", limit, user, perm, source);

            let object = rng.pick(&["page:1", "page:2", "page:3", "page:5", "page:7", "c", "b", "page:*"]);
            let subject_type = if rng.chance(30) { Some("user") } else { None };
            let expected = SubjectList { errors: Vec::new(), ..full.list_subjects(perm, object, subject_type, &options).unwrap() };
            let listed = SubjectList { errors: Vec::new(), ..engine.list_subjects(perm, object, subject_type, &options).unwrap() };
            prop_assert_eq!(&listed, &expected, "who may {} {}\nprogram:\n{}", perm, object, source);
            if !object.ends_with('*') {
                for subject in ["a", "b", "c", "d", "zz", "user:1"] {
                    if subject_type.is_some_and(|ty| !subject.starts_with(ty)) {
                        continue;
                    }
                    let mut request = warden::Request::new(subject, perm, object);
                    (request.at, request.ctx) = (options.at, options.ctx.clone());
                    let listed = if listed.every { !listed.excluded.iter().any(|s| s == subject) } else { listed.subjects.iter().any(|s| s == subject) };
                    prop_assert_eq!(listed, engine.is_allowed(&request), "who may {} {}: {}\nprogram:\n{}", perm, object, subject, source);
                }
            }
            let pages = paged(limit, |w| engine.list_subjects_in(perm, object, subject_type, w, &options).unwrap(),
                |l| (if l.every { l.excluded.clone() } else { l.subjects.clone() }, l.next.clone()));
            let whole = if expected.every { &expected.excluded } else { &expected.subjects };
            prop_assert_eq!(&pages, whole, "pages of {}: who may {} {}\nprogram:\n{}", limit, perm, object, source);
        }
    }
}

/// The plan enumerates the candidates when it can: the listing then checks
/// the pages within the user's projects, not every page of the program.
#[test]
fn a_scoped_role_is_listed_from_its_scope() {
    let mut source = String::from(
        "role viewer { read on page; }\nassign ann viewer on project:1;\nsuperuser root;\ndeny U read on P if locked(P);\nlocked(page:3);\n",
    );
    for page in 0..2000 {
        source.push_str(&format!("page:{page} in project:{};\n", page / 10));
    }
    let engine = Engine::from_source("scoped.warden", &source).unwrap();
    assert!(engine.check_plan().is_some_and(|plan| plan.list_objects.is_some()));
    let ann = engine.list_objects("ann", "read", "page", &RequestOptions::default()).unwrap();
    let expected: Vec<String> = (10..20).map(|p| format!("page:{p}")).collect();
    assert_eq!(ann.objects, expected);
    let first = engine
        .list_objects_in("ann", "read", "page", &Window { limit: Some(4), after: None }, &RequestOptions::default())
        .unwrap();
    assert_eq!((first.objects.as_slice(), first.next.as_deref()), (&expected[..4], Some("page:13")));
    let root = engine.list_objects("root", "read", "page", &RequestOptions::default()).unwrap();
    assert!(root.every && root.excluded == ["page:3"], "{root:?}");
}

/// A deny rule over every subject and permission (`deny U P on O if
/// locked(O)`) is decided per check, not materialized as a cross product
/// of the active domain: the program keeps its compiled plan at any size.
#[test]
fn a_deny_rule_over_every_subject_is_no_cross_product() {
    let mut source = String::from("role viewer { read on page; }\ndeny U P on O if locked(O);\nlocked(page:3);\n");
    for n in 0..2000 {
        source.push_str(&format!("page:{n} in project:{};\nassign u{n} viewer on project:{};\n", n / 10, n / 10));
    }
    let engine = Engine::from_source("deny.warden", &source).unwrap();
    let plan = engine.check_plan().unwrap_or_else(|| panic!("no plan: {:?}", engine.compile_plan().err()));
    assert!(plan.snapshot.rows(warden::internals::lower::builtins::DENIED).is_empty());
    let at = RequestOptions::default();
    assert_eq!(engine.list_objects("u0", "read", "page", &at).unwrap().objects.len(), 9);
    assert!(!engine.is_allowed(&warden::Request::new("u0", "read", "page:3")));
}

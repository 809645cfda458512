//! Embedding: typed checks with reasons, atomic updates, reloads that keep the
//! running program on error, and concurrent readers during writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use warden::Engine;
use warden::live::{Live, LiveChanges, LiveFact, Request, Transaction};

const POLICY: &str = "
role viewer { read; }
role editor extends viewer { write on page; }
page:1 in project:a;
assign carol viewer on project:a;
assign dave editor on project:a;
inactive dave;
deny U write on O if frozen(O);
frozen(page:2);
page:2 in project:a;
";

fn at(r: Request) -> Request {
    r.at("2026-11-23T10:00:00Z").unwrap()
}

#[test]
fn engines_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Engine>();
    shared::<Live>();
}

#[test]
fn checks_say_why() {
    let live = Live::from_source("p.warden", POLICY).unwrap();
    let allowed = live.check(&at(Request::new("carol", "read", "page:1")));
    assert!(allowed.allowed);
    assert_eq!(allowed.reason, "allowed: carol may read page:1");
    let nothing = live.check(&at(Request::new("carol", "write", "page:1")));
    assert!(!nothing.allowed);
    assert_eq!(nothing.reason, "denied: nothing permits carol to write page:1");
    let inactive = live.check(&at(Request::new("dave", "read", "page:1")));
    assert_eq!(inactive.reason, "denied: dave is inactive");
    live.update(|tx| tx.insert("assign erin editor on project:a;")).unwrap();
    let denied = live.check(&at(Request::new("erin", "write", "page:2")));
    assert_eq!(denied.reason, "denied: a deny rule overrides the permission of erin to write page:2");
    assert!(live.check(&at(Request::new("erin", "write", "page:1"))).allowed);
}

#[test]
fn updates_apply_whole_or_not_at_all() {
    let live = Live::from_source("p.warden", POLICY).unwrap();
    let bob = at(Request::new("bob", "read", "page:1"));
    let carol = at(Request::new("carol", "read", "page:1"));
    live.update(|tx| {
        tx.insert("assign bob viewer on project:a;");
        tx.remove("assign carol viewer on project:a;");
    })
    .unwrap();
    assert!(live.check(&bob).allowed);
    assert!(!live.check(&carol).allowed);
    // A batch with one bad change changes nothing.
    let error = live
        .update(|tx| {
            tx.remove("assign bob viewer on project:a;");
            tx.insert("assign zed nosuchrole;");
        })
        .unwrap_err();
    assert!(error.render(false).contains("unknown role `nosuchrole`"));
    assert!(live.check(&bob).allowed);
    let error = live.update(|tx| tx.remove("assign nobody viewer;")).unwrap_err();
    assert!(error.render(false).contains("cannot remove"));
    // Removing an inserted fact, and putting back a removed one.
    live.update(|tx| {
        tx.remove("assign bob viewer on project:a;");
        tx.insert("assign carol viewer on project:a;");
    })
    .unwrap();
    assert!(!live.check(&bob).allowed);
    assert!(live.check(&carol).allowed);
}

#[test]
fn a_broken_reload_keeps_the_running_program() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let live = Live::from_paths(std::slice::from_ref(&file)).unwrap();
    let carol = at(Request::new("carol", "read", "page:1"));
    assert!(live.check(&carol).allowed);
    std::fs::write(&file, "role viewer { read; \nassign carol viewer").unwrap();
    let error = live.reload(warden::live::LiveChanges::Keep).unwrap_err();
    assert!(error.render(false).contains("syntax error"));
    assert!(live.check(&carol).allowed, "the old program still answers");
    std::fs::write(&file, POLICY.replace("assign carol viewer on project:a;", "")).unwrap();
    live.reload(warden::live::LiveChanges::Keep).unwrap();
    assert!(!live.check(&carol).allowed);
}

#[test]
fn readers_never_see_half_an_update() {
    let live = Arc::new(Live::from_source("p.warden", POLICY).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (live, stop) = (live.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = [0usize; 2];
                while !stop.load(Ordering::Relaxed) || seen.iter().sum::<usize>() < 20 {
                    let snapshot = live.snapshot();
                    let bob = snapshot.check(&at(Request::new("bob", "read", "page:1"))).allowed;
                    let carol = snapshot.check(&at(Request::new("carol", "read", "page:1"))).allowed;
                    assert!(bob != carol, "a torn snapshot: bob {bob}, carol {carol}");
                    seen[usize::from(bob)] += 1;
                }
                seen
            })
        })
        .collect();
    for round in 0..20 {
        live.update(|tx| {
            if round % 2 == 0 {
                tx.insert("assign bob viewer on project:a;");
                tx.remove("assign carol viewer on project:a;");
            } else {
                tx.remove("assign bob viewer on project:a;");
                tx.insert("assign carol viewer on project:a;");
            }
        })
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let seen = reader.join().unwrap();
        assert!(seen.iter().sum::<usize>() >= 20);
    }
}

/// After an update, checks do not wait for the new snapshot's check plan
/// (built in the background); before and after it is ready they decide alike.
#[test]
fn checks_decide_alike_before_and_after_the_background_plan() {
    let live = Live::from_source(
        "p.warden",
        "role viewer { read; }\nrole editor extends viewer { write; }\npage:1 in project:a;\nassign bob viewer on project:a;",
    )
    .unwrap();
    let request = |perm: &str| Request::new("bob", perm, "page:1").at("2026-11-23T10:00:00Z").unwrap();
    assert!(live.check(&request("read")).allowed);
    assert!(!live.check(&request("write")).allowed);
    live.update(|tx| tx.insert("assign bob editor on project:a until 2026-11-24T00:00:00Z;")).unwrap();
    // Right after the update: the plan may still be building.
    let early = (live.is_allowed(&request("write")), live.check(&request("write")).reason);
    // Wait for it (check_plan blocks until the background build is done).
    let snapshot = live.snapshot();
    assert!(snapshot.check_plan().is_some());
    let late = (snapshot.is_allowed(&request("write")), snapshot.check(&request("write")).reason);
    assert_eq!(early, late);
    assert!(late.0, "{}", late.1);
}

/// A prepared request stays right across updates (even one that removes
/// its object's last fact) and reloads (a new symbol table).
#[test]
fn prepared_requests_stay_right_across_updates() {
    let live =
        Live::from_source("p.warden", "role viewer { read; }\ngrant bob read on page:9;\nassign amy viewer;").unwrap();
    let request = Request::new("bob", "read", "page:9").at("2026-11-23T10:00:00Z").unwrap();
    let prepared = live.snapshot().prepare(&request);
    assert!(live.snapshot().is_allowed_prepared(&prepared));
    live.update(|tx| tx.remove("grant bob read on page:9;")).unwrap();
    let snapshot = live.snapshot();
    assert!(snapshot.check_plan().is_some());
    assert!(!snapshot.is_allowed_prepared(&prepared));
    assert_eq!(snapshot.is_allowed_prepared(&prepared), snapshot.is_allowed(&request));
    live.update(|tx| tx.insert("assign bob viewer;")).unwrap();
    let snapshot = live.snapshot();
    assert!(snapshot.check_plan().is_some());
    assert!(snapshot.is_allowed_prepared(&prepared));
    live.reload(warden::live::LiveChanges::Keep).unwrap();
    assert!(live.snapshot().is_allowed_prepared(&prepared));
}

/// A text item is exactly one fact statement: a value built from user input
/// cannot smuggle a second statement (a `superuser`) into an update.
#[test]
fn a_text_item_holding_two_statements_is_refused_whole() {
    let live = Live::from_source("p.warden", POLICY).unwrap();
    let error = live.update(|tx| tx.insert("user:mallory in group:x; superuser user:mallory;")).unwrap_err();
    assert!(error.render(false).contains("not one fact statement"), "{}", error.render(false));
    let mallory = at(Request::new("user:mallory", "read", "page:1"));
    assert!(!live.check(&mallory).allowed);
    // As data, the same text is a name.
    live.update(|tx| {
        tx.insert_fact(LiveFact::In {
            member: "user:mallory".into(),
            container: "group:x; superuser user:mallory;".into(),
        })
    })
    .unwrap();
    assert!(!live.check(&mallory).allowed);
    let error = live.update(|tx| tx.insert_fact(LiveFact::Superuser(String::new()))).unwrap_err();
    assert!(error.render(false).contains("invalid subject"), "{}", error.render(false));
}

#[test]
fn privileged_updates_need_the_live_program_to_allow_them() {
    let policy = "role viewer { read; }\nrole admin extends viewer { delete; }\ninactive mallory;\nassign mallory admin;\npage:1 in project:a;";
    let live = Live::from_source("p.warden", policy).unwrap();
    for change in [
        Box::new(|tx: &mut Transaction| tx.insert("superuser eve;")) as Box<dyn Fn(&mut Transaction)>,
        Box::new(|tx: &mut Transaction| tx.remove("inactive mallory;")),
        Box::new(|tx: &mut Transaction| tx.insert("role_extends(viewer, admin);")),
    ] {
        let error = live.update(|tx| change(tx)).unwrap_err();
        assert!(error.render(false).contains("privileged"), "{}", error.render(false));
    }
    // Unprivileged changes in the safe direction pass.
    live.update(|tx| tx.insert("inactive bob;")).unwrap();
    let live = Live::from_source("p.warden", policy).unwrap().allow_privileged_updates(true);
    live.update(|tx| tx.remove("inactive mallory;")).unwrap();
    assert!(live.check(&at(Request::new("mallory", "delete", "page:1"))).allowed);
}

/// A fact removed through the API and then deleted from the file used to
/// make every later reload fail (the removal matched no fact) until restart.
#[test]
fn a_removal_whose_fact_left_the_files_is_dropped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let live = Live::from_paths(std::slice::from_ref(&file)).unwrap();
    live.update(|tx| tx.remove("assign carol viewer on project:a;")).unwrap();
    std::fs::write(&file, POLICY.replace("assign carol viewer on project:a;", "")).unwrap();
    let notes = live.reload(LiveChanges::Keep).unwrap();
    assert!(notes.iter().any(|n| n.contains("no longer applies")), "{notes:?}");
    // And the reload after it is clean.
    std::fs::write(&file, POLICY).unwrap();
    assert_eq!(live.reload(LiveChanges::Keep).unwrap(), Vec::<String>::new());
    assert!(live.check(&at(Request::new("carol", "read", "page:1"))).allowed, "the dropped removal stays dropped");
}

#[test]
fn a_reload_keeps_or_drops_live_changes_as_told() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let live = Live::from_paths(std::slice::from_ref(&file)).unwrap();
    let dave = at(Request::new("erin", "read", "page:1"));
    live.update(|tx| tx.insert("assign erin viewer on project:a;")).unwrap();
    live.reload(LiveChanges::Keep).unwrap();
    assert!(live.check(&dave).allowed);
    live.reload(LiveChanges::Drop).unwrap();
    assert!(!live.check(&dave).allowed);
}

/// `--watch` reloads a changed file set only once it stood still for a poll.
#[test]
fn the_watcher_waits_for_a_file_set_to_stand_still() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let paths = vec![dir.path().to_path_buf()];
    let mut watcher = warden::server::Watcher::new(warden::server::stamp(&paths));
    assert!(!watcher.poll(warden::server::stamp(&paths)), "nothing changed");
    std::fs::write(&file, "role viewer { read; }\n").unwrap();
    assert!(!watcher.poll(warden::server::stamp(&paths)), "a save in progress is not loaded");
    std::fs::write(&file, "role viewer { read; }\nrole editor extends viewer { write; }\n").unwrap();
    assert!(!watcher.poll(warden::server::stamp(&paths)), "still changing");
    assert!(watcher.poll(warden::server::stamp(&paths)), "stood still for a poll: reload");
    assert!(!watcher.poll(warden::server::stamp(&paths)), "loaded");
}

/// `{"in": [a, b]}` and `parent(a, b)` are one fact: inserting one form and
/// removing the other leaves nothing behind for a reload to bring back.
#[test]
fn the_two_forms_of_a_membership_are_one_fact() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.warden");
    std::fs::write(&file, POLICY).unwrap();
    let live = Live::from_paths(std::slice::from_ref(&file)).unwrap();
    let mallory = at(Request::new("mallory", "read", "page:1"));
    live.update(|tx| {
        tx.insert_fact(LiveFact::In { member: "mallory".into(), container: "group:x".into() });
        tx.insert("assign group:x viewer on project:a;");
    })
    .unwrap();
    assert!(live.check(&mallory).allowed);
    live.update(|tx| tx.remove("parent(mallory, group:x);")).unwrap();
    assert!(!live.check(&mallory).allowed);
    live.reload(LiveChanges::Keep).unwrap();
    assert!(!live.check(&mallory).allowed, "a reload brought a revoked membership back");
}

/// A burst of updates used to start one plan-building thread per update (30
/// quick updates on a large policy went from 0.64 to 8.8 GB). Now one plan
/// builds at a time, and writers that arrive meanwhile are published
/// together by the next build; each `update` returns with its change
/// visible, and every snapshot a check sees has its plan.
#[test]
fn a_burst_of_updates_builds_one_plan_at_a_time_and_coalesces() {
    let mut policy = String::from(POLICY);
    for i in 0..10_000 {
        policy.push_str(&format!("page:p{i} in project:a;\nowner(u{i}, page:p{i});\n"));
    }
    policy.push_str("allow U write on O if owner(U, O);\n");
    let live = Arc::new(Live::from_source("p.warden", &policy).unwrap());
    let before = live.plans_built();
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let live = live.clone();
            std::thread::spawn(move || {
                for i in 0..5 {
                    let (user, page) = (format!("zed{w}x{i}"), format!("page:p{}", w * 5 + i));
                    live.update(|tx| tx.insert(&format!("grant {user} read on {page};"))).unwrap();
                    let snapshot = live.snapshot();
                    assert!(snapshot.check_plan_if_built().is_some(), "a snapshot was published before its plan");
                    assert!(
                        snapshot.is_allowed(&at(Request::new(&user, "read", &page))),
                        "{user} does not see its write"
                    );
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let builds = live.plans_built() - before;
    assert!(builds < 30, "30 updates from 6 writers built {builds} plans");
    assert!(live.is_allowed(&at(Request::new("zed5x4", "read", "page:p29"))));
}

/// A fact removed and stated again in one update comes from its new
/// statement: an explanation cites that, not the file line that stated it
/// before (the snapshot's cache of origins is dropped for what an update touches).
#[test]
fn a_fact_stated_again_is_cited_from_its_new_statement() {
    let live = Live::from_source("p.warden", POLICY).unwrap();
    let question = "allowed(carol, read, page:1)";
    let options = warden::RequestOptions {
        at: Some(warden::time::parse_timestamp("2026-11-23T10:00:00Z").unwrap()),
        ..Default::default()
    };
    let cited = |engine: &Engine| {
        let explanation = engine.explain(question, &options).unwrap();
        assert!(explanation.holds, "{}", explanation.to_text());
        serde_json::to_string(&explanation.proofs).unwrap()
    };
    assert!(cited(&live.snapshot()).contains("p.warden:5:1"), "first stated in the file");
    live.update(|tx| {
        tx.remove("assign carol viewer on project:a;");
        tx.insert("assign carol viewer on project:a;");
    })
    .unwrap();
    let after = cited(&live.snapshot());
    assert!(!after.contains("p.warden:5:1"), "still cites the removed statement: {after}");
}

/// Facts applied to a snapshot are built as statements, never parsed: a
/// value that reads as syntax stays one value, and a relation name that
/// is no identifier is refused with the reason.
#[test]
fn changes_to_a_snapshot_never_read_a_value_as_syntax() {
    use warden::internals::syntax::ast::Constant;
    let engine = Engine::from_source("p.warden", POLICY).unwrap();
    let options = warden::RequestOptions::default();
    let holds = |engine: &Engine, query: &str| engine.query(query, &options).unwrap().holds();
    let sneaky = "x); superuser(mallory";
    let fact = LiveFact::In { member: sneaky.to_string(), container: "project:a".to_string() };
    let changed = engine.with_changes(&[fact], &[]).unwrap();
    assert_eq!(changed.program().facts.len(), engine.program().facts.len() + 1);
    assert!(holds(&changed, r#"within("x); superuser(mallory", project:a)"#));
    assert!(!changed.is_allowed(&at(Request::new("mallory", "read", "page:1"))));
    let relation =
        |name: &str| LiveFact::Relation { name: name.to_string(), args: vec![Constant::Str("page:3".into())] };
    let refused = engine.with_changes(&[relation("frozen(page:1); x")], &[]).unwrap_err();
    assert!(refused.render(false).contains("relation name"), "{}", refused.render(false));
    assert!(holds(&engine.with_changes(&[relation("frozen")], &[]).unwrap(), "frozen(page:3)"));
    // `*` means every object in a policy: no fact may say it (a grant `on *`
    // would be global), whatever its kind.
    let on = |on: &str| warden::live::Holding {
        subject: "mallory".into(),
        what: "read".into(),
        on: Some(on.into()),
        from: None,
        until: None,
    };
    let wildcards = [
        LiveFact::Grant(on("*")),
        LiveFact::Assign(warden::live::Holding { what: "viewer".into(), ..on("page:*") }),
        LiveFact::In { member: "mallory".into(), container: "*".into() },
        LiveFact::RolePermission { role: "viewer".into(), perm: "write".into(), on: Some("*".into()) },
        LiveFact::Relation { name: "frozen".into(), args: vec![Constant::Str("page:*".into())] },
    ];
    for fact in wildcards {
        let refused = engine.with_changes(std::slice::from_ref(&fact), &[]);
        assert!(refused.is_err(), "{fact:?} was applied");
    }
    assert!(!engine.is_allowed(&at(Request::new("mallory", "read", "page:1"))));
}

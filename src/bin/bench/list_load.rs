//! `--listing`: "which pages may this user read?" on the BENCH.md workload
//! (plus a superuser and ten locked pages under a deny rule), for three
//! kinds of user: roles on projects only, a global role, the superuser.
//! Reports the first page of 100 names from `Engine::list_objects_in`
//! against a hand-written listing over the same maps and against the
//! per-row check loop a list view would otherwise run, and asserts that
//! every listing equals the hand-written one.

use super::filter_load;
use super::percentile;
use super::workload::{PERMS, Workload};
use std::time::Instant;
use warden::{Engine, RequestOptions, Window};

/// Pages 0, 1000, 2000, ... up to ten are locked: nobody may `write` them.
pub fn locked(page: usize) -> bool {
    page.is_multiple_of(1000) && page < 10_000
}

/// `write`, the permission the deny rule takes away.
pub const WRITE: usize = 1;

/// The hand-written listing, in the shape Warden answers: the pages in the
/// user's scopes whose role grants `perm` (and its direct grants), or
/// every page but the locked ones (for `write`) when a global role grants
/// it.
struct Listing<'w> {
    w: &'w Workload,
    masks: Vec<u8>,
    /// The locked pages' names, sorted.
    locked: Vec<String>,
}

impl Listing<'_> {
    /// `(every, names)`: the pages allowed, or the exceptions to every page.
    fn pages(&self, user: Option<usize>, perm: usize) -> (bool, Vec<String>) {
        let exceptions = || if perm == WRITE { self.locked.clone() } else { Vec::new() };
        let Some(user) = user else { return (true, exceptions()) };
        let per = self.w.scale.pages_per_project;
        let mut pages = Vec::new();
        for (role, scope) in &self.w.assignments[user] {
            if self.masks[*role] & (1 << perm) == 0 {
                continue;
            }
            match scope {
                Some(j) => pages.extend(j * per..(j + 1) * per),
                None => return (true, exceptions()),
            }
        }
        pages.extend(self.w.direct.iter().filter(|(u, p, _)| *u == user && *p == perm).map(|(_, _, g)| *g));
        let mut names: Vec<String> =
            pages.into_iter().filter(|g| perm != WRITE || !locked(*g)).map(|g| format!("page:{g}")).collect();
        names.sort();
        names.dedup();
        (false, names)
    }
}

/// The users of each kind (up to `n`), each with a permission it holds.
fn users(w: &Workload, masks: &[u8], n: usize) -> [Vec<(usize, usize)>; 2] {
    let (mut scoped, mut global) = (Vec::new(), Vec::new());
    for (u, list) in w.assignments.iter().enumerate() {
        let holds = |p: &usize| list.iter().any(|(r, _)| masks[*r] & (1 << p) != 0);
        // `write` where the user holds it: the deny rule then takes pages away.
        let Some(perm) = std::iter::once(WRITE).chain(0..PERMS.len()).find(holds) else {
            continue;
        };
        let kind = if list.iter().any(|(_, scope)| scope.is_none()) { &mut global } else { &mut scoped };
        if kind.len() < n {
            kind.push((u, perm));
        }
    }
    [scoped, global]
}

pub fn run(w: &Workload) {
    let mut policy = w.policy();
    policy.push_str("superuser root;\ndeny U write on O if locked(O);\n");
    let pages = w.scale.projects * w.scale.pages_per_project;
    for g in (0..pages).filter(|g| locked(*g)) {
        policy.push_str(&format!("locked(page:{g});\n"));
    }
    let engine = match Engine::from_source("bench.warden", &policy) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("{}", e.render(false));
            std::process::exit(1);
        }
    };
    let has_plan = engine.check_plan().is_some_and(|plan| plan.list_objects.is_some());
    println!("listing goal on the plan: {has_plan}");
    let mut locked_names: Vec<String> = (0..pages).filter(|g| locked(*g)).map(|g| format!("page:{g}")).collect();
    locked_names.sort();
    let listing = Listing { w, masks: w.role_masks(), locked: locked_names };
    let options = RequestOptions { at: Some(0), ..RequestOptions::default() };
    let first = Window { limit: Some(100), after: None };
    let [scoped, global] = users(w, &listing.masks, 20);
    let root = vec![(usize::MAX, WRITE)];
    println!();
    println!(
        "| user | listed (every?) | first 100: p50 | hand-written first 100: p50 | per-row check loop over {pages} pages |"
    );
    println!("|---|---|---|---|---|");
    for (kind, users) in [("roles on projects", &scoped), ("a global role", &global), ("superuser", &root)] {
        let (mut warden_times, mut baseline_times) = (Vec::new(), Vec::new());
        let mut shape = String::new();
        for &(u, perm) in users {
            let user = if u == usize::MAX { "root".to_string() } else { format!("u{u}") };
            let started = Instant::now();
            let page = engine.list_objects_in(&user, PERMS[perm], "page", &first, &options);
            warden_times.push(started.elapsed().as_secs_f64() * 1e6);
            let started = Instant::now();
            let (every, expected) = listing.pages((u != usize::MAX).then_some(u), perm);
            let expected_first: Vec<&String> = expected.iter().take(100).collect();
            baseline_times.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(&expected_first);
            let whole = match (page, engine.list_objects(&user, PERMS[perm], "page", &options)) {
                (Ok(page), Ok(whole)) => {
                    let shown = if page.every { &page.excluded } else { &page.objects };
                    if shown.iter().collect::<Vec<_>>() != expected_first {
                        eprintln!("the first page of {user} differs from the hand-written one: {page:?}");
                        std::process::exit(1);
                    }
                    whole
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("{}", e.render(false));
                    std::process::exit(1);
                }
            };
            let agrees =
                whole.every == every && if every { whole.excluded == expected } else { whole.objects == expected };
            if !agrees {
                eprintln!("listing of {user} {} differs from the hand-written one: {whole:?}", PERMS[perm]);
                std::process::exit(1);
            }
            shape = if whole.every {
                format!("every page but {}", whole.excluded.len())
            } else {
                format!("{} pages", whole.objects.len())
            };
        }
        let Some(&(u, perm)) = users.first() else { continue };
        let user = if u == usize::MAX { "root".to_string() } else { format!("u{u}") };
        let started = Instant::now();
        let allowed = (0..pages)
            .filter(|g| {
                engine.is_allowed(&warden::Request::new(user.as_str(), PERMS[perm], format!("page:{g}")).at_micros(0))
            })
            .count();
        let loop_ms = started.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(allowed);
        warden_times.sort_by(f64::total_cmp);
        baseline_times.sort_by(f64::total_cmp);
        let (warden, hand) = (percentile(&warden_times, 0.5), percentile(&baseline_times, 0.5));
        println!(
            "| {kind} ({} users) | {shape} (last) | {warden:.0} µs ({:.1}x) | {hand:.1} µs | {loop_ms:.1} ms ({:.0}x the listing) |",
            users.len(),
            warden / hand.max(0.001),
            loop_ms * 1e3 / warden.max(0.001),
        );
    }
    let kinds: [(&str, &[(usize, usize)]); 3] =
        [("roles on projects", &scoped), ("a global role", &global), ("superuser", &root)];
    filter_load::run(&engine, w, &kinds, &options);
}

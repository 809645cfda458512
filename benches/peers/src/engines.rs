//! One engine's run, inside its own child process: build its inputs from the
//! workload, load it (timed), one warm-up check (timed apart), the timed
//! checks, peak RSS; then the reference decisions and the comparison.

use crate::workload::{BUSINESS_HOURS, BUSINESS_PERM, PERMS, REQUEST_TIMES, Scale, TimeVariant, Workload, hour};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Checks the slow peers (Cedar, casbin) decide by default: a prefix of the list.
const SLOW_PREFIX: usize = 2_000;

/// An engine's timed loop stops early (after at least 1,000 checks) once it
/// has run this long; `checks` then reports how many ran.
const WALL_CAP: Duration = Duration::from_secs(120);

/// What one engine run measured.
struct Run {
    load_ms: f64,
    first_check_ms: f64,
    rss_inputs_mib: f64,
    rss_mib: f64,
    /// Per-check latency in ns, in check order.
    times: Vec<f64>,
    decisions: Vec<bool>,
    model: &'static str,
}

/// Peak resident set size of this process so far (`VmHWM`), in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What an engine run knew before its checks: its load time, the memory its
/// inputs took, and what it models.
struct Loaded {
    load_ms: f64,
    rss_inputs_mib: f64,
    model: &'static str,
}

/// One warm-up check (0), then checks `0..n`, each timed on its own.
fn measure(loaded: Loaded, n: usize, mut decide: impl FnMut(usize) -> bool) -> Run {
    let mut first_check_ms = f64::NAN;
    if n > 0 {
        let t = Instant::now();
        black_box(decide(0));
        first_check_ms = ms(t.elapsed());
    }
    let mut times = Vec::with_capacity(n);
    let mut decisions = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let allowed = black_box(decide(black_box(i)));
        times.push(t.elapsed().as_nanos() as f64);
        decisions.push(allowed);
        if i >= 1_000 && i % 256 == 0 && started.elapsed() > WALL_CAP {
            break;
        }
    }
    let Loaded { load_ms, rss_inputs_mib, model } = loaded;
    Run { load_ms, first_check_ms, rss_inputs_mib, rss_mib: peak_rss_mib(), times, decisions, model }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// Runs engine `name` on the workload of `scale_name`/`seed` and returns its JSON line.
pub fn run(name: &str, scale_name: &str, seed: u64, cap: Option<usize>) -> Value {
    let scale = Scale::named(scale_name).expect("checked scale");
    let w = Workload::generate(scale, seed);
    let tv = name.ends_with("-time").then(|| TimeVariant::generate(&w, seed));
    let total = w.checks.len();
    let default = if matches!(name, "cedar" | "casbin") { SLOW_PREFIX.min(total) } else { total };
    let n = cap.map_or(default, |c| c.min(total));
    let run = match name {
        "baseline" => run_baseline(&w, n),
        "baseline-time" => run_baseline_time(&w, tv.as_ref().expect("time variant"), n),
        "warden" | "warden-time" => run_warden(&w, tv.as_ref(), n, false),
        "warden-prepared" | "warden-prepared-time" => run_warden(&w, tv.as_ref(), n, true),
        "cedar" => run_cedar(&w, n),
        "casbin" => run_casbin(&w, n),
        other => panic!("unknown engine {other}"),
    };
    // The reference, after the engine is gone and its peak RSS read.
    let reference: Vec<bool> = match &tv {
        None => {
            let b = Baseline::new(&w);
            w.checks.iter().take(run.decisions.len()).map(|&(u, p, g)| b.check(u, p, g)).collect()
        }
        Some(tv) => {
            let b = TimeBaseline::new(&w, tv);
            w.checks.iter().zip(&tv.at).take(run.decisions.len()).map(|(&(u, p, g), &t)| b.check(u, p, g, t)).collect()
        }
    };
    let differing: Vec<usize> = (0..reference.len()).filter(|&i| reference[i] != run.decisions[i]).collect();
    for &i in differing.iter().take(5) {
        let (u, p, g) = w.checks[i];
        let at = tv.as_ref().map_or(String::new(), |tv| format!(" at {}", crate::workload::rfc3339(tv.at[i])));
        eprintln!(
            "{name}: check {i} (u{u}, {}, page:{g}){at}: {} but the reference says {}",
            PERMS[p], run.decisions[i], reference[i]
        );
    }
    let mut sorted = run.times.clone();
    sorted.sort_by(f64::total_cmp);
    let total_ns: f64 = sorted.iter().sum();
    let allowed = run.decisions.iter().filter(|d| **d).count() as f64 / run.decisions.len().max(1) as f64;
    json!({
        "engine": name,
        "scale": scale_name,
        "seed": seed,
        "checks": run.decisions.len(),
        "allowed": allowed,
        "p50_ns": percentile(&sorted, 0.5),
        "p99_ns": percentile(&sorted, 0.99),
        "mean_ns": total_ns / sorted.len().max(1) as f64,
        "checks_per_s": sorted.len() as f64 / (total_ns / 1e9),
        "load_ms": run.load_ms,
        "first_check_ms": run.first_check_ms,
        "rss_mib": run.rss_mib,
        "rss_inputs_mib": run.rss_inputs_mib,
        "agree": differing.is_empty(),
        "disagreements": differing.len(),
        "model": run.model,
    })
}

// ---------------------------------------------------------------------------
// Baselines.

/// The hand-written baseline (as in `src/bin/bench.rs`): role closure as bit
/// masks, assignments per user, direct grants in a hash set.
pub struct Baseline {
    masks: Vec<u8>,
    assignments: Vec<Vec<(usize, Option<usize>)>>,
    direct: HashSet<(usize, usize, usize)>,
    pages_per_project: usize,
}

impl Baseline {
    /// Builds the baseline from a workload.
    pub fn new(w: &Workload) -> Baseline {
        Baseline {
            masks: w.role_masks(),
            assignments: w.assignments.clone(),
            direct: w.direct.iter().copied().collect(),
            pages_per_project: w.scale.pages_per_project,
        }
    }

    /// Whether `user` may `perm` on `page`.
    pub fn check(&self, user: usize, perm: usize, page: usize) -> bool {
        let project = page / self.pages_per_project;
        self.assignments.get(user).is_some_and(|list| {
            list.iter().any(|(role, scope)| {
                scope.is_none_or(|j| j == project) && self.masks.get(*role).is_some_and(|m| m & (1 << perm) != 0)
            })
        }) || self.direct.contains(&(user, perm, page))
    }
}

/// An assignment of the time variant: role, project (`None`: global), `until`.
type TimedAssignment = (usize, Option<usize>, Option<i64>);

/// The baseline of the time variant (semantics on [`TimeVariant`]): the same,
/// plus `until` per assignment, locked pages and business hours.
pub struct TimeBaseline {
    masks: Vec<u8>,
    assignments: Vec<Vec<TimedAssignment>>,
    direct: HashSet<(usize, usize, usize)>,
    locked: Vec<bool>,
    pages_per_project: usize,
}

impl TimeBaseline {
    /// Builds the baseline from a workload and its time variant.
    pub fn new(w: &Workload, tv: &TimeVariant) -> TimeBaseline {
        let assignments = w
            .assignments
            .iter()
            .zip(&tv.until)
            .map(|(list, until)| list.iter().zip(until).map(|(&(r, s), &t)| (r, s, t)).collect())
            .collect();
        TimeBaseline {
            masks: w.role_masks(),
            assignments,
            direct: w.direct.iter().copied().collect(),
            locked: tv.locked.clone(),
            pages_per_project: w.scale.pages_per_project,
        }
    }

    /// Whether `user` may `perm` on `page` at `at` (microseconds since the epoch).
    pub fn check(&self, user: usize, perm: usize, page: usize, at: i64) -> bool {
        if self.locked.get(page).copied().unwrap_or(false)
            || (perm == BUSINESS_PERM && !(BUSINESS_HOURS.0..BUSINESS_HOURS.1).contains(&hour(at)))
        {
            return false;
        }
        let project = page / self.pages_per_project;
        self.assignments.get(user).is_some_and(|list| {
            list.iter().any(|(role, scope, until)| {
                until.is_none_or(|u| at < u)
                    && scope.is_none_or(|j| j == project)
                    && self.masks.get(*role).is_some_and(|m| m & (1 << perm) != 0)
            })
        }) || self.direct.contains(&(user, perm, page))
    }
}

fn run_baseline(w: &Workload, n: usize) -> Run {
    let rss_inputs_mib = peak_rss_mib();
    let t = Instant::now();
    let b = Baseline::new(w);
    let load_ms = ms(t.elapsed());
    let loaded = Loaded {
        load_ms,
        rss_inputs_mib,
        model: "hand-written Rust: role closure as bit masks, assignments per user, direct grants in a HashSet",
    };
    measure(loaded, n, |i| {
        let (u, p, g) = w.checks[i];
        b.check(u, p, g)
    })
}

fn run_baseline_time(w: &Workload, tv: &TimeVariant, n: usize) -> Run {
    let rss_inputs_mib = peak_rss_mib();
    let t = Instant::now();
    let b = TimeBaseline::new(w, tv);
    let load_ms = ms(t.elapsed());
    let loaded = Loaded {
        load_ms,
        rss_inputs_mib,
        model: "baseline + `until` per assignment, locked pages (bit per page), business hours on publish",
    };
    measure(loaded, n, |i| {
        let (u, p, g) = w.checks[i];
        b.check(u, p, g, tv.at[i])
    })
}

// ---------------------------------------------------------------------------
// Warden.

/// Warden on the workload; `prepared`: requests resolved once with
/// `Engine::prepare` before the clock starts (as Cedar's are built before
/// it), checked with `Engine::is_allowed_prepared`.
fn run_warden(w: &Workload, tv: Option<&TimeVariant>, n: usize, prepared: bool) -> Run {
    let policy = match tv {
        Some(tv) => tv.policy(w),
        None => w.policy(),
    };
    let requests: Vec<warden::live::Request> = w
        .checks
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, &(u, p, g))| warden::live::Request {
            user: format!("u{u}"),
            perm: PERMS[p].to_string(),
            object: format!("page:{g}"),
            at: Some(tv.map_or(REQUEST_TIMES[0], |tv| tv.at[i])),
            ctx: BTreeMap::new(),
        })
        .collect();
    let rss_inputs_mib = peak_rss_mib();
    let t = Instant::now();
    let engine = warden::Engine::from_source("bench.warden", &policy)
        .unwrap_or_else(|e| panic!("the generated policy does not load:\n{}", e.render(false)));
    let load_ms = ms(t.elapsed());
    let loaded = Loaded {
        load_ms,
        rss_inputs_mib,
        model: match (tv.is_some(), prepared) {
            (true, false) => {
                "Engine::from_source(time-variant policy: `until` on assignments, `locked(page:N);`, two deny rules) \
                 + Engine::is_allowed"
            }
            (true, true) => "the time-variant policy + Engine::is_allowed_prepared (requests prepared before timing)",
            (false, false) => {
                "Engine::from_source(generated policy: roles, `page in project`, assign, grant) + Engine::is_allowed"
            }
            (false, true) => "the generated policy + Engine::is_allowed_prepared (requests prepared before timing)",
        },
    };
    if prepared {
        let requests: Vec<warden::live::PreparedRequest> = requests.iter().map(|r| engine.prepare(r)).collect();
        measure(loaded, n, |i| engine.is_allowed_prepared(&requests[i]))
    } else {
        measure(loaded, n, |i| engine.is_allowed(&requests[i]))
    }
}

// ---------------------------------------------------------------------------
// Cedar.

fn entity(ty: &str, id: &str) -> Value {
    json!({ "type": ty, "id": id })
}

fn entity_ref(ty: &str, id: &str) -> Value {
    json!({ "__entity": entity(ty, id) })
}

fn scope_name(project: Option<usize>) -> String {
    project.map_or_else(|| "global".to_string(), |j| format!("project:{j}"))
}

/// The workload as Cedar entities (JSON) and one policy per permission.
///
/// - `User::"uN"`: parents are the `RoleScope::"rR@project:J"` (or
///   `"rR@global"`) of its assignments and a `Direct::"perm@page:G"` per
///   direct grant.
/// - `RoleScope::"rA@S"`: parents are `RoleScope::"rB@S"` for every role B
///   that A extends (same scope), and `PermScope::"perm@S"` for every
///   permission A grants itself. Only scopes that some assignment reaches are
///   built, so Cedar's entity hierarchy is the role closure per scope.
/// - `Page::"page:G"`: parent `Project::"project:J"`, attribute `project`, and
///   `<perm>_direct: Direct::"perm@page:G"` when someone holds a direct grant.
/// - `Project::"project:J"`: attribute `<perm>: PermScope::"perm@project:J"`.
/// - The policy of `perm`: `principal in PermScope::"perm@global" ||
///   principal in resource.project.<perm> || (resource has <perm>_direct &&
///   principal in resource.<perm>_direct)`.
pub fn cedar_inputs(w: &Workload) -> (String, String) {
    let mut entities: Vec<Value> = Vec::new();
    let mut direct_by_user: Vec<Vec<(usize, usize)>> = vec![Vec::new(); w.scale.users];
    let mut direct_by_page: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for &(u, p, g) in &w.direct {
        direct_by_user[u].push((p, g));
        direct_by_page.entry(g).or_default().insert(p);
    }
    let mut scopes: BTreeSet<(usize, Option<usize>)> = BTreeSet::new();
    for (u, list) in w.assignments.iter().enumerate() {
        let mut parents: Vec<Value> =
            list.iter().map(|&(r, s)| entity("RoleScope", &format!("r{r}@{}", scope_name(s)))).collect();
        parents.extend(direct_by_user[u].iter().map(|&(p, g)| entity("Direct", &format!("{}@page:{g}", PERMS[p]))));
        entities.push(json!({ "uid": entity("User", &format!("u{u}")), "attrs": {}, "parents": parents }));
        let mut stack: Vec<(usize, Option<usize>)> = list.clone();
        while let Some((r, s)) = stack.pop() {
            if scopes.insert((r, s)) {
                stack.extend(w.inherits[r].iter().map(|&a| (a, s)));
            }
        }
    }
    for &(r, s) in &scopes {
        let scope = scope_name(s);
        let mut parents: Vec<Value> =
            w.inherits[r].iter().map(|a| entity("RoleScope", &format!("r{a}@{scope}"))).collect();
        parents.extend(w.grants[r].iter().map(|&p| entity("PermScope", &format!("{}@{scope}", PERMS[p]))));
        entities.push(json!({ "uid": entity("RoleScope", &format!("r{r}@{scope}")), "attrs": {}, "parents": parents }));
    }
    for j in 0..w.scale.projects {
        let attrs: serde_json::Map<String, Value> =
            PERMS.iter().map(|p| (p.to_string(), entity_ref("PermScope", &format!("{p}@project:{j}")))).collect();
        entities.push(json!({ "uid": entity("Project", &format!("project:{j}")), "attrs": attrs, "parents": [] }));
        for k in 0..w.scale.pages_per_project {
            let g = j * w.scale.pages_per_project + k;
            let mut attrs = serde_json::Map::new();
            attrs.insert("project".into(), entity_ref("Project", &format!("project:{j}")));
            for &p in direct_by_page.get(&g).into_iter().flatten() {
                attrs.insert(format!("{}_direct", PERMS[p]), entity_ref("Direct", &format!("{}@page:{g}", PERMS[p])));
            }
            let parents = [entity("Project", &format!("project:{j}"))];
            entities.push(json!({ "uid": entity("Page", &format!("page:{g}")), "attrs": attrs, "parents": parents }));
        }
    }
    let policies: String = PERMS
        .iter()
        .map(|p| {
            format!(
                "permit(principal, action == Action::\"{p}\", resource is Page) when {{\n  \
                 principal in PermScope::\"{p}@global\" ||\n  \
                 principal in resource.project.{p} ||\n  \
                 (resource has {p}_direct && principal in resource.{p}_direct)\n}};\n"
            )
        })
        .collect();
    (policies, Value::Array(entities).to_string())
}

fn run_cedar(w: &Workload, n: usize) -> Run {
    use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
    use std::str::FromStr;
    let (policy_text, entities_json) = cedar_inputs(w);
    let uid = |s: String| EntityUid::from_str(&s).expect("entity uid");
    let requests: Vec<Request> = w
        .checks
        .iter()
        .take(n)
        .map(|&(u, p, g)| {
            Request::new(
                uid(format!("User::\"u{u}\"")),
                uid(format!("Action::\"{}\"", PERMS[p])),
                uid(format!("Page::\"page:{g}\"")),
                Context::empty(),
                None,
            )
            .expect("request")
        })
        .collect();
    let rss_inputs_mib = peak_rss_mib();
    let t = Instant::now();
    let policies = PolicySet::from_str(&policy_text).expect("cedar policies");
    let entities = Entities::from_json_str(&entities_json, None).expect("cedar entities");
    let load_ms = ms(t.elapsed());
    drop(entities_json);
    let authorizer = Authorizer::new();
    let loaded = Loaded {
        load_ms,
        rss_inputs_mib,
        model: "cedar-policy 4: users under RoleScope(role@scope) entities, role inheritance as entity parents \
                per scope, PermScope(perm@scope) parents for grants; pages with parent project; one policy per \
                permission (global scope || resource.project.<perm> || direct grant); Entities::from_json_str",
    };
    measure(loaded, n, |i| authorizer.is_authorized(&requests[i], &policies, &entities).decision() == Decision::Allow)
}

// ---------------------------------------------------------------------------
// casbin.

/// The casbin model: RBAC with domains (a domain is a project or `global`).
pub const CASBIN_MODEL: &str = "\
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _, _
g2 = _, _
g3 = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (r.act == p.act && g2(r.obj, r.dom) && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, \"global\"))) || \
g3(r.sub, r.act, r.obj)
";

/// The workload as casbin policy lines (CSV) for [`CASBIN_MODEL`]:
/// `p, rA, perm` per role grant; `g, uN, rR, project:J|global` per
/// assignment; `g, rA, rB, D` for every `extends` edge in every domain D (the
/// role hierarchy holds in each domain); `g2, page:G, project:J`;
/// `g3, uN, perm, page:G` per direct grant.
pub fn casbin_policy(w: &Workload) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (r, grants) in w.grants.iter().enumerate() {
        for p in grants.iter().collect::<BTreeSet<_>>() {
            let _ = writeln!(out, "p, r{r}, {}", PERMS[*p]);
        }
    }
    for (u, list) in w.assignments.iter().enumerate() {
        for &(r, s) in list {
            let _ = writeln!(out, "g, u{u}, r{r}, {}", scope_name(s));
        }
    }
    let domains = std::iter::once(None).chain((0..w.scale.projects).map(Some));
    for s in domains {
        let scope = scope_name(s);
        for (r, parents) in w.inherits.iter().enumerate() {
            for a in parents {
                let _ = writeln!(out, "g, r{r}, r{a}, {scope}");
            }
        }
    }
    for g in 0..w.scale.projects * w.scale.pages_per_project {
        let _ = writeln!(out, "g2, page:{g}, project:{}", g / w.scale.pages_per_project);
    }
    for &(u, p, g) in &w.direct {
        let _ = writeln!(out, "g3, u{u}, {}, page:{g}", PERMS[p]);
    }
    out
}

fn run_casbin(w: &Workload, n: usize) -> Run {
    use casbin::{CoreApi, DefaultModel, Enforcer, StringAdapter};
    let csv = casbin_policy(w);
    // Requests: (user, the page's project, page, perm); the matcher checks
    // that the page is in that project (`g2`).
    let requests: Vec<[String; 4]> = w
        .checks
        .iter()
        .take(n)
        .map(|&(u, p, g)| {
            [
                format!("u{u}"),
                format!("project:{}", g / w.scale.pages_per_project),
                format!("page:{g}"),
                PERMS[p].to_string(),
            ]
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let rss_inputs_mib = peak_rss_mib();
    let t = Instant::now();
    let enforcer = runtime.block_on(async {
        let model = DefaultModel::from_str(CASBIN_MODEL).await.expect("casbin model");
        Enforcer::new(model, StringAdapter::new(&csv)).await.expect("casbin enforcer")
    });
    let load_ms = ms(t.elapsed());
    drop(csv);
    let loaded = Loaded {
        load_ms,
        rss_inputs_mib,
        model: "casbin 2 (RBAC with domains): g = user/role -> role per domain (project or global, role \
                inheritance copied into every domain), g2 = page -> project, g3 = direct grants, p = role grants; \
                request (user, project of the page, page, perm); Enforcer::enforce",
    };
    measure(loaded, n, |i| {
        let [a, b, c, d] = &requests[i];
        enforcer.enforce(vec![a.as_str(), b.as_str(), c.as_str(), d.as_str()]).expect("enforce")
    })
}

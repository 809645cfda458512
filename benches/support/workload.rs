//! The benchmark workload of `BENCH.md`: roles in a DAG, projects of pages,
//! users with scoped or global assignments and direct grants, and checks about
//! half of which are allowed. Deterministic (SplitMix64, seeded).
//!
//! [`TimeVariant`] adds expiring assignments, a business-hours permission and
//! locked pages to the same workload (its reference semantics are written out
//! on the type).

// Shared by `src/bin/bench.rs` (the plain workload) and `benches/peers` (the
// time variant too): each uses a part.
#![allow(dead_code, reason = "shared by two tools, each of which uses a part")]

use std::fmt::Write as _;

/// The eight permissions of the workload.
pub const PERMS: [&str; 8] = ["read", "write", "delete", "admin", "comment", "share", "publish", "export"];

/// Sizes of one scale.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Users.
    pub users: usize,
    /// Roles.
    pub roles: usize,
    /// Projects.
    pub projects: usize,
    /// Pages per project.
    pub pages_per_project: usize,
    /// Checks.
    pub checks: usize,
}

impl Scale {
    /// `small`, `default` or `large`.
    pub fn named(name: &str) -> Option<Scale> {
        let (users, projects, checks) = match name {
            "small" => (1_000, 100, 10_000),
            "default" => (10_000, 1_000, 100_000),
            "large" => (100_000, 10_000, 100_000),
            _ => return None,
        };
        Some(Scale { users, roles: 50, projects, pages_per_project: 10, checks })
    }
}

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One role assignment: role, and the project it is scoped to (`None`: global).
pub type Assignment = (usize, Option<usize>);

/// The generated workload.
pub struct Workload {
    /// The sizes.
    pub scale: Scale,
    /// Per role, the roles it inherits from.
    pub inherits: Vec<Vec<usize>>,
    /// Per role, the permissions it grants directly (indexes into [`PERMS`]).
    pub grants: Vec<Vec<usize>>,
    /// Per user, the assignments.
    pub assignments: Vec<Vec<Assignment>>,
    /// Direct grants (user, perm, page).
    pub direct: Vec<(usize, usize, usize)>,
    /// Checks (user, perm, page).
    pub checks: Vec<(usize, usize, usize)>,
}

impl Workload {
    /// Generates the workload for a scale and seed.
    pub fn generate(scale: Scale, seed: u64) -> Workload {
        let mut rng = Rng(seed);
        let roots = (scale.roles / 10).max(1);
        let mut depth = vec![0usize; scale.roles];
        let mut inherits = vec![Vec::new(); scale.roles];
        for r in roots..scale.roles {
            // Biased to deep parents, depth index <= 7.
            let mut parent = rng.below(r);
            for _ in 0..2 {
                let other = rng.below(r);
                if depth[other] > depth[parent] && depth[other] < 7 {
                    parent = other;
                }
            }
            if depth[parent] >= 7 {
                parent = rng.below(roots);
            }
            inherits[r].push(parent);
            depth[r] = depth[parent] + 1;
            if rng.below(10) == 0 {
                let second = rng.below(r);
                if second != parent {
                    inherits[r].push(second);
                }
            }
        }
        let grants: Vec<Vec<usize>> =
            (0..scale.roles).map(|_| (0..1 + rng.below(2)).map(|_| rng.below(PERMS.len())).collect()).collect();
        let mut assignments = Vec::with_capacity(scale.users);
        let mut direct = Vec::new();
        let pages = scale.projects * scale.pages_per_project;
        for u in 0..scale.users {
            let n = 1 + rng.below(3);
            let user: Vec<Assignment> = (0..n)
                .map(|_| {
                    (rng.below(scale.roles), if rng.below(10) == 0 { None } else { Some(rng.below(scale.projects)) })
                })
                .collect();
            assignments.push(user);
            if rng.below(10) < 3 {
                for _ in 0..1 + rng.below(2) {
                    direct.push((u, rng.below(PERMS.len()), rng.below(pages)));
                }
            }
        }
        let mut w = Workload { scale, inherits, grants, assignments, direct, checks: Vec::new() };
        let closure = w.role_masks();
        for _ in 0..scale.checks {
            let u = rng.below(scale.users);
            let check = match rng.below(4) {
                0 | 1 => {
                    // Built to be allowed: a permission of one of the user's roles in scope.
                    let (role, project) = w.assignments[u][rng.below(w.assignments[u].len())];
                    let perms: Vec<usize> = (0..PERMS.len()).filter(|p| closure[role] & (1 << p) != 0).collect();
                    let page = match project {
                        Some(j) => j * scale.pages_per_project + rng.below(scale.pages_per_project),
                        None => rng.below(pages),
                    };
                    (u, perms[rng.below(perms.len())], page)
                }
                2 => {
                    // A near miss: a page in scope, a permission the role lacks (if any).
                    let (role, project) = w.assignments[u][0];
                    let page = project.map_or(rng.below(pages), |j| j * scale.pages_per_project);
                    let missing = (0..PERMS.len()).find(|p| closure[role] & (1 << p) == 0).unwrap_or(0);
                    (u, missing, page)
                }
                _ => (u, rng.below(PERMS.len()), rng.below(pages)),
            };
            w.checks.push(check);
        }
        w
    }

    /// Per role, the permissions it has (its own and inherited) as a bit mask.
    pub fn role_masks(&self) -> Vec<u8> {
        let mut masks: Vec<u8> = self.grants.iter().map(|g| g.iter().fold(0u8, |m, p| m | (1 << p))).collect();
        // Parents have lower indexes, so one pass in index order closes the DAG.
        for r in 0..masks.len() {
            for &parent in &self.inherits[r] {
                masks[r] |= masks[parent];
            }
        }
        masks
    }

    /// The workload as one Warden policy.
    pub fn policy(&self) -> String {
        let mut out = String::new();
        for r in 0..self.scale.roles {
            let parents: Vec<String> = self.inherits[r].iter().map(|p| format!("r{p}")).collect();
            let extends = if parents.is_empty() { String::new() } else { format!(" extends {}", parents.join(", ")) };
            let entries: String = self.grants[r].iter().map(|p| format!(" {} on page;", PERMS[*p])).collect();
            let _ = writeln!(out, "role r{r}{extends} {{{entries} }}");
        }
        for j in 0..self.scale.projects {
            for k in 0..self.scale.pages_per_project {
                let _ = writeln!(out, "page:{} in project:{j};", j * self.scale.pages_per_project + k);
            }
        }
        for (u, list) in self.assignments.iter().enumerate() {
            for (role, project) in list {
                match project {
                    Some(j) => {
                        let _ = writeln!(out, "assign u{u} r{role} on project:{j};");
                    }
                    None => {
                        let _ = writeln!(out, "assign u{u} r{role};");
                    }
                }
            }
        }
        for (u, p, g) in &self.direct {
            let _ = writeln!(out, "grant u{u} {} on page:{g};", PERMS[*p]);
        }
        out
    }
}

/// Microseconds in one hour.
pub const HOUR_US: i64 = 3_600_000_000;

/// 2026-11-23T00:00:00Z, a Monday, in microseconds since the epoch.
pub const DAY0_US: i64 = 1_795_392_000 * 1_000_000;

/// The request times of the time variant: Monday 10:00 (inside business
/// hours), Monday 20:00 and Tuesday 03:00 (both outside), UTC.
pub const REQUEST_TIMES: [i64; 3] = [DAY0_US + 10 * HOUR_US, DAY0_US + 20 * HOUR_US, DAY0_US + 27 * HOUR_US];

/// The permission that only holds in business hours: `publish`.
pub const BUSINESS_PERM: usize = 6;

/// Business hours, UTC: `FROM <= hour(now) < TO`.
pub const BUSINESS_HOURS: (i64, i64) = (8, 18);

/// The hour of the day (UTC, 0-23) of a time in microseconds since the epoch.
pub fn hour(at: i64) -> i64 {
    at.div_euclid(HOUR_US).rem_euclid(24)
}

/// A time in microseconds since the epoch as RFC 3339 (`2026-11-23T10:00:00Z`).
pub fn rfc3339(at: i64) -> String {
    warden::time::format_timestamp(at)
}

/// The time variant of a [`Workload`]: the same roles, assignments, grants
/// and checks, plus expiring assignments, a business-hours permission, locked
/// pages and a request time per check. Deterministic (its own SplitMix64
/// stream, so the plain workload of the same seed is unchanged).
///
/// Reference semantics (what `baseline-time` and `warden-time` implement), at
/// request time `t`:
///
/// ```text
/// active(u, r, s, t)   :- assign(u, r, s, until), (until is none or t < until).   (until exclusive)
/// permitted(u, p, g, t) :- active(u, r, global, t),    role_perm(r, p).
/// permitted(u, p, g, t) :- active(u, r, project j, t), page_in(g, j), role_perm(r, p).
/// permitted(u, p, g, t) :- direct(u, p, g).                                       (never expires)
/// denied(u, p, g, t)    :- locked(g).                                             (every permission, everyone)
/// denied(u, publish, g, t) :- hour(t) < 8 or hour(t) >= 18.                       (UTC; direct grants too)
/// allowed(u, p, g, t)   :- permitted(u, p, g, t), not denied(u, p, g, t).
/// ```
///
/// `role_perm` is the plain workload's (role closure over `inherits`, then
/// `grants`). About 20% of assignments carry an `until`, uniform over the
/// hours from 2026-11-22T00:00Z to 2026-11-24T23:00Z, so at each request time
/// some are already expired and some not; 2% of pages are locked; half the
/// checks are asked at Monday 10:00, a quarter at Monday 20:00 and a quarter at
/// Tuesday 03:00 ([`REQUEST_TIMES`]).
pub struct TimeVariant {
    /// Per user, per assignment (parallel to [`Workload::assignments`]), the `until` bound.
    pub until: Vec<Vec<Option<i64>>>,
    /// Per page, whether it is locked.
    pub locked: Vec<bool>,
    /// Per check (parallel to [`Workload::checks`]), the request time.
    pub at: Vec<i64>,
}

impl TimeVariant {
    /// Generates the time variant of a workload (seeded apart from the workload's own stream).
    pub fn generate(w: &Workload, seed: u64) -> TimeVariant {
        let mut rng = Rng(seed ^ 0x5449_4d45_5641_5249);
        let until = w
            .assignments
            .iter()
            .map(|list| {
                list.iter()
                    .map(|_| (rng.below(5) == 0).then(|| DAY0_US - 24 * HOUR_US + rng.below(72) as i64 * HOUR_US))
                    .collect()
            })
            .collect();
        let pages = w.scale.projects * w.scale.pages_per_project;
        let locked = (0..pages).map(|_| rng.below(50) == 0).collect();
        let at = w
            .checks
            .iter()
            .map(|_| match rng.below(4) {
                0 | 1 => REQUEST_TIMES[0],
                2 => REQUEST_TIMES[1],
                _ => REQUEST_TIMES[2],
            })
            .collect();
        TimeVariant { until, locked, at }
    }

    /// The time variant as one Warden policy: the plain policy with `until`
    /// on the expiring assignments, `locked(page:N);` facts and two deny rules.
    pub fn policy(&self, w: &Workload) -> String {
        let mut out = String::new();
        for r in 0..w.scale.roles {
            let parents: Vec<String> = w.inherits[r].iter().map(|p| format!("r{p}")).collect();
            let extends = if parents.is_empty() { String::new() } else { format!(" extends {}", parents.join(", ")) };
            let entries: String = w.grants[r].iter().map(|p| format!(" {} on page;", PERMS[*p])).collect();
            let _ = writeln!(out, "role r{r}{extends} {{{entries} }}");
        }
        for j in 0..w.scale.projects {
            for k in 0..w.scale.pages_per_project {
                let _ = writeln!(out, "page:{} in project:{j};", j * w.scale.pages_per_project + k);
            }
        }
        for (u, list) in w.assignments.iter().enumerate() {
            for (i, (role, project)) in list.iter().enumerate() {
                let scope = project.map_or(String::new(), |j| format!(" on project:{j}"));
                let until = self.until[u][i].map_or(String::new(), |t| format!(" until {}", rfc3339(t)));
                let _ = writeln!(out, "assign u{u} r{role}{scope}{until};");
            }
        }
        for (u, p, g) in &w.direct {
            let _ = writeln!(out, "grant u{u} {} on page:{g};", PERMS[*p]);
        }
        for (g, locked) in self.locked.iter().enumerate() {
            if *locked {
                let _ = writeln!(out, "locked(page:{g});");
            }
        }
        let _ = writeln!(out, "deny U P on O if locked(O);");
        let (from, to) = BUSINESS_HOURS;
        let _ = writeln!(out, "deny U {} on O if hour(now) < {from} || hour(now) >= {to};", PERMS[BUSINESS_PERM]);
        out
    }
}

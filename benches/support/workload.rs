//! The benchmark workload of `BENCH.md`: roles in a DAG, projects of pages,
//! users with scoped or global assignments and direct grants, and checks about
//! half of which are allowed. Deterministic (SplitMix64, seeded).

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

//! Random policy programs for the property tests: stratified, safe
//! programs (recursion, negation across strata, comparisons, list
//! generators, access rules over the active domain) and, on top, rules that
//! read the request (`now`, `ctx`), expiring assignments and deny rules.

#![allow(dead_code, clippy::indexing_slicing)]

/// SplitMix64: a small deterministic generator for program shapes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub const CONSTANTS: [&str; 7] = ["a", "b", "c", "d", "1", "2", "3"];
const VARS: [&str; 4] = ["X", "Y", "Z", "W"];
const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

/// A positive atom's arguments: each a constant (with `percent` chance)
/// or a variable, recorded in `bound` when new.
fn atom_args<'a>(
    rng: &mut Rng,
    arity: usize,
    (constants, percent): (&'a [&'a str], u64),
    vars: &'a [&'a str],
    bound: &mut Vec<&'a str>,
) -> Vec<&'a str> {
    (0..arity)
        .map(|_| {
            if rng.chance(percent) {
                rng.pick(constants)
            } else {
                let v = rng.pick(vars);
                if !bound.contains(&v) {
                    bound.push(v);
                }
                v
            }
        })
        .collect()
}

/// A random stratified, safe program as policy text.
pub fn random_program(seed: u64) -> String {
    random_program_with(seed, Shapes::All)
}

/// Which shapes a random program may take.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shapes {
    All,
    /// Only what the compiled check plan supports: no `extern fn` in plain
    /// rules (it makes recursive relations request-dependent) and no deny
    /// rule over a derived relation.
    Compilable,
}

pub fn random_program_with(seed: u64, shapes: Shapes) -> String {
    let mut rng = Rng(seed);
    let mut out = String::from("extern fn risk(x);\n");
    // Base relations with facts; e0 is unary, the others binary. Sometimes
    // declared (SPEC section 9), and then e3, declared, may stay empty.
    let mut base: Vec<(String, usize)> = vec![("e0".into(), 1), ("e1".into(), 2), ("e2".into(), 2)];
    if rng.chance(30) {
        out.push_str("relation e1(string | int, any);\nrelation e3(any);\n");
        base.push(("e3".into(), 1));
    }
    for (name, arity) in &base {
        let facts = if name == "e3" { rng.below(3) } else { 1 + rng.below(6) };
        for _ in 0..facts {
            let args: Vec<&str> = (0..*arity).map(|_| rng.pick(&CONSTANTS)).collect();
            out.push_str(&format!("{name}({});\n", args.join(", ")));
        }
    }
    // Derived relations d0..d3, each at its own level.
    let derived: Vec<(String, usize)> = (0..4).map(|i| (format!("d{i}"), 1 + rng.below(2))).collect();
    for (level, (head, head_arity)) in derived.iter().enumerate() {
        for _ in 0..1 + rng.below(3) {
            let mut body = Vec::new();
            let mut bound: Vec<&str> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                // Positive atoms: base relations, earlier strata, or this relation (recursion).
                let choices: Vec<&(String, usize)> = base.iter().chain(derived.iter().take(level + 1)).collect();
                let (name, arity) = choices[rng.below(choices.len())];
                let args = atom_args(&mut rng, *arity, (&CONSTANTS, 12), &VARS, &mut bound);
                body.push(format!("{name}({})", args.join(", ")));
            }
            if bound.is_empty() {
                bound.push("X");
                body.push("e0(X)".into());
            }
            // Negation of a base relation or an earlier stratum.
            if rng.chance(40) {
                let choices: Vec<&(String, usize)> = base.iter().chain(derived.iter().take(level)).collect();
                let (name, arity) = choices[rng.below(choices.len())];
                let args: Vec<&str> = (0..*arity)
                    .map(|_| match rng.below(4) {
                        0 => "_",
                        1 => rng.pick(&CONSTANTS),
                        _ => bound[rng.below(bound.len())],
                    })
                    .collect();
                body.push(format!("not {name}({})", args.join(", ")));
            }
            // A condition that errs for some bindings (SPEC section 5: the
            // head is unknown for them): an unregistered extern fn, a
            // string compared with a timestamp, an integer overflow.
            if rng.chance(10) {
                let x = bound[rng.below(bound.len())];
                body.push(match rng.below(3) {
                    0 if shapes == Shapes::All => format!("risk({x}) > 1"),
                    1 => format!("{x} < 2026-01-01T00:00:00Z"),
                    _ => format!("{x} + 9223372036854775806 > 0"),
                });
            }
            // The built-ins (the reference has its own semantics for them);
            // plain rules that read `now` are evaluated at several times.
            if shapes == Shapes::All && rng.chance(25) {
                let x = bound[rng.below(bound.len())];
                body.push(match rng.below(8) {
                    0 => "hour(now) >= 12".to_string(),
                    1 => "minute(now) < 30".to_string(),
                    2 => "weekday(now) == mon || date(now) == \"2026-02-28\"".to_string(),
                    3 => format!("type({x}) == page"),
                    4 => format!("starts_with(lower({x}), \"p\") || ends_with({x}, \"1\")"),
                    5 => format!("contains({x}, \":\") && !({x} in [a, b])"),
                    6 => "now - 2026-01-01T00:00:00Z > 30d".to_string(),
                    _ => format!("{x} == ctx.k"),
                });
            }
            // A comparison between bound variables or with a constant.
            if rng.chance(40) {
                let left = bound[rng.below(bound.len())];
                let right = if rng.chance(50) { bound[rng.below(bound.len())] } else { rng.pick(&CONSTANTS) };
                body.push(format!("{left} {} {right}", rng.pick(&OPS)));
            }
            let mut head_args: Vec<&str> = (0..*head_arity).map(|_| bound[rng.below(bound.len())]).collect();
            // A list generator binding a head variable nothing else binds.
            if rng.chance(15) {
                // Sometimes with an item that overflows: the list is unknown.
                let list = if rng.chance(30) { "V in [a, 9223372036854775807 + 1]" } else { "V in [a, 2]" };
                body.push(list.into());
                head_args[0] = "V";
            }
            out.push_str(&format!("{head}({}) :- {};\n", head_args.join(", "), body.join(", ")));
        }
    }
    // Sometimes the authorization layer: roles, assignments, access rules over the active domain.
    if rng.chance(50) {
        out.push_str("role r1 { read; }\nrole r2 extends r1 { write on page; }\n");
        out.push_str(&format!(
            "assign {} r2 on c;\npage:1 in c;\n{} in c;\n",
            rng.pick(&CONSTANTS[..4]),
            rng.pick(&CONSTANTS[..4])
        ));
        out.push_str(&format!(
            "allow X read on Y if {}(X, Y);\n",
            derived.iter().find(|(_, a)| *a == 2).map_or("e1", |(n, _)| n.as_str())
        ));
        out.push_str("deny X P on Y if e0(Y), X != a;\n");
        if let Some((name, _)) = derived.iter().find(|(_, a)| *a == 1).filter(|_| shapes == Shapes::All) {
            out.push_str(&format!("deny X write on Y if {name}(Y);\n"));
        }
    }
    out
}

/// A random program (as [`random_program`]) plus request-dependent rules:
/// conditions on `now` and `ctx` in derived and access rules, expiring
/// assignments and grants, a conditional role entry, deny rules.
pub fn random_timed_program(seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x5eed);
    let mut out = random_program_with(seed, Shapes::Compilable);
    let times = ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"];
    let conditions = [
        "hour(now) < 12",
        "hour(now) >= 8 && hour(now) < 18",
        "now < 2026-06-01T00:00:00Z",
        "ctx.k == a",
        "ctx.n > 1",
        "weekday(now) == mon",
        "type(Y) == page",
        "ctx.k == Y",
    ];
    out.push_str("role t1 { read; comment on page if hour(now) >= 9; }\nrole t2 extends t1 { share; }\n");
    for _ in 0..1 + rng.below(4) {
        let who = rng.pick(&CONSTANTS[..4]);
        let role = rng.pick(&["t1", "t2"]);
        let scope = if rng.chance(50) { " on c".to_string() } else { String::new() };
        let bound = match rng.below(3) {
            0 => format!(" until {}", rng.pick(&times)),
            1 => format!(" from {}", rng.pick(&times)),
            _ => String::new(),
        };
        out.push_str(&format!("assign {who} {role}{scope}{bound};\n"));
    }
    for _ in 0..rng.below(3) {
        let who = rng.pick(&CONSTANTS[..4]);
        let what = rng.pick(&["read", "write", "share"]);
        let on = rng.pick(&["page:1", "c", "b"]);
        out.push_str(&format!("grant {who} {what} on {on} until {};\n", rng.pick(&times)));
    }
    // A derived relation that reads the request, used by access rules.
    out.push_str(&format!("timed(X, Y) :- e2(X, Y), {};\n", rng.pick(&conditions[..6])));
    if rng.chance(50) {
        out.push_str(&format!("timed(X, Y) :- e0(X), e1(Y, X), not e0(Y), {};\n", rng.pick(&conditions[..5])));
    }
    out.push_str(&format!("allow X write on Y if timed(X, Y), {};\n", rng.pick(&conditions)));
    // Heads with a repeated variable and a constant: unfolding them adds equalities.
    out.push_str(&format!("same(X, X) :- e0(X), {};\n", rng.pick(&conditions[..5])));
    out.push_str("tagged(X, a) :- e1(X, _), hour(now) >= 3;\n");
    out.push_str(&format!(
        "allow X {} on Y if same(X, Y), tagged(Y, {});\n",
        rng.pick(&["read", "comment"]),
        rng.pick(&["a", "b"])
    ));
    if rng.chance(60) {
        out.push_str(&format!("deny X share on Y if timed(Y, X), {};\n", rng.pick(&conditions)));
    }
    // Static rules over `within` (which holds `X within X` for every
    // constant, the query's included): positive ones, and ones the plan
    // cannot decide for a constant it does not know.
    if rng.chance(40) {
        out.push_str("near(X, Y) :- within(X, Y), e0(Y);\nallow X comment on Y if near(Y, X);\n");
    }
    if rng.chance(20) {
        out.push_str("loose(X) :- within(X, X), not e0(X);\ndeny X read on Y if loose(Y), e0(X);\n");
    }
    if rng.chance(30) {
        out.push_str("inactive d;\n");
    }
    if rng.chance(20) {
        out.push_str("superuser c;\n");
    }
    out
}

/// A random program of the shape most services check: roles that extend
/// others and grant permissions (some only on pages), scoped and global
/// assignments with `from` and `until`, expiring direct grants, pages in
/// projects, sometimes a deny rule or atoms keyed by `ctx.session`, and no
/// conditional grant, so the
/// plan's `allowed` rules are probes, calls and compiled conditions only
/// (see `warden::internals::eval::plan::linear`). Conditions on the
/// request elsewhere are [`random_timed_program`]'s.
pub fn random_role_program(seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x0001_e5ee);
    let times = ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"];
    let perms = ["read", "write", "share", "comment"];
    let mut out = String::from("page:1 in p1;\npage:2 in p1;\npage:3 in p2;\nc in p2;\n");
    let roles = 2 + rng.below(3);
    for role in 0..roles {
        let extends = if role > 0 && rng.chance(50) { format!(" extends r{}", rng.below(role)) } else { String::new() };
        let mut body = String::new();
        for _ in 0..1 + rng.below(3) {
            let on = if rng.chance(40) { " on page" } else { "" };
            body.push_str(&format!("{}{on}; ", rng.pick(&perms)));
        }
        out.push_str(&format!("role r{role}{extends} {{ {body}}}\n"));
    }
    let bound = |rng: &mut Rng| match rng.below(4) {
        0 => format!(" until {}", rng.pick(&times)),
        1 => format!(" from {}", rng.pick(&times)),
        2 => format!(" from {} until {}", times[0], rng.pick(&times[1..])),
        _ => String::new(),
    };
    for _ in 0..2 + rng.below(5) {
        let who = rng.pick(&CONSTANTS[..4]);
        let scope = match rng.below(3) {
            0 => " on p1".to_string(),
            1 => format!(" on {}", rng.pick(&["page:1", "page:3", "p2"])),
            _ => String::new(),
        };
        let until = bound(&mut rng);
        out.push_str(&format!("assign {who} r{}{scope}{until};\n", rng.below(roles)));
    }
    for _ in 0..rng.below(4) {
        let (who, what, on) = (rng.pick(&CONSTANTS[..4]), rng.pick(&perms), rng.pick(&["page:1", "page:2", "p1", "c"]));
        let until = bound(&mut rng);
        out.push_str(&format!("grant {who} {what} on {on}{until};\n"));
    }
    if rng.chance(50) {
        // A deny rule: the `allowed` rules call `denied`.
        let locked = rng.pick(&["page:1", "page:2", "p1"]);
        out.push_str(&format!("locked({locked});\ndeny U {} on O if locked(O);\n", rng.pick(&perms)));
    }
    if rng.chance(50) {
        // Atoms keyed by the request's context (a missing key: no match, negated or not).
        out.push_str("revoked(s1);\nsession_of(a, s2);\n");
        out.push_str(&format!("allow U {} on O if within(O, p1), not revoked(ctx.session);\n", rng.pick(&perms)));
        out.push_str(&format!("allow U {} on O if session_of(U, ctx.session), within(O, p2);\n", rng.pick(&perms)));
    }
    out
}

/// Constants of every kind: strings (bare, typed ids, quoted), integers
/// (one too wide for a 64-bit word of a linear stratum), timestamps,
/// durations and booleans.
const MIXED: [&str; 13] = [
    "a",
    "b",
    "page:1",
    "user:7",
    "\"x y\"",
    "1",
    "-2",
    "9223372036854775807",
    "2026-01-01T00:00:00Z",
    "2026-06-01T10:00:00Z",
    "7d",
    "true",
    "false",
];
const WIDE_VARS: [&str; 6] = ["X", "Y", "Z", "W", "V", "U"];

/// A random program over relations of arities 1 to 6 whose facts mix every
/// kind of value, with recursion through several relations at once (every
/// derived relation may read every other), negation of base relations,
/// comparisons across kinds (which err for some bindings: SPEC section 5)
/// and arithmetic.
pub fn random_wide_program(seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x0000_71de);
    let mut out = String::new();
    // A few constants per program, so that joins over wide atoms match.
    let values: Vec<&str> = (0..4).map(|_| rng.pick(&MIXED)).collect();
    let base: Vec<(String, usize)> = (0..3).map(|i| (format!("b{i}"), 1 + rng.below(6))).collect();
    for (name, arity) in &base {
        for _ in 0..2 + rng.below(9) {
            let args: Vec<&str> = (0..*arity).map(|_| rng.pick(&values)).collect();
            out.push_str(&format!("{name}({});\n", args.join(", ")));
        }
    }
    let derived: Vec<(String, usize)> = (0..3).map(|i| (format!("w{i}"), 1 + rng.below(6))).collect();
    let atoms: Vec<&(String, usize)> = base.iter().chain(derived.iter()).collect();
    for (head, head_arity) in &derived {
        for _ in 0..1 + rng.below(3) {
            let mut body = Vec::new();
            let mut bound: Vec<&str> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let (name, arity) = atoms[rng.below(atoms.len())];
                let args = atom_args(&mut rng, *arity, (&values, 10), &WIDE_VARS, &mut bound);
                body.push(format!("{name}({})", args.join(", ")));
            }
            if bound.is_empty() {
                let (name, arity) = &base[0];
                let args: Vec<&str> = WIDE_VARS[..*arity].to_vec();
                bound.extend(&args);
                body.push(format!("{name}({})", args.join(", ")));
            }
            if rng.chance(35) {
                let (name, arity) = &base[rng.below(base.len())];
                let args: Vec<&str> = (0..*arity)
                    .map(|_| match rng.below(4) {
                        0 => "_",
                        1 => rng.pick(&values),
                        _ => bound[rng.below(bound.len())],
                    })
                    .collect();
                body.push(format!("not {name}({})", args.join(", ")));
            }
            if rng.chance(35) {
                let left = bound[rng.below(bound.len())];
                let right = if rng.chance(50) { bound[rng.below(bound.len())] } else { rng.pick(&values) };
                body.push(format!("{left} {} {right}", rng.pick(&OPS)));
            }
            if rng.chance(15) {
                let x = bound[rng.below(bound.len())];
                body.push(format!("{x} + 1 > {}", rng.pick(&["0", "2026-01-01T00:00:00Z"])));
            }
            let head_args: Vec<&str> = (0..*head_arity)
                .map(|_| if rng.chance(8) { rng.pick(&values) } else { bound[rng.below(bound.len())] })
                .collect();
            out.push_str(&format!("{head}({}) :- {};\n", head_args.join(", "), body.join(", ")));
        }
    }
    out
}

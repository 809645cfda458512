//! What-if questions answered by re-evaluation: which added facts would make a
//! query hold (repair), which removed facts would deny it (revoke), and when
//! the decision next changes by itself (time). Every answer is checked by
//! evaluating the changed program, so every suggestion is true.

use super::Explainer;
use super::search::{Match, instantiate, unify_head};
use crate::eval::functions::type_of;
use crate::eval::{Additions, Row};
use crate::lower::builtins::{self, STAR};
use crate::lower::ir::{Expr, Fact, Literal, OriginId, RelId, Term, Value};
use std::collections::BTreeSet;

/// Candidate facts tried per question at most (each costs an evaluation).
const MAX_TRIALS: usize = 48;
/// Instants tried when looking for the next change of a decision.
const MAX_INSTANTS: usize = 400;
/// Origin of a fact added by a what-if question.
const WHAT_IF: OriginId = OriginId(u32::MAX);

impl Explainer<'_> {
    /// Whether `rel(row)` holds at `now` with `additions`.
    fn holds_under(&self, now: i64, additions: &Additions, rel: RelId, row: &Row) -> Option<bool> {
        self.tuples.holds_under(now, additions, rel, row)
    }

    /// The smallest added facts (one each) that would make `allowed(u, p, o)`
    /// hold, verified; rendered as policy statements.
    pub fn repairs(&self, row: &Row) -> Vec<String> {
        let (Some(&user), Some(&perm), Some(&object)) = (row.first(), row.get(1), row.get(2)) else { return vec![] };
        let mut candidates: Vec<(RelId, Row)> =
            vec![(builtins::GRANT, vec![user, perm, object, builtins::FOREVER_BEFORE, builtins::FOREVER_AFTER])];
        // Roles that grant `perm` on objects of this type, junior roles first.
        let object_type = match object {
            Value::Sym(s) => type_of(&self.env.symbols.resolve(s)).to_string(),
            _ => String::new(),
        };
        let granting: BTreeSet<Value> = self
            .matching(builtins::ROLE_PERM, &[None, Some(perm), None])
            .iter()
            .filter(|r| match r.get(2) {
                Some(Value::Sym(t)) if *t == STAR => true,
                Some(Value::Sym(t)) => *self.env.symbols.resolve(*t) == *object_type,
                _ => false,
            })
            .filter_map(|r| r.first().copied())
            .collect();
        let mut roles: Vec<(usize, Value)> = granting
            .iter()
            .flat_map(|g| {
                let implying = self.matching(builtins::ROLE_IMPLIES, &[None, Some(*g)]);
                implying.iter().filter_map(|r| r.first().copied()).collect::<Vec<_>>()
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|role| (self.matching(builtins::ROLE_IMPLIES, &[Some(role), None]).len(), role))
            .collect();
        roles.sort();
        let mut scopes: Vec<Value> = vec![object];
        scopes.extend(
            self.matching(builtins::WITHIN, &[Some(object), None])
                .iter()
                .filter(|r| r.get(1) != Some(&object))
                .filter_map(|r| r.get(1).copied()),
        );
        // The scopes the policy assigns on first (a project, if that is how
        // it grants): by how many assignments have a scope of that type.
        let mut per_scope: std::collections::HashMap<Value, usize> = std::collections::HashMap::new();
        for r in self.matching(builtins::ASSIGN, &[None; 5]).iter() {
            if let Some(scope) = r.get(2).filter(|s| **s != Value::Sym(STAR)) {
                *per_scope.entry(*scope).or_default() += 1;
            }
        }
        let type_name = |v: &Value| match v {
            Value::Sym(s) => Some(type_of(&self.env.symbols.resolve(*s)).to_string()),
            _ => None,
        };
        let mut per_type: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (scope, count) in &per_scope {
            if let Some(ty) = type_name(scope) {
                *per_type.entry(ty).or_default() += count;
            }
        }
        let uses = |scope: &Value| type_name(scope).and_then(|ty| per_type.get(&ty).copied()).unwrap_or(0);
        scopes.sort_by_key(|scope| std::cmp::Reverse(uses(scope)));
        scopes.push(Value::Sym(STAR));
        for (_, role) in &roles {
            for scope in &scopes {
                candidates.push((
                    builtins::ASSIGN,
                    vec![user, *role, *scope, builtins::FOREVER_BEFORE, builtins::FOREVER_AFTER],
                ));
            }
        }
        // A direct grant last (but still tried) when the policy grants nothing directly.
        let grant_last = self.matching(builtins::GRANT, &[None; 5]).is_empty();
        let grant = grant_last.then(|| candidates.remove(0));
        // The statement adding `rel(tuple)`, if it makes the request hold.
        let repairs = |rel: RelId, tuple: Row| {
            let mut additions = self.additions.clone();
            additions.facts.push(Fact { rel, tuple: tuple.clone(), origin: WHAT_IF });
            (self.holds_under(self.env.now, &additions, builtins::ALLOWED, row) == Some(true))
                .then(|| self.statement(rel, &tuple))
        };
        // Tried in order until five are found; a deferred grant keeps the last trial.
        let budget = MAX_TRIALS - usize::from(grant.is_some());
        let mut found = Vec::new();
        let mut trials = 0;
        for (rel, tuple) in candidates {
            if trials >= budget || found.len() >= 5 {
                break;
            }
            trials += 1;
            found.extend(repairs(rel, tuple));
        }
        // Then groups (containers of some member) that hold the permission
        // there: read only when reached, since who holds it is a wide question.
        if trials < budget && found.len() < 5 {
            let groups: BTreeSet<Value> =
                self.matching(builtins::PARENT, &[None, None]).iter().filter_map(|r| r.get(1).copied()).collect();
            for r in self.matching(builtins::HAS_PERM, &[None, Some(perm), Some(object)]).iter() {
                let Some(&group) = r.first().filter(|g| groups.contains(g) && **g != user) else { continue };
                if trials >= budget || found.len() >= 5 {
                    break;
                }
                trials += 1;
                found.extend(repairs(builtins::PARENT, vec![user, group]));
            }
        }
        if let Some((rel, tuple)) = grant.filter(|_| found.len() < 5) {
            found.extend(repairs(rel, tuple));
        }
        found
    }

    /// A base fact as the statement that would add it.
    pub fn statement(&self, rel: RelId, tuple: &[Value]) -> String {
        let text = self.gloss(rel, tuple);
        let internal =
            self.checked.program.relation(rel).is_some_and(|r| r.kind == crate::lower::ir::RelationKind::Internal);
        if rel == builtins::PARENT
            || rel == builtins::ASSIGN
            || rel == builtins::GRANT
            || rel == builtins::SUPERUSER
            || rel == builtins::INACTIVE
        {
            format!("{text};")
        } else if internal || rel == builtins::ROLE_EXTENDS {
            text
        } else {
            let values: Vec<Option<Value>> = tuple.iter().map(|v| Some(*v)).collect();
            format!("{};", self.atom_text(rel, &values))
        }
    }

    /// Every base fact some derivation of `rel(row)` uses.
    pub fn lineage(&self, rel: RelId, row: &Row) -> Vec<(RelId, Row)> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut stack = vec![(rel, row.clone())];
        while let Some((rel, row)) = stack.pop() {
            if !seen.insert((rel, row.clone())) || seen.len() > 20_000 {
                continue;
            }
            if self.base_origin(rel, &row).is_some() && rel != builtins::ROLE {
                out.insert((rel, row.clone()));
            }
            for id in self.by_head.get(&rel).into_iter().flatten() {
                let Some(Some(rule)) = self.rules.get(id.0 as usize) else { continue };
                let target: Vec<Option<Value>> = row.iter().map(|v| Some(*v)).collect();
                let Some(start) = unify_head(&rule.head, &target) else { continue };
                let Match::Holds(bindings) = self.match_body(rule, start) else { continue };
                for b in bindings.iter().take(256) {
                    for literal in &rule.body {
                        if let Literal::Pos(a) = literal {
                            stack.push((a.rel, instantiate(a, b).into_iter().flatten().collect()));
                        }
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// The smallest sets of base facts (one or two) whose removal makes
    /// `rel(row)` fail, verified; rendered as statements.
    pub fn revocations(&self, rel: RelId, row: &Row) -> Vec<Vec<String>> {
        let lineage = self.lineage(rel, row);
        let fails_without = |facts: &[&(RelId, Row)]| {
            let mut additions = self.additions.clone();
            additions.removed.extend(facts.iter().map(|f| (*f).clone()));
            self.holds_under(self.env.now, &additions, rel, row) == Some(false)
        };
        let mut trials = 0;
        let mut singles = Vec::new();
        for fact in &lineage {
            trials += 1;
            if trials > MAX_TRIALS * 4 {
                break;
            }
            if fails_without(&[fact]) {
                singles.push(fact);
            }
        }
        let mut out: Vec<Vec<String>> = singles.iter().map(|f| vec![self.statement(f.0, &f.1)]).collect();
        if out.is_empty() {
            let rest: Vec<&(RelId, Row)> = lineage.iter().collect();
            'pairs: for (i, a) in rest.iter().enumerate() {
                for b in rest.iter().skip(i + 1) {
                    trials += 1;
                    if trials > MAX_TRIALS * 6 || out.len() >= 5 {
                        break 'pairs;
                    }
                    if fails_without(&[a, b]) {
                        out.push(vec![self.statement(a.0, &a.1), self.statement(b.0, &b.1)]);
                    }
                }
            }
        }
        out
    }

    /// The next instant after the request time at which `rel(row)` changes,
    /// with the facts whose bounds fall then. `None` when it does not change
    /// within the bounds of the data (and the next week, for clock conditions).
    pub fn next_change(&self, rel: RelId, row: &Row) -> Option<(i64, bool, Vec<String>)> {
        let now = self.env.now;
        let holds_now = self.holds(rel, row);
        let mut instants: BTreeSet<i64> = BTreeSet::new();
        let mut bounded: Vec<(i64, String)> = Vec::new();
        for bounded_rel in [builtins::ASSIGN, builtins::GRANT] {
            for r in self.matching(bounded_rel, &[None; 5]).iter() {
                for at in [3, 4] {
                    if let Some(Value::Time(t)) = r.get(at)
                        && *t > now
                        && *t != i64::MAX
                    {
                        instants.insert(*t);
                        bounded.push((*t, self.statement(bounded_rel, r)));
                    }
                }
            }
        }
        if self.reads_clock() {
            let hour = 3_600 * crate::time::MICROS_PER_SEC;
            let first = (now.div_euclid(hour) + 1) * hour;
            instants.extend((0..24 * 8).map(|h| first + h * hour));
        }
        for t in instants.into_iter().take(MAX_INSTANTS) {
            if self.holds_under(t, self.additions, rel, row) == Some(!holds_now) {
                let causes = bounded.iter().filter(|(at, _)| *at == t).map(|(_, s)| s.clone()).collect();
                return Some((t, !holds_now, causes));
            }
        }
        None
    }

    /// Whether any rule besides the built-in bounds reads the clock.
    fn reads_clock(&self) -> bool {
        fn uses_now(e: &Expr) -> bool {
            let mut found = false;
            e.walk(&mut |e| found |= matches!(e, Expr::Term(Term::Now)));
            found
        }
        let program = &self.checked.program;
        program.fns.iter().any(|f| uses_now(&f.body))
            || program.rules.iter().filter(|r| r.head.rel != builtins::ASSIGNED && r.head.rel != builtins::GRANTED).any(
                |r| {
                    r.body.iter().any(|l| match l {
                        Literal::Cond(e) => uses_now(e),
                        Literal::Pos(a) | Literal::Neg(a) => a.args.contains(&Term::Now),
                        _ => false,
                    })
                },
            )
    }
}

impl Explainer<'_> {
    /// Facts about an `allowed(u, p, o)` that does not hold: an inactive
    /// subject, the roles held and the roles that would grant, assignments and
    /// grants outside their time bounds.
    pub fn allowed_notes(&self, row: &Row) -> Vec<String> {
        let (Some(&user), Some(&perm), Some(&object)) = (row.first(), row.get(1), row.get(2)) else { return vec![] };
        let (u, p, o) = (self.value(user), self.value(perm), self.value(object));
        let mut notes = Vec::new();
        if self.holds(builtins::INACTIVE, &vec![user]) {
            notes.push(format!("{u} is inactive: allowed nothing, whatever it holds"));
        }
        let held: Vec<Value> = self
            .matching(builtins::HAS_ROLE, &[Some(user), None, Some(object)])
            .iter()
            .filter_map(|r| r.get(1).copied())
            .collect();
        // Assignments and grants of the subject (or its groups) outside their
        // bounds, on the object or a container of it (a grant: of `perm`).
        let mut subjects: BTreeSet<Value> =
            self.matching(builtins::WITHIN, &[Some(user), None]).iter().filter_map(|r| r.get(1).copied()).collect();
        subjects.insert(user);
        let containers: BTreeSet<Value> =
            self.matching(builtins::WITHIN, &[Some(object), None]).iter().filter_map(|r| r.get(1).copied()).collect();
        let covers = |scope: Option<&Value>| scope.is_some_and(|c| *c == Value::Sym(STAR) || containers.contains(c));
        // A role whose entries (through the roles it implies) include `perm`.
        let grants_perm = |role: Value| {
            self.matching(builtins::ROLE_IMPLIES, &[Some(role), None])
                .iter()
                .filter_map(|r| r.get(1).copied())
                .any(|junior| !self.matching(builtins::ROLE_PERM, &[Some(junior), Some(perm), None]).is_empty())
        };
        for rel in [builtins::ASSIGN, builtins::GRANT] {
            for subject in &subjects {
                for r in self.matching(rel, &[Some(*subject), None, None, None, None]).iter() {
                    let (Some(what), Some(scope)) = (r.get(1), r.get(2)) else { continue };
                    let relevant = if rel == builtins::GRANT { *what == perm } else { grants_perm(*what) };
                    if !covers(Some(scope)) || !relevant {
                        continue;
                    }
                    let statement = self.statement(rel, r).trim_end_matches(';').to_string();
                    match (r.get(3), r.get(4)) {
                        (_, Some(Value::Time(until))) if *until <= self.env.now => {
                            notes.push(format!("`{statement}` expired at {}", crate::time::format_timestamp(*until)));
                        }
                        (Some(Value::Time(from)), _) if *from > self.env.now => {
                            notes.push(format!("`{statement}` starts at {}", crate::time::format_timestamp(*from)));
                        }
                        _ => {}
                    }
                }
            }
        }
        // Role notes when nothing permits it (a deny blocking a permission
        // is shown beside it instead).
        // (Not in a program without roles: they would only say so.)
        let has_roles = !self.matching(builtins::ROLE, &[None]).is_empty();
        if has_roles && !self.holds(builtins::PERMITTED, row) {
            notes.extend(self.role_notes(&held, perm, object, (&u, &p, &o)));
        }
        notes
    }

    /// What the roles `held` (by the subject on `object`) and the policy's
    /// role entries say about `perm`: that no held role has an entry for it,
    /// or the entry's type or condition that does not fit this request.
    fn role_notes(&self, held: &[Value], perm: Value, object: Value, (u, p, o): (&str, &str, &str)) -> Vec<String> {
        // Every role entry for `perm`: (role, type, the entry's rule when conditional).
        let program = &self.checked.program;
        let mut entries: Vec<(Value, Value, Option<OriginId>)> = program
            .facts
            .iter()
            .filter(|f| f.rel == builtins::ROLE_PERM && f.tuple.get(1) == Some(&perm))
            .filter_map(|f| Some((*f.tuple.first()?, *f.tuple.get(2)?, None)))
            .collect();
        entries.extend(program.rules.iter().filter(|r| r.head.rel == builtins::ROLE_PERM).filter_map(|r| {
            match r.head.args.as_slice() {
                [Term::Const(role), Term::Const(q), Term::Const(ty)] if *q == perm => {
                    Some((*role, *ty, Some(r.origin)))
                }
                _ => None,
            }
        }));
        let implies = |senior: Value, junior: Value| self.holds(builtins::ROLE_IMPLIES, &vec![senior, junior]);
        // Names as the program spells them (not quoted for display).
        let name_of = |v: Value| match v {
            Value::Sym(sym) => self.env.symbols.resolve(sym).to_string(),
            other => self.value(other),
        };
        let object_type = type_of(&name_of(object)).to_string();
        let mut notes = Vec::new();
        if held.is_empty() {
            notes.push(format!("{u} holds no role on {o}"));
        }
        let mut silent = Vec::new();
        for &role in held {
            let name = self.value(role);
            let reachable: Vec<&(Value, Value, Option<OriginId>)> =
                entries.iter().filter(|(r, _, _)| implies(role, *r)).collect();
            if reachable.is_empty() {
                silent.push(name.clone());
            }
            for (entry_role, ty, rule) in reachable {
                let via =
                    if *entry_role == role { String::new() } else { format!(" (through {})", self.value(*entry_role)) };
                if *ty != Value::Sym(builtins::STAR) && name_of(*ty) != object_type {
                    let is = if object_type == "_" { "has no type".to_string() } else { format!("is a {object_type}") };
                    notes.push(format!(
                        "{u} holds {name} on {o}; its entry for {p}{via} is on objects of type {}, and {o} {is}",
                        self.value(*ty)
                    ));
                } else if let Some(origin) = rule {
                    let entry =
                        (self.locate)(*origin).map(|(at, text)| format!("`{}` ({at})", text.trim_end_matches(';')));
                    let entry = entry.unwrap_or_else(|| "its entry".into());
                    let when = crate::time::format_timestamp(self.env.now);
                    let erred = self.tuples.errors().into_iter().find(|(o, _)| o == origin).map(|(_, e)| e);
                    notes.push(match erred {
                        Some(error) => format!(
                            "{u} holds {name} on {o}; its entry for {p}{via} has a condition, {entry}, that erred at {when} ({error}), which never grants"
                        ),
                        None => format!(
                            "{u} holds {name} on {o}; its entry for {p}{via} has a condition, {entry}, that does not hold at {when}"
                        ),
                    });
                }
            }
        }
        // After the entries that came closest (a condition, a type): the nearest miss first.
        match silent.as_slice() {
            [] => {}
            [one] => notes.push(format!("{u} holds {one} on {o}, which does not grant {p}")),
            many => notes.push(format!("{u} holds {} on {o}, none of which grants {p}", many.join(", "))),
        }
        let mut granting: Vec<String> =
            (entries.iter().map(|(r, _, _)| self.value(*r)).collect::<BTreeSet<String>>()).into_iter().collect();
        if granting.is_empty() {
            notes.push(format!("no role has an entry for {p}"));
        } else {
            granting.dedup();
            notes.push(format!("roles with an entry for {p}: {}", granting.join(", ")));
        }
        notes
    }
}

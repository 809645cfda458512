//! Lints: warnings about programs that are valid but probably not what was
//! meant. `warden check` prints them; `--deny-warnings` makes them errors.

use super::Checked;
use crate::diagnostics::{Diagnostic, Severity};
use crate::lower::ir::{Expr, Literal, Origin, Program, RelId, Rule, Term, Value, VarId};
use crate::lower::{RuleSpans, builtins};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn warning(message: String, span: crate::syntax::span::Span, label: &str) -> Diagnostic {
    Diagnostic { severity: Severity::Warning, ..Diagnostic::error(message, span, label) }
}

pub(super) fn span_of(program: &Program, origin: crate::lower::ir::OriginId) -> Option<crate::syntax::span::Span> {
    match program.origin(origin) {
        Some(Origin::Source(span)) => Some(*span),
        _ => None,
    }
}

fn name(program: &Program, v: Value) -> String {
    match v {
        Value::Sym(s) => program.symbols.resolve(s).map_or_else(|| "?".into(), |n| n.to_string()),
        other => format!("{other:?}"),
    }
}

/// Every lint of the program, at request time `now` (for expired assignments).
pub fn lints(checked: &Checked, spans: &[RuleSpans], now: i64) -> Vec<Diagnostic> {
    let program = &checked.program;
    let mut out = Vec::new();
    unused_roles(program, &mut out);
    ungranted_permissions(program, &mut out);
    dead_rules(program, spans, &mut out);
    shadowed_allows(program, &mut out);
    expired_assignments(program, now, &mut out);
    single_use_variables(program, spans, &mut out);
    denies_skipped_without_ctx(program, &mut out);
    exponential_fns(program, &mut out);
    holdings_that_never_hold(program, &mut out);
    types_no_constant_has(program, &mut out);
    super::joins::joins_across_kinds(program, spans, &mut out);
    super::joins::joins_across_declared_types(program, spans, &mut out);
    out.sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
    out
}

/// A role no one is assigned (in the program or a test) and no role extends.
fn unused_roles(program: &Program, out: &mut Vec<Diagnostic>) {
    let test_facts = program.tests.iter().flat_map(|t| t.facts.iter());
    let assigned: BTreeSet<Value> = program
        .facts
        .iter()
        .chain(test_facts)
        .filter(|f| f.rel == builtins::ASSIGN)
        .filter_map(|f| f.tuple.get(1).copied())
        .collect();
    let extended: BTreeSet<Value> = program
        .facts
        .iter()
        .filter(|f| f.rel == builtins::ROLE_EXTENDS)
        .filter_map(|f| f.tuple.get(1).copied())
        .collect();
    for fact in program.facts.iter().filter(|f| f.rel == builtins::ROLE) {
        let Some(role) = fact.tuple.first() else { continue };
        if !assigned.contains(role)
            && !extended.contains(role)
            && let Some(span) = span_of(program, fact.origin)
        {
            let role = name(program, *role);
            out.push(
                warning(format!("role `{role}` is never assigned and no role extends it"), span, "unused role")
                    .with_help(format!("assign it (`assign USER {role};`) or remove it")),
            );
        }
    }
}

/// A permission named in a `grant` or an `allow`/`deny` that no role grants and no test asks about.
fn ungranted_permissions(program: &Program, out: &mut Vec<Diagnostic>) {
    let granted_by_roles: BTreeSet<Value> =
        program.facts.iter().filter(|f| f.rel == builtins::ROLE_PERM).filter_map(|f| f.tuple.get(1).copied()).collect();
    let mut role_rules: BTreeSet<Value> = BTreeSet::new();
    for rule in program.rules.iter().filter(|r| r.head.rel == builtins::ROLE_PERM) {
        if let Some(Term::Const(p)) = rule.head.args.get(1) {
            role_rules.insert(*p);
        }
    }
    let asked: BTreeSet<Value> =
        program.tests.iter().flat_map(|t| t.asserts.iter()).flat_map(|a| a.atom.constants()).collect();
    let mut reported = BTreeSet::new();
    let mut mentions: Vec<(Value, crate::lower::ir::OriginId)> = Vec::new();
    for fact in program.facts.iter().filter(|f| f.rel == builtins::GRANT) {
        if let Some(p) = fact.tuple.get(1) {
            mentions.push((*p, fact.origin));
        }
    }
    for rule in program.rules.iter().filter(|r| r.head.rel == builtins::PERMITTED || r.head.rel == builtins::DENIED) {
        if let Some(Term::Const(p)) = rule.head.args.get(1) {
            mentions.push((*p, rule.origin));
        }
    }
    for (perm, origin) in mentions {
        if granted_by_roles.contains(&perm)
            || role_rules.contains(&perm)
            || asked.contains(&perm)
            || !reported.insert(perm)
        {
            continue;
        }
        if let Some(span) = span_of(program, origin) {
            let perm = name(program, perm);
            out.push(
                warning(
                    format!("no role grants `{perm}` and no test asks about it"),
                    span,
                    "permission used here only",
                )
                .with_help("check the spelling, or add it to a role or a test"),
            );
        }
    }
}

/// Relations that can hold a tuple: base facts, or a rule whose positive
/// body relations all can.
fn possibly_nonempty(program: &Program) -> BTreeSet<RelId> {
    let mut live: BTreeSet<RelId> = program.facts.iter().map(|f| f.rel).collect();
    live.insert(builtins::ADOM);
    loop {
        let before = live.len();
        for rule in &program.rules {
            let all = rule.body.iter().all(|l| match l {
                Literal::Pos(a) => live.contains(&a.rel),
                _ => true,
            });
            if all {
                live.insert(rule.head.rel);
            }
        }
        if live.len() == before {
            return live;
        }
    }
}

/// A user rule that can never fire: a positive body relation is always empty
/// outside tests.
fn dead_rules(program: &Program, spans: &[RuleSpans], out: &mut Vec<Diagnostic>) {
    let live = possibly_nonempty(program);
    for (index, rule) in program.rules.iter().enumerate() {
        let Some(span) = span_of(program, rule.origin) else { continue };
        let body_spans = &RuleSpans::of(spans, index).body;
        let dead = rule.body.iter().enumerate().find_map(|(i, l)| match l {
            Literal::Pos(a) if !live.contains(&a.rel) => Some((a.rel, body_spans.get(i).copied().flatten())),
            _ => None,
        });
        if let Some((rel, literal_span)) = dead {
            let rel_name = program.relation_name(rel);
            out.push(
                warning(
                    format!("this rule can never fire: `{rel_name}` is always empty (outside tests)"),
                    literal_span.unwrap_or(span),
                    "always empty",
                )
                .with_help(format!("add facts or rules for `{rel_name}`, or remove the rule")),
            );
        }
    }
}

/// The body of a rule without its active-domain literals, as text keys.
fn conditions(rule: &Rule) -> BTreeSet<String> {
    rule.body.iter().filter(|l| !matches!(l, Literal::Domain(_))).map(|l| format!("{}", LiteralKey(l, rule))).collect()
}

struct LiteralKey<'a>(&'a Literal, &'a Rule);

impl std::fmt::Display for LiteralKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Variables by name, so two rules' literals compare by how they read.
        let named = |v: &VarId| self.1.var_names.get(v.0 as usize).cloned().unwrap_or_default();
        let text = format!("{:?}", self.0);
        let mut out = text;
        for (i, n) in self.1.var_names.iter().enumerate().rev() {
            out = out.replace(
                &format!("Var(VarId({i}))"),
                &format!("Var({})", if n == "_" { format!("_{i}") } else { named(&VarId(i as u32)) }),
            );
        }
        f.write_str(&out)
    }
}

/// An `allow` that a `deny` fully shadows: the deny's head covers it and its
/// conditions are a subset of the allow's.
fn shadowed_allows(program: &Program, out: &mut Vec<Diagnostic>) {
    let denies: Vec<&Rule> = program.rules.iter().filter(|r| r.head.rel == builtins::DENIED).collect();
    for allow in program.rules.iter().filter(|r| r.head.rel == builtins::PERMITTED) {
        let Some(span) = span_of(program, allow.origin) else { continue };
        let allow_conditions = conditions(allow);
        for deny in &denies {
            let covers = deny.head.args.iter().zip(&allow.head.args).all(|(d, a)| match (d, a) {
                (Term::Var(_), _) => true,
                (Term::Const(x), Term::Const(y)) => x == y,
                _ => false,
            });
            let head_vars_renamed = deny.head.args.iter().zip(&allow.head.args).all(|(d, a)| match (d, a) {
                (Term::Var(dv), Term::Var(av)) => {
                    deny.var_names.get(dv.0 as usize) == allow.var_names.get(av.0 as usize)
                }
                _ => true,
            });
            if covers && head_vars_renamed && conditions(deny).is_subset(&allow_conditions) {
                let mut d =
                    warning("this `allow` never takes effect: a `deny` always overrides it".into(), span, "shadowed");
                if let Some(deny_span) = span_of(program, deny.origin) {
                    d = d.with_note(deny_span, "this deny covers every case the allow grants");
                }
                out.push(d);
                break;
            }
        }
    }
}

/// An `assign ... until` already in the past at `now`.
fn expired_assignments(program: &Program, now: i64, out: &mut Vec<Diagnostic>) {
    for fact in program.facts.iter().filter(|f| f.rel == builtins::ASSIGN || f.rel == builtins::GRANT) {
        if let Some(Value::Time(until)) = fact.tuple.get(4)
            && *until <= now
            && let Some(span) = span_of(program, fact.origin)
        {
            let kind = if fact.rel == builtins::ASSIGN { "assignment" } else { "grant" };
            out.push(
                warning(
                    format!("this {kind} expired at {}", crate::time::format_timestamp(*until)),
                    span,
                    "already expired",
                )
                .with_help("remove it, or check the `until` date"),
            );
        }
    }
}

/// A variable that occurs once in a user rule's body (head variables of
/// `allow`/`deny` rules mean "any" and are exempt): likely a typo; `_` silences it.
fn single_use_variables(program: &Program, spans: &[RuleSpans], out: &mut Vec<Diagnostic>) {
    for (index, rule) in program.rules.iter().enumerate() {
        let var_spans = &RuleSpans::of(spans, index).vars;
        if var_spans.is_empty() || span_of(program, rule.origin).is_none() {
            continue;
        }
        let mut counts: BTreeMap<VarId, usize> = BTreeMap::new();
        let count_terms = |args: &[Term], counts: &mut BTreeMap<VarId, usize>| {
            for t in args {
                if let Term::Var(v) = t {
                    *counts.entry(*v).or_default() += 1;
                }
            }
        };
        count_terms(&rule.head.args, &mut counts);
        for literal in &rule.body {
            match literal {
                Literal::Pos(a) | Literal::Neg(a) => count_terms(&a.args, &mut counts),
                Literal::Cond(e) => count_expr(e, &mut counts),
                Literal::Member(v, items) => {
                    *counts.entry(*v).or_default() += 1;
                    items.iter().for_each(|i| count_expr(i, &mut counts));
                }
                Literal::Domain(_) => {}
            }
        }
        let access = rule.head.rel == builtins::PERMITTED || rule.head.rel == builtins::DENIED;
        let head_vars: BTreeSet<VarId> = rule.head.vars().collect();
        for (v, n) in counts {
            let var_name = rule.var_names.get(v.0 as usize).map_or("_", String::as_str);
            if n != 1 || var_name.starts_with('_') || (access && head_vars.contains(&v)) {
                continue;
            }
            if let Some(span) = var_spans.get(v.0 as usize) {
                out.push(
                    warning(format!("variable `{var_name}` is used only once"), *span, "used once")
                        .with_help("a typo? if it is meant to match anything, write `_`"),
                );
            }
        }
    }
}

/// Counts every occurrence of a variable in an expression.
fn count_expr(e: &Expr, counts: &mut BTreeMap<VarId, usize>) {
    super::visit_vars(e, &mut |v| *counts.entry(v).or_default() += 1);
}

/// A `deny` rule whose firing needs a `ctx` key (read in a condition, a `fn`
/// it calls, an atom, or a relation it reads positively): a request that
/// omits the key makes that literal false (SPEC section 5), so the deny is
/// skipped: fail-open. Reading the key under `not` is the safe way round.
fn denies_skipped_without_ctx(program: &Program, out: &mut Vec<Diagnostic>) {
    let fns = fn_ctx_keys(program);
    // The ctx keys each relation's rules need, through positive atoms.
    let mut needs: BTreeMap<RelId, BTreeSet<String>> = BTreeMap::new();
    loop {
        let mut changed = false;
        for rule in program.rules.iter().filter(|r| r.head.rel != builtins::DENIED) {
            let keys = ctx_keys_needed(program, rule, &fns, &needs);
            let entry = needs.entry(rule.head.rel).or_default();
            let before = entry.len();
            entry.extend(keys);
            changed |= entry.len() != before;
        }
        if !changed {
            break;
        }
    }
    for deny in program.rules.iter().filter(|r| r.head.rel == builtins::DENIED) {
        let Some(span) = span_of(program, deny.origin) else { continue };
        let keys = ctx_keys_needed(program, deny, &fns, &needs);
        let Some(key) = keys.iter().next() else { continue };
        out.push(
            warning(
                format!(
                    "this `deny` is skipped by a request without `ctx.{key}`: a missing key makes its literal false"
                ),
                span,
                "fails open when the key is missing",
            )
            .with_help(format!(
                "state what is safe and deny its absence, so a request without the key is denied too: \
                 `trusted(request) :- ctx.{key} ...;` and `deny U P on O if not trusted(request);`"
            )),
        );
    }
}

/// The `ctx` keys a rule's positive literals read, directly, through a
/// called `fn`, or through relations in `needs`.
fn ctx_keys_needed(
    program: &Program,
    rule: &Rule,
    fns: &[BTreeSet<String>],
    needs: &BTreeMap<RelId, BTreeSet<String>>,
) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for literal in &rule.body {
        match literal {
            Literal::Pos(atom) => {
                for t in &atom.args {
                    if let Term::Ctx(key) = t {
                        keys.extend(program.symbols.resolve(*key).map(|k| k.to_string()));
                    }
                }
                keys.extend(needs.get(&atom.rel).into_iter().flatten().cloned());
            }
            Literal::Cond(e) => expr_ctx_keys(program, e, fns, &mut keys),
            Literal::Member(_, items) => items.iter().for_each(|e| expr_ctx_keys(program, e, fns, &mut keys)),
            Literal::Neg(_) | Literal::Domain(_) => {}
        }
    }
    keys
}

/// The `ctx` keys each `fn` reads, its own or its callees' (each body looked
/// at once: analysis refuses recursion, so callees come first in a walk).
fn fn_ctx_keys(program: &Program) -> Vec<BTreeSet<String>> {
    let mut keys = vec![BTreeSet::new(); program.fns.len()];
    for i in program.fns_callees_first() {
        let mut own = BTreeSet::new();
        if let Some(def) = program.fns.get(i) {
            expr_ctx_keys(program, &def.body, &keys, &mut own);
        }
        if let Some(slot) = keys.get_mut(i) {
            *slot = own;
        }
    }
    keys
}

/// The `ctx` keys an expression reads itself, and those of the `fn`s it
/// calls as `fns` knows them.
fn expr_ctx_keys(program: &Program, e: &Expr, fns: &[BTreeSet<String>], keys: &mut BTreeSet<String>) {
    match e {
        Expr::Term(Term::Ctx(key)) => keys.extend(program.symbols.resolve(*key).map(|k| k.to_string())),
        Expr::Term(_) | Expr::Param(_) => {}
        Expr::Call(callee, args) => {
            if let crate::lower::ir::Callee::Fn(i) = callee {
                keys.extend(fns.get(*i as usize).into_iter().flatten().cloned());
            }
            args.iter().for_each(|a| expr_ctx_keys(program, a, fns, keys));
        }
        Expr::Not(inner) => expr_ctx_keys(program, inner, fns, keys),
        Expr::Binary(_, l, r) => {
            expr_ctx_keys(program, l, fns, keys);
            expr_ctx_keys(program, r, fns, keys);
        }
        Expr::InList(x, items) => {
            expr_ctx_keys(program, x, fns, keys);
            items.iter().for_each(|i| expr_ctx_keys(program, i, fns, keys));
        }
    }
}

/// A `fn` whose evaluation makes more calls than one evaluation may (a `fn`
/// calling another twice, which calls another twice, ...): every condition
/// using it errs (and so never grants).
fn exponential_fns(program: &Program, out: &mut Vec<Diagnostic>) {
    let limit = crate::lower::ir::MAX_CALLS;
    // Calls one evaluation of each fn's body makes, at worst (every branch):
    // one per call site plus what the callee makes (saturating).
    let mut made = vec![0usize; program.fns.len()];
    for i in program.fns_callees_first() {
        let mut callees = Vec::new();
        if let Some(def) = program.fns.get(i) {
            def.body.fn_calls(&mut callees);
        }
        let calls = callees
            .iter()
            .fold(0usize, |acc, c| acc.saturating_add(1).saturating_add(made.get(*c as usize).copied().unwrap_or(0)));
        if let Some(slot) = made.get_mut(i) {
            *slot = calls;
        }
        if calls > limit
            && let Some(def) = program.fns.get(i)
        {
            let shown = if calls == usize::MAX { "more than 2^64".to_string() } else { calls.to_string() };
            out.push(
                warning(
                    format!("evaluating `{}` makes up to {shown} fn calls, more than the limit of {limit}", def.name),
                    def.span,
                    "exponential calls",
                )
                .with_help("every condition using it fails with an error (which never grants); call each fn once, or combine them"),
            );
        }
    }
}

/// An assignment or grant whose `from` is at or after its `until`: it never
/// holds.
fn holdings_that_never_hold(program: &Program, out: &mut Vec<Diagnostic>) {
    for fact in program.facts.iter().filter(|f| f.rel == builtins::ASSIGN || f.rel == builtins::GRANT) {
        if let (Some(Value::Time(from)), Some(Value::Time(until))) = (fact.tuple.get(3), fact.tuple.get(4))
            && from >= until
            && let Some(span) = span_of(program, fact.origin)
        {
            let kind = if fact.rel == builtins::ASSIGN { "assignment" } else { "grant" };
            out.push(
                warning(format!("this {kind} never holds: `from` is at or after `until`"), span, "empty interval")
                    .with_help("`from` is inclusive and `until` exclusive: swap them, or fix one date"),
            );
        }
    }
}

/// A role entry `on TYPE`, or a declared column type, naming a type that no
/// constant has (a typo such as `on pgae`, or `integer` for `int`).
fn types_no_constant_has(program: &Program, out: &mut Vec<Diagnostic>) {
    let types = program.constant_types();
    let hint = |ty: &str, candidates: &BTreeSet<String>| {
        crate::lower::closest(ty, candidates.iter()).map(|near| format!("did you mean `{near}`?"))
    };
    for fact in program.facts.iter().filter(|f| f.rel == builtins::ROLE_PERM) {
        let Some(Value::Sym(ty)) = fact.tuple.get(2) else { continue };
        if *ty == builtins::STAR {
            continue;
        }
        let ty = name(program, Value::Sym(*ty));
        if types.contains(&ty) {
            continue;
        }
        let Some(span) = span_of(program, fact.origin) else { continue };
        let mut d = warning(format!("no constant has the type `{ty}`"), span, "this entry grants nothing yet");
        if let Some(help) = hint(&ty, &types) {
            d = d.with_help(help);
        }
        out.push(d);
    }
    let basic: BTreeSet<String> =
        ["string", "int", "timestamp", "duration", "bool", "any"].iter().map(|s| s.to_string()).collect();
    for relation in &program.relations {
        let Some((columns, span)) = &relation.columns else { continue };
        for ty in columns.iter().flat_map(|c| c.0.iter()) {
            if basic.contains(ty) || types.contains(ty) {
                continue;
            }
            let mut d = warning(
                format!("`{ty}` is no built-in type, and no constant has it as a type"),
                *span,
                "in this declaration",
            );
            let synonym = match ty.as_str() {
                "integer" | "number" | "i64" => Some("int"),
                "str" | "text" | "name" => Some("string"),
                "boolean" => Some("bool"),
                "time" | "datetime" | "date" => Some("timestamp"),
                _ => None,
            };
            let candidates: BTreeSet<String> = basic.iter().chain(&types).cloned().collect();
            let help = synonym.map(|s| format!("did you mean `{s}`?")).or_else(|| hint(ty, &candidates));
            if let Some(help) = help {
                d = d.with_help(help);
            }
            out.push(d);
        }
    }
}

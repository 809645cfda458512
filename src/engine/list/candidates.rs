//! The names a listing checks, a superset of those it answers:
//!
//! - for a list of allowed values, those the compiled plan derives with
//!   the listed column of `allowed` left free (the pages within alice's
//!   projects), or, where it cannot, every name of the program;
//! - for the exceptions to "every value but these", only the names that
//!   can be exceptions: those in the facts of the relations that can take
//!   a permission away (`RuleFacts::adverse`, where the argument is);
//! - in both, the names the request brings (its two bound names, its
//!   `ctx` values read as constants, as a check reads them) and those the
//!   rules name.

use crate::engine::request::Resolved;
use crate::engine::{Engine, RequestOptions};
use crate::eval::plan::run::Run;
use crate::eval::render::is_wildcard;
use crate::lower::builtins::{ALLOWED, STAR};
use crate::lower::intern::{FRESH, Sym, Symbols};
use crate::lower::ir::Value;
use crate::lower::request::context;
use std::ops::ControlFlow;

/// Which column of `allowed` a listing leaves free.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// The object (`allowed(b, b, f)`).
    Objects,
    /// The subject (`allowed(f, b, b)`).
    Subjects,
}

impl Engine {
    /// The names to check for the free column (`side`) given the `bound`
    /// two and the names the request's `context` stands for (see
    /// [`Engine::context_names`]), those of the type `head` starts (`page:`;
    /// empty: any), sorted: the possible exceptions when `every`, else the
    /// possibly allowed.
    pub(super) fn candidates(
        &self,
        side: Side,
        bound: [&str; 2],
        every: bool,
        head: &str,
        context: &[String],
        options: &RequestOptions,
    ) -> Vec<String> {
        let mut names = if every {
            self.named(head, true, &|_| true)
        } else if let Some(found) = self.enumerated(side, bound, options) {
            found
        } else if side == Side::Subjects {
            // The values of the kind of a subject, and the constants rules name.
            let program = &self.checked().program;
            let kind = self.column_kinds.kind_of(ALLOWED, 0);
            let admitted = self.kinds.get_or_init(|| self.column_kinds.admitted(program.facts.iter()));
            let named_by_rules = &self.rules.named_by_rules;
            let subject_like = |sym: Sym| {
                named_by_rules.contains(&sym) || kind.is_none_or(|kind| admitted.admits(kind, Value::Sym(sym)))
            };
            self.named(head, false, &subject_like)
        } else {
            self.named(head, false, &|_| true)
        };
        let symbols = &self.checked().program.symbols;
        let by_rules = (self.rules.named_by_rules.iter())
            .filter(|sym| !FRESH.contains(sym))
            .filter_map(|sym| symbols.resolve(*sym))
            .map(|name| name.to_string());
        names.extend(by_rules);
        names.extend(bound.iter().filter(|name| !is_wildcard(name)).map(|name| name.to_string()));
        names.extend(context.iter().cloned());
        names.retain(|name| name.starts_with(head) && name.len() > head.len() && !is_wildcard(name));
        names.sort();
        names.dedup();
        names
    }

    /// The names the request's `ctx` values stand for, read as a check
    /// reads them (`"page:7"`, quoted, is `page:7`).
    pub(super) fn context_names(&self, options: &RequestOptions) -> Vec<String> {
        let symbols = Symbols::new(&self.checked().program.symbols);
        let values = context(&symbols, &options.ctx).into_values();
        values
            .filter_map(|value| if let Value::Sym(sym) = value { Some(symbols.resolve(sym).to_string()) } else { None })
            .collect()
    }

    /// The names the plan derives in the free column of a listing (`side`)
    /// for the bound two. `None` when the plan cannot say: no plan or no
    /// listing goal, a wildcard or a name only a condition mentions, a
    /// condition that erred, or the step budget spent.
    fn enumerated(&self, side: Side, bound: [&str; 2], options: &RequestOptions) -> Option<Vec<String>> {
        let plan = self.compiled_plan()?;
        let goal = match side {
            Side::Objects => plan.list_objects?,
            Side::Subjects => plan.list_subjects?,
        };
        if bound.iter().any(|name| is_wildcard(name)) {
            return None;
        }
        // As a check resolves its names: an unknown one takes a stand-in.
        let (input, unknown) = self.plan_values(plan, bound)?;
        let program = &self.checked().program;
        let resolved = Resolved::new(self, options.at, &options.ctx, &unknown);
        let env = resolved.env();
        let mut run = Run::new(plan, &env, self.limits().max_steps);
        let mut found = rustc_hash::FxHashSet::default();
        run.each_answer(goal, &input, &mut |row| {
            found.extend(row.first().copied());
            ControlFlow::Continue(())
        })
        .ok()?;
        if !run.errors.is_empty() {
            return None;
        }
        // A stand-in derived is the unknown name it stands for.
        let name = |sym: Sym| match FRESH.iter().position(|fresh| *fresh == sym) {
            Some(i) => unknown.get(i).map(|name| name.to_string()),
            None if sym == STAR => None,
            None => program.symbols.resolve(sym).map(|name| name.to_string()),
        };
        Some(found.into_iter().filter_map(|value| if let Value::Sym(sym) = value { name(sym) } else { None }).collect())
    }

    /// The names of the program's symbols that start with `head` and
    /// `symbol_fits`; with `exceptions`, only those in the facts of the
    /// relations that can take a permission away, or named by a rule.
    /// Each set is sorted by name once per snapshot (a type's names are then
    /// one range of it).
    fn named(&self, head: &str, exceptions: bool, symbol_fits: &dyn Fn(Sym) -> bool) -> Vec<String> {
        let program = &self.checked().program;
        let symbols = &program.symbols;
        let name = |sym: &Sym| -> &str { symbols.resolve(*sym).map_or("", |name| name) };
        let sorted = |syms: &mut Vec<Sym>| {
            syms.retain(|sym| !FRESH.contains(sym) && *sym != STAR);
            syms.sort_unstable_by_key(|sym| name(sym));
            syms.dedup();
        };
        let candidates = if exceptions {
            self.adverse_names.get_or_init(|| {
                let adverse = &self.rules.adverse;
                let in_facts = program.facts.iter().filter(|fact| adverse.contains(&fact.rel)).flat_map(|fact| {
                    fact.tuple.iter().filter_map(|value| if let Value::Sym(sym) = value { Some(*sym) } else { None })
                });
                let mut syms: Vec<Sym> = in_facts.chain(self.rules.named_by_rules.iter().copied()).collect();
                sorted(&mut syms);
                syms
            })
        } else {
            self.by_name.get_or_init(|| {
                let mut syms: Vec<Sym> = symbols.syms().collect();
                sorted(&mut syms);
                syms
            })
        };
        let start = candidates.partition_point(|sym| name(sym) < head);
        let range = candidates.get(start..).unwrap_or_default();
        let names = range.iter().take_while(|sym| name(sym).starts_with(head)).filter(|sym| symbol_fits(**sym));
        names.map(|sym| name(sym).to_string()).collect()
    }
}

//! "Which pages may alice read?" and "who may edit this page?": the objects
//! of one type a subject may act on ([`Engine::list_objects`]) and the
//! subjects that may act on one object ([`Engine::list_subjects`]).

use super::request::Resolved;
use super::{Engine, LoadError, Request, RequestOptions};
use crate::Diagnostic;
use crate::eval::Additions;
use crate::eval::plan::run::Run;
use crate::eval::render::{is_wildcard, quote_if_needed};
use crate::lower::builtins::STAR;
use crate::lower::intern::{FRESH, Sym};
use crate::lower::ir::{Atom, Term, Value};
use crate::syntax::span::SourceMap;
use serde::Serialize;
use std::ops::ControlFlow;

/// Which part of a listing to answer: the names after `after` (in string
/// order), at most `limit` of them. The cursor is a name, not a position,
/// so it survives updates between pages: a page never repeats a name and
/// never skips one that was allowed all along.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// The most names to answer (`None`: all).
    pub limit: Option<usize>,
    /// Answer only names after this one (the `next` of the page before).
    pub after: Option<String>,
}

/// The objects of one type that a subject may act on.
///
/// Either a list (`every` false: `objects`), or every object of the type,
/// even one no fact mentions, but the `excluded` ones the program knows
/// (a global role or grant, a superuser, with deny rules carving out some).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ObjectList {
    /// Whether every object of the type is allowed but `excluded`.
    pub every: bool,
    /// When not `every`: the objects allowed, sorted.
    pub objects: Vec<String>,
    /// When `every`: the objects of the type the program names that are not
    /// allowed, sorted.
    pub excluded: Vec<String>,
    /// The cursor of the next page (the last name of this one) when the
    /// [`Window`] cut the list short.
    pub next: Option<String>,
    /// Errors raised inside conditions while deciding (they never grant).
    pub errors: Vec<String>,
    /// Why the evaluation stopped (a resource limit): then nothing is
    /// listed, and the list is no answer. `None` for a finished one.
    pub stopped: Option<String>,
}

/// The subjects (users and groups) that may act on one object.
///
/// Either a list (`every` false: `subjects`), or every subject, even one no
/// fact mentions (an `allow` rule that does not bind its subject), but the
/// `excluded` ones the program knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SubjectList {
    /// Whether every subject is allowed but `excluded`.
    pub every: bool,
    /// When not `every`: the subjects allowed, sorted.
    pub subjects: Vec<String>,
    /// When `every`: the subjects the program names that are not allowed, sorted.
    pub excluded: Vec<String>,
    /// The cursor of the next page (the last name of this one) when the
    /// [`Window`] cut the list short.
    pub next: Option<String>,
    /// Errors raised inside conditions while deciding (they never grant).
    pub errors: Vec<String>,
    /// Why the evaluation stopped (a resource limit): then nothing is
    /// listed, and the list is no answer. `None` for a finished one.
    pub stopped: Option<String>,
}

impl Engine {
    /// Drops answers that put a value of the wrong kind in a variable the
    /// active domain feeds (SPEC section 9; see [`crate::analyze::kinds`]).
    pub(crate) fn of_their_kinds(
        &self,
        answers: Vec<Vec<Value>>,
        atom: &Atom,
        additions: &Additions,
    ) -> Vec<Vec<Value>> {
        let kinds = &self.column_kinds;
        let open: Vec<(usize, usize)> = (atom.args.iter().enumerate())
            .filter(|(_, arg)| matches!(arg, Term::Var(_)))
            .filter_map(|(col, _)| Some((col, kinds.filtered(atom.rel, col)?)))
            .collect();
        if open.is_empty() || answers.is_empty() {
            return answers;
        }
        // The snapshot's values are sorted once; a request's own facts (a
        // test block's) sort them again with those.
        let program = &self.checked().program;
        let with_additions;
        let admitted = if additions.facts.is_empty() {
            self.kinds.get_or_init(|| kinds.admitted(program.facts.iter()))
        } else {
            with_additions = kinds.admitted(program.facts.iter().chain(&additions.facts));
            &with_additions
        };
        let fits =
            |row: &Vec<Value>| open.iter().all(|&(col, kind)| row.get(col).is_some_and(|v| admitted.admits(kind, *v)));
        answers.into_iter().filter(fits).collect()
    }
}

impl Engine {
    /// The objects of type `ty` (`page` for `page:7`) that `user` may `perm`,
    /// each decided by [`Engine::is_allowed`], so exactly as a check would.
    ///
    /// An object the program does not name is decided like `TYPE:*` (a
    /// fresh object of the type): when that holds the answer is `every`,
    /// with the named objects (in the program or the request's `ctx`) that
    /// are denied in `excluded`. That is exact only when no condition looks
    /// into a value beyond `==`, `!=` and `type(..)` (`starts_with(O,
    /// "page:1")` tells unnamed pages apart): otherwise the answer is never
    /// `every`, only the named objects allowed, so an unnamed object is left
    /// out, never wrongly listed.
    ///
    /// The candidates come from the compiled plan run with the object left
    /// free (the pages within the projects where `user` holds a role, say),
    /// each then checked. Where the rules cannot enumerate them, and for
    /// `excluded`, every object of the type the program names is checked
    /// (about a microsecond each).
    pub fn list_objects(
        &self,
        user: &str,
        perm: &str,
        ty: &str,
        options: &RequestOptions,
    ) -> Result<ObjectList, LoadError> {
        self.list_objects_in(user, perm, ty, &Window::default(), options)
    }

    /// [`Engine::list_objects`], one page of it: the names of `objects` (or
    /// of `excluded`, when `every`) in `window`.
    pub fn list_objects_in(
        &self,
        user: &str,
        perm: &str,
        ty: &str,
        window: &Window,
        options: &RequestOptions,
    ) -> Result<ObjectList, LoadError> {
        check_type(ty, "page")?;
        // One instant for every check of the listing.
        let at = Some(options.at.unwrap_or_else(crate::time::now));
        let options = RequestOptions { at, ..options.clone() };
        let head = format!("{ty}:");
        let (every, errors) = match self.probe(user, perm, &format!("{ty}:*"), &options)? {
            Ok(probed) => probed,
            Err((errors, stopped)) => {
                return Ok(ObjectList { errors, stopped: Some(stopped), ..ObjectList::default() });
            }
        };
        let every = every && !self.rules.inspects_values;
        let of_type = |name: &str| name.starts_with(&head) && name.len() > head.len();
        let enumerated = if every { None } else { self.enumerated(Side::Objects, [user, perm], &options) };
        let candidates = match enumerated {
            Some(found) => with_context(found, &options, of_type),
            None => self.named(&options, &head, every, |_| true, of_type),
        };
        let request = |object: &str| Request::new(user, perm, object);
        let keep = if every { Keep::Denied } else { Keep::Allowed };
        Ok(match self.decide_each(candidates, request, &options, errors, keep, window) {
            Ok(Decided { names, next, errors }) if every => {
                ObjectList { every, excluded: names, next, errors, ..ObjectList::default() }
            }
            Ok(Decided { names, next, errors }) => ObjectList { objects: names, next, errors, ..ObjectList::default() },
            Err((errors, stopped)) => ObjectList { errors, stopped: Some(stopped), ..ObjectList::default() },
        })
    }

    /// The subjects that may `perm` on `object`, each decided by
    /// [`Engine::check`], so exactly as a check would; with `subject_type`
    /// (`user`), only subjects of that type. The candidates come from the
    /// compiled plan run with the subject left free, each then checked.
    /// Where the rules cannot enumerate them: every value the program holds
    /// in a subject's place (of the kind of `allowed`'s first column: the
    /// subjects of assignments, grants and `superuser`, the members of
    /// their groups, and what your rules join with them), every constant a
    /// rule names and every `ctx` value, groups included.
    ///
    /// A subject the program does not name is decided like `TYPE:*` (or
    /// `*`): when that holds the answer is `every`, with the named subjects
    /// that are not allowed. It is answered `every` only when it is exact:
    /// no condition looks into a value beyond `==`, `!=` (and `type(..)`,
    /// when the subjects are typed), and the object is not the same
    /// wildcard as the subject probe.
    pub fn list_subjects(
        &self,
        perm: &str,
        object: &str,
        subject_type: Option<&str>,
        options: &RequestOptions,
    ) -> Result<SubjectList, LoadError> {
        self.list_subjects_in(perm, object, subject_type, &Window::default(), options)
    }

    /// [`Engine::list_subjects`], one page of it: the names of `subjects`
    /// (or of `excluded`, when `every`) in `window`.
    pub fn list_subjects_in(
        &self,
        perm: &str,
        object: &str,
        subject_type: Option<&str>,
        window: &Window,
        options: &RequestOptions,
    ) -> Result<SubjectList, LoadError> {
        if let Some(ty) = subject_type {
            check_type(ty, "user")?;
        }
        let at = Some(options.at.unwrap_or_else(crate::time::now));
        let options = RequestOptions { at, ..options.clone() };
        // `*` or `page:*` as the object is the question about every object, as in a check.
        let object_text = if is_wildcard(object) { object.to_string() } else { quote_if_needed(object) };
        let probe = subject_type.map_or_else(|| "*".to_string(), |ty| format!("{ty}:*"));
        // The same wildcard twice is one value (a subject acting on itself): no exact probe then.
        let inspects =
            if subject_type.is_none() { self.rules.inspects_values_or_types } else { self.rules.inspects_values };
        let exact = probe != object_text && !inspects;
        let mut errors = Vec::new();
        let mut every = false;
        if exact {
            (every, errors) = match self.probe(&probe, perm, object, &options)? {
                Ok(probed) => probed,
                Err((errors, stopped)) => {
                    return Ok(SubjectList { errors, stopped: Some(stopped), ..SubjectList::default() });
                }
            };
        }
        let head = subject_type.map(|ty| format!("{ty}:"));
        let of_type =
            |name: &str| head.as_ref().is_none_or(|head| name.starts_with(head.as_str()) && name.len() > head.len());
        let enumerated = if every { None } else { self.enumerated(Side::Subjects, [perm, object], &options) };
        let candidates = match enumerated {
            Some(found) => with_context(found, &options, of_type),
            None => {
                let program = &self.checked().program;
                let kind = self.column_kinds.kind_of(crate::lower::builtins::ALLOWED, 0);
                let admitted = self.kinds.get_or_init(|| self.column_kinds.admitted(program.facts.iter()));
                let named_by_rules = &self.rules.named_by_rules;
                let subject_like = |sym: Sym| {
                    named_by_rules.contains(&sym) || kind.is_none_or(|kind| admitted.admits(kind, Value::Sym(sym)))
                };
                self.named(&options, head.as_deref().unwrap_or_default(), every, subject_like, of_type)
            }
        };
        let request = |user: &str| Request::new(user, perm, object);
        let keep = if every { Keep::Denied } else { Keep::Allowed };
        Ok(match self.decide_each(candidates, request, &options, errors, keep, window) {
            Ok(Decided { names, next, errors }) if every => {
                SubjectList { every, excluded: names, next, errors, ..SubjectList::default() }
            }
            Ok(Decided { names, next, errors }) => {
                SubjectList { subjects: names, next, errors, ..SubjectList::default() }
            }
            Err((errors, stopped)) => SubjectList { errors, stopped: Some(stopped), ..SubjectList::default() },
        })
    }
}

/// A probe's answer (whether it holds, and the errors met), or the errors
/// met and why the evaluation stopped.
type Probed = Result<(bool, Vec<String>), (Vec<String>, String)>;

impl Engine {
    /// Whether `allowed(user, perm, object)` holds where one of them is a
    /// wildcard (`page:*`: a fresh object of the type, SPEC section 9): on
    /// the compiled plan when it decides it without an error, else by the
    /// query, which says when a limit stopped it.
    fn probe(&self, user: &str, perm: &str, object: &str, options: &RequestOptions) -> Result<Probed, LoadError> {
        let request = Request { at: options.at, ctx: options.ctx.clone(), ..Request::new(user, perm, object) };
        if let Some(decision) = self.check_compiled(&request).filter(|decision| decision.errors.is_empty()) {
            return Ok(Ok((decision.allowed, Vec::new())));
        }
        let text = |name: &str| if is_wildcard(name) { name.to_string() } else { quote_if_needed(name) };
        let answer = self.query(&format!("allowed({}, {}, {})", text(user), text(perm), text(object)), options)?;
        Ok(match answer.stopped {
            Some(stopped) => Err((answer.errors, stopped)),
            None => Ok((answer.holds(), answer.errors)),
        })
    }
}

impl Engine {
    /// Whether an object no fact names is decided like a fresh one of its
    /// type (`TYPE:*`): no condition looks into a value beyond `==`, `!=`
    /// and `type(..)`.
    pub(crate) fn decides_unnamed_like_fresh(&self) -> bool {
        !self.rules.inspects_values
    }
}

/// Refuses a type that is no name (`example` is one).
fn check_type(ty: &str, example: &str) -> Result<(), LoadError> {
    if !ty.is_empty() && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    let message = format!("`{ty}` is no type: letters, digits and `_` (`{example}` for `{example}:7`)");
    Err(LoadError { diagnostics: vec![Diagnostic::global(message)], sources: SourceMap::new() })
}

/// Which column of `allowed` a listing leaves free.
#[derive(Clone, Copy)]
enum Side {
    /// The object (`allowed(b, b, f)`).
    Objects,
    /// The subject (`allowed(f, b, b)`).
    Subjects,
}

/// The names of `found` and of the request's `ctx` that `fits`, sorted once.
fn with_context(found: Vec<String>, options: &RequestOptions, fits: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> =
        found.into_iter().chain(options.ctx.values().cloned()).filter(|name| fits(name)).collect();
    names.sort();
    names.dedup();
    names
}

impl Engine {
    /// The names the plan derives in the free column of a listing (`side`)
    /// for the bound two: a superset of those allowed (each is checked
    /// after). `None` when the plan cannot say: no plan or no listing goal,
    /// a wildcard or a name only a condition mentions, a condition that
    /// erred, or the step budget spent.
    fn enumerated(&self, side: Side, bound: [&str; 2], options: &RequestOptions) -> Option<Vec<String>> {
        let plan = self.compiled_plan()?;
        let goal = match side {
            Side::Objects => plan.list_objects?,
            Side::Subjects => plan.list_subjects?,
        };
        let program = &self.checked().program;
        let mut unknown: Vec<&str> = Vec::new();
        let mut input = [Value::Sym(STAR); 2];
        for (value, name) in input.iter_mut().zip(bound) {
            if is_wildcard(name) {
                return None;
            }
            *value = match program.symbols.get(name) {
                Some(sym) if plan.knows(Value::Sym(sym)) => Value::Sym(sym),
                Some(sym) if plan.named_by_rules.contains(&sym) => return None,
                // Unknown (or interned by a test block or a query only): a stand-in.
                _ if plan.decides_unknown_constants() => {
                    unknown.push(name);
                    Value::Sym(*FRESH.get(unknown.len() - 1)?)
                }
                _ => return None,
            };
        }
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
        let names = found.into_iter().filter_map(|value| match value {
            Value::Sym(sym) if sym != STAR && !FRESH.contains(&sym) => program.symbols.resolve(sym),
            _ => None,
        });
        Some(names.map(|name| name.to_string()).collect())
    }

    /// The names of the program's symbols that fit (those starting with
    /// `head`, and `symbol_fits`) and of the request's `ctx`, sorted: the
    /// candidates of a listing the plan cannot enumerate. With
    /// `exceptions`, only those that can be exceptions to "every" (see
    /// `RuleFacts::adverse`): in the facts of the relations that can take a
    /// permission away, or named by a rule.
    fn named(
        &self,
        options: &RequestOptions,
        head: &str,
        exceptions: bool,
        symbol_fits: impl Fn(Sym) -> bool,
        fits: impl Fn(&str) -> bool,
    ) -> Vec<String> {
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
        // The names that start with `head` are one range of the sorted ones.
        let start = candidates.partition_point(|sym| name(sym) < head);
        let range = candidates.get(start..).unwrap_or_default();
        let names = range.iter().take_while(|sym| name(sym).starts_with(head)).filter(|sym| symbol_fits(**sym));
        let named: Vec<String> = names.map(|sym| name(sym).to_string()).filter(|name| fits(name)).collect();
        if options.ctx.values().any(|value| fits(value)) { with_context(named, options, fits) } else { named }
    }
}

/// Which names of a listing it answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Those allowed.
    Allowed,
    /// Those denied (the exceptions to `every`).
    Denied,
}

/// The names of one page of a listing, each decided.
struct Decided {
    names: Vec<String>,
    /// The cursor of the next page, when there is one.
    next: Option<String>,
    /// The errors met (with the listing's own before them), sorted.
    errors: Vec<String>,
}

impl Engine {
    /// Decides `request(name)` for the sorted `names` in `window`, at the
    /// listing's one instant and context, under one deadline for the whole
    /// listing (each check has its own limits too), keeping those `keep`
    /// says; past a full page it decides on until one more is kept, so a
    /// page has a `next` cursor only when a next page has a name. `Err`
    /// with the errors so far and why it stopped: past the deadline, or
    /// cancelled (the client went away).
    fn decide_each(
        &self,
        names: Vec<String>,
        request: impl Fn(&str) -> Request,
        options: &RequestOptions,
        mut errors: Vec<String>,
        keep: Keep,
        window: &Window,
    ) -> Result<Decided, (Vec<String>, String)> {
        let (mut kept, mut next) = (Vec::new(), None);
        let (limits, deadline) = (self.limits(), std::time::Instant::now() + self.limits().max_time);
        let start = window.after.as_ref().map_or(0, |after| names.partition_point(|name| name <= after));
        for name in names.into_iter().skip(start) {
            if let Err(e) = crate::eval::cancel::check(deadline, &limits) {
                return Err((errors, e.to_string()));
            }
            let request = Request { at: options.at, ctx: options.ctx.clone(), ..request(&name) };
            // The errors a denial met are in its decision (an allowed one has none).
            let allowed = self.is_allowed(&request) || {
                let decision = self.check(&request);
                errors.extend(decision.errors);
                decision.allowed
            };
            if allowed == (keep == Keep::Allowed) {
                if window.limit.is_some_and(|limit| kept.len() >= limit) {
                    next = kept.last().cloned();
                    break;
                }
                kept.push(name);
            }
        }
        errors.sort();
        errors.dedup();
        Ok(Decided { names: kept, next, errors })
    }
}

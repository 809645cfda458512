//! "Which pages may alice read?" and "who may edit this page?": the objects
//! of one type a subject may act on ([`Engine::list_objects`]) and the
//! subjects that may act on one object ([`Engine::list_subjects`]).

mod candidates;

use super::{Engine, LoadError, Request, RequestOptions};
use crate::Diagnostic;
use crate::eval::Additions;
use crate::eval::render::{is_wildcard, quote_if_needed};
use crate::lower::ir::{Atom, Term, Value};
use crate::syntax::span::SourceMap;
use candidates::Side;
use serde::Serialize;

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
    /// with the named objects that are denied in `excluded`. That is exact
    /// only when no condition looks into a value beyond `==`, `!=` and
    /// `type(..)` (`starts_with(O, "page:1")` tells unnamed pages apart):
    /// otherwise the answer is never `every`, only the named objects
    /// allowed, so an unnamed object is left out, never wrongly listed.
    ///
    /// The candidates come from the compiled plan run with the object left
    /// free (the pages within the projects where `user` holds a role, say),
    /// or, for `excluded`, from the facts that can take a permission away
    /// (the relations read under `not`); each is then checked.
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
        let fresh = format!("{ty}:*");
        // The same wildcard twice is one value (`user:*` acting on itself): no exact probe then.
        let probe = (!self.rules.inspects_values && user != fresh && perm != fresh).then_some(fresh.as_str());
        Ok(match self.listing(Side::Objects, [user, perm], probe, Some(ty), window, options)? {
            Listed::Every { excluded, next, errors } => {
                ObjectList { every: true, excluded, next, errors, ..ObjectList::default() }
            }
            Listed::These { names, next, errors } => {
                ObjectList { objects: names, next, errors, ..ObjectList::default() }
            }
            Listed::Stopped { errors, stopped } => {
                ObjectList { errors, stopped: Some(stopped), ..ObjectList::default() }
            }
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
        // `*` or `page:*` as the object is the question about every object, as in a check.
        let object_text = if is_wildcard(object) { object.to_string() } else { quote_if_needed(object).into_owned() };
        let fresh = subject_type.map_or_else(|| "*".to_string(), |ty| format!("{ty}:*"));
        // The same wildcard twice is one value (a subject acting on itself): no exact probe then.
        let inspects =
            if subject_type.is_none() { self.rules.inspects_values_or_types } else { self.rules.inspects_values };
        let probe = (fresh != object_text && fresh != perm && !inspects).then_some(fresh.as_str());
        Ok(match self.listing(Side::Subjects, [perm, object], probe, subject_type, window, options)? {
            Listed::Every { excluded, next, errors } => {
                SubjectList { every: true, excluded, next, errors, ..SubjectList::default() }
            }
            Listed::These { names, next, errors } => {
                SubjectList { subjects: names, next, errors, ..SubjectList::default() }
            }
            Listed::Stopped { errors, stopped } => {
                SubjectList { errors, stopped: Some(stopped), ..SubjectList::default() }
            }
        })
    }

    /// Whether an object no fact names is decided like a fresh one of its
    /// type (`TYPE:*`): no condition looks into a value beyond `==`, `!=`
    /// and `type(..)`.
    pub(crate) fn decides_unnamed_like_fresh(&self) -> bool {
        !self.rules.inspects_values
    }
}

/// A listing's answer, either side.
enum Listed {
    /// Every value of the type but `excluded` (a page of them).
    Every { excluded: Vec<String>, next: Option<String>, errors: Vec<String> },
    /// These values (a page of them).
    These { names: Vec<String>, next: Option<String>, errors: Vec<String> },
    /// A limit stopped it: no answer.
    Stopped { errors: Vec<String>, stopped: String },
}

impl Engine {
    /// The values for the free column of `allowed` (`side`) given the
    /// `bound` two, of type `ty` when given, in `window`: every one but the
    /// denied when the `fresh` probe (`page:*`, given only when it is
    /// exact) is allowed, else those allowed; all at one instant.
    fn listing(
        &self,
        side: Side,
        bound: [&str; 2],
        fresh: Option<&str>,
        ty: Option<&str>,
        window: &Window,
        options: &RequestOptions,
    ) -> Result<Listed, LoadError> {
        if window.limit == Some(0) {
            let message = "a listing's `limit` is at least 1".to_string();
            return Err(LoadError { diagnostics: vec![Diagnostic::global(message)], sources: SourceMap::new() });
        }
        // One instant for every check of the listing.
        let at = Some(options.at.unwrap_or_else(crate::time::now));
        let options = RequestOptions { at, ..options.clone() };
        let request = |name: &str| {
            let [a, b] = bound;
            let request = match side {
                Side::Objects => Request::new(a, b, name),
                Side::Subjects => Request::new(name, a, b),
            };
            Request { at: options.at, ctx: options.ctx.clone(), ..request }
        };
        // A `ctx` value spelling a wildcard (`page:*`) would be the probe's
        // fresh object itself, which no real object is: no probe then.
        let context = self.context_names(&options);
        let fresh = fresh.filter(|_| !context.iter().chain(options.ctx.values()).any(|value| is_wildcard(value)));
        let (every, errors) = match fresh {
            None => (false, Vec::new()),
            Some(fresh) => match self.probe(&request(fresh), &options)? {
                Ok(probed) => probed,
                Err((errors, stopped)) => return Ok(Listed::Stopped { errors, stopped }),
            },
        };
        let head = ty.map(|ty| format!("{ty}:")).unwrap_or_default();
        let candidates = self.candidates(side, bound, every, &head, &context, &options);
        let keep = if every { Keep::Denied } else { Keep::Allowed };
        Ok(match self.decide_each(candidates, request, errors, keep, window) {
            Ok(Decided { names, next, errors }) if every => Listed::Every { excluded: names, next, errors },
            Ok(Decided { names, next, errors }) => Listed::These { names, next, errors },
            Err((errors, stopped)) => Listed::Stopped { errors, stopped },
        })
    }

    /// Whether `request`, where one of its names is a wildcard (`page:*`: a
    /// fresh object of the type, SPEC section 9), is allowed: on the
    /// compiled plan when it decides it without an error, else by the
    /// query, which says when a limit stopped it. `Ok((holds, errors))`, or
    /// `Err((errors, why it stopped))`.
    #[allow(clippy::type_complexity)]
    fn probe(
        &self,
        request: &Request,
        options: &RequestOptions,
    ) -> Result<Result<(bool, Vec<String>), (Vec<String>, String)>, LoadError> {
        if let Some(decision) = self.check_compiled(request).filter(|decision| decision.errors.is_empty()) {
            return Ok(Ok((decision.allowed, Vec::new())));
        }
        let text = |name: &str| if is_wildcard(name) { name.to_string() } else { quote_if_needed(name).into_owned() };
        let question = format!("allowed({}, {}, {})", text(&request.user), text(&request.perm), text(&request.object));
        let answer = self.query(&question, options)?;
        Ok(match answer.stopped {
            Some(stopped) => Err((answer.errors, stopped)),
            None => Ok((answer.holds(), answer.errors)),
        })
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
    /// Decides `request(name)` for the sorted `names` in `window` under
    /// one deadline for the whole listing (each check has its own limits
    /// too), keeping those `keep` says; past a full page it decides on
    /// until one more is kept, so a page has a `next` cursor only when a
    /// next page has a name. `Err` with the errors so far and why it
    /// stopped: past the deadline, or cancelled (the client went away).
    fn decide_each(
        &self,
        names: Vec<String>,
        request: impl Fn(&str) -> Request,
        mut errors: Vec<String>,
        keep: Keep,
        window: &Window,
    ) -> Result<Decided, (Vec<String>, String)> {
        let (mut kept, mut next) = (Vec::new(), None);
        let (limits, deadline) = (self.limits(), std::time::Instant::now() + self.limits().max_time);
        let start = window.after.as_ref().map_or(0, |after| names.partition_point(|name| name <= after));
        let on_plan = self.compiled_plan().is_some();
        for name in names.into_iter().skip(start) {
            if let Err(e) = crate::eval::cancel::check(deadline, &limits) {
                return Err((errors, e.to_string()));
            }
            let request = request(&name);
            // On the plan, `is_allowed` first (no reason to write); the
            // errors a denial met are in its decision.
            let allowed = (on_plan && self.is_allowed(&request)) || {
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

//! "Which pages may alice read?" and "who may edit this page?": the objects
//! of one type a subject may act on ([`Engine::list_objects`]) and the
//! subjects that may act on one object ([`Engine::list_subjects`]).

use super::{Engine, LoadError, Request, RequestOptions};
use crate::Diagnostic;
use crate::eval::Additions;
use crate::eval::render::{is_wildcard, quote_if_needed};
use crate::lower::ir::{Atom, Term, Value};
use crate::syntax::span::SourceMap;
use serde::Serialize;

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
    /// out, never wrongly listed. Costs one check per named object of the
    /// type (about a microsecond each on the compiled plan).
    pub fn list_objects(
        &self,
        user: &str,
        perm: &str,
        ty: &str,
        options: &RequestOptions,
    ) -> Result<ObjectList, LoadError> {
        if ty.is_empty() || !ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let message = format!("`{ty}` is no type: letters, digits and `_` (`page` for `page:7`)");
            return Err(LoadError { diagnostics: vec![Diagnostic::global(message)], sources: SourceMap::new() });
        }
        // One instant for every check of the listing.
        let at = Some(options.at.unwrap_or_else(crate::time::now));
        let options = RequestOptions { at, ..options.clone() };
        let head = format!("{ty}:");
        let every =
            self.query(&format!("allowed({}, {}, {ty}:*)", quote_if_needed(user), quote_if_needed(perm)), &options)?;
        let errors = every.errors.clone();
        if every.stopped.is_some() {
            return Ok(ObjectList { errors, stopped: every.stopped, ..ObjectList::default() });
        }
        let program = &self.checked().program;
        let symbols = &program.symbols;
        let mut named: Vec<String> = symbols
            .syms()
            .filter_map(|sym| symbols.resolve(sym))
            .map(|name| name.to_string())
            .chain(options.ctx.values().cloned())
            .filter(|name| name.starts_with(&head) && name.len() > head.len())
            .collect();
        named.sort();
        named.dedup();
        let request = |object: &str| Request::new(user, perm, object);
        let Decided { allowed, denied, errors } = match self.decide_each(named, request, &options, errors) {
            Ok(decided) => decided,
            Err((errors, stopped)) => {
                return Ok(ObjectList { errors, stopped: Some(stopped), ..ObjectList::default() });
            }
        };
        Ok(if every.holds() && !self.rules.inspects_values {
            ObjectList { every: true, objects: Vec::new(), excluded: denied, errors, stopped: None }
        } else {
            ObjectList { every: false, objects: allowed, excluded: Vec::new(), errors, stopped: None }
        })
    }
}

impl Engine {
    /// The subjects that may `perm` on `object`, each decided by
    /// [`Engine::check`], so exactly as a check would: every value the
    /// program holds in a subject's place (of the kind of `allowed`'s first
    /// column: the subjects of assignments, grants and `superuser`, the
    /// members of their groups, and what your rules join with them), every
    /// constant a rule names and every `ctx` value, groups included; with
    /// `subject_type` (`user`), only subjects of that type.
    ///
    /// A subject the program does not name is decided like `TYPE:*` (or
    /// `*`): when that holds the answer is `every`, with the named subjects
    /// that are not allowed. It is answered `every` only when it is exact:
    /// no condition looks into a value beyond `==`, `!=` (and `type(..)`,
    /// when the subjects are typed), and the object is not the same
    /// wildcard as the subject probe. Costs one check per candidate.
    pub fn list_subjects(
        &self,
        perm: &str,
        object: &str,
        subject_type: Option<&str>,
        options: &RequestOptions,
    ) -> Result<SubjectList, LoadError> {
        if let Some(ty) =
            subject_type.filter(|ty| ty.is_empty() || !ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            let message = format!("`{ty}` is no type: letters, digits and `_` (`user` for `user:7`)");
            return Err(LoadError { diagnostics: vec![Diagnostic::global(message)], sources: SourceMap::new() });
        }
        let at = Some(options.at.unwrap_or_else(crate::time::now));
        let options = RequestOptions { at, ..options.clone() };
        let program = &self.checked().program;
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
            let answer =
                self.query(&format!("allowed({probe}, {}, {object_text})", quote_if_needed(perm)), &options)?;
            if answer.stopped.is_some() {
                return Ok(SubjectList { errors: answer.errors, stopped: answer.stopped, ..SubjectList::default() });
            }
            errors = answer.errors.clone();
            every = answer.holds();
        }
        let kind = self.column_kinds.kind_of(crate::lower::builtins::ALLOWED, 0);
        let admitted = self.kinds.get_or_init(|| self.column_kinds.admitted(program.facts.iter()));
        let named_by_rules = &self.rules.named_by_rules;
        let symbols = &program.symbols;
        let head = subject_type.map(|ty| format!("{ty}:"));
        let mut named: Vec<String> = symbols
            .syms()
            .filter(|sym| {
                named_by_rules.contains(sym) || kind.is_none_or(|kind| admitted.admits(kind, Value::Sym(*sym)))
            })
            .filter(|sym| !crate::lower::intern::FRESH.contains(sym) && *sym != crate::lower::builtins::STAR)
            .filter_map(|sym| symbols.resolve(sym))
            .map(|name| name.to_string())
            .chain(options.ctx.values().cloned())
            .filter(|name| head.as_ref().is_none_or(|head| name.starts_with(head.as_str()) && name.len() > head.len()))
            .collect();
        named.sort();
        named.dedup();
        let request = |user: &str| Request::new(user, perm, object);
        let Decided { allowed, denied, errors } = match self.decide_each(named, request, &options, errors) {
            Ok(decided) => decided,
            Err((errors, stopped)) => {
                return Ok(SubjectList { errors, stopped: Some(stopped), ..SubjectList::default() });
            }
        };
        Ok(if every {
            SubjectList { every: true, subjects: Vec::new(), excluded: denied, errors, stopped: None }
        } else {
            SubjectList { every: false, subjects: allowed, excluded: Vec::new(), errors, stopped: None }
        })
    }
}

/// The names of a listing, each decided.
struct Decided {
    allowed: Vec<String>,
    denied: Vec<String>,
    /// The errors met (with the listing's own before them), sorted.
    errors: Vec<String>,
}

impl Engine {
    /// Decides `request(name)` for each of `names` at the listing's one
    /// instant and context, under one deadline for the whole listing (each
    /// check has its own limits too). `Err` with the errors so far and why
    /// it stopped: past the deadline, or cancelled (the client went away).
    fn decide_each(
        &self,
        names: Vec<String>,
        request: impl Fn(&str) -> Request,
        options: &RequestOptions,
        mut errors: Vec<String>,
    ) -> Result<Decided, (Vec<String>, String)> {
        let (mut allowed, mut denied) = (Vec::new(), Vec::new());
        let (limits, deadline) = (self.limits(), std::time::Instant::now() + self.limits().max_time);
        for name in names {
            if let Err(e) = crate::eval::cancel::check(deadline, &limits) {
                return Err((errors, e.to_string()));
            }
            let request = Request { at: options.at, ctx: options.ctx.clone(), ..request(&name) };
            let decision = self.check(&request);
            errors.extend(decision.errors);
            if decision.allowed { allowed.push(name) } else { denied.push(name) }
        }
        errors.sort();
        errors.dedup();
        Ok(Decided { allowed, denied, errors })
    }
}

//! `warden._warden`: the Warden engine for Python.
//!
//! A [`Warden`] holds a live program ([`warden::Live`]): checks read the
//! published snapshot without waiting for writers. Long calls (load,
//! reload, update, `check_many`, query, explain) release the GIL; a single
//! check, shorter than the hand-over, keeps it. The Python package
//! (`bindings/python/python/warden`) re-exports these classes and adds the
//! Django integration.

mod convert;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use warden::{Engine, ExternFn, LiveChanges, LoadError, Request, RequestOptions};

create_exception!(
    warden,
    PolicyError,
    PyException,
    "A policy, data file or live update was refused; the message holds the diagnostics (file:line:col)."
);

fn policy_error(error: LoadError) -> PyErr {
    PolicyError::new_err(error.render(false))
}

/// The answer to a check: `allowed`, the `reason` (the decisive rule or why
/// nothing granted), condition `errors` (they never grant) and `notes` (a
/// name the program never mentions, with the nearest known one).
#[pyclass(frozen, module = "warden", get_all)]
struct Decision {
    allowed: bool,
    reason: String,
    errors: Vec<String>,
    notes: Vec<String>,
}

#[pymethods]
impl Decision {
    fn __bool__(&self) -> bool {
        self.allowed
    }

    fn __repr__(&self) -> String {
        format!("Decision(allowed={}, reason={:?})", if self.allowed { "True" } else { "False" }, self.reason)
    }
}

impl From<warden::Decision> for Decision {
    fn from(d: warden::Decision) -> Decision {
        Decision { allowed: d.allowed, reason: d.reason, errors: d.errors, notes: d.notes }
    }
}

/// The answers to a query: `variables` in order, `rows` as tuples of Python
/// values (one page of them with `limit`), `next` the cursor of the next
/// page, `total` how many answers there are in all.
#[pyclass(frozen, module = "warden", get_all)]
struct Answer {
    variables: Vec<String>,
    rows: Vec<Py<PyTuple>>,
    total: usize,
    next: Option<String>,
    errors: Vec<String>,
    notes: Vec<String>,
}

#[pymethods]
impl Answer {
    /// Whether the query has at least one answer.
    #[getter]
    fn holds(&self) -> bool {
        self.total > 0
    }

    fn __bool__(&self) -> bool {
        self.total > 0
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }
}

/// Why a query holds or does not: `text` as `warden explain` prints it
/// (the nearest misses first), `verbose_text` as `warden explain
/// --verbose` (every rule tried), `json` as `warden explain --json`.
#[pyclass(frozen, module = "warden", get_all)]
struct Explanation {
    holds: bool,
    text: String,
    verbose_text: String,
    json: String,
}

/// The objects of one type a subject may act on: `objects` (when not
/// `every`), or every object of the type but the `excluded` ones.
#[pyclass(frozen, module = "warden", get_all)]
struct ObjectList {
    every: bool,
    objects: Vec<String>,
    excluded: Vec<String>,
    next: Option<String>,
    errors: Vec<String>,
}

/// The subjects (users and groups) that may act on one object: `subjects`
/// (when not `every`), or every subject but the `excluded` ones.
#[pyclass(frozen, module = "warden", get_all)]
struct SubjectList {
    every: bool,
    subjects: Vec<String>,
    excluded: Vec<String>,
    next: Option<String>,
    errors: Vec<String>,
}

/// The objects of one type a subject may act on, as a SQL condition:
/// `residual` (`always`, `never`, `only`, `all_but` or `per_row`) with its
/// `objects`, and `condition` with its `params` for a `WHERE` clause; when
/// `check_each_row`, each row it selects must still be checked.
#[pyclass(frozen, module = "warden", get_all)]
struct SqlFilter {
    residual: String,
    objects: Vec<String>,
    condition: String,
    params: Vec<Py<PyAny>>,
    check_each_row: bool,
    errors: Vec<String>,
}

/// A Warden program: policy and data files, kept live.
#[pyclass(frozen, module = "warden")]
struct Warden {
    live: warden::Live,
}

/// What configures every snapshot of a live program.
type Configure = Arc<dyn Fn(&mut Engine) + Send + Sync>;

/// Registers the Python callables as `extern fn`s on every snapshot.
fn configuration(extern_fns: Option<&Bound<'_, PyDict>>) -> PyResult<Configure> {
    let mut functions: Vec<(String, ExternFn)> = Vec::new();
    for (name, callable) in extern_fns.map(|d| d.iter().collect::<Vec<_>>()).unwrap_or_default() {
        let name: String = name.extract()?;
        if !callable.is_callable() {
            return Err(PyValueError::new_err(format!("extern_fns[{name:?}] is not callable")));
        }
        functions.push((name.clone(), convert::extern_fn(name, callable.unbind())));
    }
    Ok(Arc::new(move |engine: &mut Engine| {
        for (name, f) in &functions {
            engine.register_extern(name, f.clone());
        }
    }))
}

/// A decision that denies with `reason` (a request that cannot be asked).
fn refused(reason: String) -> Decision {
    Decision { allowed: false, reason, errors: Vec::new(), notes: Vec::new() }
}

#[pymethods]
impl Warden {
    /// Loads policy and data files and directories (every `*.warden`,
    /// `*.yaml`, `*.yml` and `*.json` below a directory).
    ///
    /// `privileged_updates` lets `update` add superusers, lift `inactive`
    /// and change `extends` (a sync from a trusted database needs it).
    /// `source` names a source file (`warden.toml`) that binds relations to
    /// queries on an SQLite database: its facts are read now, and again by
    /// `refresh()` when the database changed.
    #[staticmethod]
    #[pyo3(signature = (paths, extern_fns = None, privileged_updates = false, source = None))]
    fn from_paths(
        py: Python<'_>,
        paths: Vec<PathBuf>,
        extern_fns: Option<&Bound<'_, PyDict>>,
        privileged_updates: bool,
        source: Option<PathBuf>,
    ) -> PyResult<Warden> {
        let configure = configuration(extern_fns)?;
        let live = py
            .detach(|| match source {
                Some(source) => {
                    let config = warden::sources::Config::from_file(&source)
                        .map_err(|(diagnostics, sources)| LoadError { diagnostics, sources })?;
                    warden::Live::with_sources(&paths, Arc::new(config), configure)
                }
                None => warden::Live::with_configuration(&paths, configure),
            })
            .map_err(policy_error)?;
        Ok(Warden { live: live.allow_privileged_updates(privileged_updates) })
    }

    /// Re-reads the source database if it changed since the last read and
    /// applies the difference atomically; whether the program changed. On
    /// error the last good read stays and `PolicyError` names the source
    /// and the row. Without a source, does nothing.
    fn refresh(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.live.refresh()).map_err(policy_error)
    }

    /// The program's version: it grows with every update, reload and
    /// refresh that changed it.
    #[getter]
    fn version(&self) -> u64 {
        self.live.version()
    }

    /// Loads one policy text (`name` is used in diagnostics).
    #[staticmethod]
    #[pyo3(signature = (name, text, extern_fns = None, privileged_updates = false))]
    fn from_source(
        py: Python<'_>,
        name: &str,
        text: &str,
        extern_fns: Option<&Bound<'_, PyDict>>,
        privileged_updates: bool,
    ) -> PyResult<Warden> {
        let configure = configuration(extern_fns)?;
        let live =
            py.detach(|| warden::Live::from_source_with_configuration(name, text, configure)).map_err(policy_error)?;
        Ok(Warden { live: live.allow_privileged_updates(privileged_updates) })
    }

    /// Re-reads the files; returns notes on the live changes kept. On error
    /// the running program stays and `PolicyError` is raised.
    #[pyo3(signature = (keep_live_changes = true))]
    fn reload(&self, py: Python<'_>, keep_live_changes: bool) -> PyResult<Vec<String>> {
        let changes = if keep_live_changes { LiveChanges::Keep } else { LiveChanges::Drop };
        py.detach(|| self.live.reload(changes)).map_err(policy_error)
    }

    /// Inserts and removes facts (statements such as `assign alice editor on
    /// project:a` or `owner(alice, page:1)`) in one atomic batch: all of it
    /// is visible to the next check, or none of it and `PolicyError`.
    /// Returns the version that holds the change.
    #[pyo3(signature = (insert = Vec::new(), remove = Vec::new()))]
    fn update(&self, py: Python<'_>, insert: Vec<String>, remove: Vec<String>) -> PyResult<u64> {
        py.detach(|| {
            self.live.update(|tx| {
                insert.iter().for_each(|s| tx.insert(s));
                remove.iter().for_each(|s| tx.remove(s));
            })
        })
        .map_err(policy_error)
    }

    /// May `user` `perm` on `obj` (`"*"`: every object, the object-less
    /// question)? Never raises: a request that cannot be asked (a bad `at`)
    /// is denied with the reason. A single check keeps the GIL: it is
    /// shorter than handing it over.
    #[pyo3(signature = (user, perm, obj, at = None, ctx = None))]
    fn check(
        &self,
        user: String,
        perm: String,
        obj: String,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
    ) -> Decision {
        match request(user, perm, obj, at, ctx) {
            Ok(request) => self.live.check(&request).into(),
            Err(e) => refused(format!("denied: the request is invalid: {e}")),
        }
    }

    /// `check(...).allowed`, without building the reason.
    #[pyo3(signature = (user, perm, obj, at = None, ctx = None))]
    fn is_allowed(
        &self,
        user: String,
        perm: String,
        obj: String,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
    ) -> bool {
        match request(user, perm, obj, at, ctx) {
            Ok(request) => self.live.is_allowed(&request),
            Err(_) => false,
        }
    }

    /// Many `(user, perm, obj)` checks at one time and context, in one call
    /// (one snapshot, the GIL released once, `Engine::check_many`). A
    /// batch stopped by the time limit raises `ValueError` (no partial
    /// answer); an invalid time or context denies every check.
    #[pyo3(signature = (requests, at = None, ctx = None))]
    fn check_many(
        &self,
        py: Python<'_>,
        requests: Vec<(String, String, String)>,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<bool>> {
        let (Ok(at), Ok(ctx)) = (convert::request_time(at), convert::context(ctx)) else {
            return Ok(vec![false; requests.len()]);
        };
        py.detach(|| self.live.snapshot().check_many(&requests, at, &ctx)).map_err(PyValueError::new_err)
    }

    /// Evaluates a query (`allowed(alice, read, P)`); `limit` and `after`
    /// page the answers (`after` is the `next` of the previous page).
    #[pyo3(signature = (atom, at = None, ctx = None, limit = None, after = None))]
    fn query(
        &self,
        py: Python<'_>,
        atom: &str,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Answer> {
        let options = options(at, ctx)?;
        let answer = py.detach(|| self.live.query(atom, &options)).map_err(policy_error)?;
        if let Some(stopped) = &answer.stopped {
            return Err(PyValueError::new_err(format!("the query was stopped: {stopped}")));
        }
        let page = warden::listing::page(&answer, after, limit).map_err(PyValueError::new_err)?;
        let rows = page
            .rows
            .iter()
            .map(|row| {
                let values = row.iter().map(|v| convert::answer_value(py, v)).collect::<PyResult<Vec<_>>>()?;
                Ok(PyTuple::new(py, values)?.unbind())
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Answer {
            variables: answer.variables,
            rows,
            total: page.total,
            next: page.next,
            errors: answer.errors,
            notes: answer.notes,
        })
    }

    /// The objects of type `ty` (`"page"`) that `user` may `perm`, each
    /// decided as `check` would, at most `limit` of them after `after`
    /// (the `next` of the page before); see `ObjectList`.
    #[pyo3(signature = (user, perm, ty, at = None, ctx = None, limit = None, after = None))]
    #[allow(clippy::too_many_arguments)]
    fn list_objects(
        &self,
        py: Python<'_>,
        user: &str,
        perm: &str,
        ty: &str,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<ObjectList> {
        let options = options(at, ctx)?;
        let window = warden::Window { limit, after };
        let list = py
            .detach(|| self.live.snapshot().list_objects_in(user, perm, ty, &window, &options))
            .map_err(policy_error)?;
        if let Some(stopped) = list.stopped {
            return Err(PyValueError::new_err(format!("the listing was stopped: {stopped}")));
        }
        let (every, objects, excluded, next, errors) =
            (list.every, list.objects, list.excluded, list.next, list.errors);
        Ok(ObjectList { every, objects, excluded, next, errors })
    }

    /// The subjects that may `perm` on `obj` ("who may edit this page?"),
    /// each decided as `check` would, of `subject_type` (`"user"`) only
    /// when given, at most `limit` of them after `after`; see `SubjectList`.
    #[pyo3(signature = (perm, obj, subject_type = None, at = None, ctx = None, limit = None, after = None))]
    #[allow(clippy::too_many_arguments)]
    fn list_subjects(
        &self,
        py: Python<'_>,
        perm: &str,
        obj: &str,
        subject_type: Option<&str>,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<SubjectList> {
        let options = options(at, ctx)?;
        let window = warden::Window { limit, after };
        let list = py
            .detach(|| self.live.snapshot().list_subjects_in(perm, obj, subject_type, &window, &options))
            .map_err(policy_error)?;
        if let Some(stopped) = list.stopped {
            return Err(PyValueError::new_err(format!("the listing was stopped: {stopped}")));
        }
        let (every, subjects, excluded, next, errors) =
            (list.every, list.subjects, list.excluded, list.next, list.errors);
        Ok(SubjectList { every, subjects, excluded, next, errors })
    }

    /// The objects of type `ty` that `user` may `perm`, as a SQL condition
    /// on `column` (holding the key: `"integer"` 7 or `"text"` '7' for
    /// `page:7`, or the whole `"name"`) for `dialect` (`"sqlite"` or
    /// `"postgres"`), parameters numbered from `first_param`, or `%s` in
    /// order with `placeholder="format"` (psycopg, Django's cursors); see
    /// `SqlFilter`.
    #[pyo3(signature = (user, perm, ty, column = "id", key = "integer", dialect = "sqlite", first_param = 1, placeholder = "numbered", at = None, ctx = None))]
    #[allow(clippy::too_many_arguments)]
    fn filter_sql(
        &self,
        py: Python<'_>,
        user: &str,
        perm: &str,
        ty: &str,
        column: &str,
        key: &str,
        dialect: &str,
        first_param: usize,
        placeholder: &str,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<SqlFilter> {
        use warden::filter::{Dialect, Key, Placeholder, SqlParam, SqlTarget};
        let dialect = match dialect {
            "sqlite" => Dialect::Sqlite,
            "postgres" => Dialect::Postgres,
            other => return Err(PyValueError::new_err(format!("unknown dialect `{other}`: sqlite or postgres"))),
        };
        let key = match key {
            "integer" => Key::Integer,
            "text" => Key::Text,
            "name" => Key::Name,
            other => return Err(PyValueError::new_err(format!("unknown key `{other}`: integer, text or name"))),
        };
        let placeholder = match placeholder {
            "numbered" => Placeholder::Numbered,
            "format" => Placeholder::Format,
            other => return Err(PyValueError::new_err(format!("unknown placeholder `{other}`: numbered or format"))),
        };
        let options = options(at, ctx)?;
        let filter = py
            .detach(|| self.live.snapshot().filter(user, perm, ty, &options))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let target = SqlTarget { first_param, placeholder, ..SqlTarget::new(dialect, column, key) };
        let sql = filter.to_sql(&target).map_err(PyValueError::new_err)?;
        let params = sql
            .params
            .into_iter()
            .map(|param| -> PyResult<Py<PyAny>> {
                Ok(match param {
                    SqlParam::Integer(n) => n.into_pyobject(py)?.into_any().unbind(),
                    SqlParam::Text(t) => t.into_pyobject(py)?.into_any().unbind(),
                    SqlParam::IntegerArray(a) => a.into_pyobject(py)?.into_any().unbind(),
                    SqlParam::TextArray(a) => a.into_pyobject(py)?.into_any().unbind(),
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let (residual, objects) = match filter.residual {
            warden::Residual::Always => ("always", Vec::new()),
            warden::Residual::Never => ("never", Vec::new()),
            warden::Residual::Only(objects) => ("only", objects),
            warden::Residual::AllBut(objects) => ("all_but", objects),
            warden::Residual::PerRow(objects) => ("per_row", objects),
        };
        Ok(SqlFilter {
            residual: residual.to_string(),
            objects,
            condition: sql.condition,
            params,
            check_each_row: sql.check_each_row,
            errors: filter.errors,
        })
    }

    /// Runs the policy's `test` blocks; returns `(name, failure)` pairs,
    /// `failure` `None` for a test that passed.
    fn run_tests(&self, py: Python<'_>) -> Vec<(String, Option<String>)> {
        py.detach(|| self.live.snapshot().run_tests().into_iter().map(|t| (t.name, t.failure)).collect())
    }

    /// Why a query holds, or why not: the proofs, or the nearest misses.
    #[pyo3(signature = (atom, at = None, ctx = None))]
    fn explain(
        &self,
        py: Python<'_>,
        atom: &str,
        at: Option<&Bound<'_, PyAny>>,
        ctx: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Explanation> {
        let options = options(at, ctx)?;
        let explanation = py.detach(|| self.live.snapshot().explain(atom, &options)).map_err(policy_error)?;
        let json = serde_json::to_string_pretty(&explanation).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Explanation {
            holds: explanation.holds,
            text: explanation.to_text(),
            verbose_text: explanation.to_text_verbose(),
            json,
        })
    }
}

fn request(
    user: String,
    perm: String,
    object: String,
    at: Option<&Bound<'_, PyAny>>,
    ctx: Option<&Bound<'_, PyDict>>,
) -> PyResult<Request> {
    Ok(Request { user, perm, object, at: convert::request_time(at)?, ctx: convert::context(ctx)? })
}

fn options(at: Option<&Bound<'_, PyAny>>, ctx: Option<&Bound<'_, PyDict>>) -> PyResult<RequestOptions> {
    let ctx: BTreeMap<String, String> = convert::context(ctx)?;
    Ok(RequestOptions { at: convert::request_time(at)?, ctx, ..RequestOptions::default() })
}

/// The native module; `import warden` re-exports it.
#[pymodule]
fn _warden(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Warden>()?;
    m.add_class::<Decision>()?;
    m.add_class::<Answer>()?;
    m.add_class::<Explanation>()?;
    m.add_class::<ObjectList>()?;
    m.add_class::<SubjectList>()?;
    m.add_class::<SqlFilter>()?;
    m.add("PolicyError", m.py().get_type::<PolicyError>())?;
    Ok(())
}

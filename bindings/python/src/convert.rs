//! Python values in and out: request times, `ctx` values, the arguments and
//! results of `extern fn`s written in Python, and answers as Python values.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDateTime, PyDelta, PyDict, PyInt, PyString, PyTuple};
use std::collections::BTreeMap;
use std::sync::Arc;
use warden::{ExternFn, Val};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// `at=`: an RFC 3339 string or an aware `datetime` (microseconds since the
/// epoch); `None` is the wall clock.
pub fn request_time(at: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(at) = at.filter(|a| !a.is_none()) else { return Ok(None) };
    if let Ok(text) = at.cast::<PyString>() {
        return warden::time::parse_timestamp(text.to_str()?).map(Some).map_err(PyValueError::new_err);
    }
    if at.is_instance_of::<PyDateTime>() {
        return datetime_micros(at).map(Some);
    }
    Err(PyTypeError::new_err(format!("at: expected an RFC 3339 string or an aware datetime, got {}", type_name(at))))
}

/// An aware `datetime` in microseconds since the epoch; a naive one is an error.
fn datetime_micros(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if value.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err("a naive datetime has no time zone: pass an aware one (tzinfo set)"));
    }
    let iso: String = value.call_method0("isoformat")?.extract()?;
    warden::time::parse_timestamp(&iso).map_err(PyValueError::new_err)
}

/// `ctx=`: a dict of str, int, bool or aware datetime, each written as the
/// policy constant it is (a str stays a string even when it reads `42`).
pub fn context(ctx: Option<&Bound<'_, PyDict>>) -> PyResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(ctx) = ctx else { return Ok(out) };
    for (key, value) in ctx.iter() {
        let key: String = key.extract().map_err(|_| PyTypeError::new_err("ctx keys must be str"))?;
        let text = if value.is_instance_of::<PyBool>() {
            value.extract::<bool>()?.to_string()
        } else if value.is_instance_of::<PyInt>() {
            value.extract::<i64>()?.to_string()
        } else if let Ok(text) = value.cast::<PyString>() {
            warden::string_literal(text.to_str()?)
        } else if value.is_instance_of::<PyDateTime>() {
            warden::time::format_timestamp(datetime_micros(&value)?)
        } else {
            return Err(PyTypeError::new_err(format!(
                "ctx[{key:?}]: expected str, int, bool or an aware datetime, got {}",
                type_name(&value)
            )));
        };
        out.insert(key, text);
    }
    Ok(out)
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// An `extern fn` written in Python. An exception or a result that is not a
/// bool, int, str, datetime or timedelta is an error of the condition, so
/// the rule using it does not grant (SPEC section 5).
pub fn extern_fn(name: String, callable: Py<PyAny>) -> ExternFn {
    Arc::new(move |args: &[Val]| {
        Python::attach(|py| {
            let args: Vec<Bound<'_, PyAny>> = args
                .iter()
                .map(|v| to_python(py, v))
                .collect::<PyResult<_>>()
                .map_err(|e| format!("extern fn {name}: {e}"))?;
            let args = PyTuple::new(py, args).map_err(|e| format!("extern fn {name}: {e}"))?;
            let result = callable.bind(py).call1(args).map_err(|e| format!("extern fn {name} raised {e}"))?;
            from_python(&result).map_err(|kind| {
                format!("extern fn {name} returned {kind}, not a bool, int, str, datetime or timedelta")
            })
        })
    })
}

fn to_python<'py>(py: Python<'py>, value: &Val) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Val::Str(s) => PyString::new(py, s).into_any(),
        Val::Int(i) => i.into_pyobject(py)?.into_any(),
        Val::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Val::Time(micros) => {
            let datetime = py.import("datetime")?;
            let utc = datetime.getattr("timezone")?.getattr("utc")?;
            let epoch = datetime.getattr("datetime")?.call_method1("fromtimestamp", (0, utc))?;
            epoch.add(delta(py, *micros)?)?
        }
        Val::Dur(micros) => delta(py, *micros)?.into_any(),
    })
}

fn delta(py: Python<'_>, micros: i64) -> PyResult<Bound<'_, PyDelta>> {
    const DAY: i64 = 86_400 * MICROS_PER_SECOND;
    let (days, rest) = (micros.div_euclid(DAY), micros.rem_euclid(DAY));
    let days = i32::try_from(days).map_err(|_| PyValueError::new_err("duration out of range"))?;
    // `rest` is below one day: both parts fit an i32.
    PyDelta::new(py, days, (rest / MICROS_PER_SECOND) as i32, (rest % MICROS_PER_SECOND) as i32, false)
}

/// A Python result as a value, or the name of its type.
fn from_python(value: &Bound<'_, PyAny>) -> Result<Val, String> {
    if value.is_instance_of::<PyBool>() {
        return value.extract::<bool>().map(Val::Bool).map_err(|_| "bool".to_string());
    }
    if value.is_instance_of::<PyInt>() {
        return value.extract::<i64>().map(Val::Int).map_err(|_| "an int out of range".to_string());
    }
    if let Ok(text) = value.cast::<PyString>() {
        return text.to_str().map(|s| Val::Str(s.into())).map_err(|_| "str".to_string());
    }
    if value.is_instance_of::<PyDateTime>() {
        return datetime_micros(value).map(Val::Time).map_err(|_| "a naive datetime".to_string());
    }
    if value.is_instance_of::<PyDelta>() {
        let seconds: f64 =
            value.call_method0("total_seconds").and_then(|s| s.extract()).map_err(|_| "timedelta".to_string())?;
        return Ok(Val::Dur((seconds * MICROS_PER_SECOND as f64).round() as i64));
    }
    Err(type_name(value))
}

/// An answer's value, rendered as policy text, as a Python value: integers
/// and booleans as such, quoted strings unquoted, everything else (names,
/// typed ids, timestamps, durations) as the str it is written as.
pub fn answer_value<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    match text {
        "true" => return Ok(PyBool::new(py, true).to_owned().into_any()),
        "false" => return Ok(PyBool::new(py, false).to_owned().into_any()),
        _ => {}
    }
    Ok(PyString::new(py, &unquoted(text)).into_any())
}

/// The text of a policy string literal (`"a \"b\""` is `a "b"`); other text as is.
fn unquoted(text: &str) -> String {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else { return text.to_string() };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let code: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                out.extend(u32::from_str_radix(&code, 16).ok().and_then(char::from_u32));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

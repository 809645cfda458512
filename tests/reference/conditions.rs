//! The reference semantics of conditions, written from SPEC sections 3 and 5
//! independently of `warden::internals::eval::functions` (which the optimised
//! evaluators use): values, the built-ins, `fn` calls, errors and missing
//! `ctx` keys.
//!
//! An expression evaluates to a value, to `Missing` (it read a `ctx` key the
//! request lacks: the literal is false) or to `Error` (a type error, an
//! overflow, an unregistered or failing `extern fn`: the literal is unknown
//! in a plain rule). Evaluation is left to right; `&&` and `||` look at
//! their right side only when the left one does not decide.

use std::collections::BTreeMap;
use warden::internals::eval::functions::{Env, Val};
use warden::internals::lower::ir::{BinOp, Builtin, Callee, Expr, Term, Value, VarId};

/// What an expression gives.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Value(V),
    Missing,
    Error,
}

/// A value: strings (names, typed ids) by their text.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Str(String),
    Int(i64),
    Time(i64),
    Dur(i64),
    Bool(bool),
}

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Evaluates `e` with the rule's variables bound by `binding`.
pub fn eval(env: &Env, e: &Expr, binding: &BTreeMap<VarId, Value>) -> Outcome {
    let calls = std::cell::Cell::new(0usize);
    eval_in(env, e, &|v| binding.get(&v).copied(), &[], 0, &calls)
}

fn eval_in(
    env: &Env,
    e: &Expr,
    var: &dyn Fn(VarId) -> Option<Value>,
    params: &[V],
    depth: usize,
    calls: &std::cell::Cell<usize>,
) -> Outcome {
    use Outcome::{Error, Missing, Value as Val_};
    let go = |e: &Expr| eval_in(env, e, var, params, depth, calls);
    match e {
        Expr::Term(Term::Const(c)) => Val_(of(env, *c)),
        Expr::Term(Term::Var(v)) => var(*v).map_or(Error, |c| Val_(of(env, c))),
        Expr::Term(Term::Now) => Val_(V::Time(env.now)),
        Expr::Term(Term::Ctx(key)) => env.ctx.get(key).map_or(Missing, |c| Val_(of(env, *c))),
        Expr::Param(i) => params.get(*i as usize).cloned().map_or(Error, Val_),
        Expr::Not(a) => match go(a) {
            Val_(V::Bool(b)) => Val_(V::Bool(!b)),
            Val_(_) => Error,
            other => other,
        },
        Expr::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
            let decides = *op == BinOp::Or;
            match go(a) {
                Val_(V::Bool(x)) if x == decides => Val_(V::Bool(x)),
                Val_(V::Bool(_)) => match go(b) {
                    Val_(V::Bool(y)) => Val_(V::Bool(y)),
                    Val_(_) => Error,
                    other => other,
                },
                Val_(_) => Error,
                other => other,
            }
        }
        Expr::Binary(op, a, b) => match (go(a), go(b)) {
            (Val_(x), Val_(y)) => binary(*op, x, y),
            (Missing, _) | (Val_(_), Missing) => Missing,
            _ => Error,
        },
        Expr::InList(x, items) => {
            let x = match go(x) {
                Val_(x) => x,
                other => return other,
            };
            for item in items {
                match go(item) {
                    Val_(y) if y == x => return Val_(V::Bool(true)),
                    Val_(_) => {}
                    other => return other,
                }
            }
            Val_(V::Bool(false))
        }
        Expr::Call(callee, args) => {
            let mut values = Vec::new();
            for a in args {
                match go(a) {
                    Val_(v) => values.push(v),
                    other => return other,
                }
            }
            match callee {
                Callee::Builtin(b) => builtin(*b, &values),
                Callee::Fn(i) => {
                    calls.set(calls.get() + 1);
                    let Some(def) = env.program.fns.get(*i as usize) else { return Error };
                    if depth >= 64 || calls.get() > warden::internals::lower::ir::MAX_CALLS {
                        return Error;
                    }
                    eval_in(env, &def.body, &|_| None, &values, depth + 1, calls)
                }
                Callee::Extern(i) => {
                    let Some(def) = env.program.externs.get(*i as usize) else { return Error };
                    let Some(f) = env.externs.get(&def.name) else { return Error };
                    let args: Vec<Val> = values.iter().map(to_val).collect();
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&args))) {
                        Ok(Ok(v)) => Val_(from_val(&v)),
                        _ => Error,
                    }
                }
            }
        }
    }
}

fn of(env: &Env, c: Value) -> V {
    match c {
        Value::Sym(s) => V::Str(env.symbols.resolve(s).to_string()),
        Value::Int(n) => V::Int(n),
        Value::Time(t) => V::Time(t),
        Value::Dur(d) => V::Dur(d),
        Value::Bool(b) => V::Bool(b),
    }
}

/// A value as a constant of the program (list items bind variables).
pub fn constant(env: &Env, v: &V) -> Value {
    match v {
        V::Str(s) => Value::Sym(env.symbols.intern(s)),
        V::Int(n) => Value::Int(*n),
        V::Time(t) => Value::Time(*t),
        V::Dur(d) => Value::Dur(*d),
        V::Bool(b) => Value::Bool(*b),
    }
}

fn to_val(v: &V) -> Val {
    match v {
        V::Str(s) => Val::Str(s.as_str().into()),
        V::Int(n) => Val::Int(*n),
        V::Time(t) => Val::Time(*t),
        V::Dur(d) => Val::Dur(*d),
        V::Bool(b) => Val::Bool(*b),
    }
}

fn from_val(v: &Val) -> V {
    match v {
        Val::Str(s) => V::Str(s.to_string()),
        Val::Int(n) => V::Int(*n),
        Val::Time(t) => V::Time(*t),
        Val::Dur(d) => V::Dur(*d),
        Val::Bool(b) => V::Bool(*b),
    }
}

/// Comparisons (values of different kinds are unequal; only like kinds
/// order), and `+`/`-` on integers, timestamps and durations, overflow an
/// error.
fn binary(op: BinOp, a: V, b: V) -> Outcome {
    use Outcome::{Error, Value as Val_};
    let ordering = match (&a, &b) {
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Int(x), V::Int(y)) | (V::Time(x), V::Time(y)) | (V::Dur(x), V::Dur(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        BinOp::Eq => Val_(V::Bool(a == b)),
        BinOp::Ne => Val_(V::Bool(a != b)),
        BinOp::Lt => ordering.map_or(Error, |o| Val_(V::Bool(o.is_lt()))),
        BinOp::Le => ordering.map_or(Error, |o| Val_(V::Bool(o.is_le()))),
        BinOp::Gt => ordering.map_or(Error, |o| Val_(V::Bool(o.is_gt()))),
        BinOp::Ge => ordering.map_or(Error, |o| Val_(V::Bool(o.is_ge()))),
        BinOp::Add | BinOp::Sub => {
            let sum = |x: i64, y: i64| if op == BinOp::Add { x.checked_add(y) } else { x.checked_sub(y) };
            let result = match (a, b) {
                (V::Int(x), V::Int(y)) => sum(x, y).map(V::Int),
                (V::Time(x), V::Dur(y)) => sum(x, y).map(V::Time),
                (V::Dur(x), V::Time(y)) if op == BinOp::Add => x.checked_add(y).map(V::Time),
                (V::Time(x), V::Time(y)) if op == BinOp::Sub => x.checked_sub(y).map(V::Dur),
                (V::Dur(x), V::Dur(y)) => sum(x, y).map(V::Dur),
                _ => None,
            };
            result.map_or(Error, Val_)
        }
        BinOp::And | BinOp::Or => Error,
    }
}

/// The built-ins of SPEC section 3; time functions in UTC.
fn builtin(b: Builtin, args: &[V]) -> Outcome {
    use Outcome::{Error, Value as Val_};
    let time = || match args.first() {
        Some(V::Time(t)) => Some(*t),
        _ => None,
    };
    let text = |i: usize| match args.get(i) {
        Some(V::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let days = |t: i64| t.div_euclid(MICROS_PER_DAY);
    let minutes_of_day = |t: i64| t.rem_euclid(MICROS_PER_DAY) / MICROS_PER_MINUTE;
    let result = match b {
        Builtin::Hour => time().map(|t| V::Int(minutes_of_day(t) / 60)),
        Builtin::Minute => time().map(|t| V::Int(minutes_of_day(t) % 60)),
        Builtin::Weekday => time().map(|t| {
            // 1970-01-01 was a Thursday.
            let names = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"];
            V::Str(names[days(t).rem_euclid(7) as usize].to_string())
        }),
        Builtin::Date => time().map(|t| {
            let (y, m, d) = civil(days(t));
            V::Str(format!("{y:04}-{m:02}-{d:02}"))
        }),
        Builtin::StartsWith => text(0).zip(text(1)).map(|(s, p)| V::Bool(s.starts_with(&p))),
        Builtin::EndsWith => text(0).zip(text(1)).map(|(s, p)| V::Bool(s.ends_with(&p))),
        Builtin::Contains => text(0).zip(text(1)).map(|(s, p)| V::Bool(s.contains(&p))),
        Builtin::Lower => text(0).map(|s| V::Str(s.to_lowercase())),
        Builtin::Type => args.first().map(|v| {
            V::Str(match v {
                V::Str(s) => match s.split_once(':') {
                    Some((t, _)) if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                        t.to_string()
                    }
                    _ => "_".to_string(),
                },
                V::Int(_) => "int".into(),
                V::Time(_) => "timestamp".into(),
                V::Dur(_) => "duration".into(),
                V::Bool(_) => "bool".into(),
            })
        }),
    };
    result.map_or(Error, Val_)
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

//! Conditions: evaluating expressions, built-in functions and `extern fn`s.
//!
//! An expression yields a [`Val`], or a [`Fault`]: a missing `ctx` key (the
//! literal is false) or an error (false in allow rules, true in deny rules;
//! SPEC section 5).

use crate::lower::builtins::STAR;
use crate::lower::intern::Symbols;
use crate::lower::ir::{BinOp, Builtin, Callee, Expr, Program, Term, Value, VarId};
use crate::time;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

/// A value computed by an expression.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    /// A string.
    Str(Arc<str>),
    /// An integer.
    Int(i64),
    /// A timestamp (microseconds since the epoch).
    Time(i64),
    /// A duration (microseconds).
    Dur(i64),
    /// A boolean.
    Bool(bool),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::Int(_) => "integer",
            Val::Time(_) => "timestamp",
            Val::Dur(_) => "duration",
            Val::Bool(_) => "boolean",
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => write!(f, "{}", crate::eval::render::quote_if_needed(s)),
            Val::Int(n) => write!(f, "{n}"),
            Val::Time(t) => f.write_str(&time::format_timestamp(*t)),
            Val::Dur(d) => f.write_str(&time::format_duration(*d)),
            Val::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Why an expression has no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request context lacks this key: the literal is false.
    MissingCtx(String),
    /// A real error (type mismatch, overflow, unregistered `extern fn`).
    Error(String),
}

/// The result of an `extern fn`: a value, or an error message.
pub type ExternResult = Result<Val, String>;

/// A condition supplied by the embedding program.
pub type ExternFn = Arc<dyn Fn(&[Val]) -> ExternResult + Send + Sync>;

/// The registered `extern fn`s, by name.
#[derive(Clone, Default)]
pub struct Externs {
    functions: HashMap<String, ExternFn>,
}

impl Externs {
    /// No functions registered.
    pub fn new() -> Self {
        Externs::default()
    }

    /// Registers (or replaces) `name`.
    pub fn register(&mut self, name: impl Into<String>, f: ExternFn) {
        self.functions.insert(name.into(), f);
    }

    /// The function registered as `name`.
    pub fn get(&self, name: &str) -> Option<&ExternFn> {
        self.functions.get(name)
    }
}

impl fmt::Debug for Externs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("Externs").field("functions", &names).finish()
    }
}

/// What a condition may read besides its variables: the request.
pub struct Env<'a> {
    /// The program (for `fn` bodies and names).
    pub program: &'a Program,
    /// The symbols of this request.
    pub symbols: &'a Symbols<'a>,
    /// The request time.
    pub now: i64,
    /// The request context.
    pub ctx: &'a BTreeMap<crate::lower::intern::Sym, Value>,
    /// The registered `extern fn`s.
    pub externs: &'a Externs,
}

/// Nesting limit for `fn` calls (they cannot recurse, but can chain).
const MAX_CALL_DEPTH: usize = 64;

pub use crate::lower::ir::MAX_CALLS;

impl Env<'_> {
    /// A tuple value as an expression value.
    pub fn val(&self, v: Value) -> Val {
        match v {
            Value::Sym(s) => Val::Str(self.symbols.resolve(s)),
            Value::Int(n) => Val::Int(n),
            Value::Time(t) => Val::Time(t),
            Value::Dur(d) => Val::Dur(d),
            Value::Bool(b) => Val::Bool(b),
        }
    }

    /// An expression value as a tuple value (interning new strings for this request).
    pub fn value(&self, v: &Val) -> Value {
        match v {
            Val::Str(s) => Value::Sym(self.symbols.intern(s)),
            Val::Int(n) => Value::Int(*n),
            Val::Time(t) => Value::Time(*t),
            Val::Dur(d) => Value::Dur(*d),
            Val::Bool(b) => Value::Bool(*b),
        }
    }

    /// The value of a term under `bindings`.
    pub fn term(&self, term: &Term, bindings: &dyn Fn(VarId) -> Option<Value>) -> Result<Value, Fault> {
        match term {
            Term::Const(v) => Ok(*v),
            Term::Now => Ok(Value::Time(self.now)),
            Term::Ctx(key) => {
                self.ctx.get(key).copied().ok_or_else(|| Fault::MissingCtx(self.symbols.resolve(*key).to_string()))
            }
            Term::Var(v) => bindings(*v).ok_or_else(|| Fault::Error("internal error: unbound variable".into())),
        }
    }

    /// Evaluates an expression.
    ///
    /// One evaluation makes at most [`MAX_CALLS`] `fn` calls: a `fn` that
    /// calls another twice, which calls another twice, ... would otherwise
    /// take exponential time within the depth limit. Past it, an error.
    pub fn eval(&self, e: &Expr, bindings: &dyn Fn(VarId) -> Option<Value>) -> Result<Val, Fault> {
        self.eval_in(e, bindings, &[], (0, &std::cell::Cell::new(0)))
    }

    /// `depth` is the call depth here and `calls` the calls made so far by
    /// the whole evaluation.
    fn eval_in(
        &self,
        e: &Expr,
        bindings: &dyn Fn(VarId) -> Option<Value>,
        params: &[Val],
        (depth, calls): (usize, &std::cell::Cell<usize>),
    ) -> Result<Val, Fault> {
        let eval = |e: &Expr| self.eval_in(e, bindings, params, (depth, calls));
        match e {
            Expr::Term(t) => Ok(self.val(self.term(t, bindings)?)),
            Expr::Param(i) => {
                params.get(*i as usize).cloned().ok_or_else(|| Fault::Error("internal error: missing parameter".into()))
            }
            Expr::Not(a) => match eval(a)? {
                Val::Bool(b) => Ok(Val::Bool(!b)),
                other => Err(type_error("`!` needs a boolean", &other)),
            },
            Expr::Binary(BinOp::And, a, b) => match eval(a)? {
                Val::Bool(false) => Ok(Val::Bool(false)),
                Val::Bool(true) => as_bool(eval(b)?, "&&"),
                other => Err(type_error("`&&` needs booleans", &other)),
            },
            Expr::Binary(BinOp::Or, a, b) => match eval(a)? {
                Val::Bool(true) => Ok(Val::Bool(true)),
                Val::Bool(false) => as_bool(eval(b)?, "||"),
                other => Err(type_error("`||` needs booleans", &other)),
            },
            Expr::Binary(op, a, b) => binary(*op, eval(a)?, eval(b)?),
            Expr::InList(x, items) => {
                let x = eval(x)?;
                for item in items {
                    if eval(item)? == x {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            Expr::Call(callee, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(eval(a)?);
                }
                self.call(*callee, &values, (depth, calls))
            }
        }
    }

    fn call(
        &self,
        callee: Callee,
        args: &[Val],
        (depth, calls): (usize, &std::cell::Cell<usize>),
    ) -> Result<Val, Fault> {
        match callee {
            Callee::Builtin(b) => builtin(b, args),
            Callee::Fn(i) => {
                let def = self
                    .program
                    .fns
                    .get(i as usize)
                    .ok_or_else(|| Fault::Error("internal error: unknown fn".into()))?;
                if depth >= MAX_CALL_DEPTH {
                    return Err(Fault::Error(format!(
                        "`{}`: functions nest deeper than {MAX_CALL_DEPTH} calls",
                        def.name
                    )));
                }
                calls.set(calls.get() + 1);
                if calls.get() > MAX_CALLS {
                    return Err(Fault::Error(format!(
                        "`{}`: more than {MAX_CALLS} fn calls in one condition (fns that call others repeatedly grow exponentially)",
                        def.name
                    )));
                }
                self.eval_in(&def.body, &|_| None, args, (depth + 1, calls))
            }
            Callee::Extern(i) => {
                let def = self
                    .program
                    .externs
                    .get(i as usize)
                    .ok_or_else(|| Fault::Error("internal error: unknown extern".into()))?;
                let f = self
                    .externs
                    .get(&def.name)
                    .ok_or_else(|| Fault::Error(format!("extern fn `{}` is not registered", def.name)))?;
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(args))) {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(message)) => Err(Fault::Error(format!("extern fn `{}` failed: {message}", def.name))),
                    Err(_) => Err(Fault::Error(format!("extern fn `{}` panicked", def.name))),
                }
            }
        }
    }
}

fn as_bool(v: Val, op: &str) -> Result<Val, Fault> {
    match v {
        Val::Bool(b) => Ok(Val::Bool(b)),
        other => Err(type_error(&format!("`{op}` needs booleans"), &other)),
    }
}

fn type_error(what: &str, found: &Val) -> Fault {
    Fault::Error(format!("type error: {what}, found {} `{found}`", found.kind()))
}

fn overflow(op: BinOp) -> Fault {
    Fault::Error(format!("overflow in `{}`", op.symbol()))
}

fn binary(op: BinOp, a: Val, b: Val) -> Result<Val, Fault> {
    use Val::*;
    match op {
        // Values of different kinds are never equal (no error), as in Cedar.
        BinOp::Eq => Ok(Bool(a == b)),
        BinOp::Ne => Ok(Bool(a != b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ordering = match (&a, &b) {
                (Str(x), Str(y)) => x.cmp(y),
                (Int(x), Int(y)) | (Time(x), Time(y)) | (Dur(x), Dur(y)) => x.cmp(y),
                _ => {
                    return Err(Fault::Error(format!(
                        "type error: cannot compare {} `{a}` with {} `{b}` using `{}`",
                        a.kind(),
                        b.kind(),
                        op.symbol()
                    )));
                }
            };
            Ok(Bool(match op {
                BinOp::Lt => ordering.is_lt(),
                BinOp::Le => ordering.is_le(),
                BinOp::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            }))
        }
        BinOp::Add | BinOp::Sub => {
            let add = op == BinOp::Add;
            let arith = |x: i64, y: i64| {
                if add { x.checked_add(y) } else { x.checked_sub(y) }
            };
            match (&a, &b) {
                (Int(x), Int(y)) => arith(*x, *y).map(Int).ok_or_else(|| overflow(op)),
                (Time(x), Dur(y)) => arith(*x, *y).map(Time).ok_or_else(|| overflow(op)),
                (Dur(x), Time(y)) if add => x.checked_add(*y).map(Time).ok_or_else(|| overflow(op)),
                (Time(x), Time(y)) if !add => x.checked_sub(*y).map(Dur).ok_or_else(|| overflow(op)),
                (Dur(x), Dur(y)) => arith(*x, *y).map(Dur).ok_or_else(|| overflow(op)),
                _ => Err(Fault::Error(format!(
                    "type error: cannot apply `{}` to {} `{a}` and {} `{b}`",
                    op.symbol(),
                    a.kind(),
                    b.kind()
                ))),
            }
        }
        BinOp::And | BinOp::Or => Err(Fault::Error("internal error: short-circuit operator".into())),
    }
}

fn builtin(b: Builtin, args: &[Val]) -> Result<Val, Fault> {
    let arg = |i: usize| args.get(i).ok_or_else(|| Fault::Error(format!("`{}` is missing an argument", b.name())));
    let time_arg = || match arg(0)? {
        Val::Time(t) => Ok(*t),
        other => Err(type_error(&format!("`{}` needs a timestamp", b.name()), other)),
    };
    let str_arg = |i: usize| match arg(i)? {
        Val::Str(s) => Ok(s.clone()),
        other => Err(type_error(&format!("`{}` needs strings", b.name()), other)),
    };
    Ok(match b {
        Builtin::Hour => Val::Int(time::hour(time_arg()?)),
        Builtin::Minute => Val::Int(time::minute(time_arg()?)),
        Builtin::Weekday => Val::Str(Arc::from(time::weekday(time_arg()?))),
        Builtin::Date => Val::Str(Arc::from(time::date(time_arg()?))),
        Builtin::StartsWith => Val::Bool(str_arg(0)?.starts_with(&*str_arg(1)?)),
        Builtin::EndsWith => Val::Bool(str_arg(0)?.ends_with(&*str_arg(1)?)),
        Builtin::Contains => Val::Bool(str_arg(0)?.contains(&*str_arg(1)?)),
        Builtin::Lower => Val::Str(Arc::from(str_arg(0)?.to_lowercase())),
        Builtin::Type => Val::Str(Arc::from(match arg(0)? {
            Val::Str(s) => type_of(s),
            Val::Int(_) => "int",
            Val::Time(_) => "timestamp",
            Val::Dur(_) => "duration",
            Val::Bool(_) => "bool",
        })),
    })
}

/// The type of a string constant: `T` for `T:X`, `_` otherwise.
pub fn type_of(s: &str) -> &str {
    match s.split_once(':') {
        Some((ty, _)) if !ty.is_empty() && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => ty,
        _ => "_",
    }
}

/// Whether a value is the global scope `*`.
pub fn is_star(v: Value) -> bool {
    v == Value::Sym(STAR)
}

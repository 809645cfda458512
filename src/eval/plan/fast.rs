//! Conditions compiled to an allocation-free form.
//!
//! Comparisons of variables, constants, `now`, `hour(..)`, `minute(..)` and
//! `type(..)`, joined by `&&`, `||` and `!`, are decided on interned values
//! directly. Whatever this form cannot decide exactly (string ordering,
//! values of other kinds, errors) returns `None`, and the caller evaluates the
//! expression with the general evaluator, so both give the same answers.

use crate::lower::intern::Sym;
use crate::lower::ir::{BinOp, Builtin, Callee, Expr, Term, Value};
use crate::time;

/// A value of a compiled condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A variable of the rule.
    Var(u8),
    /// A constant.
    Const(Value),
    /// The request time.
    Now,
    /// `hour(X)` of a timestamp.
    Hour(Box<Operand>),
    /// `minute(X)` of a timestamp.
    Minute(Box<Operand>),
    /// `type(X)` of a string variable.
    Type(u8),
}

/// A compiled condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `a op b` for a comparison operator.
    Compare(BinOp, Operand, Operand),
    /// `a && b`.
    And(Box<Cond>, Box<Cond>),
    /// `a || b`.
    Or(Box<Cond>, Box<Cond>),
    /// `!a`.
    Not(Box<Cond>),
}

/// What a condition reads at run time.
pub struct Inputs<'a> {
    /// The rule's variables.
    pub regs: &'a [Value],
    /// The request time.
    pub now: i64,
    /// `type(..)` of each program symbol.
    pub types: &'a [Option<Sym>],
}

impl Cond {
    /// The compiled form of `expr`, when it has one.
    pub fn compile(expr: &Expr) -> Option<Cond> {
        match expr {
            Expr::Binary(BinOp::And, a, b) => Some(Cond::And(Box::new(Cond::compile(a)?), Box::new(Cond::compile(b)?))),
            Expr::Binary(BinOp::Or, a, b) => Some(Cond::Or(Box::new(Cond::compile(a)?), Box::new(Cond::compile(b)?))),
            Expr::Binary(op @ (BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge), a, b) => {
                Some(Cond::Compare(*op, operand(a)?, operand(b)?))
            }
            Expr::Not(a) => Some(Cond::Not(Box::new(Cond::compile(a)?))),
            _ => None,
        }
    }

    /// The condition's truth, or `None` when the general evaluator must decide.
    pub fn eval(&self, inputs: &Inputs) -> Option<bool> {
        match self {
            Cond::And(a, b) => Some(a.eval(inputs)? && b.eval(inputs)?),
            Cond::Or(a, b) => Some(a.eval(inputs)? || b.eval(inputs)?),
            Cond::Not(a) => Some(!a.eval(inputs)?),
            Cond::Compare(op, a, b) => {
                let (a, b) = (a.eval(inputs)?, b.eval(inputs)?);
                let ordering = match (a, b) {
                    // Interned: equal strings have equal symbols; kinds differ → unequal.
                    _ if *op == BinOp::Eq => return Some(a == b),
                    _ if *op == BinOp::Ne => return Some(a != b),
                    (Value::Int(x), Value::Int(y))
                    | (Value::Time(x), Value::Time(y))
                    | (Value::Dur(x), Value::Dur(y)) => x.cmp(&y),
                    _ => return None,
                };
                Some(match op {
                    BinOp::Lt => ordering.is_lt(),
                    BinOp::Le => ordering.is_le(),
                    BinOp::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                })
            }
        }
    }
}

impl Operand {
    fn eval(&self, inputs: &Inputs) -> Option<Value> {
        match self {
            Operand::Var(v) => inputs.regs.get(*v as usize).copied(),
            Operand::Const(c) => Some(*c),
            Operand::Now => Some(Value::Time(inputs.now)),
            Operand::Hour(t) => match t.eval(inputs)? {
                Value::Time(t) => Some(Value::Int(time::hour(t))),
                _ => None,
            },
            Operand::Minute(t) => match t.eval(inputs)? {
                Value::Time(t) => Some(Value::Int(time::minute(t))),
                _ => None,
            },
            Operand::Type(v) => match inputs.regs.get(*v as usize)? {
                Value::Sym(s) => inputs.types.get(s.0 as usize).copied().flatten().map(Value::Sym),
                _ => None,
            },
        }
    }
}

fn operand(e: &Expr) -> Option<Operand> {
    match e {
        Expr::Term(Term::Var(v)) => Some(Operand::Var(u8::try_from(v.0).ok()?)),
        Expr::Term(Term::Const(c)) => Some(Operand::Const(*c)),
        Expr::Term(Term::Now) => Some(Operand::Now),
        Expr::Call(Callee::Builtin(Builtin::Hour), args) => Some(Operand::Hour(Box::new(operand(only(args)?)?))),
        Expr::Call(Callee::Builtin(Builtin::Minute), args) => Some(Operand::Minute(Box::new(operand(only(args)?)?))),
        Expr::Call(Callee::Builtin(Builtin::Type), args) => match only(args)? {
            Expr::Term(Term::Var(v)) => Some(Operand::Type(u8::try_from(v.0).ok()?)),
            _ => None,
        },
        _ => None,
    }
}

fn only(args: &[Expr]) -> Option<&Expr> {
    match args {
        [one] => Some(one),
        _ => None,
    }
}

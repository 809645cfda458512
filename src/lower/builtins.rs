//! The built-in relations of SPEC section 4, written once, as ordinary rules.
//!
//! Explanations see these rules like any other: each has a label (`B7`) and its
//! Datalog text, which is what [`Origin::Builtin`] shows.

use super::intern::Sym;
use super::ir::{Atom, BinOp, Builtin, Callee, Expr, Literal, Origin, RelId, RelationKind, Rule, Term, Value, VarId};

/// The global scope of `assign`/`grant` without `on` (interned first, so always `Sym(0)`).
pub const STAR: Sym = Sym(0);

/// The built-in relations in id order: name, arity, kind, entity columns.
pub const RELATIONS: [(&str, usize, RelationKind, usize); 18] = [
    ("parent", 2, RelationKind::BuiltinBase, 2),
    ("within", 2, RelationKind::BuiltinDerived, 2),
    ("role_extends", 2, RelationKind::BuiltinBase, 2),
    ("role_implies", 2, RelationKind::BuiltinDerived, 2),
    ("assigned", 3, RelationKind::BuiltinDerived, 3),
    ("has_role", 3, RelationKind::BuiltinDerived, 3),
    ("has_perm", 3, RelationKind::BuiltinDerived, 3),
    ("permitted", 3, RelationKind::BuiltinDerived, 3),
    ("denied", 3, RelationKind::BuiltinDerived, 3),
    ("allowed", 3, RelationKind::BuiltinDerived, 3),
    ("$adom", 1, RelationKind::Internal, 1),
    ("$role", 1, RelationKind::Internal, 1),
    ("$role_perm", 3, RelationKind::Internal, 3),
    ("$assign", 5, RelationKind::Internal, 3),
    ("$grant", 5, RelationKind::Internal, 3),
    ("$granted", 3, RelationKind::Internal, 3),
    ("$superuser", 1, RelationKind::Internal, 1),
    ("$inactive", 1, RelationKind::Internal, 1),
];

/// `parent(X, Y)`: direct containment (`X in Y;`).
pub const PARENT: RelId = RelId(0);
/// `within(X, Y)`: reflexive-transitive closure of `parent`.
pub const WITHIN: RelId = RelId(1);
/// `role_extends(R, S)`: direct `extends`.
pub const ROLE_EXTENDS: RelId = RelId(2);
/// `role_implies(R, S)`: R has every permission of S.
pub const ROLE_IMPLIES: RelId = RelId(3);
/// `assigned(S, R, O)`: assignments active at `now`.
pub const ASSIGNED: RelId = RelId(4);
/// `has_role(U, R, O)`.
pub const HAS_ROLE: RelId = RelId(5);
/// `has_perm(U, P, O)`.
pub const HAS_PERM: RelId = RelId(6);
/// `permitted(U, P, O)`: `has_perm` or an `allow` rule.
pub const PERMITTED: RelId = RelId(7);
/// `denied(U, P, O)`: a `deny` rule.
pub const DENIED: RelId = RelId(8);
/// `allowed(U, P, O)`: the decision.
pub const ALLOWED: RelId = RelId(9);
/// `$adom(X)`: the active domain, filled in by the evaluator.
pub const ADOM: RelId = RelId(10);
/// `$role(R)`: declared roles.
pub const ROLE: RelId = RelId(11);
/// `$role_perm(R, P, T)`: role R grants P on objects of type T (`*`: any).
pub const ROLE_PERM: RelId = RelId(12);
/// `$assign(S, R, O, From, Until)`: `assign` statements.
pub const ASSIGN: RelId = RelId(13);
/// `$grant(S, P, O, From, Until)`: `grant` statements.
pub const GRANT: RelId = RelId(14);
/// `$granted(S, P, O)`: grants active at `now`.
pub const GRANTED: RelId = RelId(15);
/// `$superuser(U)`.
pub const SUPERUSER: RelId = RelId(16);
/// `$inactive(U)`.
pub const INACTIVE: RelId = RelId(17);

/// The earliest representable instant: an `assign` without `from`.
pub const FOREVER_BEFORE: Value = Value::Time(i64::MIN);
/// The latest representable instant: an `assign` without `until`.
pub const FOREVER_AFTER: Value = Value::Time(i64::MAX);

fn v(i: u32) -> Term {
    Term::Var(VarId(i))
}
fn atom(rel: RelId, args: Vec<Term>) -> Atom {
    Atom { rel, args }
}
fn pos(rel: RelId, args: Vec<Term>) -> Literal {
    Literal::Pos(atom(rel, args))
}
fn cmp(op: BinOp, a: Expr, b: Expr) -> Literal {
    Literal::Cond(Expr::Binary(op, Box::new(a), Box::new(b)))
}
fn var(i: u32) -> Expr {
    Expr::Term(v(i))
}
fn star() -> Expr {
    Expr::Term(Term::Const(Value::Sym(STAR)))
}
fn now() -> Expr {
    Expr::Term(Term::Now)
}

/// A built-in rule before it is numbered: label, text, variable names, head, body.
type Spec = (&'static str, &'static str, &'static [&'static str], Atom, Vec<Literal>);

fn specs() -> Vec<Spec> {
    let star_t = Term::Const(Value::Sym(STAR));
    vec![
        // B1: within(X, X) :- $adom(X).
        ("B1", "within(X, X) :- X is a constant.", &["X"], atom(WITHIN, vec![v(0), v(0)]), vec![pos(ADOM, vec![v(0)])]),
        // B2: within(X, Z) :- parent(X, Y), within(Y, Z).
        (
            "B2",
            "within(X, Z) :- parent(X, Y), within(Y, Z).",
            &["X", "Y", "Z"],
            atom(WITHIN, vec![v(0), v(2)]),
            vec![pos(PARENT, vec![v(0), v(1)]), pos(WITHIN, vec![v(1), v(2)])],
        ),
        // B3: role_implies(R, R) :- $role(R).
        (
            "B3",
            "role_implies(R, R) :- role R is declared.",
            &["R"],
            atom(ROLE_IMPLIES, vec![v(0), v(0)]),
            vec![pos(ROLE, vec![v(0)])],
        ),
        // B4: role_implies(R, T) :- role_extends(R, S), role_implies(S, T).
        (
            "B4",
            "role_implies(R, T) :- role_extends(R, S), role_implies(S, T).",
            &["R", "S", "T"],
            atom(ROLE_IMPLIES, vec![v(0), v(2)]),
            vec![pos(ROLE_EXTENDS, vec![v(0), v(1)]), pos(ROLE_IMPLIES, vec![v(1), v(2)])],
        ),
        // B5: assigned(S, R, O) :- $assign(S, R, O, F, U), F <= now, now < U.
        (
            "B5",
            "assigned(S, R, O) :- assign S R on O from F until U, F <= now, now < U.",
            &["S", "R", "O", "F", "U"],
            atom(ASSIGNED, vec![v(0), v(1), v(2)]),
            vec![
                pos(ASSIGN, vec![v(0), v(1), v(2), v(3), v(4)]),
                cmp(BinOp::Le, var(3), now()),
                cmp(BinOp::Lt, now(), var(4)),
            ],
        ),
        // B6: $granted(S, P, O) :- $grant(S, P, O, F, U), F <= now, now < U.
        (
            "B6",
            "granted(S, P, O) :- grant S P on O from F until U, F <= now, now < U.",
            &["S", "P", "O", "F", "U"],
            atom(GRANTED, vec![v(0), v(1), v(2)]),
            vec![
                pos(GRANT, vec![v(0), v(1), v(2), v(3), v(4)]),
                cmp(BinOp::Le, var(3), now()),
                cmp(BinOp::Lt, now(), var(4)),
            ],
        ),
        // B7: has_role(U, R, O) :- within(U, S), assigned(S, H, C), C != *, within(O, C), role_implies(H, R).
        (
            "B7",
            "has_role(U, R, O) :- within(U, S), assigned(S, H, C), within(O, C), role_implies(H, R).",
            &["U", "R", "O", "S", "H", "C"],
            atom(HAS_ROLE, vec![v(0), v(1), v(2)]),
            vec![
                pos(WITHIN, vec![v(0), v(3)]),
                pos(ASSIGNED, vec![v(3), v(4), v(5)]),
                cmp(BinOp::Ne, var(5), star()),
                pos(WITHIN, vec![v(2), v(5)]),
                pos(ROLE_IMPLIES, vec![v(4), v(1)]),
            ],
        ),
        // B8: has_role(U, R, O) :- within(U, S), assigned(S, H, *), role_implies(H, R), $adom(O).
        (
            "B8",
            "has_role(U, R, O) :- within(U, S), assigned(S, H, *), role_implies(H, R), O is any object.",
            &["U", "R", "O", "S", "H"],
            atom(HAS_ROLE, vec![v(0), v(1), v(2)]),
            vec![
                pos(WITHIN, vec![v(0), v(3)]),
                pos(ASSIGNED, vec![v(3), v(4), star_t.clone()]),
                pos(ROLE_IMPLIES, vec![v(4), v(1)]),
                pos(ADOM, vec![v(2)]),
            ],
        ),
        // B9: has_perm(U, P, O) :- has_role(U, R, O), $role_perm(R, P, *).
        (
            "B9",
            "has_perm(U, P, O) :- has_role(U, R, O), role R grants P.",
            &["U", "P", "O", "R"],
            atom(HAS_PERM, vec![v(0), v(1), v(2)]),
            vec![pos(HAS_ROLE, vec![v(0), v(3), v(2)]), pos(ROLE_PERM, vec![v(3), v(1), star_t.clone()])],
        ),
        // B10: has_perm(U, P, O) :- has_role(U, R, O), $role_perm(R, P, T), T != *, type(O) == T.
        (
            "B10",
            "has_perm(U, P, O) :- has_role(U, R, O), role R grants P on T, type(O) == T.",
            &["U", "P", "O", "R", "T"],
            atom(HAS_PERM, vec![v(0), v(1), v(2)]),
            vec![
                pos(HAS_ROLE, vec![v(0), v(3), v(2)]),
                pos(ROLE_PERM, vec![v(3), v(1), v(4)]),
                cmp(BinOp::Ne, var(4), star()),
                cmp(BinOp::Eq, Expr::Call(Callee::Builtin(Builtin::Type), vec![var(2)]), var(4)),
            ],
        ),
        // B11: has_perm(U, P, O) :- within(U, S), $granted(S, P, C), C != *, within(O, C).
        (
            "B11",
            "has_perm(U, P, O) :- within(U, S), granted(S, P, C), within(O, C).",
            &["U", "P", "O", "S", "C"],
            atom(HAS_PERM, vec![v(0), v(1), v(2)]),
            vec![
                pos(WITHIN, vec![v(0), v(3)]),
                pos(GRANTED, vec![v(3), v(1), v(4)]),
                cmp(BinOp::Ne, var(4), star()),
                pos(WITHIN, vec![v(2), v(4)]),
            ],
        ),
        // B12: has_perm(U, P, O) :- within(U, S), $granted(S, P, *), $adom(O).
        (
            "B12",
            "has_perm(U, P, O) :- within(U, S), granted(S, P, *), O is any object.",
            &["U", "P", "O", "S"],
            atom(HAS_PERM, vec![v(0), v(1), v(2)]),
            vec![pos(WITHIN, vec![v(0), v(3)]), pos(GRANTED, vec![v(3), v(1), star_t]), pos(ADOM, vec![v(2)])],
        ),
        // B13: has_perm(U, P, O) :- $superuser(U), $adom(P), $adom(O).
        (
            "B13",
            "has_perm(U, P, O) :- superuser U, P and O are any constants.",
            &["U", "P", "O"],
            atom(HAS_PERM, vec![v(0), v(1), v(2)]),
            vec![pos(SUPERUSER, vec![v(0)]), pos(ADOM, vec![v(1)]), pos(ADOM, vec![v(2)])],
        ),
        // B14: permitted(U, P, O) :- has_perm(U, P, O).
        (
            "B14",
            "permitted(U, P, O) :- has_perm(U, P, O).",
            &["U", "P", "O"],
            atom(PERMITTED, vec![v(0), v(1), v(2)]),
            vec![pos(HAS_PERM, vec![v(0), v(1), v(2)])],
        ),
        // B15: allowed(U, P, O) :- permitted(U, P, O), not denied(U, P, O), not $inactive(U).
        (
            "B15",
            "allowed(U, P, O) :- permitted(U, P, O), not denied(U, P, O), not inactive U.",
            &["U", "P", "O"],
            atom(ALLOWED, vec![v(0), v(1), v(2)]),
            vec![
                pos(PERMITTED, vec![v(0), v(1), v(2)]),
                Literal::Neg(atom(DENIED, vec![v(0), v(1), v(2)])),
                Literal::Neg(atom(INACTIVE, vec![v(0)])),
            ],
        ),
    ]
}

/// The built-in rules with their origins, ready to append to a program.
pub fn rules() -> Vec<(Rule, Origin)> {
    specs()
        .into_iter()
        .map(|(label, text, names, head, body)| {
            let rule = Rule {
                head,
                body,
                var_names: names.iter().map(|n| n.to_string()).collect(),
                origin: super::ir::OriginId(0),
            };
            (rule, Origin::Builtin(label, text))
        })
        .collect()
}

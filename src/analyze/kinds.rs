//! Kinds of values, so that a listing never answers a value of the wrong kind
//! (SPEC section 9): no user as a permission, no boolean as a user.
//!
//! A variable that no positive atom binds ranges over the whole active domain
//! (a superuser's permissions, a global grant's objects). An open query
//! answers such a value only when it is of the column's *kind*:
//!
//! - Columns are linked into kinds by the rules' variables, as in the type
//!   inference of Datalog engines (a variable links every column it occurs
//!   in; `$role_perm`'s permission column and `allowed`'s are one kind).
//! - Containment (`parent`, `within`) is polymorphic: users lie within groups
//!   and pages within projects, so a use `within(X, Y)` links `X` to `Y`
//!   only, never to every other use of `within`.
//! - A value is of a kind when a fact, a rule's constant or an `in [..]` list
//!   puts it in a column of that kind, or when it lies within such a value
//!   (`in` statements, upwards: a page in a project that is a scope, a
//!   member of a group that is assigned; never a project's other pages as
//!   users because a user is in it too).
//!
//! Only columns that the domain feeds are filtered: what a positive atom
//! binds is answered as derived.

use crate::lower::builtins::{ADOM, PARENT, WITHIN};
use crate::lower::ir::{Atom, BinOp, Expr, Fact, Literal, Program, RelId, Term, Value, VarId};
use std::collections::{HashMap, HashSet};

/// The kinds of a program's columns (computed from its rules).
#[derive(Debug)]
pub struct Kinds {
    /// The kind of each column, by relation (`None`: containment, not classified).
    column: Vec<Vec<Option<usize>>>,
    /// Kinds some column of which the active domain feeds.
    fed_by_domain: HashSet<usize>,
    /// Constants that rules put in columns of a kind.
    constants: Vec<(usize, Value)>,
}

/// The values of each kind in one snapshot (facts plus a request's additions).
#[derive(Debug)]
pub struct Admitted {
    /// The direct containers of each value (`X in Y` statements).
    containers: HashMap<Value, Vec<Value>>,
    /// The direct contents of each value (the other way round).
    contents: HashMap<Value, Vec<Value>>,
    /// (kind, value) pairs that a fact or a rule puts in a column of the kind.
    members: HashSet<(usize, Value)>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn add(&mut self) -> usize {
        self.0.push(self.0.len());
        self.0.len() - 1
    }
    fn parent(&self, x: usize) -> usize {
        self.0.get(x).copied().unwrap_or(x)
    }
    fn find(&mut self, mut x: usize) -> usize {
        loop {
            let up = self.parent(x);
            if up == x {
                return x;
            }
            let grand = self.parent(up);
            if let Some(slot) = self.0.get_mut(x) {
                *slot = grand;
            }
            x = grand;
        }
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if let Some(slot) = self.0.get_mut(a) {
            *slot = b;
        }
    }
}

/// Calls `f` for each `X == c` or `c == X` in a condition (through `&&`, `||`).
fn equated_constants(e: &Expr, f: &mut dyn FnMut(&VarId, Value)) {
    match e {
        Expr::Binary(BinOp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
            (Expr::Term(Term::Var(v)), Expr::Term(Term::Const(c)))
            | (Expr::Term(Term::Const(c)), Expr::Term(Term::Var(v))) => f(v, *c),
            _ => {}
        },
        Expr::Binary(BinOp::And | BinOp::Or, a, b) => {
            equated_constants(a, f);
            equated_constants(b, f);
        }
        _ => {}
    }
}

fn is_containment(rel: RelId) -> bool {
    rel == PARENT || rel == WITHIN
}

impl Kinds {
    /// Infers the kinds of `program`'s columns from its rules.
    pub fn of(program: &Program) -> Kinds {
        let mut nodes = UnionFind(Vec::new());
        // Column `col` of relation `rel` is node `first[rel] + col`.
        let first: Vec<usize> = program
            .relations
            .iter()
            .map(|r| {
                let first = nodes.0.len();
                (0..r.arity).for_each(|_| _ = nodes.add());
                first
            })
            .collect();
        let column_node = |rel: RelId, col: usize| first.get(rel.0 as usize).map(|f| f + col);
        let mut domain_nodes = Vec::new();
        let mut constant_nodes = Vec::new();
        let mut open_nodes = Vec::new();
        for rule in &program.rules {
            // `within`'s own rules are its polymorphic definition.
            if is_containment(rule.head.rel) {
                continue;
            }
            let first_var = nodes.0.len();
            rule.var_names.iter().for_each(|_| _ = nodes.add());
            let var = |v: &VarId| first_var + v.0 as usize;
            let link = |atom: &Atom, nodes: &mut UnionFind, constant_nodes: &mut Vec<(usize, Value)>| {
                if atom.rel == ADOM {
                    return;
                }
                if is_containment(atom.rel) {
                    // X and Y are of one kind; a constant is of the other's kind.
                    match atom.args.as_slice() {
                        [Term::Var(a), Term::Var(b)] => nodes.union(var(a), var(b)),
                        [Term::Var(a), Term::Const(c)] | [Term::Const(c), Term::Var(a)] => {
                            constant_nodes.push((var(a), *c))
                        }
                        _ => {}
                    }
                    return;
                }
                for (col, term) in atom.args.iter().enumerate() {
                    let Some(node) = column_node(atom.rel, col) else { continue };
                    match term {
                        Term::Var(v) => nodes.union(var(v), node),
                        Term::Const(c) => constant_nodes.push((node, *c)),
                        _ => {}
                    }
                }
            };
            link(&rule.head, &mut nodes, &mut constant_nodes);
            for literal in &rule.body {
                match literal {
                    Literal::Pos(atom) if atom.rel == ADOM => {
                        if let Some(Term::Var(v)) = atom.args.first() {
                            domain_nodes.push(var(v));
                        }
                    }
                    Literal::Pos(atom) | Literal::Neg(atom) => link(atom, &mut nodes, &mut constant_nodes),
                    Literal::Domain(v) => domain_nodes.push(var(v)),
                    Literal::Member(v, list) => {
                        for expr in list {
                            if let Expr::Term(Term::Const(c)) = expr {
                                constant_nodes.push((var(v), *c));
                            }
                        }
                        // Computed members (`ctx` values, calls) may be anything.
                        if list.iter().any(|e| !matches!(e, Expr::Term(Term::Const(_)))) {
                            open_nodes.push(var(v));
                        }
                    }
                    // `X == c` (also inside `&&`/`||`): `c` is of `X`'s kind.
                    Literal::Cond(e) => equated_constants(e, &mut |v, c| constant_nodes.push((var(v), c))),
                }
            }
        }
        let column = program
            .relations
            .iter()
            .enumerate()
            .map(|(rel, r)| {
                let rel = RelId(rel as u32);
                (0..r.arity)
                    .map(|col| match column_node(rel, col) {
                        Some(node) if !is_containment(rel) => Some(nodes.find(node)),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let open: HashSet<usize> = open_nodes.into_iter().map(|n| nodes.find(n)).collect();
        let fed_by_domain =
            domain_nodes.into_iter().map(|n| nodes.find(n)).filter(|kind| !open.contains(kind)).collect();
        let constants = constant_nodes.into_iter().map(|(n, c)| (nodes.find(n), c)).collect();
        Kinds { column, fed_by_domain, constants }
    }

    /// The kind of `rel`'s column `col` when the active domain feeds it (its
    /// answers are then filtered), `None` otherwise.
    pub fn filtered(&self, rel: RelId, col: usize) -> Option<usize> {
        let kind = (*self.column.get(rel.0 as usize)?.get(col)?)?;
        self.fed_by_domain.contains(&kind).then_some(kind)
    }

    /// The kind of `rel`'s column `col`, whether or not the domain feeds it.
    pub fn kind_of(&self, rel: RelId, col: usize) -> Option<usize> {
        *self.column.get(rel.0 as usize)?.get(col)?
    }

    /// The values of each kind among `facts` (the snapshot's and a request's).
    pub fn admitted<'f>(&self, facts: impl Iterator<Item = &'f Fact>) -> Admitted {
        let mut containers: HashMap<Value, Vec<Value>> = HashMap::new();
        let mut contents: HashMap<Value, Vec<Value>> = HashMap::new();
        let mut members: HashSet<(usize, Value)> = self.constants.iter().copied().collect();
        for fact in facts {
            if is_containment(fact.rel) {
                if let [child, container] = fact.tuple[..] {
                    containers.entry(child).or_default().push(container);
                    contents.entry(container).or_default().push(child);
                }
                continue;
            }
            let Some(cols) = self.column.get(fact.rel.0 as usize) else { continue };
            for (col, value) in fact.tuple.iter().enumerate() {
                if let Some(Some(kind)) = cols.get(col) {
                    members.insert((*kind, *value));
                }
            }
        }
        Admitted { containers, contents, members }
    }
}

impl Admitted {
    /// Whether `value` is of `kind` (see [`Kinds::filtered`]).
    pub fn admits(&self, kind: usize, value: Value) -> bool {
        // The value, anything it lies within, or anything within it is of
        // the kind (a page in a scope; a project holding a scope), never by
        // a detour through a shared container (a page is no user because a
        // user is in its project).
        self.reaches(kind, value, &self.containers) || self.reaches(kind, value, &self.contents)
    }

    /// Whether `value` or a value `edges` lead to from it is of `kind`.
    fn reaches(&self, kind: usize, value: Value, edges: &HashMap<Value, Vec<Value>>) -> bool {
        let mut seen = HashSet::from([value]);
        let mut pending = vec![value];
        while let Some(v) = pending.pop() {
            if self.members.contains(&(kind, v)) {
                return true;
            }
            for next in edges.get(&v).into_iter().flatten() {
                if seen.insert(*next) {
                    pending.push(*next);
                }
            }
        }
        false
    }
}

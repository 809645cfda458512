//! The predicate graph, its strongly connected components, and stratification.

use crate::lower::ir::{Literal, Program, RelId, RuleId};
use std::collections::BTreeSet;

/// One stratum: relations evaluated together to a fixpoint, after every
/// stratum they depend on.
#[derive(Clone, Debug)]
pub struct Stratum {
    /// The relations this stratum defines.
    pub relations: Vec<RelId>,
    /// The rules whose head is one of those relations.
    pub rules: Vec<RuleId>,
    /// Whether some rule reads a relation of this same stratum.
    pub recursive: bool,
}

/// A dependency edge: the head relation of `rule` reads `body` (negatively or not).
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    /// The relation read.
    pub body: RelId,
    /// The relation defined.
    pub head: RelId,
    /// Through `not`.
    pub negative: bool,
    /// The rule.
    pub rule: RuleId,
    /// The literal's index in the rule body.
    pub literal: usize,
}

/// Every dependency edge of the program.
pub fn edges(program: &Program) -> Vec<Edge> {
    let mut out = Vec::new();
    for (r, rule) in program.rules.iter().enumerate() {
        for (i, literal) in rule.body.iter().enumerate() {
            let (body, negative) = match literal {
                Literal::Pos(a) => (a.rel, false),
                Literal::Neg(a) => (a.rel, true),
                _ => continue,
            };
            out.push(Edge { body, head: rule.head.rel, negative, rule: RuleId(r as u32), literal: i });
        }
    }
    out
}

/// Strongly connected components of the relation graph, in dependency order
/// (a component comes after every component it reads). Tarjan's algorithm.
pub fn components(relation_count: usize, edges: &[Edge]) -> Vec<Vec<RelId>> {
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); relation_count];
    for e in edges {
        if let Some(list) = successors.get_mut(e.body.0 as usize) {
            list.push(e.head.0 as usize);
        }
    }
    for list in &mut successors {
        list.sort_unstable();
        list.dedup();
    }
    let mut state = Tarjan {
        index: vec![None; relation_count],
        low: vec![0; relation_count],
        on_stack: vec![false; relation_count],
        ..Tarjan::default()
    };
    for v in 0..relation_count {
        if state.index.get(v).copied().flatten().is_none() {
            state.visit(v, &successors);
        }
    }
    // Tarjan emits sinks first; with edges body → head, a sink is a relation
    // nothing reads, so reverse to get dependencies first.
    state.components.reverse();
    state.components
}

#[derive(Default)]
struct Tarjan {
    next: usize,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    components: Vec<Vec<RelId>>,
}

impl Tarjan {
    /// Iterative depth-first search (no recursion: deep graphs cannot overflow the stack).
    fn visit(&mut self, root: usize, successors: &[Vec<usize>]) {
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        self.open(root);
        while let Some(&mut (v, ref mut next_child)) = work.last_mut() {
            let children = successors.get(v).map_or(&[][..], Vec::as_slice);
            if let Some(&w) = children.get(*next_child) {
                *next_child += 1;
                match self.index.get(w).copied().flatten() {
                    None => {
                        self.open(w);
                        work.push((w, 0));
                    }
                    Some(w_index) if self.on_stack.get(w).copied().unwrap_or(false) => {
                        self.lower_to(v, w_index);
                    }
                    Some(_) => {}
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                let v_low = self.low.get(v).copied().unwrap_or(0);
                self.lower_to(parent, v_low);
            }
            if self.low.get(v) == self.index.get(v).and_then(|i| i.as_ref()) {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    if let Some(flag) = self.on_stack.get_mut(w) {
                        *flag = false;
                    }
                    component.push(RelId(w as u32));
                    if w == v {
                        break;
                    }
                }
                component.sort();
                self.components.push(component);
            }
        }
    }

    fn open(&mut self, v: usize) {
        if let Some(slot) = self.index.get_mut(v) {
            *slot = Some(self.next);
        }
        if let Some(slot) = self.low.get_mut(v) {
            *slot = self.next;
        }
        self.next += 1;
        self.stack.push(v);
        if let Some(flag) = self.on_stack.get_mut(v) {
            *flag = true;
        }
    }

    fn lower_to(&mut self, v: usize, value: usize) {
        if let Some(low) = self.low.get_mut(v) {
            *low = (*low).min(value);
        }
    }
}

/// Groups rules into strata, one per component that has rules, in order.
pub fn strata(program: &Program, components: &[Vec<RelId>], edges: &[Edge]) -> Vec<Stratum> {
    let mut out = Vec::new();
    for component in components {
        let members: BTreeSet<RelId> = component.iter().copied().collect();
        let rules: Vec<RuleId> = program
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| members.contains(&r.head.rel))
            .map(|(i, _)| RuleId(i as u32))
            .collect();
        if rules.is_empty() {
            continue;
        }
        let recursive = edges.iter().any(|e| members.contains(&e.head) && members.contains(&e.body));
        out.push(Stratum { relations: component.clone(), rules, recursive });
    }
    out
}

/// The strata `rel` depends on (itself included), in evaluation order: what
/// an evaluation must run to answer a question about `rel` and nothing more.
pub fn needed_by(program: &Program, strata: &[Stratum], rel: RelId) -> Vec<Stratum> {
    let mut needed: BTreeSet<RelId> = BTreeSet::from([rel]);
    let mut picked = vec![false; strata.len()];
    for (i, stratum) in strata.iter().enumerate().rev() {
        if !stratum.relations.iter().any(|r| needed.contains(r)) {
            continue;
        }
        if let Some(slot) = picked.get_mut(i) {
            *slot = true;
        }
        for rule in stratum.rules.iter().filter_map(|id| program.rules.get(id.0 as usize)) {
            for literal in &rule.body {
                if let Literal::Pos(atom) | Literal::Neg(atom) = literal {
                    needed.insert(atom.rel);
                }
            }
        }
    }
    strata.iter().zip(picked).filter(|(_, picked)| *picked).map(|(s, _)| s.clone()).collect()
}

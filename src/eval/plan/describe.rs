//! The compiled check plan as text, like a database's `EXPLAIN`: each goal
//! with its rules' steps in execution order (`warden plan`).

use super::{CheckPlan, FACTS, Given, HeadIn, Mode, Out, Slot, Step};
use crate::eval::render;
use crate::lower::intern::Symbols;
use crate::lower::ir::{Program, Value};
use std::fmt::Write as _;

impl CheckPlan {
    /// Every goal the checks reach, its estimated cost and answers, and its
    /// rules' steps; rules are named by their origin.
    pub fn describe(&self, program: &Program, locate: &dyn Fn(crate::lower::ir::OriginId) -> String) -> String {
        let symbols = Symbols::new(&program.symbols);
        let value = |v: Value| render::value(v, &symbols);
        let mut out = String::new();
        let static_count = self.snapshot.relations.iter().filter(|r| !r.is_empty()).count();
        let tuples: usize = self.snapshot.relations.iter().map(|r| r.len()).sum();
        let _ = writeln!(
            out,
            "snapshot: {tuples} tuples in {static_count} static relations; {} indexes",
            self.indexes.len()
        );
        for id in self.reachable() {
            let Some(Some(goal)) = self.goals.get(id as usize) else { continue };
            let pattern: Vec<String> = goal
                .bound
                .iter()
                .map(|g| match g {
                    Given::Free => "?".to_string(),
                    Given::Bound => "b".to_string(),
                    Given::Const(c) => value(*c),
                })
                .collect();
            let pattern = pattern.join(", ");
            let _ = writeln!(
                out,
                "\ngoal {id}: {}({pattern})  cost ~{:.1}, answers ~{:.2}",
                super::relation_name(program, &self.view_names, goal.rel),
                goal.cost,
                goal.card
            );
            for rule in &goal.rules {
                if rule.rule == FACTS {
                    let _ = writeln!(out, "  its facts");
                } else {
                    let _ = writeln!(out, "  rule {}", locate(rule.origin));
                }
                let name = |v: u8| rule.var_names.get(v as usize).cloned().unwrap_or_else(|| format!("_{v}"));
                let slot = |s: &Slot| match s {
                    Slot::Var(v) => name(*v),
                    Slot::Const(c) => value(*c),
                    Slot::Now => "now".into(),
                    Slot::Ctx(k) => format!("ctx.{}", symbols.resolve(*k)),
                };
                let inputs: Vec<String> = rule
                    .inputs
                    .iter()
                    .map(|h| match h {
                        HeadIn::Bind(v) | HeadIn::Check(v) => name(*v),
                        HeadIn::Is(c) => value(*c),
                    })
                    .collect();
                if !inputs.is_empty() {
                    let _ = writeln!(out, "    given {}", inputs.join(", "));
                }
                if rule.linear.is_some() && !rule.steps.is_empty() {
                    let _ = writeln!(out, "    (nested loops: probes, calls and compiled conditions only)");
                }
                for step in &rule.steps {
                    let outs = |o: &[Out]| -> String {
                        o.iter()
                            .map(|o| match o {
                                Out::Bind(v) => format!("→{}", name(*v)),
                                Out::Check(v) => format!("={}", name(*v)),
                                Out::Is(s) => format!("={}", slot(s)),
                                Out::Same(c) => format!("=#{c}"),
                                Out::Ignore => "_".into(),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let mode = |m: &Mode| match m {
                        Mode::Each => "each",
                        Mode::Exists => "exists",
                        Mode::NotExists => "not exists",
                    };
                    let line = match step {
                        Step::Scan { index, key, out: o, mode: m } => {
                            let spec = self.specs.get(*index as usize);
                            let rel_name = spec
                                .map_or("?".to_string(), |s| super::relation_name(program, &self.view_names, s.rel));
                            format!(
                                "{} probe {rel_name} [{}] -> ({})",
                                mode(m),
                                key.iter().map(slot).collect::<Vec<_>>().join(", "),
                                outs(o)
                            )
                        }
                        Step::Call { goal, args, out: o, mode: m } => format!(
                            "{} call goal {goal} [{}] -> ({})",
                            mode(m),
                            args.iter().map(slot).collect::<Vec<_>>().join(", "),
                            outs(o)
                        ),
                        Step::Cond { fast, .. } => {
                            format!("condition{}", if fast.is_some() { " (compiled)" } else { " (evaluated)" })
                        }
                        Step::Member { var: v, items, bound, .. } => {
                            format!("{} {} in {} items", if *bound { "check" } else { "bind" }, name(*v), items.len())
                        }
                    };
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        out
    }

    /// The goals a check can reach, from `allowed` and `permitted`, in order.
    fn reachable(&self) -> Vec<u32> {
        let mut seen = vec![false; self.goals.len()];
        let mut stack = vec![self.permitted, self.allowed];
        let mut order = Vec::new();
        while let Some(id) = stack.pop() {
            match seen.get_mut(id as usize) {
                Some(s) if !*s => *s = true,
                _ => continue,
            }
            order.push(id);
            let Some(Some(goal)) = self.goals.get(id as usize) else { continue };
            for rule in goal.rules.iter().rev() {
                for step in rule.steps.iter().rev() {
                    if let Step::Call { goal, .. } = step {
                        stack.push(*goal);
                    }
                }
            }
        }
        order
    }
}

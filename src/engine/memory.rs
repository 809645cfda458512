//! What a snapshot holds in memory ([`Engine::memory_usage`]): its symbol
//! table, its facts, its base relations and their indexes, and the check
//! plan's relations, views and indexes. Sizes are estimated from the buffers' lengths and
//! capacities (not the allocator's own overhead); a buffer shared by two
//! parts, as the plan shares base relations, is counted once.

use super::Engine;
use crate::eval::Rows;
use crate::lower::ir::RelId;
use rustc_hash::FxHashSet;
use std::sync::Arc;

/// The bytes a snapshot holds, by part.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUsage {
    /// The symbol table: each string once, and the ways to look one up.
    pub symbols: usize,
    /// The program's facts, as loaded.
    pub facts: usize,
    /// The base relations, grouped and sorted for evaluation.
    pub base: usize,
    /// The indexes the general evaluator built over base relations, and the
    /// facts' origins explanations gathered.
    pub base_indexes: usize,
    /// The check plan's relations and views not counted in `base`.
    pub plan_relations: usize,
    /// The check plan's indexes.
    pub plan_indexes: usize,
    /// Every relation and view with tuples, largest first.
    pub relations: Vec<RelationMemory>,
    /// All of it.
    pub total: usize,
}

/// The tuples and bytes of one relation or view.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RelationMemory {
    /// Its name (a view: `view0[assigned ⋈ within]`).
    pub name: String,
    /// How many tuples.
    pub tuples: usize,
    /// Their bytes.
    pub bytes: usize,
}

impl Engine {
    /// What this snapshot holds in memory, by part (the plan's parts only
    /// once it is built). The server reports it in `/metrics`.
    pub fn memory_usage(&self) -> MemoryUsage {
        let program = &self.checked.program;
        let mut seen: FxHashSet<usize> = FxHashSet::default();
        let mut relations: Vec<RelationMemory> = Vec::new();
        let mut count = |rows: &Rows, name: String, seen: &mut FxHashSet<usize>| {
            if rows.is_empty() || !seen.insert(Arc::as_ptr(rows) as usize) {
                return 0;
            }
            let bytes = rows.bytes();
            relations.push(RelationMemory { name, tuples: rows.len(), bytes });
            bytes
        };
        let name = |rel: usize, views: &[String]| crate::eval::plan::relation_name(program, views, RelId(rel as u32));
        let base: usize =
            self.prepared.shared().iter().enumerate().map(|(i, rows)| count(rows, name(i, &[]), &mut seen)).sum();
        let (mut plan_relations, mut plan_indexes) = (0, 0);
        if let Some(plan) = self.check_plan_if_built() {
            for (i, rows) in plan.snapshot.relations.iter().enumerate() {
                plan_relations += count(rows, name(i, &plan.view_names), &mut seen);
            }
            plan_indexes = plan
                .indexes
                .iter()
                .filter(|index| seen.insert(Arc::as_ptr(index) as usize))
                .map(|index| index.heap_bytes())
                .sum();
        }
        relations.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        let symbols = program.symbols.heap_bytes();
        let facts = program.facts.heap_bytes();
        let base_indexes = self.prepared.index_bytes();
        let total = symbols + facts + base + base_indexes + plan_relations + plan_indexes;
        MemoryUsage { symbols, facts, base, base_indexes, plan_relations, plan_indexes, relations, total }
    }
}

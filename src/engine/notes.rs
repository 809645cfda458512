//! Notes on a question that names something the program never mentions: a
//! permission, a subject or a typed-id type that appears nowhere is most
//! likely a typo. The question is still answered (false: a constant nothing
//! mentions holds nothing but global rules), and the note says so, with the
//! nearest name the program knows.

use super::Engine;
use crate::eval::render::is_wildcard;
use crate::lower::builtins;
use crate::lower::ir::Value;
use std::collections::BTreeSet;

impl Engine {
    /// Notes on a check's user and permission (the object's type is noted
    /// by queries and explanations only: finding the program's types scans
    /// its constants, which a check must not do).
    pub(crate) fn unknown_name_notes(&self, user: &str, perm: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if self.is_unknown(perm) {
            // The permissions roles grant: a small table, read only for an unknown permission.
            let permissions = self.names_in(builtins::ROLE_PERM, 1);
            notes.push(nowhere(perm, &permissions));
        }
        if self.is_unknown(user) {
            notes.push(format!("`{user}` appears nowhere in the program"));
        }
        notes
    }

    /// Notes on the constants of a query that the program never mentions
    /// (for a typed id: its type).
    pub(crate) fn unknown_constant_notes<'a>(&self, names: impl Iterator<Item = &'a str>) -> Vec<String> {
        let mut notes = Vec::new();
        for name in names {
            // A typed id of a known type is an object nothing mentions yet (a
            // new page): no note. Its type is the typo to catch.
            if !self.is_unknown(name) {
                continue;
            }
            if name.contains(':') {
                notes.extend(self.unknown_type_note(name));
            } else {
                let known: BTreeSet<String> =
                    self.checked().program.domain.iter().filter_map(|v| self.text(*v)).collect();
                notes.push(nowhere(name, &known));
            }
        }
        notes
    }

    /// Whether a string is no constant of the program (`*` asks on purpose).
    fn is_unknown(&self, name: &str) -> bool {
        !is_wildcard(name) && self.checked().program.symbols.get(name).is_none()
    }

    /// A note when `name` is a typed id (or `TYPE:*`) whose type no constant
    /// of the program has.
    fn unknown_type_note(&self, name: &str) -> Option<String> {
        let (ty, _) = name.split_once(':')?;
        let mut types = self.checked().program.constant_types();
        // Types role entries name (`write on page`) count too.
        types.extend(self.names_in(builtins::ROLE_PERM, 2));
        if types.contains(ty) {
            return None;
        }
        let mut note = format!("the type `{ty}` appears nowhere in the program");
        if let Some(near) = crate::lower::closest(ty, types.iter()) {
            note.push_str(&format!(" (did you mean `{near}`?)"));
        }
        Some(note)
    }

    /// The strings in one column of a base relation.
    fn names_in(&self, rel: crate::lower::ir::RelId, column: usize) -> BTreeSet<String> {
        let rows = self.prepared.base_rows(rel).unwrap_or_default();
        rows.iter().filter_map(|row| row.get(column)).filter_map(|v| self.text(*v)).collect()
    }

    fn text(&self, value: Value) -> Option<String> {
        match value {
            Value::Sym(s) => self.checked().program.symbols.resolve(s).map(|n| n.to_string()),
            _ => None,
        }
    }
}

/// "`NAME` appears nowhere in the program (did you mean `NEAR`?)".
fn nowhere(name: &str, known: &BTreeSet<String>) -> String {
    match crate::lower::closest(name, known.iter()) {
        Some(near) => format!("`{name}` appears nowhere in the program (did you mean `{near}`?)"),
        None => format!("`{name}` appears nowhere in the program"),
    }
}

//! Listings without noise (SPEC section 9: a listing never answers a value
//! of the wrong kind). A variable that no positive atom binds (a
//! superuser's permission and object, a global grant's object, an `allow`
//! rule's unconstrained subject) ranges over the active domain, every
//! constant of the program, users and booleans included. An open query
//! therefore adds a stand-in (a constant nothing mentions) per variable to
//! the domain: an answer holding for the stand-in holds for any value, and
//! is reported as `*`; the enumerated rows it covers are dropped. What a
//! deny rule or `inactive` takes out of such a row is listed as its
//! exceptions.

use crate::lower::intern::FRESH;
use crate::lower::ir::Value;

/// Whether a value is a stand-in (or a `*` asked about).
pub(crate) fn is_stand_in(value: &Value) -> bool {
    matches!(value, Value::Sym(s) if FRESH.contains(s))
}

/// The rows with every row that a `*` row covers dropped (a `*` row is
/// dropped too when a more general one covers it). A row holding one
/// stand-in twice (`X within X` for any X) would read as "any, any": it is
/// dropped, and the rows it stands for stay listed.
pub(crate) fn generalize(rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let repeats = |row: &Vec<Value>| {
        row.iter().enumerate().any(|(i, v)| is_stand_in(v) && row.iter().skip(i + 1).any(|w| w == v))
    };
    let rows: Vec<Vec<Value>> = rows.into_iter().filter(|row| !repeats(row)).collect();
    let general: Vec<Vec<Value>> = rows.iter().filter(|r| r.iter().any(is_stand_in)).cloned().collect();
    if general.is_empty() {
        return rows;
    }
    rows.into_iter().filter(|row| !general.iter().any(|g| covers(g, row))).collect()
}

/// Whether the `*` row `general` covers `row`: equal wherever `general` is
/// not `*`, and `*` somewhere `row` has a value (a row never covers itself,
/// nor one as general as it).
pub(crate) fn covers(general: &[Value], row: &[Value]) -> bool {
    general.len() == row.len()
        && general.iter().zip(row).all(|(g, r)| is_stand_in(g) || g == r)
        && general.iter().zip(row).any(|(g, r)| is_stand_in(g) && !is_stand_in(r))
}

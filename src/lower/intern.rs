//! Interned constants: tuples hold `Sym(u32)`, never strings.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::Arc;

/// An interned string constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(pub u32);

/// A table of strings, each with a stable id in order of first appearance.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    names: Vec<Arc<str>>,
    /// Fx-hashed: every check resolves its strings here. Strings are added
    /// only by policy and data (and a request's own table holds a handful),
    /// so a seeded hasher's flood resistance buys nothing.
    index: FxHashMap<Arc<str>, Sym>,
    /// Numbered names (`page:12`, `u7`) by prefix and number (see [`Numbered`]).
    numbered: Vec<Numbered>,
    /// Names of at most seven bytes (permissions, roles: `read`, `admin`)
    /// by their bytes packed into one integer ([`short_key`]): found with
    /// no string hash and no read of the table's copy of the string.
    short: FxHashMap<u64, Sym>,
    /// Ids start here (a request-local table continues after the program's).
    first: u32,
}

impl Interner {
    /// An empty table.
    pub fn new() -> Self {
        Interner::default()
    }

    /// The id of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(&sym) = self.index.get(name) {
            return sym;
        }
        let sym = Sym(self.first.saturating_add(u32::try_from(self.names.len()).unwrap_or(u32::MAX)));
        // A numbered name is found by its number first: not kept twice.
        if !self.number(name, sym)
            && let Some(key) = short_key(name)
        {
            self.short.insert(key, sym);
        }
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.index.insert(name, sym);
        sym
    }

    /// The id of `name` if it is already interned.
    pub fn get(&self, name: &str) -> Option<Sym> {
        if !self.numbered.is_empty()
            && let Some((prefix, n)) = typed_id(name)
            && let Some(numbered) = self.numbered.iter().find(|numbered| *numbered.prefix == *prefix)
            && let Some(&id) = numbered.ids.get(n as usize)
            && id != Numbered::NONE
        {
            return Some(Sym(id));
        }
        // Every short name interned and not numbered is in `short`: no
        // need to look further.
        if let Some(key) = short_key(name) {
            let found = self.short.get(&key).copied();
            debug_assert_eq!(found, self.index.get(name).copied(), "`{name}` in the short names");
            return found;
        }
        self.index.get(name).copied()
    }

    /// Records a new numbered name in [`Interner::numbered`] when its number
    /// is dense enough to index (an outlier like `page:999999999` stays
    /// in the hash map alone); whether it did.
    fn number(&mut self, name: &str, sym: Sym) -> bool {
        // A request's own table (ids after the program's) holds a handful
        // of names: not worth an array each request.
        if self.first != 0 {
            return false;
        }
        let Some((prefix, n)) = typed_id(name) else { return false };
        let dense_up_to = 2 * self.names.len() + 4096;
        if n as usize > dense_up_to {
            return false;
        }
        let at = match self.numbered.iter().position(|numbered| *numbered.prefix == *prefix) {
            Some(at) => at,
            None if self.numbered.len() < Numbered::MAX_PREFIXES => {
                self.numbered.push(Numbered { prefix: prefix.into(), ids: Vec::new() });
                self.numbered.len() - 1
            }
            None => return false,
        };
        let Some(numbered) = self.numbered.get_mut(at) else { return false };
        if numbered.ids.len() <= n as usize {
            numbered.ids.resize(n as usize + 1, Numbered::NONE);
        }
        let Some(slot) = numbered.ids.get_mut(n as usize) else { return false };
        *slot = sym.0;
        true
    }

    /// The string of an id of this table.
    pub fn resolve(&self, sym: Sym) -> Option<&Arc<str>> {
        self.names.get(sym.0.checked_sub(self.first)? as usize)
    }

    /// How many strings the table holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The bytes the table holds (estimated from lengths and capacities):
    /// each string once (the list and the hash map share it), the hash
    /// map, and the numbered and short-name look-ups.
    pub fn heap_bytes(&self) -> usize {
        fn table<K, V>(map: &FxHashMap<K, V>) -> usize {
            map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
        }
        // An `Arc<str>`'s allocation: two counts and the bytes.
        let strings: usize = self.names.iter().map(|name| 2 * std::mem::size_of::<usize>() + name.len()).sum();
        let numbered: usize = self.numbered.iter().map(|n| n.prefix.len() + n.ids.capacity() * 4).sum();
        strings
            + self.names.capacity() * std::mem::size_of::<Arc<str>>()
            + table(&self.index)
            + table(&self.short)
            + numbered
            + self.numbered.capacity() * std::mem::size_of::<Numbered>()
    }

    /// Every id of this table, in order.
    pub fn syms(&self) -> impl Iterator<Item = Sym> + '_ {
        (0..self.names.len()).map(|i| Sym(self.first + i as u32))
    }
}

/// The ids of the numbered names `prefixN` of one prefix, indexed by `N`:
/// resolving `page:4711` or `u42` is a parse and an array read, where hashing the
/// string and comparing it with the table's copy misses the caches twice
/// (SPEC section 9's typed ids are mostly such names).
#[derive(Clone, Debug)]
struct Numbered {
    prefix: Box<str>,
    /// The symbol id of `{prefix}{N}` at `N`, or [`Numbered::NONE`].
    ids: Vec<u32>,
}

impl Numbered {
    const NONE: u32 = u32::MAX;
    /// Prefixes are looked up by a scan: a program has a handful of types.
    const MAX_PREFIXES: usize = 16;
}

/// A name of at most seven bytes as one integer: its bytes, and its length
/// in the top byte (so `a` and `a\0` differ).
fn short_key(name: &str) -> Option<u64> {
    let bytes = name.as_bytes();
    if bytes.len() > 7 {
        return None;
    }
    let packed = bytes.iter().rev().fold(0u64, |key, byte| (key << 8) | u64::from(*byte));
    Some(((bytes.len() as u64) << 56) | packed)
}

/// `(prefix, N)` when `name` is a prefix ending in anything but a digit
/// followed by `N` written canonically (decimal digits, no leading zero,
/// below 10^9): `page:12`, `u7`. Such a name is exactly
/// `format!("{prefix}{N}")`, so a number found for it is its own.
fn typed_id(name: &str) -> Option<(&str, u32)> {
    let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, number) = name.split_at_checked(name.len() - digits)?;
    let canonical = !prefix.is_empty() && (1..=9).contains(&digits) && (digits == 1 || !number.starts_with('0'));
    // At most nine digits: no overflow.
    canonical.then(|| (prefix, number.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))))
}

/// Ids set apart for constants that no fact and no rule mentions: the
/// compiled plan's snapshot holds them in the active domain as stand-ins
/// for a check's unknown constants (see [`crate::eval::plan`]). At the top of
/// the id space, so a program's table, which only grows, never reaches them.
pub const FRESH: [Sym; 3] = [Sym(u32::MAX - 2), Sym(u32::MAX - 1), Sym(u32::MAX)];

/// The program's symbols plus the strings one request adds (query constants,
/// `ctx` values, strings computed by `lower`). The program's table is never changed.
#[derive(Debug)]
pub struct Symbols<'p> {
    program: &'p Interner,
    /// The names the [`FRESH`] ids stand for in this request, in order.
    fresh: RefCell<Vec<Arc<str>>>,
    extra: RefCell<Interner>,
}

impl<'p> Symbols<'p> {
    /// A request-local view over the program's table.
    pub fn new(program: &'p Interner) -> Self {
        Symbols::with_fresh(program, &[])
    }

    /// A request-local view in which the [`FRESH`] ids stand for `names`
    /// (at most three strings the program does not know, in order).
    pub fn with_fresh(program: &'p Interner, names: &[&str]) -> Self {
        let first = u32::try_from(program.len()).unwrap_or(u32::MAX);
        let fresh = RefCell::new(names.iter().take(FRESH.len()).map(|name| Arc::from(*name)).collect());
        Symbols { program, fresh, extra: RefCell::new(Interner { first, ..Interner::default() }) }
    }

    /// The id of `name`, adding it to the request's table when new.
    pub fn intern(&self, name: &str) -> Sym {
        if let Some(sym) = self.program.get(name).or_else(|| self.fresh_id(name)) {
            return sym;
        }
        self.extra.borrow_mut().intern(name)
    }

    /// The id of `name` if known.
    pub fn get(&self, name: &str) -> Option<Sym> {
        self.program.get(name).or_else(|| self.fresh_id(name)).or_else(|| self.extra.borrow().get(name))
    }

    /// How many [`FRESH`] ids stand for names in this request.
    pub fn fresh_in_use(&self) -> usize {
        self.fresh.borrow().len()
    }

    /// A [`FRESH`] id for a constant no fact mentions, shown as `name` (the
    /// same name twice is one id: conditions compare constants by their
    /// text); `None` when all are taken.
    pub fn fresh(&self, name: &str) -> Option<Sym> {
        if let Some(sym) = self.fresh_id(name) {
            return Some(sym);
        }
        let mut fresh = self.fresh.borrow_mut();
        let sym = FRESH.get(fresh.len()).copied()?;
        fresh.push(Arc::from(name));
        Some(sym)
    }

    fn fresh_id(&self, name: &str) -> Option<Sym> {
        let position = self.fresh.borrow().iter().position(|fresh| &**fresh == name)?;
        FRESH.get(position).copied()
    }

    /// The string of an id.
    pub fn resolve(&self, sym: Sym) -> Arc<str> {
        if let Some(name) = self.program.resolve(sym) {
            return name.clone();
        }
        if let Some(name) = FRESH.iter().position(|f| *f == sym).and_then(|i| self.fresh.borrow().get(i).cloned()) {
            return name;
        }
        self.extra.borrow().resolve(sym).cloned().unwrap_or_else(|| Arc::from("<unknown>"))
    }

    /// The ids the request added.
    pub fn extra_syms(&self) -> Vec<Sym> {
        self.extra.borrow().syms().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names that look alike: canonical and not, dense and far apart,
    /// shorter and longer than a short name's seven bytes, with NUL bytes.
    fn name() -> impl Strategy<Value = String> {
        let prefix = prop::sample::select(vec![
            "page:", "user:", "", "a:b:", "p", "u", "u1", "-", "é", "read", "abcdef", "abcdefg", "a\0", "\0",
        ]);
        let digits = prop::sample::select(vec![
            "0",
            "00",
            "7",
            "07",
            "+7",
            "-7",
            "42",
            "4000000000",
            "999999999",
            "1000000000",
            "x",
            "",
            "\0",
        ]);
        (prefix, digits).prop_map(|(p, d)| format!("{p}{d}"))
    }

    proptest! {
        /// Every name resolves to the id it was interned under, and a name
        /// never interned to none, whichever way it is looked up.
        #[test]
        fn typed_names_resolve_to_their_own_ids(interned in prop::collection::vec(name(), 0..30), asked in prop::collection::vec(name(), 0..30)) {
            let mut table = Interner::new();
            let ids: Vec<Sym> = interned.iter().map(|n| table.intern(n)).collect();
            for (n, id) in interned.iter().zip(&ids) {
                prop_assert_eq!(table.get(n), Some(*id));
                prop_assert_eq!(table.resolve(*id).map(|s| &**s), Some(n.as_str()));
            }
            for n in &asked {
                prop_assert_eq!(table.get(n), interned.iter().position(|i| i == n).and_then(|i| ids.get(i).copied()));
            }
        }
    }

    /// A request's own names (after the program's) resolve to their own
    /// ids, numbered or not, and never to a program id.
    #[test]
    fn a_request_table_resolves_its_own_numbered_names() {
        let mut program = Interner::new();
        let page = program.intern("page:1");
        let symbols = Symbols::new(&program);
        let new = symbols.intern("page:2");
        assert_ne!(new, page);
        assert_eq!(
            (symbols.get("page:2"), symbols.get("page:1"), symbols.get("page:3")),
            (Some(new), Some(page), None)
        );
        assert_eq!(&*symbols.resolve(new), "page:2");
    }

    #[test]
    fn only_canonical_numbers_are_typed_ids() {
        assert_eq!(typed_id("page:12"), Some(("page:", 12)));
        assert_eq!(typed_id("page:0"), Some(("page:", 0)));
        assert_eq!(typed_id("u7"), Some(("u", 7)));
        assert_eq!(typed_id("a-1"), Some(("a-", 1)));
        assert_eq!(typed_id("é7"), Some(("é", 7)));
        assert_eq!(typed_id("ü:12"), Some(("ü:", 12)));
        for not in ["page:012", "page:", "12", "u07", "page:1x", "page:1000000000", "page", ""] {
            assert_eq!(typed_id(not), None, "{not}");
        }
    }
}

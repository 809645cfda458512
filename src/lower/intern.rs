//! Interned constants: tuples hold `Sym(u32)`, never strings.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::Arc;

/// An interned string constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(pub u32);

/// A table of strings, each with a stable id in order of first appearance.
///
/// Two layers: the names interned up to the last freeze, shared by every
/// copy of the table (a live update copies the program's table: that copy
/// must not cost a reference count per name), and the names interned
/// since, this copy's own. A table no other copy shares adds to the shared
/// layer in place; otherwise the recent layer is frozen into a copy of the
/// shared one when it outgrows an eighth of it, so a copy of the table
/// costs at most that.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    frozen: Arc<Layer>,
    recent: Layer,
}

/// The fewest recent names that are frozen (below it, a copy is cheap anyway).
const FREEZE_AT_LEAST: usize = 4096;

impl Interner {
    /// An empty table.
    pub fn new() -> Self {
        Interner::default()
    }

    /// The id of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(sym) = self.get(name) {
            return sym;
        }
        if self.recent.names.is_empty()
            && let Some(frozen) = Arc::get_mut(&mut self.frozen)
        {
            // No other copy shares the frozen layer: added to it in place.
            return frozen.add(Arc::from(name), true);
        }
        // The recent layer's ids follow the frozen layer's, which does not
        // grow while the recent one holds names.
        if self.recent.names.is_empty() {
            self.recent.first = self.frozen.end();
        }
        // Numbered when frozen: until then a recent `page:N` is found in
        // the recent layer's maps (at most 4,096 names or an eighth of
        // the shared layer's, whichever is more).
        let sym = self.recent.add(Arc::from(name), false);
        if self.recent.len() >= FREEZE_AT_LEAST.max(self.frozen.len() / 8) {
            self.freeze();
        }
        sym
    }

    /// Moves the recent names into the shared layer (copied first, as
    /// another copy of the table shares it).
    fn freeze(&mut self) {
        let frozen = Arc::make_mut(&mut self.frozen);
        for name in std::mem::take(&mut self.recent).names {
            frozen.add(name, true);
        }
    }

    /// The id of `name` if it is already interned.
    pub fn get(&self, name: &str) -> Option<Sym> {
        self.frozen.get(name).or_else(|| if self.recent.names.is_empty() { None } else { self.recent.get(name) })
    }

    /// The string of an id of this table.
    pub fn resolve(&self, sym: Sym) -> Option<&Arc<str>> {
        if sym.0 < self.frozen.end() { self.frozen.resolve(sym) } else { self.recent.resolve(sym) }
    }

    /// How many strings the table holds.
    pub fn len(&self) -> usize {
        self.frozen.len() + self.recent.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the table holds (estimated from lengths and capacities),
    /// the shared layer counted whole.
    pub fn heap_bytes(&self) -> usize {
        self.frozen.heap_bytes() + self.recent.heap_bytes()
    }

    /// Every id of this table, in order.
    pub fn syms(&self) -> impl Iterator<Item = Sym> + '_ {
        (0..self.len()).map(|i| Sym(i as u32))
    }
}

/// One layer of an [`Interner`]: its names, ids from `first` on.
#[derive(Clone, Debug, Default)]
struct Layer {
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
    /// Ids start here: 0 in the shared layer, after it in the recent one
    /// (set when its first name is added), after the program's in a
    /// request's own.
    first: u32,
}

impl Layer {
    /// The id after this layer's last.
    fn end(&self) -> u32 {
        self.first.saturating_add(u32::try_from(self.names.len()).unwrap_or(u32::MAX))
    }

    /// Adds a name the table does not hold; `numbers`: whether a numbered
    /// name goes into [`Layer::numbered`] (the program's shared layer) or
    /// only into the maps (a recent layer; a request's own names, a
    /// handful, not worth an array each request).
    fn add(&mut self, name: Arc<str>, numbers: bool) -> Sym {
        let sym = Sym(self.end());
        // A numbered name is found by its number first: not kept twice.
        if !(numbers && self.number(&name, sym))
            && let Some(key) = short_key(&name)
        {
            self.short.insert(key, sym);
        }
        self.names.push(name.clone());
        self.index.insert(name, sym);
        sym
    }

    /// The id of `name` if this layer holds it.
    fn get(&self, name: &str) -> Option<Sym> {
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

    /// Records a new numbered name in [`Layer::numbered`] when its number
    /// is dense enough to index (an outlier like `page:999999999` stays
    /// in the hash map alone); whether it did.
    fn number(&mut self, name: &str, sym: Sym) -> bool {
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

    /// The string of an id of this layer.
    fn resolve(&self, sym: Sym) -> Option<&Arc<str>> {
        self.names.get(sym.0.checked_sub(self.first)? as usize)
    }

    /// How many strings the layer holds.
    fn len(&self) -> usize {
        self.names.len()
    }

    /// The bytes the layer holds (estimated from lengths and capacities):
    /// each string once (the list and the hash map share it), the hash
    /// map, and the numbered and short-name look-ups.
    fn heap_bytes(&self) -> usize {
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
    /// The request's own names, after the program's (no allocation until one is added).
    extra: RefCell<Layer>,
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
        Symbols { program, fresh, extra: RefCell::new(Layer { first, ..Layer::default() }) }
    }

    /// The id of `name`, adding it to the request's table when new.
    pub fn intern(&self, name: &str) -> Sym {
        if let Some(sym) = self.program.get(name).or_else(|| self.fresh_id(name)) {
            return sym;
        }
        let mut extra = self.extra.borrow_mut();
        match extra.get(name) {
            Some(sym) => sym,
            None => extra.add(Arc::from(name), false),
        }
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
        let extra = self.extra.borrow();
        (extra.first..extra.end()).map(Sym).collect()
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

    /// A copy of a table shares its names; names added to the copy (past
    /// freezes into a copy of the shared layer) resolve there, by number
    /// too, and never in the original.
    #[test]
    fn a_copy_adds_names_without_changing_the_original() {
        let mut original = Interner::new();
        let first: Vec<Sym> = (0..5_000).map(|i| original.intern(&format!("page:{i}"))).collect();
        let mut copy = original.clone();
        assert!(Arc::ptr_eq(&original.frozen, &copy.frozen));
        let names: Vec<String> =
            (0..20_000).map(|i| if i % 2 == 0 { format!("page:{}", 5_000 + i) } else { format!("n{i}x") }).collect();
        // The 4,096th new name freezes the copy's recent names into a copy
        // of the shared layer; a copy made right then continues the ids.
        let mut added: Vec<Sym> = names.iter().take(FREEZE_AT_LEAST).map(|n| copy.intern(n)).collect();
        assert!(!Arc::ptr_eq(&original.frozen, &copy.frozen), "frozen into a copy");
        let mut then = copy.clone();
        assert_eq!(then.intern("then"), Sym(5_000 + FREEZE_AT_LEAST as u32));
        added.extend(names.iter().skip(FREEZE_AT_LEAST).map(|n| copy.intern(n)));
        assert_eq!(copy.len(), 25_000);
        assert_eq!(original.len(), 5_000);
        for (n, sym) in names.iter().zip(&added) {
            assert_eq!(copy.get(n), Some(*sym));
            assert_eq!(copy.resolve(*sym).map(|s| &**s), Some(n.as_str()));
            assert_eq!(original.get(n), None);
            assert_eq!(original.resolve(*sym), None);
        }
        for (i, sym) in first.iter().enumerate() {
            assert_eq!(copy.get(&format!("page:{i}")), Some(*sym));
            assert_eq!(copy.intern(&format!("page:{i}")), *sym);
        }
        assert_eq!(copy.syms().count(), 25_000);
        assert_eq!(added.last().map(|s| s.0), Some(24_999));
        // A copy of the copy continues its ids.
        let mut third = copy.clone();
        let fresh = third.intern("fresh");
        assert_eq!((fresh, third.resolve(fresh).map(|s| &**s)), (Sym(25_000), Some("fresh")));
        assert_eq!(third.resolve(Sym(0)).map(|s| &**s), Some("page:0"));
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

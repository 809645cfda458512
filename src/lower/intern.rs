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
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.index.insert(name, sym);
        sym
    }

    /// The id of `name` if it is already interned.
    pub fn get(&self, name: &str) -> Option<Sym> {
        self.index.get(name).copied()
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

    /// Every id of this table, in order.
    pub fn syms(&self) -> impl Iterator<Item = Sym> + '_ {
        (0..self.names.len()).map(|i| Sym(self.first + i as u32))
    }
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

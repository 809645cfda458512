//! The base facts a live update adds or removes, as structured values.
//!
//! A live update names facts as data, never as statement text: a value is a
//! value, so `"user:mallory in group:x; superuser user:mallory;"` is one odd
//! subject name, not two statements. A text item is still accepted where a
//! person types it (the REPL, [`super::Transaction::insert`]), but it must be
//! exactly one fact statement (or one role block, which stands for several
//! facts). Each fact is rendered to canonical text for the `<update N>`
//! source (so explanations can point at it); [`crate::live::Live::update`]
//! parses that text back and compares it with the fact before using it,
//! and a snapshot builds the fact's statement directly, never from text.

use crate::eval::render::quote_if_needed;
use crate::syntax::ast::{self, Constant, StatementKind};
use crate::syntax::parser::parse_file;
use crate::syntax::span::{FileId, Span, Spanned};
use crate::time;

/// Whether a live update adds facts or takes them away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The facts are added.
    Insert,
    /// The facts are taken away.
    Remove,
}

/// One base fact of a live update.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LiveFact {
    /// `member in container;`: group membership or containment.
    In {
        /// The member (a user, a group, an object).
        member: String,
        /// The group or container.
        container: String,
    },
    /// `assign subject role [on scope] [from t] [until t];`
    Assign(Holding),
    /// `grant subject perm [on object] [from t] [until t];`
    Grant(Holding),
    /// `superuser name;`
    Superuser(String),
    /// `inactive name;`
    Inactive(String),
    /// `role R {}`: declares the role R (as a `role` block or a `roles:`
    /// row of a data file does). It grants nothing until entries are added.
    Role(String),
    /// `role R { perm [on TYPE]; }`: one unconditional entry of the
    /// declared role R. `role R extends J {}` is the fact `role_extends(R, J)`.
    RolePermission {
        /// The role.
        role: String,
        /// The permission it grants.
        perm: String,
        /// The object type the entry is limited to; `None` for every object.
        on: Option<String>,
    },
    /// `relation(args...);`: a fact of a plain relation.
    Relation {
        /// The relation's name.
        name: String,
        /// Its values.
        args: Vec<Constant>,
    },
}

/// The body of an `assign` (`what` is the role) or a `grant` (the permission).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Holding {
    /// The user or group that holds it.
    pub subject: String,
    /// The role or permission.
    pub what: String,
    /// The object or container; `None` for everything.
    pub on: Option<String>,
    /// Inclusive start (microseconds since the epoch).
    pub from: Option<i64>,
    /// Exclusive end (microseconds since the epoch).
    pub until: Option<i64>,
}

/// Why a live update's fact is refused, before anything is loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    /// A text item that is not exactly one fact statement.
    #[error("`{text}` is not one fact statement: {why}")]
    NotOneFact {
        /// The item.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// A name that is empty, or a relation name that is not an identifier.
    #[error("invalid {what}: `{value}`")]
    Invalid {
        /// Which part of the fact.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// A change that widens or reshapes access in bulk, refused unless the
    /// live program is configured to allow it (see [`super::Live::allow_privileged_updates`]).
    #[error(
        "{0}: a privileged change (a new superuser, an inactive subject made active again, a change of role inheritance or of a role's entries) is refused unless privileged updates are allowed"
    )]
    Privileged(String),
    /// A removal of a role's declaration (`role R {}`): roles stay declared
    /// until a reload without them, so no assignment is left naming nothing.
    #[error(
        "{0}: a live update cannot undeclare a role; remove its entries (they grant nothing then), or reload without it"
    )]
    Undeclare(String),
}

impl LiveFact {
    /// Reads a text item: it must be exactly one fact statement.
    pub fn parse(text: &str) -> Result<LiveFact, FactError> {
        // Read as a removal reads it: a role block stands for its edges and
        // entries, and only `role R {}` for its declaration alone.
        let mut facts = LiveFact::parse_statement(text, Direction::Remove)?;
        match facts.pop() {
            Some(fact) if facts.is_empty() => Ok(fact),
            _ => Err(FactError::NotOneFact { text: text.trim().to_string(), why: "it holds several facts".into() }),
        }
    }

    /// Reads a text item that is one statement: a fact, or a whole role
    /// block, which stands for several facts. Inserting `role R extends J {
    /// p; q on page; }` declares R and adds `role_extends(R, J)` and both
    /// entries; removing it takes the edge and the entries away (R stays
    /// declared, see [`FactError::Undeclare`]).
    pub fn parse_many(text: &str, direction: Direction) -> Result<Vec<LiveFact>, FactError> {
        LiveFact::parse_statement(text, direction)
    }

    /// The facts of a role as data: inserted, its declaration, its
    /// `extends` edges and its entries (`(perm, on type)`); removed, the
    /// edges and the entries (or the declaration alone, for `role R {}`).
    pub fn role(
        name: &str,
        extends: &[String],
        entries: &[(String, Option<String>)],
        direction: Direction,
    ) -> Vec<LiveFact> {
        let mut facts = Vec::new();
        if direction == Direction::Insert || (extends.is_empty() && entries.is_empty()) {
            facts.push(LiveFact::Role(name.to_string()));
        }
        for junior in extends {
            let args = vec![Constant::Str(name.to_string()), Constant::Str(junior.clone())];
            facts.push(LiveFact::Relation { name: "role_extends".into(), args });
        }
        for (perm, on) in entries {
            facts.push(LiveFact::RolePermission { role: name.to_string(), perm: perm.clone(), on: on.clone() });
        }
        facts
    }

    fn parse_statement(text: &str, direction: Direction) -> Result<Vec<LiveFact>, FactError> {
        let not_one = |why: &str| FactError::NotOneFact { text: text.trim().to_string(), why: why.to_string() };
        let mut source = text.trim().to_string();
        if !source.ends_with(';') && !source.ends_with('}') {
            source.push(';');
        }
        let (statements, errors) = parse_file(FileId(0), &source);
        if let Some(error) = errors.first() {
            return Err(not_one(&error.message));
        }
        let [statement] = statements.as_slice() else {
            return Err(not_one(&format!("it holds {} statements", statements.len())));
        };
        if let StatementKind::Role { name, extends, entries } = &statement.kind {
            return role_facts(name, extends, entries, direction).map_err(|why| not_one(&why));
        }
        let fact = LiveFact::from_statement(&statement.kind).ok_or_else(|| not_one("it is not a fact"))?;
        Ok(vec![fact.normalized()])
    }

    /// The one form of each fact, so that equal facts compare equal:
    /// `parent(a, b)` is `a in b`.
    pub(crate) fn normalized(self) -> LiveFact {
        match self {
            LiveFact::Relation { name, args } if name == "parent" => match args.as_slice() {
                [Constant::Str(member), Constant::Str(container)] => {
                    LiveFact::In { member: member.clone(), container: container.clone() }
                }
                _ => LiveFact::Relation { name, args },
            },
            other => other,
        }
    }

    /// The fact a parsed statement states, if it is a fact.
    fn from_statement(kind: &StatementKind) -> Option<LiveFact> {
        let holding = |h: &ast::Holding| Holding {
            subject: h.subject.node.clone(),
            what: h.what.node.clone(),
            on: h.on.as_ref().map(|o| o.node.clone()),
            from: h.from.as_ref().map(|t| t.node),
            until: h.until.as_ref().map(|t| t.node),
        };
        Some(match kind {
            StatementKind::In(x, y) => LiveFact::In { member: x.node.clone(), container: y.node.clone() },
            StatementKind::Assign(h) => LiveFact::Assign(holding(h)),
            StatementKind::Grant(h) => LiveFact::Grant(holding(h)),
            StatementKind::Superuser(u) => LiveFact::Superuser(u.node.clone()),
            StatementKind::Inactive(u) => LiveFact::Inactive(u.node.clone()),
            StatementKind::Fact(atom) => LiveFact::Relation {
                name: atom.relation.node.clone(),
                args: atom
                    .args
                    .iter()
                    .map(|arg| match &arg.node {
                        ast::Term::Const(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            },
            _ => return None,
        })
    }

    /// The statement this fact is, built directly (no text is parsed), every
    /// part placed at `span`.
    pub(crate) fn statement(&self, span: Span) -> ast::Statement {
        let at = |s: &String| Spanned::new(s.clone(), span);
        let holding = |h: &Holding| ast::Holding {
            subject: at(&h.subject),
            what: at(&h.what),
            on: h.on.as_ref().map(at),
            from: h.from.map(|t| Spanned::new(t, span)),
            until: h.until.map(|t| Spanned::new(t, span)),
        };
        let role = |name: &String, entries: Vec<ast::RoleEntry>| StatementKind::Role {
            name: at(name),
            extends: Vec::new(),
            entries,
        };
        let kind = match self {
            LiveFact::In { member, container } => StatementKind::In(at(member), at(container)),
            LiveFact::Assign(h) => StatementKind::Assign(holding(h)),
            LiveFact::Grant(h) => StatementKind::Grant(holding(h)),
            LiveFact::Superuser(u) => StatementKind::Superuser(at(u)),
            LiveFact::Inactive(u) => StatementKind::Inactive(at(u)),
            LiveFact::Role(name) => role(name, Vec::new()),
            LiveFact::RolePermission { role: name, perm, on } => {
                let entry =
                    ast::RoleEntry { perm: at(perm), on_type: on.as_ref().map(at), conditions: Vec::new(), span };
                role(name, vec![entry])
            }
            LiveFact::Relation { name, args } => StatementKind::Fact(ast::Atom {
                relation: at(name),
                args: args.iter().map(|c| Spanned::new(ast::Term::Const(c.clone()), span)).collect(),
                span,
            }),
        };
        ast::Statement { kind, span }
    }

    /// The fact as one policy statement, every value quoted where needed.
    pub fn to_statement(&self) -> String {
        let mut out = String::new();
        self.write_statement(&mut out);
        out
    }

    /// Appends [`LiveFact::to_statement`] to `out` (no allocation per fact
    /// beyond `out`'s growth and quoting).
    pub(crate) fn write_statement(&self, out: &mut String) {
        use std::fmt::Write;
        let holding = |out: &mut String, keyword: &str, h: &Holding| {
            let _ = write!(out, "{keyword} {} {}", quote_if_needed(&h.subject), quote_if_needed(&h.what));
            if let Some(on) = &h.on {
                let _ = write!(out, " on {}", quote_if_needed(on));
            }
            if let Some(from) = h.from {
                let _ = write!(out, " from {}", time::format_timestamp(from));
            }
            if let Some(until) = h.until {
                let _ = write!(out, " until {}", time::format_timestamp(until));
            }
        };
        let _ = match self {
            LiveFact::In { member, container } => {
                write!(out, "{} in {};", quote_if_needed(member), quote_if_needed(container))
            }
            LiveFact::Assign(h) => {
                holding(out, "assign", h);
                write!(out, ";")
            }
            LiveFact::Grant(h) => {
                holding(out, "grant", h);
                write!(out, ";")
            }
            LiveFact::Superuser(u) => write!(out, "superuser {};", quote_if_needed(u)),
            LiveFact::Inactive(u) => write!(out, "inactive {};", quote_if_needed(u)),
            LiveFact::Relation { name, args } => {
                let _ = write!(out, "{name}(");
                for (i, arg) in args.iter().enumerate() {
                    let _ = write!(out, "{}{}", if i > 0 { ", " } else { "" }, constant_text(arg));
                }
                write!(out, ");")
            }
            LiveFact::Role(name) => write!(out, "role {} {{}}", quote_if_needed(name)),
            LiveFact::RolePermission { role, perm, on } => {
                let _ = write!(out, "role {} {{ {}", quote_if_needed(role), quote_if_needed(perm));
                if let Some(on) = on {
                    let _ = write!(out, " on {}", quote_if_needed(on));
                }
                write!(out, "; }}")
            }
        };
    }

    /// Checks the fact's names and that its statement text says exactly it
    /// (no value can turn into syntax).
    pub fn validate(&self) -> Result<(), FactError> {
        self.check_names()?;
        match LiveFact::parse(&self.to_statement()) {
            Ok(read) if read == *self => Ok(()),
            _ => Err(FactError::NotOneFact {
                text: self.to_statement(),
                why: "its text does not read back as the same fact".into(),
            }),
        }
    }

    /// Checks the names of a fact built as a statement without its text
    /// being parsed: none is empty; none is `*` or `TYPE:*`, which in a
    /// policy mean every object (a fact must never say that, as a grant
    /// `on *` would be global); a relation's name is an identifier and a
    /// role entry's type a type name.
    pub(crate) fn check_names(&self) -> Result<(), FactError> {
        let invalid = |what: &'static str, value: &str| FactError::Invalid { what, value: value.to_string() };
        let names: Vec<(&'static str, &str)> = match self {
            LiveFact::In { member, container } => vec![("member", member), ("container", container)],
            LiveFact::Assign(h) | LiveFact::Grant(h) => {
                let mut names = vec![("subject", h.subject.as_str()), ("role or permission", h.what.as_str())];
                names.extend(h.on.as_deref().map(|on| ("object", on)));
                names
            }
            LiveFact::Superuser(u) | LiveFact::Inactive(u) => vec![("subject", u.as_str())],
            LiveFact::Role(name) => vec![("role", name.as_str())],
            LiveFact::RolePermission { role, perm, on } => {
                let mut names = vec![("role", role.as_str()), ("permission", perm.as_str())];
                names.extend(on.as_deref().map(|on| ("type", on)));
                names
            }
            LiveFact::Relation { name, .. } => {
                let mut chars = name.chars();
                let identifier = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !identifier {
                    return Err(invalid("relation name", name));
                }
                Vec::new()
            }
        };
        let args: &[Constant] = match self {
            LiveFact::Relation { args, .. } => args,
            _ => &[],
        };
        let arguments = args.iter().filter_map(|arg| match arg {
            Constant::Str(s) => Some(("value", s.as_str())),
            _ => None,
        });
        if let Some((what, value)) =
            names.into_iter().chain(arguments).find(|(_, value)| value.is_empty() || means_every_object(value))
        {
            return Err(invalid(what, value));
        }
        match self {
            LiveFact::RolePermission { on: Some(ty), .. } if !is_type_name(ty) => Err(invalid("type", ty)),
            _ => Ok(()),
        }
    }

    /// Whether adding or removing this fact is privileged: a new
    /// superuser, lifting `inactive`, or changing what a role grants
    /// (`role_extends`, a role's entries). Declaring a role grants nothing.
    pub fn is_privileged(&self, direction: Direction) -> bool {
        match self {
            LiveFact::Superuser(_) => direction == Direction::Insert,
            LiveFact::Inactive(_) => direction == Direction::Remove,
            LiveFact::Relation { name, .. } => name == "role_extends",
            LiveFact::RolePermission { .. } => true,
            _ => false,
        }
    }
}

/// The facts a role block states (conditional entries stay in policies).
fn role_facts(
    name: &Spanned<String>,
    extends: &[Spanned<String>],
    entries: &[ast::RoleEntry],
    direction: Direction,
) -> Result<Vec<LiveFact>, String> {
    if let Some(entry) = entries.iter().find(|e| !e.conditions.is_empty()) {
        return Err(format!(
            "the entry for `{}` has a condition; conditional entries belong in a policy",
            entry.perm.node
        ));
    }
    let extends: Vec<String> = extends.iter().map(|j| j.node.clone()).collect();
    let entries: Vec<(String, Option<String>)> =
        entries.iter().map(|e| (e.perm.node.clone(), e.on_type.as_ref().map(|t| t.node.clone()))).collect();
    Ok(LiveFact::role(&name.node, &extends, &entries, direction))
}

/// A constant as policy text (strings quoted where needed).
fn constant_text(c: &Constant) -> String {
    match c {
        Constant::Str(s) => quote_if_needed(s).into_owned(),
        Constant::Int(n) => n.to_string(),
        Constant::Time(t) => time::format_timestamp(*t),
        Constant::Dur(d) => time::format_duration(*d),
        Constant::Bool(b) => b.to_string(),
    }
}

/// Whether `name` is a type name as a role entry writes one (`on page`).
fn is_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a value is `*` or `TYPE:*`, which in a policy mean every object:
/// no fact, whether given as data or read from a database, may say it.
pub(crate) fn means_every_object(value: &str) -> bool {
    value == "*" || value.ends_with(":*")
}

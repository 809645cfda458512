//! The facts of `/v1/facts`, read from JSON into [`LiveFact`]s.

use crate::live::{Direction, Holding, LiveFact};
use crate::syntax::ast::Constant;
use serde::Deserialize;
use serde_json::Value as Json_;

/// One fact of `/v1/facts`: structured (the documented form), or the text
/// of exactly one fact statement.
///
/// ```json
/// {"relation": "owner", "args": ["alice", "page:7"]}
/// {"in": ["user:zed", "group:editors"]}
/// {"assign": {"subject": "alice", "role": "editor", "on": "project:apollo", "until": "2026-12-01T00:00:00Z"}}
/// {"grant": {"subject": "dave", "perm": "read", "on": "page:7"}}
/// {"superuser": "root"}
/// {"inactive": "mallory"}
/// {"role": {"name": "editor", "extends": ["viewer"], "permissions": ["read", {"perm": "write", "on": "page"}]}}
/// "assign bob viewer on project:apollo;"
/// ```
///
/// A `role` item stands for several facts (see [`LiveFact::parse_many`]):
/// inserted, it declares the role and adds its edges and entries; removed,
/// it takes the edges and entries away.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum FactItem {
    /// One fact statement.
    Text(String),
    /// A structured fact.
    Fact(Box<FactFields>),
}

/// The fields of a structured fact: exactly one form per item.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactFields {
    relation: Option<String>,
    args: Option<Vec<Json_>>,
    #[serde(rename = "in")]
    in_: Option<(String, String)>,
    assign: Option<HoldingFields>,
    grant: Option<HoldingFields>,
    superuser: Option<String>,
    inactive: Option<String>,
    role: Option<RoleFields>,
}

/// A role as data, as in a data file's `roles:` section.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFields {
    name: String,
    #[serde(default)]
    extends: Vec<String>,
    #[serde(default)]
    permissions: Vec<PermissionField>,
}

/// A role's entry: `"read"`, or `{"perm": "write", "on": "page"}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum PermissionField {
    /// On every object.
    Everywhere(String),
    /// On objects of one type.
    OnType {
        /// The permission.
        perm: String,
        /// The type.
        on: String,
    },
}

/// The fields of an `assign` (`role`) or a `grant` (`perm`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldingFields {
    subject: String,
    role: Option<String>,
    perm: Option<String>,
    on: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

impl FactItem {
    /// The live facts this item names (one, or a role's), or why it names none.
    pub(super) fn into_facts(self, direction: Direction) -> Result<Vec<LiveFact>, String> {
        let fields = match self {
            FactItem::Text(text) => return LiveFact::parse_many(&text, direction).map_err(|e| e.to_string()),
            FactItem::Fact(fields) => fields,
        };
        let FactFields { relation, args, in_, assign, grant, superuser, inactive, role } = *fields;
        if let Some(role) = role {
            if relation.is_some() || args.is_some() || in_.is_some() || assign.is_some() || grant.is_some() {
                return Err("a fact has exactly one form".into());
            }
            if superuser.is_some() || inactive.is_some() {
                return Err("a fact has exactly one form".into());
            }
            return Ok(role.into_facts(direction));
        }
        Ok(vec![Self::one_fact(relation, args, in_, assign, grant, superuser, inactive)?])
    }

    fn one_fact(
        relation: Option<String>,
        args: Option<Vec<Json_>>,
        in_: Option<(String, String)>,
        assign: Option<HoldingFields>,
        grant: Option<HoldingFields>,
        superuser: Option<String>,
        inactive: Option<String>,
    ) -> Result<LiveFact, String> {
        let forms = [
            relation.is_some(),
            in_.is_some(),
            assign.is_some(),
            grant.is_some(),
            superuser.is_some(),
            inactive.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            return Err(
                "a fact has exactly one of `relation` (with `args`), `in`, `assign`, `grant`, `superuser`, `inactive`, `role`"
                    .into(),
            );
        }
        if args.is_some() && relation.is_none() {
            return Err("`args` belongs with `relation`".into());
        }
        let holding = |h: HoldingFields, what: Option<String>, name: &str| -> Result<Holding, String> {
            let what = what.ok_or_else(|| format!("`{name}` is missing"))?;
            let stamp = |t: Option<String>| t.map(|t| crate::time::parse_timestamp(&t)).transpose();
            Ok(Holding { subject: h.subject, what, on: h.on, from: stamp(h.from)?, until: stamp(h.until)? })
        };
        Ok(match (relation, in_, assign, grant, superuser, inactive) {
            (Some(name), ..) if name == "in" => match args.as_deref() {
                Some([Json_::String(member), Json_::String(container)]) => {
                    LiveFact::In { member: member.clone(), container: container.clone() }
                }
                _ => return Err("`in` takes two names".into()),
            },
            (Some(name), ..) => {
                let args = args.unwrap_or_default().into_iter().map(constant).collect::<Result<Vec<_>, _>>()?;
                LiveFact::Relation { name, args }
            }
            (_, Some((member, container)), ..) => LiveFact::In { member, container },
            (_, _, Some(h), ..) => {
                if h.perm.is_some() {
                    return Err("an `assign` has a `role`, not a `perm`".into());
                }
                let role = h.role.clone();
                LiveFact::Assign(holding(h, role, "role")?)
            }
            (_, _, _, Some(h), ..) => {
                if h.role.is_some() {
                    return Err("a `grant` has a `perm`, not a `role`".into());
                }
                let perm = h.perm.clone();
                LiveFact::Grant(holding(h, perm, "perm")?)
            }
            (.., Some(name), _) => LiveFact::Superuser(name),
            (.., Some(name)) => LiveFact::Inactive(name),
            _ => return Err("an empty fact".into()),
        })
    }
}

impl RoleFields {
    /// The facts of the role (see [`LiveFact::role`]).
    fn into_facts(self, direction: Direction) -> Vec<LiveFact> {
        let entries: Vec<(String, Option<String>)> = self
            .permissions
            .into_iter()
            .map(|p| match p {
                PermissionField::Everywhere(perm) => (perm, None),
                PermissionField::OnType { perm, on } => (perm, Some(on)),
            })
            .collect();
        LiveFact::role(&self.name, &self.extends, &entries, direction)
    }
}

/// A JSON value as a constant, as in data files: a string that is an RFC 3339
/// timestamp is a timestamp, an integer an integer, a boolean a boolean.
fn constant(value: Json_) -> Result<Constant, String> {
    match value {
        Json_::String(s) => Ok(crate::syntax::yaml::string_constant(&s)),
        Json_::Number(n) => n.as_i64().map(Constant::Int).ok_or_else(|| format!("`{n}` is not a 64-bit integer")),
        Json_::Bool(b) => Ok(Constant::Bool(b)),
        other => Err(format!("`{other}` is not a constant (a string, an integer or a boolean)")),
    }
}

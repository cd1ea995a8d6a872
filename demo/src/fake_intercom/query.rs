//! The search DSL of `POST /conversations/search` and `POST /contacts/search`: single filters
//! `{field, operator, value}` and `AND`/`OR` groups, with the spec's limits (groups nest at most two deep, at most
//! 15 filters per group). Anything else is a 400, as Intercom answers.
//!
//! Supported, on purpose only what a sync needs:
//! - conversations: `updated_at`, `created_at`, `id` with `=`, `!=`, `>`, `>=`, `<`, `<=`. Intercom's operator table
//!   says `>` is "greater (or equal) than" and `<` "lower (or equal) than", so here `>` means `>=` and `<` means
//!   `<=`: a client that relies on `>` being strict sees the boundary item again, as against the real API.
//! - contacts: the timestamp fields, matched by calendar day (UTC here; the workspace's timezone at Intercom):
//!   `=` the whole day, `>` from the start of the next day, `<` before the start of that day; `>=`, `<=`, `!=` on
//!   dates are errors. Text fields `id`, `email`, `role`, `external_id`, `name` with `=` and `!=`.

use serde_json::Value;

use crate::store::model::ContactRecord;

const MAX_DEPTH: usize = 2;
const MAX_GROUP: usize = 15;
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    /// `>` and `>=`: both inclusive for conversations (see the module docs).
    Ge,
    /// `<` and `<=`: both inclusive for conversations.
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter<L> {
    Leaf(L),
    And(Vec<Filter<L>>),
    Or(Vec<Filter<L>>),
}

impl<L> Filter<L> {
    pub fn matches(&self, leaf: &impl Fn(&L) -> bool) -> bool {
        match self {
            Self::Leaf(l) => leaf(l),
            Self::And(all) => all.iter().all(|f| f.matches(leaf)),
            Self::Or(any) => any.iter().any(|f| f.matches(leaf)),
        }
    }
}

/// Parses a filter tree, handing single filters `(field, operator, value)` to `leaf`.
pub fn parse<L>(value: &Value, leaf: &impl Fn(&str, &str, &Value) -> Result<L, String>) -> Result<Filter<L>, String> {
    parse_at(value, 0, leaf)
}

fn parse_at<L>(
    value: &Value,
    depth: usize,
    leaf: &impl Fn(&str, &str, &Value) -> Result<L, String>,
) -> Result<Filter<L>, String> {
    let object = value.as_object().ok_or("a filter must be an object")?;
    let operator = object.get("operator").and_then(Value::as_str).ok_or("a filter needs an operator")?;
    let inner = object.get("value").ok_or("a filter needs a value")?;
    if matches!(operator, "AND" | "OR") {
        if depth >= MAX_DEPTH {
            return Err(format!("filters nest at most {MAX_DEPTH} deep"));
        }
        let items = inner.as_array().ok_or("an AND/OR filter's value must be an array of filters")?;
        if items.is_empty() || items.len() > MAX_GROUP {
            return Err(format!("an AND/OR group holds 1 to {MAX_GROUP} filters"));
        }
        let parsed = items.iter().map(|item| parse_at(item, depth + 1, leaf)).collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "AND" { Filter::And(parsed) } else { Filter::Or(parsed) });
    }
    let field = object.get("field").and_then(Value::as_str).ok_or("a single filter needs a field")?;
    leaf(field, operator, inner).map(Filter::Leaf)
}

/// An integer value, sent as a JSON number or as a numeric string (the spec's examples use strings).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationField {
    UpdatedAt,
    CreatedAt,
    Id,
}

/// One conversation condition: `field op value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationLeaf {
    pub field: ConversationField,
    pub op: Op,
    pub value: i64,
}

/// What conversation filters look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConversationKey {
    pub updated_at: i64,
    pub id: u64,
    pub created_at: i64,
}

pub fn parse_conversation_leaf(field: &str, operator: &str, value: &Value) -> Result<ConversationLeaf, String> {
    let field = match field {
        "updated_at" => ConversationField::UpdatedAt,
        "created_at" => ConversationField::CreatedAt,
        "id" => ConversationField::Id,
        other => return Err(format!("the fake Intercom cannot search conversations by '{other}'")),
    };
    let op = match operator {
        "=" => Op::Eq,
        "!=" => Op::Ne,
        ">" | ">=" => Op::Ge,
        "<" | "<=" => Op::Le,
        other => return Err(format!("operator '{other}' is not supported for this field")),
    };
    let value = integer(value).ok_or("the value must be an integer or a numeric string")?;
    Ok(ConversationLeaf { field, op, value })
}

impl ConversationLeaf {
    pub fn matches(&self, key: &ConversationKey) -> bool {
        let actual = match self.field {
            ConversationField::UpdatedAt => key.updated_at,
            ConversationField::CreatedAt => key.created_at,
            ConversationField::Id => i64::try_from(key.id).unwrap_or(i64::MAX),
        };
        match self.op {
            Op::Eq => actual == self.value,
            Op::Ne => actual != self.value,
            Op::Ge => actual >= self.value,
            Op::Le => actual <= self.value,
        }
    }
}

/// The `updated_at` range every match lies in, and whether every item in it matches (so a search can count and
/// page by binary search instead of scanning).
pub fn updated_at_bounds(filter: &Filter<ConversationLeaf>) -> (i64, i64, bool) {
    match filter {
        Filter::Leaf(ConversationLeaf { field: ConversationField::UpdatedAt, op, value }) => match op {
            Op::Eq => (*value, *value, true),
            Op::Ge => (*value, i64::MAX, true),
            Op::Le => (i64::MIN, *value, true),
            Op::Ne => (i64::MIN, i64::MAX, false),
        },
        Filter::Leaf(_) => (i64::MIN, i64::MAX, false),
        Filter::And(all) => all
            .iter()
            .map(updated_at_bounds)
            .fold((i64::MIN, i64::MAX, true), |acc, b| (acc.0.max(b.0), acc.1.min(b.1), acc.2 && b.2)),
        Filter::Or(any) => {
            let bounds: Vec<_> = any.iter().map(updated_at_bounds).collect();
            let low = bounds.iter().map(|b| b.0).min().unwrap_or(i64::MIN);
            let high = bounds.iter().map(|b| b.1).max().unwrap_or(i64::MAX);
            (low, high, bounds.len() == 1 && bounds[0].2)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    Created,
    Updated,
    SignedUp,
    LastSeen,
    LastReplied,
    LastContacted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Id,
    Email,
    Role,
    ExternalId,
    Name,
}

/// One contact condition. Dates are already turned into half-open second ranges `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactLeaf {
    Date { field: DateField, from: i64, until: i64 },
    Text { field: TextField, equal: bool, value: String },
}

pub fn parse_contact_leaf(field: &str, operator: &str, value: &Value) -> Result<ContactLeaf, String> {
    let date = match field {
        "created_at" => Some(DateField::Created),
        "updated_at" => Some(DateField::Updated),
        "signed_up_at" => Some(DateField::SignedUp),
        "last_seen_at" => Some(DateField::LastSeen),
        "last_replied_at" => Some(DateField::LastReplied),
        "last_contacted_at" => Some(DateField::LastContacted),
        _ => None,
    };
    if let Some(field) = date {
        let at = integer(value).ok_or("the value must be a unix timestamp")?;
        let day = at - at.rem_euclid(DAY);
        let (from, until) = match operator {
            "=" => (day, day + DAY),
            ">" => (day + DAY, i64::MAX),
            "<" => (i64::MIN, day),
            other => return Err(format!("operator '{other}' is not supported on date fields")),
        };
        return Ok(ContactLeaf::Date { field, from, until });
    }
    let field = match field {
        "id" => TextField::Id,
        "email" => TextField::Email,
        "role" => TextField::Role,
        "external_id" => TextField::ExternalId,
        "name" => TextField::Name,
        other => return Err(format!("the fake Intercom cannot search contacts by '{other}'")),
    };
    let equal = match operator {
        "=" => true,
        "!=" => false,
        other => return Err(format!("operator '{other}' is not supported for this field")),
    };
    let value = value.as_str().ok_or("the value must be a string")?.to_owned();
    Ok(ContactLeaf::Text { field, equal, value })
}

impl ContactLeaf {
    pub fn matches(&self, contact: &ContactRecord) -> bool {
        match self {
            Self::Date { field, from, until } => {
                let at = match field {
                    DateField::Created => Some(contact.created_at),
                    DateField::Updated => Some(contact.updated_at),
                    DateField::SignedUp => contact.signed_up_at,
                    DateField::LastSeen => contact.last_seen_at,
                    DateField::LastReplied => contact.last_replied_at,
                    DateField::LastContacted => contact.last_contacted_at,
                };
                at.is_some_and(|at| *from <= at && at < *until)
            }
            Self::Text { field, equal, value } => {
                let actual = match field {
                    TextField::Id => Some(contact.id.as_str()),
                    TextField::Email => contact.email.as_deref(),
                    TextField::Role => Some(contact.role.as_str()),
                    TextField::ExternalId => contact.external_id.as_deref(),
                    TextField::Name => contact.name.as_deref(),
                };
                (actual == Some(value.as_str())) == *equal
            }
        }
    }
}

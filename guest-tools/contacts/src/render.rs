//! How contacts look in tool results, and the JSON Schema of that shape.
//!
//! A borrowing `#[derive(Serialize)]` struct keeps fields in reading order (id first) and copies nothing;
//! timestamps become RFC 3339 text in UTC because models read dates, not unix seconds.

use fastintercom_plugin_sdk::contacts::{CompanyRef, Contact};
use fastintercom_plugin_sdk::{Detail, Shown, format_unix, schema};
use serde::Serialize;
use serde_json::{Value, json};

/// A company a contact belongs to.
#[derive(Serialize)]
pub struct CompanyOut<'a> {
    id: &'a str,
    name: &'a str,
}

impl<'a> From<&'a CompanyRef> for CompanyOut<'a> {
    fn from(c: &'a CompanyRef) -> Self {
        CompanyOut { id: &c.id, name: &c.name }
    }
}

/// One contact, as both tools return it. Compact detail leaves out null fields, empty lists and
/// `external_id`.
#[derive(Serialize)]
pub struct ContactOut<'a> {
    id: &'a str,
    role: &'a str,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    name: Shown<&'a str>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    email: Shown<&'a str>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    phone: Shown<&'a str>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    external_id: Shown<&'a str>,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    last_seen_at: Shown<String>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    country: Shown<&'a str>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    city: Shown<&'a str>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    companies: Shown<Vec<CompanyOut<'a>>>,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    tags: Shown<&'a [String]>,
}

impl<'a> ContactOut<'a> {
    pub fn new(c: &'a Contact, detail: Detail) -> Self {
        let text = |value: &'a Option<String>| Shown::new(value.as_deref(), detail);
        let external_id = if detail.is_compact() { Shown::new(None, detail) } else { text(&c.external_id) };
        let companies = Some(c.companies.iter().map(CompanyOut::from).collect::<Vec<_>>())
            .filter(|companies| !(detail.is_compact() && companies.is_empty()));
        ContactOut {
            id: &c.id,
            role: &c.role,
            name: text(&c.name),
            email: text(&c.email),
            phone: text(&c.phone),
            external_id,
            created_at: format_unix(c.created_at),
            updated_at: format_unix(c.updated_at),
            last_seen_at: Shown::new(c.last_seen_at.map(format_unix), detail),
            country: text(&c.country),
            city: text(&c.city),
            companies: Shown::new(companies, detail),
            tags: Shown::list(&c.tags, detail),
        }
    }
}

/// The schema of one contact result.
pub fn contact_schema() -> Value {
    json!({
        "type": "object",
        "required": ["id", "role", "created_at", "updated_at"],
        "description": "Compact detail leaves out null fields, empty lists and external_id.",
        "properties": {
            "id": {"type": "string", "description": "Contact id; use it as contact_id in search_conversations, or with get_contact."},
            "role": {"type": "string", "description": "\"user\" or \"lead\"."},
            "name": schema::nullable("string"),
            "email": schema::nullable("string"),
            "phone": schema::nullable("string"),
            "external_id": {"type": ["string", "null"], "description": "The id in the customer's own system."},
            "created_at": schema::timestamp(false),
            "updated_at": schema::timestamp(false),
            "last_seen_at": schema::timestamp(true),
            "country": schema::nullable("string"),
            "city": schema::nullable("string"),
            "companies": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}}
                }
            },
            "tags": {"type": "array", "items": {"type": "string"}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_json_is_in_reading_order_and_matches_the_schema() {
        let contact = Contact {
            id: "c1".into(),
            role: "user".into(),
            external_id: Some("u-42".into()),
            email: Some("ada@example.com".into()),
            name: Some("Ada Lovelace".into()),
            phone: None,
            created_at: 1_736_899_200,
            updated_at: 1_736_942_400,
            last_seen_at: None,
            country: Some("United Kingdom".into()),
            city: None,
            companies: vec![CompanyRef { id: "co1".into(), name: "Analytical Engines".into() }],
            tags: vec!["vip".into()],
        };
        let out = ContactOut::new(&contact, Detail::Full);
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"id":"c1","role":"user","name":"Ada Lovelace","email":"ada@example.com","phone":null,"external_id":"u-42","created_at":"2025-01-15T00:00:00Z","updated_at":"2025-01-15T12:00:00Z","last_seen_at":null,"country":"United Kingdom","city":null,"companies":[{"id":"co1","name":"Analytical Engines"}],"tags":["vip"]}"#
        );
        let value = serde_json::to_value(&out).unwrap();
        for key in contact_schema()["required"].as_array().unwrap() {
            assert!(value.get(key.as_str().unwrap()).is_some(), "{key}");
        }
        assert_eq!(
            serde_json::to_string(&ContactOut::new(&contact, Detail::Compact)).unwrap(),
            r#"{"id":"c1","role":"user","name":"Ada Lovelace","email":"ada@example.com","created_at":"2025-01-15T00:00:00Z","updated_at":"2025-01-15T12:00:00Z","country":"United Kingdom","companies":[{"id":"co1","name":"Analytical Engines"}],"tags":["vip"]}"#
        );
    }
}

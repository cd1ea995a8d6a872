//! Conversations, contacts and companies as documents: a title, plain text a model reads top to bottom, and the
//! facts a client may show beside it.

use fastintercom_plugin_sdk::contacts::{Contact, ContactPage};
use fastintercom_plugin_sdk::conversations::{Conversation, ConversationState};
use fastintercom_plugin_sdk::directory::Company;
use fastintercom_plugin_sdk::types::Author;
use fastintercom_plugin_sdk::{ToolError, format_unix, shorten};
use serde_json::{Map, Value, json};

use crate::Document;

/// The `intercom://` URI of an object of the local copy.
pub fn url(collection: &str, id: &str) -> String {
    format!("intercom://{collection}/{id}")
}

/// A conversation's title: its own, else its subject, else the start of its first message.
pub fn conversation_title(title: Option<&str>, subject: Option<&str>, preview: &str) -> String {
    let own = title.or(subject).map(str::trim).filter(|t| !t.is_empty());
    match own {
        Some(title) => title.to_owned(),
        None => shorten(preview, 80).into_owned(),
    }
}

fn who(author: &Author) -> String {
    match (&author.name, &author.email) {
        (Some(name), _) => format!("{name} ({})", author.kind),
        (None, Some(email)) => format!("{email} ({})", author.kind),
        (None, None) => format!("{} {}", author.kind, author.id),
    }
}

pub fn conversation(c: Conversation) -> Result<Document, ToolError> {
    let s = &c.summary;
    let title = conversation_title(s.title.as_deref(), s.subject.as_deref(), &s.preview);
    let mut text =
        format!("{title}\n\n{} — {}:\n{}\n", format_unix(s.created_at), who(&s.source_author), c.source_body);
    for part in &c.parts {
        match &part.body {
            Some(body) if !body.trim().is_empty() => {
                let note = if part.part_type == "note" { " [internal note]" } else { "" };
                text.push_str(&format!("\n{} — {}{note}:\n{body}\n", format_unix(part.created_at), who(&part.author)));
            }
            _ => text.push_str(&format!(
                "\n{} — {}: {}\n",
                format_unix(part.created_at),
                who(&part.author),
                part.part_type
            )),
        }
    }
    let state = match s.state {
        ConversationState::Open => "open",
        ConversationState::Closed => "closed",
        ConversationState::Snoozed => "snoozed",
    };
    let mut metadata = Map::new();
    metadata.insert("type".into(), json!("conversation"));
    metadata.insert("state".into(), json!(state));
    metadata.insert("created_at".into(), json!(format_unix(s.created_at)));
    metadata.insert("updated_at".into(), json!(format_unix(s.updated_at)));
    metadata.insert("tags".into(), json!(s.tags));
    metadata.insert("parts".into(), json!(c.parts.len()));
    insert_some(&mut metadata, "admin_assignee_id", s.admin_assignee_id.clone());
    insert_some(&mut metadata, "team_assignee_id", s.team_assignee_id.clone());
    insert_some(&mut metadata, "rating", s.rating.map(Value::from));
    insert_some(&mut metadata, "rating_remark", c.rating_remark.clone());
    Ok(Document { id: format!("conversation:{}", s.id), title, text, url: url("conversations", &s.id), metadata })
}

pub fn contact(c: Contact) -> Document {
    let title = c.name.clone().or(c.email.clone()).unwrap_or_else(|| c.id.clone());
    let mut lines = vec![format!("{title} ({})", c.role)];
    for (label, value) in [("Email", &c.email), ("Phone", &c.phone), ("City", &c.city), ("Country", &c.country)] {
        if let Some(value) = value {
            lines.push(format!("{label}: {value}"));
        }
    }
    if !c.companies.is_empty() {
        let names: Vec<&str> = c.companies.iter().map(|company| company.name.as_str()).collect();
        lines.push(format!("Companies: {}", names.join(", ")));
    }
    if !c.tags.is_empty() {
        lines.push(format!("Tags: {}", c.tags.join(", ")));
    }
    lines.push(format!("Created: {}", format_unix(c.created_at)));
    if let Some(seen) = c.last_seen_at {
        lines.push(format!("Last seen: {}", format_unix(seen)));
    }
    let mut metadata = Map::new();
    metadata.insert("type".into(), json!("contact"));
    metadata.insert("role".into(), json!(c.role));
    insert_some(&mut metadata, "email", c.email.clone());
    metadata.insert("companies".into(), json!(c.companies.iter().map(|x| x.id.clone()).collect::<Vec<_>>()));
    Document { id: format!("contact:{}", c.id), title, text: lines.join("\n"), url: url("contacts", &c.id), metadata }
}

pub fn company(c: Company, people: ContactPage) -> Document {
    let mut lines = vec![c.name.clone()];
    let facts = [
        ("Plan", c.plan.clone()),
        ("Industry", c.industry.clone()),
        ("Website", c.website.clone()),
        ("Size", c.size.map(|s| s.to_string())),
        ("Monthly spend", c.monthly_spend.map(|s| s.to_string())),
        ("Users", c.user_count.map(|s| s.to_string())),
        ("Created", c.created_at.map(format_unix)),
    ];
    for (label, value) in facts {
        if let Some(value) = value {
            lines.push(format!("{label}: {value}"));
        }
    }
    lines.push(format!("Contacts: {}", people.total));
    for person in &people.items {
        let name = person.name.as_deref().unwrap_or("(no name)");
        lines.push(format!("- {name}{}", person.email.as_deref().map(|e| format!(" <{e}>")).unwrap_or_default()));
    }
    let mut metadata = Map::new();
    metadata.insert("type".into(), json!("company"));
    metadata.insert("contacts".into(), json!(people.total));
    insert_some(&mut metadata, "plan", c.plan.clone());
    insert_some(&mut metadata, "company_id", c.company_id.clone());
    Document {
        id: format!("company:{}", c.id),
        title: c.name,
        text: lines.join("\n"),
        url: url("companies", &c.id),
        metadata,
    }
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

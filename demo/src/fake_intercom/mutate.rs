//! Changes tests make to the workspace (each one stamps `updated_at` with the fake's clock), and the oracle: what
//! a perfect sync must have stored.

use std::sync::Arc;

use serde_json::Value;

use super::dataset::{Dataset, Deleted, Live, Meta, Origin, key_of};
use super::json::{Lookup, MAX_PARTS};
use crate::store::model::{
    Author, ContactRecord, ConversationRecord, ConversationState, PartRecord, Priority, Source, Statistics,
};

impl Dataset {
    pub fn now(&self) -> i64 {
        self.read().clock
    }

    pub fn advance(&self, seconds: i64) {
        self.write().clock += seconds;
    }

    /// Applies `change` to the full record of conversation `id`, then stamps `updated_at` and re-indexes it.
    /// `None` when there is no such live conversation.
    pub fn change_conversation(
        &self,
        id: &str,
        change: impl FnOnce(&mut ConversationRecord, &mut Live),
    ) -> Option<ConversationRecord> {
        let numeric: u64 = id.parse().ok()?;
        let mut live = self.write();
        let meta = live.conversations.get(&numeric)?.clone();
        let mut record = self.record(&meta.origin);
        change(&mut record, &mut live);
        id.clone_into(&mut record.id);
        record.updated_at = live.clock;
        self.put(&mut live, Some(meta.key), record.clone());
        Some(record)
    }

    /// Stores `record` as a custom conversation, replacing the one keyed `old`.
    fn put(&self, live: &mut Live, old: Option<super::query::ConversationKey>, record: ConversationRecord) {
        let key = key_of(&record);
        let stamp = live.stamp();
        live.rekey(old, Some(key));
        live.conversations.insert(key.id, Meta { key, origin: Origin::Custom(Arc::new(record)), stamp });
    }

    /// Appends a comment by the conversation's first contact (a teammate when it has none); returns its part id.
    pub fn add_part(&self, id: &str, body_html: &str) -> Option<String> {
        let mut part_id = String::new();
        self.change_conversation(id, |record, live| {
            live.next_part_id += 1;
            part_id = live.next_part_id.to_string();
            let contact =
                record.contact_ids.first().and_then(|c| live.contact_index.get(c)).map(|i| &live.contacts[*i]);
            let author = match contact {
                Some(c) => Author {
                    kind: if c.role == "lead" { "lead" } else { "user" }.to_owned(),
                    id: c.id.clone(),
                    name: c.name.clone(),
                    email: c.email.clone(),
                },
                None => self.admin_author(),
            };
            let contact_wrote = contact.is_some();
            let now = live.clock;
            record.parts.push(PartRecord {
                id: part_id.clone(),
                part_type: "comment".to_owned(),
                body_html: Some(body_html.to_owned()),
                created_at: now,
                updated_at: Some(now),
                notified_at: Some(now),
                author,
                assigned_to_id: None,
                redacted: false,
            });
            let stats = &mut record.statistics;
            stats.count_conversation_parts = Some(record.parts.len() as i64);
            if contact_wrote {
                stats.last_contact_reply_at = Some(now);
            } else {
                stats.last_admin_reply_at = Some(now);
            }
        })?;
        Some(part_id)
    }

    fn admin_author(&self) -> Author {
        self.workspace
            .admins
            .first()
            .map(|a| Author {
                kind: "admin".to_owned(),
                id: a.id.clone(),
                name: a.name.clone(),
                email: a.email.clone(),
            })
            .unwrap_or_default()
    }

    /// A new conversation from a contact, above every existing id, created and updated now.
    pub fn create_conversation(&self) -> String {
        let mut live = self.write();
        let id = live.next_conversation_id;
        live.next_conversation_id += 1;
        let now = live.clock;
        let created = id as usize;
        let contact = match live.contacts.len() {
            0 => None,
            n => Some(live.contacts[created.wrapping_mul(7_919) % n].clone()),
        };
        let author = contact.as_ref().map_or_else(
            || self.admin_author(),
            |c| Author {
                kind: if c.role == "lead" { "lead" } else { "user" }.to_owned(),
                id: c.id.clone(),
                name: c.name.clone(),
                email: c.email.clone(),
            },
        );
        let record = ConversationRecord {
            id: id.to_string(),
            title: None,
            state: Some(ConversationState::Open),
            open: true,
            read: false,
            priority: Some(Priority::None),
            created_at: now,
            updated_at: now,
            waiting_since: Some(now),
            snoozed_until: None,
            admin_assignee_id: None,
            team_assignee_id: None,
            company_id: contact.as_ref().and_then(|c| c.company_ids.first().cloned()),
            source: Source {
                kind: "conversation".to_owned(),
                id: Some((id % 1_000_000_000).to_string()),
                delivered_as: Some("customer_initiated".to_owned()),
                subject: None,
                body_html: "<p>Hi, I have a new question about my account.</p>".to_owned(),
                url: None,
                author,
            },
            contact_ids: contact.iter().map(|c| c.id.clone()).collect(),
            tag_ids: Vec::new(),
            rating: None,
            statistics: Statistics {
                first_contact_reply_at: Some(now),
                last_contact_reply_at: Some(now),
                count_reopens: Some(0),
                count_assignments: Some(0),
                count_conversation_parts: Some(0),
                ..Statistics::default()
            },
            parts: Vec::new(),
            parts_truncated: false,
            ai_agent_participated: Some(false),
            channel_initial: Some("messenger".to_owned()),
            custom_attributes: Some("{\"Language\":\"English\"}".to_owned()),
        };
        self.put(&mut live, None, record);
        id.to_string()
    }

    /// Removes a conversation from search, list and retrieve; `GET /conversations/deleted` lists it from now on.
    pub fn delete_conversation(&self, id: &str) -> bool {
        let Ok(numeric) = id.parse::<u64>() else { return false };
        let mut live = self.write();
        let Some(meta) = live.conversations.remove(&numeric) else { return false };
        live.rekey(Some(meta.key), None);
        let deleted_at = live.clock;
        live.deleted.push(Deleted { id: numeric, deleted_at });
        true
    }

    /// Applies `change` to contact `id` and stamps its `updated_at`. `false` when there is no such contact.
    pub fn update_contact(&self, id: &str, change: impl FnOnce(&mut ContactRecord)) -> bool {
        let mut live = self.write();
        let Some(&index) = live.contact_index.get(id) else { return false };
        let clock = live.clock;
        let contact = &mut live.contacts[index];
        let external_id = contact.external_id.clone();
        change(contact);
        id.clone_into(&mut contact.id);
        contact.updated_at = clock;
        let external_id_changed = contact.external_id != external_id;
        live.sort_contacts();
        if external_id_changed {
            // Conversations embed their contacts' external ids.
            let w = &self.workspace;
            live.lookup = Arc::new(Lookup::new(&w.tags, &live.contacts, &w.companies, &w.teams));
            self.refresh_all(&mut live);
        }
        true
    }

    /// Live conversation ids, in id order.
    pub fn conversation_ids(&self) -> Vec<String> {
        let mut ids: Vec<u64> = self.read().conversations.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().map(|id| id.to_string()).collect()
    }

    /// Every live conversation as a perfect sync stores it, in id order.
    pub fn expected_conversations(&self) -> Vec<ConversationRecord> {
        let mut origins: Vec<(u64, Origin)> =
            self.read().conversations.iter().map(|(id, meta)| (*id, meta.origin.clone())).collect();
        origins.sort_unstable_by_key(|(id, _)| *id);
        origins.iter().map(|(_, origin)| stored_conversation(self.record(origin))).collect()
    }

    pub fn expected_contacts(&self) -> Vec<ContactRecord> {
        let mut contacts = self.read().contacts.clone();
        contacts.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        for contact in &mut contacts {
            contact.custom_attributes = stored_attributes(contact.custom_attributes.as_deref());
        }
        contacts
    }
}

/// A conversation as a client stores it: the [`MAX_PARTS`] most recent parts (flagged when there were more),
/// the real part count in the statistics, a state even when the record had none (Intercom always sends one),
/// custom attributes as a client re-serialises them.
pub fn stored_conversation(mut record: ConversationRecord) -> ConversationRecord {
    let total = record.parts.len();
    record.statistics.count_conversation_parts = Some(total as i64);
    record.parts_truncated = total > MAX_PARTS;
    record.parts.drain(..total.saturating_sub(MAX_PARTS));
    if record.state.is_none() {
        record.state = Some(if record.open { ConversationState::Open } else { ConversationState::Closed });
    }
    record.custom_attributes = stored_attributes(record.custom_attributes.as_deref());
    record
}

/// Custom attributes as compact JSON of a non-empty object (as parsed and re-serialised by serde_json, so key
/// order is serde_json's), `None` when absent or empty.
pub fn stored_attributes(text: Option<&str>) -> Option<String> {
    match serde_json::from_str::<Value>(text?).ok()? {
        Value::Object(object) if !object.is_empty() => serde_json::to_string(&object).ok(),
        _ => None,
    }
}

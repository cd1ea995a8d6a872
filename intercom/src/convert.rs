//! Intercom models into the store's records.
//!
//! Each record field is read from its natural place in Intercom's JSON, so that converting what a server (real or
//! the fake one in tests) serialises from a record gives that record back. The only places where information is
//! interpreted rather than copied:
//! - `state`: Intercom's `state`; when it is missing or unknown, `open` decides (open, else closed);
//! - `priority`: the 2.16 levels as they are; the pre-2.16 `priority` flag means `high` and `not_priority` means
//!   the level `none` (the conversation was explicitly not prioritised); anything else is unknown (`None`);
//! - assignees: `0` (2.16's "unassigned") is `None` (done while deserialising);
//! - `parts_truncated`: more parts in the conversation (`statistics.count_conversation_parts`, or the list's
//!   `total_count`) than returned; always `false` for list and search items, which carry no parts at all;
//! - `custom_attributes`: compact JSON text of a non-empty object, `None` otherwise;
//! - strings the record requires (`Source::kind`, `Author::id`, names): `""` when Intercom sent none.

use serde_json::Value;

use super::models::{
    Admin, Author, Company, Contact, Conversation, ConversationPart, ConversationPartList, ConversationRating, Source,
    Statistics, Tag, Team,
};
use crate::store::model::{
    self as store, AdminRecord, CompanyRecord, ContactRecord, ConversationRecord, ConversationState, PartRecord,
    Priority, Rating, TagRecord, TeamRecord,
};

impl Conversation {
    /// The store record of this conversation, with its parts (none for list and search items).
    pub fn into_record(self) -> ConversationRecord {
        let statistics = self.statistics.map(Statistics::into_record).unwrap_or_default();
        let (parts, parts_truncated) = match self.conversation_parts {
            Some(list) => {
                let truncated = parts_truncated(&list, statistics.count_conversation_parts);
                (list.conversation_parts.into_iter().map(ConversationPart::into_record).collect(), truncated)
            }
            None => (Vec::new(), false),
        };
        ConversationRecord {
            state: Some(conversation_state(self.state.as_deref(), self.open)),
            priority: self.priority.as_deref().and_then(priority),
            id: self.id,
            title: self.title,
            open: self.open,
            read: self.read,
            created_at: self.created_at,
            updated_at: self.updated_at,
            waiting_since: self.waiting_since,
            snoozed_until: self.snoozed_until,
            admin_assignee_id: self.admin_assignee_id,
            team_assignee_id: self.team_assignee_id,
            company_id: self.company.map(|company| company.id),
            source: self.source.map(Source::into_record).unwrap_or_default(),
            contact_ids: self
                .contacts
                .map(|list| list.contacts.into_iter().map(|contact| contact.id).collect())
                .unwrap_or_default(),
            tag_ids: self.tags.map(|list| tag_ids(list.tags)).unwrap_or_default(),
            rating: self.conversation_rating.map(ConversationRating::into_record),
            statistics,
            parts,
            parts_truncated,
            ai_agent_participated: self.ai_agent_participated,
            channel_initial: self.channel.and_then(|channel| channel.initial),
            custom_attributes: attributes_text(self.custom_attributes),
        }
    }
}

/// The conversation's state: Intercom's `state` when it is one of open/closed/snoozed, else derived from `open`
/// (a conversation that is not open is closed; snoozed ones always carry `state` in 2.16).
fn conversation_state(state: Option<&str>, open: bool) -> ConversationState {
    let fallback = if open { ConversationState::Open } else { ConversationState::Closed };
    state.and_then(ConversationState::parse).unwrap_or(fallback)
}

/// The priority level. 2.16 sends none|low|medium|high|urgent; 2.15 and older sent `priority` (prioritised, the
/// only level there was above normal, so `high`) or `not_priority` (the level `none`). Anything else is unknown.
fn priority(text: &str) -> Option<Priority> {
    match text {
        "priority" => Some(Priority::High),
        "not_priority" => Some(Priority::None),
        level => Priority::parse(level),
    }
}

/// Whether Intercom left parts out: it returns at most the 500 most recent, so fewer parts than the conversation
/// has in all (`statistics.count_conversation_parts`, or a larger `total_count` on the list) means older ones are
/// missing and cannot be fetched. Only meaningful when the response carried `conversation_parts` at all.
fn parts_truncated(list: &ConversationPartList, count_conversation_parts: Option<i64>) -> bool {
    let returned = i64::try_from(list.conversation_parts.len()).unwrap_or(i64::MAX);
    [count_conversation_parts, list.total_count].into_iter().flatten().any(|total| total > returned)
}

/// Custom attributes as compact JSON object text; `None` when absent, null, empty or not an object.
fn attributes_text(attributes: Option<Value>) -> Option<String> {
    match attributes? {
        Value::Object(object) if !object.is_empty() => serde_json::to_string(&object).ok(),
        _ => None,
    }
}

fn tag_ids(tags: Vec<Tag>) -> Vec<String> {
    tags.into_iter().map(|tag| tag.id).collect()
}

impl Source {
    /// The record's source; the body is `""` when Intercom sent none.
    fn into_record(self) -> store::Source {
        store::Source {
            kind: self.kind.unwrap_or_default(),
            id: self.id,
            delivered_as: self.delivered_as,
            subject: self.subject,
            body_html: self.body.unwrap_or_default(),
            url: self.url,
            author: author_record(self.author),
        }
    }
}

/// The record's author; kind and id are `""` when Intercom sent none (the source author's id is nullable).
fn author_record(author: Option<Author>) -> store::Author {
    let Some(author) = author else { return store::Author::default() };
    store::Author {
        kind: author.kind.unwrap_or_default(),
        id: author.id.unwrap_or_default(),
        name: author.name,
        email: author.email,
    }
}

impl ConversationRating {
    fn into_record(self) -> Rating {
        Rating {
            rating: self.rating,
            remark: self.remark,
            created_at: self.created_at,
            contact_id: self.contact.and_then(|contact| contact.id),
            teammate_id: self.teammate.and_then(|teammate| teammate.id),
        }
    }
}

impl Statistics {
    fn into_record(self) -> store::Statistics {
        store::Statistics {
            time_to_assignment: self.time_to_assignment,
            time_to_admin_reply: self.time_to_admin_reply,
            time_to_first_close: self.time_to_first_close,
            time_to_last_close: self.time_to_last_close,
            median_time_to_reply: self.median_time_to_reply,
            handling_time: self.handling_time,
            first_contact_reply_at: self.first_contact_reply_at,
            first_assignment_at: self.first_assignment_at,
            first_admin_reply_at: self.first_admin_reply_at,
            first_close_at: self.first_close_at,
            last_assignment_at: self.last_assignment_at,
            last_contact_reply_at: self.last_contact_reply_at,
            last_admin_reply_at: self.last_admin_reply_at,
            last_close_at: self.last_close_at,
            last_closed_by_id: self.last_closed_by_id,
            count_reopens: self.count_reopens,
            count_assignments: self.count_assignments,
            count_conversation_parts: self.count_conversation_parts,
        }
    }
}

impl ConversationPart {
    /// The store record of this part.
    pub fn into_record(self) -> PartRecord {
        PartRecord {
            id: self.id,
            part_type: self.part_type,
            body_html: self.body,
            created_at: self.created_at,
            updated_at: self.updated_at,
            notified_at: self.notified_at,
            author: author_record(self.author),
            assigned_to_id: self.assigned_to.and_then(|reference| reference.id),
            redacted: self.redacted,
        }
    }
}

impl Contact {
    /// The store record of this contact. Company and tag ids are those embedded in the contact (at most 10 each;
    /// see `AddressableList::is_complete`).
    pub fn into_record(self) -> ContactRecord {
        let location = self.location.unwrap_or_default();
        ContactRecord {
            id: self.id,
            role: self.role.unwrap_or_default(),
            external_id: self.external_id,
            email: self.email,
            name: self.name,
            phone: self.phone,
            owner_id: self.owner_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            signed_up_at: self.signed_up_at,
            last_seen_at: self.last_seen_at,
            last_replied_at: self.last_replied_at,
            last_contacted_at: self.last_contacted_at,
            country: location.country,
            region: location.region,
            city: location.city,
            browser: self.browser,
            os: self.os,
            company_ids: self
                .companies
                .map(|list| list.data.into_iter().map(|item| item.id).collect())
                .unwrap_or_default(),
            tag_ids: self.tags.map(|list| list.data.into_iter().map(|item| item.id).collect()).unwrap_or_default(),
            custom_attributes: attributes_text(self.custom_attributes),
        }
    }
}

impl Company {
    /// The store record of this company; the name is `""` when Intercom sent none.
    pub fn into_record(self) -> CompanyRecord {
        CompanyRecord {
            id: self.id,
            company_id: self.company_id,
            name: self.name.unwrap_or_default(),
            plan: self.plan,
            size: self.size,
            website: self.website,
            industry: self.industry,
            monthly_spend: self.monthly_spend,
            user_count: self.user_count,
            session_count: self.session_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
            remote_created_at: self.remote_created_at,
            last_request_at: self.last_request_at,
        }
    }
}

impl Admin {
    /// The store record of this admin.
    pub fn into_record(self) -> AdminRecord {
        AdminRecord {
            id: self.id,
            name: self.name,
            email: self.email,
            job_title: self.job_title,
            away_mode_enabled: self.away_mode_enabled,
            has_inbox_seat: self.has_inbox_seat,
            team_ids: self.team_ids,
        }
    }
}

impl Team {
    /// The store record of this team; the name is `""` when Intercom sent none.
    pub fn into_record(self) -> TeamRecord {
        TeamRecord { id: self.id, name: self.name.unwrap_or_default(), admin_ids: self.admin_ids }
    }
}

impl Tag {
    /// The store record of this tag; the name is `""` when Intercom sent none.
    pub fn into_record(self) -> TagRecord {
        TagRecord { id: self.id, name: self.name.unwrap_or_default() }
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;

    fn parse<T: DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap_or_else(|error| panic!("did not deserialize: {error}"))
    }

    fn admin_author(id: &str, name: &str) -> store::Author {
        store::Author {
            kind: "admin".into(),
            id: id.into(),
            name: Some(name.into()),
            email: Some(format!("{}@example.com", name.to_lowercase())),
        }
    }

    /// A retrieved conversation as Intercom 2.16 sends it, including the quirks: integer part ids, integer
    /// assignee ids with 0 for "unassigned", unknown fields, and more parts in the statistics than returned.
    fn conversation_json() -> Value {
        let source = json!({
            "type": "email", "id": 403918320, "delivered_as": "customer_initiated", "subject": "<p>Refund</p>",
            "body": "<p>I want my money back</p>", "url": null, "redacted": false, "attachments": [],
            "author": {"type": "user", "id": "6762f0f31bb69f9f2193bb8b", "name": "Joe", "email": "joe@x.com"},
        });
        let contacts = json!({"type": "contact.list", "contacts": [
            {"type": "contact", "id": "6762f0f31bb69f9f2193bb8b", "external_id": "70"},
            {"type": "contact", "id": "c2", "external_id": null},
        ]});
        let rating = json!({
            "rating": 4, "remark": "ok", "created_at": 1700000800, "updated_at": 1700000800,
            "contact": {"type": "contact", "id": "6762f0f31bb69f9f2193bb8b"},
            "teammate": {"type": "admin", "id": 814860},
        });
        let statistics = json!({
            "type": "conversation_statistics", "time_to_assignment": 0, "time_to_admin_reply": 120,
            "first_contact_reply_at": 1700000000, "last_closed_by_id": 814860, "count_reopens": 1,
            "count_assignments": 2, "count_conversation_parts": 3, "handling_time": null,
            "assigned_team_first_response_time": [{"team_id": 5017691, "team_name": "Billing", "response_time": 120}],
        });
        let assignment = json!({
            "type": "conversation_part", "id": 1, "part_type": "assignment", "body": null,
            "created_at": 1700000100, "updated_at": 1700000100, "notified_at": 1700000100,
            "assigned_to": {"type": "admin", "id": 814860},
            "author": {"type": "admin", "id": "814861", "name": "Ann", "email": "ann@example.com"},
            "attachments": null, "external_id": null, "redacted": false, "tags": null, "state": "open",
        });
        let comment = json!({
            "type": "conversation_part", "id": "2", "part_type": "comment", "body": "<p>Done</p>",
            "created_at": 1700000200, "updated_at": null, "notified_at": null, "assigned_to": null,
            "author": {"type": "admin", "id": "814860", "name": "Bob", "email": "bob@example.com",
                       "from_ai_agent": false, "is_ai_answer": false},
            "redacted": true, "event_details": {"whatever": true},
        });
        let mut conversation = json!({
            "type": "conversation", "id": "1911149811", "title": "Refund?", "created_at": 1700000000,
            "updated_at": "1700000900", "waiting_since": null, "snoozed_until": null, "open": true,
            "state": "snoozed", "read": false, "priority": "urgent", "admin_assignee_id": 0,
            "team_assignee_id": 5017691, "company": {"type": "company", "id": "6762f07f1bb69f9f2193baf5"},
            "teammates": {"type": "admin.list", "teammates": [{"type": "admin", "id": "814860"}]},
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": 123456, "name": "billing"}]},
            "ai_agent_participated": false, "ai_agent": null, "channel": {"initial": "email", "current": "messenger"},
            "custom_attributes": {"Plan": "pro", "seats": 3}, "topics": {}, "ticket": null, "unknown": [1, 2, 3],
        });
        conversation["source"] = source;
        conversation["contacts"] = contacts;
        conversation["conversation_rating"] = rating;
        conversation["statistics"] = statistics;
        conversation["conversation_parts"] =
            json!({"type": "conversation_part.list", "total_count": 2, "conversation_parts": [assignment, comment]});
        conversation
    }

    #[test]
    fn conversation_with_parts_becomes_its_record() {
        let record = parse::<Conversation>(conversation_json()).into_record();
        let expected = ConversationRecord {
            id: "1911149811".into(),
            title: Some("Refund?".into()),
            state: Some(ConversationState::Snoozed),
            open: true,
            read: false,
            priority: Some(Priority::Urgent),
            created_at: 1700000000,
            updated_at: 1700000900,
            waiting_since: None,
            snoozed_until: None,
            admin_assignee_id: None,
            team_assignee_id: Some("5017691".into()),
            company_id: Some("6762f07f1bb69f9f2193baf5".into()),
            source: store::Source {
                kind: "email".into(),
                id: Some("403918320".into()),
                delivered_as: Some("customer_initiated".into()),
                subject: Some("<p>Refund</p>".into()),
                body_html: "<p>I want my money back</p>".into(),
                url: None,
                author: store::Author {
                    kind: "user".into(),
                    id: "6762f0f31bb69f9f2193bb8b".into(),
                    name: Some("Joe".into()),
                    email: Some("joe@x.com".into()),
                },
            },
            contact_ids: vec!["6762f0f31bb69f9f2193bb8b".into(), "c2".into()],
            tag_ids: vec!["123456".into()],
            rating: Some(Rating {
                rating: Some(4),
                remark: Some("ok".into()),
                created_at: Some(1700000800),
                contact_id: Some("6762f0f31bb69f9f2193bb8b".into()),
                teammate_id: Some("814860".into()),
            }),
            statistics: store::Statistics {
                time_to_assignment: Some(0),
                time_to_admin_reply: Some(120),
                first_contact_reply_at: Some(1700000000),
                last_closed_by_id: Some("814860".into()),
                count_reopens: Some(1),
                count_assignments: Some(2),
                count_conversation_parts: Some(3),
                ..store::Statistics::default()
            },
            parts: vec![
                PartRecord {
                    id: "1".into(),
                    part_type: "assignment".into(),
                    body_html: None,
                    created_at: 1700000100,
                    updated_at: Some(1700000100),
                    notified_at: Some(1700000100),
                    author: admin_author("814861", "Ann"),
                    assigned_to_id: Some("814860".into()),
                    redacted: false,
                },
                PartRecord {
                    id: "2".into(),
                    part_type: "comment".into(),
                    body_html: Some("<p>Done</p>".into()),
                    created_at: 1700000200,
                    updated_at: None,
                    notified_at: None,
                    author: admin_author("814860", "Bob"),
                    assigned_to_id: None,
                    redacted: true,
                },
            ],
            parts_truncated: true,
            ai_agent_participated: Some(false),
            channel_initial: Some("email".into()),
            custom_attributes: Some(r#"{"Plan":"pro","seats":3}"#.into()),
        };
        assert_eq!(record, expected);
    }

    #[test]
    fn parts_are_complete_when_the_counts_agree_or_are_unknown() {
        let mut value = conversation_json();
        value["statistics"]["count_conversation_parts"] = json!(2);
        assert!(!parse::<Conversation>(value.clone()).into_record().parts_truncated);
        value["statistics"] = Value::Null;
        assert!(!parse::<Conversation>(value.clone()).into_record().parts_truncated);
        value["conversation_parts"]["total_count"] = json!(501);
        assert!(parse::<Conversation>(value.clone()).into_record().parts_truncated);
        // A list item has no parts at all: nothing is known to be missing.
        value["conversation_parts"] = Value::Null;
        value["statistics"] = json!({"count_conversation_parts": 9});
        let record = parse::<Conversation>(value).into_record();
        assert!(record.parts.is_empty());
        assert!(!record.parts_truncated);
    }

    #[test]
    fn state_falls_back_to_open_and_priority_maps_old_values() {
        assert_eq!(conversation_state(None, true), ConversationState::Open);
        assert_eq!(conversation_state(None, false), ConversationState::Closed);
        assert_eq!(conversation_state(Some("pending"), false), ConversationState::Closed);
        assert_eq!(conversation_state(Some("snoozed"), false), ConversationState::Snoozed);
        assert_eq!(priority("priority"), Some(Priority::High));
        assert_eq!(priority("not_priority"), Some(Priority::None));
        assert_eq!(priority("none"), Some(Priority::None));
        assert_eq!(priority("low"), Some(Priority::Low));
        assert_eq!(priority("whenever"), None);
    }

    #[test]
    fn minimal_conversation_gets_defaults() {
        let record = parse::<Conversation>(json!({"id": 42, "open": false, "custom_attributes": {}})).into_record();
        let expected = ConversationRecord {
            id: "42".into(),
            state: Some(ConversationState::Closed),
            ..ConversationRecord::default()
        };
        assert_eq!(record, expected);
    }

    #[test]
    fn contact_becomes_its_record() {
        let contact: Contact = parse(json!({
            "type": "contact", "id": "6762f0d01bb69f9f2193bb7d", "workspace_id": "abc", "external_id": 70,
            "role": "lead", "email": "joe@bloggs.com", "phone": null, "name": "Joe Bloggs", "owner_id": 991267459,
            "created_at": 1734537424, "updated_at": 1734537500, "signed_up_at": null, "last_seen_at": 1734537450,
            "last_replied_at": "1734537460", "last_contacted_at": null, "browser": "chrome", "os": "OS X",
            "avatar": {"type": "avatar", "image_url": null},
            "location": {
                "type": "location", "country": "Ireland", "region": "Dublin", "city": null, "country_code": "IRL",
            },
            "companies": {"type": "list", "data": [{"type": "company", "id": "c1", "url": "/companies/c1"}],
                          "url": "/contacts/6762f0d01bb69f9f2193bb7d/companies", "total_count": 1, "has_more": false},
            "tags": {"type": "list", "data": [{"type": "tag", "id": 80, "url": "/tags/80"}], "total_count": 1},
            "custom_attributes": {"tier": "gold"}, "social_profiles": {"type": "list", "data": []}, "notes": null,
        }));
        let expected = ContactRecord {
            id: "6762f0d01bb69f9f2193bb7d".into(),
            role: "lead".into(),
            external_id: Some("70".into()),
            email: Some("joe@bloggs.com".into()),
            name: Some("Joe Bloggs".into()),
            phone: None,
            owner_id: Some("991267459".into()),
            created_at: 1734537424,
            updated_at: 1734537500,
            signed_up_at: None,
            last_seen_at: Some(1734537450),
            last_replied_at: Some(1734537460),
            last_contacted_at: None,
            country: Some("Ireland".into()),
            region: Some("Dublin".into()),
            city: None,
            browser: Some("chrome".into()),
            os: Some("OS X".into()),
            company_ids: vec!["c1".into()],
            tag_ids: vec!["80".into()],
            custom_attributes: Some(r#"{"tier":"gold"}"#.into()),
        };
        assert_eq!(contact.into_record(), expected);
    }

    #[test]
    fn company_becomes_its_record() {
        let company: Company = parse(json!({
            "type": "company", "id": "531ee472cce572a6ec000006", "company_id": 6, "name": "Blue Sun",
            "plan": {"type": "plan", "id": "269315", "name": "Pro"}, "size": "100", "website": "https://x.com",
            "industry": null, "monthly_spend": 155.5, "user_count": 4, "session_count": 0,
            "created_at": 1663597223, "updated_at": 1663597224, "remote_created_at": null,
            "last_request_at": 1663597225,
            "tags": {"type": "tag.list", "tags": []}, "segments": {"type": "segment.list", "segments": []},
            "custom_attributes": {},
        }));
        let expected = CompanyRecord {
            id: "531ee472cce572a6ec000006".into(),
            company_id: Some("6".into()),
            name: "Blue Sun".into(),
            plan: Some("Pro".into()),
            size: Some(100),
            website: Some("https://x.com".into()),
            industry: None,
            monthly_spend: Some(155.5),
            user_count: Some(4),
            session_count: Some(0),
            created_at: Some(1663597223),
            updated_at: Some(1663597224),
            remote_created_at: None,
            last_request_at: Some(1663597225),
        };
        assert_eq!(company.into_record(), expected);
        let bare: Company = parse(json!({"id": "x", "plan": "Starter", "name": null}));
        let record = bare.into_record();
        assert_eq!((record.name.as_str(), record.plan.as_deref()), ("", Some("Starter")));
    }

    #[test]
    fn admin_avatar_may_be_a_string_or_an_object() {
        let listed: Admin = parse(json!({
            "type": "admin", "id": "991267466", "name": "Ciaran7 Lee", "email": "admin7@email.com",
            "job_title": null, "away_mode_enabled": true, "away_mode_reassign": false, "has_inbox_seat": true,
            "team_ids": [814865, "814866"], "avatar": "https://picsum.photos/200/300",
        }));
        assert_eq!(listed.avatar.as_deref(), Some("https://picsum.photos/200/300"));
        let me: Admin = parse(json!({
            "type": "admin", "id": 991267459, "email": "admin1@email.com", "name": "Ciaran1 Lee",
            "avatar": {"type": "avatar", "image_url": "https://static.intercomassets.com/a.png"},
            "app": {"type": "app", "id_code": "x"}, "has_inbox_seat": true,
        }));
        assert_eq!(me.avatar.as_deref(), Some("https://static.intercomassets.com/a.png"));
        let expected = AdminRecord {
            id: "991267466".into(),
            name: Some("Ciaran7 Lee".into()),
            email: Some("admin7@email.com".into()),
            job_title: None,
            away_mode_enabled: true,
            has_inbox_seat: true,
            team_ids: vec!["814865".into(), "814866".into()],
        };
        assert_eq!(listed.into_record(), expected);
        let me = me.into_record();
        assert_eq!((me.id.as_str(), me.team_ids.len(), me.away_mode_enabled), ("991267459", 0, false));
    }

    #[test]
    fn team_and_tag_become_their_records() {
        let team: Team = parse(json!({"type": "team", "id": 991267902, "name": null, "admin_ids": [1, 2], "x": 1}));
        let expected =
            TeamRecord { id: "991267902".into(), name: String::new(), admin_ids: vec!["1".into(), "2".into()] };
        assert_eq!(team.into_record(), expected);
        let tag: Tag = parse(json!({"type": "tag", "id": "113", "name": "Manual tag", "applied_at": null}));
        assert_eq!(tag.into_record(), TagRecord { id: "113".into(), name: "Manual tag".into() });
    }

    #[test]
    fn custom_attributes_text_only_for_non_empty_objects() {
        assert_eq!(attributes_text(None), None);
        assert_eq!(attributes_text(Some(Value::Null)), None);
        assert_eq!(attributes_text(Some(json!({}))), None);
        assert_eq!(attributes_text(Some(json!(["a"]))), None);
        assert_eq!(attributes_text(Some(json!({"a": {"b": [1, null]}}))).as_deref(), Some(r#"{"a":{"b":[1,null]}}"#));
    }
}

//! How conversations look in tool results, and the JSON Schemas of those shapes.
//!
//! Borrowing structs with `#[derive(Serialize)]` rather than `serde_json::Value`: fields come out in a reading
//! order (id, title, state, ...) instead of sorted, and nothing is copied. Timestamps become RFC 3339 text in
//! UTC because models read dates, not unix seconds; durations stay in seconds.

use fastintercom_plugin_sdk::conversations::{
    Conversation, ConversationPart, ConversationState, ConversationStatistics, ConversationSummary, PriorityLevel,
};
use fastintercom_plugin_sdk::types::Author;
use fastintercom_plugin_sdk::{format_unix, schema};
use serde::Serialize;
use serde_json::{Value, json};

/// The argument and result name of each state.
pub fn state_name(state: ConversationState) -> &'static str {
    match state {
        ConversationState::Open => "open",
        ConversationState::Closed => "closed",
        ConversationState::Snoozed => "snoozed",
    }
}

/// The argument and result name of each priority level.
pub fn priority_name(level: PriorityLevel) -> &'static str {
    match level {
        PriorityLevel::None => "none",
        PriorityLevel::Low => "low",
        PriorityLevel::Medium => "medium",
        PriorityLevel::High => "high",
        PriorityLevel::Urgent => "urgent",
    }
}

/// Every priority level, in schema order.
pub const PRIORITY_LEVELS: [PriorityLevel; 5] =
    [PriorityLevel::None, PriorityLevel::Low, PriorityLevel::Medium, PriorityLevel::High, PriorityLevel::Urgent];

/// Who wrote something.
#[derive(Serialize)]
pub struct AuthorOut<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    name: Option<&'a str>,
    email: Option<&'a str>,
}

impl<'a> From<&'a Author> for AuthorOut<'a> {
    fn from(a: &'a Author) -> Self {
        AuthorOut { kind: &a.kind, id: &a.id, name: a.name.as_deref(), email: a.email.as_deref() }
    }
}

/// Intercom's timing statistics.
#[derive(Serialize)]
pub struct StatisticsOut {
    time_to_admin_reply: Option<i64>,
    time_to_first_close: Option<i64>,
    first_admin_reply_at: Option<String>,
    last_close_at: Option<String>,
    count_reopens: Option<u32>,
    count_conversation_parts: Option<u32>,
}

impl From<&ConversationStatistics> for StatisticsOut {
    fn from(s: &ConversationStatistics) -> Self {
        StatisticsOut {
            time_to_admin_reply: s.time_to_admin_reply,
            time_to_first_close: s.time_to_first_close,
            first_admin_reply_at: s.first_admin_reply_at.map(format_unix),
            last_close_at: s.last_close_at.map(format_unix),
            count_reopens: s.count_reopens,
            count_conversation_parts: s.count_conversation_parts,
        }
    }
}

/// One conversation as `search_conversations` returns it (and the first fields of `get_conversation`'s).
#[derive(Serialize)]
pub struct SummaryOut<'a> {
    id: &'a str,
    title: Option<&'a str>,
    state: &'static str,
    open: bool,
    read: bool,
    priority: &'static str,
    created_at: String,
    updated_at: String,
    waiting_since: Option<String>,
    snoozed_until: Option<String>,
    admin_assignee_id: Option<&'a str>,
    team_assignee_id: Option<&'a str>,
    source_type: &'a str,
    subject: Option<&'a str>,
    author: AuthorOut<'a>,
    preview: &'a str,
    contact_ids: &'a [String],
    tags: &'a [String],
    rating: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    statistics: StatisticsOut,
}

impl<'a> From<&'a ConversationSummary> for SummaryOut<'a> {
    fn from(c: &'a ConversationSummary) -> Self {
        SummaryOut {
            id: &c.id,
            title: c.title.as_deref(),
            state: state_name(c.state),
            open: c.open,
            read: c.read,
            priority: priority_name(c.priority),
            created_at: format_unix(c.created_at),
            updated_at: format_unix(c.updated_at),
            waiting_since: c.waiting_since.map(format_unix),
            snoozed_until: c.snoozed_until.map(format_unix),
            admin_assignee_id: c.admin_assignee_id.as_deref(),
            team_assignee_id: c.team_assignee_id.as_deref(),
            source_type: &c.source_type,
            subject: c.subject.as_deref(),
            author: (&c.source_author).into(),
            preview: &c.preview,
            contact_ids: &c.contact_ids,
            tags: &c.tags,
            rating: c.rating,
            score: c.score.filter(|s| s.is_finite()),
            statistics: (&c.statistics).into(),
        }
    }
}

/// One part of a conversation.
#[derive(Serialize)]
pub struct PartOut<'a> {
    id: &'a str,
    part_type: &'a str,
    author: AuthorOut<'a>,
    body: Option<&'a str>,
    created_at: String,
    assigned_to: Option<&'a str>,
}

impl<'a> From<&'a ConversationPart> for PartOut<'a> {
    fn from(p: &'a ConversationPart) -> Self {
        PartOut {
            id: &p.id,
            part_type: &p.part_type,
            author: (&p.author).into(),
            body: p.body.as_deref(),
            created_at: format_unix(p.created_at),
            assigned_to: p.assigned_to.as_deref(),
        }
    }
}

/// A whole conversation, as `get_conversation` returns it: the summary fields, then the thread.
#[derive(Serialize)]
pub struct ConversationOut<'a> {
    #[serde(flatten)]
    summary: SummaryOut<'a>,
    source_body: &'a str,
    rating_remark: Option<&'a str>,
    parts: Vec<PartOut<'a>>,
    parts_truncated: bool,
}

impl<'a> From<&'a Conversation> for ConversationOut<'a> {
    fn from(c: &'a Conversation) -> Self {
        ConversationOut {
            summary: (&c.summary).into(),
            source_body: &c.source_body,
            rating_remark: c.rating_remark.as_deref(),
            parts: c.parts.iter().map(PartOut::from).collect(),
            parts_truncated: c.parts_truncated,
        }
    }
}

fn author_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "id", "name", "email"],
        "properties": {
            "type": {"type": "string", "description": "\"admin\", \"user\", \"lead\", \"bot\" or \"team\"."},
            "id": {"type": "string"},
            "name": schema::nullable("string"),
            "email": schema::nullable("string")
        }
    })
}

fn summary_properties() -> serde_json::Map<String, Value> {
    let nullable_int = schema::nullable("integer");
    let properties = json!({
        "id": {"type": "string", "description": "Conversation id; pass to get_conversation for the whole thread."},
        "title": schema::nullable("string"),
        "state": {"type": "string", "enum": ["open", "closed", "snoozed"]},
        "open": {"type": "boolean", "description": "Open or snoozed."},
        "read": {"type": "boolean", "description": "Whether an admin has read the latest contact message."},
        "priority": {"type": "string", "enum": PRIORITY_LEVELS.map(priority_name)},
        "created_at": schema::timestamp(false),
        "updated_at": schema::timestamp(false),
        "waiting_since": schema::timestamp(true),
        "snoozed_until": schema::timestamp(true),
        "admin_assignee_id": schema::nullable("string"),
        "team_assignee_id": schema::nullable("string"),
        "source_type": {"type": "string", "description": "How it started: \"conversation\", \"email\", \"push\", \"chat\", ..."},
        "subject": schema::nullable("string"),
        "author": author_schema(),
        "preview": {"type": "string", "description": "Start of the first message, plain text (about 280 characters)."},
        "contact_ids": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "score": {"type": "number", "description": "Full-text relevance (higher is better); only with a query, and only for ranked results (see summary.ranked)."},
        "statistics": {
            "type": "object",
            "properties": {
                "time_to_admin_reply": {"type": ["integer", "null"], "description": "Seconds."},
                "time_to_first_close": {"type": ["integer", "null"], "description": "Seconds."},
                "first_admin_reply_at": schema::timestamp(true),
                "last_close_at": schema::timestamp(true),
                "count_reopens": nullable_int.clone(),
                "count_conversation_parts": nullable_int
            }
        }
    });
    match properties {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

const SUMMARY_REQUIRED: [&str; 20] = [
    "id",
    "title",
    "state",
    "open",
    "read",
    "priority",
    "created_at",
    "updated_at",
    "waiting_since",
    "snoozed_until",
    "admin_assignee_id",
    "team_assignee_id",
    "source_type",
    "subject",
    "author",
    "preview",
    "contact_ids",
    "tags",
    "rating",
    "statistics",
];

/// The schema of one `search_conversations` result.
pub fn summary_schema() -> Value {
    json!({"type": "object", "required": SUMMARY_REQUIRED, "properties": summary_properties()})
}

/// The schema of the one `get_conversation` result.
pub fn conversation_schema() -> Value {
    let mut properties = summary_properties();
    properties.insert("source_body".into(), json!({"type": "string", "description": "The first message, plain text."}));
    properties.insert("rating_remark".into(), schema::nullable("string"));
    properties.insert(
        "parts".into(),
        json!({
            "type": "array",
            "description": "Every reply, note and event after the first message, oldest first.",
            "items": {
                "type": "object",
                "required": ["id", "part_type", "author", "body", "created_at", "assigned_to"],
                "properties": {
                    "id": {"type": "string"},
                    "part_type": {"type": "string", "description": "\"comment\", \"note\", \"assignment\", \"close\", \"open\", \"snoozed\", ..."},
                    "author": author_schema(),
                    "body": {"type": ["string", "null"], "description": "Plain text; null for events without a body."},
                    "created_at": schema::timestamp(false),
                    "assigned_to": schema::nullable("string")
                }
            }
        }),
    );
    properties.insert(
        "parts_truncated".into(),
        json!({"type": "boolean", "description": "True when Intercom returned only the first 500 parts."}),
    );
    let mut required: Vec<&str> = SUMMARY_REQUIRED.to_vec();
    required.extend(["source_body", "rating_remark", "parts", "parts_truncated"]);
    json!({"type": "object", "required": required, "properties": properties})
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastintercom_plugin_sdk::Envelope;
    use fastintercom_plugin_sdk::conversations::ConversationStatistics;

    fn author(kind: &str, id: &str, name: Option<&str>) -> Author {
        Author { kind: kind.into(), id: id.into(), name: name.map(Into::into), email: None }
    }

    fn sample() -> Conversation {
        Conversation {
            summary: ConversationSummary {
                id: "123".into(),
                title: None,
                state: ConversationState::Snoozed,
                open: true,
                read: false,
                priority: PriorityLevel::High,
                created_at: 1_736_899_200,
                updated_at: 1_736_942_400,
                waiting_since: Some(1_736_900_000),
                snoozed_until: None,
                admin_assignee_id: Some("7".into()),
                team_assignee_id: None,
                source_type: "email".into(),
                subject: Some("Refund".into()),
                source_author: author("user", "c1", Some("Ada")),
                preview: "I want my money back".into(),
                contact_ids: vec!["c1".into()],
                tags: vec!["billing".into()],
                rating: None,
                score: Some(1.5),
                statistics: ConversationStatistics {
                    time_to_admin_reply: Some(60),
                    time_to_first_close: None,
                    first_admin_reply_at: Some(1_736_899_260),
                    last_close_at: None,
                    count_reopens: None,
                    count_conversation_parts: Some(1),
                },
            },
            source_body: "I want my money back, please.".into(),
            rating_remark: None,
            parts: vec![ConversationPart {
                id: "p1".into(),
                part_type: "comment".into(),
                body: Some("Done.".into()),
                author: author("admin", "7", None),
                created_at: 1_736_899_260,
                assigned_to: None,
            }],
            parts_truncated: false,
        }
    }

    #[test]
    fn summary_json_is_in_reading_order() {
        let c = sample();
        let json = serde_json::to_string(&SummaryOut::from(&c.summary)).unwrap();
        assert_eq!(
            json,
            r#"{"id":"123","title":null,"state":"snoozed","open":true,"read":false,"priority":"high","created_at":"2025-01-15T00:00:00Z","updated_at":"2025-01-15T12:00:00Z","waiting_since":"2025-01-15T00:13:20Z","snoozed_until":null,"admin_assignee_id":"7","team_assignee_id":null,"source_type":"email","subject":"Refund","author":{"type":"user","id":"c1","name":"Ada","email":null},"preview":"I want my money back","contact_ids":["c1"],"tags":["billing"],"rating":null,"score":1.5,"statistics":{"time_to_admin_reply":60,"time_to_first_close":null,"first_admin_reply_at":"2025-01-15T00:01:00Z","last_close_at":null,"count_reopens":null,"count_conversation_parts":1}}"#
        );
    }

    #[test]
    fn whole_conversation_adds_the_thread() {
        let mut c = sample();
        c.summary.score = None;
        let value = Envelope::new(vec![ConversationOut::from(&c)]).total(1).to_value().unwrap();
        let result = &value["results"][0];
        assert!(result.get("score").is_none());
        assert_eq!(result["source_body"], "I want my money back, please.");
        assert_eq!(result["rating_remark"], Value::Null);
        assert_eq!(
            result["parts"],
            json!([{"id": "p1", "part_type": "comment", "author": {"type": "admin", "id": "7", "name": null, "email": null},
                    "body": "Done.", "created_at": "2025-01-15T00:01:00Z", "assigned_to": null}])
        );
        assert_eq!(result["parts_truncated"], false);
        // Every required field of the schema is present.
        let schema = conversation_schema();
        for key in schema["required"].as_array().unwrap() {
            assert!(result.get(key.as_str().unwrap()).is_some(), "{key}");
        }
    }
}

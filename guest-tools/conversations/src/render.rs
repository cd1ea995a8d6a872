//! How conversations look in tool results, and the JSON Schemas of those shapes.
//!
//! Borrowing structs with `#[derive(Serialize)]` rather than `serde_json::Value`: fields come out in a reading
//! order (id, title, state, ...) instead of sorted, and nothing is copied. Timestamps become RFC 3339 text in
//! UTC because models read dates, not unix seconds; durations stay in seconds.

use fastintercom_plugin_sdk::conversations::{
    Conversation, ConversationPart, ConversationState, ConversationStatistics, ConversationSummary, PriorityLevel,
};
use std::borrow::Cow;

use fastintercom_plugin_sdk::types::Author;
use fastintercom_plugin_sdk::{AtDetail, Detail, Shown, format_unix, schema, shorten};
use serde::Serialize;
use serde_json::{Value, json};

/// Characters of a compact answer's preview (the host's previews have about 280).
pub const COMPACT_PREVIEW_CHARS: usize = 140;

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

/// Who wrote something, compactly: the name, or the email when there is no name, or the id when neither.
#[derive(Serialize)]
pub struct CompactAuthorOut<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

impl<'a> From<&'a Author> for CompactAuthorOut<'a> {
    fn from(a: &'a Author) -> Self {
        let name = a.name.as_deref().filter(|n| !n.is_empty());
        let email = a.email.as_deref().filter(|e| name.is_none() && !e.is_empty());
        let id = Some(a.id.as_str()).filter(|_| name.is_none() && email.is_none());
        CompactAuthorOut { kind: &a.kind, id, name, email }
    }
}

/// One conversation as a compact search result: the fields a person glances at, none of them null or empty.
#[derive(Serialize)]
pub struct CompactSummaryOut<'a> {
    id: &'a str,
    /// The title, or the email subject when there is no title.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    state: &'static str,
    /// Left out when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<&'static str>,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snoozed_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_assignee_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_assignee_id: Option<&'a str>,
    author: CompactAuthorOut<'a>,
    preview: Cow<'a, str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
}

impl<'a> From<&'a ConversationSummary> for CompactSummaryOut<'a> {
    fn from(c: &'a ConversationSummary) -> Self {
        let present = |text: &'a Option<String>| text.as_deref().filter(|t| !t.is_empty());
        CompactSummaryOut {
            id: &c.id,
            title: present(&c.title).or_else(|| present(&c.subject)),
            state: state_name(c.state),
            priority: Some(priority_name(c.priority)).filter(|_| c.priority != PriorityLevel::None),
            created_at: format_unix(c.created_at),
            updated_at: format_unix(c.updated_at),
            waiting_since: c.waiting_since.map(format_unix),
            snoozed_until: c.snoozed_until.map(format_unix),
            admin_assignee_id: c.admin_assignee_id.as_deref(),
            team_assignee_id: c.team_assignee_id.as_deref(),
            author: (&c.source_author).into(),
            preview: shorten(&c.preview, COMPACT_PREVIEW_CHARS),
            tags: &c.tags,
            rating: c.rating,
            score: c.score.filter(|s| s.is_finite()),
        }
    }
}

/// A conversation summary at either level of detail.
pub type SummaryView<'a> = AtDetail<CompactSummaryOut<'a>, SummaryOut<'a>>;

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

/// One part, compactly: no id, the author by name, and no null or empty field.
#[derive(Serialize)]
pub struct CompactPartOut<'a> {
    part_type: &'a str,
    author: CompactAuthorOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_to: Option<&'a str>,
}

impl<'a> From<&'a ConversationPart> for CompactPartOut<'a> {
    fn from(p: &'a ConversationPart) -> Self {
        CompactPartOut {
            part_type: &p.part_type,
            author: (&p.author).into(),
            body: p.body.as_deref().filter(|b| !b.is_empty()),
            created_at: format_unix(p.created_at),
            assigned_to: p.assigned_to.as_deref(),
        }
    }
}

/// A part at either level of detail.
pub type PartView<'a> = AtDetail<CompactPartOut<'a>, PartOut<'a>>;

/// Where the middle of a long thread was left out.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct ElidedParts {
    /// How many parts were left out.
    count: usize,
    /// They come after this many of the parts given (the rest given are the thread's last).
    after: usize,
}

/// A whole conversation, as `get_conversation` returns it: the summary fields, then the thread.
#[derive(Serialize)]
pub struct ConversationOut<'a> {
    #[serde(flatten)]
    summary: SummaryView<'a>,
    source_body: &'a str,
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    rating_remark: Shown<&'a str>,
    parts: Vec<PartView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts_elided: Option<ElidedParts>,
    /// Compact detail leaves it out when false.
    #[serde(skip_serializing_if = "Shown::is_omitted")]
    parts_truncated: Shown<bool>,
}

impl<'a> ConversationOut<'a> {
    /// `c` at `detail`, its parts kept whole up to `max_parts`; a longer thread keeps its first and last parts
    /// (half each, the first half rounded up) and says what it left out between them.
    pub fn new(c: &'a Conversation, detail: Detail, max_parts: Option<usize>) -> Self {
        let (head, elided) = match max_parts {
            Some(max) if c.parts.len() > max => {
                let head = max.div_ceil(2);
                (head, Some(ElidedParts { count: c.parts.len() - max, after: head }))
            }
            _ => (c.parts.len(), None),
        };
        let tail_start = head + elided.as_ref().map_or(0, |e| e.count);
        let parts = c.parts[..head].iter().chain(&c.parts[tail_start..]).map(|p| PartView::new(p, detail)).collect();
        ConversationOut {
            summary: SummaryView::new(&c.summary, detail),
            source_body: &c.source_body,
            rating_remark: Shown::new(c.rating_remark.as_deref(), detail),
            parts,
            parts_elided: elided,
            parts_truncated: Shown::new(Some(c.parts_truncated).filter(|t| *t || !detail.is_compact()), detail),
        }
    }
}

fn author_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type"],
        "description": "In compact detail only the name, or the email when there is no name, or the id when neither.",
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
        "title": {"type": ["string", "null"], "description": "In compact detail the title, or else the email subject; left out when neither."},
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
        "preview": {"type": "string", "description": "Start of the first message, plain text (about 280 characters; 140 in compact detail)."},
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

/// The fields a summary has at every level of detail. Compact detail leaves out null, empty and default
/// fields (priority none), and `open`, `read`, `source_type`, `subject` (folded into `title`), `contact_ids` and
/// `statistics`.
const SUMMARY_REQUIRED: [&str; 6] = ["id", "state", "created_at", "updated_at", "author", "preview"];

/// The schema of one `search_conversations` result.
pub fn summary_schema() -> Value {
    json!({"type": "object", "required": SUMMARY_REQUIRED, "properties": summary_properties()})
}

/// The schema of the one `get_conversation` result.
pub fn conversation_schema() -> Value {
    let mut properties = summary_properties();
    properties.insert("source_body".into(), json!({"type": "string", "description": "The first message, plain text."}));
    properties.insert(
        "rating_remark".into(),
        json!({"type": ["string", "null"], "description": "Left out in compact detail when there is none."}),
    );
    properties.insert(
        "parts".into(),
        json!({
            "type": "array",
            "description": "Every reply, note and event after the first message, oldest first (but see parts_elided). In compact detail a part has no id, and no null field.",
            "items": {
                "type": "object",
                "required": ["part_type", "author", "created_at"],
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
        "parts_elided".into(),
        json!({
            "type": "object",
            "required": ["count", "after"],
            "description": "Present when the thread has more parts than max_parts: `count` parts were left out after the first `after` parts given; the rest given are the thread's last. Ask again with a larger max_parts to read them.",
            "properties": {"count": {"type": "integer", "minimum": 1}, "after": {"type": "integer", "minimum": 0}}
        }),
    );
    properties.insert(
        "parts_truncated".into(),
        json!({"type": "boolean", "description": "True when Intercom returned only the first 500 parts (left out in compact detail when false)."}),
    );
    let mut required: Vec<&str> = SUMMARY_REQUIRED.to_vec();
    required.extend(["source_body", "parts"]);
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
        let value = Envelope::new(vec![ConversationOut::new(&c, Detail::Full, None)]).total(1).to_value().unwrap();
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

    #[test]
    fn compact_summary_leaves_out_nulls_defaults_contacts_and_statistics() {
        let mut c = sample();
        c.summary.preview = "word ".repeat(60);
        let json = serde_json::to_string(&SummaryView::new(&c.summary, Detail::Compact)).unwrap();
        let short = format!("{}…", "word ".repeat(28).trim_end());
        assert_eq!(
            json,
            format!(
                r#"{{"id":"123","title":"Refund","state":"snoozed","priority":"high","created_at":"2025-01-15T00:00:00Z","updated_at":"2025-01-15T12:00:00Z","waiting_since":"2025-01-15T00:13:20Z","admin_assignee_id":"7","author":{{"type":"user","name":"Ada"}},"preview":"{short}","tags":["billing"],"score":1.5}}"#
            )
        );
        c.summary.priority = PriorityLevel::None;
        c.summary.subject = None;
        c.summary.tags.clear();
        c.summary.source_author = author("user", "c1", None);
        let value = serde_json::to_value(SummaryView::new(&c.summary, Detail::Compact)).unwrap();
        for absent in ["title", "priority", "tags", "contact_ids", "statistics", "open", "read", "source_type"] {
            assert!(value.get(absent).is_none(), "{absent}");
        }
        assert_eq!(
            value["author"],
            json!({"type": "user", "id": "c1"}),
            "an author without name or email keeps the id"
        );
        for key in summary_schema()["required"].as_array().unwrap() {
            assert!(value.get(key.as_str().unwrap()).is_some(), "{key}");
        }
    }

    #[test]
    fn a_long_thread_keeps_its_head_and_tail_and_marks_the_middle() {
        let mut c = sample();
        let part = c.parts[0].clone();
        c.parts = (0..7).map(|i| ConversationPart { id: format!("p{i}"), ..part.clone() }).collect();
        let ids = |out: &ConversationOut<'_>| -> Vec<String> {
            let value = serde_json::to_value(out).unwrap();
            value["parts"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
        };
        let out = ConversationOut::new(&c, Detail::Full, Some(4));
        assert_eq!(ids(&out), ["p0", "p1", "p5", "p6"]);
        assert_eq!(out.parts_elided, Some(ElidedParts { count: 3, after: 2 }));
        let out = ConversationOut::new(&c, Detail::Full, Some(3));
        assert_eq!(ids(&out), ["p0", "p1", "p6"]);
        assert_eq!(serde_json::to_value(&out).unwrap()["parts_elided"], json!({"count": 4, "after": 2}));
        for max in [None, Some(7), Some(100)] {
            let out = ConversationOut::new(&c, Detail::Full, max);
            assert_eq!(ids(&out).len(), 7);
            assert!(serde_json::to_value(&out).unwrap().get("parts_elided").is_none());
        }
    }

    #[test]
    fn compact_conversation_has_compact_parts_and_fits_the_schema() {
        let c = sample();
        let value = serde_json::to_value(ConversationOut::new(&c, Detail::Compact, Some(40))).unwrap();
        assert_eq!(
            value["parts"],
            json!([{"part_type": "comment", "author": {"type": "admin", "id": "7"}, "body": "Done.", "created_at": "2025-01-15T00:01:00Z"}])
        );
        assert!(value.get("rating_remark").is_none() && value.get("parts_truncated").is_none());
        for key in conversation_schema()["required"].as_array().unwrap() {
            assert!(value.get(key.as_str().unwrap()).is_some(), "{key}");
        }
    }
}

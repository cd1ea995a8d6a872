//! Store records serialised as Intercom 2.16 JSON, every record field in its natural place so a client that reads
//! the spec's shapes reconstructs the record exactly.
//!
//! Borrowing `Serialize` structs rather than `serde_json::Value` trees: a 100,000-conversation benchmark serialises
//! every conversation twice (list item, retrieve), so this path stays allocation-light. Independent of
//! `fastintercom_intercom::models` on purpose: the fake must not share the client's reading of the spec.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::store::model::{
    Author, CompanyRecord, ContactRecord, ConversationRecord, PartRecord, Statistics, TagRecord, TeamRecord,
};

/// Intercom returns at most this many parts, the most recent ones.
pub const MAX_PARTS: usize = 500;
/// Contacts embed at most this many tag and company references; more are behind the list's `url`.
pub const EMBEDDED_REFERENCES: usize = 10;
/// The workspace (app) id every object carries.
pub const APP_ID: &str = "fk4ke1nt";

/// What serialising a conversation needs beyond the record: names and kinds the record only references by id.
#[derive(Debug, Default)]
pub struct Lookup {
    pub tag_names: HashMap<String, String>,
    pub contact_external_ids: HashMap<String, Option<String>>,
    pub company_names: HashMap<String, String>,
    pub team_ids: HashSet<String>,
}

impl Lookup {
    pub fn new(
        tags: &[TagRecord],
        contacts: &[ContactRecord],
        companies: &[CompanyRecord],
        teams: &[TeamRecord],
    ) -> Self {
        Self {
            tag_names: tags.iter().map(|t| (t.id.clone(), t.name.clone())).collect(),
            contact_external_ids: contacts.iter().map(|c| (c.id.clone(), c.external_id.clone())).collect(),
            company_names: companies.iter().map(|c| (c.id.clone(), c.name.clone())).collect(),
            team_ids: teams.iter().map(|t| t.id.clone()).collect(),
        }
    }
}

/// An id Intercom sends as a JSON integer (assignees, `team_ids`, `admin_ids`); kept as text if it is not numeric,
/// so nothing is lost.
#[derive(Serialize)]
#[serde(untagged)]
enum IntId<'a> {
    Int(u64),
    Text(&'a str),
}

fn int_id(id: &str) -> IntId<'_> {
    id.parse().map_or(IntId::Text(id), IntId::Int)
}

/// `admin_assignee_id` / `team_assignee_id`: 2.16 sends 0 for "unassigned".
fn assignee(id: Option<&str>) -> IntId<'_> {
    id.map_or(IntId::Int(0), int_id)
}

/// Custom attributes text as a JSON object; `{}` when absent or not an object.
pub(super) fn attributes(text: Option<&str>) -> Value {
    match text.and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        Some(object @ Value::Object(_)) => object,
        _ => Value::Object(serde_json::Map::new()),
    }
}

#[derive(Serialize)]
struct Typed<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
}

#[derive(Serialize)]
struct AuthorJson<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    name: Option<&'a str>,
    email: Option<&'a str>,
}

impl<'a> AuthorJson<'a> {
    fn new(author: &'a Author) -> Self {
        Self { kind: &author.kind, id: &author.id, name: author.name.as_deref(), email: author.email.as_deref() }
    }
}

#[derive(Serialize)]
struct PartAuthorJson<'a> {
    #[serde(flatten)]
    author: AuthorJson<'a>,
    from_ai_agent: bool,
    is_ai_answer: bool,
}

#[derive(Serialize)]
struct SourceJson<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: Option<&'a str>,
    delivered_as: Option<&'a str>,
    subject: Option<&'a str>,
    body: &'a str,
    author: AuthorJson<'a>,
    attachments: [(); 0],
    url: Option<&'a str>,
    redacted: bool,
}

#[derive(Serialize)]
struct ContactRef<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    external_id: Option<&'a str>,
}

#[derive(Serialize)]
struct ContactRefs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    contacts: Vec<ContactRef<'a>>,
}

#[derive(Serialize)]
struct TagJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct TagListJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    tags: Vec<TagJson<'a>>,
}

#[derive(Serialize)]
struct StatisticsJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    fields: StatisticsFields<'a>,
    last_assignment_admin_reply_at: Option<i64>,
    assigned_team_first_response_time: [(); 0],
    assigned_team_first_response_time_in_office_hours: [(); 0],
    adjusted_handling_time: Option<i64>,
}

/// Every field of the store's `Statistics`, under Intercom's names (they are the same).
#[derive(Serialize)]
struct StatisticsFields<'a> {
    time_to_assignment: Option<i64>,
    time_to_admin_reply: Option<i64>,
    time_to_first_close: Option<i64>,
    time_to_last_close: Option<i64>,
    median_time_to_reply: Option<i64>,
    handling_time: Option<i64>,
    first_contact_reply_at: Option<i64>,
    first_assignment_at: Option<i64>,
    first_admin_reply_at: Option<i64>,
    first_close_at: Option<i64>,
    last_assignment_at: Option<i64>,
    last_contact_reply_at: Option<i64>,
    last_admin_reply_at: Option<i64>,
    last_close_at: Option<i64>,
    last_closed_by_id: Option<&'a str>,
    count_reopens: Option<i64>,
    count_assignments: Option<i64>,
    /// The conversation's real number of parts, even when fewer are returned.
    count_conversation_parts: usize,
}

impl<'a> StatisticsFields<'a> {
    fn new(s: &'a Statistics, parts: usize) -> Self {
        Self {
            time_to_assignment: s.time_to_assignment,
            time_to_admin_reply: s.time_to_admin_reply,
            time_to_first_close: s.time_to_first_close,
            time_to_last_close: s.time_to_last_close,
            median_time_to_reply: s.median_time_to_reply,
            handling_time: s.handling_time,
            first_contact_reply_at: s.first_contact_reply_at,
            first_assignment_at: s.first_assignment_at,
            first_admin_reply_at: s.first_admin_reply_at,
            first_close_at: s.first_close_at,
            last_assignment_at: s.last_assignment_at,
            last_contact_reply_at: s.last_contact_reply_at,
            last_admin_reply_at: s.last_admin_reply_at,
            last_close_at: s.last_close_at,
            last_closed_by_id: s.last_closed_by_id.as_deref(),
            count_reopens: s.count_reopens,
            count_assignments: s.count_assignments,
            count_conversation_parts: parts,
        }
    }
}

#[derive(Serialize)]
struct RatingJson<'a> {
    rating: Option<i64>,
    remark: Option<&'a str>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    contact: Option<Typed<'a>>,
    teammate: Option<Typed<'a>>,
}

#[derive(Serialize)]
struct FirstContactReply {
    created_at: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    url: Option<()>,
}

#[derive(Serialize)]
struct Teammates<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    teammates: Vec<Typed<'a>>,
}

#[derive(Serialize)]
struct CompanyRef<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct LinkedObjects {
    #[serde(rename = "type")]
    kind: &'static str,
    data: [(); 0],
    total_count: u8,
    has_more: bool,
}

#[derive(Serialize)]
struct Channel<'a> {
    initial: Option<&'a str>,
    current: Option<&'a str>,
}

#[derive(Serialize)]
struct PartJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    part_type: &'a str,
    body: Option<&'a str>,
    created_at: i64,
    updated_at: Option<i64>,
    notified_at: Option<i64>,
    assigned_to: Option<Typed<'a>>,
    author: PartAuthorJson<'a>,
    attachments: [(); 0],
    external_id: Option<()>,
    redacted: bool,
}

#[derive(Serialize)]
struct PartsJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    conversation_parts: Vec<PartJson<'a>>,
    /// The number of parts returned (at most [`MAX_PARTS`]), as Intercom counts it.
    total_count: usize,
}

#[derive(Serialize)]
struct ConversationJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    title: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
    waiting_since: Option<i64>,
    snoozed_until: Option<i64>,
    source: SourceJson<'a>,
    contacts: ContactRefs<'a>,
    first_contact_reply: Option<FirstContactReply>,
    admin_assignee_id: IntId<'a>,
    team_assignee_id: IntId<'a>,
    open: bool,
    state: Option<&'static str>,
    read: bool,
    tags: TagListJson<'a>,
    priority: Option<&'static str>,
    sla_applied: Option<()>,
    statistics: StatisticsJson<'a>,
    conversation_rating: Option<RatingJson<'a>>,
    teammates: Teammates<'a>,
    company: Option<CompanyRef<'a>>,
    custom_attributes: Value,
    linked_objects: LinkedObjects,
    ai_agent: Option<()>,
    ai_agent_participated: Option<bool>,
    channel: Option<Channel<'a>>,
    external_references: [(); 0],
}

fn reference<'a>(id: &'a str, lookup: &Lookup) -> Typed<'a> {
    Typed { kind: if lookup.team_ids.contains(id) { "team" } else { "admin" }, id }
}

fn part_json<'a>(part: &'a PartRecord, lookup: &Lookup) -> PartJson<'a> {
    PartJson {
        kind: "conversation_part",
        id: &part.id,
        part_type: &part.part_type,
        body: part.body_html.as_deref(),
        created_at: part.created_at,
        updated_at: part.updated_at,
        notified_at: part.notified_at,
        assigned_to: part.assigned_to_id.as_deref().map(|id| reference(id, lookup)),
        author: PartAuthorJson {
            author: AuthorJson::new(&part.author),
            from_ai_agent: part.author.kind == "bot",
            is_ai_answer: false,
        },
        attachments: [],
        external_id: None,
        redacted: part.redacted,
    }
}

/// Conversation `c` as retrieve returns it (with at most the [`MAX_PARTS`] most recent parts, in time order), and
/// the length of its list-item prefix: `conversation_parts` is the last field, so `body[..list_len]` followed by
/// `}` is the conversation as search and list return it. One serialisation (and one cached body) serves both.
pub fn conversation(c: &ConversationRecord, lookup: &Lookup) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(4_096 + 400 * c.parts.len().min(MAX_PARTS));
    let json = summary(c, lookup);
    // Writing into a Vec cannot fail, and these types always serialise.
    let _ = serde_json::to_writer(&mut out, &json);
    out.pop(); // the closing brace
    let list_len = out.len();
    let returned = &c.parts[c.parts.len().saturating_sub(MAX_PARTS)..];
    let parts = PartsJson {
        kind: "conversation_part.list",
        conversation_parts: returned.iter().map(|p| part_json(p, lookup)).collect(),
        total_count: returned.len(),
    };
    out.extend_from_slice(b",\"conversation_parts\":");
    let _ = serde_json::to_writer(&mut out, &parts);
    out.push(b'}');
    (out, list_len)
}

/// Every field but `conversation_parts`.
fn summary<'a>(c: &'a ConversationRecord, lookup: &'a Lookup) -> ConversationJson<'a> {
    let mut teammates: Vec<Typed<'_>> = Vec::new();
    for part in c.parts.iter().filter(|p| p.author.kind == "admin") {
        if !teammates.iter().any(|t| t.id == part.author.id) {
            teammates.push(Typed { kind: "admin", id: &part.author.id });
        }
    }
    ConversationJson {
        kind: "conversation",
        id: &c.id,
        title: c.title.as_deref(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        waiting_since: c.waiting_since,
        snoozed_until: c.snoozed_until,
        source: SourceJson {
            kind: &c.source.kind,
            id: c.source.id.as_deref(),
            delivered_as: c.source.delivered_as.as_deref(),
            subject: c.source.subject.as_deref(),
            body: &c.source.body_html,
            author: AuthorJson::new(&c.source.author),
            attachments: [],
            url: c.source.url.as_deref(),
            redacted: false,
        },
        contacts: ContactRefs {
            kind: "contact.list",
            contacts: c
                .contact_ids
                .iter()
                .map(|id| ContactRef {
                    kind: "contact",
                    id,
                    external_id: lookup.contact_external_ids.get(id).and_then(|e| e.as_deref()),
                })
                .collect(),
        },
        first_contact_reply: c.statistics.first_contact_reply_at.map(|created_at| FirstContactReply {
            created_at,
            kind: "conversation",
            url: None,
        }),
        admin_assignee_id: assignee(c.admin_assignee_id.as_deref()),
        team_assignee_id: assignee(c.team_assignee_id.as_deref()),
        open: c.open,
        state: c.state.map(|s| s.as_str()),
        read: c.read,
        tags: TagListJson {
            kind: "tag.list",
            tags: c
                .tag_ids
                .iter()
                .map(|id| TagJson { kind: "tag", id, name: lookup.tag_names.get(id).map_or("", String::as_str) })
                .collect(),
        },
        priority: c.priority.map(|p| p.as_str()),
        sla_applied: None,
        statistics: StatisticsJson {
            kind: "conversation_statistics",
            fields: StatisticsFields::new(&c.statistics, c.parts.len()),
            last_assignment_admin_reply_at: None,
            assigned_team_first_response_time: [],
            assigned_team_first_response_time_in_office_hours: [],
            adjusted_handling_time: None,
        },
        conversation_rating: c.rating.as_ref().map(|r| RatingJson {
            rating: r.rating,
            remark: r.remark.as_deref(),
            created_at: r.created_at,
            updated_at: r.created_at,
            contact: r.contact_id.as_deref().map(|id| Typed { kind: "contact", id }),
            teammate: r.teammate_id.as_deref().map(|id| Typed { kind: "admin", id }),
        }),
        teammates: Teammates { kind: "admin.list", teammates },
        company: c.company_id.as_deref().map(|id| CompanyRef {
            kind: "company",
            id,
            name: lookup.company_names.get(id).map(String::as_str),
        }),
        custom_attributes: attributes(c.custom_attributes.as_deref()),
        linked_objects: LinkedObjects { kind: "list", data: [], total_count: 0, has_more: false },
        ai_agent: None,
        ai_agent_participated: c.ai_agent_participated,
        channel: c.channel_initial.as_deref().map(|initial| Channel { initial: Some(initial), current: Some(initial) }),
        external_references: [],
    }
}

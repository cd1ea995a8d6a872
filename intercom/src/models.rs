//! Serde models of the Intercom REST API 2.16 responses the sync engine reads.
//!
//! They are deliberately forgiving, because a sync that stops on one odd field is worse than a record with one field
//! missing:
//! - unknown fields are ignored, missing fields and nulls take a default (`None`, `false`, `0`, empty list);
//! - every id is a `String`, whether Intercom sends a string or an integer (see [`de`]);
//! - timestamps, counts and booleans accept the harmless variants (numeric strings, `0`/`1`);
//! - small side objects (channel, rating, company reference, ...) that have an unexpected shape become `None`.
//!
//! Only a missing required id (of a conversation, part, contact, company, admin, team, tag, ...) fails
//! deserialisation: such an object cannot be stored.
//!
//! Field names follow the spec; `type` is `kind`. Conversion into store records is in [`super::convert`].

use serde::Deserialize;
use serde_json::Value;

#[path = "models_de.rs"]
pub mod de;

#[cfg(test)]
#[path = "models_spec_tests.rs"]
mod spec_tests;

// ---------------------------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------------------------

/// `cursor_pages`: the paging block of list and search responses.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CursorPages {
    #[serde(default, deserialize_with = "de::opt_int")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub per_page: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_pages: Option<i64>,
    /// Absent (or null) on the last page.
    #[serde(default, deserialize_with = "next_page")]
    pub next: Option<NextPage>,
}

/// `starting_after_paging`: where the next page starts. Some endpoints (`GET /contacts/{id}/companies`) send a
/// `pages_link` instead, whose `next` is a URL string; that lands in `url`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct NextPage {
    #[serde(default, deserialize_with = "de::opt_int")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub per_page: Option<i64>,
    /// The opaque cursor to send back as `starting_after`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub starting_after: Option<String>,
    /// The next page's URL, when `next` was a link rather than an object.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub url: Option<String>,
}

/// Reads `next` as an object, or as a link string (into [`NextPage::url`]); anything else means no next page.
fn next_page<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<NextPage>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(url) if !url.is_empty() => Some(NextPage { url: Some(url), ..NextPage::default() }),
        object @ Value::Object(_) => serde_json::from_value(object).ok(),
        _ => None,
    })
}

impl CursorPages {
    /// The cursor for the next page; `None` on the last page (no `next`, or a null or empty `starting_after`).
    pub fn next_cursor(&self) -> Option<&str> {
        self.next.as_ref()?.starting_after.as_deref().filter(|cursor| !cursor.is_empty())
    }

    /// The next page number for page-numbered endpoints (`POST /companies/list`): `next.page`, else the `page`
    /// parameter of a `next` link, else `page + 1` while `page < total_pages`. `None` on the last page.
    pub fn next_page_number(&self) -> Option<i64> {
        let linked =
            self.next.as_ref().and_then(|next| next.page.or_else(|| next.url.as_deref().and_then(page_parameter)));
        if linked.is_some() {
            return linked;
        }
        match (self.page, self.total_pages) {
            (Some(page), Some(total)) if page < total => Some(page + 1),
            _ => None,
        }
    }
}

/// `pages_link`: the paging block of page-numbered responses (`GET /conversations/deleted`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct PagesLink {
    #[serde(default, deserialize_with = "de::opt_int")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub per_page: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_pages: Option<i64>,
    /// The full URL of the next page, e.g. `https://api.intercom.io/conversations/deleted?per_page=2&page=2`;
    /// absent or null on the last page.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub next: Option<String>,
}

impl PagesLink {
    /// The next page number: the `page` parameter of `next`, or `page + 1` when `next` has none. `None` when
    /// there is no `next` link (the spec: "A response that does not contain a next link does not have further
    /// data to fetch").
    pub fn next_page_number(&self) -> Option<i64> {
        let next = self.next.as_deref().filter(|url| !url.is_empty())?;
        page_parameter(next).or_else(|| Some(self.page.unwrap_or(1) + 1))
    }
}

/// The `page` query parameter of a URL.
fn page_parameter(url: &str) -> Option<i64> {
    let (_, query) = url.split_once('?')?;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| pair.strip_prefix("page=")).and_then(|page| page.parse().ok())
}

// ---------------------------------------------------------------------------------------------------------------
// Conversations
// ---------------------------------------------------------------------------------------------------------------

/// `conversation` (from `GET /conversations/{id}`) and `conversation_list_item` (from list and search, which never
/// carry `conversation_parts`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Conversation {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "de::timestamp")]
    pub created_at: i64,
    #[serde(default, deserialize_with = "de::timestamp")]
    pub updated_at: i64,
    /// Null when the last reply is from an admin.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub waiting_since: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub snoozed_until: Option<i64>,
    #[serde(default, deserialize_with = "de::flag")]
    pub open: bool,
    /// open | closed | snoozed.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub read: bool,
    /// none | low | medium | high | urgent in 2.16; priority | not_priority before. Kept as sent; the conversion
    /// maps it.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub priority: Option<String>,
    /// An integer in the JSON, `0` when unassigned (which becomes `None`).
    #[serde(default, deserialize_with = "de::assignee_id")]
    pub admin_assignee_id: Option<String>,
    /// An integer in the JSON, `0` when unassigned (which becomes `None`).
    #[serde(default, deserialize_with = "de::assignee_id")]
    pub team_assignee_id: Option<String>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub contacts: Option<ContactRefList>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub teammates: Option<TeammateList>,
    #[serde(default)]
    pub tags: Option<TagRefList>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub conversation_rating: Option<ConversationRating>,
    #[serde(default)]
    pub statistics: Option<Statistics>,
    /// Only from `GET /conversations/{id}`; at most the 500 most recent parts.
    #[serde(default)]
    pub conversation_parts: Option<ConversationPartList>,
    #[serde(default, deserialize_with = "de::opt_flag")]
    pub ai_agent_participated: Option<bool>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub ai_agent: Option<AiAgent>,
    #[serde(default, deserialize_with = "de::opt_flag")]
    pub sales_agent_participated: Option<bool>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub channel: Option<Channel>,
    /// Key-value pairs; values may be strings, numbers, dates or lists of custom-object instances.
    #[serde(default)]
    pub custom_attributes: Option<Value>,
    /// The spec references the full `company` schema; real payloads may carry only `{type, id}`.
    #[serde(default, deserialize_with = "de::lenient")]
    pub company: Option<Company>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub first_contact_reply: Option<FirstContactReply>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub sla_applied: Option<SlaApplied>,
}

/// `conversation_source`: the message that started the conversation.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Source {
    /// conversation, email, facebook, instagram, phone_call, push, sms, twitter, whatsapp, ...
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub id: Option<String>,
    /// e.g. admin_initiated, customer_initiated, operator_initiated.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub delivered_as: Option<String>,
    /// HTML in REST responses; often `""`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub subject: Option<String>,
    /// HTML in REST responses.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub body: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default, deserialize_with = "de::or_default")]
    pub attachments: Vec<Attachment>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub redacted: bool,
}

/// The author of a source or part (`conversation_source_author`, `conversation_part_author`). The source author's
/// id is nullable in the spec, so `id` is optional here.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Author {
    /// admin, user, lead, bot, team, ...
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_flag")]
    pub from_ai_agent: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_flag")]
    pub is_ai_answer: Option<bool>,
}

/// `reference`: `{type, id}` pointing at an admin, contact, team, ... (`id` is nullable in the spec).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub id: Option<String>,
}

/// `part_attachment`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub content_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub filesize: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub width: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub height: Option<i64>,
}

/// `conversation_contacts`: `{type: "contact.list", contacts: [...]}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ContactRefList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub contacts: Vec<ContactRef>,
}

/// `contact_reference`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ContactRef {
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub external_id: Option<String>,
}

/// `conversation_teammates` (nullable): `{type: "admin.list", teammates: [reference]}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TeammateList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub teammates: Vec<Reference>,
}

/// `tags` on a conversation or company: `{type: "tag.list", tags: [...]}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TagRefList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub tags: Vec<Tag>,
}

/// `conversation_rating` (nullable).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ConversationRating {
    /// 1 to 5.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub rating: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub remark: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_at: Option<i64>,
    /// The contact who rated (`contact_reference`).
    #[serde(default, deserialize_with = "de::lenient")]
    pub contact: Option<Reference>,
    /// The teammate who was rated (`reference`).
    #[serde(default, deserialize_with = "de::lenient")]
    pub teammate: Option<Reference>,
}

/// `conversation_statistics` (nullable; every field may be null or missing in practice).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Statistics {
    #[serde(default, deserialize_with = "de::opt_int")]
    pub time_to_assignment: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub time_to_admin_reply: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub time_to_first_close: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub time_to_last_close: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub median_time_to_reply: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub handling_time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub adjusted_handling_time: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub first_contact_reply_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub first_assignment_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub first_admin_reply_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub first_close_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_assignment_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_assignment_admin_reply_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_contact_reply_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_admin_reply_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_close_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub last_closed_by_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub count_reopens: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub count_assignments: Option<i64>,
    /// How many parts the conversation has in all; more than the parts returned means the list was cut at 500.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub count_conversation_parts: Option<i64>,
    #[serde(default, deserialize_with = "de::or_default")]
    pub assigned_team_first_response_time: Vec<TeamResponseTime>,
    #[serde(default, deserialize_with = "de::or_default")]
    pub assigned_team_first_response_time_in_office_hours: Vec<TeamResponseTime>,
}

/// `conversation_response_time`: one team's first response time.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TeamResponseTime {
    #[serde(default, deserialize_with = "de::opt_id")]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub team_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub response_time: Option<i64>,
}

/// `conversation_channel` (nullable).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Channel {
    /// The channel the conversation started on, e.g. messenger, email, twitter.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub initial: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub current: Option<String>,
}

/// `ai_agent` (nullable): what Fin did in the conversation.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AiAgent {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub source_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub source_title: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub last_answer_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub resolution_state: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub rating: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub rating_remark: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_at: Option<i64>,
}

/// `conversation_first_contact_reply` (nullable).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct FirstContactReply {
    #[serde(default, deserialize_with = "de::opt_int")]
    pub created_at: Option<i64>,
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub url: Option<String>,
}

/// `sla_applied` (nullable).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct SlaApplied {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub sla_name: Option<String>,
    /// hit | missed | cancelled | active.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub sla_status: Option<String>,
}

/// `conversation_parts`: `{type: "conversation_part.list", conversation_parts: [...], total_count}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ConversationPartList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub conversation_parts: Vec<ConversationPart>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
}

/// `conversation_part`: a reply, note or event in a conversation.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ConversationPart {
    /// A string in the schema, an integer in the spec's `retrieveConversation` example.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// comment, note, open, close, snoozed, assignment, ...: open-ended, so not an enum.
    #[serde(default, deserialize_with = "de::text")]
    pub part_type: String,
    /// HTML; null for events.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "de::timestamp")]
    pub created_at: i64,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub notified_at: Option<i64>,
    #[serde(default)]
    pub author: Option<Author>,
    /// Who the conversation was assigned to by this part (nullable).
    #[serde(default, deserialize_with = "de::lenient")]
    pub assigned_to: Option<Reference>,
    #[serde(default, deserialize_with = "de::or_default")]
    pub attachments: Vec<Attachment>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub redacted: bool,
    /// The conversation's state when the part was created.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub state: Option<String>,
    /// `tag_basic` items (nullable list).
    #[serde(default, deserialize_with = "de::or_default")]
    pub tags: Vec<Tag>,
    /// Set when the part was created through the API.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub app_package_code: Option<String>,
}

/// `conversation_list`: `GET /conversations` and `POST /conversations/search`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ConversationPage {
    #[serde(default, deserialize_with = "de::or_default")]
    pub conversations: Vec<Conversation>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
    #[serde(default)]
    pub pages: Option<CursorPages>,
}

/// `deleted_conversation_item`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct DeletedConversation {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub deleted_at: Option<i64>,
    /// Whether reporting metrics were kept after deletion.
    #[serde(default, deserialize_with = "de::opt_flag")]
    pub metrics_retained: Option<bool>,
}

/// `deleted_conversation_list`: `GET /conversations/deleted` (new in 2.16), paged by page number.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct DeletedConversationPage {
    /// The spec (schema and example) calls this list `conversations`; `data` is accepted too.
    #[serde(default, rename = "conversations", alias = "data", deserialize_with = "de::or_default")]
    pub data: Vec<DeletedConversation>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
    #[serde(default)]
    pub pages: Option<PagesLink>,
}

// ---------------------------------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------------------------------

/// `contact`: a user or lead.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Contact {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub workspace_id: Option<String>,
    /// user | lead.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub role: Option<String>,
    /// Your own id for the contact; numbers are accepted and printed.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email_domain: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub phone: Option<String>,
    /// A string in 2.16, an integer before.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub has_hard_bounced: bool,
    #[serde(default, deserialize_with = "de::flag")]
    pub marked_email_as_spam: bool,
    #[serde(default, deserialize_with = "de::flag")]
    pub unsubscribed_from_emails: bool,
    #[serde(default, deserialize_with = "de::timestamp")]
    pub created_at: i64,
    #[serde(default, deserialize_with = "de::timestamp")]
    pub updated_at: i64,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub signed_up_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_seen_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_replied_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_contacted_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_email_opened_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_email_clicked_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub language_override: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub browser: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub browser_version: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub browser_language: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub os: Option<String>,
    /// The avatar image URL (the JSON has an object `{type: "avatar", image_url}`).
    #[serde(default, deserialize_with = "de::avatar_url")]
    pub avatar: Option<String>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub location: Option<Location>,
    /// At most 10; follow `url` when `has_more`.
    #[serde(default, deserialize_with = "de::lenient")]
    pub companies: Option<AddressableList>,
    /// At most 10; follow `url` when `has_more`.
    #[serde(default, deserialize_with = "de::lenient")]
    pub tags: Option<AddressableList>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub notes: Option<AddressableList>,
    #[serde(default)]
    pub custom_attributes: Option<Value>,
}

/// `contact_location`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Location {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub city: Option<String>,
    /// Not in the schema, but in the examples.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub country_code: Option<String>,
    /// Not in the schema, but in the examples.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub continent_code: Option<String>,
}

/// A contact's `tags`, `companies` or `notes`: `{data: [{type, id, url}], url, total_count, has_more}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AddressableList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub data: Vec<AddressableRef>,
    /// Where the full list is, e.g. `/contacts/{id}/tags`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "de::flag")]
    pub has_more: bool,
}

impl AddressableList {
    /// Whether `data` holds the whole list. Intercom embeds at most 10 items; past that the full list must be
    /// fetched from `url`.
    pub fn is_complete(&self) -> bool {
        let total = self.total_count.and_then(|total| usize::try_from(total).ok());
        !self.has_more && total.is_none_or(|total| total <= self.data.len())
    }
}

/// `addressable_list` item / `company_data`: `{type, id, url}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AddressableRef {
    #[serde(rename = "type", default, deserialize_with = "de::opt_text")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub url: Option<String>,
}

/// `contact_list`: `GET /contacts` and `POST /contacts/search`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ContactPage {
    #[serde(default, deserialize_with = "de::or_default")]
    pub data: Vec<Contact>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
    #[serde(default)]
    pub pages: Option<CursorPages>,
}

// ---------------------------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------------------------

/// `company`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Company {
    /// Intercom's id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// The workspace's own id for the company.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub company_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub app_id: Option<String>,
    /// The plan's name (the JSON has an object `{type: "plan", id, name}`, `{}` when there is none).
    #[serde(default, deserialize_with = "de::plan_name")]
    pub plan: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub website: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub industry: Option<String>,
    /// An integer in the spec, but it is money; fractions are kept.
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub monthly_spend: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub user_count: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub session_count: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub updated_at: Option<i64>,
    /// When the company was created in the workspace's own system.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub remote_created_at: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub last_request_at: Option<i64>,
    #[serde(default)]
    pub custom_attributes: Option<Value>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub tags: Option<TagRefList>,
}

/// `company_scroll`: `GET /companies/scroll`. The end is an empty `data`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CompanyScroll {
    #[serde(default, deserialize_with = "de::or_default")]
    pub data: Vec<Company>,
    /// Pass back to get the next batch; expires after a minute unused.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub scroll_param: Option<String>,
    /// Null in scroll responses.
    #[serde(default)]
    pub pages: Option<CursorPages>,
    /// Null in scroll responses.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
}

/// `company_list` (`POST /companies/list`) and `contact_attached_companies` (`GET /contacts/{id}/companies`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CompanyList {
    /// `data` in `company_list` and in both examples; `companies` in the `contact_attached_companies` schema.
    #[serde(default, alias = "companies", deserialize_with = "de::or_default")]
    pub data: Vec<Company>,
    /// `cursor_pages`, or a `pages_link` whose `next` is a URL (see [`NextPage::url`]).
    #[serde(default)]
    pub pages: Option<CursorPages>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub total_count: Option<i64>,
}

// ---------------------------------------------------------------------------------------------------------------
// Admins, teams, tags
// ---------------------------------------------------------------------------------------------------------------

/// `admin` (`GET /admins`, `GET /admins/{id}`) and `admin_with_app` (`GET /me`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Admin {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub job_title: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub away_mode_enabled: bool,
    #[serde(default, deserialize_with = "de::flag")]
    pub away_mode_reassign: bool,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub away_status_reason_id: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub has_inbox_seat: bool,
    /// Integers in the JSON.
    #[serde(default, deserialize_with = "de::id_list")]
    pub team_ids: Vec<String>,
    /// The avatar image URL: a string in the `admin` schema, an object `{type: "avatar", image_url}` from `/me`
    /// and with `display_avatar=true`.
    #[serde(default, deserialize_with = "de::avatar_url")]
    pub avatar: Option<String>,
    /// Only from `/me`.
    #[serde(default, deserialize_with = "de::opt_flag")]
    pub email_verified: Option<bool>,
}

/// `admin_list`: `GET /admins` (not paginated).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct AdminList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub admins: Vec<Admin>,
}

/// `team`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Team {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Integers in the JSON.
    #[serde(default, deserialize_with = "de::id_list")]
    pub admin_ids: Vec<String>,
    /// Only for load-balanced teams.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub assignment_limit: Option<i64>,
    /// e.g. round_robin.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub distribution_method: Option<String>,
}

/// `team_list`: `GET /teams` (not paginated).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TeamList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub teams: Vec<Team>,
}

/// `tag` / `tag_basic`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Tag {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// Only when the tag comes back from a tagging operation (or on a conversation).
    #[serde(default, deserialize_with = "de::opt_int")]
    pub applied_at: Option<i64>,
    #[serde(default, deserialize_with = "de::lenient")]
    pub applied_by: Option<Reference>,
}

/// `tag_list`: `GET /tags` (not paginated) and `GET /contacts/{id}/tags`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct TagList {
    #[serde(default, deserialize_with = "de::or_default")]
    pub data: Vec<Tag>,
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/// `error`: the body of a failed request, `{type: "error.list", request_id, errors: [{code, message, field}]}`.
///
/// A few endpoints answer in other shapes, which are read too so that their message is not lost: `errors` as an
/// object of field -> message (`/fin/csat`), or a single top-level `message` (`type: "error"`, or with `error_key`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub request_id: Option<String>,
    #[serde(default, deserialize_with = "error_items")]
    pub errors: Vec<ErrorItem>,
    /// The message of a body that is not an error list.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub message: Option<String>,
    /// The code of a body that is not an error list (`{error_key, message}`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub error_key: Option<String>,
}

/// One error of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ErrorItem {
    /// e.g. unauthorized, forbidden, not_found, rate_limit_exceeded, contact_merged; `""` when the body had none.
    #[serde(default, deserialize_with = "de::text")]
    pub code: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub message: Option<String>,
    /// The request field or parameter in error.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub field: Option<String>,
}

/// `errors` as a list of error objects (items that are not objects are skipped), or as an object of
/// field -> message.
fn error_items<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<ErrorItem>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect(),
        Value::Object(fields) => fields
            .into_iter()
            .map(|(field, message)| ErrorItem {
                code: String::new(),
                message: match message {
                    Value::String(text) => Some(text),
                    Value::Null => None,
                    other => Some(other.to_string()),
                },
                field: Some(field),
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;

    fn parse<T: DeserializeOwned>(value: Value) -> T {
        match serde_json::from_value(value) {
            Ok(parsed) => parsed,
            Err(error) => panic!("did not deserialize: {error}"),
        }
    }

    #[test]
    fn next_cursor_is_none_without_next_or_with_an_empty_cursor() {
        let pages: CursorPages = parse(json!({"type": "pages", "page": 1, "per_page": 20, "total_pages": 1}));
        assert_eq!(pages.next_cursor(), None);
        let pages: CursorPages = parse(json!({"next": {"per_page": 2, "starting_after": null}}));
        assert_eq!(pages.next_cursor(), None);
        let pages: CursorPages = parse(json!({"next": {"starting_after": ""}}));
        assert_eq!(pages.next_cursor(), None);
        let pages: CursorPages = parse(json!({"next": null}));
        assert_eq!(pages.next_cursor(), None);
        let pages: CursorPages = parse(json!({"next": {"page": 2, "starting_after": "WzE2NjM1OTcyNjAsMV0="}}));
        assert_eq!(pages.next_cursor(), Some("WzE2NjM1OTcyNjAsMV0="));
        assert_eq!(pages.next_page_number(), Some(2));
    }

    #[test]
    fn next_page_may_be_a_link() {
        let pages: CursorPages = parse(json!({"page": 1, "total_pages": 3, "next": "https://x/c?per_page=50&page=2"}));
        assert_eq!(pages.next_cursor(), None);
        assert_eq!(pages.next.as_ref().and_then(|next| next.url.as_deref()), Some("https://x/c?per_page=50&page=2"));
        assert_eq!(pages.next_page_number(), Some(2));
        let pages: CursorPages = parse(json!({"page": 2, "total_pages": 3, "next": null}));
        assert_eq!(pages.next_page_number(), Some(3));
        let pages: CursorPages = parse(json!({"page": 3, "total_pages": 3}));
        assert_eq!(pages.next_page_number(), None);
    }

    #[test]
    fn pages_link_next_page_number() {
        let link: PagesLink = parse(
            json!({"page": 1, "next": "https://api.intercom.io/conversations/deleted?per_page=2&order=desc&page=2"}),
        );
        assert_eq!(link.next_page_number(), Some(2));
        let link: PagesLink = parse(json!({"page": 4, "next": "https://api.intercom.io/conversations/deleted"}));
        assert_eq!(link.next_page_number(), Some(5));
        let link: PagesLink = parse(json!({"page": 2, "total_pages": 2, "next": null}));
        assert_eq!(link.next_page_number(), None);
    }

    #[test]
    fn deleted_conversations_are_listed_under_conversations_or_data() {
        let page: DeletedConversationPage =
            parse(json!({"conversations": [{"id": 512, "deleted_at": "1734537460", "metrics_retained": false}]}));
        assert_eq!(page.data.len(), 1);
        assert_eq!(page.data[0].id, "512");
        assert_eq!(page.data[0].deleted_at, Some(1734537460));
        let page: DeletedConversationPage = parse(json!({"data": [{"id": "513"}]}));
        assert_eq!(page.data[0].id, "513");
    }

    #[test]
    fn a_bare_conversation_needs_only_an_id() {
        let conversation: Conversation = parse(json!({"id": 7}));
        assert_eq!(conversation.id, "7");
        assert_eq!(conversation.created_at, 0);
        assert!(conversation.conversation_parts.is_none());
        assert!(serde_json::from_value::<Conversation>(json!({"title": "no id"})).is_err());
        assert!(serde_json::from_value::<Conversation>(json!({"id": null})).is_err());
    }

    #[test]
    fn nulls_everywhere_are_tolerated() {
        let conversation: Conversation = parse(json!({
            "id": "1", "title": null, "created_at": null, "updated_at": null, "open": null, "read": null,
            "state": null, "priority": null, "admin_assignee_id": null, "team_assignee_id": null, "source": null,
            "contacts": {"type": "contact.list", "contacts": null}, "teammates": null, "tags": {"tags": null},
            "conversation_rating": null, "statistics": null, "conversation_parts": {"conversation_parts": null},
            "ai_agent_participated": null, "channel": null, "custom_attributes": null, "company": null,
        }));
        assert_eq!(conversation.contacts, Some(ContactRefList::default()));
        assert_eq!(conversation.conversation_parts, Some(ConversationPartList::default()));
        let contact: Contact = parse(json!({
            "id": "c", "location": null, "companies": null, "tags": null, "avatar": null, "owner_id": null,
            "created_at": null, "has_hard_bounced": null,
        }));
        assert_eq!(contact.location, None);
    }

    #[test]
    fn odd_shapes_of_side_objects_become_none() {
        let conversation: Conversation = parse(json!({
            "id": "1", "channel": "messenger", "conversation_rating": [], "company": {"name": "no id"},
            "teammates": "x", "statistics": {"count_conversation_parts": "12", "time_to_assignment": "soon"},
        }));
        assert_eq!(conversation.channel, None);
        assert_eq!(conversation.conversation_rating, None);
        assert_eq!(conversation.company, None);
        assert_eq!(conversation.teammates, None);
        let statistics = conversation.statistics.unwrap_or_default();
        assert_eq!(statistics.count_conversation_parts, Some(12));
        assert_eq!(statistics.time_to_assignment, None);
    }

    #[test]
    fn addressable_list_completeness() {
        let list: AddressableList = parse(json!({"data": [{"type": "tag", "id": 1}], "total_count": 1}));
        assert!(list.is_complete());
        let list: AddressableList = parse(json!({"data": [], "total_count": 11, "has_more": false}));
        assert!(!list.is_complete());
        let list: AddressableList = parse(json!({"data": [], "has_more": true}));
        assert!(!list.is_complete());
    }

    #[test]
    fn error_body_tolerates_missing_parts() {
        let body: ErrorBody = parse(json!({"type": "error.list", "errors": [{"code": "not_found"}]}));
        assert_eq!(body.errors[0].code, "not_found");
        assert_eq!(body.errors[0].message, None);
        let body: ErrorBody = parse(json!({"errors": null, "request_id": null}));
        assert!(body.errors.is_empty());
        let body: ErrorBody = parse(json!({"errors": {"base": "No rating survey found"}}));
        assert_eq!(body.errors[0].field.as_deref(), Some("base"));
        assert_eq!(body.errors[0].message.as_deref(), Some("No rating survey found"));
        let body: ErrorBody = parse(json!({"type": "error", "request_id": "r", "message": "ruleset_id is required"}));
        assert_eq!(body.message.as_deref(), Some("ruleset_id is required"));
    }
}

//! The domain records the store reads and writes, modelled on Intercom's objects (API 2.16).
//!
//! Writers (the sync engine, the demo generator) hand the store `*Record`s with Intercom's HTML bodies; the store
//! derives the plain text that search and tools use. Readers get views shaped for answering questions.

use serde::{Deserialize, Serialize};

/// Intercom's conversation states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationState {
    Open,
    Closed,
    Snoozed,
}

impl ConversationState {
    pub const ALL: [Self; 3] = [Self::Open, Self::Closed, Self::Snoozed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Snoozed => "snoozed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// Intercom's conversation priority levels (API 2.16; older versions only had priority / not_priority).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Self; 5] = [Self::None, Self::Low, Self::Medium, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == text)
    }
}

/// Who wrote a message: Intercom's `author` object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    /// "admin", "user", "lead", "bot" or "team".
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Intercom's `conversation_statistics`; every field may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statistics {
    pub time_to_assignment: Option<i64>,
    pub time_to_admin_reply: Option<i64>,
    pub time_to_first_close: Option<i64>,
    pub time_to_last_close: Option<i64>,
    pub median_time_to_reply: Option<i64>,
    pub handling_time: Option<i64>,
    pub first_contact_reply_at: Option<i64>,
    pub first_assignment_at: Option<i64>,
    pub first_admin_reply_at: Option<i64>,
    pub first_close_at: Option<i64>,
    pub last_assignment_at: Option<i64>,
    pub last_contact_reply_at: Option<i64>,
    pub last_admin_reply_at: Option<i64>,
    pub last_close_at: Option<i64>,
    pub last_closed_by_id: Option<String>,
    pub count_reopens: Option<i64>,
    pub count_assignments: Option<i64>,
    pub count_conversation_parts: Option<i64>,
}

/// Intercom's `conversation_rating`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rating {
    /// 1 to 5.
    pub rating: Option<i64>,
    pub remark: Option<String>,
    pub created_at: Option<i64>,
    pub contact_id: Option<String>,
    pub teammate_id: Option<String>,
}

/// The first message of a conversation: Intercom's `source`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// "conversation", "email", "push", "chat", ...
    pub kind: String,
    pub id: Option<String>,
    pub delivered_as: Option<String>,
    /// Subject as Intercom sends it (HTML in REST responses); stored as plain text.
    pub subject: Option<String>,
    pub body_html: String,
    pub url: Option<String>,
    pub author: Author,
}

/// A conversation as a writer hands it to the store, with every part it has.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConversationRecord {
    pub id: String,
    pub title: Option<String>,
    pub state: Option<ConversationState>,
    pub open: bool,
    pub read: bool,
    pub priority: Option<Priority>,
    pub created_at: i64,
    pub updated_at: i64,
    pub waiting_since: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub admin_assignee_id: Option<String>,
    pub team_assignee_id: Option<String>,
    pub company_id: Option<String>,
    pub source: Source,
    pub contact_ids: Vec<String>,
    pub tag_ids: Vec<String>,
    pub rating: Option<Rating>,
    pub statistics: Statistics,
    pub parts: Vec<PartRecord>,
    /// Intercom returned fewer parts than the conversation has (it caps at 500).
    pub parts_truncated: bool,
    pub ai_agent_participated: Option<bool>,
    pub channel_initial: Option<String>,
    /// Custom attributes as a JSON object text.
    pub custom_attributes: Option<String>,
}

/// One conversation part as a writer hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartRecord {
    pub id: String,
    pub part_type: String,
    pub body_html: Option<String>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    pub notified_at: Option<i64>,
    pub author: Author,
    pub assigned_to_id: Option<String>,
    pub redacted: bool,
}

/// A contact (user or lead) as a writer hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactRecord {
    pub id: String,
    /// "user" or "lead".
    pub role: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub owner_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub signed_up_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub last_replied_at: Option<i64>,
    pub last_contacted_at: Option<i64>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub company_ids: Vec<String>,
    pub tag_ids: Vec<String>,
    pub custom_attributes: Option<String>,
}

/// A company as a writer hands it to the store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompanyRecord {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub plan: Option<String>,
    pub size: Option<i64>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub monthly_spend: Option<f64>,
    pub user_count: Option<i64>,
    pub session_count: Option<i64>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub remote_created_at: Option<i64>,
    pub last_request_at: Option<i64>,
}

/// A teammate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminRecord {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub away_mode_enabled: bool,
    pub has_inbox_seat: bool,
    pub team_ids: Vec<String>,
}

/// A team of admins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamRecord {
    pub id: String,
    pub name: String,
    pub admin_ids: Vec<String>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagRecord {
    pub id: String,
    pub name: String,
}

/// A conversation without its parts, as search returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    pub id: String,
    pub title: Option<String>,
    pub state: ConversationState,
    pub open: bool,
    pub read: bool,
    pub priority: Priority,
    pub created_at: i64,
    pub updated_at: i64,
    pub waiting_since: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub admin_assignee_id: Option<String>,
    pub team_assignee_id: Option<String>,
    pub source_type: String,
    pub subject: Option<String>,
    pub source_author: Author,
    /// The start of the first message, plain text.
    pub preview: String,
    pub contact_ids: Vec<String>,
    /// Tag names.
    pub tags: Vec<String>,
    pub rating: Option<i64>,
    /// bm25 relevance (higher is better), only for full-text searches.
    pub score: Option<f64>,
    pub statistics: Statistics,
}

/// One part of a conversation as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartView {
    pub id: String,
    pub part_type: String,
    pub body: Option<String>,
    pub author: Author,
    pub created_at: i64,
    pub assigned_to_id: Option<String>,
}

/// A whole conversation as readers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationDetail {
    pub summary: ConversationSummary,
    pub source_body: String,
    pub rating_remark: Option<String>,
    pub parts: Vec<PartView>,
    pub parts_truncated: bool,
}

/// A company reference on a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRef {
    pub id: String,
    pub name: String,
}

/// A contact as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    pub id: String,
    pub role: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub companies: Vec<CompanyRef>,
    pub tags: Vec<String>,
}

/// One page of results and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many items match in all: exact unless `total_is_estimate`.
    pub total: u64,
    /// Whether `total` was estimated rather than counted (a bounded search: see
    /// [`SearchEffort::Bounded`](super::SearchEffort::Bounded)).
    pub total_is_estimate: bool,
    /// In a bounded search in relevance order of a text with many matches: how many results, from the first,
    /// are ranked; the rest follow newest first. `None` when every match was ranked.
    pub ranked_matches: Option<u64>,
    pub next_cursor: Option<String>,
}

/// Where the local data came from and when it was last brought up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    pub last_synced_at: Option<i64>,
    /// "intercom", "demo" or "empty".
    pub source: String,
}

/// Row counts of the workspace tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub conversations: u64,
    pub parts: u64,
    pub contacts: u64,
    pub companies: u64,
    pub admins: u64,
    pub teams: u64,
    pub tags: u64,
}

//! Building the statements of a batch write without touching the database, so the CPU work of a bulk load
//! (plain text, arguments) can run on another thread while the writer executes the previous batch.
//!
//! What makes that possible: a conversation's rowid is its Intercom id. Intercom conversation ids are integers
//! (the API's path parameter is declared `integer`), so the rowid of every row a batch touches is known before
//! the batch runs, and no statement waits on another's result.

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite};

use super::model::{ConversationRecord, ConversationState, PartRecord, Priority};
use super::text::html_to_text;
use super::{Backend, StoreError, postgres, push_id_list};

/// SQLite's bound-parameter limit is 32,766; stay under it with room to spare.
pub(super) const MAX_BINDS_PER_STATEMENT: usize = 30_000;

/// A batch of conversations ready to write in one write transaction (see `WriteTx::apply`): SQLite statements
/// to run in order, or PostgreSQL's column arrays.
pub struct PreparedWrite(Prepared);

enum Prepared {
    Sqlite(Vec<QueryBuilder<Sqlite>>),
    Postgres(Box<postgres::write::ConversationBatch>),
}

impl PreparedWrite {
    /// The SQLite statements; an error when the batch was prepared for PostgreSQL.
    pub(super) fn into_sqlite(self) -> Result<Vec<QueryBuilder<Sqlite>>, StoreError> {
        match self.0 {
            Prepared::Sqlite(statements) => Ok(statements),
            Prepared::Postgres(_) => Err(wrong_backend()),
        }
    }

    /// The PostgreSQL batch; an error when the batch was prepared for SQLite.
    pub(super) fn into_postgres(self) -> Result<postgres::write::ConversationBatch, StoreError> {
        match self.0 {
            Prepared::Postgres(batch) => Ok(*batch),
            Prepared::Sqlite(_) => Err(wrong_backend()),
        }
    }
}

fn wrong_backend() -> StoreError {
    StoreError::Unsupported("internal error: a write was prepared for the other database")
}

impl std::fmt::Debug for PreparedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Prepared::Sqlite(statements) => write!(f, "PreparedWrite({} SQLite statements)", statements.len()),
            Prepared::Postgres(batch) => write!(f, "PreparedWrite({} PostgreSQL rows)", batch.len()),
        }
    }
}

const CONVERSATION_COLUMNS: [&str; 52] = [
    "rowid",
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
    "company_id",
    "source_type",
    "source_id",
    "source_delivered_as",
    "source_subject",
    "source_body_html",
    "source_body_text",
    "source_url",
    "source_author_type",
    "source_author_id",
    "source_author_name",
    "source_author_email",
    "rating",
    "rating_remark",
    "rating_created_at",
    "rating_contact_id",
    "rating_teammate_id",
    "time_to_assignment",
    "time_to_admin_reply",
    "time_to_first_close",
    "time_to_last_close",
    "median_time_to_reply",
    "handling_time",
    "first_contact_reply_at",
    "first_assignment_at",
    "first_admin_reply_at",
    "first_close_at",
    "last_assignment_at",
    "last_contact_reply_at",
    "last_admin_reply_at",
    "last_close_at",
    "last_closed_by_id",
    "count_reopens",
    "count_assignments",
    "count_conversation_parts",
    "parts_truncated",
    "ai_agent_participated",
    "channel_initial",
    "custom_attributes",
];

const PART_COLUMNS: [&str; 14] = [
    "conversation_rowid",
    "id",
    "part_type",
    "body_html",
    "body_text",
    "created_at",
    "updated_at",
    "notified_at",
    "author_type",
    "author_id",
    "author_name",
    "author_email",
    "assigned_to_id",
    "redacted",
];

/// The rowid of a conversation: its Intercom id, which must be a canonical positive integer.
pub(super) fn conversation_rowid(id: &str) -> Result<i64, StoreError> {
    id.parse::<i64>()
        .ok()
        .filter(|rowid| *rowid > 0 && rowid.to_string() == id)
        .ok_or_else(|| StoreError::InvalidArgument(format!("conversation id {id:?} is not a positive integer")))
}

/// Builds every statement that writes `conversations` (the last record of each id wins): the rows, their
/// contact and tag links, their parts (upserted by part id, so parts stored earlier and no longer returned —
/// Intercom returns only the latest 500 — are kept) and their full-text documents.
pub fn prepare_conversations(
    backend: Backend,
    conversations: &[ConversationRecord],
) -> Result<PreparedWrite, StoreError> {
    prepare(backend, conversations, Stored::Maybe)
}

/// [`prepare_conversations`] for conversations none of which is stored yet (a store's first demo workspace):
/// the same rows without the statements that clear what an earlier version left (search documents, links),
/// which would find nothing. Should one be stored after all, its row collides and the write fails; nothing is
/// written twice.
pub fn prepare_new_conversations(
    backend: Backend,
    conversations: &[ConversationRecord],
) -> Result<PreparedWrite, StoreError> {
    prepare(backend, conversations, Stored::No)
}

/// Whether a write may replace stored conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Maybe,
    No,
}

impl Stored {
    /// The end of an insert: an upsert on `key` when rows may be stored already, nothing otherwise (an upsert
    /// looks each key up before inserting it, a plain insert only once).
    fn upsert_tail(self, key: &str, columns: &[&str]) -> String {
        match self {
            Self::Maybe => upsert_tail(key, columns),
            Self::No => String::new(),
        }
    }
}

fn prepare(
    backend: Backend,
    conversations: &[ConversationRecord],
    stored: Stored,
) -> Result<PreparedWrite, StoreError> {
    let conversations = last_of_each(conversations, |c| &c.id);
    let rowids: Vec<i64> = conversations.iter().map(|c| conversation_rowid(&c.id)).collect::<Result<_, _>>()?;
    if backend == Backend::Postgres {
        let texts: Vec<ConversationText> = conversations.iter().map(|c| ConversationText::of(c)).collect();
        let batch = postgres::write::ConversationBatch::new(&conversations, &rowids, &texts);
        return Ok(PreparedWrite(Prepared::Postgres(Box::new(batch))));
    }
    let mut statements = Vec::new();
    if conversations.is_empty() {
        return Ok(PreparedWrite(Prepared::Sqlite(statements)));
    }

    // Search documents are rewritten whole: first drop those of the conversations already stored (this runs
    // before the rows are upserted), then insert every document fresh, which is much cheaper than INSERT OR
    // REPLACE.
    if stored == Stored::Maybe {
        let mut delete = QueryBuilder::<Sqlite>::new(
            "DELETE FROM conversation_fts WHERE rowid IN (SELECT rowid FROM conversations WHERE rowid IN (",
        );
        push_id_list(&mut delete, &rowids);
        delete.push("))");
        statements.push(delete);
    }

    // Plain text of every body, derived once for the rows and for the search documents.
    let texts: Vec<ConversationText> = conversations.iter().map(|c| ConversationText::of(c)).collect();
    let rows: Vec<(i64, &ConversationRecord, &ConversationText)> =
        rowids.iter().zip(&conversations).zip(&texts).map(|((rowid, c), text)| (*rowid, *c, text)).collect();
    let (head, tail) =
        (insert_head("conversations", &CONVERSATION_COLUMNS), stored.upsert_tail("rowid", &CONVERSATION_COLUMNS));
    statements.extend(values_statements(&head, CONVERSATION_COLUMNS.len(), &tail, &rows, |row, (rowid, c, text)| {
        let stats = &c.statistics;
        let rating = c.rating.clone().unwrap_or_default();
        row.push_bind(*rowid)
            .push_bind(c.id.clone())
            .push_bind(c.title.clone())
            .push_bind(c.state.unwrap_or(ConversationState::Open).as_str())
            .push_bind(c.open)
            .push_bind(c.read)
            .push_bind(c.priority.unwrap_or(Priority::None).as_str())
            .push_bind(c.created_at)
            .push_bind(c.updated_at)
            .push_bind(c.waiting_since)
            .push_bind(c.snoozed_until)
            .push_bind(c.admin_assignee_id.clone())
            .push_bind(c.team_assignee_id.clone())
            .push_bind(c.company_id.clone())
            .push_bind(c.source.kind.clone())
            .push_bind(c.source.id.clone())
            .push_bind(c.source.delivered_as.clone())
            .push_bind(text.subject.clone())
            .push_bind(c.source.body_html.clone())
            .push_bind(text.source_body.clone())
            .push_bind(c.source.url.clone())
            .push_bind(c.source.author.kind.clone())
            .push_bind(c.source.author.id.clone())
            .push_bind(c.source.author.name.clone())
            .push_bind(c.source.author.email.clone())
            .push_bind(rating.rating)
            .push_bind(rating.remark)
            .push_bind(rating.created_at)
            .push_bind(rating.contact_id)
            .push_bind(rating.teammate_id)
            .push_bind(stats.time_to_assignment)
            .push_bind(stats.time_to_admin_reply)
            .push_bind(stats.time_to_first_close)
            .push_bind(stats.time_to_last_close)
            .push_bind(stats.median_time_to_reply)
            .push_bind(stats.handling_time)
            .push_bind(stats.first_contact_reply_at)
            .push_bind(stats.first_assignment_at)
            .push_bind(stats.first_admin_reply_at)
            .push_bind(stats.first_close_at)
            .push_bind(stats.last_assignment_at)
            .push_bind(stats.last_contact_reply_at)
            .push_bind(stats.last_admin_reply_at)
            .push_bind(stats.last_close_at)
            .push_bind(stats.last_closed_by_id.clone())
            .push_bind(stats.count_reopens)
            .push_bind(stats.count_assignments)
            .push_bind(stats.count_conversation_parts)
            .push_bind(c.parts_truncated)
            .push_bind(c.ai_agent_participated)
            .push_bind(c.channel_initial.clone())
            .push_bind(c.custom_attributes.clone());
    }));

    // Links are replaced wholesale: Intercom always sends the full lists.
    let replaced_links: &[&str] = match stored {
        Stored::Maybe => &["conversation_contacts", "conversation_tags"],
        Stored::No => &[],
    };
    for table in replaced_links {
        let mut delete = QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE conversation_rowid IN ("));
        push_id_list(&mut delete, &rowids);
        delete.push(")");
        statements.push(delete);
    }
    let contact_links: Vec<(i64, &str, i64)> = conversations
        .iter()
        .zip(&rowids)
        .flat_map(|(c, rowid)| dedup(&c.contact_ids).into_iter().enumerate().map(move |(i, id)| (*rowid, id, i as i64)))
        .collect();
    statements.extend(values_statements(
        "INSERT INTO conversation_contacts (conversation_rowid, contact_id, position) ",
        3,
        "",
        &contact_links,
        |row, (rowid, id, position)| {
            row.push_bind(*rowid).push_bind(id.to_string()).push_bind(*position);
        },
    ));
    // A tag's rows carry the conversation's state and dates, so that a page of one tag is walked and counted in
    // the tag's index (migration 0007); they are written with the conversation's row, so they never disagree.
    let tag_links: Vec<(i64, &str, &ConversationRecord)> = conversations
        .iter()
        .zip(&rowids)
        .flat_map(|(c, rowid)| dedup(&c.tag_ids).into_iter().map(move |id| (*rowid, id, *c)))
        .collect();
    statements.extend(values_statements(
        "INSERT INTO conversation_tags (conversation_rowid, tag_id, state, created_at, updated_at) ",
        5,
        "",
        &tag_links,
        |row, (rowid, id, c)| {
            row.push_bind(*rowid)
                .push_bind(id.to_string())
                .push_bind(c.state.unwrap_or(ConversationState::Open).as_str())
                .push_bind(c.created_at)
                .push_bind(c.updated_at);
        },
    ));

    let parts: Vec<(i64, &PartRecord, &Option<String>)> = rows
        .iter()
        .flat_map(|(rowid, c, text)| c.parts.iter().zip(&text.parts).map(move |(part, body)| (*rowid, part, body)))
        .collect();
    let (head, tail) = (
        insert_head("conversation_parts", &PART_COLUMNS),
        stored.upsert_tail("conversation_rowid, id", &PART_COLUMNS[2..]),
    );
    statements.extend(values_statements(&head, PART_COLUMNS.len(), &tail, &parts, |row, (rowid, part, body)| {
        row.push_bind(*rowid)
            .push_bind(part.id.clone())
            .push_bind(part.part_type.clone())
            .push_bind(part.body_html.clone())
            .push_bind((*body).clone())
            .push_bind(part.created_at)
            .push_bind(part.updated_at)
            .push_bind(part.notified_at)
            .push_bind(part.author.kind.clone())
            .push_bind(part.author.id.clone())
            .push_bind(part.author.name.clone())
            .push_bind(part.author.email.clone())
            .push_bind(part.assigned_to_id.clone())
            .push_bind(part.redacted);
    }));

    // One full-text document per conversation. A conversation Intercom truncated may have older parts stored
    // that this record lacks, so its document is rebuilt from the table; the others from the record.
    let (truncated, complete): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, c, _)| c.parts_truncated);
    statements.extend(values_statements(
        "INSERT INTO conversation_fts (rowid, subject, body) ",
        3,
        "",
        &complete,
        |row, (rowid, _, text)| {
            row.push_bind(*rowid).push_bind(text.subject.clone().unwrap_or_default()).push_bind(text.document());
        },
    ));
    if !truncated.is_empty() {
        let truncated: Vec<i64> = truncated.iter().map(|(rowid, _, _)| *rowid).collect();
        let mut index = QueryBuilder::<Sqlite>::new(
            "INSERT INTO conversation_fts (rowid, subject, body) \
             SELECT c.rowid, coalesce(c.source_subject, ''), c.source_body_text || char(10) || \
             coalesce((SELECT group_concat(p.body_text, char(10)) FROM conversation_parts p \
             WHERE p.conversation_rowid = c.rowid), '') FROM conversations c WHERE c.rowid IN (",
        );
        push_id_list(&mut index, &truncated);
        index.push(")");
        statements.push(index);
    }
    Ok(PreparedWrite(Prepared::Sqlite(statements)))
}

/// One multi-row `INSERT ... VALUES` per chunk of `rows`, `columns` values per row, followed by `tail`.
pub(super) fn values_statements<T>(
    head: &str,
    columns: usize,
    tail: &str,
    rows: &[T],
    mut push_row: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> Vec<QueryBuilder<Sqlite>> {
    rows.chunks((MAX_BINDS_PER_STATEMENT / columns).max(1))
        .map(|chunk| {
            let mut query = QueryBuilder::<Sqlite>::new(head);
            query.push_values(chunk, |mut row, item| push_row(&mut row, item));
            query.push(tail);
            query
        })
        .collect()
}

/// `ON CONFLICT (key) DO UPDATE SET c = excluded.c, ...` for every column but the key.
pub(super) fn upsert_tail(key: &str, columns: &[&str]) -> String {
    let sets: Vec<String> =
        columns.iter().filter(|column| **column != key).map(|column| format!("{column} = excluded.{column}")).collect();
    format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", "))
}

pub(super) fn insert_head(table: &str, columns: &[&str]) -> String {
    format!("INSERT INTO {table} ({}) ", columns.join(", "))
}

/// The plain text of one conversation's bodies.
pub(super) struct ConversationText {
    pub(super) subject: Option<String>,
    pub(super) source_body: String,
    /// One entry per part of the record, in its order.
    pub(super) parts: Vec<Option<String>>,
}

impl ConversationText {
    fn of(conversation: &ConversationRecord) -> Self {
        Self {
            subject: conversation.source.subject.as_deref().map(html_to_text),
            source_body: html_to_text(&conversation.source.body_html),
            parts: conversation.parts.iter().map(|part| part.body_html.as_deref().map(html_to_text)).collect(),
        }
    }

    /// The full-text document body: the first message and every part's text, one per line.
    pub(super) fn document(&self) -> String {
        let mut document = self.source_body.clone();
        for part in self.parts.iter().flatten().filter(|text| !text.is_empty()) {
            document.push('\n');
            document.push_str(part);
        }
        document
    }
}

/// The last record of each id, in order of those last occurrences. A multi-row upsert cannot touch one row twice,
/// and a later record of the same object (Intercom pages can repeat one) is the newer one.
pub(super) fn last_of_each<T>(records: &[T], id: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    let mut kept: Vec<&T> = records.iter().rev().filter(|record| seen.insert(id(record))).collect();
    kept.reverse();
    kept
}

/// The distinct values of `ids`, first occurrence first (Intercom lists may repeat an id).
pub(super) fn dedup(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

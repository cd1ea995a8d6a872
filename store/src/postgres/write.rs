//! Batched writes on PostgreSQL: every table's rows go in as one `INSERT ... SELECT FROM UNNEST(arrays)` per
//! batch, one array per column, so a statement's text (and its prepared plan, which sqlx keeps per connection)
//! is the same for any number of rows, and every value is a bound parameter.

use std::collections::HashMap;

use sqlx::{PgConnection, Postgres, Row as _, Transaction};

use super::document::Stems;
use super::{without_nul, words};
use crate::Result;
use crate::model::{AdminRecord, CompanyRecord, ContactRecord, ConversationRecord, TagRecord, TeamRecord};
use crate::model::{ConversationState, Priority};
use crate::prepare::{ConversationText, dedup, last_of_each};

type Tx = Transaction<'static, Postgres>;

/// `<column> = excluded.<column>` for each column, for an upsert's `DO UPDATE SET`.
fn set_excluded(columns: &[&str]) -> String {
    columns.iter().map(|column| format!("{column} = excluded.{column}")).collect::<Vec<_>>().join(", ")
}

/// Columns of `conversations` written from text values, in the order of [`ConversationBatch::texts`].
const CONVERSATION_TEXTS: [&str; 23] = [
    "id",
    "title",
    "state",
    "priority",
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
    "rating_remark",
    "rating_contact_id",
    "rating_teammate_id",
    "last_closed_by_id",
    "channel_initial",
];

/// Columns written from integers, in the order of [`ConversationBatch::integers`].
const CONVERSATION_INTEGERS: [&str; 23] = [
    "created_at",
    "updated_at",
    "waiting_since",
    "snoozed_until",
    "rating",
    "rating_created_at",
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
    "count_reopens",
    "count_assignments",
    "count_conversation_parts",
];

/// Columns written from booleans, in the order of [`ConversationBatch::booleans`].
const CONVERSATION_BOOLEANS: [&str; 4] = ["open", "read", "parts_truncated", "ai_agent_participated"];

/// Columns of `conversation_parts` besides its keys, in the order of [`PartColumns`].
const PART_TEXTS: [&str; 9] = [
    "part_type",
    "body_html",
    "body_text",
    "author_type",
    "author_id",
    "author_name",
    "author_email",
    "assigned_to_id",
    "id",
];
const PART_INTEGERS: [&str; 3] = ["created_at", "updated_at", "notified_at"];

/// A batch of conversations as column arrays, built off the writer (see `prepare_conversations`).
#[derive(Default)]
pub(crate) struct ConversationBatch {
    rowids: Vec<i64>,
    texts: [Vec<Option<String>>; CONVERSATION_TEXTS.len()],
    integers: [Vec<Option<i64>>; CONVERSATION_INTEGERS.len()],
    booleans: [Vec<Option<bool>>; CONVERSATION_BOOLEANS.len()],
    custom_attributes: Vec<Option<String>>,
    /// Each conversation's search document, a `tsvector` in its text form (see [`super::document`]).
    documents: Vec<String>,
    /// Conversations whose stored parts may outnumber the record's: their documents are rebuilt from the table.
    truncated: Vec<i64>,
    contact_links: Links,
    tag_links: Links,
    parts: PartColumns,
}

/// Rows of a link table: `(conversation_rowid, id[, position])`.
#[derive(Default)]
struct Links {
    rowids: Vec<i64>,
    ids: Vec<String>,
    positions: Vec<i64>,
}

#[derive(Default)]
struct PartColumns {
    conversation_rowids: Vec<i64>,
    texts: [Vec<Option<String>>; PART_TEXTS.len()],
    integers: [Vec<Option<i64>>; PART_INTEGERS.len()],
    redacted: Vec<bool>,
}

impl ConversationBatch {
    pub(crate) fn new(conversations: &[&ConversationRecord], rowids: &[i64], texts: &[ConversationText]) -> Self {
        let mut batch = Self::default();
        let mut stems = Stems::default();
        // In rowid order: batches written side by side then lock the rows they share in one order, and wait for
        // each other rather than deadlock.
        let mut order: Vec<usize> = (0..conversations.len().min(rowids.len()).min(texts.len())).collect();
        order.sort_by_key(|&i| rowids[i]);
        for i in order {
            batch.push(conversations[i], rowids[i], &texts[i], &mut stems);
        }
        batch
    }

    /// Keeps only the links, parts and rebuilds of conversations `applied` (those whose rows the batch wrote).
    fn retain_applied(&mut self, applied: &std::collections::HashSet<i64>) {
        self.truncated.retain(|rowid| applied.contains(rowid));
        for links in [&mut self.contact_links, &mut self.tag_links] {
            let keep: Vec<bool> = links.rowids.iter().map(|rowid| applied.contains(rowid)).collect();
            retain_by(&mut links.rowids, &keep);
            retain_by(&mut links.ids, &keep);
            retain_by(&mut links.positions, &keep);
        }
        let parts = &mut self.parts;
        let keep: Vec<bool> = parts.conversation_rowids.iter().map(|rowid| applied.contains(rowid)).collect();
        retain_by(&mut parts.conversation_rowids, &keep);
        for column in &mut parts.texts {
            retain_by(column, &keep);
        }
        for column in &mut parts.integers {
            retain_by(column, &keep);
        }
        retain_by(&mut parts.redacted, &keep);
    }

    pub(crate) fn len(&self) -> usize {
        self.rowids.len()
    }

    fn push(&mut self, c: &ConversationRecord, rowid: i64, text: &ConversationText, stems: &mut Stems) {
        let stats = &c.statistics;
        let rating = c.rating.clone().unwrap_or_default();
        self.rowids.push(rowid);
        let texts = [
            Some(c.id.clone()),
            c.title.clone(),
            Some(c.state.unwrap_or(ConversationState::Open).as_str().to_owned()),
            Some(c.priority.unwrap_or(Priority::None).as_str().to_owned()),
            c.admin_assignee_id.clone(),
            c.team_assignee_id.clone(),
            c.company_id.clone(),
            Some(c.source.kind.clone()),
            c.source.id.clone(),
            c.source.delivered_as.clone(),
            text.subject.clone(),
            Some(c.source.body_html.clone()),
            Some(text.source_body.clone()),
            c.source.url.clone(),
            Some(c.source.author.kind.clone()),
            Some(c.source.author.id.clone()),
            c.source.author.name.clone(),
            c.source.author.email.clone(),
            rating.remark,
            rating.contact_id,
            rating.teammate_id,
            stats.last_closed_by_id.clone(),
            c.channel_initial.clone(),
        ];
        let integers = [
            Some(c.created_at),
            Some(c.updated_at),
            c.waiting_since,
            c.snoozed_until,
            rating.rating,
            rating.created_at,
            stats.time_to_assignment,
            stats.time_to_admin_reply,
            stats.time_to_first_close,
            stats.time_to_last_close,
            stats.median_time_to_reply,
            stats.handling_time,
            stats.first_contact_reply_at,
            stats.first_assignment_at,
            stats.first_admin_reply_at,
            stats.first_close_at,
            stats.last_assignment_at,
            stats.last_contact_reply_at,
            stats.last_admin_reply_at,
            stats.last_close_at,
            stats.count_reopens,
            stats.count_assignments,
            stats.count_conversation_parts,
        ];
        let booleans = [Some(c.open), Some(c.read), Some(c.parts_truncated), c.ai_agent_participated];
        push_texts(&mut self.texts, texts);
        push_all(&mut self.integers, integers);
        push_all(&mut self.booleans, booleans);
        self.custom_attributes.push(c.custom_attributes.clone());
        self.documents
            .push(stems.document(&words(text.subject.as_deref().unwrap_or_default()), &words(&text.document())));
        if c.parts_truncated {
            self.truncated.push(rowid);
        }
        for (position, id) in dedup(&c.contact_ids).into_iter().enumerate() {
            self.contact_links.push(rowid, id, position as i64);
        }
        for id in dedup(&c.tag_ids) {
            self.tag_links.push(rowid, id, 0);
        }
        // One row per part id (a later copy wins): an upsert may not touch a row twice.
        let mut last_of_id = HashMap::with_capacity(c.parts.len());
        for (index, part) in c.parts.iter().enumerate() {
            last_of_id.insert(part.id.as_str(), index);
        }
        for (index, (part, body)) in c.parts.iter().zip(&text.parts).enumerate() {
            if last_of_id.get(part.id.as_str()) != Some(&index) {
                continue;
            }
            let parts = &mut self.parts;
            parts.conversation_rowids.push(rowid);
            let texts = [
                Some(part.part_type.clone()),
                part.body_html.clone(),
                body.clone(),
                Some(part.author.kind.clone()),
                Some(part.author.id.clone()),
                part.author.name.clone(),
                part.author.email.clone(),
                part.assigned_to_id.clone(),
                Some(part.id.clone()),
            ];
            push_texts(&mut parts.texts, texts);
            push_all(&mut parts.integers, [Some(part.created_at), part.updated_at, part.notified_at]);
            parts.redacted.push(part.redacted);
        }
    }
}

impl Links {
    fn push(&mut self, rowid: i64, id: &str, position: i64) {
        self.rowids.push(rowid);
        self.ids.push(without_nul(id));
        self.positions.push(position);
    }
}

/// Keeps the values of `column` whose place `keep` marks.
fn retain_by<T>(column: &mut Vec<T>, keep: &[bool]) {
    let mut place = 0;
    column.retain(|_| {
        place += 1;
        keep[place - 1]
    });
}

/// Appends one row's texts to their columns, without NUL characters (see [`without_nul`]).
fn push_texts<const N: usize>(columns: &mut [Vec<Option<String>>; N], values: [Option<String>; N]) {
    push_all(columns, values.map(|value| value.map(|text| without_nul(&text))));
}

/// Appends one row's values to their columns.
fn push_all<T, const N: usize>(columns: &mut [Vec<T>; N], values: [T; N]) {
    for (column, value) in columns.iter_mut().zip(values) {
        column.push(value);
    }
}

/// `UNNEST($first::type[], ...)` over `types`, numbering parameters from `first`.
fn unnest(first: usize, types: &[&str]) -> String {
    let arrays: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", first + i)).collect();
    format!("UNNEST({})", arrays.join(", "))
}

/// Writes a batch of conversations: rows, links (replaced whole: Intercom always sends the full lists), parts
/// (upserted by id, so parts stored earlier and no longer returned are kept) and search documents.
///
/// A conversation stored with a later `updated_at` than the batch's copy keeps what it has, links and parts
/// included: a conversation updated during a sync is listed again on a later page, and batches written side by
/// side may commit out of order, the older copy last.
pub(crate) async fn apply(tx: &mut Tx, mut batch: ConversationBatch) -> Result<()> {
    if batch.rowids.is_empty() {
        return Ok(());
    }
    let columns: Vec<&str> = ["rowid"]
        .into_iter()
        .chain(CONVERSATION_TEXTS)
        .chain(CONVERSATION_INTEGERS)
        .chain(CONVERSATION_BOOLEANS)
        .chain(["custom_attributes"])
        .collect();
    // The stored columns' arrays, then the documents' (text, parsed as the column's `tsvector`).
    let types: Vec<&str> = ["bigint"]
        .into_iter()
        .chain(CONVERSATION_TEXTS.map(|_| "text"))
        .chain(CONVERSATION_INTEGERS.map(|_| "bigint"))
        .chain(CONVERSATION_BOOLEANS.map(|_| "boolean"))
        .chain(["text", "text"])
        .collect();
    let aliases: Vec<String> = (1..=types.len()).map(|i| format!("c{i}")).collect();
    let (stored, document) = aliases.split_at(columns.len());
    let sql = format!(
        "INSERT INTO conversations ({columns}, document) \
         SELECT {stored}, {document}::tsvector \
         FROM {arrays} AS r ({aliases}) \
         ON CONFLICT (rowid) DO UPDATE SET {sets}, document = excluded.document \
         WHERE conversations.updated_at <= excluded.updated_at \
         RETURNING rowid",
        columns = columns.join(", "),
        stored = stored.join(", "),
        document = document[0],
        arrays = unnest(1, &types),
        aliases = aliases.join(", "),
        sets = set_excluded(&columns[1..]),
    );
    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&batch.rowids);
    for column in &batch.texts {
        insert = insert.bind(column);
    }
    for column in &batch.integers {
        insert = insert.bind(column);
    }
    for column in &batch.booleans {
        insert = insert.bind(column);
    }
    let applied: Vec<i64> = insert
        .bind(&batch.custom_attributes)
        .bind(&batch.documents)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if applied.len() < batch.rowids.len() {
        batch.retain_applied(&applied.iter().copied().collect());
    }

    for table in ["conversation_contacts", "conversation_tags"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE conversation_rowid = ANY($1)")))
            .bind(&applied)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO conversation_contacts (conversation_rowid, contact_id, position) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[])",
    )
    .bind(&batch.contact_links.rowids)
    .bind(&batch.contact_links.ids)
    .bind(&batch.contact_links.positions)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO conversation_tags (conversation_rowid, tag_id) SELECT * FROM UNNEST($1::bigint[], $2::text[])",
    )
    .bind(&batch.tag_links.rowids)
    .bind(&batch.tag_links.ids)
    .execute(&mut **tx)
    .await?;

    let parts = &batch.parts;
    if !parts.conversation_rowids.is_empty() {
        let columns: Vec<&str> =
            ["conversation_rowid"].into_iter().chain(PART_TEXTS).chain(PART_INTEGERS).chain(["redacted"]).collect();
        let types: Vec<&str> = ["bigint"]
            .into_iter()
            .chain(PART_TEXTS.map(|_| "text"))
            .chain(PART_INTEGERS.map(|_| "bigint"))
            .chain(["boolean"])
            .collect();
        let updated: Vec<&str> =
            columns.iter().copied().filter(|c| !matches!(*c, "conversation_rowid" | "id")).collect();
        let sql = format!(
            "INSERT INTO conversation_parts ({}) SELECT * FROM {} \
             ON CONFLICT (conversation_rowid, id) DO UPDATE SET {}",
            columns.join(", "),
            unnest(1, &types),
            set_excluded(&updated),
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&parts.conversation_rowids);
        for column in &parts.texts {
            insert = insert.bind(column);
        }
        for column in &parts.integers {
            insert = insert.bind(column);
        }
        insert.bind(&parts.redacted).execute(&mut **tx).await?;
    }

    if !batch.truncated.is_empty() {
        rebuild_documents(&mut *tx, &batch.truncated).await?;
    }
    Ok(())
}

/// Rebuilds the search documents of conversations `rowids` from what is stored: a conversation Intercom truncated
/// may have older parts stored that its record lacks, a copied store has none yet, and an older store's were made
/// by another stemming.
pub(super) async fn rebuild_documents(connection: &mut PgConnection, rowids: &[i64]) -> Result<()> {
    let rows = sqlx::query(
        "SELECT c.rowid, coalesce(c.source_subject, ''), c.source_body_text || ' ' || \
         coalesce((SELECT string_agg(p.body_text, ' ' ORDER BY p.created_at) FROM conversation_parts p \
         WHERE p.conversation_rowid = c.rowid), '') FROM conversations c WHERE c.rowid = ANY($1)",
    )
    .bind(rowids)
    .fetch_all(&mut *connection)
    .await?;
    let mut stems = Stems::default();
    let mut ids = Vec::with_capacity(rows.len());
    let mut documents = Vec::with_capacity(rows.len());
    for row in &rows {
        ids.push(row.try_get::<i64, _>(0)?);
        documents.push(stems.document(&words(row.try_get(1)?), &words(row.try_get(2)?)));
    }
    sqlx::query(
        "UPDATE conversations c SET document = d.document::tsvector \
         FROM UNNEST($1::bigint[], $2::text[]) AS d (rowid, document) WHERE c.rowid = d.rowid",
    )
    .bind(&ids)
    .bind(&documents)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Rebuilds the search documents of contacts `rowids` from what is stored (their names and emails, as
/// [`upsert_contacts`] writes them).
pub(super) async fn rebuild_contact_documents(tx: &mut Tx, rowids: &[i64]) -> Result<()> {
    let rows = sqlx::query("SELECT rowid, coalesce(name, ''), coalesce(email, '') FROM contacts WHERE rowid = ANY($1)")
        .bind(rowids)
        .fetch_all(&mut **tx)
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut texts = Vec::with_capacity(rows.len());
    for row in &rows {
        ids.push(row.try_get::<i64, _>(0)?);
        texts.push(format!("{} {}", words(row.try_get(1)?), words(row.try_get(2)?)));
    }
    sqlx::query(
        "UPDATE contacts c SET document = to_tsvector('simple', d.text) \
         FROM UNNEST($1::bigint[], $2::text[]) AS d (rowid, text) WHERE c.rowid = d.rowid",
    )
    .bind(&ids)
    .bind(&texts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn delete_conversations(tx: &mut Tx, ids: &[String]) -> Result<u64> {
    let ids: Vec<String> = ids.iter().map(|id| without_nul(id)).collect();
    let deleted = sqlx::query("DELETE FROM conversations WHERE id = ANY($1)").bind(ids).execute(&mut **tx).await?;
    Ok(deleted.rows_affected())
}

pub(crate) async fn delete_contacts(tx: &mut Tx, ids: &[String]) -> Result<u64> {
    let ids: Vec<String> = ids.iter().map(|id| without_nul(id)).collect();
    let deleted = sqlx::query("DELETE FROM contacts WHERE id = ANY($1)").bind(ids).execute(&mut **tx).await?;
    Ok(deleted.rows_affected())
}

pub(crate) async fn retain_only(tx: &mut Tx, table: &str, keep: &[String]) -> Result<u64> {
    let keep: Vec<String> = keep.iter().map(|id| without_nul(id)).collect();
    let sql = format!("DELETE FROM {table} WHERE id <> ALL($1)");
    let deleted = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(keep).execute(&mut **tx).await?;
    Ok(deleted.rows_affected())
}

pub(crate) async fn clear_workspace(tx: &mut Tx) -> Result<()> {
    // DELETE, not TRUNCATE: TRUNCATE's exclusive locks would queue every replica's reads behind the longest one
    // running. (Parts, links and the contacts' links go with their rows.)
    for table in ["conversations", "contacts", "companies", "admins", "teams", "tags", "sync_state"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut **tx).await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM workspace_meta WHERE {}", crate::copy::OWN_META)))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const CONTACT_TEXTS: [&str; 16] = [
    "id",
    "role",
    "external_id",
    "email",
    "email_domain",
    "name",
    "phone",
    "owner_id",
    "country",
    "region",
    "city",
    "browser",
    "os",
    "custom_attributes",
    "name_words",
    "email_words",
];
const CONTACT_INTEGERS: [&str; 6] =
    ["created_at", "updated_at", "signed_up_at", "last_seen_at", "last_replied_at", "last_contacted_at"];

/// Which ids of a contact one link table holds (its companies, its tags).
type LinkedIds = fn(&ContactRecord) -> &[String];

/// Upserts contacts by id (a stored contact keeps its rowid), with their company and tag links and search
/// documents.
pub(crate) async fn upsert_contacts(tx: &mut Tx, contacts: &[ContactRecord]) -> Result<()> {
    let contacts = last_of_each(contacts, |c| &c.id);
    if contacts.is_empty() {
        return Ok(());
    }
    let mut texts: [Vec<Option<String>>; CONTACT_TEXTS.len()] = Default::default();
    let mut integers: [Vec<Option<i64>>; CONTACT_INTEGERS.len()] = Default::default();
    for c in &contacts {
        let domain = c.email.as_deref().and_then(|email| email.rsplit_once('@')).map(|(_, d)| d.to_lowercase());
        push_texts(
            &mut texts,
            [
                Some(c.id.clone()),
                Some(c.role.clone()),
                c.external_id.clone(),
                c.email.clone(),
                domain,
                c.name.clone(),
                c.phone.clone(),
                c.owner_id.clone(),
                c.country.clone(),
                c.region.clone(),
                c.city.clone(),
                c.browser.clone(),
                c.os.clone(),
                c.custom_attributes.clone(),
                Some(words(c.name.as_deref().unwrap_or_default())),
                Some(words(c.email.as_deref().unwrap_or_default())),
            ],
        );
        push_all(
            &mut integers,
            [
                Some(c.created_at),
                Some(c.updated_at),
                c.signed_up_at,
                c.last_seen_at,
                c.last_replied_at,
                c.last_contacted_at,
            ],
        );
    }
    let stored: Vec<&str> = CONTACT_TEXTS[..14].iter().chain(&CONTACT_INTEGERS).copied().collect();
    let aliases: Vec<String> = (1..=CONTACT_TEXTS.len() + CONTACT_INTEGERS.len()).map(|i| format!("c{i}")).collect();
    let types: Vec<&str> =
        CONTACT_TEXTS.map(|_| "text").into_iter().chain(CONTACT_INTEGERS.map(|_| "bigint")).collect();
    let (name_words, email_words) = (&aliases[14], &aliases[15]);
    let selected: Vec<&str> = aliases[..14].iter().chain(&aliases[16..]).map(String::as_str).collect();
    let sql = format!(
        "INSERT INTO contacts ({columns}, document) \
         SELECT {selected}, to_tsvector('simple', {name_words} || ' ' || {email_words}) \
         FROM {arrays} AS r ({aliases}) \
         ON CONFLICT (id) DO UPDATE SET {sets}, document = excluded.document \
         RETURNING rowid, id",
        columns = stored.join(", "),
        selected = selected.join(", "),
        arrays = unnest(1, &types),
        aliases = aliases.join(", "),
        sets = set_excluded(&stored[1..]),
    );
    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
    for column in &texts {
        insert = insert.bind(column);
    }
    for column in &integers {
        insert = insert.bind(column);
    }
    let rowids: HashMap<String, i64> = insert
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(1)?, row.try_get(0)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let batch_rowids: Vec<i64> = rowids.values().copied().collect();
    let links: [(&str, &str, LinkedIds); 2] =
        [("contact_companies", "company_id", |c| &c.company_ids), ("contact_tags", "tag_id", |c| &c.tag_ids)];
    for (table, column, linked) in links {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE contact_rowid = ANY($1)")))
            .bind(&batch_rowids)
            .execute(&mut **tx)
            .await?;
        let mut link_rowids = Vec::new();
        let mut link_ids = Vec::new();
        for c in &contacts {
            for id in dedup(linked(c)) {
                link_rowids.push(rowids[&without_nul(&c.id)]);
                link_ids.push(without_nul(id));
            }
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (contact_rowid, {column}) SELECT * FROM UNNEST($1::bigint[], $2::text[])"
        )))
        .bind(&link_rowids)
        .bind(&link_ids)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(crate) async fn upsert_companies(tx: &mut Tx, companies: &[CompanyRecord]) -> Result<()> {
    let companies = last_of_each(companies, |c| &c.id);
    let texts: [Vec<Option<String>>; 6] = {
        let mut texts: [Vec<Option<String>>; 6] = Default::default();
        for c in &companies {
            push_texts(
                &mut texts,
                [
                    Some(c.id.clone()),
                    c.company_id.clone(),
                    Some(c.name.clone()),
                    c.plan.clone(),
                    c.website.clone(),
                    c.industry.clone(),
                ],
            );
        }
        texts
    };
    let mut integers: [Vec<Option<i64>>; 7] = Default::default();
    for c in &companies {
        push_all(
            &mut integers,
            [c.size, c.user_count, c.session_count, c.created_at, c.updated_at, c.remote_created_at, c.last_request_at],
        );
    }
    let spend: Vec<Option<f64>> = companies.iter().map(|c| c.monthly_spend).collect();
    let columns = [
        "id",
        "company_id",
        "name",
        "plan",
        "website",
        "industry",
        "size",
        "user_count",
        "session_count",
        "created_at",
        "updated_at",
        "remote_created_at",
        "last_request_at",
        "monthly_spend",
    ];
    let types: Vec<&str> = [["text"; 6].as_slice(), &["bigint"; 7], &["double precision"]].concat();
    let sql = format!(
        "INSERT INTO companies ({}) SELECT * FROM {} ON CONFLICT (id) DO UPDATE SET {}",
        columns.join(", "),
        unnest(1, &types),
        set_excluded(&columns[1..])
    );
    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
    for column in &texts {
        insert = insert.bind(column);
    }
    for column in &integers {
        insert = insert.bind(column);
    }
    insert.bind(&spend).execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn upsert_admins(tx: &mut Tx, admins: &[AdminRecord]) -> Result<()> {
    let admins = last_of_each(admins, |a| &a.id);
    let ids: Vec<String> = admins.iter().map(|a| without_nul(&a.id)).collect();
    let names: Vec<Option<String>> = admins.iter().map(|a| a.name.as_deref().map(without_nul)).collect();
    let emails: Vec<Option<String>> = admins.iter().map(|a| a.email.as_deref().map(without_nul)).collect();
    let titles: Vec<Option<String>> = admins.iter().map(|a| a.job_title.as_deref().map(without_nul)).collect();
    let away: Vec<bool> = admins.iter().map(|a| a.away_mode_enabled).collect();
    let seats: Vec<bool> = admins.iter().map(|a| a.has_inbox_seat).collect();
    let teams: Vec<String> =
        admins.iter().map(|a| serde_json::to_string(&a.team_ids).expect("ids serialize")).collect();
    let columns = ["id", "name", "email", "job_title", "away_mode_enabled", "has_inbox_seat", "team_ids"];
    let sql = format!(
        "INSERT INTO admins ({}) SELECT * FROM {} ON CONFLICT (id) DO UPDATE SET {}",
        columns.join(", "),
        unnest(1, &["text", "text", "text", "text", "boolean", "boolean", "text"]),
        set_excluded(&columns[1..])
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&ids)
        .bind(&names)
        .bind(&emails)
        .bind(&titles)
        .bind(&away)
        .bind(&seats)
        .bind(&teams)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) async fn upsert_teams(tx: &mut Tx, teams: &[TeamRecord]) -> Result<()> {
    let teams = last_of_each(teams, |t| &t.id);
    let ids: Vec<String> = teams.iter().map(|t| without_nul(&t.id)).collect();
    let names: Vec<String> = teams.iter().map(|t| without_nul(&t.name)).collect();
    let admins: Vec<String> =
        teams.iter().map(|t| serde_json::to_string(&t.admin_ids).expect("ids serialize")).collect();
    sqlx::query(
        "INSERT INTO teams (id, name, admin_ids) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, admin_ids = excluded.admin_ids",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&admins)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn upsert_tags(tx: &mut Tx, tags: &[TagRecord]) -> Result<()> {
    let tags = last_of_each(tags, |t| &t.id);
    let ids: Vec<String> = tags.iter().map(|t| without_nul(&t.id)).collect();
    let names: Vec<String> = tags.iter().map(|t| without_nul(&t.name)).collect();
    sqlx::query(
        "INSERT INTO tags (id, name) SELECT * FROM UNNEST($1::text[], $2::text[]) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name",
    )
    .bind(&ids)
    .bind(&names)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Advances the data generation and commits; returns the new generation. The generation's row lock serializes
/// the commits of overlapping writers (replicas, side-by-side sync batches), so generations and commits come in
/// one order; it is taken last, so writers overlap in everything but their commits. The generation is announced
/// on [`GENERATION_CHANNEL`] as the transaction commits (PostgreSQL delivers notifications at commit, and only
/// then), so every replica's kept answers follow at once rather than at its next read of the generation.
pub(crate) async fn commit(mut tx: Tx) -> Result<Option<i64>> {
    let generation = advance_generation(&mut tx).await?;
    tx.commit().await?;
    Ok(generation)
}

/// Advances the data generation within the transaction on `connection`, announcing it at its commit (see
/// [`commit`]); returns the new generation.
pub(super) async fn advance_generation(connection: &mut PgConnection) -> Result<Option<i64>> {
    let generation: Option<i64> = sqlx::query_scalar(
        "WITH advanced AS (UPDATE workspace_meta SET value = (value::bigint + 1)::text \
         WHERE key = 'data_generation' RETURNING value::bigint AS generation) \
         SELECT generation FROM advanced, pg_notify($1, current_schema() || ' ' || generation::text) AS announced",
    )
    .bind(GENERATION_CHANNEL)
    .fetch_optional(&mut *connection)
    .await?;
    Ok(generation)
}

/// Where committed data generations are announced (`LISTEN`), with the schema's name, for each schema is a
/// deployment of its own.
pub(crate) const GENERATION_CHANNEL: &str = "fastintercom_data_generation";

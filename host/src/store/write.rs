//! Batched upserts. Writers open a [`WriteTx`], upsert records in batches and commit once, so a batch and the
//! sync checkpoint written with it land together or not at all, and readers never see half a conversation.

use std::collections::HashMap;

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::model::{
    AdminRecord, CompanyRecord, ContactRecord, ConversationRecord, ConversationState, PartRecord, Priority, TagRecord,
    TeamRecord,
};
use super::push_id_list;
use super::text::html_to_text;
use super::{Result, Store};

/// SQLite's bound-parameter limit is 32,766; stay under it with room to spare.
const MAX_BINDS_PER_STATEMENT: usize = 30_000;

/// An open write transaction on the single writer connection.
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

impl Store {
    /// Starts a write transaction. There is one writer: a second caller waits until the first commits.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        Ok(WriteTx { tx: self.writer.begin().await? })
    }
}

/// Runs one multi-row `INSERT ... VALUES` per chunk of `rows`, `columns` values per row.
async fn insert_chunks<T>(
    tx: &mut Transaction<'static, Sqlite>,
    head: &str,
    columns: usize,
    tail: &str,
    rows: &[T],
    mut push_row: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> Result<()> {
    for chunk in rows.chunks((MAX_BINDS_PER_STATEMENT / columns).max(1)) {
        let mut query = QueryBuilder::<Sqlite>::new(head);
        query.push_values(chunk, |mut row, item| push_row(&mut row, item));
        query.push(tail);
        query.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// `ON CONFLICT (key) DO UPDATE SET c = excluded.c, ...` for every column but the key.
fn upsert_tail(key: &str, columns: &[&str]) -> String {
    let sets: Vec<String> =
        columns.iter().filter(|column| **column != key).map(|column| format!("{column} = excluded.{column}")).collect();
    format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", "))
}

fn insert_head(table: &str, columns: &[&str]) -> String {
    format!("INSERT INTO {table} ({}) ", columns.join(", "))
}

const CONVERSATION_COLUMNS: [&str; 51] = [
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

impl WriteTx {
    /// Inserts or replaces conversations with their contacts, tags and parts, and re-indexes their text.
    /// Parts are upserted by id, so parts stored earlier and no longer returned (Intercom returns only the latest
    /// 500) are kept.
    pub async fn upsert_conversations(&mut self, conversations: &[ConversationRecord]) -> Result<()> {
        let conversations = &last_of_each(conversations, |c| &c.id);
        if conversations.is_empty() {
            return Ok(());
        }
        // Search documents are rewritten whole: drop those of conversations already stored, then insert every
        // document fresh (a plain INSERT is much cheaper than INSERT OR REPLACE, which probes for each rowid).
        delete_documents(&mut self.tx, "conversation_fts", "conversations", conversations.iter().map(|c| &c.id))
            .await?;
        // Plain text of every body, derived once for the rows and for the search documents.
        let texts: Vec<ConversationText> = conversations.iter().map(|c| ConversationText::of(c)).collect();
        let columns = &CONVERSATION_COLUMNS;
        let mut rowids: HashMap<String, i64> = HashMap::with_capacity(conversations.len());
        let with_texts: Vec<(&ConversationRecord, &ConversationText)> =
            conversations.iter().copied().zip(&texts).collect();
        for chunk in with_texts.chunks(MAX_BINDS_PER_STATEMENT / columns.len()) {
            let mut query = QueryBuilder::<Sqlite>::new(insert_head("conversations", columns));
            query.push_values(chunk, |mut row, (c, text)| {
                let stats = &c.statistics;
                let rating = c.rating.clone().unwrap_or_default();
                row.push_bind(c.id.clone())
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
            });
            query.push(upsert_tail("id", columns));
            query.push(" RETURNING rowid, id");
            for row in query.build().fetch_all(&mut *self.tx).await? {
                rowids.insert(row.try_get(1)?, row.try_get(0)?);
            }
        }
        let batch_rowids: Vec<i64> = conversations.iter().map(|c| rowids[&c.id]).collect();

        // Links are replaced wholesale: Intercom always sends the full lists.
        for table in ["conversation_contacts", "conversation_tags"] {
            let mut delete = QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE conversation_rowid IN ("));
            push_id_list(&mut delete, &batch_rowids);
            delete.push(")");
            delete.build().execute(&mut *self.tx).await?;
        }
        let contact_links: Vec<(i64, &str, i64)> = conversations
            .iter()
            .zip(&batch_rowids)
            .flat_map(|(c, rowid)| {
                dedup(&c.contact_ids).into_iter().enumerate().map(move |(i, id)| (*rowid, id, i as i64))
            })
            .collect();
        insert_chunks(
            &mut self.tx,
            "INSERT INTO conversation_contacts (conversation_rowid, contact_id, position) ",
            3,
            "",
            &contact_links,
            |row, (rowid, id, position)| {
                row.push_bind(*rowid).push_bind(id.to_string()).push_bind(*position);
            },
        )
        .await?;
        let tag_links: Vec<(i64, &str)> = conversations
            .iter()
            .zip(&batch_rowids)
            .flat_map(|(c, rowid)| dedup(&c.tag_ids).into_iter().map(move |id| (*rowid, id)))
            .collect();
        insert_chunks(
            &mut self.tx,
            "INSERT INTO conversation_tags (conversation_rowid, tag_id) ",
            2,
            "",
            &tag_links,
            |row, (rowid, id)| {
                row.push_bind(*rowid).push_bind(id.to_string());
            },
        )
        .await?;

        let parts: Vec<(i64, &PartRecord, &Option<String>)> = conversations
            .iter()
            .zip(&batch_rowids)
            .zip(&texts)
            .flat_map(|((c, rowid), text)| {
                c.parts.iter().zip(&text.parts).map(move |(part, body)| (*rowid, part, body))
            })
            .collect();
        let part_head = insert_head("conversation_parts", &PART_COLUMNS);
        let part_tail = upsert_tail("conversation_rowid, id", &PART_COLUMNS[2..]);
        insert_chunks(&mut self.tx, &part_head, PART_COLUMNS.len(), &part_tail, &parts, |row, (rowid, part, body)| {
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
        })
        .await?;

        // One full-text document per conversation. A conversation Intercom truncated may have older parts stored
        // that this record lacks, so its document is rebuilt from the table; the others from the record.
        let (truncated, complete): (Vec<_>, Vec<_>) = batch_rowids
            .iter()
            .copied()
            .zip(conversations.iter().zip(&texts))
            .partition(|(_, (c, _))| c.parts_truncated);
        insert_chunks(
            &mut self.tx,
            "INSERT INTO conversation_fts (rowid, subject, body) ",
            3,
            "",
            &complete,
            |row, (rowid, (_, text))| {
                row.push_bind(*rowid).push_bind(text.subject.clone().unwrap_or_default()).push_bind(text.document());
            },
        )
        .await?;
        if !truncated.is_empty() {
            let rowids: Vec<i64> = truncated.iter().map(|(rowid, _)| *rowid).collect();
            let mut index = QueryBuilder::<Sqlite>::new(
                "INSERT INTO conversation_fts (rowid, subject, body) \
                 SELECT c.rowid, coalesce(c.source_subject, ''), c.source_body_text || char(10) || \
                 coalesce((SELECT group_concat(p.body_text, char(10)) FROM conversation_parts p \
                 WHERE p.conversation_rowid = c.rowid), '') FROM conversations c WHERE c.rowid IN (",
            );
            push_id_list(&mut index, &rowids);
            index.push(")");
            index.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Deletes conversations (with their parts, links and index entries) by Intercom id.
    pub async fn delete_conversations(&mut self, ids: &[String]) -> Result<u64> {
        let mut deleted = 0;
        for chunk in ids.chunks(MAX_BINDS_PER_STATEMENT) {
            let mut index = QueryBuilder::<Sqlite>::new(
                "DELETE FROM conversation_fts WHERE rowid IN (SELECT rowid FROM conversations WHERE id IN (",
            );
            let mut list = index.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            index.push("))");
            index.build().execute(&mut *self.tx).await?;
            let mut delete = QueryBuilder::<Sqlite>::new("DELETE FROM conversations WHERE id IN (");
            let mut list = delete.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            delete.push(")");
            deleted += delete.build().execute(&mut *self.tx).await?.rows_affected();
        }
        Ok(deleted)
    }

    /// Inserts or replaces contacts with their company and tag links, and re-indexes their names and emails.
    pub async fn upsert_contacts(&mut self, contacts: &[ContactRecord]) -> Result<()> {
        let contacts = &last_of_each(contacts, |c| &c.id);
        if contacts.is_empty() {
            return Ok(());
        }
        delete_documents(&mut self.tx, "contact_fts", "contacts", contacts.iter().map(|c| &c.id)).await?;
        const COLUMNS: [&str; 20] = [
            "id",
            "role",
            "external_id",
            "email",
            "email_domain",
            "name",
            "phone",
            "owner_id",
            "created_at",
            "updated_at",
            "signed_up_at",
            "last_seen_at",
            "last_replied_at",
            "last_contacted_at",
            "country",
            "region",
            "city",
            "browser",
            "os",
            "custom_attributes",
        ];
        let columns = &COLUMNS;
        let mut rowids: HashMap<String, i64> = HashMap::with_capacity(contacts.len());
        for chunk in contacts.chunks(MAX_BINDS_PER_STATEMENT / columns.len()) {
            let mut query = QueryBuilder::<Sqlite>::new(insert_head("contacts", columns));
            query.push_values(chunk, |mut row, c| {
                let domain = c.email.as_deref().and_then(|email| email.rsplit_once('@')).map(|(_, d)| d.to_lowercase());
                row.push_bind(c.id.clone())
                    .push_bind(c.role.clone())
                    .push_bind(c.external_id.clone())
                    .push_bind(c.email.clone())
                    .push_bind(domain)
                    .push_bind(c.name.clone())
                    .push_bind(c.phone.clone())
                    .push_bind(c.owner_id.clone())
                    .push_bind(c.created_at)
                    .push_bind(c.updated_at)
                    .push_bind(c.signed_up_at)
                    .push_bind(c.last_seen_at)
                    .push_bind(c.last_replied_at)
                    .push_bind(c.last_contacted_at)
                    .push_bind(c.country.clone())
                    .push_bind(c.region.clone())
                    .push_bind(c.city.clone())
                    .push_bind(c.browser.clone())
                    .push_bind(c.os.clone())
                    .push_bind(c.custom_attributes.clone());
            });
            query.push(upsert_tail("id", columns));
            query.push(" RETURNING rowid, id");
            for row in query.build().fetch_all(&mut *self.tx).await? {
                rowids.insert(row.try_get(1)?, row.try_get(0)?);
            }
        }
        let batch_rowids: Vec<i64> = contacts.iter().map(|c| rowids[&c.id]).collect();
        for table in ["contact_companies", "contact_tags"] {
            let mut delete = QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE contact_rowid IN ("));
            push_id_list(&mut delete, &batch_rowids);
            delete.push(")");
            delete.build().execute(&mut *self.tx).await?;
        }
        let company_links: Vec<(i64, &str)> = contacts
            .iter()
            .zip(&batch_rowids)
            .flat_map(|(c, rowid)| dedup(&c.company_ids).into_iter().map(move |id| (*rowid, id)))
            .collect();
        insert_chunks(
            &mut self.tx,
            "INSERT INTO contact_companies (contact_rowid, company_id) ",
            2,
            "",
            &company_links,
            |row, (rowid, id)| {
                row.push_bind(*rowid).push_bind(id.to_string());
            },
        )
        .await?;
        let tag_links: Vec<(i64, &str)> = contacts
            .iter()
            .zip(&batch_rowids)
            .flat_map(|(c, rowid)| dedup(&c.tag_ids).into_iter().map(move |id| (*rowid, id)))
            .collect();
        insert_chunks(
            &mut self.tx,
            "INSERT INTO contact_tags (contact_rowid, tag_id) ",
            2,
            "",
            &tag_links,
            |row, (rowid, id)| {
                row.push_bind(*rowid).push_bind(id.to_string());
            },
        )
        .await?;
        let indexed: Vec<(i64, &ContactRecord)> = batch_rowids.iter().copied().zip(contacts.iter().copied()).collect();
        insert_chunks(
            &mut self.tx,
            "INSERT INTO contact_fts (rowid, name, email) ",
            3,
            "",
            &indexed,
            |row, (rowid, c)| {
                row.push_bind(*rowid)
                    .push_bind(c.name.clone().unwrap_or_default())
                    .push_bind(c.email.clone().unwrap_or_default());
            },
        )
        .await
    }

    /// Inserts or replaces companies.
    pub async fn upsert_companies(&mut self, companies: &[CompanyRecord]) -> Result<()> {
        const COLUMNS: [&str; 14] = [
            "id",
            "company_id",
            "name",
            "plan",
            "size",
            "website",
            "industry",
            "monthly_spend",
            "user_count",
            "session_count",
            "created_at",
            "updated_at",
            "remote_created_at",
            "last_request_at",
        ];
        let (head, tail) = (insert_head("companies", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(&mut self.tx, &head, COLUMNS.len(), &tail, companies, |row, c| {
            row.push_bind(c.id.clone())
                .push_bind(c.company_id.clone())
                .push_bind(c.name.clone())
                .push_bind(c.plan.clone())
                .push_bind(c.size)
                .push_bind(c.website.clone())
                .push_bind(c.industry.clone())
                .push_bind(c.monthly_spend)
                .push_bind(c.user_count)
                .push_bind(c.session_count)
                .push_bind(c.created_at)
                .push_bind(c.updated_at)
                .push_bind(c.remote_created_at)
                .push_bind(c.last_request_at);
        })
        .await
    }

    /// Inserts or replaces admins.
    pub async fn upsert_admins(&mut self, admins: &[AdminRecord]) -> Result<()> {
        const COLUMNS: [&str; 7] =
            ["id", "name", "email", "job_title", "away_mode_enabled", "has_inbox_seat", "team_ids"];
        let (head, tail) = (insert_head("admins", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(&mut self.tx, &head, COLUMNS.len(), &tail, admins, |row, a| {
            row.push_bind(a.id.clone())
                .push_bind(a.name.clone())
                .push_bind(a.email.clone())
                .push_bind(a.job_title.clone())
                .push_bind(a.away_mode_enabled)
                .push_bind(a.has_inbox_seat)
                .push_bind(serde_json::to_string(&a.team_ids).expect("ids serialize"));
        })
        .await
    }

    /// Inserts or replaces teams.
    pub async fn upsert_teams(&mut self, teams: &[TeamRecord]) -> Result<()> {
        const COLUMNS: [&str; 3] = ["id", "name", "admin_ids"];
        let (head, tail) = (insert_head("teams", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(&mut self.tx, &head, COLUMNS.len(), &tail, teams, |row, t| {
            row.push_bind(t.id.clone())
                .push_bind(t.name.clone())
                .push_bind(serde_json::to_string(&t.admin_ids).expect("ids serialize"));
        })
        .await
    }

    /// Inserts or replaces tags.
    pub async fn upsert_tags(&mut self, tags: &[TagRecord]) -> Result<()> {
        const COLUMNS: [&str; 2] = ["id", "name"];
        let (head, tail) = (insert_head("tags", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(&mut self.tx, &head, COLUMNS.len(), &tail, tags, |row, t| {
            row.push_bind(t.id.clone()).push_bind(t.name.clone());
        })
        .await
    }

    /// Makes everything written in this transaction visible at once.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Deletes from the full-text index `fts` the documents of the rows of `table` whose Intercom ids are `ids`
/// (rows not stored yet have no document).
async fn delete_documents<'a>(
    tx: &mut Transaction<'static, Sqlite>,
    fts: &str,
    table: &str,
    ids: impl Iterator<Item = &'a String>,
) -> Result<()> {
    let ids = serde_json::to_string(&ids.collect::<Vec<_>>()).expect("ids serialize");
    let sql = format!(
        "DELETE FROM {fts} WHERE rowid IN (SELECT rowid FROM {table} WHERE id IN (SELECT value FROM json_each(?)))"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).execute(&mut **tx).await?;
    Ok(())
}

/// The plain text of one conversation's bodies.
struct ConversationText {
    subject: Option<String>,
    source_body: String,
    /// One entry per part of the record, in its order.
    parts: Vec<Option<String>>,
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
    fn document(&self) -> String {
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
fn last_of_each<T>(records: &[T], id: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    let mut kept: Vec<&T> = records.iter().rev().filter(|record| seen.insert(id(record))).collect();
    kept.reverse();
    kept
}

/// The distinct values of `ids`, first occurrence first (Intercom lists may repeat an id).
fn dedup(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

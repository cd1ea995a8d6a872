//! Batched upserts. Writers open a [`WriteTx`], upsert records in batches and commit once, so a batch and the
//! sync checkpoint written with it land together or not at all, and readers never see half a conversation.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::model::{AdminRecord, CompanyRecord, ContactRecord, ConversationRecord, TagRecord, TeamRecord};
use super::prepare::{
    PreparedWrite, dedup, insert_head, last_of_each, prepare_conversations, upsert_tail, values_statements,
};
use super::{Backend, Result, Store, postgres, push_id_list};

/// An open write transaction: on SQLite's single writer connection, or on a PostgreSQL connection.
pub struct WriteTx {
    tx: Tx,
    /// The store's commit counter, advanced when this transaction commits.
    commits: Arc<AtomicU64>,
    /// The data generation the store has seen, which this transaction's commit advances at once (kept answers
    /// shared with other replicas are keyed by it alone).
    generation_seen: Arc<AtomicU64>,
}

/// A transaction of either backend.
enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, sqlx::Postgres>),
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

impl Store {
    /// Starts a write transaction. There is one writer per process: a second caller waits until the first commits.
    /// Another process's writer (`serve` syncing while `fastintercom sync` runs) waits too, for up to the busy
    /// timeout: `BEGIN IMMEDIATE` takes the write lock at once. A deferred `BEGIN` would take it at the first write
    /// after a read, and fail with "database is locked" without waiting if the other process committed between.
    ///
    /// On PostgreSQL, writers of several replicas may overlap: each statement locks the rows it writes, and the
    /// commit's update of the data generation serializes the commits.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let tx = match self.postgres() {
            Some(postgres) => Tx::Postgres(postgres.begin().await?),
            None => Tx::Sqlite(self.sqlite_writer()?.begin_with("BEGIN IMMEDIATE").await?),
        };
        Ok(WriteTx { tx, commits: Arc::clone(&self.commits), generation_seen: Arc::clone(&self.generation_seen) })
    }

    /// Merges each full-text index into one segment, and refreshes SQLite's statistics of the searched tables,
    /// after a bulk write
    /// (a demo seed, a sync that wrote thousands of conversations). Every full-text lookup then reads one segment
    /// instead of one per batch: on 100,000 demo conversations (10 segments), checking 500 conversations for a word
    /// one by one went from 5.5 ms to 1.65 ms and counting a word's 12,728 matches from 0.58 ms to 0.35 ms; the merge
    /// took 0.44 s. Readers keep reading meanwhile (WAL); other writers wait.
    /// On PostgreSQL this vacuums the searched tables and refreshes the planner's statistics (see
    /// `Postgres::vacuum_analyze`).
    pub async fn compact_search_indexes(&self) -> Result<()> {
        if let Some(postgres) = self.postgres() {
            return postgres.vacuum_analyze().await;
        }
        let mut connection = self.sqlite_writer()?.acquire().await?;
        for statement in [
            "INSERT INTO conversation_fts (conversation_fts) VALUES ('optimize')",
            "INSERT INTO contact_fts (contact_fts) VALUES ('optimize')",
            // The planner's choice between a filter's indexes depends on these (see migration 0006).
            "ANALYZE conversations",
            "ANALYZE conversation_tags",
            "ANALYZE conversation_contacts",
        ] {
            sqlx::query(statement).execute(&mut *connection).await?;
        }
        Ok(())
    }
}

/// Which ids of a contact one link table holds (its companies, its tags).
type LinkedIds = fn(&ContactRecord) -> &[String];

/// The rowids of a batch of contacts (see [`WriteTx::contact_rowids`]).
struct ContactRowids {
    /// One per contact, in the batch's order.
    each: Vec<i64>,
    /// Those of the contacts stored already.
    stored: Vec<i64>,
}

/// Runs one multi-row `INSERT ... VALUES` per chunk of `rows`, `columns` values per row.
async fn insert_chunks<T>(
    tx: &mut Transaction<'static, Sqlite>,
    head: &str,
    columns: usize,
    tail: &str,
    rows: &[T],
    push_row: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> Result<()> {
    for mut statement in values_statements(head, columns, tail, rows, push_row) {
        statement.build().execute(&mut **tx).await?;
    }
    Ok(())
}

impl WriteTx {
    /// The SQLite transaction's connection, for the store's other modules (whose PostgreSQL methods ask
    /// [`WriteTx::postgres`] first).
    pub(super) fn connection(&mut self) -> Result<&mut sqlx::SqliteConnection> {
        match &mut self.tx {
            Tx::Sqlite(tx) => Ok(tx),
            Tx::Postgres(_) => Err(super::not_sqlite()),
        }
    }

    /// The PostgreSQL transaction, when the store lives there.
    pub(super) fn postgres(&mut self) -> Option<&mut Transaction<'static, sqlx::Postgres>> {
        match &mut self.tx {
            Tx::Postgres(tx) => Some(tx),
            Tx::Sqlite(_) => None,
        }
    }

    /// Which database the transaction writes to.
    fn backend(&self) -> Backend {
        match self.tx {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Inserts or replaces conversations with their contacts, tags and parts, and re-indexes their text.
    /// Parts are upserted by id, so parts stored earlier and no longer returned (Intercom returns only the latest
    /// 500) are kept. Equivalent to [`prepare_conversations`] then [`WriteTx::apply`].
    pub async fn upsert_conversations(&mut self, conversations: &[ConversationRecord]) -> Result<()> {
        self.apply(prepare_conversations(self.backend(), conversations)?).await
    }

    /// Runs statements prepared (possibly on another thread) by [`prepare_conversations`], in order.
    pub async fn apply(&mut self, prepared: PreparedWrite) -> Result<()> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::apply(tx, prepared.into_postgres()?).await,
        };
        for mut statement in prepared.into_sqlite()? {
            statement.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Deletes conversations (with their parts, links and index entries) by Intercom id.
    pub async fn delete_conversations(&mut self, ids: &[String]) -> Result<u64> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::delete_conversations(tx, ids).await,
        };
        delete_documents(tx, "conversation_fts", "conversations", ids).await?;
        let ids = serde_json::to_string(ids).expect("ids serialize");
        let deleted = sqlx::query("DELETE FROM conversations WHERE id IN (SELECT value FROM json_each(?))")
            .bind(ids)
            .execute(&mut **tx)
            .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes contacts (with their company and tag links and index entries) by Intercom id.
    pub async fn delete_contacts(&mut self, ids: &[String]) -> Result<u64> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::delete_contacts(tx, ids).await,
        };
        delete_documents(tx, "contact_fts", "contacts", ids).await?;
        let ids = serde_json::to_string(ids).expect("ids serialize");
        let deleted = sqlx::query("DELETE FROM contacts WHERE id IN (SELECT value FROM json_each(?))")
            .bind(ids)
            .execute(&mut **tx)
            .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes the rows of a reference table that are not in `keep`: admins, teams and tags are fetched whole,
    /// so whatever the latest list lacks was removed in Intercom.
    pub async fn retain_only(&mut self, table: ReferenceTable, keep: &[String]) -> Result<u64> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::retain_only(tx, table.name(), keep).await,
        };
        let sql = format!("DELETE FROM {} WHERE id NOT IN (SELECT value FROM json_each(?))", table.name());
        let keep = serde_json::to_string(keep).expect("ids serialize");
        let deleted = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(keep).execute(&mut **tx).await?;
        Ok(deleted.rows_affected())
    }

    /// Empties every workspace table and the sync state, e.g. before a real workspace replaces the demo one (a
    /// checkpoint must never claim data that is gone). The store's cursor key stays: running servers sign with it.
    pub async fn clear_workspace(&mut self) -> Result<()> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::clear_workspace(tx).await,
        };
        for table in [
            "conversation_fts",
            "contact_fts",
            "conversations",
            "contacts",
            "companies",
            "admins",
            "teams",
            "tags",
            "sync_state",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut **tx).await?;
        }
        // The cursor key (running servers sign with it) and the data generation (other processes' caches are keyed by
        // it: without its row, later commits would not advance it) stay.
        sqlx::query("DELETE FROM workspace_meta WHERE key NOT IN ('cursor_key', 'data_generation')")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Inserts or replaces contacts with their company and tag links, and re-indexes their names and emails.
    pub async fn upsert_contacts(&mut self, contacts: &[ContactRecord]) -> Result<()> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::upsert_contacts(tx, contacts).await,
        };
        let contacts = &last_of_each(contacts, |c| &c.id);
        if contacts.is_empty() {
            return Ok(());
        }
        let ContactRowids { each: batch_rowids, stored } = contact_rowids(tx, contacts).await?;
        // What stored contacts had is rewritten whole: their search documents and links go first. New contacts
        // have none, so a batch of new ones (a demo workspace) skips these statements.
        if !stored.is_empty() {
            for (table, rowid) in
                [("contact_fts", "rowid"), ("contact_companies", "contact_rowid"), ("contact_tags", "contact_rowid")]
            {
                let mut delete = QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE {rowid} IN ("));
                push_id_list(&mut delete, &stored);
                delete.push(")");
                delete.build().execute(&mut **tx).await?;
            }
        }
        const COLUMNS: [&str; 21] = [
            "rowid",
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
        let rows: Vec<(i64, &ContactRecord)> = batch_rowids.iter().copied().zip(contacts.iter().copied()).collect();
        let (head, tail) = (insert_head("contacts", &COLUMNS), upsert_tail("rowid", &COLUMNS));
        insert_chunks(tx, &head, COLUMNS.len(), &tail, &rows, |row, (rowid, c)| {
            let domain = c.email.as_deref().and_then(|email| email.rsplit_once('@')).map(|(_, d)| d.to_lowercase());
            row.push_bind(*rowid)
                .push_bind(c.id.clone())
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
        })
        .await?;
        // Intercom always sends a contact's full lists of companies and tags.
        let links: [(&str, LinkedIds); 2] = [
            ("INSERT INTO contact_companies (contact_rowid, company_id) ", |c| &c.company_ids),
            ("INSERT INTO contact_tags (contact_rowid, tag_id) ", |c| &c.tag_ids),
        ];
        for (insert, linked_ids) in links {
            let rows: Vec<(i64, &str)> = contacts
                .iter()
                .zip(&batch_rowids)
                .flat_map(|(c, rowid)| dedup(linked_ids(c)).into_iter().map(move |id| (*rowid, id)))
                .collect();
            insert_chunks(tx, insert, 2, "", &rows, |row, (rowid, id)| {
                row.push_bind(*rowid).push_bind(id.to_string());
            })
            .await?;
        }
        let indexed: Vec<(i64, &ContactRecord)> = batch_rowids.iter().copied().zip(contacts.iter().copied()).collect();
        insert_chunks(tx, "INSERT INTO contact_fts (rowid, name, email) ", 3, "", &indexed, |row, (rowid, c)| {
            row.push_bind(*rowid)
                .push_bind(c.name.clone().unwrap_or_default())
                .push_bind(c.email.clone().unwrap_or_default());
        })
        .await
    }

    /// Inserts or replaces companies.
    pub async fn upsert_companies(&mut self, companies: &[CompanyRecord]) -> Result<()> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::upsert_companies(tx, companies).await,
        };
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
        insert_chunks(tx, &head, COLUMNS.len(), &tail, companies, |row, c| {
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
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::upsert_admins(tx, admins).await,
        };
        const COLUMNS: [&str; 7] =
            ["id", "name", "email", "job_title", "away_mode_enabled", "has_inbox_seat", "team_ids"];
        let (head, tail) = (insert_head("admins", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(tx, &head, COLUMNS.len(), &tail, admins, |row, a| {
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
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::upsert_teams(tx, teams).await,
        };
        const COLUMNS: [&str; 3] = ["id", "name", "admin_ids"];
        let (head, tail) = (insert_head("teams", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(tx, &head, COLUMNS.len(), &tail, teams, |row, t| {
            row.push_bind(t.id.clone())
                .push_bind(t.name.clone())
                .push_bind(serde_json::to_string(&t.admin_ids).expect("ids serialize"));
        })
        .await
    }

    /// Inserts or replaces tags.
    pub async fn upsert_tags(&mut self, tags: &[TagRecord]) -> Result<()> {
        let tx = match &mut self.tx {
            Tx::Sqlite(tx) => tx,
            Tx::Postgres(tx) => return postgres::write::upsert_tags(tx, tags).await,
        };
        const COLUMNS: [&str; 2] = ["id", "name"];
        let (head, tail) = (insert_head("tags", &COLUMNS), upsert_tail("id", &COLUMNS));
        insert_chunks(tx, &head, COLUMNS.len(), &tail, tags, |row, t| {
            row.push_bind(t.id.clone()).push_bind(t.name.clone());
        })
        .await
    }

    /// Makes everything written in this transaction visible at once, and advances the store's data generation
    /// with it (see [`Store::data_generation`]).
    pub async fn commit(self) -> Result<()> {
        let generation = match self.tx {
            Tx::Sqlite(mut tx) => {
                let generation: Option<i64> = sqlx::query_scalar(
                    "UPDATE workspace_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_generation' \
                     RETURNING CAST(value AS INTEGER)",
                )
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                generation
            }
            Tx::Postgres(tx) => postgres::write::commit(tx).await?,
        };
        if let Some(generation) = generation {
            super::meta::saw_generation(&self.generation_seen, generation.max(0) as u64);
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The rowid each of `contacts` has, or gets: stored contacts keep theirs, new ones are numbered after the
/// largest. Contact ids are Intercom's hex strings, so unlike conversations the rowid cannot be the id; working
/// the rowids out first (inside the write transaction, which holds the write lock from its start, so nobody
/// else numbers meanwhile) lets the rows, their links and their search documents be written without reading
/// back what the insert assigned.
async fn contact_rowids(tx: &mut Transaction<'static, Sqlite>, contacts: &[&ContactRecord]) -> Result<ContactRowids> {
    let ids = serde_json::to_string(&contacts.iter().map(|c| &c.id).collect::<Vec<_>>()).expect("ids serialize");
    let stored: HashMap<String, i64> =
        sqlx::query("SELECT id, rowid FROM contacts WHERE id IN (SELECT value FROM json_each(?))")
            .bind(ids)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let mut next: i64 = sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM contacts").fetch_one(&mut **tx).await?;
    let each = contacts
        .iter()
        .map(|c| {
            stored.get(&c.id).copied().unwrap_or_else(|| {
                next += 1;
                next
            })
        })
        .collect();
    Ok(ContactRowids { each, stored: stored.into_values().collect() })
}

/// The reference tables that are fetched whole on every sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceTable {
    Admins,
    Teams,
    Tags,
}

impl ReferenceTable {
    fn name(self) -> &'static str {
        match self {
            Self::Admins => "admins",
            Self::Teams => "teams",
            Self::Tags => "tags",
        }
    }
}

/// Deletes from the full-text index `fts` the documents of the rows of `table` whose Intercom ids are `ids`
/// (rows not stored yet have no document).
async fn delete_documents(tx: &mut Transaction<'static, Sqlite>, fts: &str, table: &str, ids: &[String]) -> Result<()> {
    let ids = serde_json::to_string(ids).expect("ids serialize");
    let sql = format!(
        "DELETE FROM {fts} WHERE rowid IN (SELECT rowid FROM {table} WHERE id IN (SELECT value FROM json_each(?)))"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).execute(&mut **tx).await?;
    Ok(())
}

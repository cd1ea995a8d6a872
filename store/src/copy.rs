//! Moving up: copies a SQLite store (workspace, sync checkpoints, API keys, pending webhook deliveries, plugins
//! installed into it) into an
//! empty PostgreSQL store, so a team that started on a laptop keeps months of history instead of syncing it again
//! against Intercom's rate limit.
//!
//! The copy is one PostgreSQL transaction: it lands whole or not at all, so a copy that failed (or was killed)
//! leaves the target empty and can simply be run again. Rows are read from one SQLite read transaction (one
//! snapshot) and streamed in batches; columns are PostgreSQL's, read by name from SQLite (the schemas share
//! names and meanings), and the search documents, which only PostgreSQL has, are built from the copied rows.

use super::{Result, Store, StoreError, postgres};
use futures_util::TryStreamExt as _;

/// The tables copied, parents before children (PostgreSQL checks the foreign keys as rows arrive).
/// `workspace_meta` comes without the target's own cursor key and data generation.
pub const TABLES: [&str; 16] = [
    "admins",
    "teams",
    "tags",
    "companies",
    "contacts",
    "contact_companies",
    "contact_tags",
    "conversations",
    "conversation_contacts",
    "conversation_tags",
    "conversation_parts",
    "sync_state",
    "workspace_meta",
    "api_keys",
    "webhook_deliveries",
    "plugins",
];

/// Rows per insert, at most.
const BATCH: usize = 2_000;
/// Bytes of text and blobs per insert, at most (beside the rows): parts carry whole message bodies, and an
/// insert of 2,000 large ones would near PostgreSQL's limit of a gigabyte per value.
const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// Keys of `workspace_meta` each store keeps its own of (and a workspace's clearing keeps): the cursor key, the
/// data generation, and on PostgreSQL how its search documents are made.
pub(super) const OWN_META: &str = "key NOT IN ('cursor_key', 'data_generation', 'document_format')";

/// How many rows of each table were copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

impl Store {
    /// Copies this SQLite store into `target`, an empty PostgreSQL store; `progress` hears of each table as it
    /// starts. Refuses a target that holds anything, or whose `sync_role` lead a replica holds (see
    /// [`Store::contender`]): the copy holds that lead while it runs.
    pub async fn copy_into(&self, target: &Store, sync_role: &str, progress: impl Fn(&str)) -> Result<CopyReport> {
        let Some(pg) = target.postgres() else {
            return Err(StoreError::InvalidArgument("the copy's target must be a PostgreSQL store".to_owned()));
        };
        let mut source = self.sqlite_writer()?.acquire().await?;
        // A deferred transaction that only reads: one snapshot of the file, while other processes go on.
        sqlx::query("BEGIN").execute(&mut *source).await?;
        let copied: Result<CopyReport> = async {
            let mut tx = postgres::copy::begin(pg, sync_role).await?;
            let mut report = CopyReport::default();
            for table in TABLES {
                progress(table);
                let columns = postgres::copy::columns(&mut tx, table).await?;
                let mut batch = postgres::copy::Batch::new(table, &columns);
                let mut rows = 0_u64;
                let select = select_sql(table, &columns);
                let mut stream = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *source);
                while let Some(row) = stream.try_next().await? {
                    batch.push(&row)?;
                    rows += 1;
                    if batch.len() == BATCH || batch.bytes() >= BATCH_BYTES {
                        batch.insert(&mut tx).await?;
                    }
                }
                drop(stream);
                batch.insert(&mut tx).await?;
                report.tables.push((table, rows));
            }
            progress("search documents");
            postgres::copy::finish(tx).await?;
            Ok(report)
        }
        .await;
        sqlx::query("ROLLBACK").execute(&mut *source).await.ok();
        let report = copied?;
        target.compact_search_indexes().await?;
        Ok(report)
    }
}

/// The statement reading `columns` of `table` from SQLite, in a stable order.
fn select_sql(table: &str, columns: &[postgres::copy::Column]) -> String {
    let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
    let filter = if table == "workspace_meta" { format!(" WHERE {OWN_META}") } else { String::new() };
    format!("SELECT {} FROM {table}{filter}", names.join(", "))
}

//! The local copy of the workspace: SQLite through sqlx, one writer and a pool of readers.
//!
//! SQLite in WAL mode lets readers run while the single writer commits, so tool calls never wait on a sync.
//! All SQL lives in this module; everything outside it speaks in the typed filters and records of [`model`]
//! and [`filter`]. Every value reaches SQL as a bound parameter.

mod api_keys;
mod contacts;
mod conversations;
mod cursor;
pub mod filter;
mod meta;
pub mod model;
mod prepare;
mod sync_state;
mod text;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use api_keys::ApiKeyRecord;
pub use prepare::{PreparedWrite, prepare_conversations};
pub use sync_state::{ResourceState, RunCheckpoint};
pub use text::html_to_text;
pub use write::{ReferenceTable, WriteTx};

/// Why a store operation failed. Only the variants' messages (never SQL or paths) may reach a plugin.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The caller passed something the store cannot use, e.g. a cursor it did not issue.
    #[error("{0}")]
    InvalidArgument(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Sizes of the connection pools.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Read-only connections; tool calls run on these in parallel.
    pub readers: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        Self { readers: (cores * 2).max(4) }
    }
}

/// A handle on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
}

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path, options: StoreOptions) -> Result<Self> {
        let base = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across application crashes (kill -9); only an OS crash may lose the
            // last transactions, never corrupt the database.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(base.clone().create_if_missing(true)).await?;
        MIGRATIONS.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.readers)
            .min_connections(1)
            .connect_with(base.read_only(true).pragma("mmap_size", "268435456"))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The pool for reads.
    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

/// Appends `SELECT value FROM json_each(?)`, binding `ids` as one JSON array, for use inside `IN (...)`. The SQL
/// text is the same for any number of ids, so SQLite's prepared statement is reused instead of re-prepared for
/// every batch or page.
fn push_id_list(query: &mut sqlx::QueryBuilder<sqlx::Sqlite>, ids: &[i64]) {
    let json = serde_json::to_string(ids).expect("integers serialize");
    query.push("SELECT value FROM json_each(").push_bind(json).push(")");
}

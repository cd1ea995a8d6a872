//! The copy of the workspace: SQLite in a file (the default), or PostgreSQL shared by replicas ([`postgres`]).
//!
//! One typed API whichever the database: [`Store`] is chosen once, at the edge ([`Store::connect`]), and every
//! public method answers the same on both. SQLite in WAL mode, one writer and a set of readers, lets tool calls
//! read while a sync commits; its SQL lives in this module's files. PostgreSQL's lives in [`postgres`]. Everything
//! outside speaks in the typed filters and records of [`model`] and [`filter`]. Every value reaches SQL as a bound
//! parameter, except the row counts the store computes ([`row_count`]).

mod analytics;
mod api_keys;
mod builder;
mod connect;
mod contacts;
mod conversations;
mod copy;
mod cursor;
mod directory;
pub mod filter;
mod meta;
pub mod model;
mod postgres;
mod prepare;
mod query_syntax;
mod readers;
mod row_count;
mod search_by_tag;
mod search_plan;
mod shared_statement;
mod stored_plugins;
mod sync_state;
mod text;
mod webhook_inbox;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use sqlx::sqlite::{SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

use connect::{connect_options, migrate, use_write_ahead_log};
use cursor::CursorKey;
use readers::Readers;

pub use analytics::{
    Aggregate, CountRow, Dimension, DistributionRow, Distributions, Figure, FigureRange, Grouping, Key,
    MAX_ANALYTICS_ROWS, MAX_DIMENSIONS, MAX_FIGURE_RANGES, MAX_FIGURES, MAX_RATED, MAX_UTC_OFFSET_MINUTES, Period,
    RatedConversation, Rest, RowOrder, Scope, Summary,
};
pub use api_keys::ApiKeyRecord;
pub use builder::StoreBuilder;
pub use copy::{CopyReport, TABLES as COPIED_TABLES};
pub use directory::{
    CompanyDetails, DirectoryEntry, DirectoryKind, DirectoryLookup, DirectoryPage, MAX_DIRECTORY_LIMIT,
};
pub use meta::VersionSeen;
pub use postgres::PostgresOptions;
pub use postgres::leader::Contender;

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    postgres::is_postgres_url(url)
}
pub use prepare::{PreparedWrite, prepare_conversations, prepare_new_conversations};
pub use search_plan::SearchEffort;
#[doc(hidden)]
pub use search_plan::{Access, Plan};
pub use stored_plugins::StoredPlugin;
pub use sync_state::{ResourceState, RunCheckpoint};
pub use text::html_to_text;
pub use webhook_inbox::{MAX_WEBHOOK_ID_BYTES, PendingWebhook, WebhookRefresh};
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
    /// Building a new store file failed (see [`StoreBuilder`]). Only commands build stores, so this message,
    /// which may name files, never reaches a plugin.
    #[error("{0}")]
    Build(String),
    /// A new store was to be built where one exists already (maybe built meanwhile by another process).
    #[error("{} exists already", .0.display())]
    Exists(std::path::PathBuf),
    /// A read under a deadline (see [`Store::until`]) did not finish by then and was stopped.
    #[error("the read did not finish within its deadline")]
    DeadlineExceeded,
    /// The PostgreSQL server could not be reached or refused the connection at start. The message names the
    /// server and the database, never the password.
    #[error("{0}")]
    Connect(String),
    /// What the store was asked cannot be done by its backend (a SQLite file's bulk builder for PostgreSQL).
    #[error("{0}")]
    Unsupported(&'static str),
    /// The store's own work failed after the database answered (a bug, or rows it cannot read back).
    #[error("internal error: {0}")]
    Internal(String),
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

/// Which database a store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connections of a store.
#[derive(Clone, Debug)]
enum Engine {
    /// A file: one writer connection and a fixed set of read-only ones.
    Sqlite { writer: SqlitePool, readers: Arc<Readers> },
    /// A server shared by replicas: one pool.
    Postgres(Arc<postgres::Postgres>),
}

/// A handle on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    engine: Engine,
    /// Commits made through this handle's writer, so caches of what the store says can tell they are stale.
    commits: Arc<AtomicU64>,
    /// The last data generation read (see [`Store::data_generation`]), which other processes' commits advance.
    generation_seen: Arc<AtomicU64>,
    freshness: Arc<meta::FreshnessCache>,
    /// Every tag row as the analytics read it, kept for the data generation it was read at.
    every_tag_row: Arc<analytics::EveryTagRow>,
    /// Signs the cursors this store issues.
    cursor_key: Arc<CursorKey>,
    /// When reads through this handle must end (see [`Store::until`]).
    deadline: Option<Instant>,
    /// Whether reads through this handle are a third-party plugin's (see [`Store::for_third_party`]).
    third_party: bool,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path, options: StoreOptions) -> Result<Self> {
        // WAL + NORMAL is durable across application crashes (kill -9); only an OS crash may lose the last
        // transactions, never corrupt the database.
        let base = connect_options(path).synchronous(SqliteSynchronous::Normal);
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(base.clone().create_if_missing(true)).await?;
        use_write_ahead_log(&writer).await?;
        let cursor_key = migrate(&writer).await?;
        let readers = Readers::open(&base.read_only(true).pragma("mmap_size", "268435456"), options.readers).await?;
        Ok(Self::with(Engine::Sqlite { writer, readers: Arc::new(readers) }, cursor_key))
    }

    /// Connects to the PostgreSQL database at `url` and brings its schema up to date (once, when replicas start
    /// together: sqlx's migrations hold an advisory lock).
    pub async fn open_postgres(url: &str, options: &PostgresOptions) -> Result<Self> {
        let (postgres, cursor_key) = postgres::Postgres::open(url, options).await?;
        Ok(Self::with(Engine::Postgres(Arc::new(postgres)), cursor_key))
    }

    /// A contender for the lead of `role` ("sync") among the replicas sharing this PostgreSQL store. A SQLite
    /// store has no replicas to lead (processes on one file take a file lock instead): `None`.
    pub fn contender(&self, role: &str) -> Option<Contender> {
        self.postgres().map(|postgres| postgres.contender(role))
    }

    /// Which database this store lives in.
    pub fn backend(&self) -> Backend {
        match self.engine {
            Engine::Sqlite { .. } => Backend::Sqlite,
            Engine::Postgres(_) => Backend::Postgres,
        }
    }

    fn with(engine: Engine, cursor_key: CursorKey) -> Self {
        Self {
            engine,
            commits: Arc::default(),
            generation_seen: Arc::new(AtomicU64::new(meta::GENERATION_NOT_READ)),
            freshness: Arc::default(),
            every_tag_row: Arc::default(),
            cursor_key: Arc::new(cursor_key),
            deadline: None,
            third_party: false,
        }
    }

    /// This store, for a third-party plugin's reads: they may hold only half the read connections at once, so a
    /// plugin looping costly queries leaves the rest to the built-in tools, the probes and the sync.
    pub fn for_third_party(&self) -> Self {
        Self { third_party: true, ..self.clone() }
    }

    /// This store, with reads that must end by `deadline`: one that has not started by then fails, and SQLite
    /// stops one that is still running (both as [`StoreError::DeadlineExceeded`]). What a plugin call reads
    /// counts against the call's deadline this way. Cheap: a few reference counts.
    pub fn until(&self, deadline: Instant) -> Self {
        Self { deadline: Some(deadline), ..self.clone() }
    }

    /// Closes the connections, waiting for those in use to be returned.
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite { writer, readers } => {
                readers.close().await;
                writer.close().await;
            }
            Engine::Postgres(postgres) => postgres.close().await,
        }
    }

    /// The PostgreSQL pool, when the store lives there: every public method asks this first.
    fn postgres(&self) -> Option<&postgres::Postgres> {
        match &self.engine {
            Engine::Postgres(postgres) => Some(postgres),
            Engine::Sqlite { .. } => None,
        }
    }

    /// The SQLite writer; an error for a PostgreSQL store (whose methods never get here: they ask
    /// [`Store::postgres`] first).
    fn sqlite_writer(&self) -> Result<&SqlitePool> {
        match &self.engine {
            Engine::Sqlite { writer, .. } => Ok(writer),
            Engine::Postgres(_) => Err(not_sqlite()),
        }
    }

    /// Runs one read (of one statement, as far as possible: see `conversations.rs`) on a read-only connection.
    async fn read<T>(&self, read: impl AsyncFnOnce(&mut SqliteConnection) -> sqlx::Result<T>) -> Result<T> {
        let Engine::Sqlite { readers, .. } = &self.engine else { return Err(not_sqlite()) };
        let mut reader = readers.acquire(self.deadline, self.third_party).await?;
        let value = read(reader.connection()).await.map_err(|error| match readers::is_interrupted(&error) {
            true => StoreError::DeadlineExceeded,
            false => StoreError::Database(error),
        })?;
        reader.done();
        Ok(value)
    }
}

/// SQLite's code reached with a PostgreSQL store: a method that does not dispatch, which is a bug.
fn not_sqlite() -> StoreError {
    StoreError::Unsupported("internal error: a SQLite statement was sent to a PostgreSQL store")
}

/// Appends `SELECT value FROM json_each(?)`, binding `ids` as one JSON array, for use inside `IN (...)`. The SQL
/// text is the same for any number of ids, so SQLite's prepared statement is reused instead of re-prepared for
/// every batch or page.
fn push_id_list(query: &mut sqlx::QueryBuilder<sqlx::Sqlite>, ids: &[i64]) {
    let json = serde_json::to_string(ids).expect("integers serialize");
    query.push("SELECT value FROM json_each(").push_bind(json).push(")");
}

/// Appends a search's total as the column `total`: a scalar subquery counting the rows `from_and_conditions`
/// selects. It refers to nothing of the outer query, so SQLite evaluates it once per statement, and a page and
/// its total are one read. (Totals known more cheaply, such as a tag's count from the tag index, are read by a
/// statement of their own, and a sync committing between the two can make them differ by what it changed.)
fn push_total(
    select: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    from_and_conditions: impl Fn(&mut sqlx::QueryBuilder<sqlx::Sqlite>),
) {
    select.push(", (SELECT count(*)");
    from_and_conditions(select);
    select.push(") AS total");
}

impl Store {
    /// The total of a search whose page is `rows`: what its first row carries (see [`push_total`]); none when the
    /// page is empty and `first_page` (read from the first match on, it would hold one if there were any); else,
    /// when the page has no row to carry it (a cursor past the last match), a count of its own. (Counting an
    /// empty first page again cost as much as the page: "refund invoice" among closed conversations tagged
    /// "login", in relevance order, 2.0–2.7 ms twice.)
    async fn page_total(
        &self,
        rows: &[sqlx::sqlite::SqliteRow],
        first_page: bool,
        from_and_conditions: impl Fn(&mut sqlx::QueryBuilder<sqlx::Sqlite>),
    ) -> Result<u64> {
        use sqlx::Row as _;
        let total: i64 = match rows.first() {
            Some(row) => row.try_get("total")?,
            None if first_page => 0,
            None => {
                let mut count = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT count(*)");
                from_and_conditions(&mut count);
                self.read(async |c| count.build_query_scalar().fetch_one(c).await).await?
            }
        };
        Ok(total as u64)
    }
}

/// A type a row of the database `DB` decodes to (what [`sqlx::Row::try_get`] asks of it).
pub(crate) trait Decodes<'r, DB: sqlx::Database>: sqlx::Decode<'r, DB> + sqlx::Type<DB> {}

impl<'r, DB: sqlx::Database, T: sqlx::Decode<'r, DB> + sqlx::Type<DB>> Decodes<'r, DB> for T {}

/// Decodes a JSON array column that the database built (`json_group_array`, `json_agg`): lists that belong to a
/// row come that way, so a read is one statement (see `conversations.rs`).
fn json_column<'r, R, T>(row: &'r R, column: &'static str) -> Result<T>
where
    R: sqlx::Row,
    T: serde::de::DeserializeOwned,
    &'static str: sqlx::ColumnIndex<R>,
    &'r str: Decodes<'r, R::Database>,
{
    json_text(row.try_get(column)?)
}

/// A JSON column's text, decoded (a column that does not decode is the database's error, as sqlx's are).
fn json_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

//! The store on PostgreSQL: one database shared by every replica of a team's deployment.
//!
//! The same tables as the SQLite store (`migrations/postgres`), read and written through the same [`Store`] API:
//! each public method of the store asks [`Store::postgres`] first and comes here when the store lives in
//! PostgreSQL. Differences that matter:
//!
//! - Full-text search is a `tsvector` column per conversation (and per contact) with a GIN index, ranked with
//!   `ts_rank_cd`, where SQLite has FTS5 tables. Documents and queries are words already split as FTS5 splits
//!   them ([`words`]), so both backends find the same conversations for the same text; a conversation's
//!   document and a search's query are stemmed here, not by the server ([`document`]).
//! - PostgreSQL's planner sees how many rows a text or a filter selects, so a search is one statement of
//!   conditions; the join orders the SQLite store writes into its statements ([`super::search_plan`]) are its
//!   own planner's concern here.
//! - A read's deadline is the call's: a read still running at it is given up and PostgreSQL cancels the
//!   statement (the pool's `statement_timeout` bounds whatever a cancel misses).
//! - Migrations run under sqlx's advisory lock, so replicas starting together migrate once.

pub(super) mod api_keys;
pub(super) mod contacts;
pub(super) mod conversations;
pub(super) mod copy;
pub(super) mod document;
pub(super) mod leader;
pub(super) mod meta;
pub(super) mod shared_statement;
pub(super) mod stored_plugins;
pub(super) mod sync_state;
pub(super) mod webhook_inbox;
pub(super) mod write;

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgConnection, PgPool, Postgres as Pg, Transaction};
use tokio::sync::Semaphore;

use super::cursor::CursorKey;
use super::{Result, Store, StoreError};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How a PostgreSQL store connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections in the pool, shared by reads and writes.
    pub connections: u32,
    /// How long a statement may run at most, whatever asked for it: the bound on a statement whose caller gave
    /// up (a plugin call past its deadline) and whose cancel did not reach the server.
    pub statement_timeout: Duration,
    /// How long connecting (at start, and for a new connection later) may take.
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        Self {
            connections: (cores * 4).max(8),
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Whether `url` names a PostgreSQL database.
pub(super) fn is_postgres_url(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("postgres" | "postgresql"))
}

/// A pool of connections to one database.
#[derive(Clone)]
pub(super) struct Postgres {
    pool: PgPool,
    /// How the pool's connections were made, for connections of their own (see [`leader`]).
    connect: PgConnectOptions,
    /// How many connections third-party plugins' reads may hold at once (half): a plugin looping costly queries
    /// leaves the rest to the built-in tools, the probes and the sync.
    third_party: Arc<Semaphore>,
    /// The longest any statement may run (see [`PostgresOptions::statement_timeout`]).
    statement_timeout: Duration,
}

/// The server and database only: the connect options hold the password.
impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Postgres").field(&describe(&self.connect)).finish()
    }
}

impl Postgres {
    /// Connects, brings the schema up to date and reads (or makes) the store's cursor key.
    pub(super) async fn open(url: &str, options: &PostgresOptions) -> Result<(Self, CursorKey)> {
        let base = PgConnectOptions::from_str(url)
            .map_err(|error| StoreError::Connect(format!("the database URL is not valid: {}", redacted(&error))))?
            .application_name("fastintercom")
            // PostgreSQL's notices ("relation _sqlx_migrations already exists, skipping" on every start) are not
            // the operator's business; warnings and errors still come.
            .options([("client_min_messages", "warning")]);
        let server = describe(&base);
        let cannot_connect = |error: &dyn std::fmt::Display| {
            StoreError::Connect(format!("cannot connect to {server}: {}", redacted(error)))
        };
        // Migrations run on a connection of their own, without the statement bound of the pool's: a migration
        // building an index on a large store (or waiting for another replica's) may take longer.
        let mut migrating = tokio::time::timeout(options.connect_timeout, base.connect())
            .await
            .map_err(|elapsed| cannot_connect(&elapsed))?
            .map_err(|error| cannot_connect(&error))?;
        let cursor_key = migrate(&mut migrating).await.map_err(|error| match error {
            StoreError::Migration(sqlx::migrate::MigrateError::VersionMissing(version)) => StoreError::Connect(format!(
                "the schema of {server} was migrated by a newer fastintercom (its migration {version} is unknown to \
                 this one): upgrade fastintercom; nothing was changed"
            )),
            StoreError::Migration(sqlx::migrate::MigrateError::Execute(error)) | StoreError::Database(error)
                if is_insufficient_privilege(&error) =>
            {
                StoreError::Connect(format!(
                    "cannot bring the schema of {server} up to date: the user lacks the rights to create tables \
                     there ({}); nothing was changed",
                    redacted(&error)
                ))
            }
            StoreError::Migration(error) => {
                StoreError::Connect(format!("cannot bring the schema of {server} up to date: {}", redacted(&error)))
            }
            StoreError::Database(error) => {
                StoreError::Connect(format!("cannot bring the schema of {server} up to date: {}", redacted(&error)))
            }
            other => other,
        });
        migrating.close().await.ok();
        let cursor_key = cursor_key?;
        // Keepalives on the pool's connections too, and a bound on a transaction left open: a replica cut off
        // mid-write must not hold its rows' locks for the hours TCP takes to notice (the next sync leader would
        // wait on them).
        let connect = base.options([
            ("statement_timeout", format!("{}ms", options.statement_timeout.as_millis())),
            ("idle_in_transaction_session_timeout", "60s".to_owned()),
            ("tcp_keepalives_idle", "10".to_owned()),
            ("tcp_keepalives_interval", "5".to_owned()),
            ("tcp_keepalives_count", "3".to_owned()),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(options.connections.max(2))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|error| cannot_connect(&error))?;
        let third_party = Arc::new(Semaphore::new((options.connections.max(2) as usize / 2).max(1)));
        Ok((Self { pool, connect, third_party, statement_timeout: options.statement_timeout }, cursor_key))
    }

    /// A contender for the lead of `role` among the processes sharing this database (see [`leader`]).
    pub(super) fn contender(&self, role: &str) -> leader::Contender {
        leader::Contender::new(&self.connect, role)
    }

    pub(super) async fn close(&self) {
        self.third_party.close();
        self.pool.close().await;
    }

    /// Starts a write transaction (PostgreSQL's default isolation, read committed), whose statements may run for
    /// the store's longest (a read on the connection before may have set less).
    pub(super) async fn begin(&self) -> Result<Transaction<'static, Pg>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(format!("{}ms", self.statement_timeout.as_millis()))
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Vacuums the searched tables after a bulk write and refreshes the planner's statistics of them. Vacuuming
    /// marks the new rows' pages all-visible, so the index-only scans that find a search's window and count its
    /// matches stop reading the table, and moves the GIN indexes' pending entries into the indexes proper. Right
    /// after a demo seed of 100,000 conversations, before autovacuum came by, a ranked full-text search took
    /// p50 35 ms; after this, 13.6 ms.
    pub(super) async fn vacuum_analyze(&self) -> Result<()> {
        let mut connection = self.pool.acquire().await?;
        // VACUUM runs outside a transaction, so the pool's statement bound applies: lifted for it, then restored.
        // A table another maintenance holds is not waited for long: the bulk write is committed, and autovacuum
        // comes by anyway.
        sqlx::query("SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '5s', false)")
            .execute(&mut *connection)
            .await?;
        let vacuumed =
            sqlx::query("VACUUM (ANALYZE) conversations, conversation_tags, conversation_contacts, contacts")
                .execute(&mut *connection)
                .await;
        let restored =
            sqlx::query("SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', '0', false)")
                .bind(format!("{}ms", self.statement_timeout.as_millis()))
                .execute(&mut *connection)
                .await;
        vacuumed?;
        restored?;
        Ok(())
    }
}

/// `host:port/database` of the connect options, for messages (never the user's password).
fn describe(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or("(default database)");
    format!("PostgreSQL at {}:{}, database {database}", options.get_host(), options.get_port())
}

/// An error's message, with anything that looks like a URL's credentials cut out: sqlx's messages quote neither
/// the URL nor the password today, and this keeps it so if one ever does.
fn redacted(error: &dyn std::fmt::Display) -> String {
    let message = error.to_string();
    match (message.find("://"), message.find('@')) {
        (Some(scheme), Some(at)) if scheme < at => format!("{}://…{}", &message[..scheme], &message[at..]),
        _ => message,
    }
}

/// Applies the migrations (under sqlx's advisory lock), brings the search documents up to date and returns the
/// store's cursor key, made on first open.
async fn migrate(connection: &mut PgConnection) -> Result<CursorKey> {
    MIGRATIONS.run(&mut *connection).await?;
    bring_documents_up_to_date(connection).await?;
    // Two statements: a replica that lost the race to insert reads the winner's key with a snapshot taken after
    // the insert waited for it (one statement's snapshot would predate it).
    sqlx::query("INSERT INTO workspace_meta (key, value) VALUES ('cursor_key', $1) ON CONFLICT (key) DO NOTHING")
        .bind(CursorKey::random().to_hex())
        .execute(&mut *connection)
        .await?;
    let key: String = sqlx::query_scalar("SELECT value FROM workspace_meta WHERE key = 'cursor_key'")
        .fetch_one(&mut *connection)
        .await?;
    CursorKey::from_hex(&key)
        .ok_or_else(|| StoreError::Database(sqlx::Error::Configuration("the store's cursor key is malformed".into())))
}

/// Conversations whose documents one transaction of [`bring_documents_up_to_date`] rebuilds.
const DOCUMENTS_PER_REBUILD: i64 = 1_000;

/// Makes every conversation's search document again when the store's were made another way than this version
/// makes them ([`document::DOCUMENT_FORMAT`]): a store written before documents were made here has PostgreSQL's
/// stemming in them, which queries made here would not always match. Under an advisory lock, so replicas
/// starting together rebuild once; in transactions of [`DOCUMENTS_PER_REBUILD`], so the rebuild resumes where a
/// process stopped. A store whose documents a newer fastintercom made is refused, unchanged.
async fn bring_documents_up_to_date(connection: &mut PgConnection) -> Result<()> {
    const FORMAT: &str = "SELECT value FROM workspace_meta WHERE key = 'document_format'";
    let format: Option<String> = sqlx::query_scalar(FORMAT).fetch_optional(&mut *connection).await?;
    if format.as_deref() == Some(document::DOCUMENT_FORMAT) {
        return Ok(());
    }
    const LOCK: &str = "hashtextextended('fastintercom document format' || current_schema(), 0)";
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_advisory_lock({LOCK})"))).execute(&mut *connection).await?;
    let rebuilt = async {
        let format: Option<String> = sqlx::query_scalar(FORMAT).fetch_optional(&mut *connection).await?;
        match format.as_deref() {
            Some(document::DOCUMENT_FORMAT) => return Ok(()),
            Some(newer) => {
                return Err(StoreError::Connect(format!(
                    "the search documents of this store were made by a newer fastintercom ({newer}): upgrade \
                     fastintercom; nothing was changed"
                )));
            }
            None => {}
        }
        // Resumes after the last conversation a stopped rebuild committed.
        let resume: Option<String> =
            sqlx::query_scalar("SELECT value FROM workspace_meta WHERE key = 'document_rebuild_after'")
                .fetch_optional(&mut *connection)
                .await?;
        let mut after = resume.and_then(|value| value.parse::<i64>().ok()).unwrap_or(i64::MIN);
        let mut rebuilt = 0_usize;
        loop {
            let mut tx = connection.begin().await?;
            let rowids: Vec<i64> =
                sqlx::query_scalar("SELECT rowid FROM conversations WHERE rowid > $1 ORDER BY rowid LIMIT $2")
                    .bind(after)
                    .bind(DOCUMENTS_PER_REBUILD)
                    .fetch_all(&mut *tx)
                    .await?;
            let Some(&last) = rowids.last() else {
                sqlx::query(
                    "INSERT INTO workspace_meta (key, value) VALUES ('document_format', $1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(document::DOCUMENT_FORMAT)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM workspace_meta WHERE key = 'document_rebuild_after'")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(());
            };
            write::rebuild_documents(&mut tx, &rowids).await?;
            // Kept answers were computed over the old documents (every batch: a rebuild may stop after any).
            write::advance_generation(&mut tx).await?;
            sqlx::query(
                "INSERT INTO workspace_meta (key, value) VALUES ('document_rebuild_after', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(last.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            if rebuilt == 0 {
                tracing::info!("rebuilding the store's search documents (made by an older fastintercom)");
            }
            rebuilt += rowids.len();
            after = last;
        }
    }
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_advisory_unlock({LOCK})"))).execute(&mut *connection).await?;
    rebuilt
}

impl Store {
    /// Runs one read on a pooled connection, under this handle's deadline (given up at it, and the statement
    /// cancelled) and, for a third-party plugin, within its share of the connections.
    pub(super) async fn read_postgres<T>(
        &self,
        read: impl AsyncFnOnce(&mut PgConnection) -> sqlx::Result<T>,
    ) -> Result<T> {
        let Some(postgres) = self.postgres() else {
            return Err(StoreError::Unsupported("internal error: a PostgreSQL statement was sent to a SQLite store"));
        };
        let work = async {
            let _share = match self.third_party {
                true => Some(postgres.third_party.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?),
                false => None,
            };
            let mut connection = postgres.pool.acquire().await?;
            // The server stops the statement when the deadline passes: a read given up at its deadline (below)
            // must not keep running, holding this connection (sqlx returns it to the pool only once it is idle)
            // and a core of the database's. Set on every read, as the connection's last read may have set less.
            let timeout = self.deadline.map_or(postgres.statement_timeout, |deadline| {
                deadline.saturating_duration_since(std::time::Instant::now()).max(Duration::from_millis(1))
            });
            sqlx::query("SELECT set_config('statement_timeout', $1, false)")
                .bind(format!("{}ms", timeout.as_millis()))
                .execute(&mut *connection)
                .await?;
            read(&mut connection).await.map_err(|error| match is_query_canceled(&error) && self.deadline.is_some() {
                true => StoreError::DeadlineExceeded,
                false => StoreError::from(error),
            })
        };
        match self.deadline {
            None => work.await,
            Some(deadline) => {
                tokio::time::timeout_at(deadline.into(), work).await.unwrap_or(Err(StoreError::DeadlineExceeded))
            }
        }
    }
}

impl Store {
    /// A read that keeps the server busy for `duration` (`pg_sleep`), for tests of what a deadline stops: no
    /// store read is slow on demand. PostgreSQL stores only.
    #[doc(hidden)]
    pub async fn hold_a_read_for_tests(&self, duration: Duration) -> Result<()> {
        let seconds = duration.as_secs_f64();
        self.read_postgres(async |c| sqlx::query("SELECT pg_sleep($1)").bind(seconds).execute(c).await).await?;
        Ok(())
    }
}

/// `text` without NUL characters, which PostgreSQL's `text` cannot hold (SQLite's can): a NUL in Intercom's data
/// would fail every write of its batch, and one in a search argument the search. Writes and reads drop them
/// alike, so a value still finds what was stored of it.
pub(super) fn without_nul(text: &str) -> String {
    text.replace('\0', "")
}

/// Whether PostgreSQL refused for want of a privilege: SQLSTATE 42501.
fn is_insufficient_privilege(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "42501")
}

/// Whether PostgreSQL stopped the statement (its `statement_timeout`, or a cancel): SQLSTATE 57014.
fn is_query_canceled(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "57014")
}

/// Text as FTS5's `unicode61 remove_diacritics 2` tokenizer sees it, as words PostgreSQL's parser keeps as they
/// are: every run of characters other than letters and digits one space (PostgreSQL's parser would keep an
/// email, a URL or a path as one token, so that "acme" would not find "jane@acme.com"), lowercase (here, not by
/// the server, whose folding depends on its locale), and Latin letters without their diacritics ("cafe" finds
/// "Café"). Documents and queries both go through this, so they always agree.
pub(super) fn words(text: &str) -> String {
    let mut words = String::with_capacity(text.len());
    let mut gap = false;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if gap && !words.is_empty() {
                words.push(' ');
            }
            gap = false;
            for lower in ch.to_lowercase() {
                words.push(without_diacritic(lower));
            }
        } else {
            gap = true;
        }
    }
    words
}

/// A Latin letter without its diacritic ("é" → "e"); any other character as it is.
fn without_diacritic(ch: char) -> char {
    let latin = matches!(ch, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}');
    if !latin {
        return ch;
    }
    let mut base = None;
    unicode_normalization::char::decompose_canonical(ch, |part| {
        base.get_or_insert(part);
    });
    base.filter(char::is_ascii_alphabetic).unwrap_or(ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_where_fts5_splits() {
        assert_eq!(words("jane.doe@acme.com"), "jane doe acme com");
        assert_eq!(words("  Refund -- please!! "), "refund please");
        assert_eq!(words("Crème BRÛLÉE, José"), "creme brulee, jose".replace(',', ""));
        assert_eq!(words("ΟΔΟΣ straße ø"), "οδοσ straße ø", "non-Latin letters and letters without a base stay");
        assert_eq!(words("'; DROP TABLE x; --"), "drop table x");
        assert_eq!(words("!!!"), "");
    }

    #[test]
    fn postgres_urls_are_told_from_paths() {
        assert!(is_postgres_url("postgres://localhost/db"));
        assert!(is_postgres_url("PostgreSQL://u:p@h:5432/db"));
        assert!(!is_postgres_url("/var/lib/fastintercom/workspace.sqlite3"));
        assert!(!is_postgres_url("sqlite://x"));
    }

    #[test]
    fn credentials_are_cut_from_messages() {
        let message = redacted(&"cannot parse postgres://user:hunter2@db:5432/x");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("@db:5432/x"), "{message}");
    }
}

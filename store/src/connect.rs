//! How a connection to the store file is made: the settings every connection shares, the switch to WAL and the
//! schema migrations, all safe when several processes open one new store at the same moment.

use std::path::Path;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;

use super::cursor::CursorKey;
use super::{Result, StoreError};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// What every connection to the store shares. Pages are 32 KiB (the setting takes effect when a file is created):
/// a conversation part holds its body twice (HTML and text), and with SQLite's default 4 KiB pages most parts
/// spill onto overflow pages. Building a 100,000-conversation demo store took 4.61–5.01 s with 4 KiB pages,
/// 4.17–4.59 s with 16 KiB, 4.15–4.38 s with 32 KiB and 4.26–4.90 s with 64 KiB (three interleaved runs of
/// `fastintercom demo --conversations 100000` each, 2026-12-05); `fastintercom bench` read latencies did not
/// change.
pub(super) fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .page_size(PAGE_SIZE)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-65536")
}

/// How long a connection waits for another's lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// See [`connect_options`].
const PAGE_SIZE: u32 = 32 * 1024;

/// Puts the store in WAL mode, which stays with the file (for a store in WAL mode already, this changes nothing).
/// Switching a new file takes an exclusive lock that SQLite does not wait for with the busy timeout, so of two
/// processes creating one store at once, one would fail with "database is locked" (this is why sqlx's connect
/// options leave `journal_mode` unset unless asked). So it is retried for as long as the busy timeout would wait.
pub(super) async fn use_write_ahead_log(writer: &SqlitePool) -> Result<()> {
    let switch = || sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL").fetch_one(writer);
    let waits = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(100))
        .without_max_times()
        .with_total_delay(Some(BUSY_TIMEOUT));
    let mode = switch.retry(waits).when(is_busy).await?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(sqlx::Error::Configuration(
            format!("the store stayed in journal mode {mode:?} instead of WAL").into(),
        )));
    }
    Ok(())
}

/// Whether SQLite answered `SQLITE_BUSY` (any of its extended codes): another connection holds a lock.
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    error
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// Brings the schema up to date in one write transaction. sqlx takes no lock for SQLite migrations, so two
/// processes opening a new store at once (`serve` and `sync`, or the servers of two MCP clients) would both
/// apply the first missing migration, and one would fail ("table admins already exists"). `BEGIN IMMEDIATE` takes
/// SQLite's write lock before sqlx reads which migrations are applied: the others wait (the busy timeout), then
/// find the schema current. sqlx runs each migration as a savepoint inside this transaction.
///
/// The same transaction gives the store its cursor key on first open (see [`CursorKey`]), which it returns.
pub(super) async fn migrate(writer: &SqlitePool) -> Result<CursorKey> {
    let mut transaction = writer.begin_with("BEGIN IMMEDIATE").await?;
    MIGRATIONS.run(&mut *transaction).await?;
    sqlx::query("INSERT OR IGNORE INTO workspace_meta (key, value) VALUES ('cursor_key', lower(hex(randomblob(32))))")
        .execute(&mut *transaction)
        .await?;
    let key: String = sqlx::query_scalar("SELECT value FROM workspace_meta WHERE key = 'cursor_key'")
        .fetch_one(&mut *transaction)
        .await?;
    transaction.commit().await?;
    CursorKey::from_hex(&key)
        .ok_or_else(|| StoreError::Database(sqlx::Error::Configuration("the store's cursor key is malformed".into())))
}

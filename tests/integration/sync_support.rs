//! Set-up for the sync tests: a fake Intercom, a client and engine pointed at it, and a fingerprint of every
//! stored row so a synced store can be compared with the fake's dataset exactly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Backend, TestDb, empty_store_on};
use fastintercom::fake_intercom::{FakeIntercom, FakeOptions};
use fastintercom::intercom::{AccessToken, ClientOptions, IntercomClient};
use fastintercom::store::Store;
use fastintercom::sync::SyncEngine;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

pub const TOKEN: &str = "test-token";

/// A fake Intercom with `conversations` conversations (and the usual reference data).
pub async fn fake(conversations: usize) -> FakeIntercom {
    FakeIntercom::start(FakeOptions::new(conversations)).await.expect("fake Intercom starts")
}

/// Client options for `fake` with quick retries, so fault tests stay short.
pub fn client_options(fake: &FakeIntercom) -> ClientOptions {
    let mut options = ClientOptions::new(fake.base_url(), AccessToken::new(TOKEN));
    options.timeout = Duration::from_secs(2);
    options.min_backoff = Duration::from_millis(20);
    options.max_backoff = Duration::from_millis(200);
    options.max_retries = 8;
    options
}

/// An engine syncing `fake` into a fresh store on `backend`.
pub async fn engine(fake: &FakeIntercom, backend: Backend) -> (TestDb, SyncEngine) {
    let (dir, store) = empty_store_on(backend).await;
    let client = Arc::new(IntercomClient::new(client_options(fake)).expect("client"));
    (dir, SyncEngine::new(client, store))
}

/// A store holding exactly what the fake says a perfect sync stores, written through the store's own writers.
pub async fn expected_store(fake: &FakeIntercom, backend: Backend) -> (TestDb, Store) {
    let (dir, store) = empty_store_on(backend).await;
    let mut tx = store.begin_write().await.expect("write");
    tx.upsert_admins(&fake.expected_admins()).await.expect("admins");
    tx.upsert_teams(&fake.expected_teams()).await.expect("teams");
    tx.upsert_tags(&fake.expected_tags()).await.expect("tags");
    tx.upsert_companies(&fake.expected_companies()).await.expect("companies");
    tx.upsert_contacts(&fake.expected_contacts()).await.expect("contacts");
    tx.upsert_conversations(&fake.expected_conversations()).await.expect("conversations");
    tx.commit().await.expect("commit");
    (dir, store)
}

/// Per table: row count and a SHA-256 over every row (ids instead of local rowids), in a stable order.
pub type Fingerprint = BTreeMap<&'static str, (u64, String)>;

/// The tables a sync writes and how to read them independently of local rowids.
const TABLES: &[(&str, &str)] = &[
    ("admins", "SELECT {cols} FROM admins ORDER BY id"),
    ("teams", "SELECT {cols} FROM teams ORDER BY id"),
    ("tags", "SELECT {cols} FROM tags ORDER BY id"),
    ("companies", "SELECT {cols} FROM companies ORDER BY id"),
    ("contacts", "SELECT {cols} FROM contacts ORDER BY id"),
    (
        "contact_companies",
        "SELECT quote(c.id) || ',' || quote(l.company_id) FROM contact_companies l \
         JOIN contacts c ON c.rowid = l.contact_rowid ORDER BY 1",
    ),
    (
        "contact_tags",
        "SELECT quote(c.id) || ',' || quote(l.tag_id) FROM contact_tags l \
         JOIN contacts c ON c.rowid = l.contact_rowid ORDER BY 1",
    ),
    ("conversations", "SELECT {cols} FROM conversations ORDER BY id"),
    ("conversation_contacts", "SELECT {cols} FROM conversation_contacts ORDER BY 1"),
    ("conversation_tags", "SELECT {cols} FROM conversation_tags ORDER BY 1"),
    ("conversation_parts", "SELECT {cols} FROM conversation_parts ORDER BY conversation_rowid, id"),
];

/// The fingerprint of the store of `db`, read through a connection of its own (not a `Store`).
pub async fn fingerprint(db: &TestDb) -> Fingerprint {
    match db.url() {
        None => sqlite_fingerprint(db).await,
        Some(url) => postgres_fingerprint(&url).await,
    }
}

/// Hashes the rows each table's statement returns (one text column each).
async fn hash_tables<'c, E>(executor: E, statements: impl IntoIterator<Item = (&'static str, String)>) -> Fingerprint
where
    E: sqlx::Executor<'c> + Copy,
    String: for<'r> sqlx::Decode<'r, E::Database> + sqlx::Type<E::Database>,
    usize: sqlx::ColumnIndex<<E::Database as sqlx::Database>::Row>,
    for<'q> <E::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<E::Database>,
{
    let mut fingerprint = Fingerprint::new();
    for (table, sql) in statements {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(executor).await.expect("rows");
        let mut hash = Sha256::new();
        for row in &rows {
            hash.update(row.get::<String, _>(0).as_bytes());
            hash.update(b"\n");
        }
        fingerprint.insert(table, (rows.len() as u64, hex::encode(hash.finalize())));
    }
    fingerprint
}

async fn sqlite_fingerprint(db: &TestDb) -> Fingerprint {
    let url = format!("sqlite://{}?mode=ro", db.dir.path().join("workspace.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open database");
    let mut statements = Vec::new();
    for (table, template) in TABLES {
        let columns: Vec<String> =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                .fetch_all(&pool)
                .await
                .expect("columns")
                .iter()
                .map(|row| row.get::<String, _>(0))
                .filter(|name| name != "rowid")
                .collect();
        let cols = columns.iter().map(|c| format!("quote({c})")).collect::<Vec<_>>().join(" || ',' || ");
        statements.push((*table, template.replace("{cols}", &cols)));
    }
    let fingerprint = hash_tables(&pool, statements).await;
    pool.close().await;
    fingerprint
}

async fn postgres_fingerprint(url: &str) -> Fingerprint {
    let pool = sqlx::PgPool::connect(url).await.expect("open database");
    let mut statements = Vec::new();
    for (table, template) in TABLES {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .expect("columns");
        let cols = columns
            .iter()
            .filter(|name| *name != "rowid")
            .map(|c| format!("quote_nullable({c})"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = template.replace("{cols}", &cols).replace("quote(", "quote_nullable(");
        statements.push((*table, sql));
    }
    let fingerprint = hash_tables(&pool, statements).await;
    pool.close().await;
    fingerprint
}

/// Asserts two fingerprints are equal, naming the tables that differ.
pub fn assert_same(actual: &Fingerprint, expected: &Fingerprint, context: &str) {
    let differing: Vec<String> = expected
        .iter()
        .filter(|(table, value)| actual.get(*table) != Some(value))
        .map(|(table, (rows, _))| format!("{table} (expected {rows} rows, got {:?})", actual.get(table).map(|v| v.0)))
        .collect();
    assert!(differing.is_empty(), "{context}: stored data differs from the fake's dataset in {}", differing.join(", "));
}

//! The PostgreSQL store when things go wrong: a server that cannot be reached, a user without rights, a schema
//! from a newer fastintercom, connections killed under a running server, reads past their deadline. Clear errors
//! that name the server but never the password, nothing written, and recovery without a restart.

use std::time::{Duration, Instant};

use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use fastintercom::store::{PostgresOptions, Store, StoreError};
use serde_json::json;

use crate::support::{Backend, TestDb, server_exe};

const SECRET: &str = "hunter2secret";

/// Runs SQL on the test database `db` as the server's superuser.
async fn admin_sql(db: &TestDb, sql: &str) {
    use sqlx::Connection as _;
    let mut connection = sqlx::PgConnection::connect(&db.url().unwrap()).await.expect("admin connection");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut connection).await.expect("admin SQL");
}

async fn admin_count(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection as _;
    let mut connection = sqlx::PgConnection::connect(&db.url().unwrap()).await.expect("admin connection");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut connection).await.expect("admin count")
}

fn page() -> PageRequest {
    PageRequest { limit: 5, cursor: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_one_clear_error_naming_it_without_the_password() {
    let url = format!("postgres://someone:{SECRET}@127.0.0.1:1/inventory");
    let error = Store::open_postgres(&url, &PostgresOptions::default()).await.expect_err("nothing listens on port 1");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Connect(_)), "{error:?}");
    assert!(message.contains("127.0.0.1:1") && message.contains("inventory"), "{message}");
    assert!(!message.contains(SECRET), "{message}");

    // Through the command line: one message, a failure exit, the password nowhere.
    let dir = tempfile::TempDir::new().unwrap();
    let output = std::process::Command::new(server_exe())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["status", "--json"])
        .env("FASTINTERCOM_DATABASE_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("127.0.0.1:1") && stderr.contains("inventory"), "{stderr}");
    assert!(!stderr.contains(SECRET) && !String::from_utf8_lossy(&output.stdout).contains(SECRET), "{stderr}");
    assert!(!dir.path().join("workspace.sqlite3").exists(), "no SQLite store was made instead");

    // A URL that is not PostgreSQL's is refused, not taken for SQLite.
    let output = std::process::Command::new(server_exe())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["status", "--json"])
        .env("FASTINTERCOM_DATABASE_URL", format!("mysql://root:{SECRET}@127.0.0.1/x"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("postgres://"), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_rights_and_a_schema_from_a_newer_version_are_refused_clearly_and_change_nothing() {
    // A user who may connect but not create tables (PostgreSQL 15 gives PUBLIC no CREATE on schema public).
    let db = TestDb::new(Backend::Postgres).await;
    let role = format!("fastintercom_test_reader_{}", std::process::id());
    admin_sql(
        &db,
        &format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
    )
    .await;
    let url = db.url().unwrap().replace("postgres://postgres@", &format!("postgres://{role}:{SECRET}@"));
    let error = Store::open_postgres(&url, &PostgresOptions::default()).await.expect_err("no rights to create tables");
    let message = error.to_string();
    assert!(message.contains("rights") && message.contains("127.0.0.1:5432"), "{message}");
    assert!(!message.contains(SECRET), "{message}");

    // The superuser migrates it; then a migration this version does not know appears, as a newer one would add.
    let store = db.open().await;
    store.close().await;
    admin_sql(
        &db,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, '\\x00', 1)",
    )
    .await;
    let error = Store::open_postgres(&db.url().unwrap(), &PostgresOptions::default()).await.expect_err("newer schema");
    assert!(error.to_string().contains("newer fastintercom"), "{error}");
    let store = Store::open_postgres(&db.url().unwrap(), &PostgresOptions::default()).await;
    assert!(store.is_err(), "still refused: nothing was changed by the failed open");
    drop(db);
    let dropped = format!("DROP ROLE IF EXISTS {role}");
    let mut admin = {
        use sqlx::Connection as _;
        sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await.unwrap()
    };
    // The role owns nothing once its database is gone; dropping it may race the database's drop, so retry.
    for _ in 0..20 {
        if sqlx::query(sqlx::AssertSqlSafe(dropped.clone())).execute(&mut admin).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_past_their_deadline_stop_and_the_connections_serve_on() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.open().await;
    let all = ConversationFilter::default();
    let past = store.until(Instant::now());
    let error = past.search_conversations(&all, ConversationSort::Newest, &page()).await.expect_err("past deadline");
    assert!(matches!(error, StoreError::DeadlineExceeded), "{error:?}");
    // A statement that outlasts its deadline is stopped by the server (SQLSTATE 57014), not left running.
    let soon = store.until(Instant::now() + Duration::from_millis(200));
    let started = Instant::now();
    let slow = soon.hold_a_read_for_tests(Duration::from_secs(5)).await;
    assert!(matches!(slow, Err(StoreError::DeadlineExceeded)), "{slow:?}");
    assert!(started.elapsed() < Duration::from_secs(4), "given up at the deadline: {:?}", started.elapsed());
    // ... and the server stopped it: no statement of the store is still running.
    let mut running = 1;
    for _ in 0..20 {
        running = admin_count(&db, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active' AND datname = current_database()").await;
        if running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(running, 0, "the statement kept running on the server after its deadline");
    // The same connections then read and write without the short bound.
    for _ in 0..8 {
        store.search_conversations(&all, ConversationSort::Newest, &page()).await.expect("a read after the deadlines");
    }
    let mut tx = store.begin_write().await.unwrap();
    tx.mark_synced("demo", 1).await.unwrap();
    tx.commit().await.expect("a write after the deadlines");
    store.close().await;
}

/// Connections killed under a running server (a PostgreSQL restart, `pg_terminate_backend`): a call may fail, as
/// a tool error, and later calls succeed without restarting fastintercom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_connections_cost_at_most_a_failed_call_and_the_server_recovers() {
    let db = TestDb::new(Backend::Postgres).await;
    let args: Vec<String> = [db.database_args(), vec!["--demo-conversations".to_owned(), "40".to_owned()]].concat();
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let mut client = StdioClient::spawn(&server_exe(), db.dir.path(), &args, Era::Modern).await.expect("server starts");
    client.open().await.expect("session");
    let search = json!({"limit": 3});
    let answer = client.call_tool("search_conversations", search.clone()).await.expect("call");
    assert_eq!(answer["structuredContent"]["summary"]["total"], 40, "{answer}");
    for round in 0..3 {
        admin_sql(
            &db,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
        let mut failed = 0;
        loop {
            let answer = client.call_tool("search_conversations", search.clone()).await.expect("the server answers");
            if answer["isError"] != true {
                assert_eq!(answer["structuredContent"]["summary"]["total"], 40, "{answer}");
                break;
            }
            failed += 1;
            assert!(failed <= 2, "round {round}: still failing after the connections were killed: {answer}");
        }
    }
    assert!(client.shutdown().await.expect("shutdown"));
}

/// The ids and total of a text search, newest first.
async fn text_matches(store: &Store, text: &str) -> (Vec<String>, u64) {
    let filter = ConversationFilter { text: Some(text.to_owned()), ..ConversationFilter::default() };
    let page = PageRequest { limit: 100, cursor: None };
    let found = store.search_conversations(&filter, ConversationSort::Newest, &page).await.expect("a text search");
    (found.items.into_iter().map(|c| c.id).collect(), found.total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_documents_made_another_way_are_rebuilt_at_open_and_a_newer_format_is_refused() {
    use fastintercom::demo::{self, DemoOptions};
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.open().await;
    demo::seed(&store, &DemoOptions { conversations: 300, seed: 11, now: 1_790_000_000 }).await.unwrap();
    let before = text_matches(&store, "refunds").await;
    assert!(before.1 > 0, "the demo has refunds");
    store.close().await;

    // As a store written before documents were made by fastintercom: PostgreSQL's stemming (here, none at all),
    // and no format recorded.
    admin_sql(
        &db,
        "UPDATE conversations SET document = to_tsvector('simple', coalesce(source_subject, '')); \
         DELETE FROM workspace_meta WHERE key = 'document_format'",
    )
    .await;
    let generation = admin_count(&db, "SELECT value::bigint FROM workspace_meta WHERE key = 'data_generation'").await;
    let store = db.open().await;
    assert_eq!(text_matches(&store, "refunds").await, before, "the documents were made again");
    let recorded = "SELECT count(*) FROM workspace_meta WHERE key = 'document_format' AND value <> ''";
    assert_eq!(admin_count(&db, recorded).await, 1);
    assert_eq!(admin_count(&db, "SELECT count(*) FROM workspace_meta WHERE key = 'document_rebuild_after'").await, 0);
    let advanced = admin_count(&db, "SELECT value::bigint FROM workspace_meta WHERE key = 'data_generation'").await;
    assert!(advanced > generation, "kept answers made over the old documents are not served again");
    store.close().await;

    // Documents a newer fastintercom made (another stemming): refused, and left as they are.
    admin_sql(&db, "UPDATE workspace_meta SET value = 'from-the-future' WHERE key = 'document_format'").await;
    let checksum = "SELECT hashtext(string_agg(document::text, '' ORDER BY rowid))::bigint FROM conversations";
    let documents = admin_count(&db, checksum).await;
    let error = Store::open_postgres(&db.url().unwrap(), &PostgresOptions::default()).await.expect_err("newer format");
    assert!(error.to_string().contains("newer fastintercom"), "{error}");
    assert_eq!(admin_count(&db, checksum).await, documents, "nothing was changed");
}

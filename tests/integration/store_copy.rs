//! `fastintercom store copy --to postgres://...`: the demo workspace (with an API key, sync checkpoints, a
//! pending webhook delivery and an installed plugin) lands in PostgreSQL row for row and answers the same searches; a non-empty target, a
//! copy killed half-way, bad URLs and an unreachable server change nothing and say why.

use std::process::Stdio;
use std::time::Duration;

use fastintercom::store::filter::{ContactFilter, ConversationFilter, ConversationSort, PageRequest};
use fastintercom::store::model::ContactRecord;
use fastintercom::store::{COPIED_TABLES, RunCheckpoint, Store, WebhookRefresh};
use sqlx::Row as _;
use tokio::io::AsyncBufReadExt as _;

use crate::http_support::create_key;
use crate::support::{Backend, TestDb, demo_data_dir, demo_postgres, server_exe};

/// A SQLite test location holding a copy of the shared demo workspace.
async fn demo_source() -> TestDb {
    let db = TestDb::new(Backend::Sqlite).await;
    std::fs::copy(demo_data_dir().join("workspace.sqlite3"), db.dir.path().join("workspace.sqlite3")).unwrap();
    db
}

fn copy_command(source: &TestDb, to: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(server_exe());
    command.arg("--data-dir").arg(source.dir.path()).args(["store", "copy", "--to", to]).kill_on_drop(true);
    command
}

/// Runs the copy; its success, stdout and stderr.
async fn copy(source: &TestDb, to: &str) -> (bool, String, String) {
    let output = copy_command(source, to).output().await.expect("store copy runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Every row of every copied table of `sqlite` and of `postgres`, each rendered the same way whichever the
/// database (PostgreSQL's columns but the search document, booleans as 0/1, rowids included: a copy keeps
/// them), sorted; the stores' own cursor keys and data generations left out.
async fn rows_of_both(sqlite: &TestDb, postgres: &TestDb) -> Vec<(&'static str, Vec<String>, Vec<String>)> {
    let lite = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        sqlite.dir.path().join("workspace.sqlite3").display()
    ))
    .await
    .unwrap();
    let pg = sqlx::PgPool::connect(&postgres.url().unwrap()).await.unwrap();
    let mut tables = Vec::new();
    for table in COPIED_TABLES {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'document' \
             ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&pg)
        .await
        .unwrap();
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        // Each store's own keys (its cursor key, its data generation, how PostgreSQL's search documents are made).
        let own = " WHERE key NOT IN ('cursor_key', 'data_generation', 'document_format')";
        let filter = if table == "workspace_meta" { own } else { "" };
        let sql = format!("SELECT {} FROM {table}{filter}", names.join(", "));
        let mut from_sqlite = Vec::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&lite).await.unwrap() {
            let values = columns.iter().enumerate().map(|(i, (_, kind))| match kind.as_str() {
                "bigint" | "integer" | "boolean" => format!("{:?}", row.get::<Option<i64>, _>(i)),
                "double precision" => format!("{:?}", row.get::<Option<f64>, _>(i)),
                "bytea" => format!("{:?}", row.get::<Option<Vec<u8>>, _>(i)),
                _ => format!("{:?}", row.get::<Option<String>, _>(i)),
            });
            from_sqlite.push(values.collect::<Vec<_>>().join(","));
        }
        let mut from_postgres = Vec::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pg).await.unwrap() {
            let values = columns.iter().enumerate().map(|(i, (_, kind))| match kind.as_str() {
                "bigint" => format!("{:?}", row.get::<Option<i64>, _>(i)),
                "integer" => format!("{:?}", row.get::<Option<i32>, _>(i).map(i64::from)),
                "boolean" => format!("{:?}", row.get::<Option<bool>, _>(i).map(i64::from)),
                "double precision" => format!("{:?}", row.get::<Option<f64>, _>(i)),
                "bytea" => format!("{:?}", row.get::<Option<Vec<u8>>, _>(i)),
                _ => format!("{:?}", row.get::<Option<String>, _>(i)),
            });
            from_postgres.push(values.collect::<Vec<_>>().join(","));
        }
        from_sqlite.sort();
        from_postgres.sort();
        tables.push((table, from_sqlite, from_postgres));
    }
    lite.close().await;
    pg.close().await;
    tables
}

/// Asserts the copy holds exactly the source's rows, naming the first difference.
async fn assert_copied_exactly(source: &TestDb, target: &TestDb, context: &str) {
    for (table, expected, actual) in rows_of_both(source, target).await {
        assert_eq!(
            actual.len(),
            expected.len(),
            "{context}: {table} has {} rows, not {}",
            actual.len(),
            expected.len()
        );
        if let Some((a, e)) = actual.iter().zip(&expected).find(|(a, e)| a != e) {
            panic!("{context}: {table} differs:\n copied {a}\n source {e}");
        }
        assert!(
            !expected.is_empty() || !["conversations", "contacts", "conversation_parts"].contains(&table),
            "{table} is empty"
        );
    }
}

/// What the fingerprint does not cover: keys, checkpoints, pending deliveries, where the data came from.
async fn the_rest(store: &Store) -> String {
    let freshness = store.freshness().await.unwrap();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?} {:?}",
        store.plugin_identities().await.unwrap(),
        store.api_keys().await.unwrap(),
        store.sync_states().await.unwrap(),
        store.pending_webhooks(i64::MAX, 100).await.unwrap(),
        freshness.source,
        freshness.last_synced_at,
    )
}

/// The ids a few searches find, full-text ones included (their documents are built by the copy).
async fn answers(store: &Store) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for text in [Some("refund"), Some("invoice billing"), None] {
        let filter = ConversationFilter { text: text.map(str::to_owned), ..ConversationFilter::default() };
        let sort = if text.is_some() { ConversationSort::Relevance } else { ConversationSort::Updated };
        let page = store.search_conversations(&filter, sort, &PageRequest { limit: 20, cursor: None }).await.unwrap();
        found.push(page.items.iter().map(|c| c.id.clone()).chain([page.total.to_string()]).collect());
    }
    let filter = ContactFilter { text: Some("a".to_owned()), ..ContactFilter::default() };
    let page = store.search_contacts(&filter, &PageRequest { limit: 20, cursor: None }).await.unwrap();
    found.push(page.items.iter().map(|c| c.id.clone()).chain([page.total.to_string()]).collect());
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_round_trips_the_demo_workspace_exactly_and_refuses_a_second_copy() {
    let source = demo_source().await;
    create_key(source.dir.path(), "support-bot", Some("search_*"));
    let store = source.open().await;
    store.record_sync_error("contacts", "Intercom answered 503", 1_790_000_100).await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    let checkpoint = RunCheckpoint { since: 1_789_000_000, started_at: 1_790_000_000, cursor: Some("c2".into()) };
    tx.save_run_progress("conversations", &checkpoint).await.unwrap();
    tx.commit().await.unwrap();
    let delivery = WebhookRefresh::Conversation("42".to_owned());
    assert!(store.accept_webhook("notif_copy", &delivery, 1_790_000_200_000).await.unwrap());
    let probe = (fastintercom_tests::PROBE_WASM, fastintercom_tests::PROBE_MANIFEST, Some("c2lnbmF0dXJl"));
    store.install_plugin("probe", probe, "probe-identity", 1_790_000_300).await.unwrap();
    let (expected_rest, expected_answers) = (the_rest(&store).await, answers(&store).await);
    store.close().await;

    let target = TestDb::new(Backend::Postgres).await;
    let url = target.url().unwrap();
    let (copied, stdout, stderr) = copy(&source, &url).await;
    assert!(copied, "{stderr}");
    assert!(stdout.contains("conversations") && stdout.contains("copied"), "{stdout}");
    assert_copied_exactly(&source, &target, "after store copy").await;
    let copy_store = target.open().await;
    assert_eq!(the_rest(&copy_store).await, expected_rest);
    // The same matches; ranked like the demo seeded straight into PostgreSQL (bm25 and ts_rank_cd order ties and
    // near-ties apart), so the copy's search documents are the ones a sync writes.
    let copied_answers = answers(&copy_store).await;
    let totals = |answers: &[Vec<String>]| answers.iter().map(|ids| ids.last().cloned()).collect::<Vec<_>>();
    assert_eq!(totals(&copied_answers), totals(&expected_answers));
    assert_eq!(copied_answers[2], expected_answers[2], "newest first, unranked");
    let seeded = demo_postgres().open().await;
    assert_eq!(copied_answers, answers(&seeded).await, "ranked as a store seeded on PostgreSQL");
    seeded.close().await;

    // Again: the target holds data now, so nothing is written, and the message says which.
    let (copied, _, stderr) = copy(&source, &url).await;
    assert!(!copied && stderr.contains("not empty"), "{stderr}");
    assert_copied_exactly(&source, &target, "after a refused second copy").await;
    // New contacts are numbered after the copied ones (a sync after the move adds some), and found.
    let mut tx = copy_store.begin_write().await.unwrap();
    let contact = ContactRecord {
        id: "after-the-move".to_owned(),
        role: "user".to_owned(),
        name: Some("Quillon Moved".to_owned()),
        created_at: 1_790_000_300,
        updated_at: 1_790_000_300,
        ..ContactRecord::default()
    };
    tx.upsert_contacts(&[contact]).await.unwrap();
    tx.commit().await.unwrap();
    let filter = ContactFilter { text: Some("quillon".to_owned()), ..ContactFilter::default() };
    let page = copy_store.search_contacts(&filter, &PageRequest { limit: 5, cursor: None }).await.unwrap();
    assert_eq!(page.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["after-the-move"]);
    copy_store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_killed_half_way_leaves_the_target_empty_and_runs_again() {
    let source = demo_source().await;
    let target = TestDb::new(Backend::Postgres).await;
    let url = target.url().unwrap();
    let mut child = copy_command(&source, &url).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push_str(&line);
        if line.contains("copying conversation_parts") {
            break;
        }
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(seen.contains("copying conversations"), "the copy never got half-way: {seen}");
    let store = target.open().await;
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.conversations, counts.contacts, counts.admins), (0, 0, 0), "a partial copy landed");
    store.close().await;

    let (copied, _, stderr) = tokio::time::timeout(Duration::from_secs(120), copy(&source, &url)).await.unwrap();
    assert!(copied, "the second run: {stderr}");
    assert_copied_exactly(&source, &target, "after the second run").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_refuses_what_it_cannot_copy_into_and_names_no_password() {
    let source = demo_source().await;
    let (copied, _, stderr) = copy(&source, "mysql://root@127.0.0.1/x").await;
    assert!(!copied && stderr.contains("postgres://"), "{stderr}");
    let (copied, _, stderr) = copy(&source, "postgres://fi:hunter2@127.0.0.1:1/team").await;
    assert!(!copied && stderr.contains("127.0.0.1") && stderr.contains("team"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
    let empty = TestDb::new(Backend::Sqlite).await;
    let target = TestDb::new(Backend::Postgres).await;
    let (copied, _, stderr) = copy(&empty, &target.url().unwrap()).await;
    assert!(!copied && stderr.contains("no SQLite store"), "{stderr}");
}

//! Seeding a real store: what lands in SQLite must be exactly what the in-memory oracle says, and the
//! release-mode throughput benchmark.

use std::collections::BTreeSet;

use super::*;
use crate::store::StoreOptions;
use crate::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use crate::store::model::ConversationState;

/// 2024-06-01T00:00:00Z, as in the generation tests.
const NOW: i64 = 1_717_200_000;

fn options(conversations: usize) -> DemoOptions {
    DemoOptions { conversations, seed: 42, now: NOW }
}

async fn count(pool: &sqlx::SqlitePool, table: &str) -> usize {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap() as usize
}

/// The indexes of the conversations a search finds, checking that every sort order finds the same set.
async fn search_indices(store: &Store, ws: &DemoWorkspace, filter: ConversationFilter) -> BTreeSet<usize> {
    let page = PageRequest { limit: 1000, cursor: None };
    let mut sets = Vec::new();
    for sort in [ConversationSort::Relevance, ConversationSort::Newest, ConversationSort::Updated] {
        let found = store.search_conversations(&filter, sort, &page).await.unwrap_or_else(|e| panic!("{sort:?}: {e}"));
        assert!(found.next_cursor.is_none());
        assert_eq!(found.total as usize, found.items.len());
        sets.push(found.items.iter().map(|c| ws.conversation_index(&c.id).expect("a demo conversation")).collect());
    }
    assert!(sets.windows(2).all(|pair| pair[0] == pair[1]), "sort orders disagree");
    sets.remove(0)
}

#[tokio::test]
async fn seeding_stores_exactly_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let store = Store::open(&path, StoreOptions::default()).await.unwrap();
    let options = options(2_000);
    let report = seed(&store, &options).await.unwrap();
    let ws = generate(&options);
    let oracle: Vec<ConversationRecord> = ws.conversations().collect();
    assert_eq!(report.conversations, 2_000);
    assert_eq!(report.parts, oracle.iter().map(|c| c.parts.len()).sum::<usize>());
    assert_eq!(
        (report.contacts, report.companies, report.admins),
        (ws.contacts.len(), ws.companies.len(), ws.admins.len())
    );

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
    assert_eq!(count(&pool, "conversations").await, report.conversations);
    assert_eq!(count(&pool, "conversation_parts").await, report.parts);
    assert_eq!(count(&pool, "contacts").await, report.contacts);
    assert_eq!(count(&pool, "companies").await, report.companies);
    assert_eq!(count(&pool, "admins").await, report.admins);
    assert_eq!(count(&pool, "teams").await, report.teams);
    assert_eq!(count(&pool, "tags").await, report.tags);
    let freshness = store.freshness().await.unwrap();
    assert_eq!((freshness.source.as_str(), freshness.last_synced_at), ("demo", Some(NOW)));

    let text = |word: &str| ConversationFilter { text: Some(word.to_owned()), ..ConversationFilter::default() };
    assert_eq!(search_indices(&store, &ws, text(MARKER_WORD)).await, ws.marker_indices().collect());
    assert_eq!(search_indices(&store, &ws, text(PART_MARKER_WORD)).await, BTreeSet::from([PART_MARKER_INDEX]));
    let snoozed = ConversationFilter { states: vec![ConversationState::Snoozed], ..ConversationFilter::default() };
    let expected: BTreeSet<usize> =
        (0..oracle.len()).filter(|i| oracle[*i].state == Some(ConversationState::Snoozed)).collect();
    assert_eq!(search_indices(&store, &ws, snoozed).await, expected);

    let detail = store.get_conversation(&ws.conversation_id(PART_MARKER_INDEX)).await.unwrap().unwrap();
    assert_eq!(detail.parts.len(), oracle[PART_MARKER_INDEX].parts.len());
    assert!(detail.parts.iter().any(|p| { p.body.as_deref().is_some_and(|b| b.contains(PART_MARKER_WORD)) }));

    // Seeding again replaces rather than duplicates.
    seed(&store, &options).await.unwrap();
    assert_eq!(count(&pool, "conversation_parts").await, report.parts);
    pool.close().await;
    store.close().await;
}

#[tokio::test]
async fn seeding_nothing_works() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("empty.db"), StoreOptions::default()).await.unwrap();
    let report = seed(&store, &DemoOptions { conversations: 0, seed: 1, now: NOW }).await.unwrap();
    assert_eq!((report.conversations, report.parts, report.contacts), (0, 0, 50));
    assert_eq!(store.conversation_count().await.unwrap(), 0);
    store.close().await;
}

#[tokio::test]
async fn building_a_new_store_gives_an_ordinary_store_holding_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("built.db");
    let options = options(1_500);
    let report = build_store(&path, &options).await.unwrap().expect("nothing at the path: built");
    let ws = generate(&options);
    assert_eq!(report.conversations, 1_500);
    let entries = file_names(dir.path());
    assert_eq!(entries, ["built.db"], "nothing of the build is left beside the store");

    let store = Store::open(&path, StoreOptions::default()).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
    let pragma = |name: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "SELECT CAST({name} AS TEXT) FROM pragma_{name}"
            )))
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal", "built without a journal, served in WAL mode");
    assert_eq!(pragma("page_size").await, "32768");
    assert_eq!(count(&pool, "conversations").await, 1_500);
    assert_eq!(count(&pool, "conversation_parts").await, report.parts);
    assert_eq!(count(&pool, "contacts").await, ws.contacts.len());
    let text = |word: &str| ConversationFilter { text: Some(word.to_owned()), ..ConversationFilter::default() };
    assert_eq!(search_indices(&store, &ws, text(MARKER_WORD)).await, ws.marker_indices().collect());
    let freshness = store.freshness().await.unwrap();
    assert_eq!((freshness.source.as_str(), freshness.last_synced_at), ("demo", Some(NOW)));

    // An ordinary store from here on: seeding it again replaces rather than duplicates.
    seed(&store, &options).await.unwrap();
    assert_eq!(count(&pool, "conversation_parts").await, report.parts);
    pool.close().await;
    store.close().await;
}

#[tokio::test]
async fn building_never_replaces_a_store_and_discards_what_an_interrupted_build_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.db");
    std::fs::write(&path, b"an existing store").unwrap();
    assert!(build_store(&path, &options(10)).await.unwrap().is_none(), "a store is there: none is built");
    assert_eq!(std::fs::read(&path).unwrap(), b"an existing store");
    assert_eq!(file_names(dir.path()), ["workspace.db"], "not even a lock file is left beside it");

    std::fs::remove_file(&path).unwrap();
    std::fs::write(dir.path().join("workspace.db.building"), b"half a store").unwrap();
    std::fs::write(dir.path().join("workspace.db.building-journal"), b"its journal").unwrap();
    std::fs::write(dir.path().join("workspace.db-wal"), b"the log of a store deleted without it").unwrap();
    build_store(&path, &options(10)).await.unwrap().expect("built");
    let entries = file_names(dir.path());
    assert_eq!(entries, ["workspace.db"]);
    let store = Store::open(&path, StoreOptions::default()).await.unwrap();
    assert_eq!(store.conversation_count().await.unwrap(), 10);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builders_of_one_path_take_turns_and_only_the_first_builds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.db");
    let options = options(300);
    let builds = futures_util::future::join_all((0..3).map(|_| build_store(&path, &options))).await;
    let built: Vec<bool> = builds.into_iter().map(|build| build.unwrap().is_some()).collect();
    assert_eq!(built.iter().filter(|b| **b).count(), 1, "{built:?}");
    let entries = file_names(dir.path());
    assert_eq!(entries, ["workspace.db"], "no build file or lock file is left");
    let store = Store::open(&path, StoreOptions::default()).await.unwrap();
    assert_eq!(store.conversation_count().await.unwrap(), 300);
    store.close().await;
}

#[tokio::test]
async fn a_store_that_appears_while_building_is_kept_and_the_new_one_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.db");
    let builder = crate::store::StoreBuilder::start(&path).await.unwrap();
    let other = Store::open(&path, StoreOptions::default()).await.unwrap();
    let refused = builder.finish().await.unwrap_err();
    assert!(matches!(refused, crate::store::StoreError::Exists(_)), "{refused}");
    assert_eq!(other.conversation_count().await.unwrap(), 0, "the store that appeared is untouched");
    other.close().await;
    let leftovers: Vec<String> = file_names(dir.path()).into_iter().filter(|name| name.contains("build")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_store_being_built_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let builder = crate::store::StoreBuilder::start(&dir.path().join("new.db")).await.unwrap();
    assert!(builder.store().conversation_count().await.is_err(), "a read fails at once instead of waiting");
    builder.finish().await.unwrap();
    assert!(dir.path().join("new.db").exists());
}

#[tokio::test]
async fn seeding_a_store_judged_empty_that_another_process_filled_meanwhile_replaces_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db"), StoreOptions::default()).await.unwrap();
    // The other process wrote one batch's worth; this one, which judged the store empty before, writes a batch
    // that collides with it and one more after the collision.
    seed(&store, &options(CONVERSATION_BATCH)).await.unwrap();
    let options = options(CONVERSATION_BATCH + 100);
    let report = write_workspace(&store, &options, true, std::time::Instant::now()).await.unwrap();
    assert_eq!(report.conversations, CONVERSATION_BATCH + 100);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.conversations, counts.parts), (report.conversations as u64, report.parts as u64));
    let ws = generate(&options);
    let text = |word: &str| ConversationFilter { text: Some(word.to_owned()), ..ConversationFilter::default() };
    assert_eq!(search_indices(&store, &ws, text(MARKER_WORD)).await, ws.marker_indices().collect());
    store.close().await;
}

#[tokio::test]
async fn writing_as_new_what_is_stored_already_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db"), StoreOptions::default()).await.unwrap();
    let options = options(20);
    let report = seed(&store, &options).await.unwrap();
    let records: Vec<ConversationRecord> = generate(&options).conversations().collect();
    let mut tx = store.begin_write().await.unwrap();
    let refused =
        tx.apply(crate::store::prepare_new_conversations(crate::store::Backend::Sqlite, &records).unwrap()).await;
    assert!(refused.is_err(), "rows that exist collide instead of being written twice");
    drop(tx);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.conversations, counts.parts), (20, report.parts as u64));
    store.close().await;
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

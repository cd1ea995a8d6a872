//! The sync engine against a fake Intercom that speaks the real endpoints: full and incremental syncs equal the
//! fake's dataset exactly, faults and kills lose and duplicate nothing, pacing avoids 429s, webhooks refresh.

use std::time::{Duration, Instant};

use fastintercom::fake_intercom::{FakeIntercom, FakeOptions, Fault};
use fastintercom::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use fastintercom::store::model::ConversationState;
use fastintercom::sync::{self, NoProgress, SyncOptions};

use crate::support::{Backend, on_both_backends};
use crate::sync_support::{assert_same, engine, expected_store, fake, fingerprint};

fn requests(fake: &FakeIntercom, route: &str) -> u64 {
    fake.stats().routes.get(route).copied().unwrap_or(0)
}

async fn a_full_sync_stores_the_whole_workspace_exactly_and_a_second_sync_changes_nothing(backend: Backend) {
    let mut options = FakeOptions::new(420);
    options.long_conversation = Some(5);
    let fake = FakeIntercom::start(options).await.expect("fake starts");
    let (dir, engine) = engine(&fake, backend).await;

    let report = engine.run(&SyncOptions::default(), &NoProgress).await.expect("full sync");
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    let expected = fingerprint(&expected_dir).await;
    assert_same(&fingerprint(&dir).await, &expected, "after a full sync");
    assert_eq!(expected["conversations"].0, 420);
    assert_eq!(report.resource(sync::CONVERSATIONS).map(|r| r.written), Some(420));
    assert_eq!(report.rate_limited, 0);

    // The conversation with more parts than Intercom returns is stored with the latest 500 and marked truncated.
    let long = fake.expected_conversations().into_iter().nth(5).expect("conversation 5");
    let stored = engine.store().get_conversation(&long.id).await.expect("read").expect("stored");
    assert_eq!(stored.parts.len(), 500);
    assert!(stored.parts_truncated);

    fake.reset_stats();
    let again = engine.run(&SyncOptions::default(), &NoProgress).await.expect("second sync");
    assert_same(&fingerprint(&dir).await, &expected, "after syncing twice");
    assert_eq!(requests(&fake, "GET /conversations/{id}"), 0, "nothing changed, so nothing is retrieved");
    assert_eq!(again.resource(sync::CONVERSATIONS).map(|r| r.written), Some(0));
    let status = engine.store().sync_states().await.expect("status");
    assert!(status.iter().all(|s| s.last_error.is_none() && s.run.is_none() && s.last_success_at.is_some()));
    assert_eq!(engine.store().freshness().await.expect("freshness").source, "intercom");
}

async fn an_incremental_sync_fetches_what_changed_and_nothing_else(backend: Backend) {
    let fake = fake(600).await;
    let (dir, engine) = engine(&fake, backend).await;
    engine.run(&SyncOptions::default(), &NoProgress).await.expect("first sync");

    let ids: Vec<String> = fake.expected_conversations().iter().map(|c| c.id.clone()).collect();
    let contact_id = fake.expected_contacts()[3].id.clone();
    fake.advance(3_600);
    fake.add_part(&ids[10], "<p>The zanzibarite gasket leaks again.</p>");
    fake.update_conversation(&ids[20], |c| {
        c.state = Some(ConversationState::Closed);
        c.open = false;
    });
    let created = fake.create_conversation();
    fake.delete_conversation(&ids[30]);
    fake.update_contact(&contact_id, |c| c.name = Some("Renamed Person".to_owned()));
    fake.advance(60);
    fake.reset_stats();

    let report = engine.run(&SyncOptions::default(), &NoProgress).await.expect("incremental sync");
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    assert_same(&fingerprint(&dir).await, &fingerprint(&expected_dir).await, "incremental");

    assert_eq!(requests(&fake, "GET /conversations/{id}"), 3, "the updated, the replied-to and the new conversation");
    assert_eq!(requests(&fake, "POST /conversations/search"), 1);
    assert_eq!(requests(&fake, "GET /conversations/deleted"), 1);
    assert_eq!(requests(&fake, "POST /contacts/search"), 1);
    assert_eq!(requests(&fake, "GET /companies/scroll"), 0, "companies are scrolled on the first sync only");
    assert_eq!(fake.stats().total, 3 + 3 + 1 + 1 + 1, "admins, teams, tags; 3 retrieves; three listings");
    assert_eq!(report.resource(sync::DELETED_CONVERSATIONS).map(|r| r.deleted), Some(1));
    assert_eq!(report.resource(sync::CONTACTS).map(|r| r.written), Some(1));

    // The full-text index follows: the new part's words find its conversation, the deleted one is gone.
    let store = engine.store();
    let filter = ConversationFilter { text: Some("zanzibarite".to_owned()), ..ConversationFilter::default() };
    let found = store
        .search_conversations(&filter, ConversationSort::Relevance, &PageRequest { limit: 10, cursor: None })
        .await
        .expect("search");
    assert_eq!(found.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![ids[10].as_str()]);
    assert!(store.get_conversation(&ids[30]).await.expect("read").is_none());
    assert!(store.get_conversation(&created).await.expect("read").is_some());
}

async fn every_kind_of_fault_during_a_sync_still_ends_with_the_exact_dataset(backend: Backend) {
    let faults = [
        Fault::TooManyRequests,
        Fault::ServerError,
        Fault::BadGateway,
        Fault::Slow(Duration::from_millis(2_500)),
        Fault::DropConnection,
        Fault::TruncatedJson,
    ];
    let fake = fake(300).await;
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    let expected = fingerprint(&expected_dir).await;
    for fault in faults {
        let (dir, engine) = engine(&fake, backend).await;
        fake.reset_stats();
        // Faults hit the first requests (reference data) and, injected again once the sync is under way,
        // conversation searches and retrieves.
        fake.inject(fault.clone(), 2);
        let options = SyncOptions::default();
        let run = engine.run(&options, &NoProgress);
        let inject_later = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            fake.inject(fault.clone(), 3);
        };
        let (result, ()) = tokio::join!(run, inject_later);
        result.unwrap_or_else(|error| panic!("sync with {fault:?} failed: {error}"));
        assert!(fake.stats().faults_injected >= 2, "{fault:?} was not injected");
        assert_same(&fingerprint(&dir).await, &expected, &format!("with {fault:?}"));
    }
}

async fn with_a_rate_limit_a_full_sync_sees_no_429_after_the_first_window(backend: Backend) {
    let mut options = FakeOptions::new(2_200);
    options.rate_limit_per_minute = Some(10_000);
    let fake = FakeIntercom::start(options).await.expect("fake starts");
    let (dir, engine) = engine(&fake, backend).await;
    let started = Instant::now();
    let report = engine.run(&SyncOptions::default(), &NoProgress).await.expect("sync");
    let window = Duration::from_secs(10);
    assert!(report.requests > 1_667, "the sync must outlast one window to test pacing ({} requests)", report.requests);
    let stats = fake.stats();
    if let Some(last) = stats.last_429_at {
        assert!(last.duration_since(started) < window, "a 429 came after the first window: {stats:?}");
    }
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    assert_same(&fingerprint(&dir).await, &fingerprint(&expected_dir).await, "rate limited");
}

async fn a_full_resync_still_removes_what_was_deleted_since_the_last_run(backend: Backend) {
    let fake = fake(200).await;
    let (dir, engine) = engine(&fake, backend).await;
    engine.run(&SyncOptions::default(), &NoProgress).await.expect("first sync");
    let gone = fake.expected_conversations()[50].id.clone();
    fake.advance(600);
    fake.delete_conversation(&gone);
    fake.advance(60);
    let full = SyncOptions { full: true, ..SyncOptions::default() };
    engine.run(&full, &NoProgress).await.expect("full sync");
    assert!(engine.store().get_conversation(&gone).await.expect("read").is_none());
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    assert_same(&fingerprint(&dir).await, &fingerprint(&expected_dir).await, "after --full");
}

on_both_backends!(
    a_full_sync_stores_the_whole_workspace_exactly_and_a_second_sync_changes_nothing,
    an_incremental_sync_fetches_what_changed_and_nothing_else,
    every_kind_of_fault_during_a_sync_still_ends_with_the_exact_dataset,
    with_a_rate_limit_a_full_sync_sees_no_429_after_the_first_window,
    a_full_resync_still_removes_what_was_deleted_since_the_last_run,
);

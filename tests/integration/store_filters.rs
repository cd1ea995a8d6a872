//! The store on hand-written fixture data: migrations on an empty database, every filter, sorts, cursors.

use fastintercom::store::filter::{ContactFilter, ConversationFilter, ConversationSort, PageRequest};
use fastintercom::store::model::{
    Author, CompanyRecord, ContactRecord, ConversationRecord, ConversationState, PartRecord, Priority, Source,
    TagRecord,
};
use fastintercom::store::{Store, StoreError};

use crate::support::{Backend, TestDb, empty_store_on, on_both_backends};

fn conversation(id: &str, created_at: i64, body: &str) -> ConversationRecord {
    ConversationRecord {
        id: id.to_owned(),
        state: Some(ConversationState::Open),
        open: true,
        created_at,
        updated_at: created_at + 10,
        source: Source {
            kind: "conversation".to_owned(),
            body_html: format!("<p>{body}</p>"),
            author: Author { kind: "user".to_owned(), id: "c1".to_owned(), ..Author::default() },
            ..Source::default()
        },
        contact_ids: vec!["c1".to_owned()],
        ..ConversationRecord::default()
    }
}

fn part(id: &str, created_at: i64, html: &str) -> PartRecord {
    PartRecord {
        id: id.to_owned(),
        part_type: "comment".to_owned(),
        body_html: Some(html.to_owned()),
        created_at,
        author: Author { kind: "admin".to_owned(), id: "a1".to_owned(), ..Author::default() },
        ..PartRecord::default()
    }
}

/// Five conversations whose every filterable field is chosen so each filter selects a known subset.
async fn fixture_store(backend: Backend) -> (TestDb, Store) {
    let (dir, store) = empty_store_on(backend).await;
    let mut c1 = conversation("1", 1_000, "My card was charged twice, I need a refund");
    c1.tag_ids = vec!["t-billing".to_owned()];
    c1.priority = Some(Priority::High);
    c1.admin_assignee_id = Some("a1".to_owned());
    c1.parts =
        vec![part("11", 1_100, "<p>Refund issued &amp; confirmed</p>"), part("12", 1_050, "<p>Looking into it</p>")];
    let mut c2 = conversation("2", 2_000, "The app crashes when I log in");
    c2.state = Some(ConversationState::Closed);
    c2.open = false;
    c2.team_assignee_id = Some("team-9".to_owned());
    c2.contact_ids = vec!["c2".to_owned()];
    c2.tag_ids = vec!["t-bug".to_owned()];
    let mut c3 = conversation("3", 3_000, "Where is my parcel? Shipping is late");
    c3.state = Some(ConversationState::Snoozed);
    c3.snoozed_until = Some(9_000);
    c3.tag_ids = vec!["t-billing".to_owned(), "t-bug".to_owned()];
    let c4 = conversation("4", 4_000, "Password reset email never arrives");
    let mut c5 = conversation("5", 5_000, "Refunds take too long, refund me please");
    c5.updated_at = 100_000;
    c5.priority = Some(Priority::Urgent);

    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_tags(&[
        TagRecord { id: "t-billing".to_owned(), name: "Billing".to_owned() },
        TagRecord { id: "t-bug".to_owned(), name: "bug".to_owned() },
    ])
    .await
    .unwrap();
    tx.upsert_companies(&[CompanyRecord {
        id: "co1".to_owned(),
        name: "Acme Rockets".to_owned(),
        ..CompanyRecord::default()
    }])
    .await
    .unwrap();
    tx.upsert_contacts(&[
        ContactRecord {
            id: "c1".to_owned(),
            role: "user".to_owned(),
            name: Some("Jane Doe".to_owned()),
            email: Some("jane@acme.example".to_owned()),
            created_at: 10,
            updated_at: 20,
            company_ids: vec!["co1".to_owned()],
            ..ContactRecord::default()
        },
        ContactRecord {
            id: "c2".to_owned(),
            role: "lead".to_owned(),
            name: Some("Bob Stone".to_owned()),
            email: Some("bob@stone.example".to_owned()),
            created_at: 10,
            updated_at: 30,
            ..ContactRecord::default()
        },
    ])
    .await
    .unwrap();
    tx.upsert_conversations(&[c1, c2, c3, c4, c5]).await.unwrap();
    tx.commit().await.unwrap();
    (dir, store)
}

/// The ids of the contacts a search finds, in its order.
async fn contact_ids(store: &Store, filter: ContactFilter) -> Vec<String> {
    let page = store.search_contacts(&filter, &PageRequest { limit: 10, cursor: None }).await.unwrap();
    page.items.into_iter().map(|c| c.id).collect()
}

async fn ids(store: &Store, filter: ConversationFilter, sort: ConversationSort) -> Vec<String> {
    let page = store.search_conversations(&filter, sort, &PageRequest { limit: 100, cursor: None }).await.unwrap();
    assert_eq!(page.total as usize, page.items.len(), "total counts every match");
    page.items.into_iter().map(|c| c.id).collect()
}

async fn migrations_create_an_empty_queryable_store(backend: Backend) {
    let (_dir, store) = empty_store_on(backend).await;
    assert_eq!(store.conversation_count().await.unwrap(), 0);
    assert_eq!(store.freshness().await.unwrap().source, "empty");
    let page = store
        .search_conversations(
            &ConversationFilter::default(),
            ConversationSort::Newest,
            &PageRequest { limit: 10, cursor: None },
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len(), page.next_cursor), (0, 0, None));
}

/// `serve`, `sync` and a second MCP client's server may all open a new data directory at the same moment: each
/// brings the schema up to date, and none may trip over another's half-finished migration. Six connections of
/// one process race here as six processes would (SQLite's locks are per connection). Before the fix, about
/// every second round failed, in the migrations or in the switch to WAL.
async fn servers_opening_a_new_store_at_once_all_find_the_schema_current(backend: Backend) {
    let rounds = match backend {
        Backend::Sqlite => 20,
        Backend::Postgres => 5,
    };
    for _ in 0..rounds {
        let db = TestDb::new(backend).await;
        let opened = futures_util::future::join_all((0..6).map(|_| db.try_open())).await;
        for store in opened {
            let store = store.expect("every concurrent open succeeds");
            assert_eq!(store.conversation_count().await.unwrap(), 0);
            store.close().await;
        }
    }
}

/// Two processes writing one store (`serve` syncing in the background while `fastintercom sync` or `demo` runs)
/// take turns: neither write transaction fails with "database is locked", and every write lands.
async fn two_writers_on_one_store_take_turns_and_both_land(backend: Backend) {
    let db = TestDb::new(backend).await;
    let stores = [db.try_open().await.unwrap(), db.try_open().await.unwrap()];
    let writers = stores.iter().enumerate().map(|(writer, store)| async move {
        for round in 0..150 {
            let id = |n: usize| format!("{}", 1 + writer * 10_000 + round * 10 + n);
            let mut tx = store.begin_write().await?;
            tx.upsert_contacts(&[ContactRecord {
                id: format!("c{}", id(0)),
                role: "user".to_owned(),
                ..ContactRecord::default()
            }])
            .await?;
            tx.upsert_conversations(&(0..3).map(|n| conversation(&id(n), 1_000, "hello")).collect::<Vec<_>>()).await?;
            tx.delete_conversations(&[id(2)]).await?;
            tx.commit().await?;
        }
        Ok::<_, StoreError>(())
    });
    for written in futures_util::future::join_all(writers).await {
        written.expect("every write transaction commits");
    }
    assert_eq!(stores[0].conversation_count().await.unwrap(), 2 * 150 * 2);
    for store in stores {
        store.close().await;
    }
}

async fn each_conversation_filter_selects_its_rows(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let newest = ConversationSort::Newest;
    let all = ConversationFilter::default();
    assert_eq!(ids(&store, all.clone(), newest).await, ["5", "4", "3", "2", "1"]);
    assert_eq!(ids(&store, all.clone(), ConversationSort::Oldest).await, ["1", "2", "3", "4", "5"]);
    assert_eq!(ids(&store, all.clone(), ConversationSort::Updated).await, ["5", "4", "3", "2", "1"]);
    let by = |f: fn(&mut ConversationFilter)| {
        let mut filter = ConversationFilter::default();
        f(&mut filter);
        filter
    };
    assert_eq!(ids(&store, by(|f| f.states = vec![ConversationState::Closed]), newest).await, ["2"]);
    assert_eq!(
        ids(&store, by(|f| f.states = vec![ConversationState::Closed, ConversationState::Snoozed]), newest).await,
        ["3", "2"]
    );
    assert_eq!(
        ids(&store, by(|f| f.tags = vec!["billing".to_owned()]), newest).await,
        ["3", "1"],
        "tag by name, any case"
    );
    assert_eq!(ids(&store, by(|f| f.tags = vec!["t-bug".to_owned()]), newest).await, ["3", "2"], "tag by id");
    assert_eq!(ids(&store, by(|f| f.contact_id = Some("c2".to_owned())), newest).await, ["2"]);
    assert_eq!(ids(&store, by(|f| f.admin_assignee_id = Some("a1".to_owned())), newest).await, ["1"]);
    assert_eq!(ids(&store, by(|f| f.team_assignee_id = Some("team-9".to_owned())), newest).await, ["2"]);
    assert_eq!(ids(&store, by(|f| f.priorities = vec![Priority::High, Priority::Urgent]), newest).await, ["5", "1"]);
    assert_eq!(ids(&store, by(|f| f.priorities = vec![Priority::None]), newest).await, ["4", "3", "2"]);
    assert_eq!(ids(&store, by(|f| f.created_after = Some(2_000)), newest).await, ["5", "4", "3", "2"]);
    assert_eq!(ids(&store, by(|f| f.created_before = Some(2_000)), newest).await, ["1"]);
    assert_eq!(ids(&store, by(|f| f.updated_after = Some(50_000)), newest).await, ["5"]);
    assert_eq!(ids(&store, by(|f| f.updated_before = Some(2_011)), newest).await, ["2", "1"]);
    // Conditions combine with AND.
    assert_eq!(
        ids(
            &store,
            by(|f| {
                f.tags = vec!["bug".to_owned()];
                f.states = vec![ConversationState::Snoozed];
            }),
            newest
        )
        .await,
        ["3"]
    );
}

async fn full_text_matches_subjects_bodies_and_parts_with_stemming(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let text = |q: &str| ConversationFilter { text: Some(q.to_owned()), ..ConversationFilter::default() };
    // "refund" stems to match "refunds" too; c1 matches in its first message and in a part.
    let mut hits = ids(&store, text("refund"), ConversationSort::Relevance).await;
    hits.sort();
    assert_eq!(hits, ["1", "5"]);
    assert_eq!(ids(&store, text("confirmed"), ConversationSort::Relevance).await, ["1"], "part bodies are indexed");
    assert_eq!(ids(&store, text("refund"), ConversationSort::Newest).await, ["5", "1"], "text with a time order");
    assert_eq!(ids(&store, text("refund"), ConversationSort::Updated).await, ["5", "1"]);
    assert_eq!(ids(&store, text("password email"), ConversationSort::Relevance).await, ["4"], "all words must match");
    assert!(ids(&store, text("password parcel"), ConversationSort::Relevance).await.is_empty());
    assert!(
        ids(&store, text("amp"), ConversationSort::Relevance).await.is_empty(),
        "entities are decoded, not indexed"
    );
    let page = store
        .search_conversations(&text("refund"), ConversationSort::Relevance, &PageRequest { limit: 10, cursor: None })
        .await
        .unwrap();
    assert!(page.items.iter().all(|c| c.score.is_some()), "ranked results carry a score");
    assert!(page.items.windows(2).all(|w| w[0].score >= w[1].score), "best match first");
}

async fn cursors_walk_every_row_once_and_refuse_other_searches(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    for sort in [ConversationSort::Newest, ConversationSort::Oldest, ConversationSort::Updated] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .search_conversations(&ConversationFilter::default(), sort, &PageRequest { limit: 2, cursor })
                .await
                .unwrap();
            assert_eq!(page.total, 5);
            seen.extend(page.items.into_iter().map(|c| c.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5, "{sort:?}: {seen:?}");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 5, "{sort:?}: no row twice");
    }
    let first = store
        .search_conversations(
            &ConversationFilter::default(),
            ConversationSort::Newest,
            &PageRequest { limit: 2, cursor: None },
        )
        .await
        .unwrap();
    let other = ConversationFilter { states: vec![ConversationState::Open], ..ConversationFilter::default() };
    let error = store
        .search_conversations(&other, ConversationSort::Newest, &PageRequest { limit: 2, cursor: first.next_cursor })
        .await
        .expect_err("a cursor from another search");
    assert!(matches!(error, StoreError::InvalidArgument(_)), "{error:?}");
}

async fn get_returns_the_thread_in_order_as_plain_text(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let detail = store.get_conversation("1").await.unwrap().expect("conversation 1");
    assert_eq!(detail.source_body, "My card was charged twice, I need a refund");
    let parts: Vec<(&str, Option<&str>)> = detail.parts.iter().map(|p| (p.id.as_str(), p.body.as_deref())).collect();
    assert_eq!(parts, [("12", Some("Looking into it")), ("11", Some("Refund issued & confirmed"))]);
    assert_eq!(detail.summary.tags, ["Billing"]);
    assert_eq!(detail.summary.contact_ids, ["c1"]);
    assert!(store.get_conversation("404").await.unwrap().is_none());
}

/// `get-many` (contract 0.4.0): one statement, the answers those of single gets, in the order asked.
async fn get_many_answers_as_single_gets_in_the_order_asked(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let asked: Vec<String> = ["3", "404", "1", "3", "a\u{0}b", "1"].map(str::to_owned).to_vec();
    let many = store.get_conversations(&asked).await.unwrap();
    assert_eq!(many.len(), asked.len());
    for (id, got) in asked.iter().zip(&many) {
        assert_eq!(got, &store.get_conversation(id).await.unwrap(), "{id:?}");
    }
    assert!(many[0].is_some() && many[1].is_none() && many[2].is_some() && many[4].is_none());
    assert!(store.get_conversations(&[]).await.unwrap().is_empty());
}

async fn upserting_again_changes_nothing_and_replaces_links(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let before = store.get_conversation("1").await.unwrap().unwrap();
    let mut c1 = conversation("1", 1_000, "My card was charged twice, I need a refund");
    c1.tag_ids = vec!["t-bug".to_owned()];
    c1.priority = Some(Priority::High);
    c1.admin_assignee_id = Some("a1".to_owned());
    c1.parts = vec![part("11", 1_100, "<p>Refund issued &amp; confirmed</p>")];
    let mut stale = c1.clone();
    stale.tag_ids = vec!["t-billing".to_owned()];
    let mut tx = store.begin_write().await.unwrap();
    // A batch may repeat a conversation (Intercom pages can); the last record of it wins.
    tx.upsert_conversations(&[stale, c1]).await.unwrap();
    tx.commit().await.unwrap();
    let after = store.get_conversation("1").await.unwrap().unwrap();
    assert_eq!(store.conversation_count().await.unwrap(), 5);
    assert_eq!(after.summary.tags, ["bug"], "tags follow the latest record");
    assert_eq!(after.parts, before.parts, "parts are upserted by id: none lost, none duplicated");
}

/// A search of one tag walks the tag's own rows, which carry the conversation's state and dates: those follow
/// every write of the conversation, and several tags (or a name shared by two tags) still find each tagged row.
async fn a_tags_pages_follow_its_conversations_state_and_dates(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let billing = |states: Vec<ConversationState>| ConversationFilter {
        tags: vec!["billing".to_owned()],
        states,
        ..ConversationFilter::default()
    };
    let open = || billing(vec![ConversationState::Open]);
    assert_eq!(ids(&store, open(), ConversationSort::Newest).await, ["1"]);
    assert_eq!(ids(&store, billing(vec![]), ConversationSort::Oldest).await, ["1", "3"]);

    // Conversation 1 is closed and updated later: it leaves the open page and leads the updated order.
    let mut c1 = conversation("1", 1_000, "My card was charged twice, I need a refund");
    c1.tag_ids = vec!["t-billing".to_owned()];
    c1.state = Some(ConversationState::Closed);
    c1.open = false;
    c1.updated_at = 200_000;
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_conversations(&[c1]).await.unwrap();
    tx.commit().await.unwrap();
    assert!(ids(&store, open(), ConversationSort::Newest).await.is_empty());
    assert_eq!(ids(&store, billing(vec![ConversationState::Closed]), ConversationSort::Updated).await, ["1"]);
    assert_eq!(ids(&store, billing(vec![]), ConversationSort::Updated).await, ["1", "3"]);
    let since = ConversationFilter { updated_after: Some(150_000), ..billing(vec![]) };
    assert_eq!(ids(&store, since, ConversationSort::Newest).await, ["1"]);
    let refund = ConversationFilter { text: Some("refund".to_owned()), ..billing(vec![]) };
    assert_eq!(ids(&store, refund, ConversationSort::Newest).await, ["1"]);

    // Two tags: any of them, each conversation once, in order.
    let both =
        ConversationFilter { tags: vec!["Billing".to_owned(), "t-bug".to_owned()], ..ConversationFilter::default() };
    assert_eq!(ids(&store, both, ConversationSort::Newest).await, ["3", "2", "1"]);
    // A name that is also another tag's id names both tags.
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_tags(&[TagRecord { id: "t-shared".to_owned(), name: "t-bug".to_owned() }]).await.unwrap();
    let mut c4 = conversation("4", 4_000, "Password reset email never arrives");
    c4.tag_ids = vec!["t-shared".to_owned()];
    tx.upsert_conversations(&[c4]).await.unwrap();
    tx.commit().await.unwrap();
    let named = ConversationFilter { tags: vec!["t-bug".to_owned()], ..ConversationFilter::default() };
    assert_eq!(ids(&store, named, ConversationSort::Newest).await, ["4", "3", "2"]);
    let by_name = ConversationFilter { tags: vec!["BUG".to_owned()], ..ConversationFilter::default() };
    assert_eq!(ids(&store, by_name, ConversationSort::Newest).await, ["3", "2"]);
}

async fn contacts_by_name_prefix_email_and_company(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let search = |filter: ContactFilter| contact_ids(&store, filter);
    assert_eq!(search(ContactFilter { text: Some("jan".to_owned()), ..Default::default() }).await, ["c1"]);
    assert_eq!(search(ContactFilter { text: Some("stone".to_owned()), ..Default::default() }).await, ["c2"]);
    assert_eq!(
        search(ContactFilter { email: Some("JANE@acme.example".to_owned()), ..Default::default() }).await,
        ["c1"]
    );
    assert_eq!(search(ContactFilter { company: Some("rocket".to_owned()), ..Default::default() }).await, ["c1"]);
    assert_eq!(search(ContactFilter { company: Some("co1".to_owned()), ..Default::default() }).await, ["c1"]);
    assert!(
        search(ContactFilter { company: Some("%".to_owned()), ..Default::default() }).await.is_empty(),
        "LIKE wildcards are literal"
    );
    assert_eq!(search(ContactFilter::default()).await, ["c2", "c1"], "most recently updated first");
    let jane = store.get_contact("c1").await.unwrap().unwrap();
    assert_eq!(jane.companies.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Acme Rockets"]);
}

/// A stored contact written again is rewritten whole: its old name no longer finds it, its old company link is
/// gone, and it keeps one row; a new contact in the same batch is stored beside it.
async fn upserting_a_contact_again_replaces_its_search_document_and_links(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let search = |filter: ContactFilter| contact_ids(&store, filter);
    let renamed = ContactRecord {
        id: "c1".to_owned(),
        role: "user".to_owned(),
        name: Some("Mary Poppins".to_owned()),
        email: Some("mary@cherry.example".to_owned()),
        created_at: 10,
        updated_at: 40,
        tag_ids: vec!["t-bug".to_owned()],
        ..ContactRecord::default()
    };
    let new = ContactRecord {
        id: "c3".to_owned(),
        role: "lead".to_owned(),
        name: Some("Bert Sweep".to_owned()),
        created_at: 10,
        updated_at: 35,
        company_ids: vec!["co1".to_owned()],
        ..ContactRecord::default()
    };
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_contacts(&[renamed, new]).await.unwrap();
    tx.commit().await.unwrap();

    assert!(search(ContactFilter { text: Some("jane".to_owned()), ..Default::default() }).await.is_empty());
    assert_eq!(search(ContactFilter { text: Some("poppins".to_owned()), ..Default::default() }).await, ["c1"]);
    assert_eq!(search(ContactFilter { text: Some("sweep".to_owned()), ..Default::default() }).await, ["c3"]);
    assert_eq!(search(ContactFilter { company: Some("rocket".to_owned()), ..Default::default() }).await, ["c3"]);
    assert_eq!(search(ContactFilter::default()).await, ["c1", "c3", "c2"], "one row each, newest first");
    let mary = store.get_contact("c1").await.unwrap().unwrap();
    assert!(mary.companies.is_empty(), "{:?}", mary.companies);
    assert_eq!(mary.tags, ["bug"]);
}

async fn deleting_conversations_removes_rows_parts_links_and_documents(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let before = store.counts().await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    assert_eq!(tx.delete_conversations(&["1".to_owned(), "404".to_owned()]).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let after = store.counts().await.unwrap();
    assert_eq!(after.conversations, before.conversations - 1);
    assert_eq!(after.parts, before.parts - 2, "the parts of conversation 1 go with it");
    assert!(store.get_conversation("1").await.unwrap().is_none());
    let text = ConversationFilter { text: Some("confirmed".to_owned()), ..ConversationFilter::default() };
    assert!(ids(&store, text, ConversationSort::Relevance).await.is_empty(), "its search document is gone");
    let billing = ConversationFilter { tags: vec!["billing".to_owned()], ..ConversationFilter::default() };
    assert_eq!(ids(&store, billing, ConversationSort::Newest).await, ["3"], "its tag links are gone");
}

async fn a_conversation_id_that_is_not_an_integer_is_refused_and_nothing_is_written(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let before = store.counts().await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    let error =
        tx.upsert_conversations(&[conversation("6", 6_000, "fine"), conversation("abc", 7_000, "not an id")]).await;
    assert!(matches!(error, Err(StoreError::InvalidArgument(_))), "{error:?}");
    drop(tx);
    assert_eq!(store.counts().await.unwrap(), before);
}

/// Accents and case do not matter to a text search (FTS5's `remove_diacritics 2`, the same words on PostgreSQL),
/// tag names and emails compare ASCII letters without case, as SQLite's NOCASE does.
async fn accents_and_case_are_ignored_where_sqlite_ignores_them(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_conversations(&[conversation("6", 6_000, "Le CAFÉ de José est fermé")]).await.unwrap();
    tx.upsert_contacts(&[ContactRecord {
        id: "c3".to_owned(),
        role: "user".to_owned(),
        name: Some("Émile Zoë".to_owned()),
        email: Some("Emile@Example.COM".to_owned()),
        created_at: 10,
        updated_at: 40,
        ..ContactRecord::default()
    }])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let text = |q: &str| ConversationFilter { text: Some(q.to_owned()), ..ConversationFilter::default() };
    for query in ["cafe", "Café", "JOSE ferme", "josé"] {
        assert_eq!(ids(&store, text(query), ConversationSort::Relevance).await, ["6"], "{query}");
    }
    for query in ["emile", "ÉMI", "zoe", "emile example"] {
        let found = contact_ids(&store, ContactFilter { text: Some(query.to_owned()), ..ContactFilter::default() });
        assert_eq!(found.await, ["c3"], "{query}");
    }
    let by_email = ContactFilter { email: Some("emile@example.com".to_owned()), ..ContactFilter::default() };
    assert_eq!(contact_ids(&store, by_email).await, ["c3"]);
    let tag = |name: &str| ConversationFilter { tags: vec![name.to_owned()], ..ConversationFilter::default() };
    assert_eq!(ids(&store, tag("BILLING"), ConversationSort::Newest).await, ["3", "1"]);
}

/// Every committed write advances the data generation, which other processes' caches are keyed by: also after
/// the workspace was cleared (a demo replaced by a real workspace), which once deleted it on SQLite.
async fn every_commit_advances_the_data_generation_also_after_a_clear(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let mut generation = store.data_generation().await.unwrap();
    for round in 0..3 {
        let mut tx = store.begin_write().await.unwrap();
        if round == 1 {
            tx.clear_workspace().await.unwrap();
        } else {
            tx.upsert_conversations(&[conversation("7", 7_000, "hello")]).await.unwrap();
        }
        tx.commit().await.unwrap();
        let next = store.data_generation().await.unwrap();
        assert!(next > generation, "round {round}: {next} after {generation}");
        generation = next;
    }
    assert_eq!(store.conversation_count().await.unwrap(), 1, "the clear emptied the workspace");
}

/// A bounded search of a word in many conversations (more than either store counts and ranks in full) still
/// pages through every match exactly once: the ranked ones first, then the older ones.
async fn a_bounded_search_of_a_common_word_pages_through_every_match_once(backend: Backend) {
    let (_dir, store) = empty_store_on(backend).await;
    let all: Vec<ConversationRecord> = (1..=6_000)
        .map(|i| conversation(&i.to_string(), i * 10, if i % 12 < 5 { "hello needle" } else { "hello haystack" }))
        .collect();
    let expected: std::collections::BTreeSet<String> =
        all.iter().filter(|c| c.source.body_html.contains("needle")).map(|c| c.id.clone()).collect();
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_conversations(&all).await.unwrap();
    tx.commit().await.unwrap();
    store.compact_search_indexes().await.unwrap();
    let filter = ConversationFilter { text: Some("needle".to_owned()), ..ConversationFilter::default() };
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = None;
    let mut first = None;
    loop {
        let page = store
            .search_conversations_with(
                &filter,
                ConversationSort::Relevance,
                &PageRequest { limit: 700, cursor: cursor.take() },
                fastintercom::store::SearchEffort::Bounded,
            )
            .await
            .unwrap();
        for item in &page.items {
            assert!(seen.insert(item.id.clone()), "{} came twice", item.id);
        }
        if first.is_none() && backend == Backend::Postgres {
            // Conversations that hold the word arrive between pages: the pages go on through the matches there
            // were (those that arrive are left to a new search), skipping and repeating none. (SQLite's window is
            // found again on each page, so there the pages repeat matches; not yet mended.)
            let arrived: Vec<ConversationRecord> =
                (6_001..=6_050).map(|i| conversation(&i.to_string(), i * 10, "hello needle")).collect();
            let mut tx = store.begin_write().await.unwrap();
            tx.upsert_conversations(&arrived).await.unwrap();
            tx.commit().await.unwrap();
        }
        first.get_or_insert((page.total, page.total_is_estimate, page.ranked_matches));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected, "every match once");
    let (total, _estimated, ranked) = first.unwrap();
    assert!(total.abs_diff(2_500) <= 500, "total {total} for 2,500 matches");
    let ranked = ranked.expect("only some matches are ranked");
    assert!(ranked > 0 && ranked < 2_500, "{ranked} ranked");
}

/// The freshness every answer carries is read again after this process commits (a sync's last write says where
/// the data came from): it once stayed "empty" for up to a second after a sync in a process that had not read the
/// data generation yet.
async fn freshness_follows_this_processs_own_commits_at_once(backend: Backend) {
    let (_dir, store) = empty_store_on(backend).await;
    assert_eq!(store.freshness().await.unwrap().source, "empty");
    store.mark_synced("intercom", 1_700_000_000).await.unwrap();
    let freshness = store.freshness().await.unwrap();
    assert_eq!((freshness.source.as_str(), freshness.last_synced_at), ("intercom", Some(1_700_000_000)));
}

/// NUL characters in Intercom's data (PostgreSQL's text cannot hold them) neither fail the write nor hide the
/// record: it is stored, and found by its other words and values.
async fn records_with_nul_characters_are_stored_and_found(backend: Backend) {
    let (_dir, store) = fixture_store(backend).await;
    let mut nul = conversation("8", 8_000, "broken\u{0}payload zeppelin");
    nul.source.subject = Some("sub\u{0}ject".to_owned());
    nul.tag_ids = vec!["t-\u{0}odd".to_owned()];
    nul.contact_ids = vec!["c\u{0}9".to_owned()];
    nul.parts = vec![part("81", 8_100, "<p>a part \u{0} with a NUL</p>")];
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_tags(&[TagRecord { id: "t-\u{0}odd".to_owned(), name: "od\u{0}d".to_owned() }]).await.unwrap();
    tx.upsert_contacts(&[ContactRecord {
        id: "c\u{0}9".to_owned(),
        role: "user".to_owned(),
        name: Some("Nul\u{0}l Person".to_owned()),
        created_at: 1,
        updated_at: 50,
        tag_ids: vec!["t-\u{0}odd".to_owned()],
        ..ContactRecord::default()
    }])
    .await
    .unwrap();
    tx.upsert_conversations(&[nul]).await.expect("a record with NUL characters is written");
    tx.commit().await.unwrap();
    let text = |q: &str| ConversationFilter { text: Some(q.to_owned()), ..ConversationFilter::default() };
    assert_eq!(ids(&store, text("zeppelin"), ConversationSort::Relevance).await, ["8"]);
    assert_eq!(ids(&store, text("with"), ConversationSort::Relevance).await, ["8"], "the part is indexed");
    let tagged = ConversationFilter { tags: vec!["t-\u{0}odd".to_owned()], ..ConversationFilter::default() };
    assert_eq!(ids(&store, tagged, ConversationSort::Newest).await, ["8"]);
    // (Its id as stored: PostgreSQL's without the NUL.)
    let found =
        contact_ids(&store, ContactFilter { text: Some("person".to_owned()), ..ContactFilter::default() }).await;
    assert_eq!(found.iter().map(|id| id.replace('\0', "")).collect::<Vec<_>>(), ["c9"]);
    assert!(store.get_conversation("8").await.unwrap().is_some());
}

on_both_backends!(
    records_with_nul_characters_are_stored_and_found,
    freshness_follows_this_processs_own_commits_at_once,
    a_bounded_search_of_a_common_word_pages_through_every_match_once,
    accents_and_case_are_ignored_where_sqlite_ignores_them,
    every_commit_advances_the_data_generation_also_after_a_clear,
    migrations_create_an_empty_queryable_store,
    servers_opening_a_new_store_at_once_all_find_the_schema_current,
    two_writers_on_one_store_take_turns_and_both_land,
    each_conversation_filter_selects_its_rows,
    full_text_matches_subjects_bodies_and_parts_with_stemming,
    cursors_walk_every_row_once_and_refuse_other_searches,
    get_returns_the_thread_in_order_as_plain_text,
    get_many_answers_as_single_gets_in_the_order_asked,
    upserting_again_changes_nothing_and_replaces_links,
    a_tags_pages_follow_its_conversations_state_and_dates,
    contacts_by_name_prefix_email_and_company,
    upserting_a_contact_again_replaces_its_search_document_and_links,
    deleting_conversations_removes_rows_parts_links_and_documents,
    a_conversation_id_that_is_not_an_integer_is_refused_and_nothing_is_written,
);

/// PostgreSQL's sync writes batches side by side, so a conversation listed twice in one run (updated while the run
/// pages through) may have its older copy commit last: that copy changes nothing, links and parts included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_older_copy_committed_last_keeps_the_newer() {
    let (_db, store) = fixture_store(Backend::Postgres).await;
    let mut newer = conversation("1", 1_000, "My card was charged twice, I need a refund");
    newer.updated_at = 5_000;
    newer.tag_ids = vec!["t-bug".to_owned()];
    newer.parts = vec![part("13", 4_000, "<p>Refunded in full</p>")];
    let mut older = newer.clone();
    older.updated_at = 4_000;
    older.tag_ids = vec!["t-billing".to_owned()];
    older.parts = vec![part("14", 3_900, "<p>an older draft</p>")];
    older.source.body_html = "<p>stale text</p>".to_owned();

    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_conversations(std::slice::from_ref(&newer)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_conversations(&[older]).await.unwrap();
    tx.commit().await.unwrap();
    let stored = store.get_conversation("1").await.unwrap().unwrap();
    assert_eq!(stored.summary.updated_at, 5_000);
    assert_eq!(stored.summary.tags, ["bug"], "the newer copy's links stay");
    let part_ids: Vec<&str> = stored.parts.iter().map(|p| p.id.as_str()).collect();
    assert!(part_ids.contains(&"13") && !part_ids.contains(&"14"), "{part_ids:?}");
    let stale = ConversationFilter { text: Some("stale".to_owned()), ..ConversationFilter::default() };
    let page = PageRequest { limit: 5, cursor: None };
    assert_eq!(store.search_conversations(&stale, ConversationSort::Newest, &page).await.unwrap().total, 0);
}

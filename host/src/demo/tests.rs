//! The demo workspace's promises: determinism, Intercom-consistent shapes, exact marker hit sets, and a seed
//! that stores exactly what the in-memory oracle says.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::conversations::{MARKER_PARAGRAPH, PART_MARKER_PARAGRAPH};
use super::people::BOT_ID;
use super::*;
use crate::store::StoreOptions;
use crate::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use crate::store::model::{ConversationState, Priority};

/// 2024-06-01T00:00:00Z: tests anchor the workspace so their data never changes.
const NOW: i64 = 1_717_200_000;

fn options(conversations: usize) -> DemoOptions {
    DemoOptions { conversations, seed: 42, now: NOW }
}

/// Every piece of text a conversation carries, for marker scans.
fn texts(c: &ConversationRecord) -> Vec<&str> {
    let mut all = vec![c.source.body_html.as_str()];
    all.extend(c.source.subject.as_deref());
    all.extend(c.title.as_deref());
    all.extend(c.rating.as_ref().and_then(|r| r.remark.as_deref()));
    all.extend(c.parts.iter().filter_map(|p| p.body_html.as_deref()));
    all
}

fn contains_word(c: &ConversationRecord, word: &str) -> bool {
    texts(c).iter().any(|t| t.to_lowercase().contains(word))
}

#[test]
fn same_options_give_identical_workspaces() {
    let (a, b) = (generate(&options(1_500)), generate(&options(1_500)));
    assert_eq!(a, b);
    assert!(a.conversations().eq(b.conversations()));
    let batched: Vec<ConversationRecord> = a.conversation_batches(400).flatten().collect();
    assert!(batched.into_iter().eq(a.conversations()));
    let other = generate(&DemoOptions { seed: 43, ..options(1_500) });
    assert_ne!(a.contacts, other.contacts);
    assert_ne!(a.conversation(5), other.conversation(5));
}

#[test]
fn reference_data_is_consistent() {
    let ws = generate(&options(3_000));
    assert!((30..=60).contains(&ws.admins.len()));
    assert!((6..=12).contains(&ws.teams.len()));
    assert!(ws.tags.len() >= 40);
    assert_eq!(ws.contacts.len(), 1_500);
    assert_eq!(ws.companies.len(), 187);
    let admin_ids: HashSet<&str> = ws.admins.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(admin_ids.len(), ws.admins.len());
    for team in &ws.teams {
        assert!(!team.admin_ids.is_empty(), "team {} has no members", team.name);
        for admin in &team.admin_ids {
            let record = ws.admins.iter().find(|a| &a.id == admin).expect("team member exists");
            assert!(record.team_ids.contains(&team.id));
        }
    }
    for admin in &ws.admins {
        assert!(admin.id.bytes().all(|b| b.is_ascii_digit()));
        for team in &admin.team_ids {
            assert!(ws.teams.iter().any(|t| &t.id == team && t.admin_ids.contains(&admin.id)));
        }
    }
    let tag_names: HashSet<&str> = ws.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tag_names.len(), ws.tags.len());
    let company_by_id: HashMap<&str, &CompanyRecord> = ws.companies.iter().map(|c| (c.id.as_str(), c)).collect();
    assert_eq!(company_by_id.len(), ws.companies.len());
    let mut users_per_company: HashMap<&str, i64> = HashMap::new();
    let (mut emails, mut ids) = (HashSet::new(), HashSet::new());
    for pair in ws.contacts.windows(2) {
        assert!(pair[0].created_at <= pair[1].created_at, "contacts are in creation order");
    }
    for contact in &ws.contacts {
        assert!(contact.id.len() == 24 && contact.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(ids.insert(contact.id.as_str()));
        let email = contact.email.as_deref().expect("every contact has an email");
        assert!(emails.insert(email), "duplicate email {email}");
        assert!(contact.created_at <= contact.updated_at && contact.updated_at <= NOW);
        for company in &contact.company_ids {
            let record = company_by_id[company.as_str()];
            let domain = record.website.as_deref().unwrap().trim_start_matches("https://www.");
            assert!(email.ends_with(&format!("@{domain}")), "{email} is not at {domain}");
            assert!(record.created_at.unwrap() <= contact.created_at);
            *users_per_company.entry(company).or_default() += 1;
        }
        assert!(contact.tag_ids.iter().all(|t| ws.tags.iter().any(|tag| &tag.id == t)));
        assert_eq!(contact.role == "user", !contact.company_ids.is_empty());
    }
    for company in &ws.companies {
        assert_eq!(company.user_count, Some(users_per_company.get(company.id.as_str()).copied().unwrap_or(0)));
    }
}

/// Checks one conversation against Intercom's rules and the workspace's reference data.
fn check_conversation(ws: &DemoWorkspace, index: usize, c: &ConversationRecord) {
    let now = ws.now();
    let ctx = format!("conversation {index} ({})", c.id);
    assert_eq!(ws.conversation_index(&c.id), Some(index), "{ctx}");
    assert!(c.created_at >= now - 2 * YEAR && c.created_at <= c.updated_at && c.updated_at <= now, "{ctx}");
    assert!(c.parts.len() >= 2 && c.parts.len() < 512, "{ctx}");
    let mut previous = c.created_at;
    let mut part_ids = HashSet::new();
    for part in &c.parts {
        assert!(part.created_at >= previous && part.created_at <= c.updated_at, "{ctx}: part times");
        previous = part.created_at;
        assert!(part.id.bytes().all(|b| b.is_ascii_digit()) && part_ids.insert(&part.id), "{ctx}");
        let has_body = matches!(part.part_type.as_str(), "comment" | "note");
        assert_eq!(part.body_html.is_some(), has_body, "{ctx}: body on {}", part.part_type);
        match part.author.kind.as_str() {
            "admin" => assert!(ws.admins.iter().any(|a| a.id == part.author.id), "{ctx}"),
            "user" | "lead" => assert!(c.contact_ids.contains(&part.author.id), "{ctx}"),
            "bot" => assert_eq!(part.author.id, BOT_ID),
            other => panic!("{ctx}: author kind {other}"),
        }
        if let Some(target) = &part.assigned_to_id {
            assert!(ws.admins.iter().any(|a| &a.id == target) || ws.teams.iter().any(|t| &t.id == target));
        }
    }
    // Statistics, recomputed from the parts independently of stats.rs.
    let s = &c.statistics;
    let times = |kind: &str, author: Option<&str>| -> Vec<i64> {
        c.parts
            .iter()
            .filter(|p| p.part_type == kind && author.is_none_or(|a| p.author.kind == a))
            .map(|p| p.created_at)
            .collect()
    };
    let admin_comments = times("comment", Some("admin"));
    let closes = times("close", None);
    assert_eq!(s.count_conversation_parts, Some(c.parts.len() as i64), "{ctx}");
    assert_eq!(s.first_admin_reply_at, admin_comments.first().copied(), "{ctx}");
    assert_eq!(s.last_admin_reply_at, admin_comments.last().copied(), "{ctx}");
    assert_eq!(s.first_close_at, closes.first().copied(), "{ctx}");
    assert_eq!(s.last_close_at, closes.last().copied(), "{ctx}");
    assert_eq!(s.count_reopens, Some(times("open", None).len() as i64), "{ctx}");
    assert_eq!(s.count_assignments, Some(times("assignment", None).len() as i64), "{ctx}");
    if let (Some(reply), Some(contact)) = (s.first_admin_reply_at, s.first_contact_reply_at) {
        assert_eq!(s.time_to_admin_reply, Some(reply - contact), "{ctx}");
    }
    assert_eq!(s.time_to_last_close, s.last_close_at.map(|at| at - c.created_at), "{ctx}");
    let last_close = c.parts.iter().rfind(|p| p.part_type == "close");
    assert_eq!(s.last_closed_by_id, last_close.map(|p| p.author.id.clone()), "{ctx}");

    let last = c.parts.last().unwrap();
    match c.state.unwrap() {
        ConversationState::Closed => {
            assert!(!c.open && c.waiting_since.is_none() && c.snoozed_until.is_none(), "{ctx}");
            assert_eq!(last.part_type, "close", "{ctx}");
        }
        ConversationState::Snoozed => {
            assert!(c.open && c.snoozed_until.is_some_and(|until| until > now), "{ctx}");
            assert_eq!(last.part_type, "snoozed", "{ctx}");
        }
        ConversationState::Open => assert!(c.open && c.snoozed_until.is_none(), "{ctx}"),
    }
    if let Some(waiting) = c.waiting_since {
        assert!(waiting >= c.created_at && waiting <= now, "{ctx}");
    }
    if let Some(rating) = &c.rating {
        assert_eq!(c.state, Some(ConversationState::Closed), "{ctx}");
        assert!((1..=5).contains(&rating.rating.unwrap()));
        assert!(rating.created_at.unwrap() >= s.last_close_at.unwrap() && rating.created_at.unwrap() <= now);
        assert_eq!(rating.contact_id.as_ref(), c.contact_ids.first());
    }

    // References.
    let primary = ws.contacts.iter().find(|x| x.id == c.contact_ids[0]).expect("contact exists");
    assert!(primary.created_at <= c.created_at, "{ctx}: contact signed up before writing in");
    assert!(c.contact_ids.len() <= 2 && c.contact_ids.iter().all(|id| ws.contacts.iter().any(|x| &x.id == id)));
    assert_eq!(c.company_id.as_ref(), primary.company_ids.first(), "{ctx}");
    assert!(c.admin_assignee_id.as_ref().is_none_or(|id| ws.admins.iter().any(|a| &a.id == id)));
    assert!(c.team_assignee_id.as_ref().is_none_or(|id| ws.teams.iter().any(|t| &t.id == id)));
    assert!(c.tag_ids.len() <= 3 && c.tag_ids.iter().collect::<HashSet<_>>().len() == c.tag_ids.len());
    assert!(c.tag_ids.iter().all(|id| ws.tags.iter().any(|t| &t.id == id)), "{ctx}");

    // Source and text.
    assert_eq!(c.source.subject.is_some(), c.source.kind == "email", "{ctx}");
    let inbound = matches!(c.source.kind.as_str(), "conversation" | "email");
    assert_eq!(inbound, c.source.author.kind != "admin", "{ctx}");
    for text in texts(c) {
        assert!(!text.contains('{') && !text.contains('}'), "{ctx}: unfilled slot in {text}");
        assert!(!crate::store::html_to_text(text).is_empty(), "{ctx}");
    }
    assert!(c.source.body_html.starts_with("<p>"), "{ctx}");
    let attributes: serde_json::Value = serde_json::from_str(c.custom_attributes.as_deref().unwrap()).unwrap();
    assert!(attributes.is_object());
}

#[test]
fn conversations_are_consistent_and_varied() {
    let ws = generate(&options(3_000));
    let (mut states, mut sources, mut priorities, mut kinds) =
        (HashSet::new(), HashSet::new(), HashSet::new(), HashSet::new());
    let (mut short, mut long, mut huge, mut previous_created) = (0, 0, 0, i64::MIN);
    for (index, c) in ws.conversations().enumerate() {
        check_conversation(&ws, index, &c);
        assert!(c.created_at >= previous_created, "ids increase with time");
        previous_created = c.created_at;
        states.insert(c.state.unwrap());
        sources.insert(c.source.kind.clone());
        priorities.insert(c.priority.unwrap());
        kinds.extend(c.parts.iter().map(|p| p.part_type.clone()));
        match c.parts.len() {
            2..=8 => short += 1,
            20..=60 => long += 1,
            101.. => huge += 1,
            _ => {}
        }
    }
    assert_eq!(states.len(), 3);
    assert_eq!(sources.len(), 4);
    assert_eq!(priorities, Priority::ALL.into_iter().collect());
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    assert!(short > 2_000 && long > 50 && huge >= 1, "{short} {long} {huge}");
}

#[test]
fn markers_appear_exactly_where_documented() {
    let ws = generate(&options(5_000));
    let mut marked = BTreeSet::new();
    let mut part_marked = BTreeSet::new();
    for (index, c) in ws.conversations().enumerate() {
        if contains_word(&c, MARKER_WORD) {
            marked.insert(index);
        }
        if contains_word(&c, PART_MARKER_WORD) {
            part_marked.insert(index);
            assert!(!c.source.body_html.contains(PART_MARKER_WORD), "in a part, not the first message");
        }
    }
    assert_eq!(marked, ws.marker_indices().collect());
    assert_eq!(marked.len(), 6);
    assert_eq!(part_marked, BTreeSet::from([PART_MARKER_INDEX]));
    assert!(MARKER_PARAGRAPH.contains(MARKER_WORD) && PART_MARKER_PARAGRAPH.contains(PART_MARKER_WORD));

    let mut phrases = vocabulary::all_phrases();
    for topic in topics::TOPICS {
        for list in [topic.subjects, topic.problems, topic.details, topic.asks, topic.replies] {
            phrases.extend_from_slice(list);
        }
        for list in [topic.admin_followups, topic.user_followups, topic.notes, topic.tags, topic.teams] {
            assert!(!list.is_empty(), "{}", topic.label);
            phrases.extend_from_slice(list);
        }
    }
    for phrase in phrases {
        let lower = phrase.to_lowercase();
        assert!(!lower.contains(MARKER_WORD) && !lower.contains(PART_MARKER_WORD), "{phrase}");
    }
}

#[test]
fn any_option_value_works() {
    for options in [
        DemoOptions { conversations: 0, seed: 0, now: 0 },
        DemoOptions { conversations: 1, seed: u64::MAX, now: i64::MIN },
        DemoOptions { conversations: 2, seed: 7, now: i64::MAX },
        DemoOptions { conversations: 60, seed: 1, now: MIN_NOW + 1 },
    ] {
        let ws = generate(&options);
        assert_eq!(ws.conversations().count(), options.conversations);
        assert_eq!(ws.contacts.len(), 50);
        for (index, c) in ws.conversations().enumerate() {
            check_conversation(&ws, index, &c);
        }
        assert_eq!(ws.part_marker_indices().count(), usize::from(options.conversations > 1));
    }
    assert_eq!(generate(&options(0)).conversation_batches(0).count(), 0);
    // Indexes past the end still give a well-formed conversation (ids never overflow).
    let small = generate(&options(10));
    let last = small.conversation(usize::MAX);
    assert!(last.id.bytes().all(|b| b.is_ascii_digit()) && last.updated_at <= NOW);
    assert_eq!(small.conversation_index(&last.id), None);
    assert_eq!(small.conversation_index("not a number"), None);
}

async fn count(pool: &sqlx::SqlitePool, table: &str) -> usize {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap() as usize
}

async fn search_indices(store: &Store, ws: &DemoWorkspace, filter: ConversationFilter) -> BTreeSet<usize> {
    let page = PageRequest { limit: 1000, cursor: None };
    let found = store.search_conversations(&filter, ConversationSort::Newest, &page).await.unwrap();
    assert!(found.next_cursor.is_none());
    found.items.iter().map(|c| ws.conversation_index(&c.id).expect("a demo conversation")).collect()
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

/// Throughput, for release builds:
/// `cargo test --release -p fastintercom --lib demo -- --ignored --nocapture`
/// (`DEMO_BENCH_CONVERSATIONS` sets the size, default 100,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run in release"]
async fn seeding_rate() {
    let n = std::env::var("DEMO_BENCH_CONVERSATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let options = options(n);

    let started = Instant::now();
    let ws = generate(&options);
    let reference = started.elapsed();
    let started = Instant::now();
    let (mut parts, mut bytes) = (0, 0);
    for c in ws.conversations() {
        parts += c.parts.len();
        bytes += c.source.body_html.len()
            + c.parts.iter().filter_map(|p| p.body_html.as_ref()).map(String::len).sum::<usize>();
    }
    let generation = started.elapsed();
    println!(
        "generate: reference data {reference:?}; {n} conversations, {parts} parts, {} MB of HTML in {generation:?} = {:.0} conversations/s (one thread)",
        bytes / 1_000_000,
        n as f64 / generation.as_secs_f64()
    );

    let write_n = n.min(20_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("write.db"), StoreOptions::default()).await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_admins(&ws.admins).await.unwrap();
    tx.upsert_teams(&ws.teams).await.unwrap();
    tx.upsert_tags(&ws.tags).await.unwrap();
    tx.upsert_companies(&ws.companies).await.unwrap();
    tx.upsert_contacts(&ws.contacts).await.unwrap();
    tx.commit().await.unwrap();
    let batches: Vec<Vec<ConversationRecord>> =
        ws.conversation_batches(CONVERSATION_BATCH).take(write_n.div_ceil(CONVERSATION_BATCH)).collect();
    let started = Instant::now();
    for batch in &batches {
        let mut tx = store.begin_write().await.unwrap();
        tx.upsert_conversations(batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    let writing = started.elapsed();
    println!(
        "write only (pre-generated, batches of {CONVERSATION_BATCH}): {write_n} conversations in {writing:?} = {:.0} conversations/s",
        write_n as f64 / writing.as_secs_f64()
    );
    store.close().await;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("seed.db"), StoreOptions::default()).await.unwrap();
    let report = seed(&store, &options).await.unwrap();
    println!(
        "seed end to end: {} conversations, {} parts, {} contacts in {:?} = {:.0} conversations/s",
        report.conversations,
        report.parts,
        report.contacts,
        report.elapsed,
        report.conversations_per_second()
    );
    store.close().await;
}

#[test]
fn zz_print_sample() {
    let ws = generate(&options(10_000));
    for i in [0usize, 1, 2, 3, 9_998] {
        let c = ws.conversation(i);
        println!(
            "=== {i} id={} kind={} state={:?} prio={:?} created={} updated={} waiting={:?} snoozed={:?} admin={:?} team={:?} tags={:?} subject={:?} title={:?}",
            c.id,
            c.source.kind,
            c.state,
            c.priority,
            c.created_at,
            c.updated_at,
            c.waiting_since,
            c.snoozed_until,
            c.admin_assignee_id,
            c.team_assignee_id,
            c.tag_ids.iter().map(|t| ws.tags.iter().find(|x| &x.id == t).unwrap().name.clone()).collect::<Vec<_>>(),
            c.source.subject,
            c.title
        );
        println!("SOURCE [{} {:?}] {}", c.source.author.kind, c.source.author.name, c.source.body_html);
        for p in &c.parts {
            println!(
                "  {} {} {} [{} {:?}] {:?} {:?}",
                p.id,
                p.created_at - c.created_at,
                p.part_type,
                p.author.kind,
                p.author.name,
                p.assigned_to_id,
                p.body_html
            );
        }
        println!("  stats {:?}\n  rating {:?}", c.statistics, c.rating);
    }
    println!("{:?}\n{:?}\n{:?}\n{:?}", ws.admins[0], ws.teams[0], ws.companies[0], ws.contacts[0]);
}

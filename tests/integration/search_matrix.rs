//! Every cell of the search matrix (text × filters × sort × limit, the cells `bench-search` measures) answered
//! by the store, checked against a plain reference: the demo generator for every filter, one unoptimised
//! full-text query for the words and their bm25 scores. Each answer must hold the same ids in the same order
//! and the exact total, and its cursors must page through the whole result without a gap or a repeat.
//!
//! Bounded searches (contract 0.3.0) are checked against the same reference with their documented bounds: a
//! text with more than 2,000 matches ranks its 1,000 most recently stored (the rest follow, newest first; a text
//! in most conversations is not ranked), and a total marked as an estimate is within a quarter of the truth and never less than its page shows.

use std::collections::HashMap;
use std::path::Path;

use fastintercom::commands::bench_search::matrix::{self, Cell, SampledConversation, Values};
use fastintercom::demo::{self, DemoOptions};
use fastintercom::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use fastintercom::store::model::{ConversationRecord, ConversationState, Priority};
use fastintercom::store::{SearchEffort, Store, StoreOptions};
use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;

use crate::support::{demo_data_dir, demo_options};

/// What the reference knows of one conversation.
struct Known {
    rowid: i64,
    id: String,
    record: ConversationRecord,
    tag_names: Vec<String>,
}

/// The reference: the generator's conversations, and the full-text index asked the plainest way.
struct Reference {
    conversations: Vec<Known>,
    connection: sqlx::SqliteConnection,
}

impl Reference {
    /// The reference of the shared demo workspace.
    async fn open() -> Self {
        Self::of(&demo_options(), &demo_data_dir().join("workspace.sqlite3")).await
    }

    /// The reference of the demo workspace `options` describe, seeded into the store at `path`.
    async fn of(options: &DemoOptions, path: &Path) -> Self {
        let workspace = demo::generate(options);
        let names: HashMap<&str, &str> = workspace.tags.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
        let conversations = workspace
            .conversations()
            .map(|record| Known {
                rowid: record.id.parse().expect("demo ids are integers"),
                id: record.id.clone(),
                tag_names: record.tag_ids.iter().map(|id| names[id.as_str()].to_owned()).collect(),
                record,
            })
            .collect();
        let connection = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .connect()
            .await
            .expect("a read-only connection to the demo store");
        Self { conversations, connection }
    }

    /// Rowids of the conversations whose text holds every word, with their bm25 relevance, asked without any
    /// other condition or order.
    async fn text_matches(&mut self, text: &str) -> HashMap<i64, f64> {
        let words: Vec<String> =
            text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| format!("\"{w}\"")).collect();
        sqlx::query_as::<_, (i64, f64)>(
            "SELECT rowid, -bm25(conversation_fts, 2.0, 1.0) FROM conversation_fts WHERE conversation_fts MATCH ?",
        )
        .bind(words.join(" "))
        .fetch_all(&mut self.connection)
        .await
        .expect("the reference full-text query")
        .into_iter()
        .collect()
    }

    /// Every conversation the search matches, in its order, and (bounded, in relevance order, when the text
    /// has more matches than are ranked) how many of them are ranked.
    async fn answer_with(
        &mut self,
        filter: &ConversationFilter,
        sort: ConversationSort,
        effort: SearchEffort,
    ) -> (Vec<String>, Option<u64>) {
        let scores = match &filter.text {
            Some(text) => Some(self.text_matches(text).await),
            None => None,
        };
        let window = match &scores {
            Some(scores) if effort == SearchEffort::Bounded && scores.len() > RANKED_ABOVE => {
                let mut rowids: Vec<i64> = scores.keys().copied().collect();
                rowids.sort_unstable_by(|a, b| b.cmp(a));
                Some((rowids[RANKED_WINDOW - 1], rowids[RANKED_ABOVE - 1]))
            }
            _ => None,
        };
        if let (ConversationSort::Relevance, Some((window_end, dense_end))) = (sort, window) {
            let scores = scores.as_ref().expect("a text");
            let found = self.conversations.iter().filter(|c| matches(c, filter) && scores.contains_key(&c.rowid));
            // A text in most conversations: its 2,000 newest matches among the 4,000 newest conversations.
            let most = self.conversations.iter().filter(|c| c.rowid >= dense_end).count() <= 2 * RANKED_ABOVE;
            let newest = |c: &&Known| std::cmp::Reverse((c.record.created_at, c.rowid));
            if most {
                let mut all: Vec<&Known> = found.collect();
                all.sort_by_key(newest);
                return (all.into_iter().map(|c| c.id.clone()).collect(), Some(0));
            }
            let (mut ranked, mut older): (Vec<&Known>, Vec<&Known>) = found.partition(|c| c.rowid >= window_end);
            ranked.sort_by(|a, b| scores[&b.rowid].total_cmp(&scores[&a.rowid]).then(a.rowid.cmp(&b.rowid)));
            older.sort_by_key(newest);
            let count = ranked.len() as u64;
            return (ranked.into_iter().chain(older).map(|c| c.id.clone()).collect(), Some(count));
        }
        let mut found: Vec<(&Known, f64)> = self
            .conversations
            .iter()
            .filter(|c| matches(c, filter))
            .filter_map(|c| match &scores {
                Some(scores) => scores.get(&c.rowid).map(|score| (c, *score)),
                None => Some((c, 0.0)),
            })
            .collect();
        let key = |c: &Known| (c.record.created_at, c.rowid);
        match sort {
            ConversationSort::Relevance if scores.is_some() => {
                found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.rowid.cmp(&b.0.rowid)));
            }
            ConversationSort::Relevance | ConversationSort::Newest => {
                found.sort_by_key(|(c, _)| std::cmp::Reverse(key(c)))
            }
            ConversationSort::Oldest => found.sort_by_key(|(c, _)| key(c)),
            ConversationSort::Updated => found.sort_by_key(|(c, _)| std::cmp::Reverse((c.record.updated_at, c.rowid))),
        }
        (found.into_iter().map(|(c, _)| c.id.clone()).collect(), None)
    }

    /// Every conversation the search matches, in its order.
    async fn answer(&mut self, filter: &ConversationFilter, sort: ConversationSort) -> Vec<String> {
        self.answer_with(filter, sort, SearchEffort::Exhaustive).await.0
    }
}

/// Above this many matches of a text, a bounded search ranks only its [`RANKED_WINDOW`] most recently stored
/// (wit/0.3.0/conversations.wit).
const RANKED_ABOVE: usize = 2_000;
const RANKED_WINDOW: usize = 1_000;

/// Whether a conversation meets every condition of the filter but its text.
fn matches(c: &Known, filter: &ConversationFilter) -> bool {
    let r = &c.record;
    let in_range = |value: i64, after: Option<i64>, before: Option<i64>| {
        after.is_none_or(|a| value >= a) && before.is_none_or(|b| value < b)
    };
    (filter.states.is_empty() || filter.states.contains(&r.state.unwrap_or(ConversationState::Open)))
        && (filter.tags.is_empty()
            || filter
                .tags
                .iter()
                .any(|tag| r.tag_ids.contains(tag) || c.tag_names.iter().any(|name| name.eq_ignore_ascii_case(tag))))
        && filter.contact_id.as_ref().is_none_or(|id| r.contact_ids.contains(id))
        && filter.admin_assignee_id.as_ref().is_none_or(|id| r.admin_assignee_id.as_ref() == Some(id))
        && filter.team_assignee_id.as_ref().is_none_or(|id| r.team_assignee_id.as_ref() == Some(id))
        && (filter.priorities.is_empty() || filter.priorities.contains(&r.priority.unwrap_or(Priority::None)))
        && in_range(r.created_at, filter.created_after, filter.created_before)
        && in_range(r.updated_at, filter.updated_after, filter.updated_before)
}

fn values(reference: &Reference) -> Values {
    values_at(reference, demo_options().now)
}

fn values_at(reference: &Reference, now: i64) -> Values {
    let sampled = reference.conversations.iter().map(|c| SampledConversation {
        contact_ids: &c.record.contact_ids,
        admin_assignee_id: c.record.admin_assignee_id.as_deref(),
        team_assignee_id: c.record.team_assignee_id.as_deref(),
        tags: &c.tag_names,
    });
    let values = Values::sample(sampled, now);
    assert!(values.is_complete(), "{values:?}");
    values
}

/// Checks one search of a cell: the first page against the reference, and, when `whole`, every page after it.
async fn check(
    store: &Store,
    reference: &mut Reference,
    (cell, values, i): (&Cell, &Values, usize),
    effort: SearchEffort,
    whole: bool,
) -> (usize, usize) {
    let (mut estimates, mut windowed) = (0, 0);
    let search = cell.search(values, i);
    let (expected, ranked) = reference.answer_with(&search.filter, search.sort, effort).await;
    let truth = expected.len() as u64;
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .search_conversations_with(
                &search.filter,
                search.sort,
                &PageRequest { limit: search.limit, cursor },
                effort,
            )
            .await
            .unwrap_or_else(|e| panic!("{cell} (#{i}, {effort:?}, {:?}): {e}", search.arguments));
        let start = seen.len();
        seen.extend(page.items.iter().map(|c| c.id.clone()));
        let context = format!("{cell} (#{i}, {effort:?}, {}), page starting at {start}", search.arguments);
        estimates += usize::from(page.total_is_estimate);
        windowed += usize::from(page.ranked_matches.is_some());
        if page.total_is_estimate {
            assert_eq!(effort, SearchEffort::Bounded, "{context}: only bounded searches estimate");
            let error = page.total.abs_diff(truth);
            assert!(error <= (truth / 4).max(30), "{context}: estimate {} of {truth}", page.total);
            let shown = page.items.len() as u64 + u64::from(page.next_cursor.is_some());
            assert!(page.total >= shown, "{context}: estimate {} below what the page shows", page.total);
        } else {
            assert_eq!(page.total, truth, "{context}: total");
        }
        assert_eq!(page.ranked_matches, ranked, "{context}: ranked matches");
        let end = seen.len().min(expected.len());
        assert_eq!(seen[start..], expected[start..end], "{context}");
        assert_eq!(
            page.next_cursor.is_some(),
            seen.len() < expected.len(),
            "{context}: next_cursor after {}",
            seen.len()
        );
        match page.next_cursor {
            Some(next) if whole => cursor = Some(next),
            _ => break,
        }
    }
    if whole {
        assert_eq!(seen, expected, "{cell} (#{i}, {effort:?}): paging through the whole result");
    }
    (estimates, windowed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_of_the_search_matrix_answers_as_the_reference_does() {
    let mut reference = Reference::open().await;
    let values = values(&reference);
    let store = Store::open(&demo_data_dir().join("workspace.sqlite3"), StoreOptions::default()).await.unwrap();
    let (mut estimates, mut windowed) = (0, 0);
    for (n, cell) in matrix::cells().iter().enumerate() {
        // Each cell with two of its rotating values; the largest pages are followed to the end.
        for i in [n, n + 1] {
            for effort in [SearchEffort::Exhaustive, SearchEffort::Bounded] {
                let whole = cell.limit == matrix::LIMITS[2];
                let (e, w) = check(&store, &mut reference, (cell, &values, i), effort, whole).await;
                estimates += e;
                windowed += w;
            }
        }
    }
    // The bounds were exercised: words in nearly all of the 3,000 conversations have more than 2,000 matches.
    assert!(estimates > 100 && windowed > 100, "{estimates} estimated totals, {windowed} ranked windows");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_is_not_trivial() {
    // The matrix proves little if its searches match nothing. On 3,000 conversations a rare word with a filter
    // often does (that is checked too), but many searches must match something, and some more than a page.
    let mut reference = Reference::open().await;
    let values = values(&reference);
    let mut empty = 0;
    let mut large = 0;
    let cells = matrix::cells();
    for (n, cell) in cells.iter().enumerate().filter(|(_, c)| c.limit == 1 && c.sort == ConversationSort::Newest) {
        let search = cell.search(&values, n);
        let found = reference.answer(&search.filter, search.sort).await.len();
        empty += usize::from(found == 0);
        large += usize::from(found > 50);
    }
    let measured = cells.len() / (matrix::LIMITS.len() * matrix::SORTS.len());
    assert!(empty * 5 < measured * 3, "{empty} of {measured} searches match nothing");
    assert!(large * 8 > measured, "only {large} of {measured} searches match more than one page");
}

/// A demo workspace of its own with its reference, kept in a directory dropped with it.
struct Seeded {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    options: DemoOptions,
    store: Store,
    reference: Reference,
}

impl Seeded {
    /// 20,000 conversations: the matrix's common words have more than 2,000 matches there, in a minority.
    async fn common_words() -> Self {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("workspace.sqlite3");
        let options = DemoOptions { conversations: 20_000, seed: 5, now: 1_790_000_000 };
        let store = Store::open(&path, StoreOptions::default()).await.unwrap();
        demo::seed(&store, &options).await.unwrap();
        let reference = Reference::of(&options, &path).await;
        Self { _dir: dir, path, options, store, reference }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_relevance_ranks_a_window_of_a_common_word_and_follows_with_the_rest_newest_first() {
    // At 3,000 conversations every text with more than 2,000 matches is in most of them (and not ranked at all);
    // 20,000 give the common words of the matrix more than 2,000 matches in a minority: the ranked window.
    let Seeded { _dir, options, store, mut reference, .. } = Seeded::common_words().await;
    let values = values_at(&reference, options.now);
    let (mut windows, mut estimates) = (0, 0);
    for (n, cell) in matrix::cells().iter().enumerate().filter(|(_, c)| c.text == matrix::TextClass::Common) {
        // Relevance pages of fifty are followed to the end, across the window into the older matches, and so are
        // the other orders' pages of fifty under conditions (those that select few rows read them once).
        let whole =
            cell.limit == matrix::LIMITS[2] && (cell.sort == ConversationSort::Relevance || !cell.filters.is_empty());
        let (e, w) = check(&store, &mut reference, (cell, &values, n), SearchEffort::Bounded, whole).await;
        estimates += e;
        windows += w;
    }
    assert!(windows > 50 && estimates > 20, "{windows} ranked windows, {estimates} estimated totals");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_created_out_of_id_order_keep_their_place_in_creation_order() {
    // A first page in creation order may read a common word's matches in id order, which holds only while ids
    // follow creation dates (as Intercom's and the demo's do). Here two matches of "refund" break it: the lowest
    // id gets the newest date and the highest id the oldest. Every first page in creation order must still be the
    // reference's.
    let Seeded { _dir, path, options, store, mut reference } = Seeded::common_words().await;
    let matches = reference.text_matches("refund").await;
    assert!(matches.len() > 2_000, "\"refund\" must be a common word here: {} matches", matches.len());
    let (lowest, highest) = (*matches.keys().min().unwrap(), *matches.keys().max().unwrap());
    let first_created = reference.conversations.iter().map(|c| c.record.created_at).min().unwrap();
    let mut writer = SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
    for (rowid, created_at) in [(lowest, options.now - 60), (highest, first_created - 60)] {
        for table in [
            "UPDATE conversations SET created_at = ? WHERE rowid = ?",
            "UPDATE conversation_tags SET created_at = ? WHERE conversation_rowid = ?",
        ] {
            sqlx::query(table).bind(created_at).bind(rowid).execute(&mut writer).await.unwrap();
        }
        reference.conversations.iter_mut().find(|c| c.rowid == rowid).unwrap().record.created_at = created_at;
    }
    drop(writer);

    let refund = ConversationFilter { text: Some("refund".to_owned()), ..Default::default() };
    let first = PageRequest { limit: 20, cursor: None };
    for (sort, moved) in [(ConversationSort::Newest, lowest), (ConversationSort::Oldest, highest)] {
        let page = store.search_conversations_with(&refund, sort, &first, SearchEffort::Bounded).await.unwrap();
        assert_eq!(page.items[0].id, moved.to_string(), "{sort:?}: the moved conversation comes first");
    }
    let values = values_at(&reference, options.now);
    let creation_order = |c: &&Cell| matches!(c.sort, ConversationSort::Newest | ConversationSort::Oldest);
    let cells = matrix::cells();
    for (n, cell) in cells.iter().enumerate().filter(|(_, c)| c.text == matrix::TextClass::Common && creation_order(c))
    {
        check(&store, &mut reference, (cell, &values, n), SearchEffort::Bounded, false).await;
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_in_most_conversations_fills_its_page_when_the_first_keys_lack_it() {
    // A word in most conversations under conditions that select a few hundred rows sorts and probes only the first
    // keys in page order (four a row of the page), and probes every key when those hold too few matches. Here an
    // admin's most recently updated conversations are the ones without the word, so pages of one and two, in
    // updated order, find none among their first keys: they must still be the reference's, and say there is more.
    let Seeded { _dir, path, options, store, mut reference } = Seeded::common_words().await;
    let matches = reference.text_matches("the").await;
    assert!(matches.len() * 2 > reference.conversations.len(), "\"the\" must be in most conversations here");
    let mut by_admin: HashMap<&str, usize> = HashMap::new();
    for c in &reference.conversations {
        *by_admin.entry(c.record.admin_assignee_id.as_deref().unwrap_or_default()).or_default() += 1;
    }
    let admin = by_admin.into_iter().filter(|(id, _)| !id.is_empty()).max_by_key(|(_, n)| *n).unwrap().0.to_owned();
    let lacking: Vec<i64> = reference
        .conversations
        .iter()
        .filter(|c| c.record.admin_assignee_id.as_deref() == Some(admin.as_str()) && !matches.contains_key(&c.rowid))
        .map(|c| c.rowid)
        .collect();
    assert!(lacking.len() >= 12, "the admin needs a dozen conversations without the word: {}", lacking.len());
    let mut writer = SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
    for (i, rowid) in lacking.iter().enumerate() {
        let updated_at = options.now + 1_000 + i as i64;
        for table in [
            "UPDATE conversations SET updated_at = ? WHERE rowid = ?",
            "UPDATE conversation_tags SET updated_at = ? WHERE conversation_rowid = ?",
        ] {
            sqlx::query(table).bind(updated_at).bind(rowid).execute(&mut writer).await.unwrap();
        }
        reference.conversations.iter_mut().find(|c| c.rowid == *rowid).unwrap().record.updated_at = updated_at;
    }
    drop(writer);

    let mut expected: Vec<&Known> = reference
        .conversations
        .iter()
        .filter(|c| c.record.admin_assignee_id.as_deref() == Some(admin.as_str()) && matches.contains_key(&c.rowid))
        .collect();
    expected.sort_by_key(|c| std::cmp::Reverse((c.record.updated_at, c.rowid)));
    let filter = ConversationFilter {
        text: Some("the".to_owned()),
        admin_assignee_id: Some(admin.clone()),
        ..Default::default()
    };
    for limit in [1, 2] {
        let page = PageRequest { limit, cursor: None };
        let page =
            store.search_conversations_with(&filter, ConversationSort::Updated, &page, SearchEffort::Bounded).await;
        let page = page.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|c| c.id.as_str()).collect();
        let wanted: Vec<&str> = expected.iter().take(limit as usize).map(|c| c.id.as_str()).collect();
        assert_eq!(ids, wanted, "a page of {limit}");
        assert!(page.next_cursor.is_some(), "a page of {limit} says there is more");
    }
    store.close().await;
}

//! Conversation search and retrieval on PostgreSQL: the same filters, orders, pages, totals and cursors as the
//! SQLite store (`store/conversations.rs`), each page one statement.
//!
//! A page's keys are chosen first (rowid, dates, score: the conditions, the text's GIN index and the order's
//! index, as PostgreSQL's planner sees fit), then only those rows are read whole with their lists; the total is
//! a scalar subquery of the same conditions, which PostgreSQL runs once per statement.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row as _};

use super::document::Stems;
use super::{without_nul, words};
use crate::contacts::no_searchable_words;
use crate::conversations::{Order, detail_from_row, mismatch, summary_from_row, summary_row_columns};
use crate::cursor::{self, Position};
use crate::filter::{ConversationFilter, ConversationSort, PageRequest};
use crate::model::{ConversationDetail, ConversationSummary, Page, Priority};
use crate::{Result, SearchEffort, Store};

/// [`summary_row_columns`] with the conversation's tag names and contact ids as JSON arrays (text, as SQLite's
/// `json_group_array` gives them; `json_agg` of no rows is NULL, hence the `coalesce`).
const SUMMARY_COLUMNS: &str = concat!(
    summary_row_columns!(),
    ", (SELECT coalesce(json_agg(t.name ORDER BY t.name COLLATE \"C\"), '[]')::text FROM conversation_tags ct \
     JOIN tags t ON t.id = ct.tag_id WHERE ct.conversation_rowid = c.rowid) AS tags_json, \
     (SELECT coalesce(json_agg(cc.contact_id ORDER BY cc.position), '[]')::text FROM conversation_contacts cc \
     WHERE cc.conversation_rowid = c.rowid) AS contacts_json"
);

/// A conversation's parts in thread order (see `PartColumns` in `store/conversations.rs`).
const PARTS_JSON: &str = "(SELECT coalesce(json_agg(json_build_array(p.id, p.part_type, p.body_text, \
    p.author_type, p.author_id, p.author_name, p.author_email, p.created_at, p.assigned_to_id) \
    ORDER BY p.created_at, length(p.id), p.id COLLATE \"C\"), '[]')::text FROM conversation_parts p \
    WHERE p.conversation_rowid = c.rowid) AS parts_json";

/// Weights of a document's parts in its rank, `{D, C, B, A}`: the body (D) half the subject (A), as SQLite's bm25
/// weighs them (2.0 and 1.0).
const RANK_WEIGHTS: &str = "'{0.5, 0.5, 0.5, 1.0}'";

/// `ts_rank_cd`'s normalization: the rank divided by 1 + the logarithm of the document's length, so that a long
/// thread does not outrank a short one for mentioning a word more often (bm25 normalizes by length too).
const RANK_NORMALIZATION: u32 = 1;

/// A text query in the search syntax (see [`crate::query_syntax`]) as a `tsquery` (text form) of its words'
/// lexemes, stemmed as documents are (see [`super::document`]); an error without an indexable word.
pub(crate) fn text_query(text: &str) -> Result<String> {
    let query = crate::query_syntax::parse(text)?;
    let mut stems = Stems::default();
    query
        .tsquery(|word| {
            let folded = words(word);
            stems.lexeme(&folded).map(str::to_owned)
        })
        .ok_or_else(no_searchable_words)
}

pub(crate) async fn search(
    store: &Store,
    filter: &ConversationFilter,
    sort: ConversationSort,
    page: &PageRequest,
    effort: SearchEffort,
) -> Result<Page<ConversationSummary>> {
    let cleaned = filter_without_nul(filter);
    let filter = &cleaned;
    let text = filter.text.as_deref().map(text_query).transpose()?;
    let order = Order::resolve(sort, text.is_some());
    let limit = i64::from(page.clamped_limit());
    // A bounded search of a text with many matches neither counts nor ranks every one (see `bounded_many`).
    let many = match (&text, effort) {
        (Some(text), SearchEffort::Bounded) => measure(store, filter, text).await?,
        _ => None,
    };
    // The cursor is bound to the plan as well as the search: after a sync that moves the text across a line, a
    // next page would continue another order, so it is refused as an invalid cursor instead (as on SQLite).
    let mode = many.map(|many| many.most);
    let fingerprint = cursor::fingerprint(&(filter, sort, effort, mode));
    let position = page.cursor.as_deref().map(|c| store.cursor_key.decode(c, fingerprint)).transpose()?;
    if let (Some(many), Some(text)) = (many, text.as_deref()) {
        let search = Search { filter, text: Some(text), limit, fingerprint };
        return bounded_many(store, &search, order, position, many).await;
    }
    exhaustive(store, &Search { filter, text: text.as_deref(), limit, fingerprint }, order, position).await
}

/// A page with every match counted and, in relevance order, ranked.
async fn exhaustive(
    store: &Store,
    search: &Search<'_>,
    order: Order,
    position: Option<Position>,
) -> Result<Page<ConversationSummary>> {
    let query = PageQuery { order, ranked: order == Order::Relevance, window: Window::All, count: true };
    let first_page = position.is_none();
    let (rows, offset) = read_page(store, search, &query, position, 0).await?;
    let total = page_total(store, &rows, first_page, search.filter, search.text).await?;
    finish(store, search, order, rows, offset, Total::Counted(total), None)
}

/// A page's total and how it was known.
#[derive(Clone, Copy)]
enum Total {
    Counted(u64),
    Estimated(u64),
}

/// Above this many matches (as the planner estimates them), a bounded search of a text ranks only the newest
/// matches and estimates its total, as the SQLite store does past its own line: counting and ranking "refund"'s
/// 12,728 matches among 100,000 conversations took 35 ms (every match's row and document read), its estimate a
/// plan (0.2 ms) and 12,937.
const FEW_TEXT_MATCHES: u64 = 2_000;

/// About this many of the newest matches are ranked in a bounded search of a text with many.
const RANKED_WINDOW: u64 = 1_000;

/// A search, as every statement of it needs it.
struct Search<'a> {
    filter: &'a ConversationFilter,
    text: Option<&'a str>,
    limit: i64,
    fingerprint: u64,
}

/// One page statement: its order, whether it scores its rows, which conversations it reads, whether it counts
/// them beside the page (as the column `total`).
struct PageQuery {
    order: Order,
    ranked: bool,
    window: Window,
    count: bool,
}

/// Which conversations a page statement reads, by rowid (the newest are the highest).
#[derive(Clone, Copy)]
enum Window {
    All,
    /// Above the first, at most the second.
    Between(i64, i64),
}

/// Reads a page of `query`, `skip` rows after `position` (a keyset or an offset); returns its rows (one more
/// than the limit when there are more) and the offset it started at.
async fn read_page(
    store: &Store,
    search: &Search<'_>,
    query: &PageQuery,
    position: Option<Position>,
    skip: i64,
) -> Result<(Vec<PgRow>, i64)> {
    let PageQuery { order, ranked, window, count } = *query;
    let mut select = QueryBuilder::<Postgres>::new("WITH page AS (SELECT c.rowid, c.created_at, c.updated_at, ");
    match (search.text, ranked) {
        (Some(text), true) => {
            select.push(format_args!("ts_rank_cd({RANK_WEIGHTS}, c.document, "));
            select.push_bind(text.to_owned()).push(format_args!("::tsquery, {RANK_NORMALIZATION})::float8 AS score"));
        }
        _ => {
            select.push("NULL::float8 AS score");
        }
    }
    push_from_and_conditions(&mut select, search.filter, search.text);
    push_window(&mut select, window);
    let offset = push_position(&mut select, order, position)? + skip;
    match order {
        // The score is the page's own column, not the table's.
        Order::Relevance => select.push(" ORDER BY score DESC, c.rowid"),
        _ => select.push(order.sql("c")),
    };
    select.push(" LIMIT ").push_bind(search.limit + 1);
    if offset > 0 {
        select.push(" OFFSET ").push_bind(offset);
    }
    select.push(") SELECT ").push(SUMMARY_COLUMNS).push(", page.score");
    if count {
        select.push(", (SELECT count(*)");
        push_from_and_conditions(&mut select, search.filter, search.text);
        push_window(&mut select, window);
        select.push(") AS total");
    }
    let page_order = match order {
        Order::Relevance => " ORDER BY page.score DESC, page.rowid".to_owned(),
        _ => order.sql("page"),
    };
    select.push(" FROM page JOIN conversations c ON c.rowid = page.rowid").push(page_order);
    let rows = store.read_postgres(async |c| select.build().fetch_all(c).await).await?;
    Ok((rows, offset))
}

fn push_window(query: &mut QueryBuilder<Postgres>, window: Window) {
    match window {
        Window::All => {}
        Window::Between(above, top) => {
            query.push(" AND c.rowid > ").push_bind(above).push(" AND c.rowid <= ").push_bind(top);
        }
    }
}

/// A page from its rows (one more than the limit when there are more).
fn finish(
    store: &Store,
    search: &Search<'_>,
    order: Order,
    mut rows: Vec<PgRow>,
    offset: i64,
    total: Total,
    ranked_matches: Option<u64>,
) -> Result<Page<ConversationSummary>> {
    let has_more = rows.len() as i64 > search.limit;
    rows.truncate(search.limit as usize);
    let next_cursor = match (rows.last(), has_more) {
        (Some(last), true) => {
            let next = next_position(order, last, offset, search.limit)?;
            Some(store.cursor_key.encode(search.fingerprint, next))
        }
        _ => None,
    };
    let items = rows.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
    let (total, total_is_estimate) = match total {
        Total::Counted(total) => (total, false),
        Total::Estimated(total) => (total, true),
    };
    Ok(Page { items, total, total_is_estimate, ranked_matches, next_cursor })
}

/// What a bounded search needs to know of a text with many matches.
#[derive(Debug, Clone, Copy)]
struct Many {
    /// The planner's estimate of the matches (at least the line they were counted past).
    matches: u64,
    /// The planner's estimate of the conversations (at least the matches).
    conversations: u64,
    /// Whether they are most conversations (then the text is not ranked).
    most: bool,
}

/// Whether the filter and its text select more than [`FEW_TEXT_MATCHES`] conversations; when they do, how many
/// as the planner estimates them, and whether that is most conversations.
///
/// The planner's estimate decides alone only when it is well past the line: a word missing from its statistics
/// is estimated at half a percent of the table (thousands of matches for none on a store of a million), and words
/// together as if they were independent (too few for words that come together). Below that, the matches are
/// counted up to the line: 2,001 matches of a common word read cost 2–4 ms on 100,000 conversations.
async fn measure(store: &Store, filter: &ConversationFilter, text: &str) -> Result<Option<Many>> {
    let conversations = estimate_rows(store, None).await?;
    let estimate = estimate_rows(store, Some((filter, text))).await?;
    let many = |matches: u64| {
        let conversations = conversations.max(matches);
        Many { matches, conversations, most: matches * 2 > conversations }
    };
    if estimate > (2 * FEW_TEXT_MATCHES).max(conversations / 100) {
        return Ok(Some(many(estimate)));
    }
    let mut count = QueryBuilder::<Postgres>::new("SELECT count(*) FROM (SELECT 1");
    push_from_and_conditions(&mut count, filter, Some(text));
    count.push(" LIMIT ").push_bind(FEW_TEXT_MATCHES as i64 + 1).push(") AS few");
    let counted: i64 = store.read_postgres(async |c| count.build_query_scalar().fetch_one(c).await).await?;
    if counted <= FEW_TEXT_MATCHES as i64 {
        return Ok(None);
    }
    Ok(Some(many(estimate.max(FEW_TEXT_MATCHES + 1))))
}

/// How many conversations the filter and its text select (all of them without), as PostgreSQL's planner
/// estimates them (its statistics of the documents' words are close: 12,937 for "refund"'s 12,728 matches; the
/// table's size scaled to its pages as they are now).
async fn estimate_rows(store: &Store, selected: Option<(&ConversationFilter, &str)>) -> Result<u64> {
    let mut explain = QueryBuilder::<Postgres>::new("EXPLAIN (FORMAT JSON) SELECT 1");
    match selected {
        Some((filter, text)) => push_from_and_conditions(&mut explain, filter, Some(text)),
        None => {
            explain.push(" FROM conversations");
        }
    }
    let plan: serde_json::Value =
        store.read_postgres(async |c| explain.build_query_scalar().fetch_one(c).await).await?;
    let rows = plan[0]["Plan"]["Plan Rows"].as_f64().filter(|rows| rows.is_finite()).unwrap_or(0.0);
    Ok(rows.max(0.0) as u64)
}

/// A bounded search of a text with many matches: its total is the planner's estimate (raised to what the pages
/// show). In a column's order, pages are read as any other. In relevance order, about the newest
/// [`RANKED_WINDOW`] matches (those stored last) are ranked and come first, then the older ones newest first; the
/// window is the first page's, carried by the cursor. A text in most conversations is not ranked at all (its
/// words say nothing of relevance): newest first, as on SQLite.
async fn bounded_many(
    store: &Store,
    search: &Search<'_>,
    order: Order,
    position: Option<Position>,
    many: Many,
) -> Result<Page<ConversationSummary>> {
    let Many { matches, conversations, most } = many;
    if order != Order::Relevance || most {
        // Unranked, a relevance order is the newest first, and says it ranked none.
        let (order, ranked) = match order {
            Order::Relevance => (Order::Created { descending: true }, Some(0)),
            order => (order, None),
        };
        let query = PageQuery { order, ranked: false, window: Window::All, count: false };
        let (rows, offset) = read_page(store, search, &query, position, 0).await?;
        // A keyset page does not know how many came before it: the page itself is the lower bound.
        let shown = rows.len() as u64;
        return finish(store, search, order, rows, offset, Total::Estimated(matches.max(shown)), ranked);
    }
    let (offset, RankedWindow { above, top }) = match position {
        None => match first_window(store, matches, conversations).await? {
            // A window of every conversation (the estimates were off): every match is ranked, and counted.
            RankedWindow { above: 0, .. } => return exhaustive(store, search, order, None).await,
            window => (0, window),
        },
        Some(Position::Window { o, a, t }) => {
            (i64::try_from(o).map_err(|_| mismatch())?, RankedWindow { above: a, top: t })
        }
        // The next page of a search whose window was every conversation.
        offset @ Some(Position::Offset { .. }) => return exhaustive(store, search, order, offset).await,
        Some(_) => return Err(mismatch()),
    };
    let window = Window::Between(above, top);
    let ranked = PageQuery { order: Order::Relevance, ranked: true, window, count: true };
    let (mut rows, _) = read_page(store, search, &ranked, None, offset).await?;
    let windowed: i64 = match rows.first() {
        Some(row) => row.try_get("total")?,
        None => count_window(store, search, window).await?,
    };
    if (rows.len() as i64) <= search.limit {
        // The window ends on this page: the older matches follow, newest first.
        let older = PageQuery {
            order: Order::Created { descending: true },
            ranked: false,
            window: Window::Between(i64::MIN, above),
            count: false,
        };
        let skip = (offset + rows.len() as i64 - windowed).max(0);
        let wanted = Search { limit: search.limit - rows.len() as i64, ..*search };
        let (more, _) = read_page(store, &wanted, &older, None, skip).await?;
        rows.extend(more);
    }
    let has_more = rows.len() as i64 > search.limit;
    let windowed = windowed.max(0) as u64;
    let shown = offset as u64 + rows.len() as u64;
    let total = Total::Estimated(matches.max(shown).max(windowed));
    let mut page = finish(store, search, Order::Relevance, rows, offset, total, Some(windowed))?;
    page.next_cursor = has_more.then(|| {
        let next = Position::Window { o: (offset + search.limit) as u64, a: above, t: top };
        store.cursor_key.encode(search.fingerprint, next)
    });
    Ok(page)
}

/// The rowids a ranked window spans: above `above`, up to `top` (conversations stored later are left to a new
/// search, so that pages neither skip nor repeat a match when they arrive).
#[derive(Debug, Clone, Copy)]
struct RankedWindow {
    above: i64,
    top: i64,
}

/// The window of a first page: the newest conversations that should hold about [`RANKED_WINDOW`] of the
/// `matches` (at their share of the `conversations`).
async fn first_window(store: &Store, matches: u64, conversations: u64) -> Result<RankedWindow> {
    let newest = conversations.div_ceil(matches.max(1)).saturating_mul(RANKED_WINDOW);
    let newest = i64::try_from(newest).unwrap_or(i64::MAX);
    let (above, top): (i64, i64) = store
        .read_postgres(async |c| {
            sqlx::query_as(
                "SELECT coalesce((SELECT rowid FROM conversations ORDER BY rowid DESC OFFSET $1 LIMIT 1), 0), \
                 coalesce((SELECT max(rowid) FROM conversations), 0)",
            )
            .bind(newest)
            .fetch_one(c)
            .await
        })
        .await?;
    Ok(RankedWindow { above, top })
}

/// How many conversations of `window` the search selects.
async fn count_window(store: &Store, search: &Search<'_>, window: Window) -> Result<i64> {
    let mut count = QueryBuilder::<Postgres>::new("SELECT count(*)");
    push_from_and_conditions(&mut count, search.filter, search.text);
    push_window(&mut count, window);
    store.read_postgres(async |c| count.build_query_scalar().fetch_one(c).await).await
}

/// The total a page's first row carries; none for an empty first page; else (a cursor past the last match) a
/// count of its own.
async fn page_total(
    store: &Store,
    rows: &[PgRow],
    first_page: bool,
    filter: &ConversationFilter,
    text: Option<&str>,
) -> Result<u64> {
    let total: i64 = match rows.first() {
        Some(row) => row.try_get("total")?,
        None if first_page => 0,
        None => {
            let mut count = QueryBuilder::<Postgres>::new("SELECT count(*)");
            push_from_and_conditions(&mut count, filter, text);
            store.read_postgres(async |c| count.build_query_scalar().fetch_one(c).await).await?
        }
    };
    Ok(total as u64)
}

/// Where the page after the one ending with `last` starts.
fn next_position(order: Order, last: &PgRow, offset: i64, limit: i64) -> Result<Position> {
    Ok(match order {
        Order::Relevance => Position::Offset { o: (offset + limit) as u64 },
        Order::Created { .. } => Position::IntKey { v: last.try_get("created_at")?, r: last.try_get("rowid")? },
        Order::Updated => Position::IntKey { v: last.try_get("updated_at")?, r: last.try_get("rowid")? },
    })
}

/// Appends the keyset condition of a cursor; returns the row offset (non-zero only for relevance order).
fn push_position(query: &mut QueryBuilder<Postgres>, order: Order, position: Option<Position>) -> Result<i64> {
    let (column, op, v, r) = match (order, position) {
        (_, None) => return Ok(0),
        (Order::Relevance, Some(Position::Offset { o })) => {
            return i64::try_from(o).map_err(|_| mismatch());
        }
        (Order::Created { descending }, Some(Position::IntKey { v, r })) => {
            ("created_at", if descending { "<" } else { ">" }, v, r)
        }
        (Order::Updated, Some(Position::IntKey { v, r })) => ("updated_at", "<", v, r),
        _ => return Err(mismatch()),
    };
    query.push(format_args!(" AND (c.{column}, c.rowid) {op} ("));
    query.push_bind(v).push(", ").push_bind(r).push(")");
    Ok(0)
}

/// Appends ` FROM conversations c WHERE ...`: the text and every other condition of the filter.
fn push_from_and_conditions(query: &mut QueryBuilder<Postgres>, filter: &ConversationFilter, text: Option<&str>) {
    query.push(" FROM conversations c WHERE true");
    push_conditions(query, filter, text);
}

/// Appends ` AND ...` for the text (a `tsquery`, see [`text_query`]) and every other condition of the filter,
/// on conversations `c`. The filter's strings must be free of NUL ([`filter_without_nul`]).
pub(crate) fn push_conditions(query: &mut QueryBuilder<Postgres>, filter: &ConversationFilter, text: Option<&str>) {
    if let Some(text) = text {
        query.push(" AND c.document @@ ").push_bind(text.to_owned()).push("::tsquery");
    }
    if !filter.states.is_empty() {
        let states: Vec<&str> = filter.states.iter().map(|state| state.as_str()).collect();
        query.push(" AND c.state = ANY(").push_bind(states).push(")");
    }
    if !filter.priorities.is_empty() {
        let priorities: Vec<&str> = filter.priorities.iter().map(|priority| priority.as_str()).collect();
        query.push(" AND c.priority = ANY(").push_bind(priorities).push(")");
        if !filter.priorities.contains(&Priority::None) {
            // Lets PostgreSQL use the partial index of prioritized conversations.
            query.push(" AND c.priority <> 'none'");
        }
    }
    if !filter.tags.is_empty() {
        let names: Vec<String> = filter.tags.iter().map(|tag| tag.to_ascii_lowercase()).collect();
        query.push(
            " AND c.rowid IN (SELECT ct.conversation_rowid FROM conversation_tags ct WHERE ct.tag_id IN \
             (SELECT t.id FROM tags t WHERE t.id = ANY(",
        );
        query
            .push_bind(filter.tags.clone())
            .push(") OR fastintercom_ascii_lower(t.name) = ANY(")
            .push_bind(names)
            .push(")))");
    }
    if let Some(contact_id) = &filter.contact_id {
        query
            .push(" AND c.rowid IN (SELECT cc.conversation_rowid FROM conversation_contacts cc WHERE cc.contact_id = ");
        query.push_bind(contact_id.clone()).push(")");
    }
    if let Some(admin) = &filter.admin_assignee_id {
        query.push(" AND c.admin_assignee_id = ").push_bind(admin.clone());
    }
    if let Some(team) = &filter.team_assignee_id {
        query.push(" AND c.team_assignee_id = ").push_bind(team.clone());
    }
    for (column, op, value) in [
        ("created_at", ">=", filter.created_after),
        ("created_at", "<", filter.created_before),
        ("updated_at", ">=", filter.updated_after),
        ("updated_at", "<", filter.updated_before),
    ] {
        if let Some(value) = value {
            query.push(format_args!(" AND c.{column} {op} ")).push_bind(value);
        }
    }
    crate::filter::push_more(query, &filter.more);
}

/// The filter with its values as the store holds them (see [`without_nul`]).
pub(crate) fn filter_without_nul(filter: &ConversationFilter) -> ConversationFilter {
    let clean = |value: &Option<String>| value.as_deref().map(without_nul);
    ConversationFilter {
        tags: filter.tags.iter().map(|tag| without_nul(tag)).collect(),
        contact_id: clean(&filter.contact_id),
        admin_assignee_id: clean(&filter.admin_assignee_id),
        team_assignee_id: clean(&filter.team_assignee_id),
        more: crate::filter::MoreConditions { company_id: clean(&filter.more.company_id), ..filter.more.clone() },
        ..filter.clone()
    }
}

/// The conversations with these ids, in no particular order (see `Store::get_conversations`).
pub(crate) async fn get_many(store: &Store, ids: &[String]) -> Result<Vec<ConversationDetail>> {
    let ids: Vec<String> = ids.iter().map(|id| without_nul(id)).collect();
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, NULL::float8 AS score, c.source_body_text, c.rating_remark, c.parts_truncated, \
         {PARTS_JSON} FROM conversations c WHERE c.id = ANY($1)"
    );
    let rows =
        store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?;
    rows.iter().map(detail_from_row).collect()
}

pub(crate) async fn get(store: &Store, id: &str) -> Result<Option<ConversationDetail>> {
    let id = without_nul(id);
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, NULL::float8 AS score, c.source_body_text, c.rating_remark, c.parts_truncated, \
         {PARTS_JSON} FROM conversations c WHERE c.id = $1"
    );
    let row =
        store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await).await?;
    row.as_ref().map(detail_from_row).transpose()
}

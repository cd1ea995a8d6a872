//! Conversation search and retrieval on PostgreSQL: the same filters, orders, pages, totals and cursors as the
//! SQLite store (`store/conversations.rs`), each page one statement.
//!
//! A page's keys are chosen first (rowid, dates, score: the conditions, the text's GIN index and the order's
//! index, as PostgreSQL's planner sees fit), then only those rows are read whole with their lists; the total is
//! a scalar subquery of the same conditions, which PostgreSQL runs once per statement.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row as _};

use super::{TEXT_CONFIG, words};
use crate::store::contacts::no_searchable_words;
use crate::store::conversations::{Order, detail_from_row, mismatch, summary_from_row, summary_row_columns};
use crate::store::cursor::{self, Position};
use crate::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use crate::store::model::{ConversationDetail, ConversationSummary, Page, Priority};
use crate::store::{Result, SearchEffort, Store};

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

/// The most words of a query that reach the index (as on SQLite).
const MAX_QUERY_WORDS: usize = 32;

/// The words of a text query, as documents hold them; `None` without a letter or digit.
fn query_words(text: &str) -> Option<String> {
    let words = words(text);
    let kept: Vec<&str> = words.split(' ').filter(|w| !w.is_empty()).take(MAX_QUERY_WORDS).collect();
    (!kept.is_empty()).then(|| kept.join(" "))
}

pub(in crate::store) async fn search(
    store: &Store,
    filter: &ConversationFilter,
    sort: ConversationSort,
    page: &PageRequest,
    effort: SearchEffort,
) -> Result<Page<ConversationSummary>> {
    let text = filter.text.as_deref().map(|text| query_words(text).ok_or_else(no_searchable_words)).transpose()?;
    let order = Order::resolve(sort, text.is_some());
    let limit = i64::from(page.clamped_limit());
    // Every search here counts and ranks every match, whatever the effort; the effort is still part of the
    // cursor's search, so a cursor of one is refused by the other (as on SQLite).
    let fingerprint = cursor::fingerprint(&(filter, sort, effort));
    let position = page.cursor.as_deref().map(|c| store.cursor_key.decode(c, fingerprint)).transpose()?;

    let mut select = QueryBuilder::<Postgres>::new("WITH page AS (SELECT c.rowid, c.created_at, c.updated_at, ");
    match (&text, order) {
        (Some(text), Order::Relevance) => {
            select.push(format_args!("ts_rank_cd({RANK_WEIGHTS}, c.document, plainto_tsquery('{TEXT_CONFIG}', "));
            select.push_bind(text.clone()).push(format_args!("), {RANK_NORMALIZATION})::float8 AS score"));
        }
        _ => {
            select.push("NULL::float8 AS score");
        }
    }
    push_from_and_conditions(&mut select, filter, text.as_deref());
    let offset = push_position(&mut select, order, position.clone())?;
    match order {
        // The score is the page's own column, not the table's.
        Order::Relevance => select.push(" ORDER BY score DESC, c.rowid"),
        _ => select.push(order.sql("c")),
    };
    select.push(" LIMIT ").push_bind(limit + 1);
    if offset > 0 {
        select.push(" OFFSET ").push_bind(offset);
    }
    select.push(") SELECT ").push(SUMMARY_COLUMNS).push(", page.score, (SELECT count(*)");
    push_from_and_conditions(&mut select, filter, text.as_deref());
    select.push(") AS total FROM page JOIN conversations c ON c.rowid = page.rowid").push(order.sql("page"));

    let mut rows = store.read_postgres(async |c| select.build().fetch_all(c).await).await?;
    let total = page_total(store, &rows, position.is_none(), filter, text.as_deref()).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match (rows.last(), has_more) {
        (Some(last), true) => Some(store.cursor_key.encode(fingerprint, next_position(order, last, offset, limit)?)),
        _ => None,
    };
    let items = rows.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total, total_is_estimate: false, ranked_matches: None, next_cursor })
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
    if let Some(text) = text {
        query.push(format_args!(" AND c.document @@ plainto_tsquery('{TEXT_CONFIG}', "));
        query.push_bind(text.to_owned()).push(")");
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
}

pub(in crate::store) async fn get(store: &Store, id: &str) -> Result<Option<ConversationDetail>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, NULL::float8 AS score, c.source_body_text, c.rating_remark, c.parts_truncated, \
         {PARTS_JSON} FROM conversations c WHERE c.id = $1"
    );
    let row =
        store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await).await?;
    row.as_ref().map(detail_from_row).transpose()
}

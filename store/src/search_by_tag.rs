//! Searches narrowed to one tag, walked in the tag's own index.
//!
//! A tag's rows carry the conversation's state and dates (migration 0007), so a search whose conditions are one
//! tag, states and date ranges reads the tag's rows in the page's order, checks those conditions inside the
//! index, and reads a conversation only once it is on the page. The tag's conversations are counted inside the
//! same index. A text is checked against the set of its matches, and the tag's rows that hold it are read once
//! for both the page and its count (each check against a set builds the set); a word in most conversations is
//! instead probed row by row until the page is full, as the other plans do ([`super::search_plan`]).
//!
//! Measured on 100,000 demo conversations, the statements alone: the open conversations tagged "billing"
//! (10,360 tagged), newest first, with the total, 9.2 ms reading each tagged row and sorting, 0.3 ms walking the
//! tag's index; a page of "refund" among all 10,360, 7.5 ms driven from the set of matches, 1.1 ms walking the
//! tag's index (3.0 ms with its total, then 3.1 ms reading the tag's matching rows once for both, where the
//! page and its count had built the set of matches twice, 4.2 ms).

use sqlx::{QueryBuilder, Sqlite};

use super::conversations::{Order, SUMMARY_COLUMNS, push_date_ranges, push_states};
use super::cursor::Position;
use super::filter::ConversationFilter;
use super::row_count::PushRowCount as _;
use super::search_plan::{PROBED_ROWS, push_in_text_set, push_text_probe, scale_sample};
use super::{Result, Store, push_total};

/// How the text of a walked search is checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum TagText<'a> {
    None,
    /// Against the set of the text's matches: few or many of them, or any number when the total must be exact.
    InSet(&'a str),
    /// Probed row by row: a word in most conversations, whose set would be the workspace.
    Probed(&'a str),
}

/// Which page a walk reads: after a cursor's position, among the rows stored before one (the older matches of a
/// ranked search), past some of them; `limit` rows and one more, with their total when `counted` (and the text is
/// not probed).
#[derive(Debug, Clone)]
pub(super) struct WalkPage {
    pub position: Option<Position>,
    pub below_rowid: Option<i64>,
    pub skip: i64,
    pub limit: u32,
    pub counted: bool,
}

/// Whether a walk of one tag's rows can check every condition of `filter`: besides its tags, only states and
/// date ranges, which the tag's rows carry.
pub(super) fn fits_tag_walk(filter: &ConversationFilter) -> bool {
    let walkable = ConversationFilter {
        text: filter.text.clone(),
        states: filter.states.clone(),
        tags: filter.tags.clone(),
        created_after: filter.created_after,
        created_before: filter.created_before,
        updated_after: filter.updated_after,
        updated_before: filter.updated_before,
        ..ConversationFilter::default()
    };
    !filter.tags.is_empty() && *filter == walkable
}

impl Store {
    /// The one tag the filter's tags name (by id, or by name whatever its case), when they name exactly one; a
    /// walk in one tag's index is in page order, the union of several is not.
    pub(super) async fn single_tag(&self, filter: &ConversationFilter) -> Result<Option<String>> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT t.id FROM tags t WHERE ");
        super::conversations::push_tag_condition(&mut query, "t.id", filter);
        query.push(" LIMIT 2");
        let ids: Vec<String> = self.read(async |c| query.build_query_scalar().fetch_all(c).await).await?;
        Ok(match <[String; 1]>::try_from(ids) {
            Ok([id]) => Some(id),
            Err(_) => None,
        })
    }

    /// The rows of one tag's conversations that meet the filter's states, dates and text, in `order`, as `page`
    /// says: one row more than its limit when there are more, with their exact total in a `total` column when
    /// counted (unless the text is probed).
    pub(super) async fn walk_tag(
        &self,
        filter: &ConversationFilter,
        tag: &str,
        text: TagText<'_>,
        order: Order,
        page: WalkPage,
    ) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
        let WalkPage { position, below_rowid, skip, limit, counted } = page;
        let (column, index) = match order {
            Order::Updated => ("updated_at", "conversation_tags_by_updated"),
            Order::Created { .. } | Order::Relevance => ("created_at", "conversation_tags_by_created"),
        };
        let descending = !matches!(order, Order::Created { descending: false });
        let tail = PageTail { position, below_rowid, skip, limit, descending };
        let mut select = QueryBuilder::<Sqlite>::new("");
        if let (TagText::InSet(_), true) = (text, counted) {
            // The matching rows once, for both the page and its total: each check against the set of matches
            // builds that set, and a page and a count of "refund" among the 10,360 rows of a tag built it twice
            // (4.2 ms; 3.1 ms once).
            select.push(format_args!(
                "WITH hits AS MATERIALIZED (SELECT tg.conversation_rowid AS rowid, tg.{column} AS v"
            ));
            push_walk(&mut select, filter, tag, text, Reading::Counted);
            select.push(") SELECT ").push(SUMMARY_COLUMNS);
            select.push(
                ", (SELECT count(*) FROM hits) AS total, NULL AS score FROM (SELECT rowid, v FROM hits WHERE 1 = 1",
            );
            tail.push(&mut select, "v", "rowid")?;
            select.push(") AS k CROSS JOIN conversations c ON c.rowid = k.rowid");
            let direction = tail.direction();
            select.push(format_args!(" ORDER BY k.v {direction}, k.rowid {direction}"));
        } else {
            select.push("SELECT ").push(SUMMARY_COLUMNS);
            match text {
                TagText::None if counted => {
                    push_total(&mut select, |count| push_walk(count, filter, tag, text, Reading::Counted));
                }
                _ => {
                    select.push(", NULL AS total");
                }
            }
            select.push(", NULL AS score");
            push_walk(&mut select, filter, tag, text, Reading::PageInOrder(index));
            tail.push(&mut select, &format!("tg.{column}"), "tg.conversation_rowid")?;
        }
        self.read(async |c| select.build().fetch_all(c).await).await
    }

    /// The exact total of a walk (not probed): what the first of its page's `rows` carries, none when that page is
    /// the `first_page` and empty, or a count of its own ([`Store::page_total`]).
    pub(super) async fn tag_walk_total(
        &self,
        rows: &[sqlx::sqlite::SqliteRow],
        first_page: bool,
        filter: &ConversationFilter,
        tag: &str,
        text: TagText<'_>,
    ) -> Result<u64> {
        self.page_total(rows, first_page, |count| push_walk(count, filter, tag, text, Reading::Counted)).await
    }

    /// The total of a walk whose text is probed: the tag's rows that meet the conditions, counted in its index,
    /// times the share of the first [`PROBED_ROWS`] of them (newest first) that hold the text; exact when those
    /// are all of them. One statement.
    pub(super) async fn estimate_tag_walk(
        &self,
        filter: &ConversationFilter,
        tag: &str,
        fts: &str,
    ) -> Result<(u64, bool)> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT (SELECT count(*)");
        push_walk(&mut query, filter, tag, TagText::None, Reading::Counted);
        query.push("), (SELECT count(*) FROM (SELECT tg.conversation_rowid AS rowid");
        push_walk(&mut query, filter, tag, TagText::None, Reading::InOrder("conversation_tags_by_created"));
        query.push(" ORDER BY tg.created_at DESC, tg.conversation_rowid DESC LIMIT ").push_row_count(PROBED_ROWS);
        query.push(") AS s WHERE ");
        push_text_probe(&mut query, "s.rowid", fts);
        query.push(")");
        let (rows, hits): (i64, i64) = self.read(async |c| query.build_query_as().fetch_one(c).await).await?;
        Ok(scale_sample(rows as u64, hits, PROBED_ROWS))
    }
}

/// The end of a walk's page: after its position, below a rowid, in its order, past `skip` rows, `limit` and one more.
struct PageTail {
    position: Option<Position>,
    below_rowid: Option<i64>,
    skip: i64,
    limit: u32,
    descending: bool,
}

impl PageTail {
    fn direction(&self) -> &'static str {
        if self.descending { "DESC" } else { "ASC" }
    }

    /// ` AND ... ORDER BY ... LIMIT ... OFFSET ...` on the order's column `key` and the conversation's `rowid`.
    fn push(&self, select: &mut QueryBuilder<Sqlite>, key: &str, rowid: &str) -> Result<()> {
        if let Some(position) = &self.position {
            let &Position::IntKey { v, r } = position else { return Err(super::conversations::mismatch()) };
            let op = if self.descending { "<" } else { ">" };
            select.push(format_args!(" AND ({key}, {rowid}) {op} ("));
            select.push_bind(v).push(", ").push_bind(r).push(")");
        }
        if let Some(below) = self.below_rowid {
            select.push(format_args!(" AND {rowid} < ")).push_bind(below);
        }
        let direction = self.direction();
        select.push(format_args!(" ORDER BY {key} {direction}, {rowid} {direction} LIMIT "));
        select.push_row_count(i64::from(self.limit) + 1).push(" OFFSET ").push_row_count(self.skip);
        Ok(())
    }
}

/// How a statement reads the tag's rows.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Through whichever of the tag's indexes SQLite picks (a count).
    Counted,
    /// In this index's order.
    InOrder(&'static str),
    /// In this index's order, each joined to its conversation (`c`): a page.
    PageInOrder(&'static str),
}

/// ` FROM` the tag's rows (`tg`) ` WHERE` they meet the filter's states, date ranges and text.
fn push_walk(
    query: &mut QueryBuilder<Sqlite>,
    filter: &ConversationFilter,
    tag: &str,
    text: TagText<'_>,
    reading: Reading,
) {
    query.push(" FROM conversation_tags tg");
    match reading {
        Reading::Counted => {}
        Reading::InOrder(index) => {
            query.push(format_args!(" INDEXED BY {index}"));
        }
        Reading::PageInOrder(index) => {
            // CROSS JOIN keeps the tag's index outermost: a conversation is read only for a row on the page.
            query.push(format_args!(
                " INDEXED BY {index} CROSS JOIN conversations c ON c.rowid = tg.conversation_rowid"
            ));
        }
    }
    query.push(" WHERE tg.tag_id = ").push_bind(tag.to_owned());
    push_row_conditions(query, filter);
    match text {
        TagText::None => {}
        TagText::InSet(fts) => {
            // `+` keeps the tag's index driving; the set is built once and only filters.
            query.push(" AND ");
            push_in_text_set(query, "+tg.conversation_rowid", fts);
        }
        TagText::Probed(fts) => {
            query.push(" AND ");
            push_text_probe(query, "tg.conversation_rowid", fts);
        }
    }
}

/// ` AND ...` for the filter's states and date ranges, checked in the tag's row `tg`.
pub(super) fn push_row_conditions(query: &mut QueryBuilder<Sqlite>, filter: &ConversationFilter) {
    push_states(query, "tg", filter);
    push_date_ranges(query, "tg", filter);
}

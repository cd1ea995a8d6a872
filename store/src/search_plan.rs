//! How a conversation search reaches its rows: which index drives it, chosen per search.
//!
//! SQLite's planner cannot see how many conversations a full-text query matches (the index is a virtual table
//! and claims a fixed cost), and left to itself it picks plans that cost a hundred times the best: it probed the
//! full-text index once per row of a filter's index (about 30 µs a probe), or read every match of a common
//! word and sorted them all for a newest-first page of twenty. So the store measures the text first, with one
//! cheap statement that reads at most a few thousand postings, and writes the join order into the SQL:
//!
//! | text | order | other conditions | page | total |
//! |---|---|---|---|---|
//! | none | any | none | rows, through the index SQLite picks | SQLite's count of the table |
//! | none | any | tags alone | rows in the order's index when the tags are common, kept when tagged | the tag index alone |
//! | none | any | any | rows, through the index SQLite picks | same |
//! | few matches (≤ 2,000) | a column | none | rows in the order's index, kept when in the set of matches, until the page is full | what the measure counted |
//! | few matches (≤ 2,000) | any | any | every match from the full-text index, then its row | same pass |
//! | more | relevance | any | every match (each needs its score), and its row when a condition needs it | same pass |
//! | more | a column | none | rows in the order's index, each probed (most match) or kept when in the set of matches, until the page is full | the index alone |
//! | more | a column | select ≤ 64 rows | those rows, each probed in the index | same |
//! | more | a column | select more | rows, through the index SQLite picks, kept when in the set of matches | same |
//!
//! Measured on 100,000 demo conversations (2026-12-06): the statements alone, "refund" (12,728 matches) newest
//! first took 23 ms when SQLite chose and 2.0 ms walking the date index against the set of matches, "the"
//! (96,149 matches) 28 ms against the set and 0.95 ms probing row by row; end to end (`bench-search`, p50), a
//! common word with a tag went from 201–438 ms (and calls failing at the 2 s deadline) to 16–18 ms, and a word in
//! nearly every conversation, newest first, from 402–997 ms to 5.1–11.3 ms.
//!
//! Whatever drives it, a page that walks rows reads their keys first (rowid and the order's date, which every
//! index of the conversations covers) and reads whole rows only for its own keys; with date ranges alone, one on
//! the order's date, it walks the order's index. Left to order whole rows, SQLite read every row the conditions
//! selected: 5,397 prioritized conversations newest first took 44 ms, their keys 2.0 ms; one row of a 60-day
//! creation range 11 ms through another index, 0.05 ms walking the order's (the statements alone); a range of the
//! other date is read in its own index and its keys sorted. Row counts (`LIMIT`, `OFFSET`) are written into the
//! statements, so that SQLite does not plan them again on every call ([`super::row_count`]). A total that a statement
//! of its own reads (every conversation, the text's count, or the conditions' rows and a sample of them) runs beside
//! the page's statement on another reader connection; the conditions' rows are counted before the page only as far
//! as the plan's choices need ([`FilteredRows`]: 2,000, or 10,000 with a date range), the rest beside the sample. An
//! empty first page says its total (none) by itself.
//!
//! A bounded search ([`SearchEffort::Bounded`], contract 0.3.0) changes the rows for more than a few matches:
//!
//! | text | order | other conditions | page | total |
//! |---|---|---|---|---|
//! | more | relevance | any | the 1,000 most recently stored matches (those that meet the conditions) scored, then older matches newest first (as the plans above; conditions that select 65 to 2,000 rows read those that hold the text once, for the older matches and an exact total) | the text counted to 10,000, or estimated |
//! | most conversations | relevance | any | as newest first: the word is not ranked | as below |
//! | most conversations | a column | select more than 64 rows | those rows, each probed until the page is full: in the order's index past 2,000 rows (unless the row below applies) | the rows counted, times the share of 100 that hold the word |
//! | more, not most | creation, first page | none, or select more than 2,000 rows | the matches in id order, each joined to its row, until the page is full; kept when no conversation beyond the page's last id was created beyond its last date, else the row below applies | as below |
//! | more, not most | a column | select 65 to 2,000 rows | those rows that hold the text, read once (each checked against the set of matches) and sorted | the same rows, counted: exact |
//! | more, not most | a column | select more than 2,000 rows | as above | the rows counted, times the share of the first 1,000 in the set of matches (past 2,000 rows, only the matches within those 1,000's rowids make the set) |
//! | more | a column | none | as above | the text counted to 10,000 |
//! | most conversations | a column | select up to 2,000 rows, or up to 10,000 narrowing the other date | their keys (rowid and the order's date) sorted first, then each probed in that order until the page is full | as above |
//!
//! One tag, alone or with states and date ranges ([`super::search_by_tag`], both efforts), is answered in the
//! tag's own rows, which carry the conversation's state and dates (migration 0007):
//!
//! | text | order | page | total |
//! |---|---|---|---|
//! | none | a column | the tag's rows in its index in page order | counted in the tag's index |
//! | few or many matches | a column | the tag's rows in the set of matches, read once for the page (sorted) and its count | the same rows, counted |
//! | most conversations (bounded) | a column | the same rows, each probed until the page is full | the tag's rows counted, times the share of its newest 100 that hold the word |
//! | more (bounded) | relevance | the ranked window as above, each windowed match checked in its row of the tag; the older matches walked as the first row | exact, as the first row |

use sqlx::{QueryBuilder, Sqlite};

use super::row_count::PushRowCount as _;
use super::{Result, Store};

/// Below this many matches, a text query drives the search: reading every match and its row costs at most
/// about 2 ms.
pub(super) const FEW_TEXT_MATCHES: i64 = 2_000;

/// A text query whose newest [`FEW_TEXT_MATCHES`] matches lie within this many of the newest conversations
/// matches at least half of them: walking rows and probing each costs less than building the set of matches.
const DENSE_TEXT_WINDOW: i64 = 2 * FEW_TEXT_MATCHES;

/// How many conversations a text query matches, as far as the plan needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum TextMatches {
    /// At most [`FEW_TEXT_MATCHES`].
    Few,
    /// More, and at least about half of the conversations.
    Most,
    /// More, but not most.
    Many,
}

/// How many rows a search's conditions (besides its text) select, as far as they were counted: a plan's choices
/// need only to know whether they are at most a few thousand, and counting all of them (the 26,379 conversations
/// of one team: 0.56 ms) can wait for the total, read beside the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FilteredRows {
    Exact(u64),
    /// More than this many.
    MoreThan(u64),
}

impl FilteredRows {
    /// Whether the conditions select at most `rows` rows. Asked only of what was counted that far: more rows
    /// than were counted are an open question, answered no (a plan chosen for more rows, which is still right).
    pub fn at_most(self, rows: u64) -> bool {
        match self {
            Self::Exact(counted) => counted <= rows,
            Self::MoreThan(counted) => {
                debug_assert!(rows <= counted, "asked whether at most {rows} rows of more than {counted}");
                false
            }
        }
    }
}

/// Where the rows of a search come from. Public for the host's test that every plan answers alike.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No text: the conversations, through whichever index SQLite picks.
    Rows,
    /// Every text match from the full-text index (`f`), then its row (`c`) when a condition or the order needs
    /// it, read once for both the page and the total.
    FromText,
    /// The rows in the order's index, each probed in the full-text index, stopping when the page is full.
    RowsProbingText,
    /// The rows (in the order's index when nothing else narrows them), kept when in the set of text matches.
    RowsInTextSet,
}

/// Most matches of a text a bounded search counts ([`SearchEffort::Bounded`]); beyond it the total is "at
/// least this many", marked as an estimate. Counting the matches of a word in nearly every conversation reads
/// every posting (96,149 for "the" on 100,000 conversations: 7.4 ms); counting to this cap reads at most this many.
pub(super) const TEXT_COUNT_CAP: i64 = 10_000;

/// What a bounded search ranks when a text has more than [`FEW_TEXT_MATCHES`] matches: its this-many most
/// recently stored matches. bm25 reads every posting of every
/// match it scores (12,728 matches of "refund": 9.3 ms; 96,149 of "the": 75 ms).
/// (Scoring the newest 2,000 matches of "refund" took 2.5 ms, 1,000 took 1.4 ms: the statement alone.)
pub(super) const TEXT_WINDOW: i64 = 1_000;

/// Rows of a filter probed one by one in the full-text index to estimate how many hold a word in most
/// conversations (see [`Store::bounded_total`]): a probe costs 2–18 µs (more for a longer list of matches, 200
/// probes of "the" took 3.6 ms). For a share of at least a half, the estimate's error is at most 10% (one
/// standard deviation, by the binomial formula).
pub(super) const PROBED_ROWS: i64 = 100;

/// How much work a search may do for its total and its relevance order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SearchEffort {
    /// Every match counted and, in relevance order, every match ranked: contract 0.1.0's promise.
    #[default]
    Exhaustive,
    /// Totals of a text counted to [`TEXT_COUNT_CAP`]; a text with more than a few matches under other
    /// conditions estimated (the rows the conditions select, counted, times the share of the first of them in
    /// their index's order that holds the text: a sample, not a random one); relevance computed for the
    /// [`TEXT_WINDOW`] most recently stored matches of a text (the rest follow newest first), and not at all for a
    /// word in most conversations. The page says when any of this happened.
    Bounded,
}

impl Store {
    /// Measures a full-text query for [`Access`]: one statement that counts at most [`FEW_TEXT_MATCHES`] + 1
    /// matches (twice, the second time from the newest) and at most [`DENSE_TEXT_WINDOW`] + 1 rows. (Words that
    /// must all occur may read more postings than that to find their matches.)
    /// Returns the kind and, for [`TextMatches::Few`], how many match.
    pub(super) async fn text_matches(&self, fts_query: &str) -> Result<(TextMatches, u64)> {
        // How many matches, up to one more than few; when more, the rowid of the FEW_TEXT_MATCHES-th newest
        // match (conversation ids grow with time) and how many of the newest conversations hold that many.
        let mut probe = QueryBuilder::<Sqlite>::new("SELECT few.n, CASE WHEN few.n > ");
        probe.push_bind(FEW_TEXT_MATCHES);
        probe.push(" THEN (SELECT count(*) FROM (SELECT 1 FROM conversations WHERE rowid >= (");
        push_nth_newest_match(&mut probe, fts_query, FEW_TEXT_MATCHES);
        probe.push(") LIMIT ").push_row_count(DENSE_TEXT_WINDOW + 1);
        probe.push(
            ")) END FROM (SELECT count(*) AS n FROM (SELECT 1 FROM conversation_fts WHERE conversation_fts MATCH ",
        );
        probe.push_bind(fts_query.to_owned()).push(" LIMIT ").push_row_count(FEW_TEXT_MATCHES + 1).push(")) AS few");
        let (matches, window): (i64, Option<i64>) =
            self.read(async |c| probe.build_query_as().fetch_one(c).await).await?;
        let window = window.unwrap_or(i64::MAX);
        let kind = if matches <= FEW_TEXT_MATCHES {
            TextMatches::Few
        } else if window <= DENSE_TEXT_WINDOW {
            TextMatches::Most
        } else {
            TextMatches::Many
        };
        Ok((kind, matches as u64))
    }

    /// Counts the matches of a full-text query up to [`TEXT_COUNT_CAP`]: the count, and whether more match.
    pub(super) async fn count_text(&self, fts_query: &str) -> Result<(u64, bool)> {
        let mut count = QueryBuilder::<Sqlite>::new(
            "SELECT count(*) FROM (SELECT 1 FROM conversation_fts WHERE conversation_fts MATCH ",
        );
        count.push_bind(fts_query.to_owned()).push(" LIMIT ").push_row_count(TEXT_COUNT_CAP + 1).push(")");
        let counted: i64 = self.read(async |c| count.build_query_scalar().fetch_one(c).await).await?;
        Ok((counted.min(TEXT_COUNT_CAP) as u64, counted > TEXT_COUNT_CAP))
    }
}

/// Most rows a filter may select for a search with a common word to drive from the filter, probing each row
/// in the full-text index (about 30 µs a probe).
pub(super) const FEW_FILTERED_ROWS: i64 = 64;

/// How one search reads: the access of its page and of its total, and the index its page walks. Public for the
/// host's test that every plan answers alike.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub page: Access,
    pub total: Access,
    /// Forces the page's walk through the index of its order (`INDEXED BY`), when rows drive the page in
    /// order and no filter narrows them: SQLite would otherwise read every match and sort.
    pub walk_order_index: bool,
}

/// What a plan is chosen from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape {
    /// What the text matches; `None` without text.
    pub text: Option<TextMatches>,
    /// Relevance order (every match needs its score).
    pub ranked: bool,
    /// Whether conditions other than the text apply, and whether they select at most [`FEW_FILTERED_ROWS`]
    /// rows (measured only when the plan depends on it).
    pub filter: Filtered,
}

/// The conditions besides the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Filtered {
    No,
    /// At most [`FEW_FILTERED_ROWS`] rows.
    ToFewRows,
    /// More rows, or not measured.
    Yes,
}

impl Shape {
    /// Whether the plan depends on how many rows the filter selects: a common word with other conditions.
    pub fn needs_filter_size(text: Option<TextMatches>, ranked: bool, has_row_conditions: bool) -> bool {
        has_row_conditions && !ranked && matches!(text, Some(TextMatches::Most | TextMatches::Many))
    }

    pub fn plan(self) -> Plan {
        use Access::*;
        let (page, total) = match (self.text, self.ranked, self.filter) {
            (None, _, _) => (Rows, Rows),
            // A set of few matches is cheap to build, and the order's index finds the page's rows in it at once
            // (the total is what the measure counted): 0.3 ms against 3.6 ms reading 1,777 matches and their
            // rows to sort them.
            (Some(TextMatches::Few), false, Filtered::No) => (RowsInTextSet, FromText),
            (Some(TextMatches::Few), _, _) => (FromText, FromText),
            // Every match needs its score.
            (Some(_), true, _) => (FromText, FromText),
            (Some(_), false, Filtered::ToFewRows) => (RowsProbingText, RowsProbingText),
            (Some(TextMatches::Most), false, Filtered::No) => (RowsProbingText, FromText),
            (Some(TextMatches::Many), false, Filtered::No) => (RowsInTextSet, FromText),
            (Some(_), false, Filtered::Yes) => (RowsInTextSet, RowsInTextSet),
        };
        let walk_order_index = self.filter == Filtered::No && matches!(page, RowsProbingText | RowsInTextSet);
        Plan { page, total, walk_order_index }
    }
}

/// Appends `FROM ... WHERE <text condition>` for `access`; the caller appends ` AND ...` conditions after it.
/// `rows_needed`: whether the caller reads or orders by conversation columns (`c`). `order_index`: the index
/// that returns rows in the page's order, walked when rows drive and no filter's index should.
pub(super) fn push_from(
    query: &mut QueryBuilder<Sqlite>,
    access: Access,
    fts_query: Option<&str>,
    rows_needed: bool,
    order_index: Option<&str>,
) {
    let fts = || fts_query.expect("a text access has a text query").to_owned();
    match access {
        Access::Rows => {
            query.push(" FROM conversations c");
            if let Some(index) = order_index {
                query.push(format_args!(" INDEXED BY {index}"));
            }
            query.push(" WHERE 1 = 1");
        }
        Access::FromText => {
            query.push(" FROM conversation_fts f");
            if rows_needed {
                // CROSS JOIN keeps this order: SQLite would otherwise probe the index once per row.
                query.push(" CROSS JOIN conversations c ON c.rowid = f.rowid");
            }
            query.push(" WHERE conversation_fts MATCH ").push_bind(fts());
        }
        Access::RowsProbingText => {
            query.push(" FROM conversations c");
            if let Some(index) = order_index {
                query.push(format_args!(" INDEXED BY {index}"));
            }
            query.push(" WHERE ");
            push_text_probe(query, "c.rowid", &fts());
        }
        Access::RowsInTextSet => {
            query.push(" FROM conversations c");
            if let Some(index) = order_index {
                query.push(format_args!(" INDEXED BY {index}"));
            }
            // `+` keeps SQLite from driving from the set (a row lookup per match, 1.7 µs each): a filter's index
            // or the order's drives, and the set only filters ("refund" created in the last 400 days: 43 ms
            // driven from the set, 15 ms from the date index).
            query.push(" WHERE ");
            push_in_text_set(query, "+c.rowid", &fts());
        }
    }
}

/// Appends a statement whose one row is the rowid of the `nth` newest match of `fts` (none when it has fewer):
/// conversation ids grow with time, so the matches from it on are its `nth` most recently created.
pub(super) fn push_nth_newest_match(query: &mut QueryBuilder<Sqlite>, fts: &str, nth: i64) {
    query.push("SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH ").push_bind(fts.to_owned());
    query.push(" ORDER BY rowid DESC LIMIT 1 OFFSET ").push_row_count(nth - 1);
}

/// Appends `EXISTS (...)`: whether the row `rowid` (an expression) matches `fts`, probed in the full-text index
/// (2–18 µs a probe, more for a longer list of matches).
pub(super) fn push_text_probe(query: &mut QueryBuilder<Sqlite>, rowid: &str, fts: &str) {
    query.push(format_args!(
        "EXISTS (SELECT 1 FROM conversation_fts f WHERE f.rowid = {rowid} AND conversation_fts MATCH "
    ));
    query.push_bind(fts.to_owned()).push(")");
}

/// Appends `<rowid> IN (...)`: whether the row `rowid` (an expression) is in the set of `fts`'s matches, which
/// SQLite builds once per statement (counting a tag's 10,360 rows took 1.7 ms against the 12,728 matches of
/// "refund", 0.24 ms alone).
pub(super) fn push_in_text_set(query: &mut QueryBuilder<Sqlite>, rowid: &str, fts: &str) {
    query.push(format_args!("{rowid} IN (SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH "));
    query.push_bind(fts.to_owned()).push(")");
}

/// Appends `<rowid> IN (...)` as [`push_in_text_set`] does, with only the matches whose rowids lie between `low`
/// and `high` (expressions, both included) in the set: the full-text index seeks to them.
pub(super) fn push_in_text_set_between(
    query: &mut QueryBuilder<Sqlite>,
    rowid: &str,
    fts: &str,
    low: &str,
    high: &str,
) {
    query.push(format_args!("{rowid} IN (SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH "));
    query.push_bind(fts.to_owned());
    query.push(format_args!(" AND rowid >= {low} AND rowid <= {high})"));
}

/// An estimate of how many of `rows` rows hold a text, `hits` of the first `sample` of them having held it:
/// exact (not an estimate) when the sample was all of them.
pub(super) fn scale_sample(rows: u64, hits: i64, sample: i64) -> (u64, bool) {
    if rows <= sample as u64 {
        return (hits as u64, false);
    }
    ((rows as f64 * hits as f64 / sample as f64).round() as u64, true)
}

#[cfg(test)]
#[path = "search_plan_tests.rs"]
mod tests;

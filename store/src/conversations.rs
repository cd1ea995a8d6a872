//! Conversation search and retrieval. The one place where a [`ConversationFilter`] becomes SQL.

use sqlx::{QueryBuilder, Row, Sqlite, sqlite::SqliteRow};

use super::cursor::{self, Position};
use super::filter::{ConversationFilter, ConversationSort, PageRequest};
use super::model::{
    Author, ConversationDetail, ConversationState, ConversationSummary, Page, PartView, Priority, Statistics,
};
use super::row_count::PushRowCount as _;
use super::search_by_tag::{TagText, WalkPage, fits_tag_walk, push_row_conditions as push_tag_row_conditions};
use super::search_plan::{
    Access, FEW_FILTERED_ROWS, Filtered, FilteredRows, PROBED_ROWS, Plan, SearchEffort, Shape, TEXT_WINDOW,
    TextMatches, push_from, push_in_text_set, push_in_text_set_between, push_nth_newest_match, push_text_probe,
    scale_sample,
};
use super::text::{fts_conversation_query, preview};
use super::{Decodes, Result, Store, StoreError, json_column, json_text, postgres, push_total};

/// Characters of the first message shown in a search result.
const PREVIEW_CHARS: usize = 280;

/// The columns of `conversations c` a [`ConversationSummary`] reads, in the order [`summary_from_row`] reads
/// them: plain SQL that both backends run as it is (the lists that follow differ: see [`SUMMARY_COLUMNS`]).
macro_rules! summary_row_columns {
    () => {
        "c.rowid, c.id, c.title, c.state, c.open, c.read, c.priority, c.created_at, \
    c.updated_at, c.waiting_since, c.snoozed_until, c.admin_assignee_id, c.team_assignee_id, c.source_type, \
    c.source_subject, c.source_author_type, c.source_author_id, c.source_author_name, c.source_author_email, \
    substr(c.source_body_text, 1, 600) AS preview_source, c.rating, c.time_to_assignment, c.time_to_admin_reply, \
    c.time_to_first_close, c.time_to_last_close, c.median_time_to_reply, c.handling_time, \
    c.first_contact_reply_at, c.first_assignment_at, c.first_admin_reply_at, c.first_close_at, \
    c.last_assignment_at, c.last_contact_reply_at, c.last_admin_reply_at, c.last_close_at, c.last_closed_by_id, \
    c.count_reopens, c.count_assignments, c.count_conversation_parts"
    };
}
pub(super) use summary_row_columns;

/// Columns of `conversations c` that make a [`ConversationSummary`] (plus `preview_source`), with its tag names
/// and contact ids as JSON arrays.
///
/// Every read of the store is one statement: sqlx runs each SQLite connection on a thread of its own, so each
/// statement is a round trip between threads, which under concurrent calls cost more than the queries themselves.
/// Lists that belong to a row (tags, contacts, parts) therefore come as JSON arrays built by SQLite in the same
/// statement rather than from follow-up queries.
pub(super) const SUMMARY_COLUMNS: &str = concat!(
    summary_row_columns!(),
    ", (SELECT json_group_array(t.name ORDER BY t.name) FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id \
     WHERE ct.conversation_rowid = c.rowid) AS tags_json, \
     (SELECT json_group_array(cc.contact_id ORDER BY cc.position) FROM conversation_contacts cc \
     WHERE cc.conversation_rowid = c.rowid) AS contacts_json"
);

/// A conversation's parts in thread order, as a JSON array of `[id, part_type, body_text, author_type, author_id,
/// author_name, author_email, created_at, assigned_to_id]` (see [`PartColumns`]).
const PARTS_JSON: &str = "(SELECT json_group_array(json_array(p.id, p.part_type, p.body_text, p.author_type, \
    p.author_id, p.author_name, p.author_email, p.created_at, p.assigned_to_id) \
    ORDER BY p.created_at, length(p.id), p.id) FROM conversation_parts p WHERE p.conversation_rowid = c.rowid) \
    AS parts_json";

/// One element of [`PARTS_JSON`].
type PartColumns =
    (String, String, Option<String>, String, String, Option<String>, Option<String>, i64, Option<String>);

/// The order a search runs in, once "relevance without text" has been resolved to newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    Relevance,
    Created { descending: bool },
    Updated,
}

impl Order {
    pub(super) fn resolve(sort: ConversationSort, has_text: bool) -> Self {
        match sort {
            ConversationSort::Relevance if has_text => Self::Relevance,
            ConversationSort::Relevance | ConversationSort::Newest => Self::Created { descending: true },
            ConversationSort::Oldest => Self::Created { descending: false },
            ConversationSort::Updated => Self::Updated,
        }
    }

    /// The index that returns conversations in this order.
    fn index(self) -> Option<&'static str> {
        match self {
            Self::Relevance => None,
            Self::Created { .. } => Some("conversations_by_created"),
            Self::Updated => Some("conversations_by_updated"),
        }
    }

    /// The column a page in this order is sorted by (with the rowid). Relevance is sorted by a score, which only
    /// the plans that read every match (or the ranked window) have: asking it of those is refused.
    fn key_column(self) -> Result<&'static str> {
        match self {
            Self::Relevance => {
                Err(StoreError::InvalidArgument("a relevance order needs every match's score".to_owned()))
            }
            Self::Created { .. } => Ok("created_at"),
            Self::Updated => Ok("updated_at"),
        }
    }

    /// ` ORDER BY ...` on the columns of `table` (`c`, or a subquery with the same names and `score`).
    pub(super) fn sql(self, table: &str) -> String {
        match self {
            Self::Relevance => format!(" ORDER BY {table}.score DESC, {table}.rowid"),
            Self::Created { descending: true } => format!(" ORDER BY {table}.created_at DESC, {table}.rowid DESC"),
            Self::Created { descending: false } => format!(" ORDER BY {table}.created_at ASC, {table}.rowid ASC"),
            Self::Updated => format!(" ORDER BY {table}.updated_at DESC, {table}.rowid DESC"),
        }
    }
}

impl Store {
    /// Finds conversations matching `filter`, in `sort` order, one page at a time, with an exact total and every
    /// text match ranked ([`SearchEffort::Exhaustive`]).
    pub async fn search_conversations(
        &self,
        filter: &ConversationFilter,
        sort: ConversationSort,
        page: &PageRequest,
    ) -> Result<Page<ConversationSummary>> {
        self.search_conversations_with(filter, sort, page, SearchEffort::Exhaustive).await
    }

    /// [`Store::search_conversations`] with a choice of how much work the total and the ranking may take.
    pub async fn search_conversations_with(
        &self,
        filter: &ConversationFilter,
        sort: ConversationSort,
        page: &PageRequest,
        effort: SearchEffort,
    ) -> Result<Page<ConversationSummary>> {
        self.search_conversations_planned(filter, sort, page, effort, None).await
    }

    /// [`Store::search_conversations_with`] with the plan it chooses, or with `forced` (tests run every plan).
    #[doc(hidden)]
    pub async fn search_conversations_planned(
        &self,
        filter: &ConversationFilter,
        sort: ConversationSort,
        page: &PageRequest,
        effort: SearchEffort,
        forced: Option<Plan>,
    ) -> Result<Page<ConversationSummary>> {
        if self.postgres().is_some() {
            return postgres::conversations::search(self, filter, sort, page, effort).await;
        }
        let fts_query = filter.text.as_deref().map(fts_conversation_query).transpose()?;
        let mut order = Order::resolve(sort, fts_query.is_some());
        let limit = page.clamped_limit();
        // The one tag a tag walk follows is read beside the text's measure: after it, it was one more round trip
        // to a reader's thread (about 0.1 ms on an idle machine, whose threads wake slowly).
        let tag_walk_possible = forced.is_none() && fits_tag_walk(filter);
        let measured = async {
            Ok(match fts_query.as_deref() {
                Some(fts) => {
                    let (kind, counted) = self.text_matches(fts).await?;
                    (Some(kind), Some(counted))
                }
                None => (None, None),
            })
        };
        let named_tag = async {
            match tag_walk_possible {
                true => self.single_tag(filter).await,
                false => Ok(None),
            }
        };
        let ((measure, few_counted), named_tag) = tokio::try_join!(measured, named_tag)?;
        // A bounded search's cursor is also bound to how its text was measured, which decides its order: after a
        // sync that moves the text across a line, a next page would continue another order (or be refused as a
        // cursor of another sort); it is refused as an invalid cursor instead.
        let mode = (effort == SearchEffort::Bounded).then_some(measure).flatten();
        let fingerprint = cursor::fingerprint(&(filter, sort, effort, mode));
        let position = page.cursor.as_deref().map(|c| self.cursor_key.decode(c, fingerprint)).transpose()?;
        let first_page = position.is_none();
        // A bounded search of a text with more than a few matches neither ranks nor counts every one.
        let many = measure.filter(|m| effort == SearchEffort::Bounded && *m != TextMatches::Few);
        // Nor does it rank a text in most conversations at all: bm25 gives such a word no weight (its idf is
        // clamped to almost zero), so scoring it would order by noise, at 5 ms for 1,000 matches of "the".
        let mut ranked_matches = None;
        if many == Some(TextMatches::Most) && order == Order::Relevance {
            order = Order::Created { descending: true };
            ranked_matches = Some(0);
        }
        // One tag, with states and date ranges at most: its own rows answer those conditions, in page order
        // (see `search_by_tag`). Resolved once, for the plans that use it: pages in a column's order, and the
        // ranked window (other relevance pages read every match anyway).
        let walks = order != Order::Relevance || many.is_some();
        let tag = named_tag.filter(|_| walks);
        if let (Some(_), Some(fts), Order::Relevance) = (many, fts_query.as_deref(), order) {
            let offset = match position {
                None => 0,
                Some(Position::Offset { o }) => o,
                Some(_) => return Err(mismatch()),
            };
            let window = RankedWindow { tag: tag.as_deref(), fts, offset, limit, fingerprint };
            return self.search_ranked_window(filter, window).await;
        }
        if let Some(tag) = tag.as_deref() {
            // (In a column's order: a ranked search returned above.)
            let text = match (fts_query.as_deref(), many) {
                (None, _) => TagText::None,
                (Some(fts), Some(TextMatches::Most)) => TagText::Probed(fts),
                (Some(fts), _) => TagText::InSet(fts),
            };
            let page = WalkPage { position, below_rowid: None, skip: 0, limit, counted: true };
            let walk = self.walk_tag(filter, tag, text, order, page);
            let (rows, total) = match text {
                // (The estimate needs nothing of the page: read beside it.)
                TagText::Probed(fts) => tokio::try_join!(walk, self.estimate_tag_walk(filter, tag, fts))?,
                TagText::None | TagText::InSet(_) => {
                    let rows = walk.await?;
                    let total = self.tag_walk_total(&rows, first_page, filter, tag, text).await?;
                    (rows, (total, false))
                }
            };
            return self.finish_page(rows, limit, order, 0, total, ranked_matches, fingerprint);
        }
        // What a bounded search over many matches with other conditions needs to know of those conditions: how
        // many rows they select (for its total, and for its plan).
        // (Counted only as far as the plan's choices need: the total's estimate counts the rest beside the page.
        // Counted whole here, one team's 26,379 rows added 0.56 ms ahead of the page.)
        let filtered_rows = match many {
            Some(text) if filter.has_row_conditions() => Some(self.count_filtered_for_plan(filter, text).await?),
            _ => None,
        };
        let shape = match forced {
            Some(_) => None,
            None => Some(self.shape(filter, measure, order, filtered_rows).await?),
        };
        let mut plan = forced.or(shape.map(Shape::plan)).expect("a forced plan or a chosen one");
        if forced.is_none()
            && plan.page == Access::RowsInTextSet
            && measure == Some(TextMatches::Few)
            && few_counted.is_some_and(|counted| counted <= SORTED_ROWS_MAX)
        {
            // So few matches that walking the order's index for them could read all of it: read them and sort.
            plan = Plan { page: Access::FromText, total: Access::FromText, walk_order_index: false };
        }
        // The total of a bounded search over many matches: what the text measure counted when nothing else
        // applies, [`Store::bounded_total`] when other conditions do (unless they select so few rows that each
        // is probed anyway, and counted with the page).
        let mut probe_in_key_order = false;
        // How many keys a page probed in key order sorts and probes at first (all of them when `None`; only such a
        // page sets it).
        let mut probed_keys = None;
        // A common word under conditions that select few rows: those rows that hold it are read once, for the
        // page and its exact total ([`push_matching_rows`]).
        let few_rows_read_once = forced.is_none()
            && many == Some(TextMatches::Many)
            && filtered_rows.is_some_and(|rows| rows.at_most(READ_ONCE_ROWS as u64))
            && shape.is_some_and(|s| s.filter != Filtered::ToFewRows);
        // A total read by a statement of its own is read beside the page's (below), on another connection.
        let mut own_total = None;
        let mut known_total = match many {
            Some(_) if !filter.has_row_conditions() => {
                own_total = Some(OwnTotal::Text);
                None
            }
            Some(_) if few_rows_read_once => None,
            Some(measure) if shape.is_none_or(|s| s.filter != Filtered::ToFewRows) => {
                let rows = filtered_rows.expect("counted for a bounded search with conditions");
                if measure == TextMatches::Most && forced.is_none() {
                    // A word in most conversations: the rows the conditions select, each probed until the page
                    // is full (rather than against the set of matches, which is most of the workspace): in the
                    // order's index when they are many and spread along it (walking stops soon), else put in
                    // page order from their keys first ([`push_probed_in_key_order`]).
                    probe_in_key_order = rows.at_most(WALK_ORDER_MIN_ROWS)
                        || (ranges_another_date(filter, order) && rows.at_most(SORTED_KEYS_MAX));
                    let walk_order_index = !probe_in_key_order;
                    plan = Plan { page: Access::RowsProbingText, total: Access::RowsProbingText, walk_order_index };
                    let first_keys = (i64::from(limit) + 1) * KEYS_PROBED_PER_ROW;
                    if probe_in_key_order && !rows.at_most(first_keys as u64) {
                        probed_keys = Some(first_keys);
                    }
                }
                own_total = Some(OwnTotal::Sampled { measure, rows });
                None
            }
            // Few matches and nothing else: the measure counted them all.
            None if plan.page != Access::FromText
                && measure == Some(TextMatches::Few)
                && !filter.has_row_conditions() =>
            {
                few_counted.map(|counted| (counted, false))
            }
            _ => None,
        };
        // Tags alone: counted from the tag index, without reading a conversation; and a common tag's page walks the
        // order's index (SQLite would read every tagged conversation and sort them).
        let mut walk_order_index = plan.walk_order_index;
        if fts_query.is_none() && !filter.has_row_conditions() {
            // Everything: SQLite's page-by-page count of the table (a count inside the page's statement reads every
            // row of an index: 1.2 ms on 100,000 conversations), beside the page.
            own_total = Some(OwnTotal::Everything);
        } else if forced.is_none() && fts_query.is_none() && filter.has_only_tags() {
            let tagged = self.count_tagged(filter).await?;
            known_total = Some((tagged, false));
            walk_order_index = tagged > SORTED_ROWS_MAX;
        }
        let fts = fts_query.as_deref();
        let has_row_conditions = filter.has_row_conditions();

        // What the search matches, as its total counts it.
        let matches = |query: &mut QueryBuilder<Sqlite>| {
            push_from(query, plan.total, fts, has_row_conditions, None);
            push_conditions(query, filter);
        };
        let read_own_total = async |own: Option<OwnTotal>| -> Result<Option<(u64, bool)>> {
            let fts = fts.unwrap_or_default();
            Ok(match own {
                None => None,
                Some(OwnTotal::Everything) => Some((self.conversation_count().await?, false)),
                Some(OwnTotal::Text) => Some(self.count_text(fts).await?),
                Some(OwnTotal::Sampled { measure, rows }) => {
                    Some(self.bounded_total(filter, fts, measure, rows).await?)
                }
            })
        };
        // A first page in creation order of a common word: its matches in id order, checked to be the true page.
        // (Not for pages of more than half of [`ID_ORDER_MATCHES`], nor when a creation bound lies ahead of the
        // walk, nor when a total known already says the page will not fill: it would read its matches in vain. The
        // matches are more than 2,000, so the first 1,000 hold at most half. A total of its own, the text's count
        // or the conditions' estimate, is read beside the walk: read first, to see whether the page would fill,
        // the estimate cost its sample's 0.25–1.9 ms ahead of every walk, which it nearly always allowed.)
        if forced.is_none()
            && first_page
            && many == Some(TextMatches::Many)
            && !few_rows_read_once
            && let Order::Created { descending } = order
            && 2 * (i64::from(limit) + 1) <= ID_ORDER_MATCHES
            && !bounds_creation_ahead(filter, descending)
        {
            let fills = match known_total {
                Some(total) => total.0 >= 2 * (u64::from(limit) + 1),
                None => own_total.is_some(),
            };
            if fills {
                let walk = self.first_page_in_id_order(filter, fts.unwrap_or_default(), descending, limit);
                let (rows, own) = tokio::try_join!(walk, read_own_total(own_total.take()))?;
                let total = own.or(known_total).expect("a total known or read beside the walk");
                if let Some(rows) = rows {
                    return self.finish_page(rows, limit, order, 0, total, ranked_matches, fingerprint);
                }
                known_total = Some(total);
            }
        }
        let mut select = QueryBuilder::<Sqlite>::new("");
        // (For a page probed in key order that the first keys may not fill.)
        let position_again = probed_keys.and(position.clone());
        let offset = if plan.page == Access::FromText {
            // Every match is read once into `m`, with what orders it; the page and the total both come from
            // there, and only the page's rows are read whole.
            select.push("WITH m AS MATERIALIZED (SELECT f.rowid AS rowid");
            let ranked = order == Order::Relevance;
            select.push(match ranked {
                true => ", -bm25(conversation_fts, 2.0, 1.0) AS score",
                false => ", NULL AS score, c.created_at AS created_at, c.updated_at AS updated_at",
            });
            push_from(&mut select, Access::FromText, fts, !ranked || has_row_conditions, None);
            push_conditions(&mut select, filter);
            select.push(") SELECT ").push(SUMMARY_COLUMNS);
            select.push(", (SELECT count(*) FROM m) AS total, page.score AS score FROM (SELECT m.rowid, m.score FROM m WHERE 1 = 1");
            let offset = push_position(&mut select, order, position, "m")?;
            select.push(order.sql("m")).push(" LIMIT ").push_row_count(i64::from(limit) + 1);
            select.push(" OFFSET ").push_row_count(i64::try_from(offset).map_err(|_| invalid_offset())?);
            select.push(") AS page CROSS JOIN conversations c ON c.rowid = page.rowid");
            select.push(order.sql(if ranked { "page" } else { "c" }));
            offset
        } else if probe_in_key_order {
            let keys = ProbedKeys { position, limit, first: probed_keys };
            push_probed_in_key_order(&mut select, filter, fts.unwrap_or_default(), order, keys)?;
            0
        } else if few_rows_read_once {
            let page = MatchingPage { position, below: None, skip: 0, wanted: i64::from(limit) + 1 };
            push_matching_rows(&mut select, filter, fts.unwrap_or_default(), order, page)?;
            0
        } else {
            select.push("SELECT ").push(SUMMARY_COLUMNS);
            match known_total.is_some() || own_total.is_some() {
                true => {
                    select.push(", NULL AS total");
                }
                false => push_total(&mut select, matches),
            }
            select.push(", NULL AS score");
            // The page's keys first, then its rows: the keys come from whichever index covers the conditions
            // (every one of them carries both dates), and only the page's rows are read whole. Left to order
            // whole rows, SQLite read and sorted every row the conditions select (5,397 prioritized
            // conversations, newest first: 44 ms; their keys: 2.0 ms).
            // (Relevance pages read every match with its score, or the ranked window: never these plans.)
            let key = order.key_column()?;
            select.push(format_args!(" FROM (SELECT c.rowid AS rowid, c.{key} AS {key}"));
            let index = match walk_order_index {
                true => order.index(),
                false => range_index(filter),
            };
            push_from(&mut select, plan.page, fts, true, index);
            push_conditions(&mut select, filter);
            let offset = push_position(&mut select, order, position, "c")?;
            select.push(order.sql("c"));
            select.push(" LIMIT ").push_row_count(i64::from(limit) + 1);
            select.push(") AS k CROSS JOIN conversations c ON c.rowid = k.rowid");
            select.push(order.sql("k"));
            offset
        };

        let page = self.read(async |c| select.build().fetch_all(c).await);
        let (mut rows, own) = tokio::try_join!(page, read_own_total(own_total))?;
        if probed_keys.is_some() && rows.len() <= limit as usize {
            // The first keys held too few matches for a full page: every key, probed in turn.
            let mut all = QueryBuilder::<Sqlite>::new("");
            let keys = ProbedKeys { position: position_again, limit, first: None };
            push_probed_in_key_order(&mut all, filter, fts.unwrap_or_default(), order, keys)?;
            rows = self.read(async |c| all.build().fetch_all(c).await).await?;
        }
        let total = match own.or(known_total) {
            Some(known) => known,
            None => (self.page_total(&rows, first_page, matches).await?, false),
        };
        self.finish_page(rows, limit, order, offset, total, ranked_matches, fingerprint)
    }

    /// The first page, in creation order (newest first when `descending`), of the conversations that hold `fts`
    /// and meet the filter's conditions, read from the full-text index in id order: conversation ids follow
    /// creation dates (in Intercom and in the demo workspace), so about a page of matches is read instead of the
    /// set of all of them. It is the true page only when no conversation beyond its last id (smaller, newest
    /// first) was created beyond its last date (later, newest first), checked in the creation index over the
    /// conversations between the page and the edge of the workspace; `None` when it is not, or when the first
    /// [`ID_ORDER_MATCHES`] matches do not fill the page: the caller's plan answers then. A page of 50 of
    /// "refund", newest first: 0.6 ms, where walking the date index against the set of matches took 1.9 ms (the
    /// statements, in the server's log).
    async fn first_page_in_id_order(
        &self,
        filter: &ConversationFilter,
        fts: &str,
        descending: bool,
        limit: u32,
    ) -> Result<Option<Vec<SqliteRow>>> {
        let wanted = i64::from(limit) + 1;
        let (direction, edge, beyond, later, first) = match descending {
            true => ("DESC", "min", "<", ">", i64::MIN),
            false => ("ASC", "max", ">", "<", i64::MAX),
        };
        let mut select = QueryBuilder::<Sqlite>::new(
            "WITH p AS MATERIALIZED (SELECT c.rowid AS rowid, c.created_at AS created_at FROM conversation_fts f \
             CROSS JOIN conversations c ON c.rowid = f.rowid WHERE conversation_fts MATCH ",
        );
        select.push_bind(fts.to_owned());
        // At most ID_ORDER_MATCHES matches: from the id of the last of them (or the first id there is).
        let bound = if descending { ">=" } else { "<=" };
        select.push(format_args!(
            " AND f.rowid {bound} coalesce((SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH "
        ));
        select.push_bind(fts.to_owned());
        select.push(format_args!(" ORDER BY rowid {direction} LIMIT 1 OFFSET ")).push_row_count(ID_ORDER_MATCHES - 1);
        select.push("), ").push_bind(first).push(")");
        push_conditions(&mut select, filter);
        select.push(format_args!(" ORDER BY f.rowid {direction} LIMIT ")).push_row_count(wanted);
        select.push(format_args!(
            "), e AS MATERIALIZED (SELECT n, NOT EXISTS (SELECT 1 FROM conversations o INDEXED BY \
             conversations_by_created WHERE o.created_at {later} v AND o.rowid {beyond} r) AS in_order FROM \
             (SELECT {edge}(rowid) AS r, {edge}(created_at) AS v, count(*) AS n FROM p)) SELECT "
        ));
        select.push(SUMMARY_COLUMNS);
        select.push(
            ", NULL AS total, NULL AS score, e.n AS found, e.in_order AS in_order FROM e CROSS JOIN p \
             CROSS JOIN conversations c ON c.rowid = p.rowid",
        );
        select.push(format_args!(" ORDER BY p.created_at {direction}, p.rowid {direction}"));
        let rows = self.read(async |c| select.build().fetch_all(c).await).await?;
        let Some(first_row) = rows.first() else { return Ok(None) };
        let found: i64 = first_row.try_get("found")?;
        let in_order: bool = first_row.try_get("in_order")?;
        Ok((found == wanted && in_order).then_some(rows))
    }

    /// The page of a search's `rows` (one more than `limit` when there are more), with its cursor.
    #[allow(clippy::too_many_arguments)]
    fn finish_page(
        &self,
        mut rows: Vec<SqliteRow>,
        limit: u32,
        order: Order,
        offset: u64,
        (total, total_is_estimate): (u64, bool),
        ranked_matches: Option<u64>,
        fingerprint: u64,
    ) -> Result<Page<ConversationSummary>> {
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        // An estimate never says less than the page shows.
        let total = if total_is_estimate { total.max(rows.len() as u64 + u64::from(has_more)) } else { total };
        let next_cursor = match rows.last() {
            Some(last) if has_more => {
                let position = match order {
                    Order::Relevance => {
                        Position::Offset { o: offset.checked_add(u64::from(limit)).ok_or_else(invalid_offset)? }
                    }
                    Order::Created { .. } => {
                        Position::IntKey { v: last.try_get("created_at")?, r: last.try_get("rowid")? }
                    }
                    Order::Updated => Position::IntKey { v: last.try_get("updated_at")?, r: last.try_get("rowid")? },
                };
                Some(self.cursor_key.encode(fingerprint, position))
            }
            _ => None,
        };
        let items = rows.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total, total_is_estimate, ranked_matches, next_cursor })
    }

    /// A bounded search in relevance order of a text with more than a few matches (but not in most
    /// conversations): its [`TEXT_WINDOW`] most recently stored matches are scored, and those that meet the other
    /// conditions come first, best first; the older matches that meet them follow, newest first. The total is
    /// exact when the window holds every match, the text's count when nothing else applies, and otherwise
    /// [`Store::bounded_total`].
    async fn search_ranked_window(
        &self,
        filter: &ConversationFilter,
        window: RankedWindow<'_>,
    ) -> Result<Page<ConversationSummary>> {
        let RankedWindow { tag, fts, offset, limit, fingerprint } = window;
        let wanted = i64::from(limit) + 1;
        let offset_sql = i64::try_from(offset).map_err(|_| invalid_offset())?;
        // The window: the text's newest matches, scored right there when nothing else applies.
        let conditioned = tag.is_some() || filter.has_row_conditions();
        let mut select = QueryBuilder::<Sqlite>::new("WITH w AS MATERIALIZED (SELECT rowid");
        if !conditioned {
            select.push(", -bm25(conversation_fts, 2.0, 1.0) AS score");
        }
        select.push(" FROM conversation_fts WHERE conversation_fts MATCH ").push_bind(fts.to_owned());
        select.push(" ORDER BY rowid DESC LIMIT ").push_row_count(TEXT_WINDOW);
        select.push("), m AS MATERIALIZED (");
        if conditioned {
            // Under conditions, only the window's matches that meet them are scored, in a second pass over the
            // window's range of the full-text index (a score costs about 1 µs a match; 75 of the 1,000 newest
            // matches of "refund" are open conversations: 1.16 ms scoring the window first, 0.61 ms this way).
            select.push("SELECT f.rowid AS rowid, -bm25(conversation_fts, 2.0, 1.0) AS score FROM conversation_fts f");
            if let Some(tag) = tag {
                // Each match looks up its row of the tag (rather than building the list of the tag's rows).
                select.push(" CROSS JOIN conversation_tags tg ON tg.tag_id = ").push_bind(tag.to_owned());
                select.push(" AND tg.conversation_rowid = f.rowid");
            } else {
                select.push(" CROSS JOIN conversations c ON c.rowid = f.rowid");
            }
            select.push(" WHERE conversation_fts MATCH ").push_bind(fts.to_owned());
            select.push(" AND f.rowid >= (SELECT min(rowid) FROM w)");
            match tag {
                Some(_) => push_tag_row_conditions(&mut select, filter),
                None => push_conditions(&mut select, filter),
            }
        } else {
            select.push("SELECT rowid, score FROM w");
        }
        select.push("), page AS (SELECT rowid, score FROM m ORDER BY score DESC, rowid LIMIT ").push_row_count(wanted);
        select.push(" OFFSET ").push_row_count(offset_sql);
        // One row of figures, joined to the page's rows (or alone, with NULL columns, past the ranked part).
        select.push(") SELECT ").push(SUMMARY_COLUMNS);
        select.push(
            ", page.rowid AS page_rowid, page.score AS score, figures.ranked, figures.windowed, figures.window_end \
             FROM (SELECT (SELECT count(*) FROM m) AS ranked, (SELECT count(*) FROM w) AS windowed, \
             (SELECT min(rowid) FROM w) AS window_end) AS figures \
             LEFT JOIN page ON 1 LEFT JOIN conversations c ON c.rowid = page.rowid \
             ORDER BY page.score DESC, page.rowid",
        );
        // What the total needs, read on another connection while the window is: the text's count when nothing
        // else applies, one tag's matching rows counted, or how many rows the conditions select and the estimate
        // from a sample of them. A text ranked in a window has more than a few matches, so older ones exist and
        // the total needs these. Run in turn, they added 0.5–4 ms to the window's 1.3–3.7 ms. An older page waits
        // only for the conditions' rows (its plan depends on them), not for the estimate: that runs on beside it
        // ("crash" in a 60-day creation range: 0.5 ms less).
        // Conditions that select few enough rows to be read once (65 to READ_ONCE_ROWS) give an exact total
        // instead, with the older page read from them: on a first page it is read beside the window too, below the
        // window's end found again in the full-text index (whether the page needs it is known only once the window
        // is read). Read after the window, it added 1.7 ms to "refund" among the 1,139 snoozed conversations; a
        // window that fills the page (a week's updates against "refund": 243 of its 1,000 ranked) had waited for
        // the estimate after it, 1.6–1.8 ms. (Later pages read their older page after the window, as before: how
        // far past the window they start is known only from it.)
        let first_page = offset_sql == 0;
        let (rows_counted, rows_for_older) = tokio::sync::oneshot::channel::<OlderPage>();
        let counted = async move {
            Ok(match tag {
                None if !filter.has_row_conditions() => WindowTotal::Text(self.count_text(fts).await?),
                // (The page's rows are not the walk's: counted on their own.)
                Some(tag) => WindowTotal::Tag(self.tag_walk_total(&[], false, filter, tag, TagText::InSet(fts)).await?),
                None => {
                    let rows = self.count_filtered_for_plan(filter, TextMatches::Many).await?;
                    // (What is sent to the older page is not awaited when the window fills the page.)
                    if first_page && read_once(rows) {
                        let older = self.read_once_below(filter, fts, Below::TextWindow, 0, wanted).await?;
                        let total = older.total;
                        let _ = rows_counted.send(OlderPage::Read(older));
                        WindowTotal::ReadOnce(total)
                    } else {
                        let _ = rows_counted.send(OlderPage::Plan(rows));
                        WindowTotal::Conditions(self.bounded_total(filter, fts, TextMatches::Many, rows).await?)
                    }
                }
            })
        };
        let window_and_older = async {
            let rows = self.read(async |c| select.build().fetch_all(c).await).await?;
            // The figures row is there even when the page is empty.
            let figures = rows.first().ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
            let ranked: i64 = figures.try_get("ranked")?;
            let windowed: i64 = figures.try_get("windowed")?;
            let window_end: Option<i64> = figures.try_get("window_end")?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                if row.try_get::<Option<i64>, _>("page_rowid")?.is_some() {
                    items.push(summary_from_row(row)?);
                }
            }

            // Past the ranked part: the older matches, newest first, read as a search of the text in that order is.
            let older_exist = windowed == TEXT_WINDOW;
            let mut counted_with_older = None;
            if (items.len() as i64) < wanted
                && older_exist
                && let Some(window_end) = window_end
            {
                // (The count beside sends them before anything else; were it to fail, so would the search, and the
                // conditions, applied whatever the plan, would still be met without them.)
                let older_page = match tag.is_none() && filter.has_row_conditions() {
                    true => rows_for_older.await.ok(),
                    false => None,
                };
                let skip = offset_sql.saturating_sub(ranked).max(0);
                let wanted_older = wanted - items.len() as i64;
                // None of the rows below the window holds the text (a read-once page is empty): the ranked ones are
                // all, when the page starts right after them.
                let total_or_ranked = |total: Option<i64>| total.or((skip == 0).then_some(ranked));
                // (Read beside the window below the same end, unless a sync committed between the two reads.)
                let read_beside = |older: &ReadOnce| older.window_end.is_none_or(|end| end == window_end);
                let rows = match (tag, older_page) {
                    // Read beside the window, as many rows as a page can need.
                    (None, Some(OlderPage::Read(mut older))) if read_beside(&older) => {
                        older.rows.truncate(usize::try_from(wanted_older).unwrap_or(0));
                        counted_with_older = total_or_ranked(older.total);
                        older.rows
                    }
                    // Few rows meet the conditions: those that hold the text are read once, for the older page and
                    // the exact total (again, below this window's end, when the one read beside was another).
                    (None, Some(older)) if older.is_read_once() => {
                        let below = Below::Rowid(window_end);
                        let older = self.read_once_below(filter, fts, below, skip, wanted_older).await?;
                        counted_with_older = total_or_ranked(older.total);
                        older.rows
                    }
                    // One tag: its older rows newest first, in its index (see `search_by_tag`).
                    (Some(tag), _) => {
                        let page = WalkPage {
                            position: None,
                            below_rowid: Some(window_end),
                            skip,
                            limit: u32::try_from(wanted_older - 1).unwrap_or(0),
                            counted: false,
                        };
                        self.walk_tag(filter, tag, TagText::InSet(fts), Order::Created { descending: true }, page)
                            .await?
                    }
                    (None, older_page) => {
                        let filtered_rows = match older_page {
                            Some(OlderPage::Plan(rows)) => Some(rows),
                            _ => None,
                        };
                        self.older_matches(filter, fts, filtered_rows, window_end, skip, wanted_older).await?
                    }
                };
                for row in &rows {
                    items.push(summary_from_row(row)?);
                }
            }
            Ok::<_, StoreError>((items, ranked, older_exist, counted_with_older))
        };
        let ((mut items, ranked, older_exist, counted_with_older), counted) =
            tokio::try_join!(window_and_older, counted)?;
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let (total, total_is_estimate) = if !older_exist {
            (ranked as u64, false)
        } else if let Some(counted) = counted_with_older {
            (counted as u64, false)
        } else {
            match counted {
                WindowTotal::Text(counted) => counted,
                WindowTotal::Tag(counted) => (counted, false),
                WindowTotal::Conditions(estimate) => estimate,
                // (No row below the window holds the text.)
                WindowTotal::ReadOnce(total) => (total.unwrap_or(ranked) as u64, false),
            }
        };
        // Every ranked match meets the conditions: an estimate is at least those, and what was shown.
        let shown = offset.saturating_add(items.len() as u64 + u64::from(has_more)).max(ranked as u64);
        let total = if total_is_estimate { total.max(shown) } else { total };
        let next_cursor = match has_more {
            true => {
                let o = offset.checked_add(u64::from(limit)).ok_or_else(invalid_offset)?;
                Some(self.cursor_key.encode(fingerprint, Position::Offset { o }))
            }
            false => None,
        };
        let ranked_matches = older_exist.then_some(ranked as u64);
        Ok(Page { items, total, total_is_estimate, ranked_matches, next_cursor })
    }

    /// The older matches of a ranked search (stored before `window_end`) that meet the filter's conditions,
    /// newest first, past `skip` of them: `wanted` rows at most.
    async fn older_matches(
        &self,
        filter: &ConversationFilter,
        fts: &str,
        filtered_rows: Option<FilteredRows>,
        window_end: i64,
        skip: i64,
        wanted: i64,
    ) -> Result<Vec<SqliteRow>> {
        let conditions = match filtered_rows {
            None => Filtered::No,
            Some(rows) if rows.at_most(FEW_FILTERED_ROWS as u64) => Filtered::ToFewRows,
            Some(_) => Filtered::Yes,
        };
        let plan = Shape { text: Some(TextMatches::Many), ranked: false, filter: conditions }.plan();
        let newest = Order::Created { descending: true };
        let mut older = QueryBuilder::<Sqlite>::new("SELECT ");
        older.push(SUMMARY_COLUMNS).push(", NULL AS score");
        push_from(&mut older, plan.page, Some(fts), true, plan.walk_order_index.then(|| newest.index()).flatten());
        older.push(" AND +c.rowid < ").push_bind(window_end);
        push_conditions(&mut older, filter);
        older.push(newest.sql("c")).push(" LIMIT ").push_row_count(wanted);
        older.push(" OFFSET ").push_row_count(skip);
        self.read(async |c| older.build().fetch_all(c).await).await
    }

    /// The older matches of a ranked search under conditions that select few rows, read once
    /// ([`push_matching_rows`]): newest first below `below`, past `skip` of them, `wanted` rows at most, and the
    /// exact count of the rows that hold the text (`None` when the page is empty: the count comes with its rows).
    async fn read_once_below(
        &self,
        filter: &ConversationFilter,
        fts: &str,
        below: Below,
        skip: i64,
        wanted: i64,
    ) -> Result<ReadOnce> {
        let page = MatchingPage { position: None, below: Some(below), skip, wanted };
        let mut older = QueryBuilder::<Sqlite>::new("");
        push_matching_rows(&mut older, filter, fts, Order::Created { descending: true }, page)?;
        let rows = self.read(async |c| older.build().fetch_all(c).await).await?;
        let total = rows.first().map(|row| row.try_get::<i64, _>("total")).transpose()?;
        let window_end = match (below, rows.first()) {
            (Below::TextWindow, Some(row)) => row.try_get::<Option<i64>, _>("window_end")?,
            _ => None,
        };
        Ok(ReadOnce { rows, total, window_end })
    }

    /// The total of a bounded search of a text with more than a few matches and other conditions that select
    /// `rows` conversations ([`Store::count_filtered`]), which an exact count would find by checking every one
    /// of them against the text (each of 96,329 closed conversations against the 12,728 matches of "refund":
    /// 9.9 ms). Instead: `rows` times the share of a sample of them that holds the text, the first in their
    /// index's order ([`PROBED_ROWS`] or [`SAMPLED_ROWS`]). Exact when the sample is all of them. Rows the plan
    /// did not count to the end are counted beside the sample, on another connection.
    async fn bounded_total(
        &self,
        filter: &ConversationFilter,
        fts: &str,
        text: TextMatches,
        rows: FilteredRows,
    ) -> Result<(u64, bool)> {
        let all_rows = async {
            match rows {
                FilteredRows::Exact(rows) => Ok(rows),
                FilteredRows::MoreThan(_) => self.count_filtered(filter).await,
            }
        };
        let (rows, (hits, sample)) = tokio::try_join!(all_rows, self.sample_holding_text(filter, fts, text, rows))?;
        Ok(scale_sample(rows, hits, sample))
    }

    /// How many of the first rows the conditions select in their index's order hold the text, and how many rows
    /// were sampled: [`PROBED_ROWS`] for a word in most conversations, else [`SAMPLED_ROWS`] (see
    /// [`Store::bounded_total`]).
    async fn sample_holding_text(
        &self,
        filter: &ConversationFilter,
        fts: &str,
        text: TextMatches,
        rows: FilteredRows,
    ) -> Result<(i64, i64)> {
        // A word in most conversations is probed row by row (its set is the workspace); a rarer text's set of
        // matches is built once and a larger sample checked against it, for a share that is rarer to measure.
        let sample = if text == TextMatches::Most { PROBED_ROWS } else { SAMPLED_ROWS };
        let mut count = QueryBuilder::<Sqlite>::new("WITH s AS MATERIALIZED (SELECT c.rowid AS rowid");
        push_from(&mut count, Access::Rows, None, true, None);
        push_conditions(&mut count, filter);
        count.push(" LIMIT ").push_row_count(sample).push(") SELECT count(*) FROM s WHERE ");
        match text {
            TextMatches::Most => push_text_probe(&mut count, "s.rowid", fts),
            // Only the matches within the sample's rowids when the sample is a small part of the rows: the first
            // in an index's order are then mostly a run of neighbouring conversations (the first 1,000 of 96,329
            // closed ones against "refund": 1.7 ms building the set of all 12,728 matches, 0.25 ms building the
            // set of those among them). A sample of most of the rows spans nearly every rowid, and the full-text
            // index reads a range more slowly than all of it (the 1,139 snoozed ones: 1.6 ms, 2.1 ms).
            TextMatches::Few | TextMatches::Many if !rows.at_most(2 * SAMPLED_ROWS as u64) => push_in_text_set_between(
                &mut count,
                "s.rowid",
                fts,
                "(SELECT min(rowid) FROM s)",
                "(SELECT max(rowid) FROM s)",
            ),
            TextMatches::Few | TextMatches::Many => push_in_text_set(&mut count, "s.rowid", fts),
        }
        let hits = self.read(async |c| count.build_query_scalar().fetch_one(c).await).await?;
        Ok((hits, sample))
    }

    /// How many conversations the filter's conditions (not its text) select. Tags alone are counted from the tag
    /// index; states alone from the other states when the asked-for ones are many (the closed conversations are
    /// most of a workspace: 2.2 ms to count 96,329 of them, 0.1 ms to count the others).
    async fn count_filtered(&self, filter: &ConversationFilter) -> Result<u64> {
        let conditions = ConversationFilter { text: None, ..filter.clone() };
        if conditions.has_only_tags() {
            return self.count_tagged(&conditions).await;
        }
        let states_alone = ConversationFilter { states: filter.states.clone(), ..Default::default() };
        if !filter.states.is_empty() && conditions == states_alone {
            let asked = self.count_filtered_up_to(&states_alone, Some(COUNTED_ROWS + 1)).await?;
            if asked <= COUNTED_ROWS {
                return Ok(asked as u64);
            }
            let others: Vec<_> = ConversationState::ALL.into_iter().filter(|s| !filter.states.contains(s)).collect();
            let all = self.conversation_count().await?;
            if others.is_empty() {
                return Ok(all);
            }
            let others = ConversationFilter { states: others, ..Default::default() };
            let others_counted = self.count_filtered_up_to(&others, None).await?;
            // (A sync committing between the two counts can leave them inconsistent: never below zero.)
            return Ok(all.saturating_sub(others_counted as u64));
        }
        Ok(self.count_filtered_up_to(filter, None).await? as u64)
    }

    /// How many conversations the filter's conditions select, as far as a plan for a text measured as `text`
    /// needs to know: every one when tags alone select them (the tag index counts them cheaply), else up to
    /// [`SORTED_KEYS_MAX`] for a word in most conversations with a date range and [`READ_ONCE_ROWS`] otherwise
    /// (the most rows any choice of such a plan asks about, see [`FilteredRows`]). Counted to 10,001, a 60-day
    /// creation range's rows took 0.43–0.64 ms ahead of a common word's page, which asks only about 2,000 (0.12 ms).
    async fn count_filtered_for_plan(&self, filter: &ConversationFilter, text: TextMatches) -> Result<FilteredRows> {
        let conditions = ConversationFilter { text: None, ..filter.clone() };
        if conditions.has_only_tags() {
            return Ok(FilteredRows::Exact(self.count_tagged(&conditions).await?));
        }
        let (created, updated) = ranged_dates(filter);
        let cap = match text == TextMatches::Most && (created || updated) {
            true => SORTED_KEYS_MAX,
            false => READ_ONCE_ROWS as u64,
        };
        let counted = self.count_filtered_up_to(filter, Some(cap as i64 + 1)).await? as u64;
        Ok(if counted > cap { FilteredRows::MoreThan(cap) } else { FilteredRows::Exact(counted) })
    }

    /// How many conversations carry any of the filter's tags, from the tag index alone.
    async fn count_tagged(&self, filter: &ConversationFilter) -> Result<u64> {
        let mut count = QueryBuilder::<Sqlite>::new(
            "SELECT count(DISTINCT ct.conversation_rowid) FROM conversation_tags ct WHERE ",
        );
        push_tag_condition(&mut count, "ct.tag_id", filter);
        let tagged: i64 = self.read(async |c| count.build_query_scalar().fetch_one(c).await).await?;
        Ok(tagged as u64)
    }

    /// What a search's plan is chosen from (see [`search_plan`]): its measured text, and its filter when that
    /// decides (`filtered_rows`: how many rows the conditions select, when already counted).
    async fn shape(
        &self,
        filter: &ConversationFilter,
        text: Option<TextMatches>,
        order: Order,
        filtered_rows: Option<FilteredRows>,
    ) -> Result<Shape> {
        let ranked = order == Order::Relevance;
        let has_row_conditions = filter.has_row_conditions();
        let few = async || match filtered_rows {
            Some(rows) => Ok(rows.at_most(FEW_FILTERED_ROWS as u64)),
            None => self.filter_selects_few(filter).await,
        };
        let filter = if !has_row_conditions {
            Filtered::No
        } else if Shape::needs_filter_size(text, ranked, has_row_conditions) && few().await? {
            Filtered::ToFewRows
        } else {
            Filtered::Yes
        };
        Ok(Shape { text, ranked, filter })
    }

    /// Whether the filter's conditions (not its text) select at most [`FEW_FILTERED_ROWS`] conversations; reads
    /// at most one more than that.
    async fn filter_selects_few(&self, filter: &ConversationFilter) -> Result<bool> {
        Ok(self.count_filtered_up_to(filter, Some(FEW_FILTERED_ROWS + 1)).await? <= FEW_FILTERED_ROWS)
    }

    /// How many rows the filter's conditions (not its text) select, counting at most `cap` when there is one.
    async fn count_filtered_up_to(&self, filter: &ConversationFilter, cap: Option<i64>) -> Result<i64> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM (SELECT 1");
        push_from(&mut count, Access::Rows, None, true, None);
        push_conditions(&mut count, filter);
        if let Some(cap) = cap {
            count.push(" LIMIT ").push_row_count(cap);
        }
        count.push(")");
        self.read(async |c| count.build_query_scalar().fetch_one(c).await).await
    }

    /// Returns one conversation with all its parts in order, or `None` when no conversation has this id.
    pub async fn get_conversation(&self, id: &str) -> Result<Option<ConversationDetail>> {
        if self.postgres().is_some() {
            return postgres::conversations::get(self, id).await;
        }
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, NULL AS score, c.source_body_text, c.rating_remark, c.parts_truncated, \
             {PARTS_JSON} FROM conversations c WHERE c.id = ?"
        );
        let Some(row) =
            self.read(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await).await?
        else {
            return Ok(None);
        };
        detail_from_row(&row).map(Some)
    }
}

impl Store {
    /// The conversations with these ids, in the order given (an id given twice comes twice; `None` where no
    /// conversation has the id), read in one statement.
    pub async fn get_conversations(&self, ids: &[String]) -> Result<Vec<Option<ConversationDetail>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = if self.postgres().is_some() {
            postgres::conversations::get_many(self, ids).await?
        } else {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS}, NULL AS score, c.source_body_text, c.rating_remark, c.parts_truncated, \
                 {PARTS_JSON} FROM conversations c WHERE c.id IN (SELECT value FROM json_each(?))"
            );
            let ids = serde_json::to_string(ids).map_err(|e| StoreError::InvalidArgument(e.to_string()))?;
            let rows = self.read(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?;
            rows.iter().map(detail_from_row).collect::<Result<Vec<_>>>()?
        };
        Ok(in_asked_order(ids, found))
    }
}

/// `found` arranged as `ids` asked for them.
pub(super) fn in_asked_order(ids: &[String], found: Vec<ConversationDetail>) -> Vec<Option<ConversationDetail>> {
    let mut by_id: std::collections::HashMap<String, ConversationDetail> =
        found.into_iter().map(|detail| (detail.summary.id.clone(), detail)).collect();
    let mut asked = std::collections::HashMap::<&str, usize>::new();
    for id in ids {
        *asked.entry(id.as_str()).or_default() += 1;
    }
    ids.iter()
        .map(|id| {
            let left = asked.get_mut(id.as_str()).expect("counted above");
            *left -= 1;
            // The last time an id is asked takes the detail; the earlier ones clone it.
            if *left == 0 { by_id.remove(id) } else { by_id.get(id).cloned() }
        })
        .collect()
}

/// A [`ConversationDetail`] from a row of [`SUMMARY_COLUMNS`], `score`, `source_body_text`, `rating_remark`,
/// `parts_truncated` and `parts_json` (see [`PARTS_JSON`]).
pub(super) fn detail_from_row<'r, R>(row: &'r R) -> Result<ConversationDetail>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    &'static str: sqlx::ColumnIndex<R>,
    &'r str: Decodes<'r, R::Database>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
    bool: Decodes<'r, R::Database>,
    f64: Decodes<'r, R::Database>,
{
    let parts: Vec<PartColumns> = json_column(row, "parts_json")?;
    let parts = parts
        .into_iter()
        .map(|(id, part_type, body, kind, author_id, name, email, created_at, assigned_to_id)| PartView {
            id,
            part_type,
            body: body.filter(|body| !body.is_empty()),
            author: Author { kind, id: author_id, name, email },
            created_at,
            assigned_to_id,
        })
        .collect();
    Ok(ConversationDetail {
        summary: summary_from_row(row)?,
        source_body: row.try_get("source_body_text")?,
        rating_remark: row.try_get("rating_remark")?,
        parts,
        parts_truncated: row.try_get("parts_truncated")?,
    })
}

/// Appends ` AND ...` for every condition of the filter but its text (see [`push_from`] for that).
pub(super) fn push_conditions(query: &mut QueryBuilder<Sqlite>, filter: &ConversationFilter) {
    push_states(query, "c", filter);
    if !filter.priorities.is_empty() {
        query.push(" AND c.priority IN (");
        let mut list = query.separated(", ");
        for priority in &filter.priorities {
            list.push_bind(priority.as_str());
        }
        query.push(")");
        if !filter.priorities.contains(&Priority::None) {
            // Lets SQLite use the partial index of prioritized conversations.
            query.push(" AND c.priority <> 'none'");
        }
    }
    if !filter.tags.is_empty() {
        query.push(" AND c.rowid IN (SELECT ct.conversation_rowid FROM conversation_tags ct WHERE ");
        push_tag_condition(query, "ct.tag_id", filter);
        query.push(")");
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
    push_date_ranges(query, "c", filter);
    crate::filter::push_more(query, &filter.more);
}

/// Appends ` AND <table>.state IN (...)` when the filter names states.
pub(super) fn push_states(query: &mut QueryBuilder<Sqlite>, table: &str, filter: &ConversationFilter) {
    if !filter.states.is_empty() {
        query.push(format_args!(" AND {table}.state IN ("));
        let mut list = query.separated(", ");
        for state in &filter.states {
            list.push_bind(state.as_str());
        }
        query.push(")");
    }
}

/// Appends ` AND <table>.created_at >= ...` and the like for the filter's date ranges.
pub(super) fn push_date_ranges(query: &mut QueryBuilder<Sqlite>, table: &str, filter: &ConversationFilter) {
    for (column, op, value) in [
        ("created_at", ">=", filter.created_after),
        ("created_at", "<", filter.created_before),
        ("updated_at", ">=", filter.updated_after),
        ("updated_at", "<", filter.updated_before),
    ] {
        if let Some(value) = value {
            query.push(format_args!(" AND {table}.{column} {op} ")).push_bind(value);
        }
    }
}

/// Appends `<column> IN (ids of the filter's tags, given by id or by name)`.
pub(super) fn push_tag_condition(query: &mut QueryBuilder<Sqlite>, column: &str, filter: &ConversationFilter) {
    query.push(format_args!("{column} IN (SELECT t.id FROM tags t WHERE t.id IN ("));
    let mut ids = query.separated(", ");
    for tag in &filter.tags {
        ids.push_bind(tag.clone());
    }
    query.push(") OR t.name COLLATE NOCASE IN (");
    let mut names = query.separated(", ");
    for tag in &filter.tags {
        names.push_bind(tag.clone());
    }
    query.push("))");
}

/// Most matches of a text a first page in creation order reads in id order ([`Store::first_page_in_id_order`]),
/// a row each, before the plan that builds the set of matches answers instead.
const ID_ORDER_MATCHES: i64 = 1_000;

/// Up to this many rows (tagged conversations, matches of a text) are read and sorted for a page; more, and the
/// page walks the order's index keeping the rows it wants, which stops early when they are common but could read
/// the whole index for a handful. A tag on 6,908 of 100,000 conversations, newest first: 15 ms read and sorted,
/// 0.84 ms walking.
const SORTED_ROWS_MAX: u64 = 500;

/// Rows of a filter checked against the set of a text's matches to estimate how many hold it: 1.6 ms for
/// "refund" (12,728 matches) among closed conversations, most of it building the set. For a share of an eighth,
/// the estimate's error is about 8% (one standard deviation, by the binomial formula), where 200 probes would
/// give 19%.
const SAMPLED_ROWS: i64 = 1_000;

/// Up to this many rows selected by the conditions, the rows among them that hold a common word are read once,
/// for the page and an exact total ([`push_matching_rows`]). Below twice [`SAMPLED_ROWS`] a sample spans nearly
/// every rowid and builds the whole set of matches, as reading them all does: "refund" among the 1,884
/// conversations updated in the last week took a sample (1.9 ms) and a page (2.0 ms), each building the set, after a
/// first page in id order tried in vain (1.1 ms in the server's log); read once, 2.0 ms (SQLite's C API).
const READ_ONCE_ROWS: i64 = 2 * SAMPLED_ROWS;

/// Above this many rows selected by the conditions, a word in most conversations walks the order's index,
/// checking the conditions and probing the text row by row: about `limit × conversations / rows` rows until the
/// page is full. Fewer are put in page order by their keys first, then probed ([`push_probed_in_key_order`]).
const WALK_ORDER_MIN_ROWS: u64 = 2_000;

/// Up to this many rows selected by the conditions, a word in most conversations puts their keys in page order
/// before probing when they lie scattered along the order's index (see [`ranges_another_date`]): sorting keys
/// costs about 0.3 µs a row (19,322 of them and 50 probes: 6.1 ms).
const SORTED_KEYS_MAX: u64 = 10_000;

/// Rows of a condition on states counted before the other states are counted instead.
const COUNTED_ROWS: i64 = 10_000;

/// An offset no cursor of this store carries (cursors are signed; this guards the arithmetic all the same).
fn invalid_offset() -> StoreError {
    StoreError::InvalidArgument("invalid cursor: its position is out of range".to_owned())
}

pub(super) fn mismatch() -> StoreError {
    StoreError::InvalidArgument("this cursor belongs to a different sort order".to_owned())
}

/// The index of the one date that the filter's conditions, date ranges alone, narrow: its range holds every row
/// they select. On the page's order's date, walking it stops at the page's end (SQLite's own choice, a skip-scan
/// of another index and a sort of the range's 10,980 keys, took 0.9 ms for one row, the walk 0.05 ms); on the
/// other date, the range's keys are sorted, where SQLite skip-scanned the admin index for them (a 60-day creation
/// range in updated order, 0.91 ms against 0.65 ms; its rows that hold "refund", 3.6 ms against 2.6 ms; SQLite's C
/// API on the 100,000-conversation demo store). Ranges on both dates: SQLite chooses (one could leave the other's
/// rows scattered along a walk, see [`ranges_another_date`]).
fn range_index(filter: &ConversationFilter) -> Option<&'static str> {
    if !filter.has_only_date_ranges() {
        return None;
    }
    match ranged_dates(filter) {
        (true, false) => Order::Created { descending: true }.index(),
        (false, true) => Order::Updated.index(),
        _ => None,
    }
}

/// Whether the filter bounds the creation date on the side a walk in creation order starts from (before, newest
/// first; after, oldest first): the walk would pass every match beyond the bound before reaching the page.
fn bounds_creation_ahead(filter: &ConversationFilter, descending: bool) -> bool {
    match descending {
        true => filter.created_before.is_some(),
        false => filter.created_after.is_some(),
    }
}

/// Whether the filter narrows the creation date, and the date of the last update.
fn ranged_dates(filter: &ConversationFilter) -> (bool, bool) {
    let created = filter.created_after.is_some() || filter.created_before.is_some();
    let updated = filter.updated_after.is_some() || filter.updated_before.is_some();
    (created, updated)
}

/// Whether the filter narrows the date the page is not ordered by: the rows it selects then lie scattered along
/// the order's index, which a walk would read most of (a month's conversations by the last update: 15 ms).
fn ranges_another_date(filter: &ConversationFilter, order: Order) -> bool {
    let (created, updated) = ranged_dates(filter);
    match order {
        Order::Relevance => false,
        Order::Created { .. } => updated,
        Order::Updated => created,
    }
}

/// Which keys [`push_probed_in_key_order`] probes: those after a cursor's `position`, for a page of `limit`, and of
/// them only the `first` in page order when there is a bound.
struct ProbedKeys {
    position: Option<Position>,
    limit: u32,
    first: Option<i64>,
}

/// Keys a page probed in key order sorts and probes first, per row of the page: a word in most conversations (half of
/// the newest hold it) fills a page with about two a row. When these do not fill it, every key is probed.
const KEYS_PROBED_PER_ROW: i64 = 4;

/// A page of the rows the conditions select, each probed in the full-text index for `fts`: their keys (rowid and
/// the order's date, from whichever index SQLite picks for the conditions; every one covers both dates) are
/// sorted first, then probed in page order until the page is full. The keys are `+ 0` expressions so that
/// SQLite neither walks the order's index for them nor sorts again outside: the outer order is the subquery's.
/// A word in nearly every conversation among the 3,880 created in 30 days, most recently updated first: 15 ms
/// walking the updated index, 11 ms probing each in the created index and sorting, 1.3 ms this way (the statements
/// alone). Sorting only the first keys a page needs keeps a bounded heap instead of sorting every key ("for" among
/// the conversations of a 60-day creation range, updated order, a page of 50: 3.0–3.5 ms, now 1.8–2.8 ms).
fn push_probed_in_key_order(
    select: &mut QueryBuilder<Sqlite>,
    filter: &ConversationFilter,
    fts: &str,
    order: Order,
    keys: ProbedKeys,
) -> Result<()> {
    let ProbedKeys { position, limit, first } = keys;
    let (column, direction) = match order {
        Order::Created { descending: false } => ("created_at", "ASC"),
        Order::Created { descending: true } | Order::Relevance => ("created_at", "DESC"),
        Order::Updated => ("updated_at", "DESC"),
    };
    select.push("SELECT ").push(SUMMARY_COLUMNS).push(", NULL AS total, NULL AS score");
    select.push(format_args!(" FROM (SELECT c.rowid + 0 AS r, c.{column} + 0 AS v FROM conversations c"));
    if let Some(index) = range_index(filter) {
        select.push(format_args!(" INDEXED BY {index}"));
    }
    select.push(" WHERE 1 = 1");
    push_conditions(select, filter);
    push_position(select, order, position, "c")?;
    select.push(format_args!(" ORDER BY v {direction}, r {direction} LIMIT ")).push_row_count(first.unwrap_or(-1));
    select.push(") AS k");
    select.push(" CROSS JOIN conversations c ON c.rowid = k.r");
    select.push(" WHERE ");
    push_text_probe(select, "k.r", fts);
    select.push(format_args!(" ORDER BY k.v {direction}, k.r {direction} LIMIT ")).push_row_count(i64::from(limit) + 1);
    Ok(())
}

/// Which page of a filter's matching rows [`push_matching_rows`] reads: after a cursor's position, among the rows
/// stored before one (the older matches of a ranked search), past `skip` of them, `wanted` rows at most.
struct MatchingPage {
    position: Option<Position>,
    below: Option<Below>,
    skip: i64,
    wanted: i64,
}

/// Where the older matches of a ranked search start: below a window's end as read, or below the end of the
/// text's window found again in the full-text index (the [`TEXT_WINDOW`]-th newest match), by a page read beside
/// the window (which returns it as `window_end`, to be checked against the window's own).
#[derive(Debug, Clone, Copy)]
enum Below {
    Rowid(i64),
    TextWindow,
}

/// A page of the rows the filter's conditions select that hold `fts`, with their exact count in a `total` column,
/// for conditions that select few rows (at most [`READ_ONCE_ROWS`]): each is checked once against the set of
/// matches, and the page is sorted from them. A sample of the rows for an estimated total and a page walking them
/// had each built the set of matches ("refund" among 670 open conversations of a team: 2.2 ms and 2.1 ms).
fn push_matching_rows(
    select: &mut QueryBuilder<Sqlite>,
    filter: &ConversationFilter,
    fts: &str,
    order: Order,
    page: MatchingPage,
) -> Result<()> {
    let key = order.key_column()?;
    select.push("WITH ");
    if let Some(Below::TextWindow) = page.below {
        // (No row, none below, when the text has fewer matches than a window: then it has no older ones.)
        select.push("b(window_end) AS MATERIALIZED (");
        push_nth_newest_match(select, fts, TEXT_WINDOW);
        select.push("), ");
    }
    select.push(format_args!("h AS MATERIALIZED (SELECT c.rowid AS rowid, c.{key} AS {key}"));
    push_from(select, Access::RowsInTextSet, Some(fts), true, range_index(filter));
    push_conditions(select, filter);
    select.push(") SELECT ").push(SUMMARY_COLUMNS);
    select.push(", (SELECT count(*) FROM h) AS total, NULL AS score");
    if let Some(Below::TextWindow) = page.below {
        select.push(", (SELECT window_end FROM b) AS window_end");
    }
    select.push(format_args!(" FROM (SELECT h.rowid, h.{key} FROM h WHERE 1 = 1"));
    push_position(select, order, page.position, "h")?;
    match page.below {
        None => {}
        Some(Below::Rowid(rowid)) => {
            select.push(" AND h.rowid < ").push_bind(rowid);
        }
        Some(Below::TextWindow) => {
            select.push(" AND h.rowid < (SELECT window_end FROM b)");
        }
    }
    select.push(order.sql("h")).push(" LIMIT ").push_row_count(page.wanted).push(" OFFSET ").push_row_count(page.skip);
    select.push(") AS k CROSS JOIN conversations c ON c.rowid = k.rowid").push(order.sql("k"));
    Ok(())
}

/// Which page of a ranked search [`Store::search_ranked_window`] reads: of which text, and of which tag when one
/// tag's rows answer the other conditions.
struct RankedWindow<'a> {
    tag: Option<&'a str>,
    fts: &'a str,
    offset: u64,
    limit: u32,
    fingerprint: u64,
}

/// What a ranked window's total needs, read beside the window: the text's count when nothing else applies, one
/// tag's matching rows counted, the estimate from the rows the conditions select and a sample of them, or, when
/// they are few enough to be read once, their exact count (`None` when none below the window holds the text).
#[derive(Debug, Clone, Copy)]
enum WindowTotal {
    Text((u64, bool)),
    Tag(u64),
    Conditions((u64, bool)),
    ReadOnce(Option<i64>),
}

/// What the count beside a ranked window tells its older page: how many rows the conditions select (its plan
/// depends on it), or the page itself, read beside the window with those rows' exact count.
enum OlderPage {
    Plan(FilteredRows),
    Read(ReadOnce),
}

impl OlderPage {
    /// Whether the older page is read once (a page read beside the window is only for such conditions).
    fn is_read_once(&self) -> bool {
        match self {
            Self::Plan(rows) => read_once(*rows),
            Self::Read(_) => true,
        }
    }
}

/// A page of a ranked search's older matches read once ([`Store::read_once_below`]): its rows, the exact count of
/// the rows that hold the text, and, read below [`Below::TextWindow`], the window's end it found (both `None` when
/// the page is empty).
struct ReadOnce {
    rows: Vec<SqliteRow>,
    total: Option<i64>,
    window_end: Option<i64>,
}

/// Whether conditions that select `rows` rows are read once ([`push_matching_rows`]) for a ranked window's older
/// page and total: more than are probed one by one, at most [`READ_ONCE_ROWS`].
fn read_once(rows: FilteredRows) -> bool {
    !rows.at_most(FEW_FILTERED_ROWS as u64) && rows.at_most(READ_ONCE_ROWS as u64)
}

/// A search's total that a statement of its own reads: every conversation counted, the text's matches counted
/// ([`Store::count_text`]), or the rows the conditions select times the share of a sample of them that holds the
/// text ([`Store::bounded_total`]). None needs the page, so each is read beside it, on another of the store's
/// connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnTotal {
    /// Every conversation: no text, no conditions.
    Everything,
    Text,
    Sampled {
        measure: TextMatches,
        rows: FilteredRows,
    },
}

/// Appends the keyset condition of a cursor; returns the row offset (non-zero only for relevance order).
fn push_position(
    query: &mut QueryBuilder<Sqlite>,
    order: Order,
    position: Option<Position>,
    table: &str,
) -> Result<u64> {
    let (column, op) = match (order, &position) {
        (_, None) => return Ok(0),
        (Order::Relevance, Some(Position::Offset { o })) => return Ok(*o),
        (Order::Created { descending }, Some(Position::IntKey { .. })) => {
            ("created_at", if descending { "<" } else { ">" })
        }
        (Order::Updated, Some(Position::IntKey { .. })) => ("updated_at", "<"),
        _ => return Err(mismatch()),
    };
    let Some(Position::IntKey { v, r }) = position else { return Err(mismatch()) };
    query.push(format_args!(" AND ({table}.{column}, {table}.rowid) {op} ("));
    query.push_bind(v).push(", ").push_bind(r).push(")");
    Ok(0)
}

/// A [`ConversationSummary`] from a row that starts with [`SUMMARY_COLUMNS`] (its `score` column, when the
/// statement has one, is read by name).
pub(super) fn summary_from_row<'r, R>(row: &'r R) -> Result<ConversationSummary>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    &'static str: sqlx::ColumnIndex<R>,
    &'r str: Decodes<'r, R::Database>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
    bool: Decodes<'r, R::Database>,
    f64: Decodes<'r, R::Database>,
{
    let mut columns = SummaryColumns { row, next: 0 };
    columns.skip("rowid");
    let id = columns.next("id")?;
    let title = columns.next("title")?;
    let state: &str = columns.next("state")?;
    let state = ConversationState::parse(state).unwrap_or(ConversationState::Open);
    let open = columns.next("open")?;
    let read = columns.next("read")?;
    let priority: &str = columns.next("priority")?;
    let priority = Priority::parse(priority).unwrap_or(Priority::None);
    Ok(ConversationSummary {
        id,
        title,
        state,
        open,
        read,
        priority,
        created_at: columns.next("created_at")?,
        updated_at: columns.next("updated_at")?,
        waiting_since: columns.next("waiting_since")?,
        snoozed_until: columns.next("snoozed_until")?,
        admin_assignee_id: columns.next("admin_assignee_id")?,
        team_assignee_id: columns.next("team_assignee_id")?,
        source_type: columns.next("source_type")?,
        subject: columns.next("source_subject")?,
        source_author: Author {
            kind: columns.next("source_author_type")?,
            id: columns.next("source_author_id")?,
            name: columns.next("source_author_name")?,
            email: columns.next("source_author_email")?,
        },
        preview: preview(columns.next("preview_source")?, PREVIEW_CHARS),
        rating: columns.next("rating")?,
        statistics: Statistics {
            time_to_assignment: columns.next("time_to_assignment")?,
            time_to_admin_reply: columns.next("time_to_admin_reply")?,
            time_to_first_close: columns.next("time_to_first_close")?,
            time_to_last_close: columns.next("time_to_last_close")?,
            median_time_to_reply: columns.next("median_time_to_reply")?,
            handling_time: columns.next("handling_time")?,
            first_contact_reply_at: columns.next("first_contact_reply_at")?,
            first_assignment_at: columns.next("first_assignment_at")?,
            first_admin_reply_at: columns.next("first_admin_reply_at")?,
            first_close_at: columns.next("first_close_at")?,
            last_assignment_at: columns.next("last_assignment_at")?,
            last_contact_reply_at: columns.next("last_contact_reply_at")?,
            last_admin_reply_at: columns.next("last_admin_reply_at")?,
            last_close_at: columns.next("last_close_at")?,
            last_closed_by_id: columns.next("last_closed_by_id")?,
            count_reopens: columns.next("count_reopens")?,
            count_assignments: columns.next("count_assignments")?,
            count_conversation_parts: columns.next("count_conversation_parts")?,
        },
        tags: columns.next_json("tags_json")?,
        contact_ids: columns.next_json("contacts_json")?,
        score: row.try_get("score")?,
    })
}

/// Reads [`SUMMARY_COLUMNS`] in their order, by position: by name, a page of 50 rows looked up 2,000 column names
/// (sqlx hashes each; looking up and decoding were 4% of the server's time for a page of 50 open conversations, in
/// a profile). Debug builds (every test) check each column's name against the one asked for, so a reordered list
/// fails there rather than decoding the wrong column.
struct SummaryColumns<'r, R> {
    row: &'r R,
    next: usize,
}

impl<'r, R> SummaryColumns<'r, R>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: Decodes<'r, R::Database>,
{
    fn next<T>(&mut self, name: &str) -> Result<T>
    where
        T: Decodes<'r, R::Database>,
    {
        let index = self.skip(name);
        Ok(self.row.try_get(index)?)
    }

    /// Steps past the column `name` (not decoded), returning its position.
    fn skip(&mut self, name: &str) -> usize {
        use sqlx::Column as _;
        let index = self.next;
        self.next += 1;
        debug_assert_eq!(self.row.columns().get(index).map(|c| c.name()), Some(name), "SUMMARY_COLUMNS' order");
        index
    }

    fn next_json<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> Result<T> {
        json_text(self.next(name)?)
    }
}

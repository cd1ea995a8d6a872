//! The statements an aggregate runs, written once for both backends.
//!
//! Counts and distributions read the scope's columns and nothing else:
//!
//! ```text
//! SELECT count(*), one JSON array per column (the rowid with a tag dimension, the keys' columns, the figures)
//! FROM conversations c WHERE the scope
//! -- with a tag dimension, in the same snapshot:
//! SELECT the tag rows' conversations and tags as JSON arrays     -- of the scope's rowids, or every tag row
//! ```
//!
//! Keys, the join to tags, grouping, counting and summaries are made in Rust (`summarised_here`). Grouping in SQL
//! sorted every row of the scope in a temporary b-tree, or SQLite walked an index in the group's order reading
//! the other key from the table's rows, past their message bodies: over 100,000 conversations (SQLite 3.51, the
//! product's, 2026-12-07) a count by admin and rating took 306 ms, by month 59 ms (strftime alone 36 ms of it);
//! the same columns as JSON arrays 10.5 ms and 10.8 ms, and grouping them in a hash map a few more. Date buckets
//! are computed in Rust too ([`super::buckets`]), so both backends bucket by the same arithmetic.

use std::sync::{Arc, Mutex};

use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::{Dimension, Figure, RatedConversation, Scope};
use crate::filter::ConversationFilter;
use crate::text::fts_conversation_query;
use crate::{Decodes, Result, Store};

/// An aggregate to run: counts when `figures` is empty.
pub(super) struct Request<'a> {
    pub scope: &'a Scope,
    pub grouping: &'a super::Grouping,
    pub figures: &'a [Figure],
}

/// What a dimension's key is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    Text,
    /// An id, named from this table.
    Entity(&'static str),
    Number,
    /// A bucket of a date column, computed from its seconds ([`super::buckets`]).
    Date,
}

pub(super) fn key_kind(dimension: Dimension) -> KeyKind {
    match dimension {
        Dimension::State | Dimension::Priority | Dimension::SourceType => KeyKind::Text,
        Dimension::Tag => KeyKind::Entity("tags"),
        Dimension::Team => KeyKind::Entity("teams"),
        Dimension::Admin => KeyKind::Entity("admins"),
        Dimension::Company => KeyKind::Entity("companies"),
        Dimension::Rating | Dimension::CreatedHourOfWeek => KeyKind::Number,
        Dimension::Created(_) | Dimension::Updated(_) | Dimension::Closed(_) => KeyKind::Date,
    }
}

/// The column of conversations `c` a dimension's key is made from (the tag is joined later: NULL here).
fn key_column(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::State => "c.state",
        Dimension::Tag => "NULL",
        Dimension::Team => "c.team_assignee_id",
        Dimension::Admin => "c.admin_assignee_id",
        Dimension::Priority => "c.priority",
        Dimension::SourceType => "c.source_type",
        Dimension::Company => "c.company_id",
        Dimension::Rating => "c.rating",
        Dimension::Created(_) | Dimension::CreatedHourOfWeek => "c.created_at",
        Dimension::Updated(_) => "c.updated_at",
        Dimension::Closed(_) => "c.last_close_at",
    }
}

/// What the statements need of a backend's query builder: SQL, bound values, and the filter in its dialect.
trait Dialect {
    const POSTGRES: bool;
    /// The aggregate that makes a column's values one JSON array (text), `[]` for no rows.
    const JSON_ARRAY: fn(&str) -> String;
    fn sql(&mut self, sql: &str) -> &mut Self;
    /// ` AND ...` for the filter on conversations `c`, its text included.
    fn filter(&mut self, filter: &ConversationFilter) -> Result<()>;
    /// Text ordered by bytes.
    fn byte_order() -> &'static str {
        if Self::POSTGRES { " COLLATE \"C\"" } else { "" }
    }
}

impl Dialect for QueryBuilder<Sqlite> {
    const POSTGRES: bool = false;
    const JSON_ARRAY: fn(&str) -> String = |column| format!("json_group_array({column})");
    fn sql(&mut self, sql: &str) -> &mut Self {
        self.push(sql)
    }
    fn filter(&mut self, filter: &ConversationFilter) -> Result<()> {
        if let Some(text) = &filter.text {
            let fts = fts_conversation_query(text)?;
            self.push(" AND c.rowid IN (SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH ")
                .push_bind(fts)
                .push(")");
        }
        crate::conversations::push_conditions(self, filter);
        Ok(())
    }
}

impl Dialect for QueryBuilder<Postgres> {
    const POSTGRES: bool = true;
    const JSON_ARRAY: fn(&str) -> String = |column| format!("coalesce(json_agg({column}), '[]')::text");
    fn sql(&mut self, sql: &str) -> &mut Self {
        self.push(sql)
    }
    fn filter(&mut self, filter: &ConversationFilter) -> Result<()> {
        use crate::postgres::conversations::{filter_without_nul, push_conditions, text_query};
        let text = filter.text.as_deref().map(text_query).transpose()?;
        push_conditions(self, &filter_without_nul(filter), text.as_deref());
        Ok(())
    }
}

/// Appends the scope's conditions on conversations `c`, after a `WHERE`.
fn push_scope<D: Dialect>(query: &mut D, scope: &Scope) -> Result<()> {
    query.sql("1 = 1");
    query.filter(scope)
}

/// The scope's columns, one JSON array each, all in the same order of rows (the scope's conversations).
pub(super) struct Columns {
    /// How many conversations are in scope: the length of every array.
    pub rows: i64,
    /// The grouping's dimensions' columns, in its order; none for a tag (its rows are `tags`).
    pub keys: Vec<Option<String>>,
    /// The figures' values, in the request's order.
    pub figures: Vec<String>,
    /// With a tag dimension: the rowid of each conversation in scope, and tag rows (at least those of every
    /// conversation in scope; the others are left out when they are joined).
    pub tagged: Option<Tagged>,
}

pub(super) struct Tagged {
    pub conversations: String,
    /// The conversation of each tag row, and its tag.
    pub tag_rows: Arc<TagRows>,
}

/// Tag rows as two JSON arrays: the conversation of each, and its tag.
pub(super) type TagRows = (String, String);

/// Every tag row, as last read, and the data generation it was read at: reading them is the largest part of a
/// tag breakdown of a whole workspace (20 ms of SQL for 100,000 conversations), and they change only when data
/// is committed, which advances the generation in the same transaction. The generation is read in the same
/// snapshot as the scope, so a kept copy is used only for the data it was read from.
#[derive(Debug, Default)]
pub(crate) struct EveryTagRow(Mutex<Option<(i64, Arc<TagRows>)>>);

impl EveryTagRow {
    fn at(&self, generation: Option<i64>) -> Option<Arc<TagRows>> {
        let kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.as_ref().filter(|(at, _)| Some(*at) == generation).map(|(_, rows)| Arc::clone(rows))
    }

    fn keep(&self, generation: Option<i64>, rows: TagRows) -> Arc<TagRows> {
        let rows = Arc::new(rows);
        if let Some(generation) = generation {
            *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((generation, Arc::clone(&rows)));
        }
        rows
    }
}

/// Up to this many conversations in scope (and at most half of all), their tag rows are read by rowid (a probe
/// each, about 0.3 µs); past it, every tag row is read (about 20 ms for 100,000, SQLite 3.51): joining 100,000
/// conversations to their tags in SQL took 68 ms, reading both sides and joining them in a hash map half of that.
const TAGS_BY_ROWID: i64 = 20_000;

/// Appends the statement that reads the scope's columns: how many, and with a tag dimension how many
/// conversations there are and the scope's rowids; the keys' columns (but a tag's) and the figures.
fn push_columns<D: Dialect>(query: &mut D, request: &Request<'_>) -> Result<()> {
    let Request { scope, grouping, figures } = request;
    query.sql("SELECT count(*)");
    if grouping.by.contains(&Dimension::Tag) {
        query.sql(&format!(", (SELECT count(*) FROM conversations), {}", D::JSON_ARRAY("c.rowid")));
    }
    for dimension in grouping.by.iter().filter(|d| **d != Dimension::Tag) {
        query.sql(&format!(", {}", D::JSON_ARRAY(key_column(*dimension))));
    }
    for figure in figures.iter() {
        query.sql(&format!(", {}", D::JSON_ARRAY(figure.column())));
    }
    query.sql(" FROM conversations c WHERE ");
    push_scope(query, scope)
}

/// What the columns statement answered.
struct ScopeRead {
    rows: i64,
    /// With a tag dimension: whether to read the scope's tag rows by rowid rather than every tag row.
    tags_by_rowid: Option<bool>,
    texts: Vec<String>,
}

impl ScopeRead {
    fn of<R: Row>(row: &R, tagged: bool) -> sqlx::Result<Self>
    where
        usize: sqlx::ColumnIndex<R>,
        for<'r> String: Decodes<'r, R::Database>,
        for<'r> i64: Decodes<'r, R::Database>,
    {
        let rows: i64 = row.try_get(0)?;
        let (tags_by_rowid, first_text) = match tagged {
            false => (None, 1),
            true => {
                let every: i64 = row.try_get(1)?;
                (Some(rows <= TAGS_BY_ROWID && rows * 2 <= every), 2)
            }
        };
        let texts = (first_text..row.len()).map(|i| row.try_get(i)).collect::<sqlx::Result<_>>()?;
        Ok(Self { rows, tags_by_rowid, texts })
    }

    /// Made into [`Columns`], with the tag rows read after it.
    fn columns(self, request: &Request<'_>, tag_rows: Option<Arc<TagRows>>) -> Columns {
        let mut texts = self.texts.into_iter();
        let conversations = tag_rows.as_ref().and_then(|_| texts.next());
        let keys = request.grouping.by.iter().map(|d| if *d == Dimension::Tag { None } else { texts.next() }).collect();
        let figures = texts.collect();
        let tagged = conversations.zip(tag_rows).map(|(conversations, tag_rows)| Tagged { conversations, tag_rows });
        Columns { rows: self.rows, keys, figures, tagged }
    }
}

/// Reads the request's columns on the store's backend, and the tag rows after them in the same snapshot.
pub(super) async fn columns(store: &Store, request: &Request<'_>) -> Result<Columns> {
    let tagged = request.grouping.by.contains(&Dimension::Tag);
    if store.postgres().is_some() {
        let mut query = QueryBuilder::<Postgres>::new("");
        push_columns(&mut query, request)?;
        // The scope's tag rows, probed per conversation (`OFFSET 0` keeps the lateral join from being flattened):
        // 30 days of 100,000 conversations, 12 ms; as `IN (scope)` PostgreSQL hashed the scope and read every tag
        // row, 23 ms, and given the scope's rowids as an array, `= ANY` took 20–30 ms (EXPLAIN ANALYZE, 2026-12-07).
        let mut tag_rows = QueryBuilder::<Postgres>::new(
            "SELECT coalesce(json_agg(ct.conversation_rowid), '[]')::text, coalesce(json_agg(ct.tag_id), '[]')::text \
             FROM conversations c CROSS JOIN LATERAL (SELECT t.conversation_rowid, t.tag_id FROM conversation_tags t \
             WHERE t.conversation_rowid = c.rowid OFFSET 0) ct WHERE ",
        );
        if tagged {
            push_scope(&mut tag_rows, request.scope)?;
        }
        store
            .read_postgres(async |c| {
                let mut tx = sqlx::Connection::begin(c).await?;
                let read = ScopeRead::of(&query.build().fetch_one(&mut *tx).await?, tagged)?;
                let tag_rows = match read.tags_by_rowid {
                    None => None,
                    Some(false) => {
                        let generation = sqlx::query_scalar(GENERATION_POSTGRES).fetch_optional(&mut *tx).await?;
                        Some(match store.every_tag_row.at(generation) {
                            Some(kept) => kept,
                            None => store
                                .every_tag_row
                                .keep(generation, sqlx::query_as(EVERY_TAG_ROW_POSTGRES).fetch_one(&mut *tx).await?),
                        })
                    }
                    Some(true) => Some(Arc::new(tag_rows.build_query_as().fetch_one(&mut *tx).await?)),
                };
                tx.commit().await?;
                Ok(read.columns(request, tag_rows))
            })
            .await
    } else {
        let mut query = QueryBuilder::<Sqlite>::new("");
        push_columns(&mut query, request)?;
        let scope = request.scope;
        let dated = [scope.created_after, scope.created_before, scope.updated_after, scope.updated_before]
            .iter()
            .any(Option::is_some);
        store
            .read(async |c| {
                let mut tx = sqlx::Connection::begin(c).await?;
                let read = ScopeRead::of(&query.build().fetch_one(&mut *tx).await?, tagged)?;
                let tag_rows = match read.tags_by_rowid {
                    None => None,
                    // A tag's rows carry its conversation's state and dates (migration 0007): a window's tag
                    // rows are ranges of a tag index, whatever the scope's size.
                    Some(_) if dated => {
                        Some(Arc::new(tag_rows_in_window(request.scope).build_query_as().fetch_one(&mut *tx).await?))
                    }
                    Some(false) => {
                        let generation = sqlx::query_scalar(GENERATION_SQLITE).fetch_optional(&mut *tx).await?;
                        Some(match store.every_tag_row.at(generation) {
                            Some(kept) => kept,
                            None => store
                                .every_tag_row
                                .keep(generation, sqlx::query_as(EVERY_TAG_ROW_SQLITE).fetch_one(&mut *tx).await?),
                        })
                    }
                    Some(true) => Some(Arc::new(
                        sqlx::query_as(TAG_ROWS_BY_ROWID_SQLITE)
                            .bind(read.texts[0].as_str())
                            .fetch_one(&mut *tx)
                            .await?,
                    )),
                };
                tx.commit().await?;
                Ok(read.columns(request, tag_rows))
            })
            .await
    }
}

/// The tag rows of the conversations in the scope's states and date ranges (at least the scope's; the join
/// leaves out the others). For a window of 30 days over 100,000 conversations (18,000 tag rows, SQLite 3.51,
/// 2026-12-07): 1.0 ms in the tag index, 2.6 ms probing each conversation of the window by rowid.
fn tag_rows_in_window(scope: &Scope) -> QueryBuilder<Sqlite> {
    let mut query = QueryBuilder::new(
        "SELECT json_group_array(ct.conversation_rowid), json_group_array(ct.tag_id) FROM conversation_tags ct \
         WHERE 1 = 1",
    );
    crate::conversations::push_states(&mut query, "ct", scope);
    crate::conversations::push_date_ranges(&mut query, "ct", scope);
    query
}

const GENERATION_SQLITE: &str = "SELECT CAST(value AS INTEGER) FROM workspace_meta WHERE key = 'data_generation'";
const GENERATION_POSTGRES: &str = "SELECT value::bigint FROM workspace_meta WHERE key = 'data_generation'";
const EVERY_TAG_ROW_SQLITE: &str =
    "SELECT json_group_array(ct.conversation_rowid), json_group_array(ct.tag_id) FROM conversation_tags ct";
/// The scope's rowids drive (`CROSS JOIN` keeps them outside): a probe of the conversation's tags each. Written
/// as `IN (SELECT value FROM json_each(?1))`, SQLite first copied the rowids into a temporary index.
const TAG_ROWS_BY_ROWID_SQLITE: &str = "SELECT json_group_array(ct.conversation_rowid), json_group_array(ct.tag_id) \
     FROM json_each(?1) AS j CROSS JOIN conversation_tags ct ON ct.conversation_rowid = j.value";
const EVERY_TAG_ROW_POSTGRES: &str = "SELECT coalesce(json_agg(ct.conversation_rowid), '[]')::text, \
     coalesce(json_agg(ct.tag_id), '[]')::text FROM conversation_tags ct";
/// Rated conversations of the scope, lowest rating first, then the most recently rated, then by id.
pub(super) async fn rated(store: &Store, scope: &Scope, limit: u32) -> Result<Vec<RatedConversation>> {
    fn build<D: Dialect>(query: &mut D, scope: &Scope, limit: u32) -> Result<()> {
        query.sql(
            "SELECT c.id, c.rating, c.rating_remark, c.rating_created_at, c.admin_assignee_id, c.team_assignee_id \
             FROM conversations c WHERE c.rating IS NOT NULL AND ",
        );
        push_scope(query, scope)?;
        let collate = D::byte_order();
        query.sql(&format!(
            " ORDER BY c.rating, c.rating_created_at DESC NULLS LAST, c.id{collate} LIMIT {}",
            i64::from(limit)
        ));
        Ok(())
    }
    fn from_row<'r, R>(row: &'r R) -> Result<RatedConversation>
    where
        R: Row,
        &'static str: sqlx::ColumnIndex<R>,
        String: Decodes<'r, R::Database>,
        i64: Decodes<'r, R::Database>,
    {
        let rating: i64 = row.try_get("rating")?;
        Ok(RatedConversation {
            id: row.try_get("id")?,
            rating: u8::try_from(rating.clamp(0, 255)).unwrap_or(0),
            remark: row.try_get("rating_remark")?,
            rated_at: row.try_get("rating_created_at")?,
            admin_assignee_id: row.try_get("admin_assignee_id")?,
            team_assignee_id: row.try_get("team_assignee_id")?,
        })
    }
    if store.postgres().is_some() {
        let mut query = QueryBuilder::<Postgres>::new("");
        build(&mut query, scope, limit)?;
        let rows = store.read_postgres(async |c| query.build().fetch_all(c).await).await?;
        rows.iter().map(from_row).collect()
    } else {
        let mut query = QueryBuilder::<Sqlite>::new("");
        build(&mut query, scope, limit)?;
        let rows = store.read(async |c| query.build().fetch_all(c).await).await?;
        rows.iter().map(from_row).collect()
    }
}

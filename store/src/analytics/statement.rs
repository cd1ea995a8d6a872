//! The one statement an aggregate runs, written once for both backends.
//!
//! ```text
//! WITH scope  AS (one row per conversation in scope: its rowid, the keys that are columns, the figures),
//!      keyed  AS (scope, or scope joined to its tags: a conversation with two tags is two rows, untagged one),
//! -- counts:
//!      groups AS (GROUP BY the keys: how many rows),
//!      page   AS (the groups in the asked order, up to the limit)
//! SELECT the totals (conversations in scope, groups, conversations grouped), the page, the entities' names
//! FROM (SELECT 1) LEFT JOIN page ...      -- one row even when nothing is in scope, to carry the totals
//! -- distributions:
//! SELECT every keyed row as one JSON array  -- grouped and summarised in Rust (`summarised_here`)
//! ```

use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::{
    Aggregate, CountRow, Dimension, Distributions, Figure, Grouping, Key, Period, RatedConversation, Rest, RowOrder,
    Scope,
};
use crate::filter::ConversationFilter;
use crate::text::fts_conversation_query;
use crate::{Decodes, Result, Store};

/// An aggregate to run: counts when `figures` is empty.
pub(super) struct Request<'a> {
    pub scope: &'a Scope,
    pub grouping: &'a Grouping,
    pub figures: &'a [Figure],
}

/// One row of the statement, whichever the backend. `n` is none on the row that only carries the totals.
pub(super) struct GroupRow {
    total: i64,
    groups: i64,
    grouped: i64,
    keys: [Option<RawKey>; 2],
    names: [Option<String>; 2],
    n: Option<i64>,
}

/// A key as the database returned it, before its dimension gives it a meaning.
enum RawKey {
    Text(String),
    Number(i64),
}

/// What a dimension's key is in SQL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    Text,
    /// An id, named from this table.
    Entity(&'static str),
    Number,
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

/// What the statement needs of a backend's query builder: SQL, bound values, and the filter in its dialect.
trait Dialect {
    const POSTGRES: bool;
    fn sql(&mut self, sql: &str) -> &mut Self;
    /// ` AND ...` for the filter on conversations `c`, its text included.
    fn filter(&mut self, filter: &ConversationFilter) -> Result<()>;
    /// The first second of the month of the unix second `column` + `offset`, less the offset.
    fn month(&mut self, column: &str, offset: i64);
    /// Text keys ordered by bytes.
    fn byte_order(kind: KeyKind) -> &'static str {
        match (Self::POSTGRES, kind) {
            (true, KeyKind::Text | KeyKind::Entity(_)) => " COLLATE \"C\"",
            _ => "",
        }
    }
}

impl Dialect for QueryBuilder<Sqlite> {
    const POSTGRES: bool = false;
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
    fn month(&mut self, column: &str, offset: i64) {
        self.push(format_args!(
            "(CAST(strftime('%s', {column} + {offset}, 'unixepoch', 'start of month') AS INTEGER) - {offset})"
        ));
    }
}

impl Dialect for QueryBuilder<Postgres> {
    const POSTGRES: bool = true;
    fn sql(&mut self, sql: &str) -> &mut Self {
        self.push(sql)
    }
    fn filter(&mut self, filter: &ConversationFilter) -> Result<()> {
        use crate::postgres::conversations::{filter_without_nul, push_conditions, text_query};
        let text = filter.text.as_deref().map(text_query).transpose()?;
        push_conditions(self, &filter_without_nul(filter), text.as_deref());
        Ok(())
    }
    fn month(&mut self, column: &str, offset: i64) {
        self.push(format_args!(
            "(CAST(extract(epoch FROM date_trunc('month', to_timestamp({column} + {offset}) AT TIME ZONE 'UTC')) \
             AS BIGINT) - {offset})"
        ));
    }
}

/// `x` rounded down to a multiple of `step` (SQL's `/` and `%` round toward zero on both backends; dates before
/// 1970 at an offset would otherwise land in the bucket after theirs).
fn floor_to(x: &str, step: i64) -> String {
    format!("(({x}) - ((({x}) % {step}) + {step}) % {step})")
}

/// Appends the key of `dimension` as an expression on conversations `c` (the tag is joined later: NULL here).
/// The offset in seconds (checked to at most 14 hours) is written into the statement as a number, as row counts
/// are: it is the store's own arithmetic on a checked value, not text from the caller.
fn push_key<D: Dialect>(query: &mut D, dimension: Dimension, offset: i64) {
    let bucket = |query: &mut D, column: &str, period: Period| {
        let local = format!("({column} + {offset})");
        let start = match period {
            Period::Hour => floor_to(&local, 3600),
            Period::Day => floor_to(&local, 86_400),
            // Days since Monday 1969-12-29 (the epoch was a Thursday), down to a whole week, back to seconds.
            Period::Week => {
                let days_since_monday = format!("({} / 86400 + 3)", floor_to(&local, 86_400));
                format!("(({} - 3) * 86400)", floor_to(&days_since_monday, 7))
            }
            Period::Month => {
                query.month(column, offset);
                return;
            }
        };
        query.sql(&format!("({start} - {offset})"));
    };
    let column = match dimension {
        Dimension::State => "c.state",
        Dimension::Tag => "NULL",
        Dimension::Team => "c.team_assignee_id",
        Dimension::Admin => "c.admin_assignee_id",
        Dimension::Priority => "c.priority",
        Dimension::SourceType => "c.source_type",
        Dimension::Company => "c.company_id",
        Dimension::Rating => "c.rating",
        Dimension::Created(period) => return bucket(query, "c.created_at", period),
        Dimension::Updated(period) => return bucket(query, "c.updated_at", period),
        Dimension::Closed(period) => return bucket(query, "c.last_close_at", period),
        // Hours since Monday 1969-12-29 00:00, modulo a week (0 to 167 whatever the sign).
        Dimension::CreatedHourOfWeek => {
            let hours = format!("({} / 3600 + 72)", floor_to(&format!("(c.created_at + {offset})"), 3600));
            query.sql(&format!("((({hours}) % 168 + 168) % 168)"));
            return;
        }
    };
    query.sql(column);
}

/// Appends the scope's conditions on conversations `c`, after a `WHERE`.
fn push_scope<D: Dialect>(query: &mut D, scope: &Scope) -> Result<()> {
    query.sql("1 = 1");
    query.filter(scope)
}

/// `k1 ..., k2 ...` in the grouping's order of rows, for the table `p` (or none).
fn order_by<D: Dialect>(grouping: &Grouping, table: &str) -> String {
    let mut terms = Vec::new();
    if grouping.row_order == RowOrder::LargestFirst {
        terms.push(format!("{table}n DESC"));
    }
    for (i, dimension) in grouping.by.iter().enumerate() {
        let collate = D::byte_order(key_kind(*dimension));
        terms.push(format!("{table}k{}{collate} ASC NULLS LAST", i + 1));
    }
    if terms.is_empty() {
        terms.push(format!("{table}n DESC"));
    }
    terms.join(", ")
}

/// Appends the `scope` and `keyed` CTEs: one row per conversation in scope (per tag of it, with a tag
/// dimension) with its rowid `r`, its keys `k1`, `k2` and its figures `v1`, `v2`, ...
fn push_keyed<D: Dialect>(query: &mut D, request: &Request<'_>) -> Result<()> {
    let Request { scope, grouping, figures } = request;
    let offset = i64::from(grouping.utc_offset_minutes) * 60;
    query.sql("WITH scope AS (SELECT c.rowid AS r");
    for slot in 0..2 {
        query.sql(", ");
        match grouping.by.get(slot) {
            Some(dimension) => push_key(query, *dimension, offset),
            None => {
                query.sql("NULL");
            }
        }
        query.sql(&format!(" AS k{}", slot + 1));
    }
    for (i, figure) in figures.iter().enumerate() {
        query.sql(&format!(", {} AS v{}", figure.column(), i + 1));
    }
    query.sql(" FROM conversations c WHERE ");
    push_scope(query, scope)?;
    query.sql("), keyed AS (");
    match grouping.by.iter().position(|d| *d == Dimension::Tag) {
        Some(slot) => {
            let keys = if slot == 0 { "ct.tag_id AS k1, s.k2" } else { "s.k1, ct.tag_id AS k2" };
            query.sql(&format!(
                "SELECT s.r, {keys}{} FROM scope s LEFT JOIN conversation_tags ct ON ct.conversation_rowid = s.r",
                values(figures.len(), "s.")
            ))
        }
        None => query.sql(&format!("SELECT r, k1, k2{} FROM scope", values(figures.len(), ""))),
    };
    query.sql(")");
    Ok(())
}

/// `, {prefix}v1, {prefix}v2, ...` for `count` figures.
fn values(count: usize, prefix: &str) -> String {
    (1..=count).map(|i| format!(", {prefix}v{i}")).collect()
}

/// Builds the aggregate's statement into `query`.
fn build<D: Dialect>(query: &mut D, request: &Request<'_>) -> Result<()> {
    let Request { grouping, .. } = request;
    push_keyed(query, request)?;
    query.sql(", groups AS (SELECT k1, k2, count(*) AS n FROM keyed GROUP BY k1, k2)");
    query.sql(&format!(", page AS (SELECT * FROM groups ORDER BY {} LIMIT ", order_by::<D>(grouping, "")));
    query.sql(&i64::from(grouping.limit).to_string());
    query.sql(
        ") SELECT (SELECT count(*) FROM scope) AS total, (SELECT count(*) FROM groups) AS group_count, \
         (SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM groups) AS grouped, p.*",
    );
    let mut joins = String::new();
    for slot in 1..=2 {
        match grouping.by.get(slot - 1).map(|d| key_kind(*d)) {
            Some(KeyKind::Entity(table)) => {
                query.sql(&format!(", e{slot}.name AS name{slot}"));
                joins.push_str(&format!(" LEFT JOIN {table} e{slot} ON e{slot}.id = p.k{slot}"));
            }
            _ => {
                query.sql(&format!(", NULL AS name{slot}"));
            }
        }
    }
    query.sql(" FROM (SELECT 1) AS one LEFT JOIN page p ON true");
    query.sql(&joins);
    query.sql(&format!(" ORDER BY {}", order_by::<D>(grouping, "p.")));
    Ok(())
}

/// The distributions of the request's figures: the scope's rows read as one JSON array on either backend, then
/// summarised in Rust (see [`super::summarised_here`]).
pub(super) async fn distribution(store: &Store, request: &Request<'_>) -> Result<Distributions> {
    let values = values(request.figures.len(), "");
    let json: Option<String> = if store.postgres().is_some() {
        let mut query = QueryBuilder::<Postgres>::new("");
        push_keyed(&mut query, request)?;
        query.push(format_args!(" SELECT json_agg(json_build_array(r, k1, k2{values}))::text FROM keyed"));
        store.read_postgres(async |c| query.build_query_scalar().fetch_one(c).await).await?
    } else {
        let mut query = QueryBuilder::<Sqlite>::new("");
        push_keyed(&mut query, request)?;
        query.push(format_args!(" SELECT json_group_array(json_array(r, k1, k2{values})) FROM keyed"));
        store.read(async |c| query.build_query_scalar().fetch_one(c).await).await?
    };
    super::summarised_here::distribution(store, json, request.grouping, request.figures.len()).await
}

/// Runs the aggregate on the store's backend.
pub(super) async fn aggregate(store: &Store, request: &Request<'_>) -> Result<Vec<GroupRow>> {
    let kinds: Vec<KeyKind> = request.grouping.by.iter().map(|d| key_kind(*d)).collect();

    if store.postgres().is_some() {
        let mut query = QueryBuilder::<Postgres>::new("");
        build(&mut query, request)?;
        let rows = store.read_postgres(async |c| query.build().fetch_all(c).await).await?;
        rows.iter().map(|row| group_row(row, &kinds)).collect()
    } else {
        let mut query = QueryBuilder::<Sqlite>::new("");
        build(&mut query, request)?;
        let rows = store.read(async |c| query.build().fetch_all(c).await).await?;
        rows.iter().map(|row| group_row(row, &kinds)).collect()
    }
}

/// One row of the counting statement.
fn group_row<'r, R>(row: &'r R, kinds: &[KeyKind]) -> Result<GroupRow>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
{
    let key = |slot: usize| -> Result<Option<RawKey>> {
        let column = if slot == 0 { "k1" } else { "k2" };
        Ok(match kinds.get(slot) {
            None => None,
            Some(KeyKind::Number | KeyKind::Date) => row.try_get::<Option<i64>, _>(column)?.map(RawKey::Number),
            Some(KeyKind::Text | KeyKind::Entity(_)) => row.try_get::<Option<String>, _>(column)?.map(RawKey::Text),
        })
    };
    let name = |slot: usize| -> Result<Option<String>> {
        Ok(match kinds.get(slot) {
            Some(KeyKind::Entity(_)) => row.try_get(if slot == 0 { "name1" } else { "name2" })?,
            _ => None,
        })
    };
    Ok(GroupRow {
        total: row.try_get("total")?,
        groups: row.try_get("group_count")?,
        grouped: row.try_get("grouped")?,
        keys: [key(0)?, key(1)?],
        names: [name(0)?, name(1)?],
        n: row.try_get("n")?,
    })
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The typed keys of a row, one per dimension.
fn keys_of(row: &mut GroupRow, grouping: &Grouping) -> Vec<Key> {
    let mut keys = Vec::with_capacity(grouping.by.len());
    for (slot, dimension) in grouping.by.iter().enumerate() {
        let name = row.names[slot].take();
        keys.push(match (row.keys[slot].take(), key_kind(*dimension)) {
            (None, _) => Key::None,
            (Some(RawKey::Text(id)), KeyKind::Entity(_)) => Key::Entity { id, name },
            (Some(RawKey::Text(value)), _) => Key::Value(value),
            (Some(RawKey::Number(start)), KeyKind::Date) => Key::StartsAt(start),
            (Some(RawKey::Number(number)), _) => Key::Number(number),
        });
    }
    keys
}

/// Splits the statement's rows into the aggregate's rows (made by `row` from the keys and the group) and its
/// totals.
fn aggregate_from<T>(
    rows: Vec<GroupRow>,
    grouping: &Grouping,
    mut row: impl FnMut(Vec<Key>, &GroupRow, i64) -> T,
) -> Aggregate<T> {
    let Some((total, groups, grouped)) = rows.first().map(|first| (first.total, first.groups, first.grouped)) else {
        return Aggregate { rows: Vec::new(), other: Rest::default(), total: 0 };
    };
    let mut shown = 0_i64;
    let mut items = Vec::with_capacity(rows.len());
    for mut group in rows {
        if let Some(n) = group.n {
            shown += n;
            let keys = keys_of(&mut group, grouping);
            items.push(row(keys, &group, n));
        }
    }
    let other = Rest { rows: unsigned(groups - items.len() as i64), conversations: unsigned(grouped - shown) };
    Aggregate { rows: items, other, total: unsigned(total) }
}

pub(super) fn counts_from(rows: Vec<GroupRow>, grouping: &Grouping) -> Aggregate<CountRow> {
    aggregate_from(rows, grouping, |keys, _, n| CountRow { keys, conversations: unsigned(n) })
}

/// Rated conversations of the scope, lowest rating first, then the most recently rated, then by id.
pub(super) async fn rated(store: &Store, scope: &Scope, limit: u32) -> Result<Vec<RatedConversation>> {
    fn build<D: Dialect>(query: &mut D, scope: &Scope, limit: u32) -> Result<()> {
        query.sql(
            "SELECT c.id, c.rating, c.rating_remark, c.rating_created_at, c.admin_assignee_id, c.team_assignee_id \
             FROM conversations c WHERE c.rating IS NOT NULL AND ",
        );
        push_scope(query, scope)?;
        let collate = D::byte_order(KeyKind::Text);
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

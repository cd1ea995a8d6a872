//! Counts and distributions, on either backend: the scope's columns (one JSON array each, read by one statement,
//! [`super::statement`]) made into keys, grouped in a hash map, counted, ordered and summarised here.
//!
//! SQLite has no percentile function, its window functions ranked values within groups by sorting every row of
//! the scope twice (350 ms over 100,000 conversations), and its GROUP BY sorted them once, or walked an index in
//! the group's order reading the other key past each row's message bodies (306 ms by admin and rating). On
//! PostgreSQL, window ranks made `response_times` (two figures by team, 100,000 conversations) take 831 ms end to
//! end, its `json_agg` and this summary 191 ms. Reading the columns costs 10–35 ms over 100,000 conversations
//! (SQLite 3.51), and this module's work a few milliseconds: each percentile is selected, not sorted for
//! (`select_nth_unstable`). One summary for both backends also makes their answers the same by construction:
//! keys in the same order (text in byte order, none last), the same buckets, nearest-rank percentiles and sums.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Deserialize;

use super::statement::{Columns, KeyKind, key_kind};
use super::{
    Aggregate, CountRow, Dimension, DistributionRow, Distributions, Grouping, Key, Rest, RowOrder, Summary, buckets,
    integers,
};
use crate::{Result, Store, StoreError};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A key as the statement wrote it into JSON: none, an integer or a text (borrowed from the statement's answer
/// where it has no escapes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RawKey<'a> {
    Number(i64),
    Text(Cow<'a, str>),
    Missing,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawKey<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("null, an integer or a string")
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(RawKey::Missing)
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(RawKey::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                i64::try_from(v).map(RawKey::Number).map_err(E::custom)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(RawKey::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(RawKey::Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// One group: its keys, its conversations and, per figure, its values.
struct Group<'a> {
    keys: [RawKey<'a>; 2],
    conversations: u64,
    values: Vec<Vec<i64>>,
}

/// A summarised row before it is made a count or a distribution.
struct Row {
    keys: Vec<Key>,
    conversations: u64,
    summaries: Vec<Summary>,
}

/// Everything an aggregate answers: its page of rows, the rest, the conversations in scope and, per figure,
/// the summary over all of them.
struct Summarised {
    rows: Vec<Row>,
    other: Rest,
    total: u64,
    overall: Vec<Summary>,
}

/// Counts of the scope's conversations per group.
pub(super) async fn counts(store: &Store, columns: Columns, grouping: &Grouping) -> Result<Aggregate<CountRow>> {
    let summarised = summarise_off_the_runtime(store, columns, grouping).await?;
    let rows = summarised.rows.into_iter().map(|row| CountRow { keys: row.keys, conversations: row.conversations });
    Ok(Aggregate { rows: rows.collect(), other: summarised.other, total: summarised.total })
}

/// Distributions of the scope's figures per group and over the whole scope.
pub(super) async fn distribution(store: &Store, columns: Columns, grouping: &Grouping) -> Result<Distributions> {
    let summarised = summarise_off_the_runtime(store, columns, grouping).await?;
    let rows = summarised.rows.into_iter().map(|row| DistributionRow { keys: row.keys, summaries: row.summaries });
    Ok(Distributions {
        rows: rows.collect(),
        other: summarised.other,
        total: summarised.total,
        overall: summarised.overall,
    })
}

async fn summarise_off_the_runtime(store: &Store, columns: Columns, grouping: &Grouping) -> Result<Summarised> {
    let grouping_for_work = grouping.clone();
    // Parsing and grouping 100,000 rows takes milliseconds of CPU: off the async runtime's threads.
    let mut summarised = tokio::task::spawn_blocking(move || summarise(&columns, &grouping_for_work))
        .await
        .map_err(|e| StoreError::Internal(format!("summarising the aggregate failed: {e}")))??;
    name_entities(store, grouping, &mut summarised.rows).await?;
    Ok(summarised)
}

fn summarise<'a>(columns: &'a Columns, grouping: &Grouping) -> Result<Summarised> {
    let rows = usize::try_from(columns.rows).unwrap_or(0);
    let offset = i64::from(grouping.utc_offset_minutes) * 60;
    let mut keys: Vec<Vec<RawKey<'a>>> = Vec::with_capacity(2);
    for (text, dimension) in columns.keys.iter().zip(&grouping.by) {
        let mut column: Vec<RawKey<'a>> = match (text, key_kind(*dimension)) {
            (Some(text), KeyKind::Number | KeyKind::Date) => integers_of(text, rows)?
                .into_iter()
                .map(|value| value.map_or(RawKey::Missing, RawKey::Number))
                .collect(),
            (Some(text), _) => column_of(text, rows)?,
            // The tag's slot: filled from the tag rows below.
            (None, _) => Vec::new(),
        };
        bucket(&mut column, *dimension, offset);
        keys.push(column);
    }
    let values: Vec<Vec<Option<i64>>> =
        columns.figures.iter().map(|text| integers_of(text, rows)).collect::<Result<_>>()?;
    let tag_slot = grouping.by.iter().position(|d| *d == Dimension::Tag);
    let keyed = keyed_rows(columns, rows)?;

    let figures = values.len();
    let key_at = |slot: usize, row: usize, tag: &RawKey<'a>| -> RawKey<'a> {
        match keys.get(slot) {
            None => RawKey::Missing,
            Some(_) if tag_slot == Some(slot) => tag.clone(),
            Some(column) => column[row].clone(),
        }
    };
    let mut index: FastMap<[RawKey<'_>; 2], usize> = FastMap::default();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (row, tag) in &keyed {
        let row_keys = [key_at(0, *row, tag), key_at(1, *row, tag)];
        let at = *index.entry(row_keys).or_insert_with_key(|row_keys| {
            groups.push(Group { keys: row_keys.clone(), conversations: 0, values: vec![Vec::new(); figures] });
            groups.len() - 1
        });
        let group = &mut groups[at];
        group.conversations += 1;
        for (list, column) in group.values.iter_mut().zip(&values) {
            list.extend(column[*row]);
        }
    }
    // The whole scope: each conversation once, whatever its tags.
    let total = rows as u64;
    let overall_values: Vec<Vec<i64>> =
        values.into_iter().map(|column| column.into_iter().flatten().collect()).collect();

    let kinds: Vec<KeyKind> = grouping.by.iter().map(|d| key_kind(*d)).collect();
    groups.sort_by(|a, b| order(a, b, grouping.row_order, &kinds));
    let limit = grouping.limit as usize;
    let rest: u64 = groups.iter().skip(limit).map(|g| g.conversations).sum();
    let other = Rest { rows: groups.len().saturating_sub(limit) as u64, conversations: rest };
    groups.truncate(limit);
    let rows = groups
        .into_iter()
        .map(|group| Row {
            keys: kinds.iter().zip(&group.keys).map(|(kind, raw)| key_of(*kind, raw)).collect(),
            conversations: group.conversations,
            summaries: group.values.into_iter().map(|values| summary(values, group.conversations)).collect(),
        })
        .collect();
    let overall = overall_values.into_iter().map(|values| summary(values, total)).collect();
    Ok(Summarised { rows, other, total, overall })
}

/// A JSON array of the statement, of `rows` values.
fn column_of<'a, T: Deserialize<'a>>(text: &'a str, rows: usize) -> Result<Vec<T>> {
    let column: Vec<T> =
        serde_json::from_str(text).map_err(|e| StoreError::Internal(format!("unreadable rows from the store: {e}")))?;
    if column.len() != rows {
        return Err(StoreError::Internal(format!("a column of {} rows, not {rows}", column.len())));
    }
    Ok(column)
}

/// A JSON array of the statement's integers (and nulls), of `rows` values.
fn integers_of(text: &str, rows: usize) -> Result<Vec<Option<i64>>> {
    let column =
        integers::read(text).map_err(|e| StoreError::Internal(format!("unreadable rows from the store: {e}")))?;
    if column.len() != rows {
        return Err(StoreError::Internal(format!("a column of {} rows, not {rows}", column.len())));
    }
    Ok(column)
}

/// The rowids of a JSON array of them.
fn rowids_of(text: &str) -> Result<Vec<i64>> {
    integers::read_present(text).map_err(|e| StoreError::Internal(format!("unreadable rowids from the store: {e}")))
}

/// Where each conversation of the scope is in its columns, by rowid.
enum RowOf {
    /// Indexed by rowid (`u32::MAX` for none) when the rowids are dense: a conversation's rowid is assigned as
    /// it is first stored, so they are, unless most were deleted.
    Dense(Vec<u32>),
    Sparse(FastMap<i64, usize>),
}

impl RowOf {
    fn new(conversations: &[i64]) -> Self {
        let dense_up_to = 4 * conversations.len() as i64 + 1024;
        let (least, most) = conversations.iter().fold((0, 0), |(l, m), r| (l.min(*r), m.max(*r)));
        if least >= 0 && most < dense_up_to && conversations.len() < u32::MAX as usize {
            let mut table = vec![u32::MAX; most as usize + 1];
            for (row, rowid) in conversations.iter().enumerate() {
                table[*rowid as usize] = row as u32;
            }
            return Self::Dense(table);
        }
        Self::Sparse(conversations.iter().enumerate().map(|(row, rowid)| (*rowid, row)).collect())
    }

    fn get(&self, rowid: i64) -> Option<usize> {
        match self {
            Self::Dense(table) => usize::try_from(rowid)
                .ok()
                .and_then(|r| table.get(r))
                .filter(|row| **row != u32::MAX)
                .map(|row| *row as usize),
            Self::Sparse(map) => map.get(&rowid).copied(),
        }
    }
}

/// The rows to group: each conversation in scope (its index in the columns) once, or, with a tag dimension,
/// once per tag of it and once untagged when it has none.
fn keyed_rows<'a>(columns: &'a Columns, rows: usize) -> Result<Vec<(usize, RawKey<'a>)>> {
    let Some(tagged) = &columns.tagged else {
        return Ok((0..rows).map(|row| (row, RawKey::Missing)).collect());
    };
    let conversations = rowids_of(&tagged.conversations)?;
    if conversations.len() != rows {
        return Err(StoreError::Internal(format!("{} rowids for {rows} conversations", conversations.len())));
    }
    let (tag_conversations, tags) = &*tagged.tag_rows;
    let tag_conversations = rowids_of(tag_conversations)?;
    let tags: Vec<RawKey<'a>> = column_of(tags, tag_conversations.len())?;
    let in_scope = RowOf::new(&conversations);
    let mut tagged_rows = vec![false; rows];
    let mut keyed = Vec::with_capacity(rows + tags.len());
    for (rowid, tag) in tag_conversations.iter().zip(tags) {
        if let Some(row) = in_scope.get(*rowid) {
            tagged_rows[row] = true;
            keyed.push((row, tag));
        }
    }
    keyed.extend(tagged_rows.iter().enumerate().filter(|(_, tagged)| !**tagged).map(|(row, _)| (row, RawKey::Missing)));
    Ok(keyed)
}

/// Makes a date dimension's seconds its buckets' first seconds (or hours of the week).
fn bucket(column: &mut [RawKey<'_>], dimension: Dimension, offset: i64) {
    let to_key = |second: i64| match dimension {
        Dimension::Created(period) | Dimension::Updated(period) | Dimension::Closed(period) => {
            buckets::starts_at(second, period, offset)
        }
        _ => buckets::hour_of_week(second, offset),
    };
    if key_kind(dimension) != KeyKind::Date && dimension != Dimension::CreatedHourOfWeek {
        return;
    }
    for key in column {
        if let RawKey::Number(second) = key {
            *second = to_key(*second);
        }
    }
}

/// The order of groups: most conversations first (largest-first), then the keys, or the keys alone.
fn order(a: &Group<'_>, b: &Group<'_>, row_order: RowOrder, kinds: &[KeyKind]) -> Ordering {
    let by_keys = || {
        (0..kinds.len())
            .map(|slot| key_order(&a.keys[slot], &b.keys[slot]))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    match row_order {
        RowOrder::ByKey if !kinds.is_empty() => by_keys(),
        _ => b.conversations.cmp(&a.conversations).then_with(by_keys),
    }
}

/// Numbers ascending, text in byte order, none last.
fn key_order(a: &RawKey<'_>, b: &RawKey<'_>) -> Ordering {
    match (a, b) {
        (RawKey::Missing, RawKey::Missing) => Ordering::Equal,
        (RawKey::Missing, _) => Ordering::Greater,
        (_, RawKey::Missing) => Ordering::Less,
        (RawKey::Text(a), RawKey::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        (RawKey::Number(a), RawKey::Number(b)) => a.cmp(b),
        // One dimension's keys are all text or all numbers; order kinds anyway rather than panic.
        (RawKey::Number(_), RawKey::Text(_)) => Ordering::Less,
        (RawKey::Text(_), RawKey::Number(_)) => Ordering::Greater,
    }
}

fn key_of(kind: KeyKind, raw: &RawKey<'_>) -> Key {
    match (raw, kind) {
        (RawKey::Missing, _) => Key::None,
        (RawKey::Text(id), KeyKind::Entity(_)) => Key::Entity { id: id.to_string(), name: None },
        (RawKey::Text(text), _) => Key::Value(text.to_string()),
        (RawKey::Number(start), KeyKind::Date) => Key::StartsAt(*start),
        (RawKey::Number(number), _) => Key::Number(*number),
    }
}

/// Count, missing (of `conversations`), sum over count, and nearest-rank percentiles of the values, each
/// selected in what is left above the one before.
fn summary(mut values: Vec<i64>, conversations: u64) -> Summary {
    let n = values.len();
    let missing = conversations.saturating_sub(n as u64);
    let (Some(min), Some(max)) = (values.iter().min().copied(), values.iter().max().copied()) else {
        return Summary { missing, ..Summary::default() };
    };
    let sum: i128 = values.iter().map(|v| i128::from(*v)).sum();
    let mut below = 0;
    let mut rank = |percent: usize| {
        let at = (percent * n).div_ceil(100) - 1;
        let (_, value, _) = values[below..].select_nth_unstable(at - below);
        below = at;
        *value
    };
    let (p50, p90, p99) = (rank(50), rank(90), rank(99));
    Summary {
        count: n as u64,
        missing,
        mean: Some(sum as f64 / n as f64),
        min: Some(min),
        p50: Some(p50),
        p90: Some(p90),
        p99: Some(p99),
        max: Some(max),
    }
}

/// Fills in the names of the page's tags, teams, admins and companies, one statement per kind.
async fn name_entities(store: &Store, grouping: &Grouping, page: &mut [Row]) -> Result<()> {
    for (slot, dimension) in grouping.by.iter().enumerate() {
        let KeyKind::Entity(table) = key_kind(*dimension) else { continue };
        let ids: Vec<String> = page
            .iter()
            .filter_map(|row| match &row.keys[slot] {
                Key::Entity { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            continue;
        }
        let names: Vec<(String, Option<String>)> = if store.postgres().is_some() {
            let sql = format!("SELECT id, name FROM {table} WHERE id = ANY($1)");
            store.read_postgres(async |c| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?
        } else {
            let ids = serde_json::to_string(&ids).unwrap_or_default();
            let sql = format!("SELECT id, name FROM {table} WHERE id IN (SELECT value FROM json_each(?1))");
            store.read(async |c| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?
        };
        let names: FastMap<String, Option<String>> = names.into_iter().collect();
        for row in page.iter_mut() {
            if let Key::Entity { id, name } = &mut row.keys[slot] {
                *name = names.get(id.as_str()).cloned().flatten();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nearest-rank percentile by sorting: the definition `summary` selects instead.
    fn sorted_rank(values: &[i64], percent: usize) -> i64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted[(percent * sorted.len()).div_ceil(100) - 1]
    }

    #[test]
    fn selected_percentiles_are_the_sorted_ranks() {
        let mut seed = 7_u64;
        for n in [1_usize, 2, 3, 10, 99, 100, 101, 1_000, 4_321] {
            let values: Vec<i64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    (seed >> 40) as i64 % 500 - 100
                })
                .collect();
            let s = summary(values.clone(), n as u64 + 3);
            assert_eq!((s.count, s.missing), (n as u64, 3));
            assert_eq!(s.p50, Some(sorted_rank(&values, 50)), "n = {n}");
            assert_eq!(s.p90, Some(sorted_rank(&values, 90)), "n = {n}");
            assert_eq!(s.p99, Some(sorted_rank(&values, 99)), "n = {n}");
            assert_eq!(s.min, values.iter().min().copied());
            assert_eq!(s.max, values.iter().max().copied());
        }
        assert_eq!(summary(Vec::new(), 4), Summary { missing: 4, ..Summary::default() });
    }
}

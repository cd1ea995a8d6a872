//! Distributions, on either backend: the scope's (conversation, keys, values) rows read in one statement as one
//! JSON array, then grouped, sorted and summarised here.
//!
//! SQLite has no percentile function, and the window functions that rank values within groups sort every row
//! of the scope twice: over 100,000 conversations the statement took 350 ms (its plain sort of the values alone,
//! 85 ms of CPU), against 15 ms to read them and 18–24 ms to read them into `json_group_array` (the SQLite
//! shell, 2026-12-07). Grouping in a hash map and sorting each group's integers costs a few milliseconds more.
//! On PostgreSQL, ranking values within groups with window functions made `response_times` (two figures by team,
//! 100,000 conversations, `bench-analytics`) take 831 ms end to end; with its `json_agg` and this summary, 191 ms.
//! One summary for both backends also makes their answers the same by construction: keys in the same order
//! (text in byte order, `none` last), the same nearest-rank percentiles, the same sums.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::statement::{KeyKind, key_kind};
use super::{DistributionRow, Distributions, Grouping, Key, Rest, RowOrder, Summary};
use crate::{Result, Store, StoreError};

/// A key as the statement wrote it into JSON: none, an integer or a text (borrowed from the statement's answer
/// where it has no escapes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RawKey<'a> {
    Number(i64),
    Text(std::borrow::Cow<'a, str>),
    Missing,
}

/// One group: its keys, its conversations and, per figure, its values.
struct Group<'a> {
    keys: [RawKey<'a>; 2],
    conversations: u64,
    values: Vec<Vec<i64>>,
}

/// Summarises the scope's rows, `json` being their JSON array (`[[r, k1, k2, v1, ...], ...]`, `figures` values
/// each; none for no rows), and names the page's entities.
pub(super) async fn distribution(
    store: &Store,
    json: Option<String>,
    grouping: &Grouping,
    figures: usize,
) -> Result<Distributions> {
    let grouping_for_work = grouping.clone();
    // Parsing and sorting 100,000 rows takes milliseconds of CPU: off the async runtime's threads.
    let mut summarised =
        tokio::task::spawn_blocking(move || summarise(json.as_deref().unwrap_or("[]"), &grouping_for_work, figures))
            .await
            .map_err(|e| StoreError::Internal(format!("summarising the distribution failed: {e}")))??;
    name_entities(store, grouping, &mut summarised.rows).await?;
    Ok(summarised)
}

fn summarise(json: &str, grouping: &Grouping, figures: usize) -> Result<Distributions> {
    let unreadable = |e: serde_json::Error| StoreError::Internal(format!("unreadable rows from the store: {e}"));
    let parsed = parse_rows(json, figures).map_err(unreadable)?;
    let kinds: Vec<KeyKind> = grouping.by.iter().map(|d| key_kind(*d)).collect();
    let tagged = kinds.iter().any(|k| matches!(k, KeyKind::Entity("tags")));
    let mut seen: HashSet<i64> = HashSet::new();
    let mut overall: Vec<Vec<i64>> = vec![Vec::new(); figures];
    let mut total = 0_u64;
    let mut index: HashMap<(RawKey<'_>, RawKey<'_>), usize> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (r, k1, k2, values) in parsed {
        // With tags, a conversation has a row per tag: the whole scope counts it once.
        if !tagged || seen.insert(r) {
            total += 1;
            for (all, v) in overall.iter_mut().zip(&values) {
                all.extend(*v);
            }
        }
        let at = match index.get(&(k1.clone(), k2.clone())) {
            Some(at) => *at,
            None => {
                index.insert((k1.clone(), k2.clone()), groups.len());
                groups.push(Group { keys: [k1, k2], conversations: 0, values: vec![Vec::new(); figures] });
                groups.len() - 1
            }
        };
        let group = &mut groups[at];
        group.conversations += 1;
        for (list, v) in group.values.iter_mut().zip(values) {
            list.extend(v);
        }
    }
    groups.sort_by(|a, b| order(a, b, grouping, &kinds));
    let limit = grouping.limit as usize;
    let rest: u64 = groups.iter().skip(limit).map(|g| g.conversations).sum();
    let other = Rest { rows: groups.len().saturating_sub(limit) as u64, conversations: rest };
    groups.truncate(limit);
    let rows = groups
        .into_iter()
        .map(|group| {
            let keys = kinds.iter().zip(&group.keys).map(|(kind, raw)| key_of(*kind, raw)).collect();
            let summaries = group.values.into_iter().map(|values| summary(values, group.conversations)).collect();
            DistributionRow { keys, summaries }
        })
        .collect();
    let overall = overall.into_iter().map(|values| summary(values, total)).collect();
    Ok(Distributions { rows, other, total, overall })
}

/// One row of the statement: the rowid, two keys, and the figures' values.
type ParsedRow<'a> = (i64, RawKey<'a>, RawKey<'a>, Vec<Option<i64>>);

/// The statement's rows: `[r, k1, k2, v1, ...]` each.
fn parse_rows(json: &str, figures: usize) -> serde_json::Result<Vec<ParsedRow<'_>>> {
    let rows: Vec<Vec<&serde_json::value::RawValue>> = serde_json::from_str(json)?;
    rows.into_iter()
        .map(|row| {
            if row.len() != 3 + figures {
                return Err(serde::de::Error::custom(format!("a row of {} values", row.len())));
            }
            let values = row[3..].iter().map(|v| serde_json::from_str(v.get())).collect::<serde_json::Result<_>>()?;
            Ok((serde_json::from_str(row[0].get())?, raw_key(row[1])?, raw_key(row[2])?, values))
        })
        .collect()
}

fn raw_key(value: &serde_json::value::RawValue) -> serde_json::Result<RawKey<'_>> {
    let text = value.get();
    if text == "null" {
        return Ok(RawKey::Missing);
    }
    if text.starts_with('"') {
        return Ok(RawKey::Text(serde_json::from_str::<std::borrow::Cow<'_, str>>(text)?));
    }
    Ok(RawKey::Number(serde_json::from_str(text)?))
}

/// The statement's order of groups: most conversations first (largest-first), then the keys, or the keys alone.
fn order(a: &Group<'_>, b: &Group<'_>, grouping: &Grouping, kinds: &[KeyKind]) -> Ordering {
    let by_keys = || {
        kinds
            .iter()
            .enumerate()
            .map(|(slot, _)| key_order(&a.keys[slot], &b.keys[slot]))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    match grouping.row_order {
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

/// Count, missing (of `conversations`), sum over count, and nearest-rank percentiles of the values.
fn summary(mut values: Vec<i64>, conversations: u64) -> Summary {
    values.sort_unstable();
    let n = values.len();
    let rank = |p: usize| (n > 0).then(|| values[(p * n).div_ceil(100) - 1]);
    let sum: i128 = values.iter().map(|v| i128::from(*v)).sum();
    Summary {
        count: n as u64,
        missing: conversations - n as u64,
        mean: (n > 0).then(|| sum as f64 / n as f64),
        min: values.first().copied(),
        p50: rank(50),
        p90: rank(90),
        p99: rank(99),
        max: values.last().copied(),
    }
}

/// Fills in the names of the page's tags, teams, admins and companies, one statement per kind.
async fn name_entities(store: &Store, grouping: &Grouping, page: &mut [DistributionRow]) -> Result<()> {
    for (slot, dimension) in grouping.by.iter().enumerate() {
        let KeyKind::Entity(table) = key_kind(*dimension) else { continue };
        let ids: Vec<&str> = page
            .iter()
            .filter_map(|row| match &row.keys[slot] {
                Key::Entity { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            continue;
        }
        let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
        let names: Vec<(String, Option<String>)> = if store.postgres().is_some() {
            let sql = format!("SELECT id, name FROM {table} WHERE id = ANY($1)");
            store.read_postgres(async |c| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?
        } else {
            let ids = serde_json::to_string(&ids).unwrap_or_default();
            let sql = format!("SELECT id, name FROM {table} WHERE id IN (SELECT value FROM json_each(?1))");
            store.read(async |c| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?
        };
        let names: HashMap<String, Option<String>> = names.into_iter().collect();
        for row in page.iter_mut() {
            if let Key::Entity { id, name } = &mut row.keys[slot] {
                *name = names.get(id.as_str()).cloned().flatten();
            }
        }
    }
    Ok(())
}

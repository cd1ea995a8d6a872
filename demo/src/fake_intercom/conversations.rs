//! `POST /conversations/search`, `GET /conversations` and `GET /conversations/deleted`.
//!
//! Search and list return conversations ordered by `(updated_at, id)` ascending (Intercom leaves the order
//! unspecified; any stable order will do, and this one makes a sync's watermark simple to reason about). Both
//! page with a cursor on that key. A cursor in a search's query string is ignored, as Intercom does: only the
//! body's `pagination.starting_after` counts.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::paging::{self, CursorKey, CursorPages};
use super::query::{self, ConversationKey, ConversationLeaf, Filter};
use super::reply::Reply;
use super::routes::{App, int_param, per_page};

const DEFAULT_PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 150;
const DELETED_DEFAULT_PER_PAGE: usize = 20;
const DELETED_MAX_PER_PAGE: usize = 60;

/// `pagination` of a search body: `(per_page, starting_after)`.
pub fn pagination(value: Option<&Value>, default: usize, max: usize) -> Result<(usize, Option<CursorKey>), Reply> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok((default, None)) };
    let object = value.as_object().ok_or_else(|| Reply::bad_request("pagination must be an object"))?;
    let size = match object.get("per_page") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| Reply::bad_request("per_page must be an integer"))?),
    };
    let per_page = per_page(size, default, max)?;
    let cursor = match object.get("starting_after") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(cursor(text)?),
        Some(_) => return Err(Reply::bad_request("starting_after must be a string")),
    };
    Ok((per_page, cursor))
}

pub fn cursor(text: &str) -> Result<CursorKey, Reply> {
    paging::decode(text).ok_or_else(|| Reply::bad_request("starting_after is not a valid cursor"))
}

pub fn search(app: &App, body: &[u8]) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Reply::bad_request("The request body is not valid JSON");
    };
    let Some(query_value) = request.get("query") else { return Reply::bad_request("query is required") };
    let filter = match query::parse(query_value, &query::parse_conversation_leaf) {
        Ok(filter) => filter,
        Err(message) => return Reply::bad_request(&message),
    };
    match pagination(request.get("pagination"), DEFAULT_PER_PAGE, MAX_PER_PAGE) {
        Ok((per_page, cursor)) => page(app, Some(&filter), per_page, cursor.as_ref()),
        Err(reply) => reply,
    }
}

pub fn list(app: &App, query: &HashMap<String, String>) -> Reply {
    let size = match int_param(query, "per_page").and_then(|n| per_page(n, DEFAULT_PER_PAGE, MAX_PER_PAGE)) {
        Ok(size) => size,
        Err(reply) => return reply,
    };
    let cursor = match query.get("starting_after").map(|text| cursor(text)).transpose() {
        Ok(cursor) => cursor,
        Err(reply) => return reply,
    };
    page(app, None, size, cursor.as_ref())
}

/// One page of the conversations `filter` matches (all when `None`), after `cursor`.
fn page(app: &App, filter: Option<&Filter<ConversationLeaf>>, per_page: usize, cursor: Option<&CursorKey>) -> Reply {
    let after = match cursor {
        None => None,
        Some(key) => match key.id.parse::<u64>() {
            Ok(id) => Some((key.updated_at, id)),
            Err(_) => return Reply::bad_request("starting_after is not a valid cursor"),
        },
    };
    let is_after = |k: &ConversationKey| after.is_none_or(|a| (k.updated_at, k.id) > a);
    let live = app.data.read();
    let (low, high, exact) = filter.map_or((i64::MIN, i64::MAX, true), query::updated_at_bounds);
    let start = live.order.partition_point(|k| k.updated_at < low);
    let end = live.order.partition_point(|k| k.updated_at <= high).max(start);
    let range = &live.order[start..end];
    let (mut items, mut total, mut before, mut more): (Vec<ConversationKey>, usize, usize, bool) =
        (Vec::with_capacity(per_page), 0, 0, false);
    match filter {
        Some(filter) if !exact => {
            for key in range.iter().filter(|k| filter.matches(&|leaf: &ConversationLeaf| leaf.matches(k))) {
                total += 1;
                if !is_after(key) {
                    before += 1;
                } else if items.len() < per_page {
                    items.push(*key);
                } else {
                    more = true;
                }
            }
        }
        _ => {
            let from = range.partition_point(|k| !is_after(k));
            let to = (from + per_page).min(range.len());
            items.extend_from_slice(&range[from..to]);
            (total, before, more) = (range.len(), from, to < range.len());
        }
    }
    let metas: Vec<_> = items.iter().filter_map(|k| live.conversations.get(&k.id).cloned()).collect();
    let lookup = Arc::clone(&live.lookup);
    drop(live);
    // Cached (nearly always) or built now, outside the lock.
    let bodies: Vec<Bytes> =
        metas.iter().map(|m| app.data.body_of(m.key.id, &m.origin, m.stamp, &lookup).list_prefix()).collect();
    let next =
        items.last().filter(|_| more).map(|last| CursorKey { updated_at: last.updated_at, id: last.id.to_string() });
    let pages = CursorPages::new(before, per_page, total, next);
    Reply::json(paging::list_body("conversation.list", "conversations", &bodies, b"}", total, &pages))
}

#[derive(Serialize)]
struct DeletedItem {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    metrics_retained: bool,
    deleted_at: i64,
}

/// `pages_link`: `next` is the full URL of the next page, or null.
#[derive(Serialize)]
struct PagesLink {
    #[serde(rename = "type")]
    kind: &'static str,
    next: Option<String>,
    page: usize,
    per_page: usize,
    total_pages: usize,
}

#[derive(Serialize)]
struct DeletedList {
    #[serde(rename = "type")]
    kind: &'static str,
    conversations: Vec<DeletedItem>,
    total_count: usize,
    pages: PagesLink,
}

/// `GET /conversations/deleted?page&per_page&order`: page-numbered, newest deletion first unless `order=asc`.
pub fn deleted(app: &App, query: &HashMap<String, String>) -> Reply {
    let size =
        match int_param(query, "per_page").and_then(|n| per_page(n, DELETED_DEFAULT_PER_PAGE, DELETED_MAX_PER_PAGE)) {
            Ok(size) => size,
            Err(reply) => return reply,
        };
    let page = match int_param(query, "page") {
        Ok(None) => 1,
        Ok(Some(n)) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        Ok(Some(_)) => return Reply::bad_request("page must be at least 1"),
        Err(reply) => return reply,
    };
    let order = query.get("order").map_or("desc", String::as_str);
    if !matches!(order, "asc" | "desc") {
        return Reply::error(axum::http::StatusCode::BAD_REQUEST, "invalid_sort_order", "order must be asc or desc");
    }
    let mut all = app.data.read().deleted.clone();
    all.sort_unstable_by_key(|d| (d.deleted_at, d.id));
    if order == "desc" {
        all.reverse();
    }
    let total = all.len();
    let total_pages = total.div_ceil(size);
    let conversations = all
        .iter()
        .skip(size.saturating_mul(page - 1))
        .take(size)
        .map(|d| DeletedItem {
            kind: "conversation",
            id: d.id.to_string(),
            metrics_retained: false,
            deleted_at: d.deleted_at,
        })
        .collect();
    let next = (page < total_pages)
        .then(|| format!("{}/conversations/deleted?per_page={size}&order={order}&page={}", app.base_url, page + 1));
    let list = DeletedList {
        kind: "conversations.list",
        conversations,
        total_count: total,
        pages: PagesLink { kind: "pages", next, page, per_page: size, total_pages },
    };
    Reply::json(serde_json::to_vec(&list).unwrap_or_default())
}

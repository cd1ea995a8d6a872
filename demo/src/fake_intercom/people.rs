//! Contacts and companies: `POST /contacts/search`, `GET /contacts`, `GET /contacts/{id}` (with its companies and
//! tags), `GET /companies/scroll`, `GET /companies/{id}`.
//!
//! Contacts page with a cursor on `(updated_at, id)`, ascending for the list and in the search's `sort` order
//! (Intercom's default there is descending). Companies scroll 50 at a time; the scroll parameter encodes the
//! position, so any number of scrolls may be open (Intercom allows one per app; nothing here relies on that).

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::conversations::{cursor, pagination};
use super::json_people;
use super::paging::{self, CursorKey, CursorPages};
use super::query::{self, ContactLeaf, Filter};
use super::reply::Reply;
use super::routes::{App, int_param, per_page};
use crate::store::model::ContactRecord;

const DEFAULT_PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 150;
const SCROLL_PAGE: usize = 50;
/// Scroll parameters look like UUIDs; the last group is the position.
const SCROLL_PREFIX: &str = "5c4011a7-0000-4000-8000-";

fn user_not_found() -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "not_found", "User Not Found")
}

pub fn search_contacts(app: &App, body: &[u8]) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Reply::bad_request("The request body is not valid JSON");
    };
    let Some(query_value) = request.get("query") else { return Reply::bad_request("query is required") };
    let filter = match query::parse(query_value, &query::parse_contact_leaf) {
        Ok(filter) => filter,
        Err(message) => return Reply::bad_request(&message),
    };
    let descending = match request.get("sort").filter(|s| !s.is_null()) {
        None => true,
        Some(sort) => {
            if sort.get("field").and_then(Value::as_str).is_some_and(|f| f != "updated_at") {
                return Reply::bad_request("The fake Intercom sorts contacts by updated_at only");
            }
            match sort.get("order").and_then(Value::as_str) {
                None | Some("descending") => true,
                Some("ascending") => false,
                Some(_) => {
                    return Reply::error(StatusCode::BAD_REQUEST, "invalid_sort_order", "Invalid sort order");
                }
            }
        }
    };
    match pagination(request.get("pagination"), DEFAULT_PER_PAGE, MAX_PER_PAGE) {
        Ok((per_page, cursor)) => page(app, Some(&filter), descending, per_page, cursor.as_ref()),
        Err(reply) => reply,
    }
}

pub fn list_contacts(app: &App, query: &HashMap<String, String>) -> Reply {
    let size = match int_param(query, "per_page").and_then(|n| per_page(n, DEFAULT_PER_PAGE, MAX_PER_PAGE)) {
        Ok(size) => size,
        Err(reply) => return reply,
    };
    match query.get("starting_after").map(|text| cursor(text)).transpose() {
        Ok(cursor) => page(app, None, false, size, cursor.as_ref()),
        Err(reply) => reply,
    }
}

fn page(
    app: &App,
    filter: Option<&Filter<ContactLeaf>>,
    descending: bool,
    per_page: usize,
    cursor: Option<&CursorKey>,
) -> Reply {
    let live = app.data.read();
    let is_after = |c: &ContactRecord| {
        cursor.is_none_or(|k| {
            let key = (c.updated_at, c.id.as_str());
            let cursor = (k.updated_at, k.id.as_str());
            if descending { key < cursor } else { key > cursor }
        })
    };
    let ordered: Box<dyn Iterator<Item = &usize>> =
        if descending { Box::new(live.contact_order.iter().rev()) } else { Box::new(live.contact_order.iter()) };
    let (mut items, mut total, mut before, mut more) = (Vec::with_capacity(per_page), 0, 0, false);
    for contact in ordered.map(|i| &live.contacts[*i]) {
        if !filter.is_none_or(|f| f.matches(&|leaf: &ContactLeaf| leaf.matches(contact))) {
            continue;
        }
        total += 1;
        if !is_after(contact) {
            before += 1;
        } else if items.len() < per_page {
            items.push(contact);
        } else {
            more = true;
        }
    }
    let bodies: Vec<Vec<u8>> = items
        .iter()
        .map(|c| {
            let mut out = Vec::with_capacity(1_536);
            json_people::contact(&mut out, c);
            out
        })
        .collect();
    let next = items.last().filter(|_| more).map(|last| CursorKey { updated_at: last.updated_at, id: last.id.clone() });
    drop(live);
    let pages = CursorPages::new(before, per_page, total, next);
    Reply::json(paging::list_body("list", "data", &bodies, b"", total, &pages))
}

/// Runs `answer` on contact `id`, or answers 404.
fn with_contact(app: &App, id: &str, answer: impl FnOnce(&ContactRecord) -> Reply) -> Reply {
    let live = app.data.read();
    match live.contact_index.get(id) {
        Some(index) => answer(&live.contacts[*index]),
        None => user_not_found(),
    }
}

pub fn contact(app: &App, id: &str) -> Reply {
    with_contact(app, id, |contact| {
        let mut out = Vec::with_capacity(1_536);
        json_people::contact(&mut out, contact);
        Reply::json(out)
    })
}

pub fn contact_companies(app: &App, id: &str) -> Reply {
    with_contact(app, id, |contact| {
        let companies = &app.data.workspace.companies;
        let bodies: Vec<Vec<u8>> = contact
            .company_ids
            .iter()
            .filter_map(|id| companies.iter().find(|c| &c.id == id))
            .map(|company| {
                let mut out = Vec::new();
                json_people::company(&mut out, company);
                out
            })
            .collect();
        let total = bodies.len();
        let pages = json!({"type": "pages", "next": null, "page": 1, "per_page": DEFAULT_PER_PAGE,
            "total_pages": total.div_ceil(DEFAULT_PER_PAGE).max(1)});
        Reply::json(paging::list_body("list", "data", &bodies, b"", total, &pages))
    })
}

pub fn contact_tags(app: &App, id: &str) -> Reply {
    with_contact(app, id, |contact| {
        let tags = &app.data.workspace.tags;
        Reply::json(json_people::tag_list(contact.tag_ids.iter().filter_map(|id| tags.iter().find(|t| &t.id == id))))
    })
}

pub fn company(app: &App, id: &str) -> Reply {
    match app.data.workspace.companies.iter().find(|c| c.id == id) {
        Some(company) => {
            let mut out = Vec::with_capacity(1_024);
            json_people::company(&mut out, company);
            Reply::json(out)
        }
        None => Reply::error(StatusCode::NOT_FOUND, "company_not_found", "Company Not Found"),
    }
}

/// `GET /companies/scroll[?scroll_param=…]`: 50 companies per call; empty `data` once past the end.
pub fn scroll_companies(app: &App, query: &HashMap<String, String>) -> Reply {
    let position = match query.get("scroll_param") {
        None => 0,
        Some(param) => match param.strip_prefix(SCROLL_PREFIX).and_then(|hex| usize::from_str_radix(hex, 16).ok()) {
            Some(position) => position,
            None => {
                return Reply::error(StatusCode::NOT_FOUND, "scroll_param_not_found", "scroll_param not found");
            }
        },
    };
    let companies = &app.data.workspace.companies;
    let page = companies.get(position..).unwrap_or_default();
    let page = &page[..page.len().min(SCROLL_PAGE)];
    let mut out = Vec::with_capacity(page.len() * 800 + 128);
    out.extend_from_slice(b"{\"type\":\"list\",\"data\":[");
    for (n, company) in page.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        json_people::company(&mut out, company);
    }
    let next = format!("{SCROLL_PREFIX}{:012x}", position + page.len());
    out.extend_from_slice(format!("],\"pages\":null,\"total_count\":null,\"scroll_param\":\"{next}\"}}").as_bytes());
    Reply::json(out)
}

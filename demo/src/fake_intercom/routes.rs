//! Request handling: one fallback handler routes by hand, so auth, rate limit, scopes, faults and statistics are
//! applied in one place and in Intercom's order (401 before 429 before 403), then the endpoint answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::dataset::Dataset;
use super::faults::{self, Fault, FaultQueue};
use super::limits::{Event, Limiter, StatsCell, Window};
use super::reply::{Reply, http_date};
use super::{conversations, people};

/// Largest request body read (search bodies are a few hundred bytes).
const MAX_BODY: usize = 1 << 20;

#[derive(Debug)]
pub struct App {
    pub data: Dataset,
    /// `Bearer <token>`, compared with the whole header.
    pub authorization: String,
    pub limiter: Limiter,
    pub stats: StatsCell,
    pub faults: FaultQueue,
    pub forbidden_paths: Vec<String>,
    /// `http://127.0.0.1:PORT`, for the full URLs `pages_link` carries.
    pub base_url: String,
    /// Serialised once: admins, teams and tags never change.
    pub admins: Bytes,
    pub teams: Bytes,
    pub tags: Bytes,
}

/// The endpoints, with their path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Admins,
    Teams,
    Tags,
    SearchConversations,
    ListConversations,
    DeletedConversations,
    Conversation(&'a str),
    SearchContacts,
    ListContacts,
    Contact(&'a str),
    ContactCompanies(&'a str),
    ContactTags(&'a str),
    ScrollCompanies,
    Company(&'a str),
    Unknown,
}

/// The route of a request and its name in the statistics.
pub fn route<'a>(method: &Method, path: &'a str) -> (Route<'a>, &'static str) {
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    match segments.as_slice() {
        ["admins"] if get => (Route::Admins, "GET /admins"),
        ["teams"] if get => (Route::Teams, "GET /teams"),
        ["tags"] if get => (Route::Tags, "GET /tags"),
        ["conversations", "search"] if post => (Route::SearchConversations, "POST /conversations/search"),
        ["conversations"] if get => (Route::ListConversations, "GET /conversations"),
        ["conversations", "deleted"] if get => (Route::DeletedConversations, "GET /conversations/deleted"),
        ["conversations", id] if get => (Route::Conversation(id), "GET /conversations/{id}"),
        ["contacts", "search"] if post => (Route::SearchContacts, "POST /contacts/search"),
        ["contacts"] if get => (Route::ListContacts, "GET /contacts"),
        ["contacts", id] if get => (Route::Contact(id), "GET /contacts/{id}"),
        ["contacts", id, "companies"] if get => (Route::ContactCompanies(id), "GET /contacts/{id}/companies"),
        ["contacts", id, "tags"] if get => (Route::ContactTags(id), "GET /contacts/{id}/tags"),
        ["companies", "scroll"] if get => (Route::ScrollCompanies, "GET /companies/scroll"),
        ["companies", id] if get => (Route::Company(id), "GET /companies/{id}"),
        _ => (Route::Unknown, "unknown"),
    }
}

/// The OAuth scope Intercom would name in a 403 for `path`.
fn scope(path: &str) -> &'static str {
    match path.split('/').nth(1) {
        Some("conversations") => "read_conversations",
        Some("contacts") => "read_users",
        Some("companies") => "read_companies",
        Some("admins" | "teams") => "read_admins",
        Some("tags") => "read_tags",
        _ => "read_single_admin",
    }
}

pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let (route, name) = route(&parts.method, path);
    let versioned = parts.headers.get("intercom-version").is_some_and(|v| v.as_bytes() == b"2.16");
    app.stats.record(Event::Request { route: name, versioned });

    let authorized =
        parts.headers.get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes() == app.authorization.as_bytes());
    if !authorized {
        app.stats.record(Event::Unauthorized);
        return respond(&app, Reply::error(StatusCode::UNAUTHORIZED, "unauthorized", "Access Token Invalid"), None);
    }
    let window = app.limiter.admit();
    if !window.allowed {
        app.stats.record(Event::RateLimited);
        let message = app.limiter.exceeded_message(window.limit);
        return respond(
            &app,
            Reply::error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", &message),
            Some(window),
        );
    }
    if app.forbidden_paths.iter().any(|prefix| path.starts_with(prefix.as_str())) {
        let message = format!("You do not have the required scope ({}) to access this resource", scope(path));
        return respond(&app, Reply::error(StatusCode::FORBIDDEN, "forbidden", &message), Some(window));
    }
    if route == Route::Unknown {
        return respond(&app, Reply::not_found(), Some(window));
    }

    let fault = app.faults.take();
    if fault.is_some() {
        app.stats.record(Event::Fault);
    }
    match &fault {
        Some(Fault::TooManyRequests) => {
            app.stats.record(Event::RateLimited);
            let window = Window { remaining: 0, ..app.limiter.peek() };
            let message = app.limiter.exceeded_message(window.limit);
            return respond(
                &app,
                Reply::error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", &message),
                Some(window),
            );
        }
        Some(Fault::ServerError) => return respond(&app, faults::server_error(), Some(window)),
        Some(Fault::BadGateway) => return respond(&app, faults::bad_gateway(), None),
        Some(Fault::DropConnection) => {
            let mut response = faults::dropped_connection();
            date(&app, &mut response);
            return response;
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::TruncatedJson) | None => {}
    }

    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return respond(&app, Reply::bad_request("The request body could not be read"), Some(window)),
    };
    let query: HashMap<String, String> = Query::try_from_uri(&parts.uri).map(|Query(q)| q).unwrap_or_default();
    let reply = answer(&app, route, &query, &body);
    let reply = if fault == Some(Fault::TruncatedJson) { faults::truncated(reply) } else { reply };
    respond(&app, reply, Some(window))
}

/// The endpoint's own answer.
fn answer(app: &App, route: Route<'_>, query: &HashMap<String, String>, body: &[u8]) -> Reply {
    match route {
        Route::Admins => Reply::json(app.admins.clone()),
        Route::Teams => Reply::json(app.teams.clone()),
        Route::Tags => Reply::json(app.tags.clone()),
        Route::SearchConversations => conversations::search(app, body),
        Route::ListConversations => conversations::list(app, query),
        Route::DeletedConversations => conversations::deleted(app, query),
        Route::Conversation(id) => app.data.body(id).map_or_else(Reply::not_found, |body| Reply::json(body.full)),
        Route::SearchContacts => people::search_contacts(app, body),
        Route::ListContacts => people::list_contacts(app, query),
        Route::Contact(id) => people::contact(app, id),
        Route::ContactCompanies(id) => people::contact_companies(app, id),
        Route::ContactTags(id) => people::contact_tags(app, id),
        Route::ScrollCompanies => people::scroll_companies(app, query),
        Route::Company(id) => people::company(app, id),
        Route::Unknown => Reply::not_found(),
    }
}

fn respond(app: &App, reply: Reply, window: Option<Window>) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if let Some(window) = window {
        headers.insert("x-ratelimit-limit", HeaderValue::from(window.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(window.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(window.reset));
    }
    date(app, &mut response);
    response
}

/// Intercom's clock is the fake's workspace clock: a client that takes its watermarks from `Date` (as it should
/// against a real server) sees the time the fake stamps changes with. (`X-RateLimit-Reset` stays on the wall
/// clock: pacing is about real time.)
fn date(app: &App, response: &mut Response) {
    if let Ok(date) = HeaderValue::from_str(&http_date(app.data.now())) {
        response.headers_mut().insert(header::DATE, date);
    }
}

/// `per_page` from a query string or body value: `default` when absent, 400 outside `1..=max`.
pub fn per_page(value: Option<i64>, default: usize, max: usize) -> Result<usize, Reply> {
    match value {
        None => Ok(default),
        Some(n) if n >= 1 && n as u64 <= max as u64 => Ok(n as usize),
        Some(_) => Err(Reply::bad_request(&format!("per_page must be between 1 and {max}"))),
    }
}

/// An integer query parameter; 400 when present but not an integer.
pub fn int_param(query: &HashMap<String, String>, name: &str) -> Result<Option<i64>, Reply> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| Reply::bad_request(&format!("{name} must be an integer"))),
    }
}

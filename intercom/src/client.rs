//! The HTTP client: every request authenticated, versioned, paced by the rate-limit headers and retried with
//! exponential backoff and jitter when retrying can help.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{ExponentialBuilder, Retryable as _};
use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::IntercomError;
use super::models::{
    AdminList, CompanyList, CompanyScroll, Contact, ContactPage, Conversation, ConversationPage,
    DeletedConversationPage, TagList, TeamList,
};
use super::pacing::{Pacer, RateLimitHeaders, server_date};

/// The API version every request asks for: without it the answer's shape depends on a workspace setting.
pub const API_VERSION: &str = "2.16";
/// Intercom's largest page for conversation and contact search.
pub const SEARCH_PAGE_SIZE: u32 = 150;
/// Intercom's largest page for the deleted-conversations listing.
pub const DELETED_PAGE_SIZE: u32 = 60;

/// An Intercom access token. Its `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// The data centre a workspace lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Region {
    #[default]
    Us,
    Eu,
    Au,
}

impl Region {
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Us => "https://api.intercom.io",
            Self::Eu => "https://api.eu.intercom.io",
            Self::Au => "https://api.au.intercom.io",
        }
    }
}

/// How to reach Intercom and how hard to try.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Without a trailing slash, e.g. `https://api.intercom.io`.
    pub base_url: String,
    pub token: AccessToken,
    /// Of one request, connection to last byte.
    pub timeout: Duration,
    /// Retries of a request that failed transiently (5xx, 429, timeouts, dropped connections, cut-short JSON).
    pub max_retries: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl ClientOptions {
    pub fn new(base_url: impl Into<String>, token: AccessToken) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token,
            timeout: Duration::from_secs(30),
            max_retries: 6,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Counts of what the client sent, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct RequestCounts {
    /// Every request that went out, retries included.
    pub sent: AtomicU64,
    /// Of those, the ones answered 429.
    pub rate_limited: AtomicU64,
    /// Of those, the retries.
    pub retried: AtomicU64,
}

/// A client of one Intercom workspace; share it (it is `Sync`) so every request goes through one pacer.
#[derive(Debug)]
pub struct IntercomClient {
    http: reqwest::Client,
    options: ClientOptions,
    pacer: Pacer,
    counts: RequestCounts,
    /// Intercom's clock as of the last response (`Date` header, unix seconds); 0 before any.
    server_time: AtomicI64,
}

impl IntercomClient {
    pub fn new(options: ClientOptions) -> Result<Self, IntercomError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("fastintercom/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| IntercomError::Transport {
                base_url: options.base_url.clone(),
                detail: format!("cannot build the HTTP client: {error}"),
            })?;
        Ok(Self {
            http,
            options,
            pacer: Pacer::default(),
            counts: RequestCounts::default(),
            server_time: AtomicI64::new(0),
        })
    }

    pub fn counts(&self) -> &RequestCounts {
        &self.counts
    }

    /// Intercom's clock (from the last response's `Date` header), or this machine's before any response.
    ///
    /// Watermarks are compared with Intercom's `updated_at`, so they are taken from Intercom's clock: a skewed
    /// local clock would otherwise make an incremental sync miss changes.
    pub fn server_now(&self) -> i64 {
        match self.server_time.load(Ordering::Relaxed) {
            0 => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
            seconds => seconds,
        }
    }

    /// `GET /admins`: every teammate (not paginated).
    pub async fn admins(&self) -> Result<AdminList, IntercomError> {
        self.get("/admins").await
    }

    /// `GET /teams` (not paginated).
    pub async fn teams(&self) -> Result<TeamList, IntercomError> {
        self.get("/teams").await
    }

    /// `GET /tags` (not paginated).
    pub async fn tags(&self) -> Result<TagList, IntercomError> {
        self.get("/tags").await
    }

    /// `POST /conversations/search` for conversations updated at or after `since` (Intercom's `>` includes the
    /// bound) and, with a horizon, created at or after it; the cursor goes in the body.
    pub async fn search_conversations(
        &self,
        since: i64,
        created_since: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<ConversationPage, IntercomError> {
        let updated = json!({"field": "updated_at", "operator": ">", "value": since});
        let query = match created_since {
            Some(horizon) => json!({"operator": "AND", "value": [
                updated,
                {"field": "created_at", "operator": ">", "value": horizon},
            ]}),
            None => updated,
        };
        let body = json!({"query": query, "pagination": pagination(cursor)});
        self.post("/conversations/search", &body).await
    }

    /// `GET /conversations/{id}` with its parts (at most the latest 500); `None` when it no longer exists.
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, IntercomError> {
        optional(self.get(&format!("/conversations/{}", path_segment(id)?)).await)
    }

    /// `GET /conversations/deleted`, newest deletions first.
    pub async fn deleted_conversations(&self, page: u32) -> Result<DeletedConversationPage, IntercomError> {
        self.get(&format!("/conversations/deleted?order=desc&per_page={DELETED_PAGE_SIZE}&page={page}")).await
    }

    /// `POST /contacts/search` for contacts updated after the day of `since` (contact dates match by whole day),
    /// oldest first.
    pub async fn search_contacts(&self, since: i64, cursor: Option<&str>) -> Result<ContactPage, IntercomError> {
        let body = json!({
            "query": {"field": "updated_at", "operator": ">", "value": since},
            "pagination": pagination(cursor),
            "sort": {"field": "updated_at", "order": "ascending"},
        });
        self.post("/contacts/search", &body).await
    }

    /// `GET /contacts/{id}`; `None` when it no longer exists.
    pub async fn contact(&self, id: &str) -> Result<Option<Contact>, IntercomError> {
        optional(self.get(&format!("/contacts/{}", path_segment(id)?)).await)
    }

    /// `GET /contacts/{id}/companies`: all of a contact's companies (the contact shows at most 10).
    pub async fn contact_companies(&self, id: &str) -> Result<CompanyList, IntercomError> {
        self.get(&format!("/contacts/{}/companies", path_segment(id)?)).await
    }

    /// `GET /contacts/{id}/tags`: all of a contact's tags (the contact shows at most 10).
    pub async fn contact_tags(&self, id: &str) -> Result<TagList, IntercomError> {
        self.get(&format!("/contacts/{}/tags", path_segment(id)?)).await
    }

    /// `GET /companies/scroll`: the next page of every company; start without a scroll parameter.
    pub async fn scroll_companies(&self, scroll_param: Option<&str>) -> Result<CompanyScroll, IntercomError> {
        match scroll_param {
            Some(param) => self.get(&format!("/companies/scroll?scroll_param={}", query_value(param))).await,
            None => self.get("/companies/scroll").await,
        }
    }

    /// `GET /companies/{id}`; `None` when it no longer exists.
    pub async fn company(&self, id: &str) -> Result<Option<super::models::Company>, IntercomError> {
        optional(self.get(&format!("/companies/{}", path_segment(id)?)).await)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, IntercomError> {
        self.request(Method::GET, path, None).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, IntercomError> {
        self.request(Method::POST, path, Some(body)).await
    }

    /// Sends a request, retrying transient failures with exponential backoff and jitter.
    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, IntercomError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.options.min_backoff)
            .with_max_delay(self.options.max_backoff)
            .with_max_times(self.options.max_retries)
            .with_jitter();
        (|| self.attempt(method.clone(), path, body))
            .retry(backoff)
            .when(IntercomError::is_transient)
            .notify(|error, delay| {
                self.counts.retried.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%error, ?delay, "retrying an Intercom request");
            })
            .await
    }

    /// One try: wait for the pacer, send, learn the rate-limit headers, read and decode the body.
    async fn attempt<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, IntercomError> {
        let permit = self.pacer.acquire().await;
        self.counts.sent.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.options.base_url))
            .bearer_auth(&self.options.token.0)
            .header("Intercom-Version", API_VERSION)
            .header(header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                permit.observe(None, false);
                return Err(self.transport(&error));
            }
        };
        let status = response.status();
        if let Some(seconds) = server_date(response.headers()) {
            self.server_time.store(seconds as i64, Ordering::Relaxed);
        }
        permit.observe(RateLimitHeaders::parse(response.headers()), status == StatusCode::TOO_MANY_REQUESTS);
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.counts.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let bytes = response.bytes().await.map_err(|error| self.transport(&error))?;
        if !status.is_success() {
            return Err(IntercomError::from_status(status, path, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| IntercomError::Decode { path: path.to_owned(), detail: error.to_string() })
    }

    fn transport(&self, error: &reqwest::Error) -> IntercomError {
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else if error.is_body() || error.is_decode() {
            "connection dropped mid-answer"
        } else {
            "request failed"
        };
        // reqwest's own text names the URL (never the token, which is only in a header); keep the root cause.
        let mut detail = kind.to_owned();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail = format!("{kind}: {cause}");
            source = cause.source();
        }
        IntercomError::Transport { base_url: self.options.base_url.clone(), detail }
    }
}

fn pagination(cursor: Option<&str>) -> Value {
    match cursor {
        Some(cursor) => json!({"per_page": SEARCH_PAGE_SIZE, "starting_after": cursor}),
        None => json!({"per_page": SEARCH_PAGE_SIZE}),
    }
}

/// Turns a 404 into `None`.
fn optional<T>(result: Result<T, IntercomError>) -> Result<Option<T>, IntercomError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(IntercomError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// An id placed in a URL path. Intercom's ids are alphanumeric; anything else (e.g. an id from a forged webhook)
/// is refused rather than allowed to change the path.
fn path_segment(id: &str) -> Result<&str, IntercomError> {
    let valid =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(id)
    } else {
        Err(IntercomError::Rejected {
            path: "(request)".to_owned(),
            status: 400,
            code: "invalid_id".to_owned(),
            message: "ids are alphanumeric".to_owned(),
        })
    }
}

/// Percent-encodes a query value (scroll parameters are opaque).
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

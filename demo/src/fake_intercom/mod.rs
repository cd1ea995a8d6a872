//! A fake Intercom for tests and benchmarks: a deterministic synthetic workspace (the [`crate`] generator)
//! served through Intercom's real endpoints, JSON shapes, paging, errors and rate-limit headers (API 2.16), on
//! loopback only.
//!
//! Why a fake rather than mocks: the sync engine must be tested end to end, through HTTP, against the same
//! quirks the real API has (cursor in the body for search, `>` meaning `>=`, day-granular contact search, the
//! 500-part cap, 0 for "unassigned", 429s with a window reset), and benchmarked at 100,000 conversations. And
//! because the workspace is generated, the fake is also the oracle: [`FakeIntercom::expected_conversations`] and
//! friends say exactly what a perfect sync must have stored.
//!
//! Routes: `GET /admins`, `/teams`, `/tags`; `POST /conversations/search`; `GET /conversations`,
//! `/conversations/{id}`, `/conversations/deleted`; `POST /contacts/search`; `GET /contacts`, `/contacts/{id}`,
//! `/contacts/{id}/companies`, `/contacts/{id}/tags`; `GET /companies/scroll`, `/companies/{id}`.
//! Every request needs `Authorization: Bearer <token>` (else 401); every authenticated answer carries
//! `X-RateLimit-Limit`, `-Remaining` and `-Reset`, and every answer's `Date` is the fake's workspace clock.
//!
//! Serving is cheap enough to leave the machine to the client under test: at 100,000 conversations (release,
//! 2 cores) the fake starts in about 0.8 s, a cached retrieve costs about 0.3 µs in process (12 µs when it has
//! to be generated), and a 150-item search page is a binary search and a memcpy (see `tests_perf.rs`).

mod cache;
mod conversations;
mod dataset;
mod faults;
mod json;
mod json_people;
mod limits;
mod mutate;
mod paging;
mod people;
mod query;
mod reply;
mod routes;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_perf;
#[cfg(test)]
mod tests_records;
#[cfg(test)]
mod tests_search;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::Fault;
pub use limits::FakeStats;

use crate::store::model::{AdminRecord, CompanyRecord, ContactRecord, ConversationRecord, TagRecord, TeamRecord};
use crate::{DEFAULT_SEED, DemoOptions};
use dataset::Dataset;
use routes::App;

/// The workspace clock [`FakeOptions::new`] anchors at (2026-09-21T14:13:20Z), so tests see the same data on
/// every run.
pub const FIXED_NOW: i64 = 1_790_000_000;

/// How the fake is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOptions {
    pub demo: DemoOptions,
    /// The accepted access token (`Authorization: Bearer <token>`).
    pub token: String,
    /// Requests per minute; `None` is unlimited (the headers then report a budget of 1,000,000 per window).
    pub rate_limit_per_minute: Option<u32>,
    /// Intercom spreads the per-minute limit over windows this long: `ceil(per_minute * window / 60 s)` per window.
    pub window: Duration,
    /// Path prefixes answered 403 `forbidden` (a missing OAuth scope), e.g. `"/conversations"`.
    pub forbidden_paths: Vec<String>,
    /// Give the conversation with this index 620 parts (generated comments appended), so the 500-part cap bites.
    pub long_conversation: Option<usize>,
    /// Most bytes of serialised conversations kept (about 5.5 KB each: the default 512 MiB holds about 95,000);
    /// past it, conversations are regenerated and serialised on every list or retrieve (~13 µs each in release).
    pub cache_budget_bytes: usize,
}

impl FakeOptions {
    /// `conversations` conversations from the default seed at [`FIXED_NOW`], token "test-token", no rate limit.
    pub fn new(conversations: usize) -> Self {
        Self {
            demo: DemoOptions { conversations, seed: DEFAULT_SEED, now: FIXED_NOW },
            token: "test-token".to_owned(),
            rate_limit_per_minute: None,
            window: Duration::from_secs(10),
            forbidden_paths: Vec::new(),
            long_conversation: None,
            cache_budget_bytes: 512 << 20,
        }
    }
}

/// The serving task and the signal that stops it.
type Server = (oneshot::Sender<()>, JoinHandle<()>);

/// A running fake. Cheap to clone; the server runs on a tokio task until [`FakeIntercom::shutdown`] (or until
/// the runtime ends).
#[derive(Debug, Clone)]
pub struct FakeIntercom {
    app: Arc<App>,
    token: String,
    server: Arc<Mutex<Option<Server>>>,
}

impl FakeIntercom {
    /// Generates the workspace and its indexes on a blocking thread (about a second per 100,000 conversations
    /// per core), then serves it on `127.0.0.1` at a free port.
    pub async fn start(options: FakeOptions) -> anyhow::Result<FakeIntercom> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the fake Intercom")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (demo, long, budget) = (options.demo.clone(), options.long_conversation, options.cache_budget_bytes);
        let data = tokio::task::spawn_blocking(move || Dataset::build(&demo, long, budget))
            .await
            .context("generating the fake Intercom's workspace")?;
        let workspace = &data.workspace;
        let app = Arc::new(App {
            admins: Bytes::from(json_people::admin_list(&workspace.admins)),
            teams: Bytes::from(json_people::team_list(&workspace.teams)),
            tags: Bytes::from(json_people::tag_list(workspace.tags.iter())),
            data,
            authorization: format!("Bearer {}", options.token),
            limiter: limits::Limiter::new(options.rate_limit_per_minute, options.window),
            stats: limits::StatsCell::default(),
            faults: faults::FaultQueue::default(),
            forbidden_paths: options.forbidden_paths.clone(),
            base_url,
        });
        let router = axum::Router::new().fallback(routes::handle).with_state(Arc::clone(&app));
        let (stop, stopped) = oneshot::channel::<()>();
        // No Nagle delay on small answers to keep-alive requests.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "fake Intercom stopped");
            }
        });
        Ok(FakeIntercom { app, token: options.token, server: Arc::new(Mutex::new(Some((stop, task)))) })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.app.base_url.clone()
    }

    /// The accepted access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn stats(&self) -> FakeStats {
        self.app.stats.snapshot()
    }

    /// Requests admitted per rate-limit window that had any, oldest first: (window number, count).
    pub fn window_counts(&self) -> Vec<(u64, u64)> {
        self.app.limiter.window_counts()
    }

    /// The budget of one rate-limit window, when a limit is configured.
    pub fn window_budget(&self) -> Option<u64> {
        self.app.limiter.per_window()
    }

    pub fn reset_stats(&self) {
        self.app.stats.reset();
    }

    /// The next `times` requests that reach an endpoint (authenticated, within the rate limit, routed) get
    /// `fault`. Injections queue up in order.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.app.faults.push(fault, times);
    }

    /// The workspace clock: starts at the demo's `now`; mutations stamp `updated_at` / `deleted_at` with it.
    pub fn now(&self) -> i64 {
        self.app.data.now()
    }

    pub fn advance(&self, seconds: i64) {
        self.app.data.advance(seconds);
    }

    /// Appends a comment (by the conversation's first contact) and bumps `updated_at`; returns the new part's id,
    /// `None` when there is no such live conversation.
    pub fn add_part(&self, conversation_id: &str, body_html: &str) -> Option<String> {
        self.app.data.add_part(conversation_id, body_html)
    }

    /// Changes a conversation's record (every part included) and bumps `updated_at` to [`Self::now`]; `false`
    /// when there is no such live conversation. The id cannot be changed.
    pub fn update_conversation(&self, conversation_id: &str, change: impl FnOnce(&mut ConversationRecord)) -> bool {
        self.app.data.change_conversation(conversation_id, |record, _| change(record)).is_some()
    }

    /// A new conversation from a contact, with an id above every other, created and updated now.
    pub fn create_conversation(&self) -> String {
        self.app.data.create_conversation()
    }

    /// The conversation disappears from search, list and retrieve (404) and is listed by
    /// `GET /conversations/deleted` with `deleted_at` = [`Self::now`]. `false` when there was no such conversation.
    pub fn delete_conversation(&self, conversation_id: &str) -> bool {
        self.app.data.delete_conversation(conversation_id)
    }

    /// Changes a contact and bumps its `updated_at`; `false` when there is no such contact.
    pub fn update_contact(&self, contact_id: &str, change: impl FnOnce(&mut ContactRecord)) -> bool {
        self.app.data.update_contact(contact_id, change)
    }

    /// Live conversation ids in id order.
    pub fn conversation_ids(&self) -> Vec<String> {
        self.app.data.conversation_ids()
    }

    /// Every live conversation exactly as a perfect sync stores it, in id order: the 500 most recent parts
    /// (`parts_truncated` when there were more), `statistics.count_conversation_parts` = the real total, custom
    /// attributes as serde_json re-serialises them. Regenerates everything: meant for small workspaces.
    pub fn expected_conversations(&self) -> Vec<ConversationRecord> {
        self.app.data.expected_conversations()
    }

    /// Every contact as a perfect sync stores it, in id order.
    pub fn expected_contacts(&self) -> Vec<ContactRecord> {
        self.app.data.expected_contacts()
    }

    pub fn expected_companies(&self) -> Vec<CompanyRecord> {
        self.app.data.workspace.companies.clone()
    }

    pub fn expected_admins(&self) -> Vec<AdminRecord> {
        self.app.data.workspace.admins.clone()
    }

    pub fn expected_teams(&self) -> Vec<TeamRecord> {
        self.app.data.workspace.teams.clone()
    }

    pub fn expected_tags(&self) -> Vec<TagRecord> {
        self.app.data.workspace.tags.clone()
    }

    /// What `GET /conversations/{id}` returns (e.g. for a webhook's `item`), `None` for unknown or deleted ids.
    pub fn conversation_json(&self, id: &str) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.app.data.body(id)?.full).ok()
    }

    /// What `GET /contacts/{id}` returns, `None` for unknown ids.
    pub fn contact_json(&self, id: &str) -> Option<serde_json::Value> {
        let live = self.app.data.read();
        let contact = &live.contacts[*live.contact_index.get(id)?];
        let mut out = Vec::new();
        json_people::contact(&mut out, contact);
        serde_json::from_slice(&out).ok()
    }

    /// Bytes of serialised conversations currently cached.
    pub fn cached_bytes(&self) -> usize {
        self.app.data.cache.used()
    }

    /// Stops serving: open connections finish their current request, then the task ends (at most 5 s).
    pub async fn shutdown(self) {
        let server = self.server.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some((stop, mut task)) = server {
            let _ = stop.send(());
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

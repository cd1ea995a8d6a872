//! The sync engine: brings the local store up to date with an Intercom workspace, completely and resumably.
//!
//! One run syncs, in order, the reference data (admins, teams, tags), contacts, companies, conversations with all
//! their parts, and conversation deletions. Each resource keeps a checkpoint in `sync_state`, written in the same
//! transaction as the page of data it covers, so a run killed at any moment resumes where its last commit left it
//! and never stores anything twice. Incremental runs ask Intercom only for what changed since the resource's
//! watermark (taken from Intercom's clock), and fetch a conversation's parts only when its `updated_at` differs
//! from the stored one.
//!
//! The engine talks to Intercom through [`IntercomClient`] (paced by the rate-limit headers, retrying transient
//! failures) and writes the store; it never talks to the protocol layer.

use fastintercom_intercom as intercom;
use fastintercom_store as store;

mod contacts;
mod conversations;
mod deletions;
pub mod lock;
mod pipeline;
mod progress;
mod reference;
pub mod schedule;
pub mod webhooks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use intercom::{IntercomClient, IntercomError};
use store::{Store, StoreError};

pub use lock::SyncLock;
pub use pipeline::unix_now;
pub use progress::{NoProgress, Progress};

/// The resources a run syncs, in the order it syncs them (also their names in `sync_state`).
pub const RESOURCES: [&str; 7] = [ADMINS, TEAMS, TAGS, CONTACTS, COMPANIES, CONVERSATIONS, DELETED_CONVERSATIONS];
pub const ADMINS: &str = "admins";
pub const TEAMS: &str = "teams";
pub const TAGS: &str = "tags";
pub const COMPANIES: &str = "companies";
pub const CONTACTS: &str = "contacts";
pub const CONVERSATIONS: &str = "conversations";
pub const DELETED_CONVERSATIONS: &str = "deleted_conversations";

/// How far back an incremental conversation search reaches before the watermark: absorbs clock granularity and
/// objects whose `updated_at` was set a moment before they became searchable. Conversations found again this way
/// cost no retrieve unless they changed.
const CONVERSATION_OVERLAP: i64 = 5 * 60;
/// Contacts' dates are matched by whole day in the workspace's timezone: reach two days back.
const CONTACT_OVERLAP: i64 = 2 * 24 * 3600;

/// What a run does.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Ignore watermarks and stored versions: fetch everything again.
    pub full: bool,
    /// Only conversations created in the last this-long (default: everything).
    pub history: Option<Duration>,
    /// Conversations retrieved at the same time.
    pub concurrency: usize,
    /// Conversations per write transaction, at most (pages are grouped up to this).
    pub write_batch: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { full: false, history: None, concurrency: 16, write_batch: 1_000 }
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    // The cause is part of the message (not a `source`), so `{:#}` chains do not print it twice.
    #[error("syncing {resource}: {error}")]
    Intercom { resource: &'static str, error: IntercomError },
    #[error("syncing {resource}: writing the local store failed: {error}")]
    Store { resource: &'static str, error: StoreError },
    #[error("syncing {resource}: {message}")]
    Internal { resource: &'static str, message: String },
}

impl SyncError {
    pub fn resource(&self) -> &'static str {
        match self {
            Self::Intercom { resource, .. } | Self::Store { resource, .. } | Self::Internal { resource, .. } => {
                resource
            }
        }
    }

    /// A rejected token: no request can succeed until the user acts, so the run (and the schedule) stops. A
    /// missing scope only fails the resources that need it.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Intercom { error: IntercomError::Unauthorized { .. }, .. })
    }

    /// The message without the resource prefix, for `sync_state.last_error`.
    fn cause(&self) -> String {
        match self {
            Self::Intercom { error, .. } => error.to_string(),
            Self::Store { error, .. } => format!("writing the local store failed: {error}"),
            Self::Internal { message, .. } => message.clone(),
        }
    }
}

/// Attaches the resource to errors of the layers below.
trait InResource<T> {
    fn during(self, resource: &'static str) -> Result<T, SyncError>;
}

impl<T> InResource<T> for Result<T, IntercomError> {
    fn during(self, resource: &'static str) -> Result<T, SyncError> {
        self.map_err(|error| SyncError::Intercom { resource, error })
    }
}

impl<T> InResource<T> for Result<T, StoreError> {
    fn during(self, resource: &'static str) -> Result<T, SyncError> {
        self.map_err(|error| SyncError::Store { resource, error })
    }
}

/// What one resource's part of a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceReport {
    pub resource: &'static str,
    /// Items Intercom listed (including unchanged ones an incremental run skipped).
    pub listed: u64,
    /// Items written to the store.
    pub written: u64,
    /// Items deleted from the store.
    pub deleted: u64,
}

/// Items written (or deleted) by one run above which the run ends by compacting the full-text indexes
/// ([`Store::compact_search_indexes`]): a first sync, a backfill. Incremental runs leave the merging to FTS5.
const COMPACT_AFTER_WRITES: u64 = 5_000;

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    pub resources: Vec<ResourceReport>,
    /// Requests sent to Intercom, retries included.
    pub requests: u64,
    /// Of those, answered 429.
    pub rate_limited: u64,
    pub elapsed: Duration,
}

impl SyncReport {
    pub fn resource(&self, name: &str) -> Option<&ResourceReport> {
        self.resources.iter().find(|r| r.resource == name)
    }
}

/// The steps of a run, in order: contacts before companies (so the companies they point to and that are missing
/// can be fetched one by one), conversations before their deletions.
#[derive(Debug, Clone, Copy)]
enum Step {
    Reference,
    Contacts,
    Companies,
    Conversations,
    Deletions,
}

impl Step {
    const ALL: [Self; 5] = [Self::Reference, Self::Contacts, Self::Companies, Self::Conversations, Self::Deletions];
}

/// The status of every resource, in the order a run syncs them; never-synced ones have a default state.
pub async fn resource_states(store: &Store) -> Result<Vec<crate::store::ResourceState>, StoreError> {
    let mut stored = store.sync_states().await?;
    Ok(RESOURCES
        .iter()
        .map(|name| match stored.iter().position(|s| s.resource == *name) {
            Some(index) => stored.swap_remove(index),
            None => crate::store::ResourceState { resource: (*name).to_owned(), ..Default::default() },
        })
        .collect())
}

/// Everything a resource's sync needs.
struct Context<'a> {
    client: &'a Arc<IntercomClient>,
    store: &'a Store,
    options: &'a SyncOptions,
    progress: &'a dyn Progress,
}

/// Syncs one workspace into one store. Cheap to share; runs are serialised by the caller (see [`schedule`]).
#[derive(Debug, Clone)]
pub struct SyncEngine {
    client: Arc<IntercomClient>,
    store: Store,
}

impl SyncEngine {
    pub fn new(client: Arc<IntercomClient>, store: Store) -> Self {
        Self { client, store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs every resource in order, and compacts the search indexes after a run that wrote many items. A resource that fails has its error recorded in its status and the others
    /// still run (a missing scope for tags must not stop conversations); the run then returns the first error.
    /// A rejected token stops everything at once.
    pub async fn run(&self, options: &SyncOptions, progress: &dyn Progress) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let (sent_before, limited_before) = self.request_counts();
        let context = Context { client: &self.client, store: &self.store, options, progress };
        if let Err(error) = self.prepare(options).await {
            self.record(&error).await;
            return Err(error);
        }
        let mut resources = Vec::new();
        let mut first_error = None;
        for step in Step::ALL {
            match self.run_step(step, &context).await {
                Ok(reports) => resources.extend(reports),
                Err(error) => {
                    self.record(&error).await;
                    if error.is_fatal() {
                        return Err(error);
                    }
                    tracing::warn!(%error, "a resource failed to sync; continuing with the others");
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        let mut tx = self.store.begin_write().await.during(CONVERSATIONS)?;
        tx.mark_synced("intercom", self.client.server_now()).await.during(CONVERSATIONS)?;
        tx.commit().await.during(CONVERSATIONS)?;
        // The run's data is committed: a failed merge only leaves searches slower, and the run stays a success.
        if resources.iter().map(|r| r.written + r.deleted).sum::<u64>() >= COMPACT_AFTER_WRITES
            && let Err(error) = self.store.compact_search_indexes().await
        {
            tracing::warn!(%error, "could not compact the search indexes after the sync; searches stay correct");
        }
        let (sent, limited) = self.request_counts();
        Ok(SyncReport {
            resources,
            requests: sent - sent_before,
            rate_limited: limited - limited_before,
            elapsed: started.elapsed(),
        })
    }

    /// Forgets checkpoints for a full run; checks the token's scopes before a first sync writes anything.
    async fn prepare(&self, options: &SyncOptions) -> Result<(), SyncError> {
        if options.full {
            let mut tx = self.store.begin_write().await.during(CONVERSATIONS)?;
            tx.reset_sync_state(&[DELETED_CONVERSATIONS]).await.during(CONVERSATIONS)?;
            tx.commit().await.during(CONVERSATIONS)?;
        }
        let states = self.store.sync_states().await.during(CONVERSATIONS)?;
        if states.iter().all(|s| s.watermark.is_none() && s.run.is_none()) {
            self.preflight().await?;
        }
        Ok(())
    }

    async fn run_step(&self, step: Step, context: &Context<'_>) -> Result<Vec<ResourceReport>, SyncError> {
        Ok(match step {
            Step::Reference => reference::sync_reference(context).await?,
            Step::Contacts => vec![contacts::sync_contacts(context).await?],
            Step::Companies => vec![reference::sync_companies(context).await?],
            Step::Conversations => vec![conversations::sync_conversations(context).await?],
            Step::Deletions => vec![deletions::sync_deletions(context).await?],
        })
    }

    /// Records a failure in the failing resource's status (this machine's clock, like successes).
    async fn record(&self, error: &SyncError) {
        if let Err(store_error) = self.store.record_sync_error(error.resource(), &error.cause(), unix_now()).await {
            tracing::error!(%store_error, "could not record the sync error");
        }
    }

    /// Before the first sync writes anything, checks that the token may read every kind of object, so a token
    /// missing a scope fails with one plain message and an untouched store rather than with half a workspace.
    /// Two small searches; later runs report a revoked scope when they meet it.
    async fn preflight(&self) -> Result<(), SyncError> {
        let now = self.client.server_now();
        self.client.search_contacts(now, None).await.during(CONTACTS)?;
        self.client.search_conversations(now, None, None).await.during(CONVERSATIONS)?;
        Ok(())
    }

    /// Fetches one conversation again and stores it (or deletes it when Intercom no longer has it): what a
    /// webhook asks for.
    pub async fn refresh_conversation(&self, id: &str) -> Result<(), SyncError> {
        conversations::refresh_one(&self.client, &self.store, id).await
    }

    /// Fetches one contact again and stores it (or deletes it when Intercom no longer has it).
    pub async fn refresh_contact(&self, id: &str) -> Result<(), SyncError> {
        contacts::refresh_one(&self.client, &self.store, id).await
    }

    fn request_counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let counts = self.client.counts();
        (counts.sent.load(Relaxed), counts.rate_limited.load(Relaxed))
    }
}

/// Runs CPU-heavy work (JSON conversion, statement building) off the async runtime.
async fn off_runtime<T: Send + 'static>(
    resource: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| SyncError::Internal { resource, message: format!("a worker thread failed: {error}") })
}

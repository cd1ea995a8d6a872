//! A deterministic, realistic synthetic Intercom workspace, for people without an Intercom token, for tests that
//! need an oracle, and for benchmarks at any size.
//!
//! [`generate`] builds the reference data (teammates, teams, tags, companies, contacts) in memory and yields
//! conversations lazily: conversation `i` is a pure function of the options and `i` (it draws from its own
//! random stream), so 100,000 conversations never sit in memory at once, any one can be regenerated alone, and a
//! test can recompute the expected answer to any question in plain Rust. Same options, same records, byte for
//! byte, on every platform.
//!
//! [`seed`] writes a workspace into a [`Store`]: generation runs on a blocking thread and feeds batches through a
//! bounded channel to the writer, so the two overlap and the async runtime is never blocked.
//!
//! Known answers for full-text tests: [`MARKER_WORD`] appears exactly in the conversations for which
//! [`has_marker`] is true, [`PART_MARKER_WORD`] exactly in conversation [`PART_MARKER_INDEX`]; no other text
//! contains either.

use fastintercom_store as store;

mod conversations;
mod exchange;
pub mod fake_intercom;
mod people;
mod rng;
mod stats;
mod text;
mod topics;
mod topics_product;
mod vocabulary;

#[cfg(test)]
mod seed_tests;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::store::model::{AdminRecord, CompanyRecord, ContactRecord, ConversationRecord, TagRecord, TeamRecord};
use crate::store::{
    Backend, PreparedWrite, Store, StoreBuilder, StoreError, prepare_conversations, prepare_new_conversations,
};
use people::{ContactFacts, DAY, YEAR};
use rng::Rng;

/// A word planted in a customer message of every conversation whose index `i` has `i % MARKER_PERIOD == 0`.
pub const MARKER_WORD: &str = "xylophonic";
/// See [`MARKER_WORD`]. Prime, so the marked conversations are spread over every kind of conversation.
pub const MARKER_PERIOD: usize = 997;
/// A word planted in one part (not the first message) of conversation [`PART_MARKER_INDEX`] only.
pub const PART_MARKER_WORD: &str = "quokkaberry";
pub const PART_MARKER_INDEX: usize = 1;

/// Whether conversation `index` contains [`MARKER_WORD`] (in its first customer message).
pub fn has_marker(index: usize) -> bool {
    index.is_multiple_of(MARKER_PERIOD)
}

/// The seed [`DemoOptions::default`] uses; any seed gives an equally realistic workspace.
pub const DEFAULT_SEED: u64 = 0x5EED_1C0E;

/// Most contacts a workspace has, whatever the number of conversations (a million contacts is already a large
/// Intercom workspace; more would only spend memory).
pub const MAX_CONTACTS: usize = 1_000_000;

/// `now` is clamped to this range so every timestamp stays a positive, four-digit-year unix time.
const MIN_NOW: i64 = 5 * YEAR;
const MAX_NOW: i64 = 253_000_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    pub conversations: usize,
    pub seed: u64,
    /// Unix seconds the workspace is anchored at: conversations span the two years before it, and nothing
    /// happens after it (except snoozes ending).
    pub now: i64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(MIN_NOW, |d| d.as_secs() as i64);
        Self { conversations: 10_000, seed: DEFAULT_SEED, now }
    }
}

/// Indexes of the reference data that conversations draw from, built once per workspace.
#[derive(Debug, Clone, PartialEq)]
struct Lookup {
    contact_facts: Vec<ContactFacts>,
    /// Per topic: indexes of the teams that handle it, preferred first (never empty).
    topic_teams: Vec<Vec<usize>>,
    /// Per topic: indexes of its tags, most typical first.
    topic_tags: Vec<Vec<usize>>,
    /// Per team: indexes of its admins (never empty).
    team_members: Vec<Vec<usize>>,
    /// Tags that cut across topics: vip, urgent, churn-risk, escalated, positive-feedback.
    vip: Option<usize>,
    urgent: Option<usize>,
    churn_risk: Option<usize>,
    escalated: Option<usize>,
    positive: Option<usize>,
    /// Offsets that make ids differ between seeds.
    conversation_base: u64,
    part_base: u64,
    source_base: u64,
}

/// A generated workspace: reference data in memory, conversations on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoWorkspace {
    pub admins: Vec<AdminRecord>,
    pub teams: Vec<TeamRecord>,
    pub tags: Vec<TagRecord>,
    pub companies: Vec<CompanyRecord>,
    /// In creation order (`created_at` never decreases).
    pub contacts: Vec<ContactRecord>,
    options: DemoOptions,
    lookup: Lookup,
}

/// Builds the workspace `options` describe. Cheap: conversations are generated only when iterated.
pub fn generate(options: &DemoOptions) -> DemoWorkspace {
    let options = DemoOptions { now: options.now.clamp(MIN_NOW, MAX_NOW), ..options.clone() };
    let (seed, now) = (options.seed, options.now);
    let contact_count = (options.conversations / 2).clamp(50, MAX_CONTACTS);
    let company_count = (contact_count / 8).max(10);
    let (admins, teams) = people::admins_and_teams(seed);
    let tags = people::tags(seed);
    let (mut companies, places) = people::companies(seed, company_count, now);
    let (contacts, contact_facts) = people::contacts(seed, contact_count, now, &mut companies, &places, &admins, &tags);

    let team_index = |name: &str| teams.iter().position(|t| t.name == name);
    let tag_index = |name: &str| tags.iter().position(|t| t.name == name);
    let topic_teams = topics::TOPICS
        .iter()
        .map(|topic| {
            let found: Vec<usize> = topic.teams.iter().filter_map(|name| team_index(name)).collect();
            if found.is_empty() { vec![0] } else { found }
        })
        .collect();
    let topic_tags =
        topics::TOPICS.iter().map(|topic| topic.tags.iter().filter_map(|n| tag_index(n)).collect()).collect();
    let team_members = teams
        .iter()
        .map(|team| {
            let members: Vec<usize> = (0..admins.len()).filter(|a| admins[*a].team_ids.contains(&team.id)).collect();
            if members.is_empty() { vec![0] } else { members }
        })
        .collect();
    let lookup = Lookup {
        contact_facts,
        topic_teams,
        topic_tags,
        team_members,
        vip: tag_index("vip"),
        urgent: tag_index("urgent"),
        churn_risk: tag_index("churn-risk"),
        escalated: tag_index("escalated"),
        positive: tag_index("positive-feedback"),
        conversation_base: 100_000_000_000 + Rng::hash(seed, 10) % 100_000_000_000,
        part_base: 10_000_000_000 + Rng::hash(seed, 11) % 10_000_000_000,
        source_base: 100_000_000 + Rng::hash(seed, 12) % 800_000_000,
    };
    DemoWorkspace { admins, teams, tags, companies, contacts, options, lookup }
}

impl DemoWorkspace {
    /// The options this workspace was generated with, `now` clamped as it was used.
    pub fn options(&self) -> &DemoOptions {
        &self.options
    }

    /// The instant the workspace is anchored at: no conversation is updated after it.
    pub fn now(&self) -> i64 {
        self.options.now
    }

    pub fn conversation_count(&self) -> usize {
        self.options.conversations
    }

    /// The Intercom id of conversation `index`: a numeric string, increasing with the index (and with time).
    pub fn conversation_id(&self, index: usize) -> String {
        (u128::from(self.lookup.conversation_base) + index as u128).to_string()
    }

    /// The index of the conversation with Intercom id `id`, if this workspace has it.
    pub fn conversation_index(&self, id: &str) -> Option<usize> {
        let number: u128 = id.parse().ok()?;
        let index = usize::try_from(number.checked_sub(u128::from(self.lookup.conversation_base))?).ok()?;
        (index < self.options.conversations && self.conversation_id(index) == id).then_some(index)
    }

    /// Every conversation in index order (oldest first); use `.enumerate()` for the indexes.
    pub fn conversations(&self) -> impl Iterator<Item = ConversationRecord> + '_ {
        (0..self.options.conversations).map(|index| self.conversation(index))
    }

    /// Every conversation in index order, `size` at a time (at least one).
    pub fn conversation_batches(&self, size: usize) -> impl Iterator<Item = Vec<ConversationRecord>> + '_ {
        let size = size.max(1);
        let total = self.options.conversations;
        (0..total.div_ceil(size)).map(move |batch| {
            let start = batch * size;
            (start..total.min(start + size)).map(|index| self.conversation(index)).collect()
        })
    }

    /// The indexes of the conversations that contain [`MARKER_WORD`].
    pub fn marker_indices(&self) -> impl Iterator<Item = usize> + use<> {
        (0..self.options.conversations).step_by(MARKER_PERIOD)
    }

    /// The indexes of the conversations that contain [`PART_MARKER_WORD`] (none when there are fewer than two).
    pub fn part_marker_indices(&self) -> impl Iterator<Item = usize> + use<> {
        (PART_MARKER_INDEX < self.options.conversations).then_some(PART_MARKER_INDEX).into_iter()
    }
}

/// What [`seed`] wrote and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub admins: usize,
    pub teams: usize,
    pub tags: usize,
    pub companies: usize,
    pub contacts: usize,
    pub conversations: usize,
    pub parts: usize,
    /// From the call to the last commit, generation included.
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn conversations_per_second(&self) -> f64 {
        self.conversations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Conversations per write transaction: large enough to amortise per-statement and per-commit costs (each commit
/// flushes and merges full-text segments; 5,000 seeded 100,000 conversations about 8% faster than 2,000 in release
/// on the 2-core machine), small enough that memory stays flat.
const CONVERSATION_BATCH: usize = 5_000;
/// Contacts per write transaction.
const CONTACT_BATCH: usize = 5_000;
/// Batches generated ahead of the writer: enough to keep it busy, bounded so memory is too.
const CHANNEL_DEPTH: usize = 2;

/// Writes the workspace `options` describe into `store` (upserting: existing rows with the same ids are
/// replaced, rows of a larger earlier demo are left alone), then marks the store as synced from "demo" at `now`.
pub async fn seed(store: &Store, options: &DemoOptions) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let fresh = store.conversation_count().await? == 0;
    write_workspace(store, options, fresh, started).await
}

/// Builds a new store at `path` holding the workspace `options` describe: the fast way to a first demo
/// workspace (see [`StoreBuilder`]). The report's time includes making the file durable. `None` when a store
/// exists at `path`, also one another process made while this one waited or built: that one is kept.
pub async fn build_store(path: &Path, options: &DemoOptions) -> anyhow::Result<Option<SeedReport>> {
    let started = Instant::now();
    let builder = match StoreBuilder::start(path).await {
        Err(StoreError::Exists(_)) => return Ok(None),
        other => other?,
    };
    let mut report = write_workspace(builder.store(), options, true, started).await?;
    match builder.finish().await {
        Err(StoreError::Exists(_)) => return Ok(None),
        other => other?,
    }
    report.elapsed = started.elapsed();
    Ok(Some(report))
}

/// Generates the workspace and writes it. Reference data goes first, so every conversation's contacts,
/// teammates and tags exist when it lands. `fresh`: the store holds no conversation yet (nothing to replace).
async fn write_workspace(
    store: &Store,
    options: &DemoOptions,
    fresh: bool,
    started: Instant,
) -> anyhow::Result<SeedReport> {
    let generate_options = options.clone();
    let workspace = Arc::new(
        tokio::task::spawn_blocking(move || generate(&generate_options))
            .await
            .context("generating the demo workspace")?,
    );

    // Generation and statement building (plain text, arguments) run on a blocking thread, one batch ahead of
    // the writer, so the two cores split the work: this thread mostly waits on SQLite. It starts before the
    // reference data is written, so the first batch is ready when the writer turns to conversations.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<anyhow::Result<Batch>>(CHANNEL_DEPTH);
    let producer_workspace = Arc::clone(&workspace);
    let backend = store.backend();
    let producer = tokio::task::spawn_blocking(move || {
        let prepare = if fresh { prepare_new_conversations } else { prepare_conversations };
        for records in producer_workspace.conversation_batches(CONVERSATION_BATCH) {
            let batch = prepare(backend, &records)
                .map(|write| Batch { parts: records.iter().map(|c| c.parts.len()).sum(), write, records })
                .context("preparing demo conversations");
            if sender.blocking_send(batch).is_err() {
                break; // The writer failed and stopped listening.
            }
        }
    });

    let mut tx = store.begin_write().await?;
    tx.upsert_admins(&workspace.admins).await.context("writing demo admins")?;
    tx.upsert_teams(&workspace.teams).await.context("writing demo teams")?;
    tx.upsert_tags(&workspace.tags).await.context("writing demo tags")?;
    tx.upsert_companies(&workspace.companies).await.context("writing demo companies")?;
    tx.commit().await?;
    for contacts in workspace.contacts.chunks(CONTACT_BATCH) {
        let mut tx = store.begin_write().await?;
        tx.upsert_contacts(contacts).await.context("writing demo contacts")?;
        tx.commit().await?;
    }
    // `fresh` was judged before writing, outside any lock, so another process may have written the same
    // conversations since (two servers seeding one empty store at once). Then a batch of plain inserts collides
    // and changes nothing, and it and every later batch are written again as upserts.
    let (mut conversations, mut parts, mut collided) = (0, 0, false);
    while let Some(batch) = receiver.recv().await {
        let Batch { write, records, parts: batch_parts } = batch?;
        conversations += records.len();
        parts += batch_parts;
        let written = if collided {
            write_conversations(store, prepare_replacing(backend, records).await?).await
        } else {
            match write_conversations(store, write).await {
                Err(error) if fresh && is_collision(&error) => {
                    tracing::info!("demo conversations were written meanwhile by another process; replacing them");
                    collided = true;
                    write_conversations(store, prepare_replacing(backend, records).await?).await
                }
                written => written,
            }
        };
        written.context("writing demo conversations")?;
    }
    producer.await.context("generating demo conversations")?;
    store.mark_synced("demo", workspace.now()).await?;
    store.compact_search_indexes().await.context("compacting the demo's search indexes")?;

    Ok(SeedReport {
        admins: workspace.admins.len(),
        teams: workspace.teams.len(),
        tags: workspace.tags.len(),
        companies: workspace.companies.len(),
        contacts: workspace.contacts.len(),
        conversations,
        parts,
        elapsed: started.elapsed(),
    })
}

/// One batch of conversations, ready for the writer.
struct Batch {
    write: PreparedWrite,
    /// The conversations `write` holds, to prepare them again as upserts after a collision.
    records: Vec<ConversationRecord>,
    parts: usize,
}

/// Writes one batch of conversations in a transaction of its own.
async fn write_conversations(store: &Store, write: PreparedWrite) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    tx.apply(write).await?;
    tx.commit().await
}

/// Prepares conversations as upserts (replacing what is stored), off the async runtime.
async fn prepare_replacing(backend: Backend, records: Vec<ConversationRecord>) -> anyhow::Result<PreparedWrite> {
    let prepared = tokio::task::spawn_blocking(move || prepare_conversations(backend, &records)).await?;
    prepared.context("preparing demo conversations")
}

/// Whether a write failed because a row it inserts as new exists.
fn is_collision(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
}

/// How far back conversations go.
const HISTORY: i64 = 2 * YEAR;

/// The creation time of conversation `index` of `count`: increasing with the index, over the two years before
/// `now`, three times denser at the end than at the start (a growing business). `jitter` in `[0, 1)` places it
/// within its slot.
fn conversation_created_at(index: usize, count: usize, now: i64, jitter: f64) -> i64 {
    let u = ((index as f64 + jitter) / count.max(1) as f64).clamp(0.0, 1.0);
    // Density 1 + 2x on [0, 1]: CDF (x + x²) / 2, inverted.
    let x = ((1.0 + 8.0 * u).sqrt() - 1.0) / 2.0;
    let span = HISTORY - DAY / 24;
    now - HISTORY + (x * span as f64) as i64
}

//! Facts about the local copy as a whole (`workspace_meta`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Row;

use super::model::{Counts, Freshness};
use super::write::WriteTx;
use super::{Decodes, Result, Store, postgres};

/// Row counts of the workspace tables, one row (both backends).
pub(super) const COUNTS: &str = "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM conversation_parts), \
     (SELECT count(*) FROM contacts), (SELECT count(*) FROM companies), (SELECT count(*) FROM admins), \
     (SELECT count(*) FROM teams), (SELECT count(*) FROM tags)";

/// [`Counts`] from the row of [`COUNTS`].
pub(super) fn counts_from_row<'r, R>(row: &'r R) -> Result<Counts>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    i64: Decodes<'r, R::Database>,
{
    let get = |i: usize| row.try_get::<i64, _>(i).map(|n| n as u64);
    Ok(Counts {
        conversations: get(0)?,
        parts: get(1)?,
        contacts: get(2)?,
        companies: get(3)?,
        admins: get(4)?,
        teams: get(5)?,
        tags: get(6)?,
    })
}

const SOURCE: &str = "source";
const LAST_SYNCED_AT: &str = "last_synced_at";

/// How long a freshness read answers later calls when no commit happened in this process in between, and no
/// newer data generation was seen. Every tool answer carries the freshness, so reading it from the database each
/// time would be a query per call; a sync in another process (`fastintercom sync` beside `serve`) shows within
/// this time, or at once after [`Store::data_generation`] saw it (kept answers are keyed by that generation, so
/// an answer computed on it must not carry an older freshness).
const FRESHNESS_TTL: Duration = Duration::from_secs(1);

/// What this process knows of the store's version: its own commits, and the last data generation it read.
pub type VersionSeen = (u64, u64);

/// The last freshness read, with when it was read and what this process knew of the store's version then: its
/// commits and the last data generation read, or [`GENERATION_NOT_READ`] (see [`Store::version_seen`]).
#[derive(Debug, Default)]
pub(super) struct FreshnessCache(Mutex<Option<(Instant, VersionSeen, Freshness)>>);

/// `Store::generation_seen` before the data generation was first read.
pub(super) const GENERATION_NOT_READ: u64 = u64::MAX;

/// Notes that the data generation is at least `generation` (read from the store, or returned by this process's
/// own commit). Generations only grow: a read that started before a commit and ends after it must not take the
/// commit's generation back.
pub(super) fn saw_generation(seen: &AtomicU64, generation: u64) {
    let mut current = seen.load(Ordering::SeqCst);
    while current == GENERATION_NOT_READ || current < generation {
        match seen.compare_exchange_weak(current, generation, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return,
            Err(now) => current = now,
        }
    }
}

impl Store {
    /// Where the data came from and when it was last brought up to date.
    pub async fn freshness(&self) -> Result<Freshness> {
        // Not `version_seen`, which says nothing until the generation was read: this process's own commits (a
        // sync's `mark_synced`) must show at once all the same.
        let version = (self.commits.load(Ordering::SeqCst), self.generation_seen.load(Ordering::SeqCst));
        if let Some((read_at, at_version, freshness)) = &*self.freshness.0.lock().expect("freshness lock")
            && *at_version == version
            && read_at.elapsed() < FRESHNESS_TTL
        {
            return Ok(freshness.clone());
        }
        let freshness = self.read_freshness().await?;
        *self.freshness.0.lock().expect("freshness lock") = Some((Instant::now(), version, freshness.clone()));
        Ok(freshness)
    }

    /// A name of this store (database file, or PostgreSQL schema) that every process using it reads alike and no
    /// other store has: what processes sharing more than one store (one Redis, say) tell them apart by.
    pub fn store_name(&self) -> String {
        self.cursor_key.store_name()
    }

    /// What this process knows of the store's version, without reading the store: its own commits (at once) and
    /// the data generation last read (see [`Store::watch_data_generation`] for other processes' commits); `None`
    /// until the generation was read once. Equal versions mean equal data.
    pub fn version_seen(&self) -> Option<VersionSeen> {
        let generation = self.generation_seen.load(Ordering::SeqCst);
        (generation != GENERATION_NOT_READ).then(|| (self.commits.load(Ordering::SeqCst), generation))
    }

    async fn read_freshness(&self) -> Result<Freshness> {
        if self.postgres().is_some() {
            return postgres::meta::freshness(self).await;
        }
        let query =
            sqlx::query("SELECT key, value FROM workspace_meta WHERE key IN (?, ?)").bind(SOURCE).bind(LAST_SYNCED_AT);
        let rows = self.read(async |c| query.fetch_all(c).await).await?;
        let mut freshness = Freshness { last_synced_at: None, source: "empty".to_owned() };
        for row in rows {
            let key: String = row.try_get(0)?;
            let value: String = row.try_get(1)?;
            match key.as_str() {
                SOURCE => freshness.source = value,
                _ => freshness.last_synced_at = value.parse().ok(),
            }
        }
        Ok(freshness)
    }

    /// A number that changes whenever data is committed to the store, by this process or another (every write
    /// transaction advances it as it commits): what was computed from the store at one generation holds until
    /// the generation changes. One point read.
    pub async fn data_generation(&self) -> Result<u64> {
        if self.postgres().is_some() {
            return postgres::meta::data_generation(self).await;
        }
        let query = sqlx::query_scalar::<_, i64>(
            "SELECT CAST(value AS INTEGER) FROM workspace_meta WHERE key = 'data_generation'",
        );
        let generation = self.read(async |c| query.fetch_optional(c).await).await?.unwrap_or(0).max(0) as u64;
        saw_generation(&self.generation_seen, generation);
        Ok(generation)
    }

    /// Reads the data generation every `every` from now on, so that [`Store::version_seen`] learns of other
    /// processes' commits within that time, and on PostgreSQL also as soon as a commit announces one; ends when
    /// the returned task is aborted.
    pub fn watch_data_generation(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut announcements = store.postgres().map(postgres::meta::GenerationAnnouncements::new);
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                match &mut announcements {
                    Some(announced) => tokio::select! {
                        _ = ticks.tick() => {}
                        () = announced.next() => {}
                    },
                    None => {
                        ticks.tick().await;
                    }
                }
                if let Err(error) = store.data_generation().await {
                    tracing::debug!(%error, "cannot read the data generation; trying again");
                }
            }
        })
    }

    /// Records that the data now comes from `source` and was complete as of `synced_at` (unix seconds).
    pub async fn mark_synced(&self, source: &str, synced_at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.mark_synced(source, synced_at).await?;
        tx.commit().await
    }

    /// The `updated_at` of each stored conversation among `ids`, so a sync can skip fetching what has not changed.
    pub async fn conversation_versions(&self, ids: &[String]) -> Result<HashMap<String, i64>> {
        self.versions("conversations", ids).await
    }

    /// The `updated_at` of each stored contact among `ids`.
    pub async fn contact_versions(&self, ids: &[String]) -> Result<HashMap<String, i64>> {
        self.versions("contacts", ids).await
    }

    async fn versions(&self, table: &str, ids: &[String]) -> Result<HashMap<String, i64>> {
        if self.postgres().is_some() {
            return postgres::meta::versions(self, table, ids).await;
        }
        let sql = format!("SELECT id, updated_at FROM {table} WHERE id IN (SELECT value FROM json_each(?))");
        let ids = serde_json::to_string(ids).expect("ids serialize");
        let rows = self.read(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?;
        rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
    }

    /// Companies that stored contacts belong to but that are not stored themselves (e.g. created since the last
    /// full company listing).
    pub async fn dangling_company_ids(&self) -> Result<Vec<String>> {
        if self.postgres().is_some() {
            return postgres::meta::dangling_company_ids(self).await;
        }
        let query = sqlx::query(
            "SELECT DISTINCT company_id FROM contact_companies \
             WHERE company_id NOT IN (SELECT id FROM companies) ORDER BY company_id",
        );
        let rows = self.read(async |c| query.fetch_all(c).await).await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    /// Row counts of the workspace tables, e.g. for status output and consistency checks.
    pub async fn counts(&self) -> Result<Counts> {
        if self.postgres().is_some() {
            return postgres::meta::counts(self).await;
        }
        let row = self.read(async |c| sqlx::query(COUNTS).fetch_one(c).await).await?;
        counts_from_row(&row)
    }

    /// How many conversations the store holds.
    pub async fn conversation_count(&self) -> Result<u64> {
        if self.postgres().is_some() {
            return postgres::meta::conversation_count(self).await;
        }
        let count: i64 =
            self.read(async |c| sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(c).await).await?;
        Ok(count as u64)
    }
}

impl WriteTx {
    /// Records, in this transaction, that the data comes from `source` and was complete as of `synced_at`.
    pub async fn mark_synced(&mut self, source: &str, synced_at: i64) -> Result<()> {
        if let Some(tx) = self.postgres() {
            return postgres::meta::mark_synced(tx, &[(SOURCE, source), (LAST_SYNCED_AT, &synced_at.to_string())])
                .await;
        }
        for (key, value) in [(SOURCE, source.to_owned()), (LAST_SYNCED_AT, synced_at.to_string())] {
            sqlx::query(
                "INSERT INTO workspace_meta (key, value) VALUES (?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(self.connection()?)
            .await?;
        }
        Ok(())
    }
}

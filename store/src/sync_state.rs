//! Per-resource sync checkpoints and status (`sync_state`).
//!
//! A checkpoint is written in the same transaction as the data it covers (see [`WriteTx::save_run_progress`]),
//! so after a crash the store holds exactly the pages the checkpoint says it holds: a restart neither loses nor
//! repeats anything.

use sqlx::Row;

use super::write::WriteTx;
use super::{Decodes, Result, Store, postgres};

/// What the store knows about syncing one resource ("conversations", "contacts", ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceState {
    pub resource: String,
    /// Everything updated before this (unix seconds, Intercom's clock) was synced by a completed run.
    pub watermark: Option<i64>,
    /// The run in progress, if one was interrupted.
    pub run: Option<RunCheckpoint>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// Items written by the last completed run.
    pub last_run_items: i64,
}

/// Where an unfinished run stands: enough to resume it exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCheckpoint {
    /// The lower bound the run searches from (unix seconds).
    pub since: i64,
    /// When the run started; the watermark once it completes.
    pub started_at: i64,
    /// Intercom's cursor of the next page to fetch; `None` before the first page is committed.
    pub cursor: Option<String>,
}

/// Statements both backends run as they are (`$n` parameters: sqlx's SQLite driver numbers them as PostgreSQL does).
pub(super) const RECORD_ERROR: &str = "INSERT INTO sync_state (resource, last_error, last_error_at) VALUES ($1, $2, $3) \
     ON CONFLICT (resource) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at";
pub(super) const SAVE_RUN_PROGRESS: &str = "INSERT INTO sync_state (resource, run_since, run_started_at, cursor) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (resource) DO UPDATE SET run_since = excluded.run_since, \
     run_started_at = excluded.run_started_at, cursor = excluded.cursor";
pub(super) const FINISH_RUN: &str = "INSERT INTO sync_state (resource, watermark, last_success_at, item_count) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (resource) DO UPDATE SET watermark = excluded.watermark, \
     last_success_at = excluded.last_success_at, item_count = excluded.item_count, run_since = NULL, \
     run_started_at = NULL, cursor = NULL, last_error = NULL, last_error_at = NULL";

pub(super) const COLUMNS: &str =
    "resource, watermark, run_since, run_started_at, cursor, last_success_at, last_error, last_error_at, item_count";

pub(super) fn state_from_row<'r, R>(row: &'r R) -> Result<ResourceState, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
{
    let since: Option<i64> = row.try_get(2)?;
    let started_at: Option<i64> = row.try_get(3)?;
    let run = match (since, started_at) {
        (Some(since), Some(started_at)) => Some(RunCheckpoint { since, started_at, cursor: row.try_get(4)? }),
        _ => None,
    };
    Ok(ResourceState {
        resource: row.try_get(0)?,
        watermark: row.try_get(1)?,
        run,
        last_success_at: row.try_get(5)?,
        last_error: row.try_get(6)?,
        last_error_at: row.try_get(7)?,
        last_run_items: row.try_get(8)?,
    })
}

impl Store {
    /// The sync state of `resource` (default when it was never synced).
    pub async fn sync_state(&self, resource: &str) -> Result<ResourceState> {
        if self.postgres().is_some() {
            return postgres::sync_state::sync_state(self, resource).await;
        }
        let sql = format!("SELECT {COLUMNS} FROM sync_state WHERE resource = ?");
        let row =
            self.read(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resource).fetch_optional(c).await).await?;
        match row {
            Some(row) => Ok(state_from_row(&row)?),
            None => Ok(ResourceState { resource: resource.to_owned(), ..ResourceState::default() }),
        }
    }

    /// The sync state of every resource that was ever synced, by name.
    pub async fn sync_states(&self) -> Result<Vec<ResourceState>> {
        if self.postgres().is_some() {
            return postgres::sync_state::sync_states(self).await;
        }
        let sql = format!("SELECT {COLUMNS} FROM sync_state ORDER BY resource");
        let rows = self.read(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await).await?;
        Ok(rows.iter().map(state_from_row).collect::<Result<_, _>>()?)
    }

    /// Records that syncing `resource` failed at `at` (unix seconds); its checkpoint stays as it was. A write
    /// transaction of its own, so the data generation advances (the `status` tool shows the error).
    pub async fn record_sync_error(&self, resource: &str, message: &str, at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(pg) = tx.postgres() {
            postgres::sync_state::record_error(pg, resource, message, at).await?;
            return tx.commit().await;
        }
        sqlx::query(RECORD_ERROR).bind(resource).bind(message).bind(at).execute(tx.connection()?).await?;
        tx.commit().await
    }
}

impl WriteTx {
    /// Saves where the run of `resource` stands, with the data of the page it just wrote.
    pub async fn save_run_progress(&mut self, resource: &str, run: &RunCheckpoint) -> Result<()> {
        if let Some(tx) = self.postgres() {
            return postgres::sync_state::save_run_progress(tx, resource, run).await;
        }
        sqlx::query(SAVE_RUN_PROGRESS)
            .bind(resource)
            .bind(run.since)
            .bind(run.started_at)
            .bind(run.cursor.as_deref())
            .execute(self.connection()?)
            .await?;
        Ok(())
    }

    /// Completes the run of `resource`: everything up to `watermark` is synced; clears the run and the last error.
    pub async fn finish_run(&mut self, resource: &str, watermark: i64, finished_at: i64, items: i64) -> Result<()> {
        if let Some(tx) = self.postgres() {
            return postgres::sync_state::finish_run(tx, resource, watermark, finished_at, items).await;
        }
        sqlx::query(FINISH_RUN)
            .bind(resource)
            .bind(watermark)
            .bind(finished_at)
            .bind(items)
            .execute(self.connection()?)
            .await?;
        Ok(())
    }

    /// Forgets the checkpoints and watermarks of every resource except `keep`, so the next run fetches them from
    /// scratch (`sync --full`). The deletions' watermark is kept: a full run only upserts what Intercom lists, so
    /// conversations deleted since the last run are still found through the deletions listing.
    pub async fn reset_sync_state(&mut self, keep: &[&str]) -> Result<()> {
        if let Some(tx) = self.postgres() {
            return postgres::sync_state::reset(tx, keep).await;
        }
        let keep = serde_json::to_string(keep).expect("names serialize");
        sqlx::query("DELETE FROM sync_state WHERE resource NOT IN (SELECT value FROM json_each(?))")
            .bind(keep)
            .execute(self.connection()?)
            .await?;
        Ok(())
    }
}

//! Per-resource sync checkpoints and status on PostgreSQL (see `store/sync_state.rs`, whose rows these are).

use sqlx::{Postgres, Transaction};

use super::without_nul;
use crate::sync_state::{COLUMNS, FINISH_RUN, RECORD_ERROR, SAVE_RUN_PROGRESS, state_from_row};
use crate::{ResourceState, Result, RunCheckpoint, Store};

pub(crate) async fn sync_state(store: &Store, resource: &str) -> Result<ResourceState> {
    let sql = format!("SELECT {COLUMNS} FROM sync_state WHERE resource = $1");
    let row = store
        .read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resource).fetch_optional(c).await)
        .await?;
    match row {
        Some(row) => Ok(state_from_row(&row)?),
        None => Ok(ResourceState { resource: resource.to_owned(), ..ResourceState::default() }),
    }
}

pub(crate) async fn sync_states(store: &Store) -> Result<Vec<ResourceState>> {
    let sql = format!("SELECT {COLUMNS} FROM sync_state ORDER BY resource");
    let rows = store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await).await?;
    Ok(rows.iter().map(state_from_row).collect::<Result<_, _>>()?)
}

pub(crate) async fn record_error(
    tx: &mut Transaction<'static, Postgres>,
    resource: &str,
    message: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(RECORD_ERROR).bind(resource).bind(without_nul(message)).bind(at).execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn save_run_progress(
    tx: &mut Transaction<'static, Postgres>,
    resource: &str,
    run: &RunCheckpoint,
) -> Result<()> {
    sqlx::query(SAVE_RUN_PROGRESS)
        .bind(resource)
        .bind(run.since)
        .bind(run.started_at)
        .bind(run.cursor.as_deref())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) async fn finish_run(
    tx: &mut Transaction<'static, Postgres>,
    resource: &str,
    watermark: i64,
    finished_at: i64,
    items: i64,
) -> Result<()> {
    sqlx::query(FINISH_RUN).bind(resource).bind(watermark).bind(finished_at).bind(items).execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn reset(tx: &mut Transaction<'static, Postgres>, keep: &[&str]) -> Result<()> {
    sqlx::query("DELETE FROM sync_state WHERE resource <> ALL($1)").bind(keep).execute(&mut **tx).await?;
    Ok(())
}

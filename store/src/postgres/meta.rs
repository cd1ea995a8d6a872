//! Facts about the copy as a whole (`workspace_meta`) and row counts, on PostgreSQL (see `store/meta.rs`).

use std::collections::HashMap;

use sqlx::{Postgres, Row as _, Transaction};

use super::without_nul;
use crate::meta::{COUNTS, counts_from_row};
use crate::model::{Counts, Freshness};
use crate::{Result, Store};

pub(crate) async fn freshness(store: &Store) -> Result<Freshness> {
    let rows = store
        .read_postgres(async |c| {
            sqlx::query("SELECT key, value FROM workspace_meta WHERE key IN ('source', 'last_synced_at')")
                .fetch_all(c)
                .await
        })
        .await?;
    let mut freshness = Freshness { last_synced_at: None, source: "empty".to_owned() };
    for row in rows {
        let key: String = row.try_get(0)?;
        let value: String = row.try_get(1)?;
        match key.as_str() {
            "source" => freshness.source = value,
            _ => freshness.last_synced_at = value.parse().ok(),
        }
    }
    Ok(freshness)
}

pub(crate) async fn data_generation(store: &Store) -> Result<u64> {
    let generation: Option<i64> = store
        .read_postgres(async |c| {
            sqlx::query_scalar("SELECT value::bigint FROM workspace_meta WHERE key = 'data_generation'")
                .fetch_optional(c)
                .await
        })
        .await?;
    let generation = generation.unwrap_or(0).max(0) as u64;
    crate::meta::saw_generation(&store.generation_seen, generation);
    Ok(generation)
}

/// The `updated_at` of each stored row of `table` (conversations, contacts) among `ids`.
pub(crate) async fn versions(store: &Store, table: &str, ids: &[String]) -> Result<HashMap<String, i64>> {
    let ids: Vec<String> = ids.iter().map(|id| without_nul(id)).collect();
    let sql = format!("SELECT id, updated_at FROM {table} WHERE id = ANY($1)");
    let rows =
        store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(c).await).await?;
    rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
}

pub(crate) async fn dangling_company_ids(store: &Store) -> Result<Vec<String>> {
    let rows = store
        .read_postgres(async |c| {
            sqlx::query(
                "SELECT DISTINCT company_id FROM contact_companies \
                 WHERE company_id NOT IN (SELECT id FROM companies) ORDER BY company_id",
            )
            .fetch_all(c)
            .await
        })
        .await?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}

pub(crate) async fn counts(store: &Store) -> Result<Counts> {
    let row = store.read_postgres(async |c| sqlx::query(COUNTS).fetch_one(c).await).await?;
    counts_from_row(&row)
}

pub(crate) async fn conversation_count(store: &Store) -> Result<u64> {
    let count: i64 = store
        .read_postgres(async |c| sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(c).await)
        .await?;
    Ok(count as u64)
}

/// Sets `workspace_meta` entries in the transaction `tx`.
pub(crate) async fn mark_synced(tx: &mut Transaction<'static, Postgres>, entries: &[(&str, &str)]) -> Result<()> {
    for (key, value) in entries {
        sqlx::query(
            "INSERT INTO workspace_meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The data generations other replicas' commits announce (see [`super::write::commit`]), heard on a connection
/// of its own (a pool of one, so the store's pool keeps all of its connections).
pub(crate) struct GenerationAnnouncements {
    pool: sqlx::PgPool,
    listener: Option<sqlx::postgres::PgListener>,
}

impl GenerationAnnouncements {
    pub(crate) fn new(postgres: &super::Postgres) -> Self {
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_lazy_with(postgres.connect.clone());
        Self { pool, listener: None }
    }

    /// Waits for the next announcement (of any schema's: the caller reads its own generation, which costs less
    /// than telling them apart). A connection that fails is made again a second later; meanwhile this waits.
    pub(crate) async fn next(&mut self) {
        loop {
            let listener = match &mut self.listener {
                Some(listener) => listener,
                None => match self.listen().await {
                    Ok(listener) => self.listener.insert(listener),
                    Err(error) => {
                        tracing::debug!(%error, "cannot listen for data generations; reading them on a timer");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                },
            };
            match listener.recv().await {
                Ok(_) => return,
                Err(error) => {
                    tracing::debug!(%error, "lost the connection that hears data generations");
                    self.listener = None;
                }
            }
        }
    }

    async fn listen(&self) -> sqlx::Result<sqlx::postgres::PgListener> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(super::write::GENERATION_CHANNEL).await?;
        Ok(listener)
    }
}

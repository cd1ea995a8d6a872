//! API keys of the HTTP transport on PostgreSQL (see `store/api_keys.rs`): only hashes, never keys.

use sqlx::{Postgres, Transaction};

use crate::api_keys::{LIST, api_key_from_row};
use crate::{ApiKeyRecord, Result, Store, StoreError};

pub(crate) async fn insert(tx: &mut Transaction<'static, Postgres>, key: &ApiKeyRecord) -> Result<()> {
    // Taken before the check, so two replicas adding one name at once do not both find it free (per schema, as
    // each schema is a deployment of its own).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || current_schema(), 0))")
        .bind(format!("fastintercom api key: {}: ", key.name))
        .execute(&mut **tx)
        .await?;
    let active: Option<i32> = sqlx::query_scalar("SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL")
        .bind(&key.name)
        .fetch_optional(&mut **tx)
        .await?;
    if active.is_some() {
        return Err(StoreError::InvalidArgument(format!(
            "a key named {:?} already exists; revoke it first or choose another name",
            key.name
        )));
    }
    sqlx::query(
        "INSERT INTO api_keys (name, key_hash, tools, created_at, revoked_at) VALUES ($1, $2, $3, $4, NULL) \
         ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash, tools = excluded.tools, \
         created_at = excluded.created_at, revoked_at = NULL",
    )
    .bind(&key.name)
    .bind(key.hash.as_slice())
    .bind(&key.tools)
    .bind(key.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn list(store: &Store) -> Result<Vec<ApiKeyRecord>> {
    // Names in byte order, as SQLite sorts them (not the database's locale).
    let sql = LIST.replace("ORDER BY name", "ORDER BY name COLLATE \"C\"");
    let rows = store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await).await?;
    rows.iter().map(api_key_from_row).collect()
}

pub(crate) async fn revoke(tx: &mut Transaction<'static, Postgres>, name: &str, at: i64) -> Result<bool> {
    let revoked = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
        .bind(at)
        .bind(name)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(revoked > 0)
}

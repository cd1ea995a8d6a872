//! API keys of the HTTP transport (`api_keys`): only hashes, never keys.

use sqlx::Row;

use super::{Decodes, Result, Store, StoreError, postgres};

/// One key as `keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub name: String,
    pub hash: [u8; 32],
    /// Comma-separated tool patterns; `None` means every tool.
    pub tools: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Every key, by name (both backends).
pub(super) const LIST: &str = "SELECT name, key_hash, tools, created_at, revoked_at FROM api_keys ORDER BY name";

/// A key from a row of [`LIST`].
pub(super) fn api_key_from_row<'r, R>(row: &'r R) -> Result<ApiKeyRecord>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    String: Decodes<'r, R::Database>,
    Vec<u8>: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
{
    let hash: Vec<u8> = row.try_get(1)?;
    Ok(ApiKeyRecord {
        name: row.try_get(0)?,
        hash: hash
            .try_into()
            .map_err(|_| StoreError::InvalidArgument("a stored API key hash is not 32 bytes".to_owned()))?,
        tools: row.try_get(2)?,
        created_at: row.try_get(3)?,
        revoked_at: row.try_get(4)?,
    })
}

impl Store {
    /// Adds a key. A name already held by a working key is refused; a revoked key's name may be reused (the
    /// revoked row is replaced).
    pub async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(pg) = tx.postgres() {
            postgres::api_keys::insert(pg, key).await?;
            return tx.commit().await;
        }
        let active: Option<i64> = sqlx::query_scalar("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL")
            .bind(&key.name)
            .fetch_optional(tx.connection()?)
            .await?;
        if active.is_some() {
            return Err(StoreError::InvalidArgument(format!(
                "a key named {:?} already exists; revoke it first or choose another name",
                key.name
            )));
        }
        sqlx::query(
            "INSERT OR REPLACE INTO api_keys (name, key_hash, tools, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)",
        )
        .bind(&key.name)
        .bind(key.hash.as_slice())
        .bind(&key.tools)
        .bind(key.created_at)
        .execute(tx.connection()?)
        .await?;
        tx.commit().await
    }

    /// Every key, working and revoked, by name.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        if self.postgres().is_some() {
            return postgres::api_keys::list(self).await;
        }
        let query = sqlx::query(LIST);
        let rows = self.read(async |c| query.fetch_all(c).await).await?;
        rows.iter().map(api_key_from_row).collect()
    }

    /// Revokes the working key `name` at `at` (unix seconds). False when no working key has that name.
    pub async fn revoke_api_key(&self, name: &str, at: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if let Some(pg) = tx.postgres() {
            let revoked = postgres::api_keys::revoke(pg, name, at).await?;
            tx.commit().await?;
            return Ok(revoked);
        }
        let revoked = sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(name)
            .execute(tx.connection()?)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(revoked > 0)
    }
}

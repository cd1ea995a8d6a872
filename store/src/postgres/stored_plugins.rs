//! Plugins installed into the store, on PostgreSQL (see `store/stored_plugins.rs`).

use crate::stored_plugins::{ALL, IDENTITIES, identity_from_row, plugin_from_row};
use crate::{Result, Store, StoredPlugin};

pub(crate) async fn identities(store: &Store) -> Result<Vec<(String, String)>> {
    // Names in byte order, as SQLite sorts them (not the database's locale).
    let sql = IDENTITIES.replace("ORDER BY name", "ORDER BY name COLLATE \"C\"");
    let rows = store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(c).await).await?;
    rows.iter().map(identity_from_row).collect()
}

pub(crate) async fn all(store: &Store, (component, manifest): (i64, i64)) -> Result<Vec<StoredPlugin>> {
    let sql = ALL.replace("ORDER BY name", "ORDER BY name COLLATE \"C\"");
    let rows = store
        .read_postgres(async |c| {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(component).bind(manifest).fetch_all(c).await
        })
        .await?;
    rows.iter().map(plugin_from_row).collect()
}

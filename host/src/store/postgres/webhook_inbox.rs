//! Webhook deliveries on PostgreSQL (see `store/webhook_inbox.rs`, whose statements these run).

use super::{Postgres, without_nul};
use crate::store::webhook_inbox::{Bind, PENDING, PendingWebhook, pending_from_row};
use crate::store::{Result, Store};

pub(in crate::store) async fn pending(store: &Store, now_ms: i64, limit: u32) -> Result<Vec<PendingWebhook>> {
    let rows = store
        .read_postgres(async |c| sqlx::query(PENDING).bind(now_ms).bind(i64::from(limit)).fetch_all(c).await)
        .await?;
    rows.iter().map(pending_from_row).collect()
}

/// Runs `sql` in a transaction of its own, which bounds it by the store's longest statement (a pooled
/// connection's own bound may be a short one a read left).
pub(in crate::store) async fn execute(postgres: &Postgres, sql: &'static str, binds: &[Bind<'_>]) -> Result<u64> {
    let mut tx = postgres.begin().await?;
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match *bind {
            Bind::Text(text) => query.bind(without_nul(text)),
            Bind::Int(int) => query.bind(int),
            Bind::MaybeInt(int) => query.bind(int),
        };
    }
    let changed = query.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(changed)
}

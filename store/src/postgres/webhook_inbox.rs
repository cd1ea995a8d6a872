//! Webhook deliveries on PostgreSQL (see `store/webhook_inbox.rs`, whose statements these run).

use crate::webhook_inbox::{PENDING, PendingWebhook, pending_from_row};
use crate::{Result, Store};

pub(crate) async fn pending(store: &Store, now_ms: i64, limit: u32) -> Result<Vec<PendingWebhook>> {
    let rows = store
        .read_postgres(async |c| sqlx::query(PENDING).bind(now_ms).bind(i64::from(limit)).fetch_all(c).await)
        .await?;
    let rows = rows.iter().map(pending_from_row).collect::<Result<Vec<_>>>()?;
    store.due_only(rows, now_ms).await
}

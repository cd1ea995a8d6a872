//! Webhook deliveries waiting to be applied (`webhook_deliveries`): written by whichever process accepted them,
//! read and marked by the one that syncs. Every statement here is one both dialects share (`$n` parameters,
//! `ON CONFLICT`), and none advances the data generation: the inbox is not workspace data, so accepting a
//! delivery must not empty every replica's kept answers.

use sqlx::Row;

use super::shared_statement::Bind;
use super::{Decodes, Result, Store, StoreError, postgres};

/// The object a delivery asks to fetch again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WebhookRefresh {
    Conversation(String),
    Contact(String),
}

impl WebhookRefresh {
    fn kind(&self) -> &'static str {
        match self {
            Self::Conversation(_) => "conversation",
            Self::Contact(_) => "contact",
        }
    }

    fn object_id(&self) -> &str {
        match self {
            Self::Conversation(id) | Self::Contact(id) => id,
        }
    }
}

/// A delivery not applied yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWebhook {
    pub notification_id: String,
    pub refresh: WebhookRefresh,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Longest notification or object id kept: Intercom's are tens of printable ASCII characters; anything else is
/// not Intercom's.
pub const MAX_WEBHOOK_ID_BYTES: usize = 256;

pub(super) const ACCEPT: &str = "INSERT INTO webhook_deliveries (notification_id, kind, object_id, received_at, \
     next_attempt_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (notification_id) DO NOTHING";
pub(super) const PENDING: &str = "SELECT notification_id, kind, object_id, attempts FROM webhook_deliveries \
     WHERE done_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, notification_id LIMIT $2";
pub(super) const APPLIED: &str = "UPDATE webhook_deliveries SET done_at = $2 WHERE notification_id = $1";
/// `$3`: when to try again; `$4`: when it was given up (NULL while it will be tried again).
pub(super) const FAILED: &str = "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2, \
     next_attempt_at = $3, done_at = $4 WHERE notification_id = $1";
pub(super) const PRUNE: &str = "DELETE FROM webhook_deliveries WHERE done_at < $1";

/// A row of [`PENDING`]: a delivery, or one of a kind this version does not know (written by a newer one, say).
pub(super) enum PendingRow {
    Due(PendingWebhook),
    UnknownKind { notification_id: String, kind: String },
}

/// A pending delivery from a row of [`PENDING`].
pub(super) fn pending_from_row<'r, R>(row: &'r R) -> Result<PendingRow>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
{
    let notification_id: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let object_id: String = row.try_get(2)?;
    let refresh = match kind.as_str() {
        "conversation" => WebhookRefresh::Conversation(object_id),
        "contact" => WebhookRefresh::Contact(object_id),
        _ => return Ok(PendingRow::UnknownKind { notification_id, kind }),
    };
    let attempts: i64 = row.try_get(3)?;
    let attempts = attempts.clamp(0, u32::MAX.into()) as u32;
    Ok(PendingRow::Due(PendingWebhook { notification_id, refresh, attempts }))
}

impl Store {
    /// Keeps a delivery until the syncing process applies it; `false` when one with this notification id was
    /// accepted before (by any process: it is applied once). Ids longer than [`MAX_WEBHOOK_ID_BYTES`] are refused.
    pub async fn accept_webhook(&self, notification_id: &str, refresh: &WebhookRefresh, at_ms: i64) -> Result<bool> {
        for (what, id) in [("notification id", notification_id), ("object id", refresh.object_id())] {
            if id.is_empty() || id.len() > MAX_WEBHOOK_ID_BYTES || !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(StoreError::InvalidArgument(format!(
                    "a webhook's {what} must be 1 to {MAX_WEBHOOK_ID_BYTES} printable ASCII characters"
                )));
            }
        }
        let binds = [
            Bind::Text(notification_id),
            Bind::Text(refresh.kind()),
            Bind::Text(refresh.object_id()),
            Bind::Int(at_ms),
        ];
        Ok(self.execute_shared(ACCEPT, &binds).await? > 0)
    }

    /// Up to `limit` deliveries due by `now_ms`, those due first first.
    pub async fn pending_webhooks(&self, now_ms: i64, limit: u32) -> Result<Vec<PendingWebhook>> {
        if self.postgres().is_some() {
            return postgres::webhook_inbox::pending(self, now_ms, limit).await;
        }
        let query = sqlx::query(PENDING).bind(now_ms).bind(i64::from(limit));
        let rows = self.read(async |c| query.fetch_all(c).await).await?;
        let rows = rows.iter().map(pending_from_row).collect::<Result<Vec<_>>>()?;
        self.due_only(rows, now_ms).await
    }

    /// The due deliveries of `rows`; those of a kind this version does not know are given up (they would come
    /// first again at every look, holding the others back).
    pub(super) async fn due_only(&self, rows: Vec<PendingRow>, now_ms: i64) -> Result<Vec<PendingWebhook>> {
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            match row {
                PendingRow::Due(delivery) => due.push(delivery),
                PendingRow::UnknownKind { notification_id, kind } => {
                    tracing::warn!(%notification_id, %kind, "a webhook delivery of an unknown kind is given up");
                    let reason = format!("unknown kind {kind:?}");
                    self.webhook_failed(&notification_id, &reason, now_ms, Some(now_ms)).await?;
                }
            }
        }
        Ok(due)
    }

    /// Marks a delivery applied.
    pub async fn webhook_applied(&self, notification_id: &str, at_ms: i64) -> Result<()> {
        self.execute_shared(APPLIED, &[Bind::Text(notification_id), Bind::Int(at_ms)]).await.map(drop)
    }

    /// Records a failed attempt: tried again from `retry_at_ms`, or never if `give_up_at_ms` is set.
    pub async fn webhook_failed(
        &self,
        notification_id: &str,
        error: &str,
        retry_at_ms: i64,
        give_up_at_ms: Option<i64>,
    ) -> Result<()> {
        let error: String = error.chars().take(1_000).collect();
        let binds =
            [Bind::Text(notification_id), Bind::Text(&error), Bind::Int(retry_at_ms), Bind::MaybeInt(give_up_at_ms)];
        self.execute_shared(FAILED, &binds).await.map(drop)
    }

    /// Forgets deliveries applied or given up before `before_ms`; returns how many.
    pub async fn prune_webhooks(&self, before_ms: i64) -> Result<u64> {
        self.execute_shared(PRUNE, &[Bind::Int(before_ms)]).await
    }
}

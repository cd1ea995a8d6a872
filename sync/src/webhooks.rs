//! Intercom webhooks, for freshness between scheduled runs: a notification names an object, which is fetched
//! again (webhooks are triggers; the scheduled search stays the source of truth).
//!
//! Every delivery is authenticated: `X-Hub-Signature: sha1=<hex>` must be the HMAC-SHA1 of the raw body keyed
//! with the app's client secret, compared in constant time. An authentic delivery is written into the store's
//! inbox before it is acknowledged, deduplicated by its notification id, and applied later by the process that
//! syncs ([`Inbox::apply`]): any replica may receive it, and it survives the death of the one that did. Intercom
//! pauses endpoints that answer slowly or with errors, so nothing but that one write happens before the answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac as _};
use sha1::{Digest as _, Sha1};
use tokio::sync::Notify;

use super::SyncEngine;
use crate::store::{PendingWebhook, Store, StoreError};

pub use crate::store::WebhookRefresh as Refresh;

/// Where Intercom posts notifications.
pub const PATH: &str = "/webhooks/intercom";
/// Largest body accepted (notifications carry one object).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// How long accepting a delivery may wait for the store; past it the answer is 503 and Intercom delivers again.
const ACCEPT_WITHIN: Duration = Duration::from_secs(5);
/// How often the applier looks for deliveries other replicas accepted (its own wake it at once).
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// Deliveries applied per look.
const BATCH: u32 = 64;
/// Attempts before a delivery is given up (the scheduled sync still brings its object); see [`next_attempt_at`].
const MAX_ATTEMPTS: u32 = 6;
/// Longest pause of the applier while the store does not take outcomes.
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// How long applied deliveries are kept, so a late redelivery of one is recognised.
const KEEP_APPLIED_MS: i64 = 24 * 60 * 60 * 1_000;

/// The app's client secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// One notification worth acting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Intercom's notification id (`notif_...`), or for a body without one a digest of the body, so the same
    /// delivery sent again is still recognised.
    pub notification_id: String,
    pub refresh: Refresh,
}

/// The store's webhook inbox, and the signal that wakes this process's applier when its own endpoint accepted
/// a delivery.
#[derive(Clone)]
pub struct Inbox {
    store: Store,
    accepted: Arc<Notify>,
}

#[derive(Clone)]
struct Endpoint {
    secret: ClientSecret,
    inbox: Inbox,
}

impl Inbox {
    pub fn new(store: Store) -> Self {
        Self { store, accepted: Arc::new(Notify::new()) }
    }

    /// The webhook route, writing into this inbox.
    pub fn router(&self, secret: ClientSecret) -> Router {
        Router::new()
            .route(PATH, post(receive))
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
            .with_state(Endpoint { secret, inbox: self.clone() })
    }

    /// Applies the deliveries any process accepted, those due first first, until dropped: a failed one is tried
    /// again after a pause that doubles, up to [`MAX_ATTEMPTS`]. Run by the process that syncs, and only by it.
    pub async fn apply(self, engine: SyncEngine) {
        let mut said_failing = false;
        let mut pruned_at = 0;
        // After outcomes could not be recorded (the store refuses writes), the same deliveries would be due again
        // at once and fetched again from Intercom: the pause grows instead, up to a minute.
        let mut pause = LOOK_EVERY;
        loop {
            let now = unix_ms();
            match self.store.pending_webhooks(now, BATCH).await {
                Ok(due) => {
                    said_failing = false;
                    let full = due.len() == BATCH as usize;
                    if apply_all(&engine, due).await == Recorded::NotAll {
                        pause = (pause * 2).min(MAX_PAUSE);
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                    pause = LOOK_EVERY;
                    if now - pruned_at > KEEP_APPLIED_MS / 24 {
                        pruned_at = now;
                        if let Err(error) = self.store.prune_webhooks(now - KEEP_APPLIED_MS).await {
                            tracing::debug!(%error, "cannot prune applied webhook deliveries");
                        }
                    }
                    if full {
                        continue;
                    }
                }
                Err(error) if !said_failing => {
                    said_failing = true;
                    tracing::warn!(%error, "cannot read the webhook inbox; trying again");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = self.accepted.notified() => {}
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    }
}

/// Whether every outcome of a batch was recorded in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    All,
    NotAll,
}

/// When a delivery that failed `attempts` times so far (this one included) is tried again, or `None` when it is
/// given up: the waits double from two seconds (2, 4, 8, 16, 32 s: about a minute in all).
pub fn next_attempt_at(attempts: u32, now_ms: i64) -> Option<i64> {
    (attempts < MAX_ATTEMPTS).then(|| now_ms + 1_000 * (1_i64 << attempts.min(20)))
}

/// Applies `due`, fetching each object once however many deliveries named it.
async fn apply_all(engine: &SyncEngine, due: Vec<PendingWebhook>) -> Recorded {
    let mut recorded_all = Recorded::All;
    let mut done: std::collections::HashMap<Refresh, Result<(), String>> = std::collections::HashMap::new();
    for delivery in due {
        let result = match done.get(&delivery.refresh) {
            Some(result) => result.clone(),
            None => {
                let result = match &delivery.refresh {
                    Refresh::Conversation(id) => engine.refresh_conversation(id).await,
                    Refresh::Contact(id) => engine.refresh_contact(id).await,
                }
                .map_err(|error| error.to_string());
                done.insert(delivery.refresh.clone(), result.clone());
                result
            }
        };
        let store = engine.store();
        let now = unix_ms();
        let recorded = match &result {
            Ok(()) => {
                tracing::debug!(refresh = ?delivery.refresh, "webhook delivery applied");
                store.webhook_applied(&delivery.notification_id, now).await
            }
            Err(error) => {
                let attempts = delivery.attempts.saturating_add(1);
                let retry_at = next_attempt_at(attempts, now);
                let give_up = retry_at.is_none();
                match give_up {
                    true => {
                        tracing::warn!(refresh = ?delivery.refresh, %error, attempts, "webhook delivery given up; the scheduled sync will bring its object")
                    }
                    false => {
                        tracing::info!(refresh = ?delivery.refresh, %error, attempts, "webhook delivery failed; trying again")
                    }
                }
                store
                    .webhook_failed(&delivery.notification_id, error, retry_at.unwrap_or(now), give_up.then_some(now))
                    .await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(refresh = ?delivery.refresh, %error, "cannot record a webhook delivery's outcome");
            recorded_all = Recorded::NotAll;
        }
    }
    recorded_all
}

async fn receive(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    if !signature.is_some_and(|signature| verify(&endpoint.secret, &body, signature)) {
        tracing::warn!(bytes = body.len(), "rejected a webhook delivery: missing or invalid X-Hub-Signature");
        return StatusCode::UNAUTHORIZED;
    }
    let Some(delivery) = parse(&body) else {
        // Signed but not something we act on (ping, admin or company topics, ...): acknowledge.
        return StatusCode::OK;
    };
    let inbox = &endpoint.inbox;
    let accepted = tokio::time::timeout(
        ACCEPT_WITHIN,
        inbox.store.accept_webhook(&delivery.notification_id, &delivery.refresh, unix_ms()),
    );
    match accepted.await {
        Ok(Ok(true)) => {
            inbox.accepted.notify_one();
            StatusCode::ACCEPTED
        }
        // Accepted before (a redelivery): nothing more to do.
        Ok(Ok(false)) => StatusCode::OK,
        Ok(Err(StoreError::InvalidArgument(reason))) => {
            tracing::warn!(%reason, "refused a signed webhook delivery");
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot keep a webhook delivery; Intercom will deliver it again");
            StatusCode::SERVICE_UNAVAILABLE
        }
        Err(_) => {
            tracing::warn!("the store did not take a webhook delivery in time; Intercom will deliver it again");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

fn unix_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Whether `signature` (`sha1=<40 hex>`) is the HMAC-SHA1 of `body` under `secret`; constant-time.
pub fn verify(secret: &ClientSecret, body: &[u8], signature: &str) -> bool {
    let Some(expected) = signature.trim().strip_prefix("sha1=").and_then(|hex| hex::decode(hex).ok()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.0.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature Intercom would send for `body`: `sha1=<hex>`.
pub fn sign(secret: &ClientSecret, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.0.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delivery a notification makes, for the topics that concern conversations and contacts.
pub fn parse(body: &[u8]) -> Option<Delivery> {
    let notification: serde_json::Value = serde_json::from_slice(body).ok()?;
    let topic = notification.get("topic")?.as_str()?;
    let item = notification.get("data")?.get("item")?;
    let id = match item.get("id")? {
        serde_json::Value::String(id) => id.clone(),
        serde_json::Value::Number(id) => id.to_string(),
        _ => return None,
    };
    let refresh = if topic.starts_with("conversation.") || topic.starts_with("conversation_part.") {
        // Part topics carry the conversation as their item too.
        Refresh::Conversation(id)
    } else if topic.starts_with("contact.") || topic.starts_with("user.") {
        Refresh::Contact(id)
    } else {
        return None;
    };
    let notification_id = match notification.get("id").and_then(|id| id.as_str()) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("sha1:{}", hex::encode(Sha1::digest(body))),
    };
    Some(Delivery { notification_id, refresh })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_right_secret_and_body() {
        let secret = ClientSecret::new("s3cret");
        let body = br#"{"topic":"ping"}"#;
        let signature = sign(&secret, body);
        assert!(signature.starts_with("sha1=") && signature.len() == 45);
        assert!(verify(&secret, body, &signature));
        assert!(!verify(&ClientSecret::new("other"), body, &signature));
        assert!(!verify(&secret, br#"{"topic":"pong"}"#, &signature));
        assert!(!verify(&secret, body, signature.trim_start_matches("sha1=")));
        assert!(!verify(&secret, body, "sha1=zz"));
        assert!(!verify(&secret, body, ""));
    }

    #[test]
    fn known_hmac_sha1_vector() {
        // RFC 2202 test case 2.
        let secret = ClientSecret::new("Jefe");
        assert_eq!(sign(&secret, b"what do ya want for nothing?"), "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn topics_map_to_refreshes() {
        let notification = |topic: &str, id: &str| {
            format!(
                r#"{{"type":"notification_event","id":"notif_1","topic":"{topic}","data":{{"type":"notification_event_data","item":{{"type":"x","id":{id}}}}}}}"#
            )
        };
        let refresh = |body: String| parse(body.as_bytes()).map(|delivery| delivery.refresh);
        assert_eq!(
            refresh(notification("conversation.user.replied", "\"123\"")),
            Some(Refresh::Conversation("123".into()))
        );
        assert_eq!(refresh(notification("conversation.deleted", "456")), Some(Refresh::Conversation("456".into())));
        assert_eq!(refresh(notification("contact.user.updated", "\"abc\"")), Some(Refresh::Contact("abc".into())));
        assert_eq!(refresh(notification("company.created", "\"c1\"")), None);
        assert_eq!(parse(b"not json"), None);
    }

    #[test]
    fn a_failing_delivery_waits_twice_as_long_each_time_and_is_given_up_after_six_attempts() {
        let now = 1_000_000;
        let waits: Vec<Option<i64>> =
            (1..=6).map(|attempts| next_attempt_at(attempts, now).map(|at| at - now)).collect();
        assert_eq!(waits, [Some(2_000), Some(4_000), Some(8_000), Some(16_000), Some(32_000), None]);
        assert_eq!(next_attempt_at(u32::MAX, now), None);
    }

    #[test]
    fn deliveries_are_named_by_their_notification_id_or_else_by_their_body() {
        let named = br#"{"id":"notif_7","topic":"conversation.admin.closed","data":{"item":{"id":"9"}}}"#;
        assert_eq!(parse(named).unwrap().notification_id, "notif_7");
        let unnamed = br#"{"topic":"conversation.admin.closed","data":{"item":{"id":"9"}}}"#;
        let other = br#"{"topic":"conversation.admin.closed","data":{"item":{"id":"10"}}}"#;
        let id = parse(unnamed).unwrap().notification_id;
        assert!(id.starts_with("sha1:") && id.len() == 45, "{id}");
        assert_eq!(parse(unnamed).unwrap().notification_id, id, "the same body, the same name");
        assert_ne!(parse(other).unwrap().notification_id, id);
    }
}

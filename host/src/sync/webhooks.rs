//! Intercom webhooks, for freshness between scheduled runs: a notification names an object, which is fetched
//! again (webhooks are triggers; the scheduled search stays the source of truth).
//!
//! Every delivery is authenticated: `X-Hub-Signature: sha1=<hex>` must be the HMAC-SHA1 of the raw body keyed
//! with the app's client secret, compared in constant time. Deliveries are acknowledged at once and processed by
//! a worker, as Intercom pauses endpoints that answer slowly or with errors.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use tokio::sync::mpsc;

use super::SyncEngine;

/// Where Intercom posts notifications.
pub const PATH: &str = "/webhooks/intercom";
/// Deliveries waiting for the worker; more are refused with 503 (Intercom retries).
const QUEUE: usize = 1024;
/// Largest body accepted (notifications carry one object).
const MAX_BODY: usize = 2 * 1024 * 1024;

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

/// What a notification asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    Conversation(String),
    Contact(String),
}

#[derive(Clone)]
struct Endpoint {
    secret: ClientSecret,
    queue: mpsc::Sender<Refresh>,
}

/// The webhook route and the worker that carries out refreshes (spawned on the current runtime).
pub fn router(engine: SyncEngine, secret: ClientSecret) -> Router {
    let (queue, mut refreshes) = mpsc::channel::<Refresh>(QUEUE);
    tokio::spawn(async move {
        while let Some(refresh) = refreshes.recv().await {
            let result = match &refresh {
                Refresh::Conversation(id) => engine.refresh_conversation(id).await,
                Refresh::Contact(id) => engine.refresh_contact(id).await,
            };
            match result {
                Ok(()) => tracing::debug!(?refresh, "webhook refresh done"),
                Err(error) => tracing::warn!(?refresh, %error, "webhook refresh failed"),
            }
        }
    });
    Router::new()
        .route(PATH, post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(Endpoint { secret, queue })
}

async fn receive(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    if !signature.is_some_and(|signature| verify(&endpoint.secret, &body, signature)) {
        tracing::warn!(bytes = body.len(), "rejected a webhook delivery: missing or invalid X-Hub-Signature");
        return StatusCode::UNAUTHORIZED;
    }
    let Some(refresh) = parse(&body) else {
        // Signed but not something we act on (ping, admin or company topics, ...): acknowledge.
        return StatusCode::OK;
    };
    match endpoint.queue.try_send(refresh) {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
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

/// The object a notification names, for the topics that concern conversations and contacts.
pub fn parse(body: &[u8]) -> Option<Refresh> {
    let notification: serde_json::Value = serde_json::from_slice(body).ok()?;
    let topic = notification.get("topic")?.as_str()?;
    let item = notification.get("data")?.get("item")?;
    let id = match item.get("id")? {
        serde_json::Value::String(id) => id.clone(),
        serde_json::Value::Number(id) => id.to_string(),
        _ => return None,
    };
    if topic.starts_with("conversation.") || topic.starts_with("conversation_part.") {
        // Part topics carry the conversation as their item too.
        Some(Refresh::Conversation(id))
    } else if topic.starts_with("contact.") || topic.starts_with("user.") {
        Some(Refresh::Contact(id))
    } else {
        None
    }
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
                r#"{{"type":"notification_event","topic":"{topic}","data":{{"type":"notification_event_data","item":{{"type":"x","id":{id}}}}}}}"#
            )
        };
        assert_eq!(
            parse(notification("conversation.user.replied", "\"123\"").as_bytes()),
            Some(Refresh::Conversation("123".into()))
        );
        assert_eq!(
            parse(notification("conversation.deleted", "456").as_bytes()),
            Some(Refresh::Conversation("456".into()))
        );
        assert_eq!(
            parse(notification("contact.user.updated", "\"abc\"").as_bytes()),
            Some(Refresh::Contact("abc".into()))
        );
        assert_eq!(parse(notification("company.created", "\"c1\"").as_bytes()), None);
        assert_eq!(parse(b"not json"), None);
    }
}

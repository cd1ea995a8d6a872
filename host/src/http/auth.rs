//! Bearer-token authentication and per-key rate limiting in front of `/mcp`.
//!
//! The active keys are held in memory and reloaded from the store every [`KEY_RELOAD_INTERVAL`], so a key made
//! or revoked by `fastintercom keys` (another process) takes effect within seconds without a restart. A server
//! that started with no key at all (allowed on loopback only) treats every request as [`Caller::anonymous`]
//! until a key appears; from then on it requires keys for good, even if they are all revoked later (failing
//! closed: revoking the last key must not open the server).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::rate_limit::RateLimits;
use crate::access::{Caller, KeySet, StoredKey, ToolPattern};
use crate::store::Store;

/// How often the active keys are re-read from the store.
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// What the middleware needs: the keys, whether keyless access is allowed, and the rate limits.
#[derive(Clone)]
pub struct Gate {
    pub keys: Arc<ArcSwap<KeySet>>,
    /// True while keyless access is allowed: on a loopback address, from a start without keys until a key
    /// appears. Never set again once cleared.
    pub anonymous: Arc<AtomicBool>,
    pub limits: Arc<RateLimits>,
}

/// The active keys in `store`, and how many active keys it holds. A key whose stored tool pattern no longer
/// parses is left out of the set (and logged) but still counted: failing closed beats granting every tool.
pub async fn load_keys(store: &Store) -> crate::store::Result<(KeySet, usize)> {
    let mut active = Vec::new();
    let mut configured = 0;
    for record in store.api_keys().await? {
        if record.revoked_at.is_some() {
            continue;
        }
        configured += 1;
        let tools = match record.tools.as_deref().map(ToolPattern::parse).transpose() {
            Ok(tools) => tools,
            Err(error) => {
                tracing::error!(key = %record.name, %error, "ignoring an API key with an invalid tool pattern");
                continue;
            }
        };
        active.push(StoredKey { name: record.name, hash: record.hash, tools });
    }
    Ok((KeySet::new(active), configured))
}

/// Keeps `keys` equal to the store's active keys until the process ends, and ends keyless access as soon as a
/// key exists.
pub fn reload_keys_periodically(store: Store, keys: Arc<ArcSwap<KeySet>>, anonymous: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(KEY_RELOAD_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match load_keys(&store).await {
                Ok((set, configured)) => {
                    if configured > 0 && anonymous.swap(false, Ordering::SeqCst) {
                        tracing::info!("an API key exists now: keyless access is off");
                    }
                    keys.store(Arc::new(set));
                }
                Err(error) => tracing::warn!(%error, "cannot reload API keys; keeping the previous set"),
            }
        }
    });
}

/// Authenticates the request, applies the key's rate limit and hands the [`Caller`] to the MCP layer.
pub async fn authenticate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let keys = gate.keys.load();
    let keyless = gate.anonymous.load(Ordering::SeqCst);
    let caller = if keyless {
        Caller::anonymous()
    } else {
        let presented = bearer_token(&request);
        match presented.and_then(|token| keys.authenticate(token)) {
            Some(caller) => caller,
            None => return unauthorized(&request, presented.is_some()),
        }
    };
    let admitted = if keyless { gate.limits.check_keyless().await } else { gate.limits.check(&caller.key_name).await };
    if let Err(wait) = admitted {
        tracing::debug!(key = %caller.key_name, "rate limited");
        metrics::counter!("fastintercom_http_rate_limited_total").increment(1);
        let mut response = super::json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("rate limit of this API key reached; retry in {} ms", wait.as_millis().max(1)),
        )
        .into_response();
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, as RFC 7235 says).
fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|token| !token.is_empty())
}

/// 401 with the `WWW-Authenticate` challenge that points clients at the protected-resource metadata (RFC 9728).
fn unauthorized(request: &Request, presented: bool) -> Response {
    metrics::counter!("fastintercom_http_unauthorized_total").increment(1);
    let metadata = format!("{}/.well-known/oauth-protected-resource", super::public_base(request));
    let mut challenge = format!("Bearer realm=\"fastintercom\", resource_metadata=\"{metadata}\"");
    if presented {
        challenge.push_str(", error=\"invalid_token\"");
    }
    let message = if presented {
        "this API key is not valid (unknown or revoked)"
    } else {
        "an API key is required: send `Authorization: Bearer <key>` (create one with `fastintercom keys create`)"
    };
    let mut response = super::json_error(StatusCode::UNAUTHORIZED, message).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

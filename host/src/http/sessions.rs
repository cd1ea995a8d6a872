//! Binds each legacy MCP session to the API key that opened it. rmcp checks only that a session id exists; a
//! request presenting another key's session id (to read its stream, replay its cached results or close it) is
//! refused here, before rmcp sees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::access::Caller;

/// How long an unused binding is kept: longer than rmcp's idle timeout for sessions (300 s).
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const SESSION_HEADER: &str = "mcp-session-id";

/// The key that opened a session, and when the session was last used.
#[derive(Debug)]
struct Owner {
    key: Arc<str>,
    used: Instant,
}

/// Session id → its owner.
#[derive(Debug, Clone, Default)]
pub struct SessionOwners {
    owners: Arc<Mutex<HashMap<String, Owner>>>,
}

impl SessionOwners {
    fn record(&self, session: &str, key: &Arc<str>) {
        let mut owners = self.owners.lock().expect("session owners lock");
        let now = Instant::now();
        if owners.len() >= 1024 {
            owners.retain(|_, owner| now.duration_since(owner.used) < FORGET_AFTER);
        }
        owners.insert(session.to_owned(), Owner { key: Arc::clone(key), used: now });
    }

    /// Whether `key` may use `session`: it opened it, or the session is unknown here (rmcp then answers 404).
    fn allows(&self, session: &str, key: &Arc<str>) -> bool {
        let mut owners = self.owners.lock().expect("session owners lock");
        match owners.get_mut(session) {
            Some(owner) if owner.key == *key => {
                owner.used = Instant::now();
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    fn forget(&self, session: &str) {
        self.owners.lock().expect("session owners lock").remove(session);
    }
}

/// Runs after authentication: refuses another key's session, and records who opened each new one.
pub async fn bind_sessions(State(owners): State<SessionOwners>, request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return next.run(request).await;
    };
    let presented = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(session) = &presented
        && !owners.allows(session, &caller.key_name)
    {
        tracing::warn!(key = %caller.key_name, "refused a request for another key's session");
        return super::json_error(StatusCode::NOT_FOUND, "no such session for this API key").into_response();
    }
    let closing = request.method() == Method::DELETE;
    let response = next.run(request).await;
    if let Some(created) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        owners.record(created, &caller.key_name);
    }
    if let Some(session) = presented
        && (closing || response.status() == StatusCode::NOT_FOUND)
    {
        owners.forget(&session);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_belongs_to_the_key_that_opened_it() {
        let owners = SessionOwners::default();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        owners.record("s1", &a);
        assert!(owners.allows("s1", &a));
        assert!(!owners.allows("s1", &b));
        assert!(owners.allows("unknown", &b), "unknown sessions are rmcp's to refuse");
        owners.forget("s1");
        assert!(owners.allows("s1", &b));
    }
}

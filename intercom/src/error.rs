//! What can go wrong talking to Intercom, typed so the sync engine can tell what to retry from what to report.
//!
//! Messages never contain the access token (it is only ever in a request header) and quote Intercom's own error
//! text, so they can be shown to the user as they are.

use reqwest::StatusCode;

/// A failed Intercom request, after retries where retrying made sense.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IntercomError {
    /// 401: the access token is wrong or revoked. Retrying cannot help.
    #[error(
        "Intercom rejected the access token (401 {code}: {message}); check the token (INTERCOM_ACCESS_TOKEN or \
         access_token in the config file) and that the workspace's region matches (--intercom-region us|eu|au)"
    )]
    Unauthorized { code: String, message: String },
    /// 403: the token lacks a scope (or the plan an API). Retrying cannot help.
    #[error(
        "Intercom refused access to {path} (403 {code}: {message}); the token lacks a permission (scope) this sync \
         needs, or the workspace's plan does not include this API"
    )]
    Forbidden { path: String, code: String, message: String },
    /// 404, or 410 for a contact merged into another: the object does not exist (any more) under this id.
    #[error("Intercom has no {path} (404)")]
    NotFound { path: String },
    /// Another 4xx: the request itself is wrong, e.g. an expired cursor.
    #[error("Intercom rejected {path} ({status} {code}: {message})")]
    Rejected { path: String, status: u16, code: String, message: String },
    /// 429 that persisted through waiting for the reset.
    #[error("Intercom kept answering 429 (rate limit exceeded) for {path}")]
    RateLimited { path: String },
    /// 5xx.
    #[error("Intercom answered {status} for {path}")]
    Server { path: String, status: u16 },
    /// The connection failed, timed out or was dropped mid-answer.
    #[error("cannot reach Intercom at {base_url} ({detail})")]
    Transport { base_url: String, detail: String },
    /// A 2xx whose body is not the JSON expected (e.g. cut short).
    #[error("Intercom's answer to {path} could not be read: {detail}")]
    Decode { path: String, detail: String },
}

impl IntercomError {
    /// Whether the same request may succeed if sent again.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Server { .. } | Self::Transport { .. } | Self::Decode { .. })
    }

    /// Whether no request can succeed until the user changes something (token, scopes): the sync stops at once
    /// and says so once.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::Forbidden { .. })
    }

    /// Builds the error for a non-success status from Intercom's error body (`error.list`), if it has one.
    pub(crate) fn from_status(status: StatusCode, path: &str, body: &[u8]) -> Self {
        let (code, message) = first_error(body).unwrap_or_else(|| {
            (status.canonical_reason().unwrap_or("error").to_lowercase().replace(' ', "_"), String::new())
        });
        let path = path.to_owned();
        match status.as_u16() {
            401 => Self::Unauthorized { code, message },
            403 => Self::Forbidden { path, code, message },
            404 | 410 => Self::NotFound { path },
            429 => Self::RateLimited { path },
            status @ 500.. => Self::Server { path, status },
            status => Self::Rejected { path, status, code, message },
        }
    }
}

/// The first `{code, message}` of an Intercom error body.
fn first_error(body: &[u8]) -> Option<(String, String)> {
    let body: super::models::ErrorBody = serde_json::from_slice(body).ok()?;
    let first = body.errors.into_iter().next()?;
    // A few endpoints answer with bodies that have a message but no code; the status then names the error.
    (!first.code.is_empty()).then(|| (bounded(first.code), bounded(first.message.unwrap_or_default())))
}

/// Intercom's text, cut short: a misbehaving server must not be able to flood logs and terminals.
fn bounded(text: String) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

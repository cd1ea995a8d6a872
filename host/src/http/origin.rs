//! `Origin` validation, the Streamable HTTP spec's MUST against DNS rebinding: a web page must not be able to
//! drive a server on the user's machine. Requests without an `Origin` (MCP clients that are not browsers) pass;
//! a browser's request passes only from a loopback origin or one the operator allowed.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The origins a request may come from.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Exact origins (`https://app.example.com`) or a scheme and host with any port (`http://intranet:*`).
    allowed: Arc<[String]>,
}

impl OriginPolicy {
    pub fn new(allowed: &[String]) -> Self {
        Self { allowed: allowed.iter().map(|origin| origin.trim_end_matches('/').to_owned()).collect() }
    }

    pub fn allows(&self, origin: &str) -> bool {
        is_loopback_origin(origin)
            || self.allowed.iter().any(|allowed| match allowed.strip_suffix(":*") {
                Some(prefix) => origin == prefix || origin.strip_prefix(prefix).is_some_and(is_port_suffix),
                None => origin == allowed,
            })
    }
}

/// `http(s)://localhost`, `127.0.0.1` or `[::1]`, with or without a port.
fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
        return false;
    };
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|host| rest == *host || rest.strip_prefix(host).is_some_and(is_port_suffix))
}

/// `:` and one to five digits.
fn is_port_suffix(rest: &str) -> bool {
    rest.strip_prefix(':').is_some_and(|port| (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()))
}

/// Refuses requests from an origin the policy does not allow, before anything else looks at them.
pub async fn check_origin(State(policy): State<OriginPolicy>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|origin| policy.allows(origin));
        if !allowed {
            tracing::debug!("refused a request from a disallowed Origin");
            metrics::counter!("fastintercom_http_origin_refused_total").increment(1);
            return super::json_error(StatusCode::FORBIDDEN, "this Origin is not allowed to use the server")
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_loopback_and_configured_origins_only() {
        let policy = OriginPolicy::new(&["https://support.example.com".to_owned(), "http://intranet:*".to_owned()]);
        for ok in [
            "http://localhost",
            "http://localhost:6274",
            "https://127.0.0.1:8443",
            "http://[::1]:3000",
            "https://support.example.com",
            "http://intranet:8080",
            "http://intranet",
        ] {
            assert!(policy.allows(ok), "{ok}");
        }
        for refused in [
            "null",
            "http://evil.example",
            "http://localhost.evil.example",
            "http://localhost:80:80",
            "http://127.0.0.1.evil.example:80",
            "https://support.example.com.evil",
            "http://support.example.com",
            "http://intranet:8080/x",
            "file://",
        ] {
            assert!(!policy.allows(refused), "{refused}");
        }
    }
}

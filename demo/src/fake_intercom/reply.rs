//! What a handler answers, before rate-limit headers and faults are applied: status, JSON bytes and extra headers.
//! Errors carry Intercom's `error.list` body so clients exercise their real error parsing.

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    /// `application/json` unless a fault says otherwise.
    pub content_type: &'static str,
}

impl Reply {
    pub fn json(body: impl Into<Bytes>) -> Self {
        Self { status: StatusCode::OK, body: body.into(), content_type: "application/json" }
    }

    /// An Intercom error: `{"type":"error.list","request_id":...,"errors":[{"code","message"}]}`.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Self {
        let body = json!({
            "type": "error.list",
            "request_id": request_id(),
            "errors": [{"code": code, "message": message}],
        });
        Self { status, body: Bytes::from(body.to_string()), content_type: "application/json" }
    }

    pub fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "not_found", "Resource Not Found")
    }

    /// 400 for anything the fake does not accept in a request (never a panic, never a 500).
    pub fn bad_request(message: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

/// A random UUID-shaped request id, as Intercom puts in every error.
pub fn request_id() -> String {
    let (a, b, c): (u64, u64, u32) = (rand::random(), rand::random(), rand::random());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (c & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// `unix` seconds (clamped to the epoch) as an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"), for `Date`.
pub fn http_date(unix: i64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64))
}

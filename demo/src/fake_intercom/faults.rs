//! Injected failures: the next N requests that reach a data endpoint (authenticated, within the rate limit,
//! routed) get a fault instead of, or on top of, their normal answer.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::reply::Reply;

/// A failure a real Intercom (or the network in front of it) produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with Intercom's body and rate-limit headers; `X-RateLimit-Reset` is the end of the current window.
    TooManyRequests,
    /// 500 with an Intercom error body.
    ServerError,
    /// 502 with an HTML body and no rate-limit headers, as a load balancer in front of Intercom sends it.
    BadGateway,
    /// The normal answer, after this delay.
    Slow(Duration),
    /// The status line, headers and a few body bytes, then the connection closes well short of the declared
    /// `Content-Length`: the client sees an incomplete message.
    DropConnection,
    /// 200, `application/json`, and the first half of the real body (with a `Content-Length` that matches it).
    TruncatedJson,
}

/// Faults waiting for requests, in the order they were injected.
#[derive(Debug, Default)]
pub struct FaultQueue {
    queue: Mutex<VecDeque<(Fault, usize)>>,
}

impl FaultQueue {
    pub fn push(&self, fault: Fault, times: usize) {
        if times > 0 {
            self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push_back((fault, times));
        }
    }

    /// The fault for the next request, if any.
    pub fn take(&self) -> Option<Fault> {
        let mut queue = self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (fault, left) = queue.front_mut()?;
        let fault = fault.clone();
        *left -= 1;
        if *left == 0 {
            queue.pop_front();
        }
        Some(fault)
    }
}

pub fn server_error() -> Reply {
    Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Server Error")
}

pub fn bad_gateway() -> Reply {
    Reply {
        status: StatusCode::BAD_GATEWAY,
        body: Bytes::from_static(
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
        ),
        content_type: "text/html",
    }
}

/// The first half of `reply`'s body as a 200 JSON answer.
pub fn truncated(reply: Reply) -> Reply {
    let half = reply.body.len() / 2;
    Reply { status: StatusCode::OK, body: reply.body.slice(..half), content_type: "application/json" }
}

/// A response whose body fails after a few bytes, well short of its declared length: hyper then closes the
/// connection without completing the message. The failure waits a moment so the head and the first bytes are
/// flushed: the client sees a 200 whose body breaks, the harder case to handle.
pub fn dropped_connection() -> Response {
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok(Bytes::from_static(b"{\"type\":\"conver")), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let error = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault injected: dropped");
                Some((Err(error), 2))
            }
            _ => None,
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
    response
}

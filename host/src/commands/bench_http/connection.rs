//! The load generator's HTTP/1.1 connection: one keep-alive TCP connection that writes requests made whole
//! before the clock starts and reads each answer by its `Content-Length`.
//!
//! Why not the HTTP client the tests use (reqwest): the load generator shares the two cores with the server it
//! measures, and a general client's per-request work (building headers, a body stream, a response object) took
//! about 70 µs of CPU per call here, a fifth of what the server spends. This does what `wrk` would: a write and a
//! read or two per call. It understands only what our server sends a `tools/call`: a `Content-Length` body (a
//! JSON answer) or a chunked one (a legacy session's SSE stream, which ends after the answer); anything else is
//! an error, counted as a failed call.

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Largest answer accepted (a `get_conversation` of a long thread is a few hundred KB).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// One keep-alive connection to the server.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// A whole HTTP/1.1 `POST` of `body` to `path` with `headers`, ready to write.
pub fn post_request(authority: &str, path: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut request = format!("POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    request.into_bytes()
}

impl Connection {
    pub async fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address).await.with_context(|| format!("cannot connect to {address}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buffer: Vec::with_capacity(64 * 1024) })
    }

    /// Writes `request` (see [`post_request`]) and reads its answer; returns the status code and the body.
    pub async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(at) = memchr::memmem::find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end]).context("the answer's head is not text")?;
        let status: u16 = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("not an HTTP/1.1 status line: {:?}", head.lines().next()))?;
        let header = |wanted: &str| {
            head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case(wanted).then(|| value.trim().to_ascii_lowercase())
            })
        };
        if header("transfer-encoding").as_deref() == Some("chunked") {
            let body = self.read_chunks(head_end).await?;
            return Ok((status, &self.buffer[head_end..head_end + body]));
        }
        let length: usize = header("content-length")
            .and_then(|value| value.parse().ok())
            .context("the answer has neither a Content-Length nor chunks")?;
        if length > MAX_ANSWER_BYTES {
            bail!("an answer of {length} bytes is larger than expected");
        }
        while self.buffer.len() < head_end + length {
            self.read_more().await?;
        }
        if self.buffer.len() > head_end + length {
            bail!("the server sent more than the answer");
        }
        Ok((status, &self.buffer[head_end..]))
    }

    /// Reads a chunked body that starts at `start` and joins its chunks in place, right after `start`; returns
    /// the body's length.
    async fn read_chunks(&mut self, start: usize) -> anyhow::Result<usize> {
        let (mut body_end, mut at) = (start, start);
        loop {
            let line_end = loop {
                if let Some(end) = memchr::memmem::find(&self.buffer[at..], b"\r\n") {
                    break at + end;
                }
                self.read_more().await?;
            };
            let size_text = std::str::from_utf8(&self.buffer[at..line_end])?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .with_context(|| format!("bad chunk size {size_text:?}"))?;
            if body_end - start + size > MAX_ANSWER_BYTES {
                bail!("a chunked answer larger than expected");
            }
            let data = line_end + 2;
            while self.buffer.len() < data + size + 2 {
                self.read_more().await?;
            }
            if size == 0 {
                return Ok(body_end - start);
            }
            self.buffer.copy_within(data..data + size, body_end);
            body_end += size;
            at = data + size + 2;
        }
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.buffer.capacity() - self.buffer.len() < 16 * 1024 {
            self.buffer.reserve(64 * 1024);
        }
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

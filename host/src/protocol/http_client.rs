//! A minimal MCP client for the Streamable HTTP server, in either protocol era. Used by `fastintercom
//! bench-http` and the HTTP tests, which need to see status codes, headers and every message on the wire.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

pub use super::stdio_client::Era;

const LEGACY_VERSION: &str = "2025-11-25";
const MODERN_VERSION: &str = "2026-07-28";

/// A `fastintercom … serve --http 127.0.0.1:0` child process that is listening, with its log.
#[derive(Debug)]
pub struct ServerProcess {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:<port>/mcp`, read off the server's log.
    pub url: String,
    /// Every line the server wrote to stderr so far (JSON), collected in the background.
    pub log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Spawns `command` (its log filter must let `fastintercom::commands::serve` through at info) with stderr as
    /// JSON lines (unless the command sets `FASTINTERCOM_LOG_FORMAT` itself) and stdout discarded, and waits up to
    /// `within` for the line saying where it listens.
    pub async fn spawn(mut command: tokio::process::Command, within: Duration) -> anyhow::Result<Self> {
        if !command.as_std().get_envs().any(|(name, _)| name == "FASTINTERCOM_LOG_FORMAT") {
            command.env("FASTINTERCOM_LOG_FORMAT", "json");
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().context("cannot start the server")?;
        let mut lines = tokio::io::BufReader::new(child.stderr.take().context("no stderr")?).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let append = |log: &Mutex<String>, line: &str| {
            let mut log = log.lock().expect("log lock");
            log.push_str(line);
            log.push('\n');
        };
        let url = tokio::time::timeout(within, async {
            while let Some(line) = lines.next_line().await? {
                append(&log, &line);
                if let Some(start) = line.find("http://127.0.0.1:").filter(|_| line.contains("serving MCP")) {
                    return Ok(line[start..].chars().take_while(|c| !matches!(c, '"' | ' ')).collect::<String>());
                }
            }
            bail!("the server exited before listening: {}", log.lock().expect("log lock"))
        })
        .await
        .context("the server did not start listening in time")??;
        let collected = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                append(&collected, &line);
            }
        });
        Ok(Self { child, url, log })
    }
}

/// One HTTP exchange: the status, the headers and the JSON-RPC messages of the body (a JSON body or the `data:`
/// events of an SSE body).
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    pub messages: Vec<Value>,
    /// The body as text when it was neither JSON-RPC nor SSE (e.g. a 401's JSON error).
    pub body: String,
}

impl HttpReply {
    /// The message answering request `id`.
    pub fn response_to(&self, id: u64) -> Option<&Value> {
        self.messages.iter().find(|message| message.get("id") == Some(&json!(id)))
    }
}

/// A client of one server URL (`http://host:port/mcp`), with an optional API key.
#[derive(Debug, Clone)]
pub struct HttpClient {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
    era: Era,
    session: Option<String>,
    next_id: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl HttpClient {
    pub fn new(url: &str, key: Option<&str>, era: Era) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1024)
            .build()
            .expect("a reqwest client without TLS settings builds");
        Self {
            http,
            url: url.to_owned(),
            key: key.map(str::to_owned),
            era,
            session: None,
            next_id: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    pub fn era(&self) -> Era {
        self.era
    }

    /// The legacy session id, once [`HttpClient::open`] made one.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Legacy: `initialize` then `notifications/initialized` (the session id is kept); modern:
    /// `server/discover`. Returns the server's answer.
    pub async fn open(&mut self) -> anyhow::Result<Value> {
        match self.era {
            Era::Legacy => {
                let params = json!({"protocolVersion": LEGACY_VERSION, "capabilities": {},
                                    "clientInfo": {"name": "fastintercom-http-client", "version": "1"}});
                let (id, reply) = self.send_request("initialize", params).await?;
                let result = result_of(&reply, id, "initialize")?;
                self.session =
                    reply.headers.get("mcp-session-id").and_then(|value| value.to_str().ok()).map(str::to_owned);
                self.session.as_ref().context("initialize answered without an Mcp-Session-Id")?;
                let notified = self
                    .post(
                        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                        "notifications/initialized",
                        None,
                    )
                    .await?;
                if !notified.status.is_success() {
                    bail!("notifications/initialized answered {}", notified.status);
                }
                Ok(result)
            }
            Era::Modern => self.request("server/discover", json!({})).await,
        }
    }

    /// Calls a tool; returns the `result` object (content, structuredContent, isError).
    pub async fn call_tool(&self, name: &str, arguments: Value) -> anyhow::Result<Value> {
        self.request("tools/call", json!({"name": name, "arguments": arguments})).await
    }

    /// Sends a request and returns its `result`; a JSON-RPC error or an HTTP failure is an `Err`.
    pub async fn request(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let (id, reply) = self.send_request(method, params).await?;
        result_of(&reply, id, method)
    }

    /// Sends a request and returns the request id and the whole reply, whatever its status.
    pub async fn send_request(&self, method: &str, params: Value) -> anyhow::Result<(u64, HttpReply)> {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = params.get("name").and_then(Value::as_str).map(str::to_owned);
        let message = self.request_message(id, method, params);
        Ok((id, self.post(&message, method, name.as_deref()).await?))
    }

    /// The JSON-RPC request `id` of `method` as this client's era sends it (2026-07-28: with per-request `_meta`).
    pub fn request_message(&self, id: u64, method: &str, mut params: Value) -> Value {
        if self.era == Era::Modern {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                "io.modelcontextprotocol/clientInfo": {"name": "fastintercom-http-client", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {},
            });
        }
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    /// POSTs one JSON-RPC message with the headers of this client's era.
    pub async fn post(&self, message: &Value, method: &str, name: Option<&str>) -> anyhow::Result<HttpReply> {
        let mut request = self.http.post(&self.url).body(message.to_string());
        for (header, value) in self.post_headers(method, name) {
            request = request.header(header, value);
        }
        let response = request.send().await.with_context(|| format!("POST {} failed", self.url))?;
        read_reply(response).await
    }

    /// The headers of a POST of one JSON-RPC message of `method` (about tool `name`) in this client's era.
    pub fn post_headers(&self, method: &str, name: Option<&str>) -> Vec<(&'static str, String)> {
        let mut headers = self.common_headers();
        headers.push(("content-type", "application/json".to_owned()));
        if self.era == Era::Modern {
            headers.push(("mcp-method", method.to_owned()));
            if let Some(name) = name {
                headers.push(("mcp-name", name.to_owned()));
            }
        }
        headers
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Opens a 2026-07-28 `subscriptions/listen` stream for list_changed, or (legacy) the session's GET stream.
    /// Returns once the server answered with a stream (the acknowledgement, for listen).
    pub async fn open_notifications(&self) -> anyhow::Result<NotificationStream> {
        let response = match self.era {
            Era::Modern => {
                let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let message = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen", "params": {
                    "notifications": {"toolsListChanged": true},
                    "_meta": {
                        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                        "io.modelcontextprotocol/clientInfo": {"name": "fastintercom-http-client", "version": "1"},
                        "io.modelcontextprotocol/clientCapabilities": {},
                    }
                }});
                let request = self.http.post(&self.url).body(message.to_string());
                self.with_headers(request)
                    .header("content-type", "application/json")
                    .header("mcp-method", "subscriptions/listen")
                    .timeout(Duration::from_secs(3600))
                    .send()
                    .await?
            }
            Era::Legacy => {
                self.with_headers(self.http.get(&self.url)).timeout(Duration::from_secs(3600)).send().await?
            }
        };
        if !response.status().is_success() {
            bail!("opening the notification stream answered {}: {}", response.status(), response.text().await?);
        }
        Ok(NotificationStream { response, buffer: String::new() })
    }

    fn with_headers(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (header, value) in self.common_headers() {
            request = request.header(header, value);
        }
        request
    }

    /// The headers of every request: what the client accepts, its protocol version, its key and its session.
    fn common_headers(&self) -> Vec<(&'static str, String)> {
        let version = match self.era {
            Era::Legacy => LEGACY_VERSION,
            Era::Modern => MODERN_VERSION,
        };
        let mut headers = vec![
            ("accept", "application/json, text/event-stream".to_owned()),
            ("mcp-protocol-version", version.to_owned()),
        ];
        if let Some(key) = &self.key {
            headers.push(("authorization", format!("Bearer {key}")));
        }
        if let Some(session) = &self.session {
            headers.push(("mcp-session-id", session.clone()));
        }
        headers
    }
}

/// Server-sent events of an open stream, as JSON-RPC messages.
#[derive(Debug)]
pub struct NotificationStream {
    response: reqwest::Response,
    buffer: String,
}

impl NotificationStream {
    /// The next JSON-RPC message on the stream (keep-alives and priming events skipped); `None` at its end.
    pub async fn next_message(&mut self) -> anyhow::Result<Option<Value>> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(message) = event_message(&event) {
                    return Ok(Some(message));
                }
            }
            match self.response.chunk().await? {
                Some(chunk) => self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
                None => return Ok(None),
            }
        }
    }
}

/// The JSON of an SSE event's `data:` lines, if it has any.
fn event_message(event: &str) -> Option<Value> {
    let data: Vec<&str> =
        event.lines().filter_map(|line| line.strip_prefix("data:")).map(|data| data.trim_start()).collect();
    if data.is_empty() || data.iter().all(|d| d.is_empty()) {
        return None;
    }
    serde_json::from_str(&data.join("\n")).ok()
}

async fn read_reply(response: reqwest::Response) -> anyhow::Result<HttpReply> {
    let status = response.status();
    let headers = response.headers().clone();
    let is_sse = headers
        .get("content-type")
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let body = response.text().await.context("reading the response body")?;
    let messages = if is_sse {
        body.replace("\r\n", "\n").split("\n\n").filter_map(event_message).collect()
    } else {
        serde_json::from_str::<Value>(&body).ok().filter(|v| v.get("jsonrpc").is_some()).into_iter().collect()
    };
    Ok(HttpReply { status, headers, messages, body })
}

fn result_of(reply: &HttpReply, id: u64, method: &str) -> anyhow::Result<Value> {
    if !reply.status.is_success() {
        bail!("{method} answered HTTP {}: {}", reply.status, reply.body);
    }
    let message = reply.response_to(id).with_context(|| format!("{method} got no response: {}", reply.body))?;
    if let Some(error) = message.get("error") {
        bail!("{method} returned a JSON-RPC error: {error}");
    }
    Ok(message["result"].clone())
}

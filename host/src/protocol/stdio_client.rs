//! A minimal MCP client that drives a `fastintercom serve` child process over its stdio, speaking raw
//! line-delimited JSON-RPC. Used by `fastintercom bench` and the end-to-end tests, which need to see exactly
//! what goes over the wire (including deliberately malformed lines) rather than a full SDK's view of it.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Which MCP lifecycle the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize` + `notifications/initialized`, then a session (protocol 2025-11-25).
    Legacy,
    /// `server/discover`, then stateless requests carrying protocol version and capabilities in `_meta`
    /// (protocol 2026-07-28).
    Modern,
}

/// Longest wait for one response before the client gives up on the server.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server and the pipes to it.
pub struct StdioClient {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    era: Era,
}

impl std::fmt::Debug for StdioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdioClient").field("era", &self.era).finish_non_exhaustive()
    }
}

impl StdioClient {
    /// Starts `exe serve --data-dir <data_dir>` plus `extra_args`, without an Intercom token in its environment.
    pub async fn spawn(exe: &Path, data_dir: &Path, extra_args: &[&OsStr], era: Era) -> anyhow::Result<Self> {
        Self::spawn_with_env(exe, data_dir, extra_args, &[], era).await
    }

    /// [`StdioClient::spawn`] with `env` added to the server's environment (for secrets such as a database URL,
    /// which any user of the machine could read in its arguments).
    pub async fn spawn_with_env(
        exe: &Path,
        data_dir: &Path,
        extra_args: &[&OsStr],
        env: &[(&str, String)],
        era: Era,
    ) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(exe)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .env("FASTINTERCOM_LOG", std::env::var("FASTINTERCOM_LOG").unwrap_or_else(|_| "warn".to_owned()))
            .env_remove("INTERCOM_ACCESS_TOKEN")
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stdin = child.stdin.take().context("the child has no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the child has no stdout")?).lines();
        Ok(Self { child, stdin: Some(stdin), stdout, next_id: 1, era })
    }

    /// Opens the session in this client's era and returns the server's answer (initialize or discover result).
    pub async fn open(&mut self) -> anyhow::Result<Value> {
        match self.era {
            Era::Legacy => {
                let result = self
                    .request(
                        "initialize",
                        json!({"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "fastintercom-stdio-client", "version": "1"}}),
                    )
                    .await?;
                self.notify("notifications/initialized", json!({})).await?;
                Ok(result)
            }
            Era::Modern => self.request("server/discover", json!({})).await,
        }
    }

    /// Calls a tool and returns the `result` object (content, structuredContent, isError).
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> anyhow::Result<Value> {
        self.request("tools/call", json!({"name": name, "arguments": arguments})).await
    }

    /// Sends a request and returns its `result`; a JSON-RPC error becomes an `Err` carrying the error object.
    pub async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let mut response = self.request_raw(method, params).await?;
        if let Some(error) = response.get("error") {
            bail!("{method} returned a JSON-RPC error: {error}");
        }
        // Taken, not cloned: a page of 50 conversations is a 90 KB answer, and copying it cost 0.14 ms a call.
        Ok(response.get_mut("result").map(Value::take).unwrap_or(Value::Null))
    }

    /// Sends a request and returns the whole response message (`result` or `error`).
    pub async fn request_raw(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        Ok(self.request_noting(method, params).await?.0)
    }

    /// Sends a request and returns the whole response message with the notifications the server sent before
    /// it (list_changed, say), in order.
    pub async fn request_noting(&mut self, method: &str, mut params: Value) -> anyhow::Result<(Value, Vec<Value>)> {
        let id = self.next_id;
        self.next_id += 1;
        if self.era == Era::Modern {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "fastintercom-stdio-client", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {},
            });
        }
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        let mut notifications = Vec::new();
        loop {
            let message = self.next_message().await?;
            if message.get("id") == Some(&json!(id)) {
                return Ok((message, notifications));
            }
            if message.get("id").is_none() {
                notifications.push(message);
            }
        }
    }

    /// Waits for the response whose `id` equals `id`, skipping notifications and other messages.
    pub async fn response_to(&mut self, id: &Value) -> anyhow::Result<Value> {
        loop {
            let message = self.next_message().await?;
            if message.get("id") == Some(id) {
                return Ok(message);
            }
        }
    }

    /// Reads the next message the server writes.
    pub async fn next_message(&mut self) -> anyhow::Result<Value> {
        let line = tokio::time::timeout(RESPONSE_TIMEOUT, self.stdout.next_line())
            .await
            .context("the server did not answer in time")??
            .context("the server closed its output")?;
        serde_json::from_str(&line).with_context(|| format!("the server wrote a line that is not JSON: {line}"))
    }

    pub async fn notify(&mut self, method: &str, params: Value) -> anyhow::Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params})).await
    }

    pub async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        self.send_line(&message.to_string()).await
    }

    /// Writes one line as it is, e.g. malformed JSON.
    pub async fn send_line(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("the client already closed the server's input")?;
        stdin.write_all(line.as_bytes()).await?;
        stdin.write_all(b"\n").await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Closes the server's input and waits for it to exit; returns whether it exited successfully.
    pub async fn shutdown(mut self) -> anyhow::Result<bool> {
        drop(self.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("the server did not exit after its input closed")??;
        Ok(status.success())
    }
}

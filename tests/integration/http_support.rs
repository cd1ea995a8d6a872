//! Set-up for the HTTP tests: a private copy of the demo workspace per test (keys are written into the store, so
//! tests must not share one), `fastintercom serve --http` as a child process on a free port, and `keys` commands.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fastintercom::protocol::http_client::{Era, HttpClient, ServerProcess};
use tempfile::TempDir;
use tokio::process::Child;

use crate::support::{demo_data_dir, server_exe};

/// One compiled-component cache for every server the HTTP tests start, so each compiles the built-in tools
/// once per run rather than once per test (seconds each in a debug build).
pub fn shared_cache_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| TempDir::new().expect("temporary directory")).path()
}

/// A data directory holding a copy of the shared demo workspace.
pub fn private_demo_dir() -> TempDir {
    let dir = TempDir::new().expect("temporary directory");
    std::fs::copy(demo_data_dir().join("workspace.sqlite3"), dir.path().join("workspace.sqlite3"))
        .expect("copying the demo workspace");
    dir
}

/// Runs `fastintercom --data-dir <dir> keys <args>`; returns stdout, or the error with stderr.
pub fn keys(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = std::process::Command::new(server_exe())
        .arg("--data-dir")
        .arg(dir)
        .arg("keys")
        .args(args)
        .output()
        .context("running keys")?;
    if !output.status.success() {
        anyhow::bail!("keys {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Creates a key and returns it.
pub fn create_key(dir: &Path, name: &str, tools: Option<&str>) -> String {
    let mut args = vec!["create", "--name", name];
    if let Some(tools) = tools {
        args.extend(["--tools", tools]);
    }
    keys(dir, &args).expect("key created").trim().to_owned()
}

/// A running `serve --http` child, its base URL and everything it logged so far.
pub struct HttpServerProcess {
    pub child: Child,
    pub base: String,
    pub log: Arc<Mutex<String>>,
}

impl HttpServerProcess {
    /// Starts `serve --http 127.0.0.1:0` on `dir` with `extra_args` and `env`, and waits until it listens.
    pub async fn start(dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = tokio::process::Command::new(server_exe());
        command
            .arg("--data-dir")
            .arg(dir)
            .arg("serve")
            .args(["--http", "127.0.0.1:0"])
            .args(extra_args)
            .env("FASTINTERCOM_CACHE_DIR", shared_cache_dir())
            .env("FASTINTERCOM_LOG", "info")
            .env_remove("INTERCOM_ACCESS_TOKEN")
            .env_remove("INTERCOM_CLIENT_SECRET")
            .envs(env.iter().copied());
        let ServerProcess { child, url, log } =
            ServerProcess::spawn(command, Duration::from_secs(120)).await.expect("the server starts listening");
        let base = url.trim_end_matches("/mcp").to_owned();
        Self { child, base, log }
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// A client of this server; legacy clients get their session opened.
    pub async fn client(&self, key: Option<&str>, era: Era) -> HttpClient {
        let mut client = HttpClient::new(&self.mcp_url(), key, era);
        client.open().await.expect("the MCP session opens");
        client
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends `signal` (e.g. "TERM", "HUP") to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the server is running");
        let status = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
        assert!(status.expect("kill runs").success(), "kill -{signal} failed");
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base)).await.expect("GET")
    }
}

/// Polls `check` every 100 ms until it returns true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + within;
    while Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

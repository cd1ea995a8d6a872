//! The hostile-plugin suite, in process: the plugin in `tests/guests/hostile` attacks the host through time,
//! memory, output, lists, descriptions, grants and cursors. Each attack must end as a clean tool error (or a
//! refusal at load) for the attacker, while the built-in tools keep answering. The attacks that need the whole
//! server (its HTTP probes, its log, its compiler process, its plugin files) are in `hostile_server.rs` and
//! `hostile_files.rs`.

use std::sync::Arc;
use std::time::Duration;

use fastintercom::registry::ToolCallError;
use fastintercom::registry::trust::TrustPolicy;
use fastintercom::runtime::{CallError, RuntimeLimits};
use fastintercom_tests::{HOSTILE_MANIFEST, HOSTILE_WASM, hostile_describing};
use serde_json::{Value, json};

use crate::plugins_support::Harness;

/// The hostile plugin's manifest with `[limits]` lines added.
pub fn hostile_manifest(limits: &str) -> String {
    format!("{HOSTILE_MANIFEST}\n[limits]\n{limits}\n")
}

/// A harness serving the hostile plugin under `limits` (its manifest asks for `manifest_limits`).
async fn serving_hostile(limits: RuntimeLimits, manifest_limits: &str) -> Harness {
    let harness = Harness::with(limits, TrustPolicy::default()).await;
    harness.land("hostile", HOSTILE_WASM, &hostile_manifest(manifest_limits));
    let outcome = harness.reload().await;
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    harness
}

/// The error a call ended with (panics if it succeeded).
async fn failure(harness: &Harness, tool: &str, arguments: Value) -> ToolCallError {
    match harness.call(tool, arguments).await {
        Ok(output) => panic!("{tool} should have failed, it answered {output:?}"),
        Err(error) => error,
    }
}

/// A built-in call that must succeed whatever the hostile plugin is doing.
async fn builtin_answers(harness: &Harness) {
    let found = harness.call("search_conversations", json!({"limit": 1})).await.expect("a built-in call succeeds");
    assert!(found.structured.is_some());
}

/// Item 1: guests yield at every epoch tick and third-party ones run on threads of their own, so spinning calls
/// hold neither the server's threads nor its built-in tools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_calls_hold_no_thread_the_server_needs() {
    let mut limits = RuntimeLimits::default();
    limits.policy.caps.max_concurrent_calls = 32;
    let harness = Arc::new(serving_hostile(limits, "deadline_ms = 4000").await);
    let spinners: Vec<_> = (0..16)
        .map(|_| {
            let harness = Arc::clone(&harness);
            tokio::spawn(async move { harness.call("spin", json!({})).await })
        })
        .collect();
    // Let them start spinning; then the server's own work must go on while they still spin.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..20 {
        builtin_answers(&harness).await;
        // A timer on the server's runtime fires on time-ish (not after the spinners' deadline).
        tokio::time::timeout(Duration::from_secs(2), tokio::time::sleep(Duration::from_millis(5)))
            .await
            .expect("the server's timers run");
    }
    assert!(spinners.iter().all(|spinner| !spinner.is_finished()), "the built-in calls ran while the guests spun");
    for spinner in spinners {
        let error = spinner.await.unwrap().expect_err("a spin cannot finish");
        assert!(matches!(error, ToolCallError::Call(CallError::DeadlineExceeded(_))), "{error}");
    }
    builtin_answers(&harness).await;
}

/// Item 2: a schema whose validation takes exponential time is refused at load, fast, with the reason; and
/// arguments nested deeper than the host checks are refused before validation.
#[tokio::test]
async fn schemas_that_would_make_validation_explode_are_refused_at_load() {
    let harness = Harness::new().await;
    for depth in [24, 40] {
        harness.land("hostile", &hostile_describing(&format!("schema-bomb-{depth}")), HOSTILE_MANIFEST);
        let started = std::time::Instant::now();
        let outcome = harness.reload().await;
        assert!(started.elapsed() < Duration::from_secs(30), "judging the schema took {:?}", started.elapsed());
        let problem = harness.status("hostile").problem.unwrap_or_default();
        assert!(problem.contains("subschema evaluations per value"), "depth {depth}: {problem}");
        assert_eq!(outcome.rejected.len(), 1);
        assert!(harness.registry.tools().get("bomb").is_none());
    }
    builtin_answers(&harness).await;
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let refused = failure(&harness, "search_conversations", json!({"query": "refund", "tags": deep})).await;
    assert!(refused.to_string().contains("nest more than"), "{refused}");
}

/// Item 3: list and string arguments of host calls are bounded before any work.
#[tokio::test]
async fn oversized_lists_and_strings_in_host_calls_are_refused_before_any_work() {
    let harness = serving_hostile(RuntimeLimits::default(), "").await;
    // Through both versions of `conversations` (0.3.0's search is the bounded one).
    for bounded in [false, true] {
        for (which, entries) in [("states", 1_000_000), ("priorities", 1_000_000), ("tags", 100_000)] {
            let arguments = json!({"which": which, "entries": entries, "bounded": bounded});
            let text = failure(&harness, "huge_list", arguments).await.to_string();
            assert!(text.contains("host refused") && text.contains(&format!("{which} has more than")), "{text}");
        }
    }
    // A million tags are 24 MB once copied out of the guest: more than the host copies out of a sandbox at once.
    let error = failure(&harness, "huge_list", json!({"which": "tags", "entries": 1_000_000})).await;
    assert!(matches!(error, ToolCallError::Call(CallError::TooMuchData(_))), "{error}");
    let error = failure(&harness, "long_string", json!({"bytes": 1 << 20})).await.to_string();
    assert!(error.contains("the id is longer than"), "{error}");
    let accepted =
        harness.call("huge_list", json!({"which": "tags", "entries": 3})).await.expect("three tags are fine");
    assert!(matches!(&accepted.content[0], fastintercom::runtime::ContentBlock::Text(t) if t.contains("accepted")));
    builtin_answers(&harness).await;
}

/// Item 4: every byte returned counts against the output limit, error messages and empty blocks included.
#[tokio::test]
async fn error_messages_and_empty_blocks_count_against_the_output_limit() {
    let harness = serving_hostile(RuntimeLimits::default(), "").await;
    for (tool, arguments) in [("huge_error", json!({"bytes": 5 << 20})), ("empty_blocks", json!({"count": 200_000}))] {
        let error = failure(&harness, tool, arguments).await;
        assert!(
            matches!(error, ToolCallError::Call(CallError::OutputTooLarge { limit, .. }) if limit == 4 << 20),
            "{tool}: {error}"
        );
        assert!(error.to_string().len() < 200, "the refusal itself is short");
    }
    // Far larger ones are stopped while the host copies them out of the guest, before anything counts them.
    for (tool, arguments) in [("huge_error", json!({"bytes": 50 << 20})), ("empty_blocks", json!({"count": 1_000_000}))]
    {
        let error = failure(&harness, tool, arguments).await;
        assert!(matches!(error, ToolCallError::Call(CallError::TooMuchData(_))), "{tool}: {error}");
    }
    let small = failure(&harness, "huge_error", json!({"bytes": 100})).await;
    assert!(matches!(small, ToolCallError::Call(CallError::ToolFailed(ref m)) if m.len() == 100), "{small}");
    builtin_answers(&harness).await;
}

/// Item 6: with no operator configuration a manifest cannot take the host's memory or time, all plugin calls
/// share one memory budget, and a flood of slow calls to a plugin leaves the built-ins their own slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_ceilings_and_shared_budgets_protect_the_host() {
    let greedy = serving_hostile(RuntimeLimits::default(), "memory_mib = 4096\ndeadline_ms = 600000").await;
    let plugin = greedy.status("hostile").served.expect("served, capped");
    assert_eq!(plugin.limits.memory_bytes, 256 << 20);
    assert_eq!(plugin.limits.deadline, Duration::from_secs(10));
    assert_eq!(plugin.limits.max_concurrent_calls, Some(8), "a default cap applies to a manifest that sets none");
    assert_eq!(plugin.notes.len(), 2, "{:?}", plugin.notes);

    let mut limits = RuntimeLimits::default();
    limits.policy.shared.memory_bytes = 96 << 20;
    let harness = Arc::new(serving_hostile(limits, "memory_mib = 128\ndeadline_ms = 5000").await);
    let holder = {
        let harness = Arc::clone(&harness);
        tokio::spawn(async move { harness.call("hold_memory", json!({"mib": 64, "ms": 1500})).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let starved = failure(&harness, "hold_memory", json!({"mib": 64, "ms": 0})).await;
    assert!(matches!(starved, ToolCallError::Call(CallError::HostMemoryExhausted(_))), "{starved}");
    builtin_answers(&harness).await;
    holder.await.unwrap().expect("the first holder had the memory");
    assert_eq!(harness.registry.runtime().plugin_memory_in_use(), 0, "every call gave its memory back");

    // 200 slow calls at once: eight run (the plugin's cap), the rest are refused at once; built-ins never wait.
    let flood: Vec<_> = (0..200)
        .map(|_| {
            let harness = Arc::clone(&harness);
            tokio::spawn(async move { harness.call("sleep", json!({"ms": 1500})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    builtin_answers(&harness).await;
    assert!(started.elapsed() < Duration::from_millis(1000), "a built-in call waited {:?}", started.elapsed());
    let mut outcomes = (0, 0);
    for call in flood {
        match call.await.unwrap() {
            Ok(_) => outcomes.0 += 1,
            Err(ToolCallError::Call(CallError::Busy { limit: 8, .. })) => outcomes.1 += 1,
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(outcomes, (8, 192), "(served, refused as busy)");
}

/// Item 7: descriptions and schemas are bounded; the `plugins` grant is the operator's to give; forged cursors,
/// exits and invalid UTF-8 end as errors that say so.
#[tokio::test]
async fn oversized_descriptions_and_sensitive_grants_are_refused_at_load() {
    let harness = Harness::new().await;
    for (mode, expected) in
        [("huge-describe", "description is 4194304 bytes"), ("many-tools", "2000 tools, more than the 64")]
    {
        harness.land("hostile", &hostile_describing(mode), HOSTILE_MANIFEST);
        harness.reload().await;
        let problem = harness.status("hostile").problem.unwrap_or_default();
        assert!(problem.contains(expected), "{mode}: {problem}");
        assert!(harness.status("hostile").served.is_none());
    }
    let asks_for_plugins = HOSTILE_MANIFEST.replace(
        "grants = [\"log\", \"conversations\", \"directory\", \"analytics\"]",
        "grants = [\"log\", \"conversations\", \"directory\", \"analytics\", \"plugins\"]",
    );
    assert_ne!(asks_for_plugins, HOSTILE_MANIFEST);
    harness.land("hostile", HOSTILE_WASM, &asks_for_plugins);
    harness.reload().await;
    let problem = harness.status("hostile").problem.unwrap_or_default();
    assert!(problem.contains("only the operator can give") && problem.contains("sensitive_grants"), "{problem}");

    let mut limits = RuntimeLimits::default();
    limits.policy.sensitive_grants.insert("hostile".to_owned(), vec![fastintercom::runtime::Capability::Plugins]);
    let granted = Harness::with(limits, TrustPolicy::default()).await;
    granted.land("hostile", HOSTILE_WASM, &asks_for_plugins);
    granted.reload().await;
    assert_eq!(granted.status("hostile").problem, None, "the operator gave the grant");
    assert!(granted.status("hostile").served.is_some());
}

/// Contract 0.4.0's `directory` bounds its lookups before any work, reads a hostile name as text, caps the
/// entries it answers, and is reachable only with its grant; its `conversations.get-many` bounds its ids.
#[tokio::test]
async fn contract_0_4_0_calls_are_bounded_and_directory_needs_its_grant() {
    let harness = serving_hostile(RuntimeLimits::default(), "").await;
    for kind in ["tags", "teams", "admins", "companies"] {
        let text = failure(&harness, "directory", json!({"kind": kind, "name_bytes": 1 << 20})).await.to_string();
        assert!(text.contains("host refused") && text.contains("the name is longer than"), "{kind}: {text}");
        let text = failure(&harness, "directory", json!({"kind": kind, "id": "9".repeat(300)})).await.to_string();
        assert!(text.contains("the id is longer than"), "{kind}: {text}");
        for hostile in ["%", "_", "'; DROP TABLE tags; --", "\u{0}", "\\", "\u{202e}ümlaut"] {
            let answer = harness
                .call("directory", json!({"kind": kind, "name": hostile, "limit": u32::MAX}))
                .await
                .unwrap_or_else(|e| panic!("{kind} {hostile:?}: {e}"));
            let fastintercom::runtime::ContentBlock::Text(text) = &answer.content[0];
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value["total"], 0, "{kind} {hostile:?}: an empty store has no entries");
        }
    }
    // `conversations.get-many` (0.4.0): at most 100 ids, each an id's length.
    let text = failure(&harness, "get_many", json!({"entries": 101})).await.to_string();
    assert!(text.contains("ids has more than 100"), "{text}");
    let text = failure(&harness, "get_many", json!({"entries": 2, "bytes": 1 << 16})).await.to_string();
    assert!(text.contains("the id is longer than"), "{text}");
    let answer = harness.call("get_many", json!({"entries": 100})).await.expect("100 ids are fine");
    let fastintercom::runtime::ContentBlock::Text(text) = &answer.content[0];
    assert!(text.contains("100 answers"), "{text}");
    builtin_answers(&harness).await;

    // Without the grant, the import alone refuses the plugin at load.
    let without_grant = HOSTILE_MANIFEST.replace(", \"directory\"", "");
    assert_ne!(without_grant, HOSTILE_MANIFEST);
    harness.land("hostile", HOSTILE_WASM, &without_grant);
    harness.reload().await;
    let problem = harness.status("hostile").problem.unwrap_or_default();
    assert!(problem.contains("directory"), "{problem}");
}

/// Contract 0.5.0's `analytics` checks its lists, strings, limits and offset before any work, answers a legal
/// but heavy grouping within the call, and is reachable only with its grant.
#[tokio::test]
async fn contract_0_5_0_analytics_is_bounded_and_needs_its_grant() {
    let harness = serving_hostile(RuntimeLimits::default(), "").await;
    let legal = json!({"limit": 10, "offset": 0});
    for call in ["count", "distribution", "rated", "search"] {
        for (attack, expected) in [
            (json!({"ratings": 1 << 20}), "ratings has more than 5"),
            (json!({"ratings": 1}), "ratings are 1 to 5, not 9"),
            (json!({"figures": 1 << 16}), "figures has more than 8"),
            (json!({"tags": 1 << 16}), "tags has more than 50"),
            (json!({"company_bytes": 1 << 20}), "company-id is longer than 256"),
            (json!({"text_bytes": 1 << 20}), "the text query is longer than 4096"),
        ] {
            let text =
                failure(&harness, "analytics", legal.clone().tap(json!({"call": call})).tap(attack)).await.to_string();
            assert!(text.contains("host refused") && text.contains(expected), "{call} {expected}: {text}");
        }
    }
    for (attack, expected) in [
        (json!({"by": 1 << 20}), "by has more than 2"),
        (json!({"by": 3}), "by has more than 2"),
        (json!({"limit": u32::MAX}), "the limit must be 1 to 1000"),
        (json!({"limit": 0}), "the limit must be 1 to 1000"),
        (json!({"offset": i32::MAX}), "the UTC offset must be"),
        (json!({"offset": i32::MIN}), "the UTC offset must be"),
    ] {
        for call in ["count", "distribution"] {
            let text = failure(&harness, "analytics", legal.clone().tap(json!({"call": call})).tap(attack.clone()))
                .await
                .to_string();
            assert!(text.contains(expected), "{call} {attack}: {text}");
        }
    }
    for (figures, expected) in
        [(1 << 16, "figures has more than 4"), (2, "the same figure twice"), (0, "1 to 4 figures, not 0")]
    {
        let text = failure(
            &harness,
            "analytics",
            legal.clone().tap(json!({"call": "distribution", "figures_asked": figures})),
        )
        .await
        .to_string();
        assert!(text.contains(expected), "{figures}: {text}");
    }
    let text = failure(&harness, "analytics", json!({"call": "rated", "limit": 101})).await.to_string();
    assert!(text.contains("the limit must be 1 to 100"), "{text}");
    // The widest legal grouping (tags by hour, 1,000 rows, a figure range that holds for any value) answers.
    for call in ["count", "distribution"] {
        let answer = harness
            .call("analytics", json!({"call": call, "by": 2, "limit": 1000, "offset": 840, "figures": 8, "ratings": 0}))
            .await
            .unwrap_or_else(|e| panic!("{call}: {e}"));
        let fastintercom::runtime::ContentBlock::Text(text) = &answer.content[0];
        assert_eq!(serde_json::from_str::<Value>(text).unwrap()["total"], 0, "{call}: an empty store");
    }
    builtin_answers(&harness).await;

    let without_grant = HOSTILE_MANIFEST.replace(", \"analytics\"", "");
    assert_ne!(without_grant, HOSTILE_MANIFEST);
    harness.land("hostile", HOSTILE_WASM, &without_grant);
    harness.reload().await;
    let problem = harness.status("hostile").problem.unwrap_or_default();
    assert!(problem.contains("analytics"), "{problem}");
}

/// Merges another object's fields into a JSON object (test arguments built from a base).
trait Tap {
    fn tap(self, more: Value) -> Value;
}

impl Tap for Value {
    fn tap(mut self, more: Value) -> Value {
        self.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        self
    }
}

#[tokio::test]
async fn forged_cursors_exits_and_invalid_text_end_as_errors_that_say_so() {
    let harness = serving_hostile(RuntimeLimits::default(), "").await;
    for bounded in [false, true] {
        let forged = failure(&harness, "forged_cursor", json!({"bounded": bounded})).await.to_string();
        assert!(forged.contains("host refused") && forged.contains("invalid cursor"), "{forged}");
    }
    let exit = failure(&harness, "exit", json!({})).await.to_string();
    assert!(exit.contains("exited with status"), "{exit}");
    let utf8 = failure(&harness, "bad_utf8", json!({})).await.to_string();
    assert!(utf8.contains("not valid UTF-8"), "{utf8}");
    builtin_answers(&harness).await;
}

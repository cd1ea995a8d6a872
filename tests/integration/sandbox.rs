//! The sandbox suite: a hostile probe component against the runtime, in process. After every misbehaviour, a
//! normal call on the same runtime must still succeed.

use std::sync::Arc;
use std::time::Duration;

use fastintercom::runtime::{CallError, Capability, LoadError, LoadedPlugin, Manifest, Runtime, RuntimeLimits};
use fastintercom_tests::{PROBE_MANIFEST, PROBE_WASM};
use serde_json::{Map, Value};
use tempfile::TempDir;

use crate::support::empty_store;

/// A runtime with a short deadline (so the spin test is quick) and the probe loaded.
/// The probe under a short deadline, so the tests that must hit it finish quickly.
async fn probe_runtime() -> (TempDir, Runtime, Arc<LoadedPlugin>) {
    probe_runtime_with(Duration::from_millis(300)).await
}

async fn probe_runtime_with(deadline: Duration) -> (TempDir, Runtime, Arc<LoadedPlugin>) {
    let (dir, store) = empty_store().await;
    let limits = RuntimeLimits { deadline, ..RuntimeLimits::default() };
    let runtime = Runtime::new(limits, Some(dir.path().join("cache")), store).expect("runtime");
    let manifest = Manifest::parse(PROBE_MANIFEST).expect("probe manifest");
    let plugin = runtime.load(Arc::from(PROBE_WASM), manifest).await.expect("probe loads");
    (dir, runtime, Arc::new(plugin))
}

async fn call(runtime: &Runtime, plugin: &Arc<LoadedPlugin>, tool: &str) -> Result<String, CallError> {
    let output = runtime.call_tool(plugin, tool, Map::new()).await?;
    Ok(output
        .content
        .iter()
        .map(|block| match block {
            fastintercom::runtime::ContentBlock::Text(text) => text.as_str(),
        })
        .collect())
}

async fn assert_still_serves(runtime: &Runtime, plugin: &Arc<LoadedPlugin>) {
    assert_eq!(call(runtime, plugin, "noop").await.expect("a normal call after misbehaviour"), "ok");
}

#[tokio::test]
async fn describes_its_tools_at_load() {
    let (_dir, _runtime, plugin) = probe_runtime().await;
    let names: Vec<&str> = plugin.tools.iter().map(|tool| tool.name.as_str()).collect();
    for expected in ["noop", "spin", "grow_memory", "stack_overflow", "panic", "huge_output", "probe_search"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
}

#[tokio::test]
async fn an_infinite_loop_ends_at_the_deadline() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    let started = std::time::Instant::now();
    let error = call(&runtime, &plugin, "spin").await.expect_err("spin cannot finish");
    assert!(matches!(error, CallError::DeadlineExceeded(d) if d == Duration::from_millis(300)), "{error:?}");
    assert!(error.to_string().contains("deadline of 300 ms"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10), "the deadline did not stop the guest promptly");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn memory_growth_stops_at_the_cap() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    let output = runtime.call_tool(&plugin, "grow_memory", Map::new()).await.expect("the probe reports its allocation");
    let allocated = output.structured.as_ref().and_then(|s| s["allocated_mib"].as_u64()).expect("allocated_mib");
    // The default cap is 64 MiB, and the guest's own data lives in the same memory.
    assert!((16..64).contains(&allocated), "allocated {allocated} MiB under a 64 MiB cap");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn memory_beyond_a_manifest_cap_is_refused() {
    let (dir, store) = empty_store().await;
    let runtime = Runtime::new(RuntimeLimits::default(), Some(dir.path().join("cache")), store).expect("runtime");
    let manifest = Manifest::parse(&format!("{PROBE_MANIFEST}\n[limits]\nmemory_mib = 8\n")).expect("manifest");
    let plugin = Arc::new(runtime.load(Arc::from(PROBE_WASM), manifest).await.expect("probe loads"));
    let output = runtime.call_tool(&plugin, "grow_memory", Map::new()).await.expect("the probe reports its allocation");
    let allocated = output.structured.as_ref().and_then(|s| s["allocated_mib"].as_u64()).expect("allocated_mib");
    assert!(allocated < 8, "allocated {allocated} MiB under an 8 MiB cap");
}

#[tokio::test]
async fn a_stack_overflow_ends_only_that_call() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    let error = call(&runtime, &plugin, "stack_overflow").await.expect_err("unbounded recursion must trap");
    assert!(
        matches!(error, CallError::StackOverflow | CallError::Crashed(_)),
        "a stack overflow should be reported as one: {error:?}"
    );
    assert!(error.to_string().contains("stack overflow"), "the message should name the likely cause: {error}");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn a_panic_is_a_crash_of_that_call() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    let error = call(&runtime, &plugin, "panic").await.expect_err("a panic must fail the call");
    assert!(matches!(error, CallError::Crashed(_)), "{error:?}");
    assert!(error.to_string().contains("panicked"), "{error}");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn files_environment_and_sockets_are_denied() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    let files: Value =
        serde_json::from_str(&call(&runtime, &plugin, "read_file").await.expect("read_file reports")).unwrap();
    assert!(files["etc_passwd"].as_str().unwrap().starts_with("error:"), "{files}");
    assert!(files["dot_dir"].as_str().unwrap().starts_with("error:"), "{files}");

    let env = call(&runtime, &plugin, "read_env").await.expect("read_env reports");
    let env: Value = serde_json::from_str(&env).expect("read_env answers JSON");
    assert_eq!(env["vars"], 0, "{env}");
    assert!(env["home"].as_str().unwrap().starts_with("error:"), "{env}");

    let socket = call(&runtime, &plugin, "open_socket").await.expect("open_socket reports");
    assert!(socket.starts_with("error:"), "{socket}");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn ten_megabytes_of_output_are_refused_with_a_clear_error() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    let error = call(&runtime, &plugin, "huge_output").await.expect_err("10 MiB exceeds the output limit");
    assert!(
        matches!(error, CallError::OutputTooLarge { actual, limit } if actual >= 10 << 20 && limit == 4 << 20),
        "{error:?}"
    );
    assert!(error.to_string().contains("exceeds the limit"), "{error}");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn endless_printing_is_bounded() {
    // Writing 3 MiB takes a debug build on a loaded machine longer than the short deadline; this test is about
    // the bound on output, not about time.
    let (_dir, runtime, plugin) = probe_runtime_with(Duration::from_secs(10)).await;
    assert_eq!(call(&runtime, &plugin, "log_spam").await.expect("log_spam returns"), "ok");
    assert_still_serves(&runtime, &plugin).await;
}

#[tokio::test]
async fn an_ungranted_import_is_refused_at_load_naming_the_grant() {
    let (dir, store) = empty_store().await;
    let runtime = Runtime::new(RuntimeLimits::default(), Some(dir.path().join("cache")), store).expect("runtime");
    let manifest = Manifest::parse(&PROBE_MANIFEST.replace("\"log\", \"conversations\"", "\"log\"")).expect("manifest");
    assert!(!manifest.grants(Capability::Conversations));
    let error = runtime.load(Arc::from(PROBE_WASM), manifest).await.expect_err("conversations is not granted");
    assert!(matches!(&error, LoadError::MissingGrant { capability: Capability::Conversations, .. }), "{error:?}");
    assert!(error.to_string().contains("\"conversations\""), "{error}");
}

#[tokio::test]
async fn a_granted_host_call_reaches_the_store() {
    let (_dir, runtime, plugin) = probe_runtime().await;
    assert_eq!(call(&runtime, &plugin, "probe_search").await.expect("probe_search runs"), "0");
}

#[tokio::test]
async fn the_compiled_component_is_cached_on_disk() {
    let (dir, _runtime, _plugin) = probe_runtime().await;
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("cache")).unwrap().filter_map(Result::ok).collect();
    assert_eq!(cached.len(), 1, "one artefact for one component");
    assert!(cached[0].file_name().to_string_lossy().ends_with(".cwasm"));
}

#[tokio::test]
async fn bytes_that_are_not_a_component_are_refused() {
    let (dir, store) = empty_store().await;
    let runtime = Runtime::new(RuntimeLimits::default(), Some(dir.path().join("cache")), store).expect("runtime");
    let manifest = Manifest::parse(PROBE_MANIFEST).unwrap();
    let error = runtime.load(Arc::from(&b"\0asm not really"[..]), manifest).await.expect_err("garbage");
    assert!(matches!(error, LoadError::Compile { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_queue_for_pool_slots_and_never_see_each_other() {
    let (dir, store) = empty_store().await;
    let mut limits = RuntimeLimits::default();
    limits.policy.shared.calls = 4;
    limits.policy.caps.max_concurrent_calls = 1024;
    let runtime = Runtime::new(limits, Some(dir.path().join("cache")), store).expect("runtime");
    let plugin = Arc::new(runtime.load(Arc::from(PROBE_WASM), Manifest::parse(PROBE_MANIFEST).unwrap()).await.unwrap());
    let calls = (0..200).map(|i| {
        let (runtime, plugin) = (runtime.clone(), plugin.clone());
        tokio::spawn(async move {
            let arguments = serde_json::json!({"caller": i}).as_object().cloned().unwrap();
            let output = runtime.call_tool(&plugin, "echo", arguments).await.expect("echo");
            assert_eq!(output.structured, Some(serde_json::json!({"caller": i})), "call {i} got another call's data");
        })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.expect("call task");
    }
}

//! Hot swap under load, end to end: a server watching its plugins directory, a client calling a plugin's tool
//! without pause, and the plugin's file replaced twenty times with alternating versions.

use std::ffi::OsStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom_tests::SWAP_MANIFEST;
use serde_json::{Value, json};
use tempfile::TempDir;

use fastintercom_tests::{SWAP_TOOL, land, swap_version};

use crate::http_support::{private_demo_dir, shared_cache_dir};
use crate::support::{demo_data_dir, server_exe};

const SWAPS: usize = 20;
/// Time between two landings: more than the 1 s a new version has to answer, so each is judged on its own.
const SPACING: Duration = Duration::from_millis(1300);

/// One answer: when it came and which version gave it (`None`: a failed call).
type Answer = (Instant, Option<String>);

/// The version a whole, well-formed answer came from; `None` for an error or an answer mixing versions.
fn version_of(response: &Value) -> Option<String> {
    let result = response.get("result")?;
    if result["isError"] == true {
        return None;
    }
    let structured = &result["structuredContent"];
    let version = structured["version"].as_str()?;
    let text: Option<Value> = result["content"][0]["text"].as_str().and_then(|text| serde_json::from_str(text).ok());
    let whole = structured["payload"] == version.repeat(64) && text.as_ref() == Some(structured);
    whole.then(|| version.to_owned())
}

async fn wait_for_version(client: &mut StdioClient, version: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let (response, _) =
            client.request_noting("tools/call", json!({"name": SWAP_TOOL, "arguments": {}})).await.unwrap();
        if version_of(&response).as_deref() == Some(version) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("version {version} never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_a_plugin_twenty_times_under_load_fails_no_call() {
    let plugins = TempDir::new().unwrap();
    let versions = [("aaaa", swap_version("aaaa")), ("bbbb", swap_version("bbbb"))];
    land(plugins.path(), "swap", &versions[0].1, SWAP_MANIFEST, None);
    let args = [
        OsStr::new("--plugins-dir"),
        plugins.path().as_os_str(),
        OsStr::new("--cache-dir"),
        shared_cache_dir().as_os_str(),
    ];
    let mut client = StdioClient::spawn(&server_exe(), demo_data_dir(), &args, Era::Legacy).await.unwrap();
    client.open().await.unwrap();
    // Both versions are compiled once before the clock starts (the compiled-component cache then serves them):
    // in a debug build cranelift itself is unoptimised, and compiling is not what this test is about.
    wait_for_version(&mut client, "aaaa").await;
    land(plugins.path(), "swap", &versions[1].1, SWAP_MANIFEST, None);
    wait_for_version(&mut client, "bbbb").await;
    land(plugins.path(), "swap", &versions[0].1, SWAP_MANIFEST, None);
    wait_for_version(&mut client, "aaaa").await;

    let landings: Arc<Mutex<Vec<(Instant, &str)>>> = Arc::default();
    let writer = {
        let landings = landings.clone();
        let dir = plugins.path().to_owned();
        tokio::spawn(async move {
            for swap in 0..SWAPS {
                tokio::time::sleep(SPACING).await;
                let (version, bytes) = &versions[(swap + 1) % 2];
                land(&dir, "swap", bytes, SWAP_MANIFEST, None);
                landings.lock().unwrap().push((Instant::now(), *version));
            }
        })
    };

    let started = Instant::now();
    let mut answers: Vec<Answer> = Vec::new();
    // When each notifications/tools/list_changed reached the client.
    let mut list_changed: Vec<Instant> = Vec::new();
    let mut writer_done_at = None;
    loop {
        let (response, notifications) =
            client.request_noting("tools/call", json!({"name": SWAP_TOOL, "arguments": {}})).await.unwrap();
        answers.push((Instant::now(), version_of(&response)));
        let told = notifications.iter().filter(|n| n["method"] == "notifications/tools/list_changed").count();
        list_changed.extend(std::iter::repeat_n(Instant::now(), told));
        if writer.is_finished() {
            let done = *writer_done_at.get_or_insert_with(Instant::now);
            if done.elapsed() > Duration::from_millis(1500) {
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    writer.await.unwrap();

    let failed = answers.iter().filter(|(_, version)| version.is_none()).count();
    assert_eq!(failed, 0, "{failed} of {} calls failed or mixed versions", answers.len());
    let rate = answers.len() as f64 / elapsed.as_secs_f64();
    assert!(rate >= 200.0, "the client called {rate:.0} times per second; the test needs at least 200");
    let landings = landings.lock().unwrap().clone();
    assert_eq!(landings.len(), SWAPS);
    for (index, (landed, version)) in landings.iter().enumerate() {
        let first = answers
            .iter()
            .find(|(at, answered)| at > landed && answered.as_deref() == Some(*version))
            .unwrap_or_else(|| panic!("swap {index}: version {version} never answered"));
        let latency = first.0 - *landed;
        assert!(latency <= Duration::from_secs(1), "swap {index}: {version} answered {latency:?} after landing");
    }
    // Each swap is announced before the next file lands (notifications of the warm-up swaps come earlier).
    let ends = landings.iter().skip(1).map(|(at, _)| *at).chain([Instant::now()]);
    for (index, ((landed, _), end)) in landings.iter().zip(ends).enumerate() {
        let told = list_changed.iter().filter(|at| (*landed..end).contains(at)).count();
        assert!(told >= 1, "swap {index}: no tools/list_changed between its landing and the next");
    }
    assert!(client.shutdown().await.unwrap());
}

#[tokio::test]
async fn without_watching_a_change_waits_for_plugins_reload() {
    let data = private_demo_dir();
    let plugins = TempDir::new().unwrap();
    std::fs::write(data.path().join("config.toml"), "[plugins]\nwatch = false\n").unwrap();
    land(plugins.path(), "swap", &swap_version("aaaa"), SWAP_MANIFEST, None);
    let args = [
        OsStr::new("--plugins-dir"),
        plugins.path().as_os_str(),
        OsStr::new("--cache-dir"),
        shared_cache_dir().as_os_str(),
    ];
    let mut client = StdioClient::spawn(&server_exe(), data.path(), &args, Era::Legacy).await.unwrap();
    client.open().await.unwrap();
    wait_for_version(&mut client, "aaaa").await;

    land(plugins.path(), "swap", &swap_version("bbbb"), SWAP_MANIFEST, None);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (response, _) = client.request_noting("tools/call", json!({"name": SWAP_TOOL, "arguments": {}})).await.unwrap();
    assert_eq!(version_of(&response).as_deref(), Some("aaaa"), "not watching: the old version still serves");

    let output = std::process::Command::new(server_exe())
        .arg("--data-dir")
        .arg(data.path())
        .arg("--plugins-dir")
        .arg(plugins.path())
        .args(["plugins", "reload"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    wait_for_version(&mut client, "bbbb").await;
    assert!(client.shutdown().await.unwrap());
}

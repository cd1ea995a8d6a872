//! Noisy neighbours: how the server answers everyone else while a third-party plugin misbehaves.
//!
//! Starts `fastintercom serve --http` (the built binary) on a demo workspace with the hostile test plugin
//! (`tests/guests/hostile`) installed, then for each neighbour measures, over one window, `get_conversation`
//! latency from one client calling in a loop (a built-in tool, on the server's own threads) and `/health`
//! latency (every 20 ms):
//! - quiet: nobody else;
//! - 2, 8 and 32 calls spinning in the plugin (`loop {}`; each stopped at its 3 s deadline and called again at
//!   once). The server's config lets the plugin run 32 calls at once, so all 32 really spin;
//! - 500 slow calls flooding the plugin: 500 callers each keeping a call going that sleeps 1.5 s (the plugin may run
//!   32; the others are refused at once, and each caller tries again when its 1.5 s are up).
//!
//! Targets (issue 13): no built-in call fails, `/health` within 100 ms, `get_conversation` p99 within 5× its
//! quiet p99. Run: `cargo bench -p fastintercom --bench noisy_neighbour` (100,000 conversations, kept between runs
//! in the target directory). Under `cargo test` (no `--bench` argument) it runs on 2,000 conversations with short
//! windows, as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fastintercom::commands::bench_support::{Percentiles, bench_workspace, ms, result_ids};
use fastintercom::config::Config;
use fastintercom::protocol::http_client::{Era, HttpClient, ServerProcess};
use fastintercom_tests::{HOSTILE_MANIFEST, HOSTILE_WASM, land};
use serde_json::{Value, json};

/// The plugin's deadline: spinning calls end (and start again) this often.
const SPIN_DEADLINE_MS: u64 = 3000;

#[derive(Clone, Copy)]
enum Neighbour {
    Quiet,
    Spinning(usize),
    SlowFlood { callers: usize, sleep_ms: u64 },
}

impl Neighbour {
    fn label(self) -> String {
        match self {
            Self::Quiet => "quiet".to_owned(),
            Self::Spinning(calls) => format!("{calls} calls spinning"),
            Self::SlowFlood { callers, sleep_ms } => format!("{callers} slow calls ({sleep_ms} ms each) flooding"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (conversations, window) =
        if full { (100_000, Duration::from_secs(8)) } else { (2_000, Duration::from_secs(1)) };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run(conversations, window))
}

async fn run(conversations: usize, window: Duration) -> anyhow::Result<()> {
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("noisy-neighbour");
    let dir = bench_workspace(
        &Config::new(kept.clone(), None),
        conversations,
        Some(&kept.join(format!("workspace-{conversations}"))),
    )
    .await?;
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    let manifest = format!("{HOSTILE_MANIFEST}\n[limits]\ndeadline_ms = {SPIN_DEADLINE_MS}\n");
    land(&plugins, "hostile", HOSTILE_WASM, &manifest, None);
    let unlimited = "per_second = 1000000\nburst = 1000000\n";
    std::fs::write(
        dir.join("config.toml"),
        format!("[http.keyless_rate_limit]\n{unlimited}[plugins]\nmax_concurrent_calls = 32\ntotal_calls = 32\n"),
    )?;

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fastintercom"));
    command
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--http", "127.0.0.1:0", "--no-answer-cache"])
        .env("FASTINTERCOM_LOG", "warn,fastintercom::commands::serve=info")
        .env_remove("INTERCOM_ACCESS_TOKEN");
    let ServerProcess { mut child, url, .. } = ServerProcess::spawn(command, Duration::from_secs(300)).await?;
    let base = url.trim_end_matches("/mcp").to_owned();
    let mut client = HttpClient::new(&url, None, Era::Modern);
    client.open().await?;
    let ids = Arc::new(result_ids(&client.call_tool("search_conversations", json!({"limit": 1000})).await?)?);

    println!(
        "Noisy neighbours: {conversations} conversations, {} s per row, HTTP (2026-07-28 era)",
        window.as_secs_f64()
    );
    println!();
    println!(
        "| neighbour | get_conversation p50 | p99 | p99 / quiet p99 | failed | /health p50 | /health p99 | /health max |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut quiet_p99 = None;
    for neighbour in [
        Neighbour::Quiet,
        Neighbour::Spinning(2),
        Neighbour::Spinning(8),
        Neighbour::Spinning(32),
        Neighbour::SlowFlood { callers: 500, sleep_ms: 1500 },
    ] {
        let attackers = attack(&client, neighbour);
        tokio::time::sleep(Duration::from_millis(500)).await; // let the neighbour get going
        let health = tokio::spawn(probe_health(base.clone(), window));
        let (mut calls, failed) = probe_calls(&client, &ids, window).await;
        let mut health = health.await??;
        for attacker in attackers {
            attacker.abort();
        }
        anyhow::ensure!(!calls.is_empty(), "no get_conversation answered during {}", neighbour.label());
        let calls = Percentiles::of(&mut calls);
        let quiet = *quiet_p99.get_or_insert(calls.p99);
        let max = health.iter().max().copied().unwrap_or_default();
        let health = Percentiles::of(&mut health);
        println!(
            "| {} | {} | {} | {:.2}× | {failed} | {} | {} | {} |",
            neighbour.label(),
            ms(calls.p50),
            ms(calls.p99),
            calls.p99.as_secs_f64() / quiet.as_secs_f64(),
            ms(health.p50),
            ms(health.p99),
            ms(max),
        );
        // Calls still running in the server end at their deadline; the next row starts without them.
        if !matches!(neighbour, Neighbour::Quiet) {
            tokio::time::sleep(Duration::from_millis(SPIN_DEADLINE_MS + 500)).await;
        }
    }
    child.start_kill().ok();
    child.wait().await.ok();
    Ok(())
}

/// Starts the neighbour's callers; they run until aborted.
fn attack(client: &HttpClient, neighbour: Neighbour) -> Vec<tokio::task::JoinHandle<()>> {
    let (callers, tool, arguments, pace) = match neighbour {
        Neighbour::Quiet => return Vec::new(),
        Neighbour::Spinning(calls) => (calls, "spin", json!({}), Duration::ZERO),
        Neighbour::SlowFlood { callers, sleep_ms } => {
            (callers, "sleep", json!({"ms": sleep_ms}), Duration::from_millis(sleep_ms))
        }
    };
    (0..callers)
        .map(|_| {
            let (client, arguments) = (client.clone(), arguments.clone());
            tokio::spawn(async move {
                loop {
                    let started = Instant::now();
                    let _ = client.call_tool(tool, arguments.clone()).await;
                    // A caller keeps one call going: a refused one tries again when its call would have ended.
                    tokio::time::sleep(pace.saturating_sub(started.elapsed()).max(Duration::from_millis(5))).await;
                }
            })
        })
        .collect()
}

/// `get_conversation` in a loop for `window`: the latencies of the answers, and how many calls failed.
async fn probe_calls(client: &HttpClient, ids: &[String], window: Duration) -> (Vec<Duration>, usize) {
    let until = Instant::now() + window;
    let (mut latencies, mut failed) = (Vec::new(), 0);
    let mut i = 0;
    while Instant::now() < until {
        let started = Instant::now();
        let answer = client.call_tool("get_conversation", json!({"id": ids[i % ids.len()]})).await;
        match answer {
            Ok(answer) if answer["isError"] != Value::Bool(true) => latencies.push(started.elapsed()),
            _ => failed += 1,
        }
        i += 1;
    }
    (latencies, failed)
}

/// `GET /health` every 20 ms for `window`: the latencies.
async fn probe_health(base: String, window: Duration) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let until = Instant::now() + window;
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let response = http.get(format!("{base}/health")).send().await.context("GET /health")?;
        anyhow::ensure!(response.status().is_success(), "/health answered {}", response.status());
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(latencies)
}

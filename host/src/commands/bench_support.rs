//! What the benchmark commands share: the demo workspace they run on and how they summarise latencies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::config::Config;
use crate::demo::{self, DemoOptions};

/// Full-text queries, rotated; common support words, so each matches many conversations.
pub const TEXT_QUERIES: &[&str] =
    &["refund", "password reset", "invoice", "shipping delay", "crash", "cancel subscription"];

/// The benchmark's data directory (`bench_dir`, or `<data-dir>/bench-<conversations>`), holding a demo
/// workspace of exactly `conversations` (seeded on first use and kept between runs).
pub async fn bench_workspace(
    config: &Config,
    conversations: usize,
    bench_dir: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let dir = bench_dir.map_or_else(|| config.data_dir.join(format!("bench-{conversations}")), Path::to_owned);
    let mut bench = Config::new(dir.clone(), Some(dir.join("plugins")));
    bench.database_url = config.database_url.clone();
    let options = DemoOptions { conversations, ..DemoOptions::default() };
    let mut report = bench.build_demo_store(&options).await?;
    if report.is_none() {
        let store = bench.open_store().await?;
        if store.conversation_count().await? != conversations as u64 {
            report = Some(demo::seed(&store, &options).await?);
        }
        store.close().await;
    }
    if let Some(report) = report {
        eprintln!("seeded {} conversations at {:.0}/s", report.conversations, report.conversations_per_second());
    }
    Ok(dir)
}

/// A server on the benchmark workspace (see [`bench_workspace`]), spoken to over stdio and open: a child process
/// of this one, on this process's store, computing every call (calls repeat, so none is served from kept
/// answers).
pub async fn bench_server(
    config: &Config,
    conversations: usize,
    bench_dir: Option<&Path>,
) -> anyhow::Result<crate::protocol::stdio_client::StdioClient> {
    use crate::protocol::stdio_client::{Era, StdioClient};
    let dir = bench_workspace(config, conversations, bench_dir).await?;
    let exe = std::env::current_exe().context("cannot find the fastintercom executable")?;
    let env = store_env(config);
    let mut client =
        StdioClient::spawn_with_env(&exe, &dir, &["--no-answer-cache".as_ref()], &env, Era::Legacy).await?;
    client.open().await?;
    Ok(client)
}

/// The environment that puts a benchmark's server on this process's store: its database URL when it has one,
/// through the environment (any user of the machine can read a process's arguments).
pub fn store_env(config: &Config) -> Vec<(&'static str, String)> {
    config.database_url.iter().map(|url| ("FASTINTERCOM_DATABASE_URL", url.expose().to_owned())).collect()
}

/// The ids in a `search_conversations` answer.
pub fn result_ids(answer: &Value) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = answer["structuredContent"]["results"]
        .as_array()
        .context("search_conversations returned no results array")?
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(!ids.is_empty(), "the benchmark workspace has no conversations");
    Ok(ids)
}

/// The arguments of the i-th filtered search: state and timeframe rotated, 20 results.
pub fn filtered_search(i: usize) -> Value {
    let state = ["open", "closed", "snoozed"][i % 3];
    let timeframe = ["last_7_days", "last_30_days", "last_90_days"][i % 3];
    json!({"state": state, "timeframe": timeframe, "limit": 20})
}

pub fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

pub struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
}

impl Percentiles {
    /// Sorts `samples` (at least one) and reads the percentiles off them.
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
        Self { p50: at(0.50), p99: at(0.99), mean }
    }
}

//! `fastintercom bench`: end-to-end `tools/call` latency over stdio, as a client sees it.
//!
//! Seeds (once) a demo workspace of the requested size in its own data directory, starts `fastintercom serve`
//! as a child process, speaks MCP to it over pipes (one request in flight at a time) and reports p50/p99 per
//! kind of call. The figures in the README come from this command.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::config::Config;
use crate::demo::{self, DemoOptions};
use crate::protocol::stdio_client::{Era, StdioClient};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Conversations in the benchmark workspace
    #[arg(long, default_value_t = 100_000)]
    pub conversations: usize,
    /// Measured calls per kind (after warm-up)
    #[arg(long, default_value_t = 2_000)]
    pub iterations: usize,
    /// Where the benchmark workspace is kept between runs [default: <data-dir>/bench-<conversations>]
    #[arg(long)]
    pub bench_dir: Option<PathBuf>,
}

/// Makes the i-th request of one kind: (tool name, arguments).
type RequestMaker<'a> = Box<dyn Fn(usize) -> (String, Value) + 'a>;

/// Full-text queries, rotated; common support words, so each matches many conversations.
const TEXT_QUERIES: &[&str] =
    &["refund", "password reset", "invoice", "shipping delay", "crash", "cancel subscription"];

pub async fn run(config: &Config, args: BenchArgs) -> anyhow::Result<()> {
    let dir = args.bench_dir.clone().unwrap_or_else(|| config.data_dir.join(format!("bench-{}", args.conversations)));
    let bench_config = Config::new(dir.clone(), Some(dir.join("plugins")));
    let store = bench_config.open_store().await?;
    if store.conversation_count().await? != args.conversations as u64 {
        let report =
            demo::seed(&store, &DemoOptions { conversations: args.conversations, ..DemoOptions::default() }).await?;
        eprintln!("seeded {} conversations at {:.0}/s", report.conversations, report.conversations_per_second());
    }
    store.close().await;

    let exe = std::env::current_exe().context("cannot find the fastintercom executable")?;
    let mut client = StdioClient::spawn(&exe, &dir, &[], Era::Legacy).await?;
    client.open().await?;
    let sample = client.call_tool("search_conversations", json!({"limit": 1000, "sort": "newest"})).await?;
    let ids: Vec<String> = sample["structuredContent"]["results"]
        .as_array()
        .context("search_conversations returned no results array")?
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .collect();
    if ids.is_empty() {
        bail!("the benchmark workspace has no conversations");
    }

    let warmup = (args.iterations / 10).max(10);
    let mut rows = Vec::new();
    let kinds: [(&str, RequestMaker); 3] = [
        ("get_conversation", Box::new(|i| ("get_conversation".to_owned(), json!({"id": ids[i % ids.len()]})))),
        (
            "search_conversations (filtered: state + timeframe, limit 20)",
            Box::new(|i| {
                let state = ["open", "closed", "snoozed"][i % 3];
                let timeframe = ["last_7_days", "last_30_days", "last_90_days"][i % 3];
                ("search_conversations".to_owned(), json!({"state": state, "timeframe": timeframe, "limit": 20}))
            }),
        ),
        (
            "search_conversations (full text, ranked, limit 20)",
            Box::new(|i| {
                ("search_conversations".to_owned(), json!({"query": TEXT_QUERIES[i % TEXT_QUERIES.len()], "limit": 20}))
            }),
        ),
    ];
    for (label, request) in &kinds {
        for i in 0..warmup {
            let (tool, arguments) = request(i);
            client.call_tool(&tool, arguments).await?;
        }
        let mut latencies = Vec::with_capacity(args.iterations);
        for i in 0..args.iterations {
            let (tool, arguments) = request(i);
            let started = Instant::now();
            let response = client.call_tool(&tool, arguments).await?;
            latencies.push(started.elapsed());
            if response["isError"] == json!(true) {
                bail!("{tool} failed during the benchmark: {response}");
            }
        }
        rows.push((label.to_string(), Percentiles::of(&mut latencies)));
    }
    client.shutdown().await?;

    println!("End-to-end tools/call over stdio, {} conversations, {} calls each:", args.conversations, args.iterations);
    println!();
    println!("| call | p50 | p99 | mean |");
    println!("|---|---|---|---|");
    for (label, p) in rows {
        println!("| {label} | {} | {} | {} |", ms(p.p50), ms(p.p99), ms(p.mean));
    }
    Ok(())
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

struct Percentiles {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

impl Percentiles {
    fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        Self { p50: at(0.50), p99: at(0.99), mean }
    }
}

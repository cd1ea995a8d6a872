//! `fastintercom bench-http`: throughput and latency of `tools/call` over Streamable HTTP with many concurrent
//! clients, as a load generator on loopback sees them.
//!
//! Seeds (once) the benchmark workspace, starts `fastintercom serve --http 127.0.0.1:0` as a child process (its
//! rate limit raised so the limiter is exercised but never refuses), then for each kind of call runs `--clients`
//! tasks that each send one request after another for `--seconds` (after a warm-up), and reports calls/s and
//! p50/p99. Load generator and server share the machine's cores, as they would on a one-box deployment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};

use super::bench_support::{Percentiles, bench_workspace, filtered_search, ms, result_ids};
use crate::config::Config;
use crate::protocol::http_client::{Era, HttpClient, ServerProcess};

/// Makes the i-th request of one kind: (tool name, arguments); shared by the client tasks.
type RequestMaker = Arc<dyn Fn(usize) -> (String, Value) + Send + Sync>;

#[derive(Debug, Args)]
pub struct BenchHttpArgs {
    /// Conversations in the benchmark workspace
    #[arg(long, default_value_t = 100_000)]
    pub conversations: usize,
    /// Concurrent clients, each with one request in flight
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Measured seconds per kind of call (after a warm-up of a fifth of it)
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Protocol era of the clients: modern (2026-07-28, stateless) or legacy (a session per client)
    #[arg(long, default_value = "modern", value_parser = ["modern", "legacy"])]
    pub era: String,
    /// Where the benchmark workspace is kept between runs [default: <data-dir>/bench-<conversations>]
    #[arg(long)]
    pub bench_dir: Option<PathBuf>,
}

pub async fn run(config: &Config, args: BenchHttpArgs) -> anyhow::Result<()> {
    let dir = bench_workspace(config, args.conversations, args.bench_dir.as_deref()).await?;
    std::fs::write(dir.join("config.toml"), "[http.rate_limit]\nper_second = 1000000\nburst = 1000000\n")
        .context("cannot write the benchmark's config.toml")?;
    let (mut child, url) = start_server(&dir).await?;
    let era = if args.era == "legacy" { Era::Legacy } else { Era::Modern };

    let mut probe = HttpClient::new(&url, None, era);
    probe.open().await?;
    let ids = Arc::new(result_ids(&probe.call_tool("search_conversations", json!({"limit": 1000})).await?)?);
    let kinds: [(&str, RequestMaker); 2] = [
        ("get_conversation", {
            let ids = Arc::clone(&ids);
            Arc::new(move |i| ("get_conversation".to_owned(), json!({"id": ids[i % ids.len()]})))
        }),
        (
            "search_conversations (state + timeframe, limit 20)",
            Arc::new(|i| ("search_conversations".to_owned(), filtered_search(i))),
        ),
    ];

    println!(
        "tools/call over Streamable HTTP, {} conversations, {} clients ({} era), {} s per kind:",
        args.conversations, args.clients, args.era, args.seconds
    );
    println!();
    println!("| call | calls/s | p50 | p99 | errors |");
    println!("|---|---|---|---|---|");
    let measured = Duration::from_secs(args.seconds.max(1));
    for (label, request) in kinds {
        let mut clients = Vec::with_capacity(args.clients);
        for _ in 0..args.clients {
            let mut client = HttpClient::new(&url, None, era);
            client.open().await?;
            clients.push(client);
        }
        load(&clients, &request, measured / 5).await; // warm-up
        let started = Instant::now();
        let (mut latencies, errors) = load(&clients, &request, measured).await;
        let elapsed = started.elapsed();
        if latencies.is_empty() {
            bail!("no call of {label} succeeded");
        }
        let rate = latencies.len() as f64 / elapsed.as_secs_f64();
        let p = Percentiles::of(&mut latencies);
        println!("| {label} | {rate:.0} | {} | {} | {errors} |", ms(p.p50), ms(p.p99));
    }
    child.start_kill().ok();
    child.wait().await.ok();
    Ok(())
}

/// Runs every client for `duration`; returns the latencies of successful calls and the number of failures.
async fn load(clients: &[HttpClient], request: &RequestMaker, duration: Duration) -> (Vec<Duration>, usize) {
    let until = Instant::now() + duration;
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(n, client)| {
            let (client, request) = (client.clone(), Arc::clone(request));
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut i) = (Vec::new(), 0usize, n * 7919);
                while Instant::now() < until {
                    let (tool, arguments) = request(i);
                    i += 1;
                    let started = Instant::now();
                    match client.call_tool(&tool, arguments).await {
                        Ok(result) if result["isError"] != json!(true) => latencies.push(started.elapsed()),
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for task in tasks {
        if let Ok((latencies, failed)) = task.await {
            all.extend(latencies);
            errors += failed;
        }
    }
    (all, errors)
}

/// Starts `serve --http 127.0.0.1:0` on `dir` and returns the child and its MCP URL.
async fn start_server(dir: &std::path::Path) -> anyhow::Result<(tokio::process::Child, String)> {
    let exe = std::env::current_exe().context("cannot find the fastintercom executable")?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--http", "127.0.0.1:0"])
        .env("FASTINTERCOM_LOG", "warn,fastintercom::commands::serve=info")
        .env_remove("INTERCOM_ACCESS_TOKEN");
    let server = ServerProcess::spawn(command, Duration::from_secs(120)).await?;
    Ok((server.child, server.url))
}

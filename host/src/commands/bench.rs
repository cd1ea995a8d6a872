//! `fastintercom bench`: end-to-end `tools/call` latency over stdio, as a client sees it.
//!
//! Seeds (once) a demo workspace of the requested size in its own data directory, starts `fastintercom serve`
//! as a child process, speaks MCP to it over pipes (one request in flight at a time) and reports p50/p99 per
//! kind of call. The figures in the README come from this command.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::bench_support::{Percentiles, TEXT_QUERIES, bench_server, filtered_search, ms, result_ids};
use crate::config::Config;

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

pub async fn run(config: &Config, args: BenchArgs) -> anyhow::Result<()> {
    let mut client = bench_server(config, args.conversations, args.bench_dir.as_deref()).await?;
    let ids = result_ids(&client.call_tool("search_conversations", json!({"limit": 1000, "sort": "newest"})).await?)?;

    let warmup = (args.iterations / 10).max(10);
    let mut rows = Vec::new();
    let kinds: [(&str, RequestMaker); 3] = [
        ("get_conversation", Box::new(|i| ("get_conversation".to_owned(), json!({"id": ids[i % ids.len()]})))),
        (
            "search_conversations (filtered: state + timeframe, limit 20)",
            Box::new(|i| ("search_conversations".to_owned(), filtered_search(i))),
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

    let backend = if config.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "End-to-end tools/call over stdio, {} conversations ({backend}), {} calls each:",
        args.conversations, args.iterations
    );
    println!();
    println!("| call | p50 | p99 | mean |");
    println!("|---|---|---|---|");
    for (label, p) in rows {
        println!("| {label} | {} | {} | {} |", ms(p.p50), ms(p.p99), ms(p.mean));
    }
    Ok(())
}

//! `fastintercom bench-analytics`: the analytics tools' latency over stdio, over all time and over the last 30
//! days, and a tag breakdown made the way a plugin had to before contract 0.5.0 (paging through every summary)
//! beside the same breakdown from `tag_trends`.
//!
//! Seeds (once) a demo workspace of the requested size, starts `fastintercom serve` as a child process and
//! calls each kind `iterations` times, one call in flight, after two warm-up calls. Prints p50/p99 per kind.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};

use super::bench_support::{Percentiles, bench_server, ms};
use crate::config::Config;
use crate::protocol::stdio_client::StdioClient;

#[derive(Debug, Args)]
pub struct BenchAnalyticsArgs {
    /// Conversations in the benchmark workspace
    #[arg(long, default_value_t = 100_000)]
    pub conversations: usize,
    /// Measured calls per kind (after two warm-up calls)
    #[arg(long, default_value_t = 30)]
    pub iterations: usize,
    /// Where the benchmark workspace is kept between runs [default: <data-dir>/bench-<conversations>]
    #[arg(long)]
    pub bench_dir: Option<PathBuf>,
}

/// The calls measured: (label, tool, arguments).
fn kinds() -> Vec<(String, &'static str, Value)> {
    let mut kinds = Vec::new();
    for timeframe in ["all_time", "last_30_days"] {
        let calls: [(&str, Value); 7] = [
            ("conversation_volume", json!({"timeframe": timeframe, "period": "month"})),
            ("conversation_volume", json!({"timeframe": timeframe, "period": "week", "by": "team"})),
            ("response_times", json!({"timeframe": timeframe, "by": "team"})),
            ("response_times", json!({"timeframe": timeframe, "by": "tag"})),
            ("tag_trends", json!({"timeframe": timeframe})),
            ("workload", json!({"timeframe": timeframe})),
            ("satisfaction", json!({"timeframe": timeframe, "by": "admin"})),
        ];
        for (tool, arguments) in calls {
            kinds.push((format!("{tool} {arguments}"), tool, arguments));
        }
    }
    kinds
}

pub async fn run(config: &Config, args: BenchAnalyticsArgs) -> anyhow::Result<()> {
    let mut client = bench_server(config, args.conversations, args.bench_dir.as_deref()).await?;
    let iterations = args.iterations.max(1);
    let mut rows = Vec::new();
    for (label, tool, arguments) in kinds() {
        let mut latencies = Vec::with_capacity(iterations);
        for i in 0..iterations + 2 {
            let started = Instant::now();
            let answer = client.call_tool(tool, arguments.clone()).await?;
            let elapsed = started.elapsed();
            if answer["isError"] == json!(true) {
                bail!("{label} failed during the benchmark: {answer}");
            }
            if i >= 2 {
                latencies.push(elapsed);
            }
        }
        rows.push((label, Percentiles::of(&mut latencies)));
    }

    // The tag breakdown of every conversation: paging through summaries (1,000 a page) and counting in the
    // client, as a 0.4.0 plugin had to, against `tag_trends` over all time.
    let mut paged = Vec::new();
    let mut tags_paged = 0;
    for _ in 0..3 {
        let started = Instant::now();
        tags_paged = tags_by_paging(&mut client).await?;
        paged.push(started.elapsed());
    }
    let mut through_analytics = Vec::new();
    let mut tags_counted = 0;
    for _ in 0..iterations {
        let started = Instant::now();
        let answer = client.call_tool("tag_trends", json!({"timeframe": "all_time", "limit": 200})).await?;
        through_analytics.push(started.elapsed());
        tags_counted = answer["structuredContent"]["results"].as_array().map_or(0, Vec::len);
    }
    client.shutdown().await?;

    let backend = if config.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("Analytics tools over stdio, {} conversations ({backend}), {iterations} calls each:", args.conversations);
    println!();
    println!("| call | p50 | p99 |");
    println!("|---|---|---|");
    for (label, p) in rows {
        println!("| `{label}` | {} | {} |", ms(p.p50), ms(p.p99));
    }
    let paged = Percentiles::of(&mut paged);
    let counted = Percentiles::of(&mut through_analytics);
    println!();
    println!(
        "Tag breakdown of every conversation: paging summaries {} p50 ({tags_paged} tags, 3 runs); \
         tag_trends all_time {} p50 ({tags_counted} tags)",
        ms(paged.p50),
        ms(counted.p50)
    );
    Ok(())
}

/// Counts conversations per tag by reading every summary, a page of 1,000 at a time: the number of tags.
async fn tags_by_paging(client: &mut StdioClient) -> anyhow::Result<usize> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut arguments = json!({"sort": "newest", "limit": 1000});
        if let Some(cursor) = &cursor {
            arguments["cursor"] = json!(cursor);
        }
        let answer = client.call_tool("search_conversations", arguments).await?;
        let page = &answer["structuredContent"];
        for result in page["results"].as_array().context("a page without results")? {
            for tag in result["tags"].as_array().into_iter().flatten() {
                *counts.entry(tag.as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        }
        match page["pagination"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(counts.len()),
        }
    }
}

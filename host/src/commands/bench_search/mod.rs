//! `fastintercom bench-search`: `search_conversations` latency over stdio for every cell of the search matrix
//! (text × filters × sort × limit, see [`matrix`]), as a client sees it.
//!
//! Seeds (once) a demo workspace of the requested size, starts `fastintercom serve` as a child process, samples
//! the values the cells fill in (tags, contacts, assignees) from the server's own answers, and calls each cell
//! `iterations` times, one call in flight. It prints p50/p99 per cell, then the worst cells and how many miss
//! the targets (p50 ≤ 5 ms, p99 ≤ 20 ms). A call that fails (a deadline, an error) is counted against its cell.

pub mod matrix;
#[cfg(test)]
mod plans_agree;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use super::bench_support::{Percentiles, bench_workspace, ms};
use crate::config::Config;
use crate::protocol::stdio_client::{Era, StdioClient};
use matrix::{Cell, SampledConversation, Values};

/// The targets every cell must meet on a 2-core machine.
const TARGET_P50: Duration = Duration::from_millis(5);
const TARGET_P99: Duration = Duration::from_millis(20);

#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// Conversations in the benchmark workspace
    #[arg(long, default_value_t = 100_000)]
    pub conversations: usize,
    /// Measured calls per cell (after two warm-up calls)
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Only the cells whose description ("text | filters | sort | limit") contains this
    #[arg(long)]
    pub only: Option<String>,
    /// Where the benchmark workspace is kept between runs [default: <data-dir>/bench-<conversations>]
    #[arg(long)]
    pub bench_dir: Option<PathBuf>,
    /// The `detail` every call asks for [default: the tool's own, compact]
    #[arg(long, value_parser = ["compact", "full"])]
    pub detail: Option<String>,
}

/// What one cell measured.
struct CellResult {
    cell: Cell,
    latency: Percentiles,
    failed: usize,
    /// The first successful call's total.
    total: Option<u64>,
}

pub async fn run(config: &Config, args: BenchSearchArgs) -> anyhow::Result<()> {
    let dir = bench_workspace(config, args.conversations, args.bench_dir.as_deref()).await?;
    let exe = std::env::current_exe().context("cannot find the fastintercom executable")?;
    // Cells repeat their calls: every one is computed, not served from kept answers.
    let mut client = StdioClient::spawn(&exe, &dir, &["--no-answer-cache".as_ref()], Era::Legacy).await?;
    client.open().await?;
    let values = sample_values(&mut client).await?;

    let cells: Vec<Cell> = matrix::cells()
        .into_iter()
        .filter(|cell| args.only.as_ref().is_none_or(|only| cell.to_string().contains(only.as_str())))
        .collect();
    let iterations = args.iterations.max(1);
    let mut results = Vec::with_capacity(cells.len());
    for cell in cells {
        results.push(measure(&mut client, &values, cell, iterations, args.detail.as_deref()).await?);
    }
    client.shutdown().await?;
    report(&results, args.conversations, iterations);
    Ok(())
}

/// Samples tags and people from the newest thousand conversations.
async fn sample_values(client: &mut StdioClient) -> anyhow::Result<Values> {
    let newest = json!({"sort": "newest", "limit": 1000, "detail": "full"});
    let answer = client.call_tool("search_conversations", newest).await?;
    let results = answer["structuredContent"]["results"].as_array().context("search_conversations gave no results")?;
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let lists: Vec<(Vec<String>, Vec<String>)> =
        results.iter().map(|c| (strings(&c["contact_ids"]), strings(&c["tags"]))).collect();
    let sampled = results.iter().zip(&lists).map(|(c, (contact_ids, tags))| SampledConversation {
        contact_ids,
        admin_assignee_id: c["admin_assignee_id"].as_str(),
        team_assignee_id: c["team_assignee_id"].as_str(),
        tags,
    });
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let values = Values::sample(sampled, now);
    anyhow::ensure!(values.is_complete(), "the workspace has too little data to sample tags, contacts and assignees");
    Ok(values)
}

async fn measure(
    client: &mut StdioClient,
    values: &Values,
    cell: Cell,
    iterations: usize,
    detail: Option<&str>,
) -> anyhow::Result<CellResult> {
    let mut latencies = Vec::with_capacity(iterations);
    let mut failed = 0;
    let mut total = None;
    for i in 0..iterations + 2 {
        let mut arguments = cell.search(values, i).arguments;
        if let (Some(detail), Some(object)) = (detail, arguments.as_object_mut()) {
            object.insert("detail".to_owned(), detail.into());
        }
        let started = Instant::now();
        let answer = client.call_tool("search_conversations", arguments).await?;
        let elapsed = started.elapsed();
        if i < 2 {
            continue;
        }
        latencies.push(elapsed);
        if answer["isError"] == json!(true) {
            failed += 1;
        } else if total.is_none() {
            total = answer["structuredContent"]["summary"]["total"].as_u64();
        }
    }
    Ok(CellResult { cell, latency: Percentiles::of(&mut latencies), failed, total })
}

fn report(results: &[CellResult], conversations: usize, iterations: usize) {
    println!(
        "search_conversations over stdio, {conversations} conversations, {iterations} calls per cell \
         (values rotate within a cell; total is the first successful call's):"
    );
    println!();
    println!("| text | filters | sort | limit | p50 | p99 | failed | total |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in results {
        let total = r.total.map_or_else(|| "-".to_owned(), |t| t.to_string());
        println!("| {} | {} | {} | {} | {total} |", r.cell, ms(r.latency.p50), ms(r.latency.p99), r.failed);
    }
    let missed = |r: &&CellResult| r.failed > 0 || r.latency.p50 > TARGET_P50 || r.latency.p99 > TARGET_P99;
    let missing = results.iter().filter(missed).count();
    println!();
    println!(
        "{} of {} cells miss a target (p50 ≤ {} ms, p99 ≤ {} ms, no failed call).",
        missing,
        results.len(),
        TARGET_P50.as_millis(),
        TARGET_P99.as_millis()
    );
    let worst = |label: &str, key: fn(&CellResult) -> Duration| {
        if let Some(w) = results.iter().max_by_key(|r| key(r)) {
            println!("Worst {label}: {} ({} p50, {} p99)", w.cell, ms(w.latency.p50), ms(w.latency.p99));
        }
    };
    worst("p50", |r| r.latency.p50);
    worst("p99", |r| r.latency.p99);
    let mut p50s: Vec<Duration> = results.iter().map(|r| r.latency.p50).collect();
    if !p50s.is_empty() {
        println!("Median of the cells' p50: {}", ms(Percentiles::of(&mut p50s).p50));
    }
}

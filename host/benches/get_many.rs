//! `conversations.get-many` (contract 0.4.0) against as many single gets: 100 whole threads read in one statement
//! or in 100, from a demo workspace, as the host does for a plugin.
//!
//! Run: `cargo bench -p fastintercom --bench get_many` (`GET_MANY_BENCH_CONVERSATIONS` sets the workspace's size,
//! default 100,000; `GET_MANY_BENCH_DIR` keeps it between runs). Under `cargo test` (no `--bench` argument) it runs
//! on 2,000 conversations for 5 rounds, as a smoke test.

use std::time::{Duration, Instant};

use fastintercom::demo::{self, DemoOptions};
use fastintercom::store::filter::{ConversationFilter, ConversationSort, PageRequest};
use fastintercom::store::{Store, StoreOptions};

/// The allocator the `fastintercom` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const IDS: usize = 100;

fn main() -> anyhow::Result<()> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let rounds = if full { 200 } else { 5 };
    let conversations = std::env::var("GET_MANY_BENCH_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100_000 } else { 2_000 });
    let kept = std::env::var_os("GET_MANY_BENCH_DIR").map(std::path::PathBuf::from);
    let scratch = tempfile::TempDir::new()?;
    let dir = kept.unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("get-many-{conversations}.sqlite3"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let options = DemoOptions { conversations, ..DemoOptions::default() };
        if !path.exists() {
            demo::build_store(&path, &options).await?;
        }
        let store = Store::open(&path, StoreOptions::default()).await?;
        let newest = PageRequest { limit: 1000, cursor: None };
        let page =
            store.search_conversations(&ConversationFilter::default(), ConversationSort::Newest, &newest).await?;
        let pool: Vec<String> = page.items.into_iter().map(|c| c.id).collect();
        let (mut many, mut singles) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let ids: Vec<String> = (0..IDS).map(|i| pool[(round * 37 + i * 7) % pool.len()].clone()).collect();
            let started = Instant::now();
            let found = store.get_conversations(&ids).await?;
            many.push(started.elapsed());
            assert_eq!(found.iter().flatten().count(), IDS);
            let started = Instant::now();
            for id in &ids {
                store.get_conversation(id).await?.expect("stored");
            }
            singles.push(started.elapsed());
        }
        report("get-many of 100", &mut many);
        report("100 single gets", &mut singles);
        store.close().await;
        anyhow::Ok(())
    })
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0;
    println!("{what}: p50 {:.2} ms, p99 {:.2} ms ({} rounds)", at(0.5), at(0.99), times.len());
}

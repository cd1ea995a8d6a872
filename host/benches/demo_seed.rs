//! Demo workspace speed: generation alone (one thread), then seeding end to end into a fresh SQLite store
//! (generation and statement building pipelined with the single writer).
//!
//! Run: `cargo bench -p fastintercom --bench demo_seed` (`DEMO_BENCH_CONVERSATIONS` sets the size, default
//! 100,000).

use std::time::Instant;

use fastintercom::demo::{self, DemoOptions};
use fastintercom::store::{Store, StoreOptions};

fn main() -> anyhow::Result<()> {
    let conversations = std::env::var("DEMO_BENCH_CONVERSATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let options = DemoOptions { conversations, ..DemoOptions::default() };

    let started = Instant::now();
    let workspace = demo::generate(&options);
    let parts: usize = workspace.conversations().map(|c| c.parts.len()).sum();
    let generation = started.elapsed();
    println!(
        "generation alone: {conversations} conversations ({parts} parts) in {:.2} s = {:.0} conversations/s",
        generation.as_secs_f64(),
        conversations as f64 / generation.as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let dir = tempfile::TempDir::new()?;
        let store = Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await?;
        let report = demo::seed(&store, &options).await?;
        store.close().await;
        println!(
            "seed end to end: {} conversations, {} parts, {} contacts in {:.2} s = {:.0} conversations/s",
            report.conversations,
            report.parts,
            report.contacts,
            report.elapsed.as_secs_f64(),
            report.conversations_per_second()
        );
        anyhow::Ok(())
    })
}

//! Demo workspace speed: generation alone (one thread), then end to end (generation and statement building
//! pipelined with the single writer) both ways a workspace is written: building a new store (what `demo` and
//! `serve` do in a new data directory) and seeding a store that is open already (an existing data directory).
//!
//! Run: `cargo bench -p fastintercom --bench demo_seed` (`DEMO_BENCH_CONVERSATIONS` sets the size, default
//! 100,000).

use std::time::Instant;

use fastintercom::demo::{self, DemoOptions};
use fastintercom::store::{Store, StoreOptions};

/// The allocator the `fastintercom` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let conversations = std::env::var("DEMO_BENCH_CONVERSATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let options = DemoOptions { conversations, ..DemoOptions::default() };

    let started = Instant::now();
    let workspace = demo::generate(&options);
    let parts: usize = workspace.conversations().map(|c| c.parts.len()).sum();
    let generation = started.elapsed();
    // Seeding generates its own copy; keeping this one alive as well made seeding about 25% slower.
    drop(workspace);
    println!(
        "generation alone: {conversations} conversations ({parts} parts) in {:.2} s = {:.0} conversations/s",
        generation.as_secs_f64(),
        conversations as f64 / generation.as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let dir = tempfile::TempDir::new()?;
        let report = demo::build_store(&dir.path().join("built.sqlite3"), &options).await?.expect("a new path");
        print_report("build a new store", &report);
        let store = Store::open(&dir.path().join("seeded.sqlite3"), StoreOptions::default()).await?;
        let report = demo::seed(&store, &options).await?;
        store.close().await;
        print_report("seed an open store", &report);
        anyhow::Ok(())
    })
}

fn print_report(how: &str, report: &demo::SeedReport) {
    println!(
        "{how}: {} conversations, {} parts, {} contacts in {:.2} s = {:.0} conversations/s",
        report.conversations,
        report.parts,
        report.contacts,
        report.elapsed.as_secs_f64(),
        report.conversations_per_second()
    );
}

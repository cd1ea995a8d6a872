//! Sandbox overhead per call: a fresh instance from the pre-instantiated probe component plus a call of its
//! trivial `noop` tool, measured in process (no MCP, no store access).
//!
//! Run: `cargo bench -p fastintercom --bench sandbox`. Prints p50, p99 and mean over 20,000 calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fastintercom::runtime::{Manifest, Runtime, RuntimeLimits};
use fastintercom::store::{Store, StoreOptions};
use fastintercom_tests::{PROBE_MANIFEST, PROBE_WASM};

const WARMUP: usize = 2_000;
const CALLS: usize = 20_000;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let dir = tempfile::TempDir::new()?;
        let store = Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await?;
        let sandbox = Runtime::new(RuntimeLimits::default(), None, store)?;
        let plugin = sandbox.load(Arc::from(PROBE_WASM), Manifest::parse(PROBE_MANIFEST)?).await?;
        for _ in 0..WARMUP {
            sandbox.call_tool(&plugin, "noop", "{}").await?;
        }
        let mut samples = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let started = Instant::now();
            sandbox.call_tool(&plugin, "noop", "{}").await?;
            samples.push(started.elapsed());
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        let mean = samples.iter().sum::<Duration>() / CALLS as u32;
        println!("sandbox overhead (fresh instance + trivial call), {CALLS} calls:");
        println!("  p50 {:.1} µs   p99 {:.1} µs   mean {:.1} µs", micros(at(0.5)), micros(at(0.99)), micros(mean));
        anyhow::Ok(())
    })
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

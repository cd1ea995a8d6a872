//! Sandbox overhead per call: a fresh instance from the pre-instantiated probe component plus a call of its
//! trivial `noop` tool (arguments checked against its schema), measured in process (no MCP, no store access):
//! loaded as a built-in (run in place, on the caller's thread) and as a third-party plugin (run on the guest
//! threads, which adds the hand-over to them and back).
//!
//! Run: `cargo bench -p fastintercom --bench sandbox`. Prints p50, p99 and mean over 20,000 calls each. Under
//! `cargo test` (no `--bench` argument) it runs a few hundred calls, as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fastintercom::runtime::{Manifest, PluginOrigin, Runtime, RuntimeLimits};
use fastintercom::store::{Store, StoreOptions};
use fastintercom_tests::{PROBE_MANIFEST, PROBE_WASM};
use serde_json::Map;

fn main() -> anyhow::Result<()> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (warmup, calls) = if full { (2_000, 20_000) } else { (20, 200) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let dir = tempfile::TempDir::new()?;
        let store = Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await?;
        let sandbox = Runtime::new(RuntimeLimits::default(), None, store)?;
        for (label, origin) in [("built-in", PluginOrigin::Builtin), ("third-party", PluginOrigin::Directory)] {
            let manifest = Manifest::parse(PROBE_MANIFEST)?;
            let plugin = Arc::new(sandbox.load_as(Arc::from(PROBE_WASM), manifest, origin).await?);
            for _ in 0..warmup {
                sandbox.call_tool(&plugin, "noop", Map::new()).await?;
            }
            let mut samples = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                sandbox.call_tool(&plugin, "noop", Map::new()).await?;
                samples.push(started.elapsed());
            }
            samples.sort_unstable();
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            let mean = samples.iter().sum::<Duration>() / calls as u32;
            println!("sandbox overhead, {label} (fresh instance + trivial call), {calls} calls:");
            println!("  p50 {:.1} µs   p99 {:.1} µs   mean {:.1} µs", micros(at(0.5)), micros(at(0.99)), micros(mean));
        }
        anyhow::Ok(())
    })
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

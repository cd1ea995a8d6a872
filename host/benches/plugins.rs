//! The plugin platform's costs, in process:
//! - instance policies: a call on a fresh instance against one on a warm (reused) instance, for a small Rust
//!   guest and for the componentize-py guest;
//! - the registry's own overhead per call (lookup, schema validation, counters) over the sandbox's;
//! - hot swap: from a plugin's file landing in the watched directory to its new version answering, for new bytes
//!   (compiled on arrival) and for bytes seen before (from the compiled-component cache);
//! - p99 of another tool's calls while a plugin is swapped every half second, against p99 with no swap;
//! - a full-text search computed, against the same search answered again from the kept answers;
//! - with the Redis at 127.0.0.1:6379 (skipped without it): the same search answered by a second replica from
//!   the answers the first shared, and the hit ratio of two replicas under a repeated-query mix, sharing kept
//!   answers and not.
//!
//! Every row but the last two computes every call (the registry keeps no answers), as the rows measure the platform.
//!
//! Run: `cargo bench -p fastintercom --bench plugins`. The Python rows need `tests/guests/python/build.sh` to
//! have run (the integration tests run it); without it they are skipped. Under `cargo test` (no `--bench`
//! argument) it runs a few iterations of each, as a smoke test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fastintercom::commands::serve::PluginWatch;
use fastintercom::config::Config;
use fastintercom::demo::{self, DemoOptions};
use fastintercom::registry::Registry;
use fastintercom::runtime::{InstancePolicy, Manifest, Runtime, RuntimeLimits};
use fastintercom::store::Store;
use fastintercom_tests::{SWAP_MANIFEST, SWAP_TOOL, land, swap_version};
use serde_json::{Map, Value, json};

const CONVERSATIONS: usize = 2_000;

/// A full run under `cargo bench`, a short one under `cargo test`.
fn full_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// `n` in a full run, a handful otherwise.
fn scaled(n: usize) -> usize {
    if full_run() { n } else { n.div_ceil(100).max(2) }
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let dir = tempfile::TempDir::new()?;
        let mut config = Config::new(dir.path().join("data"), Some(dir.path().join("plugins")))
            .with_cache_dir(Some(dir.path().join("cache")));
        let store = config.open_store().await?;
        let options = DemoOptions { conversations: CONVERSATIONS, ..DemoOptions::default() };
        demo::seed(&store, &options).await?;
        config.keep_answers = false;
        instance_policies(&config, &store).await?;
        registry_overhead(&config, &store).await?;
        hot_swap(&config, &store).await?;
        config.keep_answers = true;
        kept_answers(&config, &store).await?;
        shared_answers(&config, &store).await?;
        anyhow::Ok(())
    })
}

/// p50, p99 and the largest of `samples`.
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), samples[samples.len() - 1])
}

fn us(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn instance_policies(config: &Config, store: &Store) -> anyhow::Result<()> {
    let registry = config.open_registry(store.clone()).await?;
    let found = registry.call("search_conversations", object(json!({"limit": 1}))).await?;
    let id = found.structured.as_ref().and_then(|s| s["results"][0]["id"].as_str()).unwrap_or_default().to_owned();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/python-guest/py_thread_stats.wasm");
    // (label, component, manifest, tool, arguments, calls)
    type Guest<'a> = (&'a str, Vec<u8>, String, &'a str, Map<String, Value>, usize);
    let mut guests: Vec<Guest> =
        vec![("Rust (swap probe)", swap_version("aaaa"), SWAP_MANIFEST.to_owned(), "swap_counter", Map::new(), 20_000)];
    match (std::fs::read(&python), std::fs::read_to_string(python.with_extension("toml"))) {
        (Ok(wasm), Ok(manifest)) => {
            guests.push(("Python (componentize-py)", wasm, manifest, "py_thread_stats", object(json!({"id": id})), 300))
        }
        _ => println!("(no {}; run tests/guests/python/build.sh for the Python rows)", python.display()),
    }
    println!("Instance policies: one call (instance + call), in process");
    println!();
    println!("| guest | size | policy | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (label, wasm, manifest_text, tool, arguments, calls) in guests {
        let manifest = Manifest::parse(&manifest_text)?;
        for (policy_label, policy) in [
            ("fresh", InstancePolicy::Fresh),
            ("warm (pool 4, 1000 calls each)", InstancePolicy::Warm { pool: 4, max_reuse: 1000 }),
        ] {
            let mut limits = RuntimeLimits::default();
            limits.policy.instances.insert(manifest.name.clone(), policy);
            let runtime = Runtime::new(limits, Some(config.cache_dir.clone()), store.clone())?;
            let plugin = Arc::new(runtime.load(Arc::from(wasm.as_slice()), manifest.clone()).await?);
            for _ in 0..calls / 10 {
                runtime.call_tool(&plugin, tool, arguments.clone()).await?;
            }
            let mut samples = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                runtime.call_tool(&plugin, tool, arguments.clone()).await?;
                samples.push(started.elapsed());
            }
            let (p50, p99, _) = percentiles(&mut samples);
            let size = format!("{:.1} MB", wasm.len() as f64 / 1e6);
            println!("| {label} | {size} | {policy_label} | {} | {} |", us(p50), us(p99));
        }
    }
    println!();
    Ok(())
}

/// `config` with a plugins directory of its own, holding the swap probe.
fn with_swap_probe(config: &Config) -> anyhow::Result<(tempfile::TempDir, Config)> {
    let plugins = tempfile::TempDir::new()?;
    let config = Config {
        keep_answers: config.keep_answers,
        ..Config::new(config.data_dir.clone(), Some(plugins.path().to_owned()))
            .with_cache_dir(Some(config.cache_dir.clone()))
    };
    land(plugins.path(), "swap", &swap_version("aaaa"), SWAP_MANIFEST, None);
    Ok((plugins, config))
}

async fn registry_overhead(config: &Config, store: &Store) -> anyhow::Result<()> {
    let (_plugins, config) = with_swap_probe(config)?;
    let registry = config.open_registry(store.clone()).await?;
    let lookups = scaled(1_000_000) as u32;
    let started = Instant::now();
    for _ in 0..lookups {
        std::hint::black_box(registry.tools().get(std::hint::black_box("swap_counter")).cloned());
    }
    let lookup = started.elapsed() / lookups;

    let tool = registry.tools().get("swap_counter").cloned().expect("served");
    let calls = scaled(20_000);
    let mut direct = Vec::with_capacity(calls);
    let mut through = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        registry.runtime().call_tool(&tool.plugin, "swap_counter", Map::new()).await?;
        direct.push(started.elapsed());
        let started = Instant::now();
        registry.call("swap_counter", Map::new()).await?;
        through.push(started.elapsed());
    }
    let (direct_p50, _, _) = percentiles(&mut direct);
    let (through_p50, _, _) = percentiles(&mut through);
    println!("Registry overhead per call (swap probe's trivial tool, {calls} calls each)");
    println!();
    println!("| measure | time |");
    println!("|---|---|");
    println!("| tool lookup (snapshot + name lookup), mean of {lookups} | {:.0} ns |", lookup.as_secs_f64() * 1e9);
    println!("| sandbox call alone (argument check included), p50 | {} |", us(direct_p50));
    println!("| through the registry (lookup, counters), p50 | {} |", us(through_p50));
    println!("| registry overhead, p50 difference | {} |", us(through_p50.saturating_sub(direct_p50)));
    println!();
    Ok(())
}

/// Waits until the registry serves `version` of the swap probe; returns when it first answered.
async fn served(registry: &Registry, version: &str, deadline: Instant) -> anyhow::Result<Instant> {
    let mut changes = registry.changes();
    loop {
        if let Ok(output) = registry.call(SWAP_TOOL, Map::new()).await
            && output.structured.as_ref().and_then(|s| s["version"].as_str()) == Some(version)
        {
            return Ok(Instant::now());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            anyhow::bail!("version {version} never answered");
        }
        let _ = tokio::time::timeout(left.min(Duration::from_millis(20)), changes.changed()).await;
    }
}

async fn hot_swap(config: &Config, store: &Store) -> anyhow::Result<()> {
    let (plugins, config) = with_swap_probe(config)?;
    // As `serve` does: watching starts before the first load.
    let plugin_watch = PluginWatch::start(&config)?;
    let registry = config.open_registry(store.clone()).await?;
    let _watch = plugin_watch.serve(&config, registry.clone());

    let swap_to = |version: &str, dir: &PathBuf| {
        land(dir, "swap", &swap_version(version), SWAP_MANIFEST, None);
        Instant::now()
    };
    // New bytes each time: compiled on arrival.
    let swaps_each = scaled(20);
    let mut fresh = Vec::new();
    for swap in 0..swaps_each {
        let version = format!("n{swap:03}");
        let landed = swap_to(&version, &plugins.path().to_owned());
        fresh.push(served(&registry, &version, landed + Duration::from_secs(30)).await? - landed);
    }
    // Two versions seen before, alternating: loaded from the compiled-component cache.
    let mut cached = Vec::new();
    for swap in 0..swaps_each {
        let version = ["n000", "n001"][swap % 2];
        let landed = swap_to(version, &plugins.path().to_owned());
        cached.push(served(&registry, version, landed + Duration::from_secs(30)).await? - landed);
    }
    let (fresh_p50, _, fresh_max) = percentiles(&mut fresh);
    let (cached_p50, _, cached_max) = percentiles(&mut cached);

    // Another tool's latency without and with swaps of new bytes every 500 ms.
    let other = |registry: Arc<Registry>, stop: Arc<AtomicBool>| async move {
        let mut samples = Vec::new();
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let state = ["open", "closed", "snoozed"][i % 3];
            let arguments = object(json!({"state": state, "limit": 20}));
            i += 1;
            let started = Instant::now();
            registry.call("search_conversations", arguments).await.expect("the other tool answers");
            samples.push(started.elapsed());
        }
        samples
    };
    let phase = Duration::from_secs(if full_run() { 10 } else { 1 });
    let stop = Arc::new(AtomicBool::new(false));
    let caller = tokio::spawn(other(registry.clone(), stop.clone()));
    tokio::time::sleep(phase).await;
    stop.store(true, Ordering::Relaxed);
    let mut quiet = caller.await?;
    let stop = Arc::new(AtomicBool::new(false));
    let caller = tokio::spawn(other(registry.clone(), stop.clone()));
    let until = Instant::now() + phase;
    let mut swaps = 0;
    while Instant::now() < until {
        swap_to(&format!("s{swaps:03}"), &plugins.path().to_owned());
        swaps += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut swapping = caller.await?;
    let (quiet_p50, quiet_p99, _) = percentiles(&mut quiet);
    let (swapping_p50, swapping_p99, _) = percentiles(&mut swapping);

    println!("Hot swap: file landing in the watched directory to the new version answering, {swaps_each} swaps each");
    println!();
    println!("| swap | p50 | max |");
    println!("|---|---|---|");
    println!("| new bytes (compiled on arrival) | {} | {} |", ms(fresh_p50), ms(fresh_max));
    println!("| bytes seen before (compiled-component cache) | {} | {} |", ms(cached_p50), ms(cached_max));
    println!();
    println!(
        "Other calls (filtered search_conversations, {CONVERSATIONS} conversations) for {} s each, without and with a swap of new bytes every 500 ms ({swaps} swaps)",
        phase.as_secs()
    );
    println!();
    println!("| phase | calls | p50 | p99 |");
    println!("|---|---|---|---|");
    println!("| no swap | {} | {} | {} |", quiet.len(), us(quiet_p50), us(quiet_p99));
    println!("| swapping | {} | {} | {} |", swapping.len(), us(swapping_p50), us(swapping_p99));
    println!("| p99 ratio | | | {:.2}× |", swapping_p99.as_secs_f64() / quiet_p99.as_secs_f64());
    Ok(())
}

/// A full-text search computed (the registry keeps no answers) against the same search answered again from the
/// kept answers (a point read of the store's data generation, a lookup and a copy of the answer).
async fn kept_answers(config: &Config, store: &Store) -> anyhow::Result<()> {
    let search = || object(json!({"query": "refund", "limit": 20}));
    let computing = Config { keep_answers: false, ..config.clone() }.open_registry(store.clone()).await?;
    let keeping = config.open_registry(store.clone()).await?;
    let is_kept = |answer: &fastintercom::runtime::ToolOutput| {
        answer.structured.as_ref().is_some_and(|s| s["metadata"]["cache_hit"] == json!(true))
    };
    // Answers are kept once the store's data generation was read (right after the first call).
    for _ in 0..1000 {
        if is_kept(&keeping.call("search_conversations", search()).await?) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let calls = scaled(5_000);
    let (mut computed, mut kept) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    for _ in 0..calls {
        let started = Instant::now();
        computing.call("search_conversations", search()).await?;
        computed.push(started.elapsed());
        let started = Instant::now();
        let answer = keeping.call("search_conversations", search()).await?;
        kept.push(started.elapsed());
        anyhow::ensure!(is_kept(&answer), "the search was computed again");
    }
    let (computed_p50, computed_p99, _) = percentiles(&mut computed);
    let (kept_p50, kept_p99, _) = percentiles(&mut kept);
    println!("Kept answers: \"refund\", limit 20, {CONVERSATIONS} conversations, {calls} calls each, in process");
    println!();
    println!("| call | p50 | p99 |");
    println!("|---|---|---|");
    println!("| computed | {} | {} |", us(computed_p50), us(computed_p99));
    println!("| answered again from the kept answers | {} | {} |", us(kept_p50), us(kept_p99));
    println!();
    Ok(())
}

/// Two replicas (registries) sharing kept answers through the Redis at 127.0.0.1:6379, under a key prefix of
/// this run's: a search answered by the second from what the first computed (its own memory emptied before each
/// call), and the share of calls answered without computing under a repeated-query mix, with and without Redis.
async fn shared_answers(config: &Config, store: &Store) -> anyhow::Result<()> {
    use fastintercom::shared::SharedRedis;
    let prefix = format!("fastintercom-bench:{}:{}:", std::process::id(), rand::random::<u64>());
    let redis = || async { SharedRedis::connect("redis://127.0.0.1:6379", &prefix).await.map(Arc::new) };
    let probe = redis().await?;
    if probe.kept_answer("probe", 16).await.is_none() {
        println!("Shared answers: skipped (no Redis answers at 127.0.0.1:6379)");
        return Ok(());
    }
    let replica =
        async |shared: Option<Arc<SharedRedis>>| Config { shared, ..config.clone() }.open_registry(store.clone()).await;
    let (first, second) = (replica(Some(redis().await?)).await?, replica(Some(redis().await?)).await?);
    let is_kept = |answer: &fastintercom::runtime::ToolOutput| {
        answer.structured.as_ref().is_some_and(|s| s["metadata"]["cache_hit"] == json!(true))
    };
    let search = || object(json!({"query": "refund", "limit": 20}));
    // Shared once both have read the store's data generation.
    let mut shared = false;
    for _ in 0..1000 {
        first.call("search_conversations", search()).await?;
        second.forget_kept_answers();
        if is_kept(&second.call("search_conversations", search()).await?) {
            shared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    anyhow::ensure!(shared, "the second replica never served the first's answer");
    let calls = scaled(5_000);
    let mut from_redis = Vec::with_capacity(calls);
    for _ in 0..calls {
        second.forget_kept_answers();
        let started = Instant::now();
        let answer = second.call("search_conversations", search()).await?;
        from_redis.push(started.elapsed());
        anyhow::ensure!(is_kept(&answer), "the search was computed again");
    }
    let (p50, p99, _) = percentiles(&mut from_redis);
    println!("Shared answers: \"refund\", limit 20, answered by a second replica from Redis, {calls} calls");
    println!();
    println!("| call | p50 | p99 |");
    println!("|---|---|---|");
    println!("| answered from the answers another replica shared (Redis on loopback) | {} | {} |", us(p50), us(p99));
    println!();

    // The mix: an assistant's searches repeat, a few often and many rarely (Zipf, s = 1.1, over 300 distinct
    // searches), each sent to one of the two replicas at random, as a load balancer does.
    let words = ["refund", "invoice", "billing", "login", "password", "export", "cancel", "upgrade", "bug", "slow"];
    let distinct: Vec<Map<String, Value>> =
        (0..300).map(|i| object(json!({"query": words[i % words.len()], "limit": 5 + i / words.len()}))).collect();
    let weights: Vec<f64> = (1..=distinct.len()).map(|rank| 1.0 / (rank as f64).powf(1.1)).collect();
    let total: f64 = weights.iter().sum();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(11);
    let mix: Vec<(usize, bool)> = (0..scaled(3_000))
        .map(|_| {
            let mut pick = rand::Rng::random::<f64>(&mut rng) * total;
            let index = weights.iter().position(|w| {
                pick -= w;
                pick <= 0.0
            });
            (index.unwrap_or(distinct.len() - 1), rand::Rng::random::<bool>(&mut rng))
        })
        .collect();
    println!("Hit ratio: {} calls, Zipf(1.1) over {} distinct searches, two replicas", mix.len(), distinct.len());
    println!();
    println!("| kept answers | answered without computing |");
    println!("|---|---|");
    for (label, sharing) in [("each replica its own (no Redis)", false), ("shared through Redis", true)] {
        let prefix = format!("{prefix}mix-{sharing}:");
        let redis = || async {
            match sharing {
                true => SharedRedis::connect("redis://127.0.0.1:6379", &prefix).await.map(|r| Some(Arc::new(r))),
                false => Ok(None),
            }
        };
        let replicas = [replica(redis().await?).await?, replica(redis().await?).await?];
        // Answers are kept once the store's data generation was read (the replicas share this process's store).
        while store.version_seen().is_none() {
            replicas[0].call("search_conversations", object(json!({"query": "warm up"}))).await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut kept = 0;
        for &(index, to_second) in &mix {
            let answer = replicas[usize::from(to_second)].call("search_conversations", distinct[index].clone()).await?;
            kept += usize::from(is_kept(&answer));
        }
        println!("| {label} | {:.1}% ({kept} of {}) |", 100.0 * kept as f64 / mix.len() as f64, mix.len());
    }
    println!();
    Ok(())
}

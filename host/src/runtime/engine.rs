//! The one wasmtime engine: component model, async host calls, pooling allocator, epoch interruption.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::RuntimeLimits;

/// How often the epoch advances; deadlines are whole multiples of it.
pub(super) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Bytes of each linear memory slot kept resident (reset in place) between calls. A small Rust guest's call dirties
/// a few hundred KiB; the rest of a slot, when a call used more, is returned to the kernel.
const LINEAR_MEMORY_KEEP_RESIDENT: usize = 2 * 1024 * 1024;

/// The most core instances, linear memories and tables one component may have.
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 16;

/// The engine that runs plugins: [`compile_settings`] plus the pooling allocator, sized for the calls the limits
/// allow at once.
pub(super) fn build(limits: &RuntimeLimits) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    // Idle warm instances keep their slot between calls, so they are on top of the running calls.
    let slots = (limits.builtin_calls + limits.policy.shared.calls + limits.policy.total_idle_capacity()).max(1);
    let largest_memory = limits.memory_bytes.max(limits.policy.caps.max_memory_mib as usize * 1024 * 1024);
    // Every slot can hold a component using the most a component may have (a Rust guest built for wasm32-wasip2 is
    // a handful of core instances and two memories; an interpreted one, more). Sized for fewer, components built to
    // use the most could take the pool's instances, memories or tables from the built-in tools' slots.
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .total_stacks(slots)
        .max_memory_size(largest_memory)
        // Tables and fiber stacks are reset with memset rather than returned to the kernel and faulted back in on
        // the next call: 30.0 -> 25.9 µs p50 per call in the sandbox bench.
        .table_keep_resident(64 * 1024)
        .async_stack_keep_resident(128 * 1024)
        // Linear memory likewise, but only the pages a call dirtied (found with Linux's PAGEMAP_SCAN, kernel 6.7
        // and later; elsewhere this falls back to madvise). Returning them with madvise flushes the TLB of every
        // core running one of our threads, which under concurrent calls cost more than the calls' own work.
        .linear_memory_keep_resident(LINEAR_MEMORY_KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto);

    let mut config = compile_settings();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| anyhow::anyhow!("cannot build the WebAssembly engine: {e}"))
}

/// An engine for compiling only, as the compiler process uses: its artefacts load into [`build`]'s engine (the
/// allocator does not affect code generation; wasmtime checks compatibility when it loads an artefact).
pub(super) fn build_for_compiling() -> anyhow::Result<Engine> {
    Engine::new(&compile_settings()).map_err(|e| anyhow::anyhow!("cannot build the WebAssembly engine: {e}"))
}

/// Every setting that affects the code compiled from a component.
fn compile_settings() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(1024 * 1024)
        // Compile each component on one thread: plugins are compiled while the server serves (a hot swap), and
        // on a small machine a compile spread over every core starves the calls in flight (p99 of other calls
        // during swaps: 3.0x with parallel compilation on 2 cores).
        .parallel_compilation(false)
        .async_stack_size(2 * 1024 * 1024);
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a dedicated thread, so guests yield and deadlines fire
/// even when every worker thread is busy running guests. Stops when dropped.
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(super) fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

//! The sandbox: wasmtime with the component model, one shared engine, one pre-instantiated component per
//! plugin and a fresh instance for every call.
//!
//! Per call a plugin gets a deadline (guests yield to the scheduler at every epoch tick and are stopped at the
//! deadline, host calls included), a memory cap, a bounded output, a bounded stdout/stderr and only the host
//! interfaces its manifest grants. Traps, deadlines and memory overruns end that call with a [`CallError`]
//! naming the cause; the host and every other call carry on.
//!
//! Third-party plugins run under the operator's [`PluginPolicy`] on threads of their own ([`executor`]), with
//! call slots and memory of their own, so no plugin can take what the server and its built-in tools need.

mod board;
mod call;
mod compile;
mod engine;
mod executor;
mod guest_output;
mod manifest;
mod memory;
mod os;
mod output;
mod plugin;
mod policy;
pub mod schema_cost;
mod warm;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use board::{PluginBoard, PluginOrigin, PluginStatus};
pub use call::{CallError, ContentBlock, ToolOutput};
pub use compile::{COMPILER_SUBCOMMAND, CompileError, run_compiler_process};
pub use manifest::{Capability, Manifest, ManifestError, ManifestLimits};
pub use memory::CallLimiter;
pub use plugin::{LoadError, LoadedPlugin, PluginCounters, ToolAnnotations, ToolSpec};
pub use policy::{
    CompileLimits, DescriptionLimits, InstancePolicy, PluginLimits, PluginPolicy, PolicyCaps, SharedLimits,
};

/// Limits every call runs under unless its manifest says otherwise, and the operator's policy for plugins.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Wall-clock time a call may take, from its admission to its answer, host calls included.
    pub deadline: Duration,
    /// Linear memory a call may grow to.
    pub memory_bytes: usize,
    /// Largest answer (text blocks, structured JSON or error message, as sent) the host passes on.
    pub max_output_bytes: usize,
    /// Guest stdout/stderr kept per call for the host log; the rest is counted and dropped.
    pub max_guest_log_bytes: usize,
    /// Calls of built-in tools that may run at once; more wait for a slot. Third-party plugins have slots of
    /// their own ([`SharedLimits::calls`]); both bound the pooling allocator's slots.
    pub builtin_calls: u32,
    /// The program that compiles third-party components in a bounded child process (the `fastintercom` binary,
    /// run with [`COMPILER_SUBCOMMAND`]); `None` compiles them in process, bounded in size only.
    pub isolated_compiler: Option<PathBuf>,
    /// The operator's policy for third-party plugins.
    pub policy: PluginPolicy,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 * 1024 * 1024,
            max_output_bytes: 4 * 1024 * 1024,
            max_guest_log_bytes: 16 * 1024,
            builtin_calls: 64,
            isolated_compiler: None,
            policy: PluginPolicy::default(),
        }
    }
}

/// The shared engine and everything needed to load and call plugins.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: wasmtime::Engine,
    limits: RuntimeLimits,
    /// Where compiled components are cached, keyed by component hash and engine configuration.
    cache_dir: Option<PathBuf>,
    /// Call slots of built-in tools, one per pooled instance slot, so calls queue instead of failing.
    builtin_slots: tokio::sync::Semaphore,
    /// Call slots all third-party plugins share.
    plugin_slots: tokio::sync::Semaphore,
    /// Linear memory all third-party calls hold together.
    plugin_memory: Arc<memory::SharedMemory>,
    /// Where third-party guests run.
    executor: executor::GuestExecutor,
    /// The data host interfaces read; each call's `HostApi` gets a handle.
    store: crate::store::Store,
    /// What the registry serves, for the `plugins` host interface.
    board: Arc<PluginBoard>,
    _ticker: engine::EpochTicker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the engine. `cache_dir` (created if missing) keeps compiled components across restarts.
    pub fn new(limits: RuntimeLimits, cache_dir: Option<PathBuf>, store: crate::store::Store) -> anyhow::Result<Self> {
        let engine = engine::build(&limits)?;
        let ticker = engine::EpochTicker::start(engine.clone());
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create the component cache directory: {e}"))?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                builtin_slots: tokio::sync::Semaphore::new(limits.builtin_calls as usize),
                plugin_slots: tokio::sync::Semaphore::new(limits.policy.shared.calls as usize),
                plugin_memory: memory::SharedMemory::new(limits.policy.shared.memory_bytes),
                executor: executor::GuestExecutor::start(limits.policy.shared.threads)?,
                engine,
                limits,
                store,
                cache_dir,
                board: Arc::default(),
                _ticker: ticker,
            }),
        })
    }

    /// The plugins the registry serves, as published by it.
    pub fn board(&self) -> &Arc<PluginBoard> {
        &self.inner.board
    }

    pub fn limits(&self) -> &RuntimeLimits {
        &self.inner.limits
    }

    /// The store host interfaces read.
    pub fn store(&self) -> &crate::store::Store {
        &self.inner.store
    }

    /// Bytes of linear memory third-party calls hold right now (idle warm instances included).
    pub fn plugin_memory_in_use(&self) -> usize {
        self.inner.plugin_memory.used()
    }
}

//! The sandbox: wasmtime with the component model, one shared engine, one pre-instantiated component per
//! plugin and a fresh instance for every call.
//!
//! Per call a plugin gets an epoch deadline, a memory cap, a bounded stdout/stderr and only the host interfaces
//! its manifest grants. Traps, deadlines and memory overruns end that call with a [`CallError`] naming the cause;
//! the host and every other call carry on.

mod board;
mod call;
mod compile;
mod engine;
mod guest_output;
mod manifest;
mod plugin;
mod policy;
mod warm;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use board::{PluginBoard, PluginOrigin, PluginStatus};
pub use call::{CallError, CallLimiter, ContentBlock, ToolOutput};
pub use manifest::{Capability, Manifest, ManifestError, ManifestLimits};
pub use plugin::{LoadError, LoadedPlugin, PluginCounters, ToolAnnotations, ToolSpec};
pub use policy::{InstancePolicy, PluginLimits, PluginPolicy, PolicyCaps};

/// Limits every call runs under unless its manifest says otherwise.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Wall-clock time a call may take, host calls included.
    pub deadline: Duration,
    /// Linear memory a call may grow to.
    pub memory_bytes: usize,
    /// Largest tool output (text plus structured JSON) the host accepts.
    pub max_output_bytes: usize,
    /// Guest stdout/stderr kept per call for the host log; the rest is counted and dropped.
    pub max_guest_log_bytes: usize,
    /// Calls that may run at once; more wait for a slot. Bounds the pooling allocator's slots.
    pub max_concurrent_calls: u32,
    /// The operator's caps on manifests and the instance policy of each plugin.
    pub policy: PluginPolicy,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 * 1024 * 1024,
            max_output_bytes: 4 * 1024 * 1024,
            max_guest_log_bytes: 16 * 1024,
            max_concurrent_calls: 64,
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
    /// One permit per pooled instance slot, so calls queue instead of failing when the pool is full.
    slots: tokio::sync::Semaphore,
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
                slots: tokio::sync::Semaphore::new(limits.max_concurrent_calls as usize),
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
}

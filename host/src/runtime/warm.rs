//! Warm instances: for plugins whose operator chose [`InstancePolicy::Warm`], instances that ended a call cleanly
//! are kept (up to the pool size) and reused (up to `max_reuse` calls each) instead of instantiating afresh.
//!
//! Reuse skips instantiation, which for an interpreted guest (a componentize-py component) costs milliseconds.
//! What it gives up is isolation between calls: whatever the guest keeps in memory, the next call sees. An
//! instance that trapped, overran a limit or was cut off at its deadline is never reused.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::Store;

use super::InstancePolicy;
use super::guest_output::BoundedOutput;
use crate::bindings::Plugin;
use crate::host_api::{CallState, LogRate};

/// A store with its captured output and, once instantiated, the plugin's instance in it.
pub(super) struct Sandbox {
    pub(super) store: Store<CallState>,
    pub(super) stdout: BoundedOutput,
    pub(super) stderr: BoundedOutput,
    pub(super) instance: Option<Plugin>,
    /// Calls this instance has served.
    pub(super) uses: u32,
    /// The plugin's log rate (third-party plugins), which what the guest printed also counts against.
    pub(super) log_rate: Option<std::sync::Arc<LogRate>>,
}

impl Sandbox {
    /// Writes what the guest printed during the call to the host log (within the plugin's log rate) and
    /// empties the buffers for the next call.
    pub(super) fn flush_output(&self, plugin: &str) {
        self.stdout.flush_to_log(plugin, "stdout", self.log_rate.as_deref());
        self.stderr.flush_to_log(plugin, "stderr", self.log_rate.as_deref());
    }
}

/// The idle warm instances of one loaded plugin version.
pub(super) struct WarmPool {
    policy: InstancePolicy,
    idle: Mutex<Vec<Sandbox>>,
    /// Set when the version is no longer served: its instances are dropped instead of kept.
    retired: AtomicBool,
}

impl WarmPool {
    pub(super) fn new(policy: InstancePolicy) -> Self {
        Self { policy, idle: Mutex::new(Vec::new()), retired: AtomicBool::new(false) }
    }

    /// An idle instance, if the policy keeps any and one is free.
    pub(super) fn take(&self) -> Option<Sandbox> {
        match self.policy {
            InstancePolicy::Fresh => None,
            InstancePolicy::Warm { .. } => self.idle.lock().expect("warm pool lock").pop(),
        }
    }

    /// Keeps `sandbox` for a later call if it has uses left and the pool has room; otherwise drops it (which
    /// returns its slot to the allocator).
    pub(super) fn give_back(&self, sandbox: Sandbox) {
        let InstancePolicy::Warm { pool, max_reuse } = self.policy else { return };
        if sandbox.instance.is_none() || sandbox.uses >= max_reuse || self.retired.load(Ordering::SeqCst) {
            return;
        }
        let mut idle = self.idle.lock().expect("warm pool lock");
        if idle.len() < pool as usize {
            idle.push(sandbox);
        }
    }

    /// Drops the idle instances and keeps none from now on.
    pub(super) fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.idle.lock().expect("warm pool lock").clear();
    }
}

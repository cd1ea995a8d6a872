//! The operator's say over third-party plugins: caps on what a manifest may ask for, what all plugins together
//! may take from the host, how large what they describe and compile may be, which sensitive grants they get, and
//! how each plugin's instances live.
//!
//! A manifest is written by the plugin's author; the operator decides what runs on their machine. Every limit a
//! plugin runs under is the manifest's request (or the runtime default) capped by this policy, and the defaults
//! protect a small machine (two cores, a few GiB free) from a hostile plugin without any configuration. Built-in
//! plugins are the product's own code: the caps do not apply to them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Capability, Manifest, RuntimeLimits};

const MIB: usize = 1024 * 1024;

/// Caps on the limits a manifest may request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCaps {
    pub max_memory_mib: u32,
    pub max_deadline: Duration,
    /// Also applied to plugins whose manifest sets no concurrency limit.
    pub max_concurrent_calls: u32,
    /// Also applied to plugins whose manifest sets no rate; `None` leaves the rate to the manifest.
    pub max_calls_per_second: Option<u32>,
}

impl Default for PolicyCaps {
    fn default() -> Self {
        Self {
            max_memory_mib: 256,
            max_deadline: Duration::from_secs(10),
            max_concurrent_calls: 8,
            max_calls_per_second: None,
        }
    }
}

/// What all third-party plugin calls together may take from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedLimits {
    /// Calls of third-party plugins running at once, all plugins together; more wait (within their deadline) for
    /// one to end. Built-in tools have slots of their own.
    pub calls: u32,
    /// Linear memory all those calls may hold at once.
    pub memory_bytes: usize,
    /// Threads that run third-party guests (at a lower priority than the server's own).
    pub threads: usize,
    /// Bytes per second each plugin may write to the host log (its `log` calls and its stdout/stderr), across
    /// all its calls; a burst of four seconds' worth is allowed.
    pub log_bytes_per_second: u32,
}

impl Default for SharedLimits {
    fn default() -> Self {
        Self {
            calls: 32,
            memory_bytes: 2048 * MIB,
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            log_bytes_per_second: 16 * 1024,
        }
    }
}

/// Bounds on what a plugin describes: its tools are served in every `tools/list`, to every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptionLimits {
    pub max_tools: usize,
    pub max_title_bytes: usize,
    pub max_description_bytes: usize,
    /// Each of a tool's input and output schemas, as JSON text.
    pub max_schema_bytes: usize,
}

impl Default for DescriptionLimits {
    fn default() -> Self {
        Self { max_tools: 64, max_title_bytes: 256, max_description_bytes: 8 * 1024, max_schema_bytes: 64 * 1024 }
    }
}

/// Bounds on compiling a third-party component (done in a child process that is killed past them, when the
/// runtime has a compiler program; see [`RuntimeLimits::isolated_compiler`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileLimits {
    /// Largest component read and compiled (a componentize-py guest is about 18 MB).
    pub max_component_bytes: usize,
    /// Wall-clock (and CPU) time a compile may take.
    pub timeout: Duration,
    /// Memory the compiling process may allocate.
    pub memory_bytes: usize,
}

impl Default for CompileLimits {
    fn default() -> Self {
        Self { max_component_bytes: 64 * MIB, timeout: Duration::from_secs(60), memory_bytes: 2048 * MIB }
    }
}

/// How a plugin's calls get their instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstancePolicy {
    /// A fresh instance for every call: nothing survives from one call (or caller) to the next. The default.
    #[default]
    Fresh,
    /// Up to `pool` idle instances are kept warm and each is reused for at most `max_reuse` calls, then dropped.
    /// State a guest keeps in memory survives between those calls, so only for plugins the operator trusts with
    /// that (typically large interpreted guests whose instantiation costs milliseconds).
    Warm { pool: u32, max_reuse: u32 },
}

impl InstancePolicy {
    /// Idle instances this policy may keep.
    pub fn idle_capacity(self) -> u32 {
        match self {
            Self::Fresh => 0,
            Self::Warm { pool, .. } => pool,
        }
    }
}

/// Everything the operator decides about plugins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginPolicy {
    pub caps: PolicyCaps,
    pub shared: SharedLimits,
    pub descriptions: DescriptionLimits,
    pub compile: CompileLimits,
    /// Sensitive grants (see [`Capability::is_sensitive`]) the operator gives, by plugin name. A third-party
    /// plugin whose manifest asks for one it was not given here is refused.
    pub sensitive_grants: BTreeMap<String, Vec<Capability>>,
    /// Instance policy by plugin name; plugins not listed get [`InstancePolicy::Fresh`].
    pub instances: BTreeMap<String, InstancePolicy>,
}

impl PluginPolicy {
    pub fn instances_of(&self, plugin: &str) -> InstancePolicy {
        self.instances.get(plugin).copied().unwrap_or_default()
    }

    /// Idle instances all warm pools together may hold (the engine reserves that many slots for them).
    pub fn total_idle_capacity(&self) -> u32 {
        self.instances.values().map(|policy| policy.idle_capacity()).sum()
    }

    /// Whether the operator gave `plugin` the sensitive `capability`.
    pub fn allows_sensitive(&self, plugin: &str, capability: Capability) -> bool {
        self.sensitive_grants.get(plugin).is_some_and(|grants| grants.contains(&capability))
    }
}

/// The limits one plugin's calls actually run under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
    pub max_concurrent_calls: Option<u32>,
    pub calls_per_second: Option<u32>,
    pub instances: InstancePolicy,
}

impl PluginLimits {
    /// A built-in plugin's limits: its manifest's requests over the runtime defaults; the product's own code is
    /// not capped by the policy for third parties.
    pub fn builtin(manifest: &Manifest, defaults: &RuntimeLimits) -> Self {
        Self {
            deadline: manifest.deadline().unwrap_or(defaults.deadline),
            memory_bytes: manifest.limits.memory_mib.map_or(defaults.memory_bytes, |mib| mib as usize * MIB),
            max_concurrent_calls: manifest.limits.max_concurrent_calls,
            calls_per_second: manifest.limits.calls_per_second,
            instances: defaults.policy.instances_of(&manifest.name),
        }
    }

    /// A third-party plugin's limits: the manifest's requests over the runtime defaults, capped by the operator's
    /// policy, with one note per request the policy lowered (shown in `plugins list` and the logs, so an author
    /// sees why).
    pub fn resolve(manifest: &Manifest, defaults: &RuntimeLimits) -> (Self, Vec<String>) {
        let caps = &defaults.policy.caps;
        let mut notes = Vec::new();
        // Notes only for what the manifest asked: a default above a cap is the operator's own doing.
        let mut unasked = Vec::new();
        let requested_deadline = manifest.deadline().unwrap_or(defaults.deadline);
        let deadline = capped(
            requested_deadline,
            caps.max_deadline,
            || format!("deadline_ms {} lowered to the operator's cap", requested_deadline.as_millis()),
            if manifest.deadline().is_some() { &mut notes } else { &mut unasked },
        );
        let requested_mib = manifest.limits.memory_mib.map_or(defaults.memory_bytes / MIB, |mib| mib as usize);
        let memory_mib = capped(
            requested_mib,
            caps.max_memory_mib as usize,
            || format!("memory_mib {requested_mib} lowered to the operator's cap"),
            if manifest.limits.memory_mib.is_some() { &mut notes } else { &mut unasked },
        );
        let max_concurrent_calls = capped(
            manifest.limits.max_concurrent_calls.unwrap_or(caps.max_concurrent_calls),
            caps.max_concurrent_calls,
            || "max_concurrent_calls lowered to the operator's cap".to_owned(),
            &mut notes,
        );
        let calls_per_second = match (manifest.limits.calls_per_second, caps.max_calls_per_second) {
            (Some(requested), Some(cap)) => {
                Some(capped(requested, cap, || "calls_per_second lowered to the operator's cap".to_owned(), &mut notes))
            }
            (requested, cap) => requested.or(cap),
        };
        let limits = Self {
            deadline,
            memory_bytes: memory_mib * MIB,
            max_concurrent_calls: Some(max_concurrent_calls),
            calls_per_second,
            instances: defaults.policy.instances_of(&manifest.name),
        };
        (limits, notes)
    }
}

fn capped<T: Ord + Copy>(requested: T, cap: T, note: impl FnOnce() -> String, notes: &mut Vec<String>) -> T {
    if requested > cap {
        notes.push(note());
        cap
    } else {
        requested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(limits: &str) -> Manifest {
        Manifest::parse(&format!("name = \"p\"\nversion = \"1\"\n[limits]\n{limits}")).unwrap()
    }

    #[test]
    fn manifest_requests_are_capped_by_the_operator() {
        let mut defaults = RuntimeLimits::default();
        defaults.policy.caps = PolicyCaps {
            max_memory_mib: 32,
            max_deadline: Duration::from_secs(1),
            max_concurrent_calls: 4,
            max_calls_per_second: Some(100),
        };
        let (limits, notes) = PluginLimits::resolve(
            &manifest("memory_mib = 512\ndeadline_ms = 30000\nmax_concurrent_calls = 64\ncalls_per_second = 5"),
            &defaults,
        );
        assert_eq!(limits.memory_bytes, 32 * MIB);
        assert_eq!(limits.deadline, Duration::from_secs(1));
        assert_eq!(limits.max_concurrent_calls, Some(4));
        assert_eq!(limits.calls_per_second, Some(5), "a request under the cap stands");
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("deadline_ms 30000"), "{notes:?}");
    }

    #[test]
    fn the_default_caps_protect_the_host_from_a_manifest_that_asks_for_everything() {
        let defaults = RuntimeLimits::default();
        let (limits, notes) = PluginLimits::resolve(
            &manifest("memory_mib = 4096\ndeadline_ms = 600000\nmax_concurrent_calls = 1024"),
            &defaults,
        );
        assert_eq!(limits.memory_bytes, 256 * MIB);
        assert_eq!(limits.deadline, Duration::from_secs(10));
        assert_eq!(limits.max_concurrent_calls, Some(8));
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    #[test]
    fn caps_apply_to_plugins_that_ask_for_nothing_and_built_ins_are_not_capped() {
        let mut defaults = RuntimeLimits::default();
        let (limits, notes) = PluginLimits::resolve(&manifest(""), &defaults);
        assert_eq!((limits.deadline, limits.memory_bytes), (defaults.deadline, defaults.memory_bytes));
        assert_eq!((limits.max_concurrent_calls, limits.calls_per_second), (Some(8), None));
        assert!(notes.is_empty(), "nothing was asked for, so nothing was lowered");
        defaults.policy.caps.max_calls_per_second = Some(10);
        defaults.policy.caps.max_concurrent_calls = 2;
        defaults.policy.instances.insert("p".into(), InstancePolicy::Warm { pool: 2, max_reuse: 50 });
        let (limits, notes) = PluginLimits::resolve(&manifest(""), &defaults);
        assert_eq!((limits.max_concurrent_calls, limits.calls_per_second), (Some(2), Some(10)));
        assert_eq!(limits.instances, InstancePolicy::Warm { pool: 2, max_reuse: 50 });
        assert!(notes.is_empty());
        let builtin = PluginLimits::builtin(&manifest("memory_mib = 512"), &defaults);
        assert_eq!((builtin.memory_bytes, builtin.max_concurrent_calls), (512 * MIB, None));
    }
}

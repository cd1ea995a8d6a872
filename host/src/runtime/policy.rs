//! The operator's say over plugins: caps on what a manifest may ask for, and how each plugin's instances live.
//!
//! A manifest is written by the plugin's author; the operator decides what runs on their machine. So every limit
//! a plugin runs under is the manifest's request (or the runtime default) capped by this policy, and the instance
//! policy is the operator's choice alone.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Manifest, RuntimeLimits};

/// Caps on the limits a manifest may request; `None` leaves that limit to the manifest (or the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyCaps {
    pub max_memory_mib: Option<u32>,
    pub max_deadline: Option<Duration>,
    /// Also applied to plugins whose manifest sets no concurrency limit.
    pub max_concurrent_calls: Option<u32>,
    /// Also applied to plugins whose manifest sets no rate.
    pub max_calls_per_second: Option<u32>,
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
    /// The manifest's requests over the runtime defaults, capped by the operator's policy, with one note per
    /// request the policy lowered (shown in `plugins list` and the logs, so an author sees why).
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
            caps.max_memory_mib.map(|mib| mib as usize),
            || format!("memory_mib {requested_mib} lowered to the operator's cap"),
            if manifest.limits.memory_mib.is_some() { &mut notes } else { &mut unasked },
        );
        let max_concurrent_calls = capped_optional(
            manifest.limits.max_concurrent_calls,
            caps.max_concurrent_calls,
            || "max_concurrent_calls lowered to the operator's cap".to_owned(),
            &mut notes,
        );
        let calls_per_second = capped_optional(
            manifest.limits.calls_per_second,
            caps.max_calls_per_second,
            || "calls_per_second lowered to the operator's cap".to_owned(),
            &mut notes,
        );
        let limits = Self {
            deadline,
            memory_bytes: memory_mib * MIB,
            max_concurrent_calls,
            calls_per_second,
            instances: defaults.policy.instances_of(&manifest.name),
        };
        (limits, notes)
    }
}

const MIB: usize = 1024 * 1024;

fn capped<T: Ord + Copy>(requested: T, cap: Option<T>, note: impl FnOnce() -> String, notes: &mut Vec<String>) -> T {
    match cap {
        Some(cap) if requested > cap => {
            notes.push(note());
            cap
        }
        _ => requested,
    }
}

/// A limit the manifest may leave unset: the cap then applies as is.
fn capped_optional(
    requested: Option<u32>,
    cap: Option<u32>,
    note: impl FnOnce() -> String,
    notes: &mut Vec<String>,
) -> Option<u32> {
    match (requested, cap) {
        (Some(requested), Some(cap)) => Some(capped(requested, Some(cap), note, notes)),
        (None, cap) => cap,
        (requested, None) => requested,
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
            max_memory_mib: Some(32),
            max_deadline: Some(Duration::from_secs(1)),
            max_concurrent_calls: Some(4),
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
    fn caps_apply_to_plugins_that_ask_for_nothing_and_defaults_stand_without_caps() {
        let mut defaults = RuntimeLimits::default();
        let (limits, notes) = PluginLimits::resolve(&manifest(""), &defaults);
        assert_eq!((limits.deadline, limits.memory_bytes), (defaults.deadline, defaults.memory_bytes));
        assert_eq!((limits.max_concurrent_calls, limits.calls_per_second), (None, None));
        assert!(notes.is_empty());
        defaults.policy.caps.max_calls_per_second = Some(10);
        defaults.policy.caps.max_concurrent_calls = Some(2);
        defaults.policy.instances.insert("p".into(), InstancePolicy::Warm { pool: 2, max_reuse: 50 });
        let (limits, notes) = PluginLimits::resolve(&manifest(""), &defaults);
        assert_eq!((limits.max_concurrent_calls, limits.calls_per_second), (Some(2), Some(10)));
        assert_eq!(limits.instances, InstancePolicy::Warm { pool: 2, max_reuse: 50 });
        assert!(notes.is_empty(), "nothing was asked for, so nothing was lowered");
    }
}

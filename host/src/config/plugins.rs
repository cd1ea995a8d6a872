//! The `[plugins]` table of `<data-dir>/config.toml`: the operator's policy for third-party plugins.
//!
//! ```toml
//! [plugins]
//! watch = true                      # reload when the plugins directory changes (default on)
//! require_signatures = true         # refuse plugins without a valid signature by a trusted key
//! trusted_keys = ["base64 ed25519 public key", "..."]   # as `fastintercom plugins keygen` prints them
//! # Caps on what a manifest's [limits] may ask for (defaults shown)
//! max_memory_mib = 256
//! max_deadline_ms = 10000
//! max_concurrent_calls = 8          # also applied to plugins that ask for no limit
//! max_calls_per_second = 200        # likewise (default: none)
//! # What all plugins together may take from the host (defaults shown; threads default to the core count)
//! total_calls = 32
//! total_memory_mib = 2048
//! threads = 2
//! log_bytes_per_second = 16384      # per plugin, across its calls
//! # What a plugin may describe and how large a component may be compiled (defaults shown)
//! max_tools = 64
//! max_description_bytes = 8192
//! max_schema_bytes = 65536
//! max_component_mib = 64
//! compile_timeout_ms = 60000
//! compile_memory_mib = 2048
//!
//! [plugins.sensitive_grants]        # grants only the operator gives (a manifest asking is not enough)
//! ops-dashboard = ["plugins"]
//!
//! [plugins.instances.py_thread_stats]   # reuse warm instances of this plugin (default: fresh per call)
//! policy = "warm"
//! pool = 4                          # idle instances kept
//! max_reuse = 1000                  # calls per instance before it is replaced
//! ```
//!
//! Trust settings are read again on every reload, so a new key takes effect with `fastintercom plugins reload`;
//! everything else is read when the server starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::registry::trust::TrustPolicy;
use crate::runtime::{Capability, InstancePolicy, PluginPolicy};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    watch: Option<bool>,
    #[serde(default)]
    require_signatures: bool,
    #[serde(default)]
    trusted_keys: Vec<String>,
    max_memory_mib: Option<u32>,
    max_deadline_ms: Option<u64>,
    max_concurrent_calls: Option<u32>,
    max_calls_per_second: Option<u32>,
    total_calls: Option<u32>,
    total_memory_mib: Option<u32>,
    threads: Option<u32>,
    log_bytes_per_second: Option<u32>,
    max_tools: Option<u32>,
    max_description_bytes: Option<u32>,
    max_schema_bytes: Option<u32>,
    max_component_mib: Option<u32>,
    compile_timeout_ms: Option<u64>,
    compile_memory_mib: Option<u32>,
    #[serde(default)]
    sensitive_grants: BTreeMap<String, Vec<Capability>>,
    #[serde(default)]
    instances: BTreeMap<String, FileInstancePolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileInstancePolicy {
    policy: PolicyName,
    pool: Option<u32>,
    max_reuse: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PolicyName {
    Fresh,
    Warm,
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    plugins: Option<FileSettings>,
}

/// Resolved plugin settings.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    pub watch: bool,
    pub trust: TrustPolicy,
    pub policy: PluginPolicy,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self { watch: true, trust: TrustPolicy::default(), policy: PluginPolicy::default() }
    }
}

impl PluginSettings {
    /// Reads the `[plugins]` table of `config_file`, if the file exists.
    pub fn resolve(config_file: &Path) -> anyhow::Result<Self> {
        let Some(text) = super::read_settings_file(config_file)? else { return Ok(Self::default()) };
        parse(&text).with_context(|| format!("invalid [plugins] table in {}", config_file.display()))
    }
}

fn parse(text: &str) -> anyhow::Result<PluginSettings> {
    let file = toml::from_str::<ConfigFile>(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?.plugins;
    let file = file.unwrap_or_default();
    let trust = TrustPolicy::new(file.require_signatures, &file.trusted_keys).map_err(anyhow::Error::msg)?;
    let mut policy = PluginPolicy::default();
    let positive = |value: Option<u32>, name: &str| -> anyhow::Result<Option<u32>> {
        match value {
            Some(0) => anyhow::bail!("{name} must be at least 1"),
            other => Ok(other),
        }
    };
    const MIB: usize = 1024 * 1024;
    let caps = &mut policy.caps;
    if let Some(mib) = positive(file.max_memory_mib, "max_memory_mib")? {
        if mib > 4096 {
            anyhow::bail!("max_memory_mib must be at most 4096");
        }
        caps.max_memory_mib = mib;
    }
    if let Some(ms) = file.max_deadline_ms {
        if ms == 0 {
            anyhow::bail!("max_deadline_ms must be at least 1");
        }
        caps.max_deadline = Duration::from_millis(ms);
    }
    if let Some(calls) = positive(file.max_concurrent_calls, "max_concurrent_calls")? {
        caps.max_concurrent_calls = calls;
    }
    caps.max_calls_per_second = positive(file.max_calls_per_second, "max_calls_per_second")?;
    let shared = &mut policy.shared;
    if let Some(calls) = positive(file.total_calls, "total_calls")? {
        shared.calls = calls;
    }
    if let Some(mib) = positive(file.total_memory_mib, "total_memory_mib")? {
        shared.memory_bytes = mib as usize * MIB;
    }
    if let Some(threads) = positive(file.threads, "threads")? {
        shared.threads = threads as usize;
    }
    if let Some(bytes) = positive(file.log_bytes_per_second, "log_bytes_per_second")? {
        shared.log_bytes_per_second = bytes;
    }
    let descriptions = &mut policy.descriptions;
    if let Some(tools) = positive(file.max_tools, "max_tools")? {
        descriptions.max_tools = tools as usize;
    }
    if let Some(bytes) = positive(file.max_description_bytes, "max_description_bytes")? {
        descriptions.max_description_bytes = bytes as usize;
    }
    if let Some(bytes) = positive(file.max_schema_bytes, "max_schema_bytes")? {
        descriptions.max_schema_bytes = bytes as usize;
    }
    let compile = &mut policy.compile;
    if let Some(mib) = positive(file.max_component_mib, "max_component_mib")? {
        compile.max_component_bytes = mib as usize * MIB;
    }
    if let Some(ms) = file.compile_timeout_ms {
        if ms == 0 {
            anyhow::bail!("compile_timeout_ms must be at least 1");
        }
        compile.timeout = Duration::from_millis(ms);
    }
    if let Some(mib) = positive(file.compile_memory_mib, "compile_memory_mib")? {
        compile.memory_bytes = mib as usize * MIB;
    }
    policy.sensitive_grants = file.sensitive_grants;
    let mut instances = BTreeMap::new();
    for (plugin, choice) in file.instances {
        let policy = match choice.policy {
            PolicyName::Fresh => InstancePolicy::Fresh,
            PolicyName::Warm => {
                let pool = choice.pool.unwrap_or(4);
                let max_reuse = choice.max_reuse.unwrap_or(1000);
                if !(1..=256).contains(&pool) || max_reuse == 0 {
                    anyhow::bail!("instances.{plugin}: pool must be 1 to 256 and max_reuse at least 1");
                }
                InstancePolicy::Warm { pool, max_reuse }
            }
        };
        instances.insert(plugin, policy);
    }
    policy.instances = instances;
    Ok(PluginSettings { watch: file.watch.unwrap_or(true), trust, policy })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_policy_caps_and_instances() {
        let key = crate::registry::trust::encode_public_key(&crate::registry::trust::generate_key().verifying_key());
        let settings = parse(&format!(
            "[http]\nmax_body_bytes = 4096\n[plugins]\nwatch = false\nrequire_signatures = true\ntrusted_keys = \
             [\"{key}\"]\nmax_deadline_ms = 500\nmax_calls_per_second = 9\n[plugins.instances.py]\npolicy = \
             \"warm\"\npool = 2\nmax_reuse = 10\n"
        ))
        .unwrap();
        assert!(!settings.watch && settings.trust.require_signatures);
        assert_eq!(settings.trust.trusted_keys.len(), 1);
        assert_eq!(settings.policy.caps.max_deadline, Duration::from_millis(500));
        assert_eq!(settings.policy.caps.max_calls_per_second, Some(9));
        assert_eq!(settings.policy.instances_of("py"), InstancePolicy::Warm { pool: 2, max_reuse: 10 });
        assert_eq!(settings.policy.instances_of("other"), InstancePolicy::Fresh);
        let defaults = parse("").unwrap();
        assert!(defaults.watch && !defaults.trust.require_signatures);
        assert_eq!(defaults.policy, PluginPolicy::default());
    }

    #[test]
    fn reads_shared_limits_sizes_and_sensitive_grants() {
        let settings = parse(
            "[plugins]\ntotal_calls = 4\ntotal_memory_mib = 512\nthreads = 1\nlog_bytes_per_second = 100\n\
             max_tools = 3\nmax_schema_bytes = 2048\nmax_component_mib = 8\ncompile_timeout_ms = 1500\n\
             compile_memory_mib = 300\n[plugins.sensitive_grants]\ndash = [\"plugins\"]\n",
        )
        .unwrap();
        let policy = &settings.policy;
        assert_eq!((policy.shared.calls, policy.shared.memory_bytes, policy.shared.threads), (4, 512 << 20, 1));
        assert_eq!(policy.shared.log_bytes_per_second, 100);
        assert_eq!((policy.descriptions.max_tools, policy.descriptions.max_schema_bytes), (3, 2048));
        assert_eq!(policy.compile.max_component_bytes, 8 << 20);
        assert_eq!(policy.compile.timeout, Duration::from_millis(1500));
        assert!(policy.allows_sensitive("dash", Capability::Plugins));
        assert!(!policy.allows_sensitive("other", Capability::Plugins));
        assert!(parse("[plugins.sensitive_grants]\ndash = [\"root\"]\n").is_err());
        assert!(parse("[plugins]\ntotal_calls = 0\n").is_err());
        assert!(parse("[plugins]\nmax_memory_mib = 5000\n").is_err());
    }

    #[test]
    fn refuses_bad_values() {
        assert!(parse("[plugins]\nrequire_signatures = true\n").is_err(), "required but no key");
        assert!(parse("[plugins]\ntrusted_keys = [\"xyz\"]\n").is_err());
        assert!(parse("[plugins]\nmax_calls_per_second = 0\n").is_err());
        assert!(parse("[plugins]\nwatchh = true\n").is_err());
        assert!(parse("[plugins.instances.p]\npolicy = \"lukewarm\"\n").is_err());
        assert!(parse("[plugins.instances.p]\npolicy = \"warm\"\npool = 0\n").is_err());
    }
}

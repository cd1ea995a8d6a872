//! The `[plugins]` table of `<data-dir>/config.toml`: the operator's policy for third-party plugins.
//!
//! ```toml
//! [plugins]
//! watch = true                      # reload when the plugins directory changes (default on)
//! require_signatures = true         # refuse plugins without a valid signature by a trusted key
//! trusted_keys = ["base64 ed25519 public key", "..."]   # as `fastintercom plugins keygen` prints them
//! max_memory_mib = 128              # caps on what a manifest's [limits] may ask for
//! max_deadline_ms = 5000
//! max_concurrent_calls = 16         # also applied to plugins that ask for no limit
//! max_calls_per_second = 200        # likewise
//!
//! [plugins.instances.py_thread_stats]   # reuse warm instances of this plugin (default: fresh per call)
//! policy = "warm"
//! pool = 4                          # idle instances kept
//! max_reuse = 1000                  # calls per instance before it is replaced
//! ```
//!
//! Trust settings are read again on every reload, so a new key takes effect with `fastintercom plugins reload`;
//! caps and instance policies are read when the server starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::registry::trust::TrustPolicy;
use crate::runtime::{InstancePolicy, PluginPolicy, PolicyCaps};

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
    let positive = |value: Option<u32>, name: &str| -> anyhow::Result<Option<u32>> {
        match value {
            Some(0) => anyhow::bail!("{name} must be at least 1"),
            other => Ok(other),
        }
    };
    let caps = PolicyCaps {
        max_memory_mib: positive(file.max_memory_mib, "max_memory_mib")?,
        max_deadline: match file.max_deadline_ms {
            Some(0) => anyhow::bail!("max_deadline_ms must be at least 1"),
            other => other.map(Duration::from_millis),
        },
        max_concurrent_calls: positive(file.max_concurrent_calls, "max_concurrent_calls")?,
        max_calls_per_second: positive(file.max_calls_per_second, "max_calls_per_second")?,
    };
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
    Ok(PluginSettings { watch: file.watch.unwrap_or(true), trust, policy: PluginPolicy { caps, instances } })
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
        assert_eq!(settings.policy.caps.max_deadline, Some(Duration::from_millis(500)));
        assert_eq!(settings.policy.caps.max_calls_per_second, Some(9));
        assert_eq!(settings.policy.instances_of("py"), InstancePolicy::Warm { pool: 2, max_reuse: 10 });
        assert_eq!(settings.policy.instances_of("other"), InstancePolicy::Fresh);
        let defaults = parse("").unwrap();
        assert!(defaults.watch && !defaults.trust.require_signatures);
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

//! A plugin's manifest: who it is, which host interfaces it is granted and the limits it runs under.
//!
//! The manifest sits beside the component (`name.wasm` + `name.toml`). It is the only source of grants: a
//! component that imports an interface its manifest does not grant is refused at load.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A host interface a plugin may be granted; each maps to one WIT interface of `fastintercom:plugin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Log,
    SyncStatus,
    Conversations,
    Contacts,
    /// Since contract 0.2.0: the host's list of plugins and their counters.
    Plugins,
    /// Since contract 0.4.0: tags, teams, admins and companies by id or name.
    Directory,
    /// Since contract 0.5.0: counts and distributions over conversations.
    Analytics,
}

impl Capability {
    pub const ALL: [Self; 7] = [
        Self::Log,
        Self::SyncStatus,
        Self::Conversations,
        Self::Contacts,
        Self::Plugins,
        Self::Directory,
        Self::Analytics,
    ];

    /// The grant's name in manifests, which is also the WIT interface name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::SyncStatus => "sync-status",
            Self::Conversations => "conversations",
            Self::Contacts => "contacts",
            Self::Plugins => "plugins",
            Self::Directory => "directory",
            Self::Analytics => "analytics",
        }
    }

    /// The contract versions the interface exists in: the one that introduced it, and each that changed it
    /// (see `wit/README.md`). One grant covers every version.
    pub fn contract_versions(self) -> &'static [&'static str] {
        match self {
            Self::Log | Self::SyncStatus | Self::Contacts => &["0.1.0"],
            Self::Conversations => &["0.1.0", "0.3.0", "0.4.0", "0.5.0"],
            Self::Plugins => &["0.2.0"],
            Self::Directory => &["0.4.0"],
            Self::Analytics => &["0.5.0"],
        }
    }

    /// Whether only the operator may give it (`[plugins.sensitive_grants]`): a manifest asking for it is not
    /// enough. `plugins` shows every plugin's tools, grants and live call counters, which tell one plugin what
    /// another does and how often it is called.
    pub fn is_sensitive(self) -> bool {
        matches!(self, Self::Plugins)
    }

    /// The capability behind an interface name of our package (`conversations` in
    /// `fastintercom:plugin/conversations@0.1.0`).
    pub fn from_interface(interface: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|capability| capability.name() == interface)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-plugin overrides of the runtime's default limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLimits {
    /// Linear memory cap in MiB.
    pub memory_mib: Option<u32>,
    /// Wall-clock deadline per call in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Calls of this plugin that may run at once; a call beyond it fails at once with a tool error (it does not
    /// queue), so one busy plugin cannot take every sandbox slot from the others.
    pub max_concurrent_calls: Option<u32>,
    /// Calls of this plugin per second (sustained, with a burst of the same size); a call beyond it fails at
    /// once with a tool error.
    pub calls_per_second: Option<u32>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Plugin name: 1-64 characters of `[a-z0-9_-]`.
    pub name: String,
    /// The plugin's own version, for humans and logs.
    pub version: String,
    /// Host interfaces the plugin may import.
    #[serde(default)]
    pub grants: Vec<Capability>,
    #[serde(default)]
    pub limits: ManifestLimits,
}

/// Why a manifest was refused. No message quotes the file: a "manifest" may be a link to, or a copy of, a file
/// that is not one (a `config.toml` holding a token), and these messages reach clients through `list_plugins`.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not a valid plugin manifest: {0}")]
    Syntax(String),
    #[error("the plugin name is invalid: use 1-64 characters of a-z, 0-9, '_' and '-'")]
    Name,
    #[error("limit {0} is out of range ({1})")]
    Limit(&'static str, &'static str),
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Self =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(describe_syntax_error(text, &e)))?;
        let name_ok = (1..=64).contains(&manifest.name.len())
            && manifest.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(ManifestError::Name);
        }
        if let Some(mib) = manifest.limits.memory_mib
            && !(1..=4096).contains(&mib)
        {
            return Err(ManifestError::Limit("memory_mib", "1 to 4096"));
        }
        if let Some(ms) = manifest.limits.deadline_ms
            && !(1..=600_000).contains(&ms)
        {
            return Err(ManifestError::Limit("deadline_ms", "1 to 600000"));
        }
        if let Some(calls) = manifest.limits.max_concurrent_calls
            && !(1..=1024).contains(&calls)
        {
            return Err(ManifestError::Limit("max_concurrent_calls", "1 to 1024"));
        }
        if let Some(rate) = manifest.limits.calls_per_second
            && !(1..=1_000_000).contains(&rate)
        {
            return Err(ManifestError::Limit("calls_per_second", "1 to 1000000"));
        }
        Ok(manifest)
    }

    pub fn grants(&self, capability: Capability) -> bool {
        self.grants.contains(&capability)
    }

    pub fn deadline(&self) -> Option<Duration> {
        self.limits.deadline_ms.map(Duration::from_millis)
    }
}

/// Keys a manifest must have (quoted back when one is missing; `grants` and `limits` have defaults).
const REQUIRED_KEYS: &[&str] = &["name", "version"];

/// What is wrong with a manifest that does not parse, with where it is (line and column), in words of the host's
/// own: toml's message quotes the offending text (a key, a value), and escapes inside a quoted value could make
/// any scrubbing of it show what follows, so the message is classified instead, never echoed.
fn describe_syntax_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message();
    let what = if message.starts_with("unknown field") {
        "an unknown key (a manifest has name, version, grants and a [limits] table of memory_mib, deadline_ms, \
         max_concurrent_calls and calls_per_second)"
            .to_owned()
    } else if message.starts_with("unknown variant") {
        let grants: Vec<&str> = Capability::ALL.iter().map(|grant| grant.name()).collect();
        format!("an unknown grant (grants are {})", grants.join(", "))
    } else if let Some(key) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`'))
        && REQUIRED_KEYS.contains(&key)
    {
        format!("the key `{key}` is missing")
    } else if message.starts_with("invalid type") {
        "a value of the wrong type".to_owned()
    } else if message.starts_with("invalid value") || message.starts_with("invalid length") {
        "an invalid value".to_owned()
    } else if message.contains("duplicate") {
        "a key given twice".to_owned()
    } else {
        "it is not valid TOML".to_owned()
    };
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {what}")
        }
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grants_and_limits() {
        let manifest = Manifest::parse(
            "name = \"conversations\"\nversion = \"0.1.0\"\ngrants = [\"log\", \"conversations\"]\n[limits]\nmemory_mib = 32\n",
        )
        .unwrap();
        assert!(manifest.grants(Capability::Conversations));
        assert!(!manifest.grants(Capability::Contacts));
        assert_eq!(manifest.limits.memory_mib, Some(32));
        let capped = Manifest::parse("name = \"x\"\nversion = \"1\"\n[limits]\nmax_concurrent_calls = 3\n").unwrap();
        assert_eq!(capped.limits.max_concurrent_calls, Some(3));
    }

    #[test]
    fn refuses_unknown_grants_fields_and_bad_names() {
        assert!(Manifest::parse("name = \"x\"\nversion = \"1\"\ngrants = [\"filesystem\"]").is_err());
        assert!(Manifest::parse("name = \"x\"\nversion = \"1\"\nsecret = 1").is_err());
        assert!(matches!(Manifest::parse("name = \"../etc\"\nversion = \"1\""), Err(ManifestError::Name)));
        assert!(matches!(
            Manifest::parse("name = \"x\"\nversion = \"1\"\n[limits]\nmemory_mib = 0"),
            Err(ManifestError::Limit(..))
        ));
        assert!(matches!(
            Manifest::parse("name = \"x\"\nversion = \"1\"\n[limits]\nmax_concurrent_calls = 0"),
            Err(ManifestError::Limit("max_concurrent_calls", _))
        ));
    }

    #[test]
    fn errors_quote_nothing_of_the_file_but_say_where() {
        let config = "[intercom]\naccess_token = \"secret-token-123\"\n";
        let error = Manifest::parse(config).unwrap_err().to_string();
        assert!(!error.contains("intercom") && !error.contains("secret"), "{error}");
        assert!(error.contains("line 1"), "{error}");
        let passwd = "root:x:0:0:root:/root:/bin/bash\n";
        let error = Manifest::parse(passwd).unwrap_err().to_string();
        assert!(!error.contains("root"), "{error}");
        let typo = "name = \"x\"\nversion = \"1\"\ngrants = [\"conversation\"]\n";
        let error = Manifest::parse(typo).unwrap_err().to_string();
        assert!(error.contains("line 3") && error.contains("unknown grant"), "{error}");
        assert!(!error.contains("\"conversation\"") && !error.contains("`conversation`"), "{error}");
        let escaped = "name = \"x\"\nversion = \"1\"\n[limits]\nmemory_mib = \"a\\\"TOPSECRET-123\\\"b\"\n";
        let error = Manifest::parse(escaped).unwrap_err().to_string();
        assert!(!error.contains("TOPSECRET") && error.contains("wrong type"), "{error}");
        let ticks = "name = \"x\"\nversion = \"1\"\ngrants = [\"a`SECRET`b\"]\n";
        assert!(!Manifest::parse(ticks).unwrap_err().to_string().contains("SECRET"));
        let missing = "name = \"x\"\n";
        assert!(Manifest::parse(missing).unwrap_err().to_string().contains("the key `version` is missing"));
        let secret_name = "name = \"hunter2 secret\"\nversion = \"1\"\n";
        assert!(!Manifest::parse(secret_name).unwrap_err().to_string().contains("hunter2"));
    }

    #[test]
    fn only_the_plugins_grant_is_sensitive() {
        assert_eq!(Capability::ALL.iter().filter(|c| c.is_sensitive()).collect::<Vec<_>>(), [&Capability::Plugins]);
    }
}

//! The `[http]` table of `<data-dir>/config.toml`: who may connect to the Streamable HTTP server and how often.
//!
//! ```toml
//! [http]
//! allowed_origins = ["https://support.example.com"]   # browsers' Origin; loopback origins are always allowed
//! allowed_hosts = ["mcp.example.com"]                 # Host header (DNS rebinding); loopback names always
//! max_body_bytes = 1048576
//! request_timeout = "30s"
//! ready_max_sync_age = "30m"                          # /ready fails when the last sync is older
//!
//! [http.rate_limit]                                   # per key; default 50/s, bursts of 100
//! per_second = 50
//! burst = 100
//!
//! [http.keyless_rate_limit]                           # a loopback server with no key; default 1000/s, 2000
//! per_second = 1000
//! burst = 2000
//!
//! [http.key_rate_limits.ci-bot]                       # one key's own limit
//! per_second = 5
//! burst = 10
//! ```

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// How many requests a key may make: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new(50, 100)
    }
}

impl RateLimit {
    const fn new(per_second: u32, burst: u32) -> Self {
        match (NonZeroU32::new(per_second), NonZeroU32::new(burst)) {
            (Some(per_second), Some(burst)) => Self { per_second, burst },
            _ => panic!("a rate limit is positive"),
        }
    }

    /// The default for a server without keys. It serves only on loopback, to the one person whose machine it
    /// runs on, usually through one client whose bursts (an agent's parallel calls, a conformance suite) a
    /// shared server's per-key limit would refuse; the limit is there to stop a runaway local loop, not to share.
    pub const KEYLESS: Self = Self::new(1000, 2000);
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    allowed_origins: Option<Vec<String>>,
    allowed_hosts: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    request_timeout: Option<String>,
    ready_max_sync_age: Option<String>,
    rate_limit: Option<RateLimit>,
    keyless_rate_limit: Option<RateLimit>,
    #[serde(default)]
    key_rate_limits: BTreeMap<String, RateLimit>,
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    http: Option<FileSettings>,
}

/// Resolved HTTP settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Origins allowed besides loopback ones (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`).
    pub allowed_origins: Vec<String>,
    /// Host names allowed besides loopback ones; empty on a non-loopback address means any host.
    pub allowed_hosts: Vec<String>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub ready_max_sync_age: Duration,
    pub rate_limit: RateLimit,
    /// Every request's limit while the server runs without keys (loopback only).
    pub keyless_rate_limit: RateLimit,
    pub key_rate_limits: BTreeMap<String, RateLimit>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            ready_max_sync_age: Duration::from_secs(30 * 60),
            rate_limit: RateLimit::default(),
            keyless_rate_limit: RateLimit::KEYLESS,
            key_rate_limits: BTreeMap::new(),
        }
    }
}

impl HttpSettings {
    /// Reads the `[http]` table of `config_file`, if the file exists.
    pub fn resolve(config_file: &Path) -> anyhow::Result<Self> {
        let Some(text) = super::read_settings_file(config_file)? else { return Ok(Self::default()) };
        parse(&text).with_context(|| format!("invalid [http] table in {}", config_file.display()))
    }
}

fn parse(text: &str) -> anyhow::Result<HttpSettings> {
    // Only the [http] table is read here; toml's message names the key and line, and this table holds no secret.
    let file = toml::from_str::<ConfigFile>(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?.http;
    let file = file.unwrap_or_default();
    let defaults = HttpSettings::default();
    let duration = |value: Option<String>, name: &str, default: Duration| -> anyhow::Result<Duration> {
        value.map_or(Ok(default), |text| {
            humantime::parse_duration(&text).map_err(|e| anyhow::anyhow!("{name} = {text:?}: {e}"))
        })
    };
    let max_body_bytes = file.max_body_bytes.unwrap_or(defaults.max_body_bytes);
    if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
        anyhow::bail!("max_body_bytes must be between 1024 and 67108864");
    }
    Ok(HttpSettings {
        allowed_origins: file.allowed_origins.unwrap_or_default(),
        allowed_hosts: file.allowed_hosts.unwrap_or_default(),
        max_body_bytes,
        request_timeout: duration(file.request_timeout, "request_timeout", defaults.request_timeout)?,
        ready_max_sync_age: duration(file.ready_max_sync_age, "ready_max_sync_age", defaults.ready_max_sync_age)?,
        rate_limit: file.rate_limit.unwrap_or_default(),
        keyless_rate_limit: file.keyless_rate_limit.unwrap_or(RateLimit::KEYLESS),
        key_rate_limits: file.key_rate_limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_limits_and_overrides() {
        let settings = parse(
            "[intercom]\nregion = \"eu\"\n[http]\nallowed_origins = [\"https://a.example\"]\nrequest_timeout = \"5s\"\n\
             [http.rate_limit]\nper_second = 10\nburst = 20\n[http.key_rate_limits.bot]\nper_second = 1\nburst = 2\n",
        )
        .unwrap();
        assert_eq!(settings.allowed_origins, ["https://a.example"]);
        assert_eq!(settings.request_timeout, Duration::from_secs(5));
        assert_eq!(settings.rate_limit.per_second.get(), 10);
        assert_eq!(settings.key_rate_limits["bot"].burst.get(), 2);
        assert_eq!(settings.keyless_rate_limit, RateLimit::KEYLESS);
        assert_eq!(parse("").unwrap(), HttpSettings::default());
        let keyless = parse("[http.keyless_rate_limit]\nper_second = 7\nburst = 9\n").unwrap();
        assert_eq!((keyless.keyless_rate_limit.per_second.get(), keyless.rate_limit), (7, RateLimit::default()));
    }

    #[test]
    fn refuses_bad_values() {
        assert!(parse("[http]\nrate_limit = { per_second = 0, burst = 1 }\n").is_err());
        assert!(parse("[http]\nmax_body_bytes = 10\n").is_err());
        assert!(parse("[http]\nrequest_timeout = \"soon\"\n").is_err());
        assert!(parse("[http]\nallowed_origin = []\n").is_err());
    }
}

//! The `[redis]` table of `<data-dir>/config.toml`, or `--redis-url` / `FASTINTERCOM_REDIS_URL`: the Redis that
//! the replicas of one deployment share (see [`crate::shared`]).
//!
//! ```toml
//! [redis]
//! url = "redis://:password@redis.internal:6379/0"   # the flag or the environment variable wins over this
//! key_prefix = "fastintercom:"                       # every key this deployment writes starts with it
//! ```
//!
//! Without a URL each replica keeps what would be shared (per-key rate limits) to itself, and says so once at
//! start.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

/// Resolved Redis settings. The URL may hold a password: `Debug` shows neither it nor anything else of the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub url: Option<String>,
    pub key_prefix: String,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self { url: None, key_prefix: DEFAULT_KEY_PREFIX.to_owned() }
    }
}

const DEFAULT_KEY_PREFIX: &str = "fastintercom:";

/// Longest key prefix accepted: every request's rate-limit key carries it.
const MAX_KEY_PREFIX_BYTES: usize = 200;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    url: Option<String>,
    key_prefix: Option<String>,
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    redis: Option<FileSettings>,
}

impl RedisSettings {
    /// The `[redis]` table of `config_file` (if the file exists), with `url_flag` (from `--redis-url` or the
    /// environment) in place of its URL when given.
    pub fn resolve(config_file: &Path, url_flag: Option<String>) -> anyhow::Result<Self> {
        let text = super::read_settings_file(config_file)?.unwrap_or_default();
        let mut settings =
            parse(&text).with_context(|| format!("invalid [redis] table in {}", config_file.display()))?;
        if let Some(url) = url_flag {
            settings.url = Some(url);
        }
        settings.url = settings.url.filter(|url| !url.trim().is_empty());
        Ok(settings)
    }
}

fn parse(text: &str) -> anyhow::Result<RedisSettings> {
    // toml's message names the key and line but not its value, so a password in the URL stays out of it.
    let file = toml::from_str::<ConfigFile>(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?.redis;
    let file = file.unwrap_or_default();
    let key_prefix = file.key_prefix.unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned());
    if key_prefix.len() > MAX_KEY_PREFIX_BYTES {
        anyhow::bail!("key_prefix is longer than {MAX_KEY_PREFIX_BYTES} bytes");
    }
    Ok(RedisSettings { url: file.url, key_prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_and_the_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        assert_eq!(RedisSettings::resolve(&file, None).unwrap(), RedisSettings::default());
        std::fs::write(&file, "[redis]\nurl = \"redis://:hunter2@r:6379\"\nkey_prefix = \"team-a:\"\n").unwrap();
        let settings = RedisSettings::resolve(&file, None).unwrap();
        assert_eq!(settings.url.as_deref(), Some("redis://:hunter2@r:6379"));
        assert_eq!(settings.key_prefix, "team-a:");
        assert!(!format!("{settings:?}").contains("hunter2"), "Debug hides the URL");
        let flagged = RedisSettings::resolve(&file, Some("redis://127.0.0.1:6379".into())).unwrap();
        assert_eq!((flagged.url.as_deref(), flagged.key_prefix.as_str()), (Some("redis://127.0.0.1:6379"), "team-a:"));
        assert_eq!(RedisSettings::resolve(&file, Some(" ".into())).unwrap().url, None, "an empty flag means none");
    }

    #[test]
    fn refuses_bad_tables_without_echoing_the_url() {
        let error = parse("[redis]\nurl = \"redis://:hunter2@r\"\nport = 1\n").unwrap_err().to_string();
        assert!(error.contains("port") && !error.contains("hunter2"), "{error}");
        assert!(parse(&format!("[redis]\nkey_prefix = \"{}\"\n", "x".repeat(201))).is_err());
    }
}

//! The `[store]` table of `<data-dir>/config.toml`, or `--database-url` / `FASTINTERCOM_DATABASE_URL`: where the
//! copy of the workspace lives.
//!
//! ```toml
//! [store]
//! url = "postgres://fastintercom:password@db.internal:5432/fastintercom"  # the flag or variable wins over this
//! connections = 16                                                       # PostgreSQL pool size
//! ```
//!
//! Without a URL the store is SQLite in the data directory (`workspace.sqlite3`), as for a single user. A
//! `postgres://` (or `postgresql://`) URL puts it in PostgreSQL, shared by every replica given the same URL. Any
//! other URL is refused rather than quietly falling back to a file nobody else sees.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

/// A database URL as given (`--database-url`, the environment): it may hold a password, so `Debug` shows none
/// of it, and the text is reached only through [`DatabaseUrl::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// Resolved store settings. The URL may hold a password: `Debug` shows none of the URL.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StoreSettings {
    /// A PostgreSQL URL; `None` for SQLite in the data directory.
    pub url: Option<String>,
    /// Connections of the PostgreSQL pool (its default when unset).
    pub connections: Option<u32>,
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("connections", &self.connections)
            .finish()
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    url: Option<String>,
    connections: Option<u32>,
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    store: Option<FileSettings>,
}

impl StoreSettings {
    /// The `[store]` table of `config_file` (if the file exists), with `url_flag` (from `--database-url` or the
    /// environment) in place of its URL when given.
    pub fn resolve(config_file: &Path, url_flag: Option<&str>) -> anyhow::Result<Self> {
        let text = super::read_settings_file(config_file)?.unwrap_or_default();
        let file = parse(&text).with_context(|| format!("invalid [store] table in {}", config_file.display()))?;
        let url = url_flag.map(str::to_owned).or(file.url).filter(|url| !url.trim().is_empty());
        if let Some(url) = &url
            && !crate::store::is_postgres_url(url)
        {
            anyhow::bail!(
                "the database URL must start with postgres:// or postgresql:// (leave it unset for SQLite in the \
                 data directory)"
            );
        }
        if file.connections == Some(0) {
            anyhow::bail!("[store] connections must be at least 1");
        }
        Ok(Self { url, connections: file.connections })
    }
}

fn parse(text: &str) -> anyhow::Result<FileSettings> {
    // toml's message names the key and line but not its value, so a password in the URL stays out of it.
    let file = toml::from_str::<ConfigFile>(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?.store;
    Ok(file.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(file: &str, flag: Option<&str>) -> anyhow::Result<StoreSettings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, file).unwrap();
        StoreSettings::resolve(&path, flag)
    }

    #[test]
    fn the_flag_wins_over_the_file_and_nothing_means_sqlite() {
        let file = "[store]\nurl = \"postgres://a@h/file\"\nconnections = 3\n";
        assert_eq!(resolve(file, None).unwrap().url.as_deref(), Some("postgres://a@h/file"));
        let flagged = resolve(file, Some("postgresql://b@h/flag")).unwrap();
        assert_eq!(flagged.url.as_deref(), Some("postgresql://b@h/flag"));
        assert_eq!(flagged.connections, Some(3));
        assert_eq!(resolve("", None).unwrap(), StoreSettings::default());
        assert_eq!(resolve("", Some("  ")).unwrap().url, None, "an empty variable is no URL");
    }

    #[test]
    fn other_urls_and_bad_tables_are_refused_without_echoing_secrets() {
        let error = resolve("", Some("mysql://root:hunter2@h/db")).unwrap_err().to_string();
        assert!(error.contains("postgres://"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error =
            format!("{:#}", resolve("[store]\nurl = \"postgres://u:hunter2@h/db\"\npool = 3\n", None).unwrap_err());
        assert!(error.contains("pool"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert!(resolve("[store]\nconnections = 0\n", None).is_err());
    }

    #[test]
    fn debug_output_hides_the_url() {
        let settings = StoreSettings { url: Some("postgres://u:hunter2@h/db".to_owned()), connections: None };
        assert!(!format!("{settings:?}").contains("hunter2"));
        let mut config = crate::config::Config::new("/tmp/x".into(), None);
        config.database_url = Some(DatabaseUrl::from("postgres://u:hunter2@h/db".to_owned()));
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}

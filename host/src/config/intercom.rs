//! How to reach the Intercom workspace: token, region or base URL, webhook secret.
//!
//! Secrets come from the environment (`INTERCOM_ACCESS_TOKEN`, `INTERCOM_CLIENT_SECRET`) or from the
//! `[intercom]` table of `<data-dir>/config.toml`, never from command-line flags (which other users of the
//! machine can read in the process list). The environment wins over the file.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::intercom::{AccessToken, ClientOptions, Region};
use crate::sync::webhooks::ClientSecret;

/// The `[intercom]` table of the config file. No `Debug`: it holds secrets.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    access_token: Option<String>,
    client_secret: Option<String>,
    region: Option<String>,
    base_url: Option<String>,
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    intercom: Option<FileSettings>,
}

/// Resolved Intercom settings.
#[derive(Debug, Clone, Default)]
pub struct IntercomSettings {
    pub access_token: Option<AccessToken>,
    pub client_secret: Option<ClientSecret>,
    pub region: Region,
    /// Overrides the region's URL (tests point it at a fake Intercom).
    pub base_url: Option<String>,
}

impl IntercomSettings {
    /// Reads `config_file` (if it exists), then lets the environment and the given flags override it.
    pub fn resolve(config_file: &Path, region: Option<Region>, base_url: Option<String>) -> anyhow::Result<Self> {
        let file = match super::read_settings_file(config_file)? {
            Some(text) => parse(&text).with_context(|| format!("cannot read {}", config_file.display()))?,
            None => FileSettings::default(),
        };
        let from_env = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
        let nonempty = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
        let file_region = match file.region.as_deref() {
            Some(name) => Some(
                <Region as clap::ValueEnum>::from_str(name, true)
                    .map_err(|_| anyhow::anyhow!("{}: region must be us, eu or au", config_file.display()))?,
            ),
            None => None,
        };
        Ok(Self {
            access_token: from_env("INTERCOM_ACCESS_TOKEN").or(nonempty(file.access_token)).map(AccessToken::new),
            // An empty secret would let anyone sign webhooks: treated as no secret (the endpoint stays off).
            client_secret: from_env("INTERCOM_CLIENT_SECRET").or(nonempty(file.client_secret)).map(ClientSecret::new),
            region: region.or(file_region).unwrap_or_default(),
            base_url: base_url.or(file.base_url),
        })
    }

    /// Client options, or an error telling the user how to give a token.
    pub fn client_options(&self) -> anyhow::Result<ClientOptions> {
        let token = self.access_token.clone().context(
            "no Intercom access token: set INTERCOM_ACCESS_TOKEN or access_token in the [intercom] table of the config file",
        )?;
        let base_url = self.base_url.clone().unwrap_or_else(|| self.region.base_url().to_owned());
        Ok(ClientOptions::new(base_url, token))
    }
}

/// Parses the config file. toml's own errors quote the offending line, which may hold a token: only the position
/// and the kind of mistake are reported.
fn parse(text: &str) -> anyhow::Result<FileSettings> {
    match toml::from_str::<ConfigFile>(text) {
        Ok(file) => Ok(file.intercom.unwrap_or_default()),
        Err(error) => {
            let position = error
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(" at line {line}")
                })
                .unwrap_or_default();
            anyhow::bail!(
                "invalid TOML{position} (expected an [intercom] table with access_token, client_secret, region, \
                 base_url, all quoted strings)"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_never_quote_the_file() {
        for text in ["[intercom]\naccess_token = abc-secret-123\n", "[intercom]\nacess_token = \"abc-secret-123\"\n"] {
            let message = format!("{:#}", parse(text).err().expect("invalid"));
            assert!(!message.contains("abc-secret-123"), "{message}");
            assert!(message.contains("line 2"), "{message}");
        }
    }

    #[test]
    fn reads_the_intercom_table() {
        let file = parse("[intercom]\naccess_token = \"t\"\nregion = \"eu\"\n").expect("valid");
        assert_eq!(file.access_token.as_deref(), Some("t"));
        assert_eq!(file.region.as_deref(), Some("eu"));
    }
}

//! `fastintercom keys create|list|revoke`: the API keys HTTP clients authenticate with. A new key is printed
//! once, on stdout; the store keeps only its hash.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::status::format_time;
use crate::access::{ToolPattern, generate_key};
use crate::config::Config;
use crate::store::ApiKeyRecord;

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (it cannot be shown again)
    Create {
        /// A name for the key's holder, e.g. "support-bot" (1-64 of a-z, A-Z, 0-9, '_', '-', '.')
        #[arg(long)]
        name: String,
        /// Restrict the key to some tools: comma-separated names, '*' matches any run of characters
        /// (e.g. "search_*,get_conversation")
        #[arg(long)]
        tools: Option<String>,
    },
    /// List keys (names, tool restrictions, when created and revoked; never the keys)
    List,
    /// Revoke a key; servers refuse it within seconds
    Revoke {
        /// The key's name
        name: String,
    },
}

pub async fn run(config: &Config, args: KeysArgs) -> anyhow::Result<()> {
    let store = config.open_store().await?;
    let now = crate::sync::unix_now();
    match args.command {
        KeysCommand::Create { name, tools } => {
            check_name(&name)?;
            let tools = tools.map(|text| ToolPattern::parse(&text)).transpose()?;
            let key = generate_key();
            let record = ApiKeyRecord {
                name: name.clone(),
                hash: key.hash,
                tools: tools.as_ref().map(ToString::to_string),
                created_at: now,
                revoked_at: None,
            };
            store.insert_api_key(&record).await.context("cannot create the key")?;
            eprintln!("created key {name:?}; it is shown once, store it now:");
            println!("{}", key.secret);
        }
        KeysCommand::List => {
            let keys = store.api_keys().await?;
            if keys.is_empty() {
                eprintln!("no keys; create one with `fastintercom keys create --name NAME`");
            }
            for key in keys {
                let created = format_time(Some(key.created_at));
                let status = match key.revoked_at {
                    Some(at) => format!("revoked {}", format_time(Some(at))),
                    None => "active".to_owned(),
                };
                let tools = key.tools.as_deref().unwrap_or("*");
                println!("{:<24} {status:<30} created {created}  tools {tools}", key.name);
            }
        }
        KeysCommand::Revoke { name } => {
            if !store.revoke_api_key(&name, now).await? {
                bail!("no active key is named {name:?}; `fastintercom keys list` shows the keys");
            }
            eprintln!("revoked key {name:?}");
        }
    }
    store.close().await;
    Ok(())
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !ok {
        bail!("key name {name:?} is invalid: use 1-64 characters of a-z, A-Z, 0-9, '_', '-' and '.'");
    }
    Ok(())
}

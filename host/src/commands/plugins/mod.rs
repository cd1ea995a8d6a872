//! `fastintercom plugins ...`: everything an operator or a plugin author does with plugins, without a server.
//!
//! `new` and `build` are for authors; `check`, `install`, `list`, `reload`, `keygen` and `sign` for both. Every
//! command that judges a plugin loads it exactly as a server would (same runtime, policy and checks), so "check
//! passes" means "a server will serve it".

mod inspect;
mod install;
mod scaffold;
mod signing;

use std::path::PathBuf;

use clap::{Args, Subcommand};
pub use scaffold::{Lang, Template};

use crate::config::Config;

#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    pub command: PluginsCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Scaffold a plugin crate (a typed Rust tool on the guest SDK) that builds out of the box
    New {
        /// Plugin name: a-z first (it names the Rust crate, and Cargo refuses a leading digit), then up to 63 of
        /// a-z, 0-9, '_' and '-'. (A manifest written by hand may start with a digit.)
        name: String,
        /// Where to create it [default: ./NAME]
        #[arg(long)]
        dir: Option<PathBuf>,
        /// What its tool starts as: `basic` (conversations per state, through `conversations.search`) or
        /// `analytics` (conversations per tag with their median first response, one `analytics` call)
        #[arg(long, value_enum, default_value_t)]
        template: Template,
        /// `rust` (a crate on the vendored SDK) or `python` (a module built with componentize-py 0.25)
        #[arg(long, value_enum, default_value_t)]
        lang: Lang,
    },
    /// Build a plugin crate for wasm32-wasip2 into DIR/dist/NAME.wasm + NAME.toml
    Build {
        /// The plugin crate [default: .]
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate a component and its manifest (NAME.toml beside it) without serving: imports against grants,
    /// tools and schemas, limits under this server's policy, signature, tool names free. The server is the one of
    /// --data-dir (its config.toml and plugins directory), the platform's data directory when not given
    Check {
        /// The component, e.g. dist/my_tool.wasm
        file: PathBuf,
    },
    /// Check a plugin, then copy it (component, manifest and signature) into the plugins directory, whose
    /// watching servers pick it up within a second; with a PostgreSQL store, into the store, which every replica
    /// sharing it serves within two seconds
    Install {
        /// The component, e.g. dist/my_tool.wasm (its NAME.toml and any NAME.sig beside it)
        file: PathBuf,
        /// Where to install it [default: the store with a PostgreSQL store, the plugins directory otherwise]
        #[arg(long, value_enum)]
        into: Option<install::Place>,
    },
    /// Remove a plugin installed into the store (with --from dir, from the plugins directory); servers withdraw
    /// its tools within two seconds
    Uninstall {
        /// The plugin's name, as its manifest gives it
        name: String,
        /// Where it was installed [default: the store with a PostgreSQL store, the plugins directory otherwise]
        #[arg(long, value_enum)]
        from: Option<install::Place>,
    },
    /// Show every plugin of the plugins directory as a server would serve it now, and why any is refused
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Ask running servers of this plugins directory to load it again now
    Reload,
    /// Create an ed25519 signing key: the secret key in FILE, its public key printed (pin it in
    /// `[plugins] trusted_keys`)
    Keygen {
        /// Where to write the secret key (refused if the file exists). Keep it out of the plugin's directory
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a plugin's component and manifest with a key from `keygen`, writing NAME.sig beside them
    Sign {
        /// The component to sign, e.g. dist/my_tool.wasm (its NAME.toml beside it is signed with it)
        file: PathBuf,
        /// The secret key file `plugins keygen --out` wrote
        #[arg(long)]
        key: PathBuf,
    },
}

pub async fn run(config: &Config, args: PluginsArgs) -> anyhow::Result<()> {
    match args.command {
        PluginsCommand::New { name, dir, template, lang } => scaffold::new(&name, dir, template, lang),
        PluginsCommand::Build { dir } => scaffold::build(&dir).await,
        PluginsCommand::Check { file } => inspect::check(config, &file).await,
        PluginsCommand::Install { file, into } => install::install(config, &file, into).await,
        PluginsCommand::Uninstall { name, from } => install::uninstall(config, &name, from).await,
        PluginsCommand::List { json } => inspect::list(config, json).await,
        PluginsCommand::Reload => install::reload(config),
        PluginsCommand::Keygen { out } => signing::keygen(&out),
        PluginsCommand::Sign { file, key } => signing::sign(&file, &key),
    }
}

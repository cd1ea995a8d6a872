//! The command line: global options and one subcommand per file in [`crate::commands`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "fastintercom",
    version,
    about = "Local-first MCP server for Intercom with sandboxed WebAssembly tools"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where the workspace database, caches and plugins live [default: the platform's data directory]
    #[arg(long, env = "FASTINTERCOM_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Third-party plugins directory (`<name>.wasm` + `<name>.toml`) [default: <data-dir>/plugins]
    #[arg(long, env = "FASTINTERCOM_PLUGINS_DIR", global = true)]
    pub plugins_dir: Option<PathBuf>,
    /// Compiled-component cache [default: <data-dir>/cache/components]; may be shared by several data dirs of one
    /// user (the server loads what it finds there as compiled code)
    #[arg(long, env = "FASTINTERCOM_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Wall-clock deadline of one tool call, in milliseconds
    #[arg(long, env = "FASTINTERCOM_CALL_DEADLINE_MS", global = true)]
    pub call_deadline_ms: Option<u64>,
    /// Memory cap of one tool call, in MiB
    #[arg(long, env = "FASTINTERCOM_CALL_MEMORY_MIB", global = true)]
    pub call_memory_mib: Option<u32>,
    /// Keep the workspace in this PostgreSQL database (postgres://user:password@host:5432/db), shared by every
    /// replica given it, instead of SQLite in the data directory [default: `[store] url` of config.toml]
    #[arg(long, env = "FASTINTERCOM_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<crate::config::DatabaseUrl>,
}

impl GlobalArgs {
    /// The configuration of this process. Third-party components are compiled by this same binary, in a child
    /// process under the operator's limits (see [`crate::runtime::RuntimeLimits::isolated_compiler`]).
    pub fn config(&self) -> Config {
        let data_dir = self.data_dir.clone().unwrap_or_else(Config::default_data_dir);
        let mut config = Config::new(data_dir, self.plugins_dir.clone())
            .with_cache_dir(self.cache_dir.clone())
            .with_limits(self.call_deadline_ms.map(Duration::from_millis), self.call_memory_mib);
        config.limits.isolated_compiler = std::env::current_exe().ok();
        config.database_url = self.database_url.clone();
        config
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP on stdin/stdout (the default), or over Streamable HTTP with --http. Seeds a demo workspace
    /// first when the store is empty and no Intercom token is configured.
    Serve(commands::serve::ServeArgs),
    /// Fill the store with a deterministic synthetic workspace.
    Demo(commands::demo::DemoArgs),
    /// Sync the Intercom workspace into the store once (incrementally, or everything with --full).
    Sync(commands::sync::SyncArgs),
    /// Show how fresh the local copy is, per resource.
    Status(commands::status::StatusArgs),
    /// Manage the API keys HTTP clients authenticate with.
    Keys(commands::keys::KeysArgs),
    /// Move the store: copy the SQLite store into an empty PostgreSQL database.
    Store(commands::store::StoreArgs),
    /// Write, check, install, sign and list plugins.
    Plugins(commands::plugins::PluginsArgs),
    /// Measure end-to-end tool-call latency over stdio on a demo workspace.
    Bench(commands::bench::BenchArgs),
    /// Measure the analytics tools' latency over stdio, all time and the last 30 days, against paging.
    BenchAnalytics(commands::bench_analytics::BenchAnalyticsArgs),
    /// Measure tool-call throughput and latency over Streamable HTTP with many concurrent clients.
    BenchHttp(commands::bench_http::BenchHttpArgs),
    /// Measure search_conversations latency over stdio for every cell of text × filters × sort × limit.
    BenchSearch(commands::bench_search::BenchSearchArgs),
    /// Measure sync throughput, rate-limit utilisation and incremental cost against a local fake Intercom.
    BenchSync(commands::bench_sync::BenchSyncArgs),
    /// (Internal) compile a third-party component from stdin under limits; the server runs this itself.
    #[command(name = "__compile-component", hide = true)]
    CompileComponent(CompileComponentArgs),
}

impl Command {
    /// The log filter when `FASTINTERCOM_LOG` does not set one. Commands that print their own result (plugins,
    /// keys, status) log warnings only: their output is the answer, not a stream of JSON lines beside it.
    pub fn default_log_filter(command: Option<&Command>) -> &'static str {
        match command {
            Some(Command::Plugins(_) | Command::Keys(_) | Command::Status(_)) => "warn,rmcp=warn",
            _ => "info,rmcp=warn",
        }
    }
}

/// What the server tells the compiler process it starts (see [`crate::runtime::run_compiler_process`]).
#[derive(Debug, Args)]
pub struct CompileComponentArgs {
    /// Where to write the compiled artefact
    #[arg(long)]
    pub out: PathBuf,
}

impl CompileComponentArgs {
    /// Runs the compiler process (synchronously: it is a process of its own, with nothing else to serve).
    pub fn run(&self) -> std::process::ExitCode {
        crate::runtime::run_compiler_process(&self.out)
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.global.config();
    match cli.command.unwrap_or(Command::Serve(commands::serve::ServeArgs::default())) {
        Command::Serve(args) => commands::serve::run(&config, args).await,
        Command::Demo(args) => commands::demo::run(&config, args).await,
        Command::Sync(args) => commands::sync::run(&config, args).await,
        Command::Status(args) => commands::status::run(&config, args).await,
        Command::Keys(args) => commands::keys::run(&config, args).await,
        Command::Store(args) => commands::store::run(&config, args).await,
        Command::Plugins(args) => commands::plugins::run(&config, args).await,
        Command::Bench(args) => commands::bench::run(&config, args).await,
        Command::BenchAnalytics(args) => commands::bench_analytics::run(&config, args).await,
        Command::BenchHttp(args) => commands::bench_http::run(&config, args).await,
        Command::BenchSearch(args) => commands::bench_search::run(&config, args).await,
        Command::BenchSync(args) => commands::bench_sync::run(&config, args).await,
        Command::CompileComponent(args) => match args.run() {
            code if code == std::process::ExitCode::SUCCESS => Ok(()),
            _ => anyhow::bail!("compiling failed"),
        },
    }
}

//! The built-in `list_plugins` tool, as a WebAssembly component written against contract 0.2.0: it is the
//! `plugins` interface's one caller, and imports nothing else, so it can see which plugins run but no workspace
//! data.

use fastintercom_plugin_sdk::plugins::{self, PluginOrigin, PluginStatus};
use fastintercom_plugin_sdk::{Envelope, NoArgs, Stopwatch, ToolError, TypedTool, format_unix};
use schemars::JsonSchema;
use serde::Serialize;

/// The `list_plugins` tool.
pub struct ListPlugins;

impl TypedTool for ListPlugins {
    const NAME: &'static str = "list_plugins";
    const TITLE: &'static str = "List plugins";
    const DESCRIPTION: &'static str = "Lists the plugins this server runs (built-in and installed), the tools \
        each provides, the host interfaces each is granted, whether it is signed, how its calls went since it \
        was loaded (calls, errors, traps, timeouts, throttled), and, for a plugin whose newest version could not \
        be served, why (the previous version keeps serving meanwhile). Use it when a tool is missing, behaves \
        like an older version, or fails often.";

    type Args = NoArgs;
    type Output = Envelope<PluginRow>;

    fn run(_args: NoArgs) -> Result<Envelope<PluginRow>, ToolError> {
        let mut watch = Stopwatch::new();
        let statuses = watch.time(plugins::list_plugins);
        let rows: Vec<PluginRow> = statuses.into_iter().map(PluginRow::from).collect();
        let total = rows.len() as u64;
        Ok(Envelope::new(rows).total(total).query_ms(watch.ms()))
    }
}

/// One plugin as the tool shows it.
#[derive(Serialize, JsonSchema)]
pub struct PluginRow {
    /// The plugin's name.
    name: String,
    /// "builtin" or "directory".
    origin: &'static str,
    /// "serving" (newest version served), "stale" (an older version serves; see `problem`) or "refused".
    state: &'static str,
    /// Version being served, from its manifest.
    version: Option<String>,
    /// sha256 of the served component.
    digest: Option<String>,
    /// Tools it provides.
    tools: Vec<String>,
    /// Host interfaces it is granted.
    grants: Vec<String>,
    /// Whether a key the operator trusts signed it.
    signed: bool,
    /// When the served version was loaded (RFC 3339).
    loaded_at: Option<String>,
    /// Why its newest version is not served.
    problem: Option<String>,
    calls: u64,
    errors: u64,
    traps: u64,
    timeouts: u64,
    throttled: u64,
}

impl From<PluginStatus> for PluginRow {
    fn from(status: PluginStatus) -> Self {
        let state = match (&status.version, &status.problem) {
            (Some(_), None) => "serving",
            (Some(_), Some(_)) => "stale",
            (None, _) => "refused",
        };
        let counters = status.counters;
        PluginRow {
            name: status.name,
            origin: match status.origin {
                PluginOrigin::Builtin => "builtin",
                PluginOrigin::Directory => "directory",
            },
            state,
            version: status.version,
            digest: status.digest,
            tools: status.tools,
            grants: status.grants,
            signed: status.signed,
            loaded_at: status.loaded_at.map(format_unix),
            problem: status.problem,
            calls: counters.calls,
            errors: counters.errors,
            traps: counters.traps,
            timeouts: counters.timeouts,
            throttled: counters.throttled,
        }
    }
}

fastintercom_plugin_sdk::export_plugin!(ListPlugins);

//! `plugins` (contract 0.2.0): the plugins this host serves, their state and counters, read from the board the
//! registry publishes. Nothing here reveals file paths or host internals: names, versions, digests, tool names,
//! grants and the reasons a version was refused (which name the plugin's own problem, never a path).

use super::HostApi;
use crate::bindings::plugins::{Host, PluginCounters, PluginOrigin, PluginStatus};
use crate::runtime;

impl Host for HostApi {
    async fn list_plugins(&mut self) -> Vec<PluginStatus> {
        self.board.snapshot().iter().map(status).collect()
    }
}

fn status(entry: &runtime::PluginStatus) -> PluginStatus {
    let served = entry.served.as_deref();
    let [calls, errors, traps, timeouts, throttled] = served.map_or([0; 5], |plugin| plugin.counters.read());
    let mut tools: Vec<String> = served.map(|p| p.tools.iter().map(|t| t.name.clone()).collect()).unwrap_or_default();
    tools.sort_unstable();
    PluginStatus {
        name: entry.name.clone(),
        origin: match entry.origin {
            runtime::PluginOrigin::Builtin => PluginOrigin::Builtin,
            runtime::PluginOrigin::Directory => PluginOrigin::Directory,
        },
        version: served.map(|p| p.manifest.version.clone()),
        digest: served.map(|p| p.digest.clone()),
        tools,
        grants: served.map(|p| p.manifest.grants.iter().map(|g| g.name().to_owned()).collect()).unwrap_or_default(),
        problem: entry.problem.clone(),
        signed: served.is_some_and(|p| p.signed),
        loaded_at: served.map(|p| p.loaded_at),
        counters: PluginCounters { calls, errors, traps, timeouts, throttled },
    }
}

//! What the host serves, as plugins may see it through the `plugins` interface (contract 0.2.0) and operators
//! through `fastintercom plugins list` and the `list_plugins` tool.
//!
//! The registry publishes a new board each time it changes what it serves; readers take a snapshot.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::LoadedPlugin;

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginOrigin {
    /// Compiled into the binary.
    Builtin,
    /// `<name>.wasm` + `<name>.toml` in the plugins directory.
    Directory,
}

/// One plugin: the version served (if any) and why the newest version on disk is not it (if so).
#[derive(Debug, Clone)]
pub struct PluginStatus {
    pub name: String,
    pub origin: PluginOrigin,
    pub served: Option<Arc<LoadedPlugin>>,
    /// Why the newest version on disk was refused; the served version, if any, is an older one.
    pub problem: Option<String>,
}

/// The latest published list of plugins, built-in ones first, then by name.
#[derive(Debug, Default)]
pub struct PluginBoard {
    current: ArcSwap<Vec<PluginStatus>>,
}

impl PluginBoard {
    pub fn publish(&self, statuses: Vec<PluginStatus>) {
        self.current.store(Arc::new(statuses));
    }

    pub fn snapshot(&self) -> Arc<Vec<PluginStatus>> {
        self.current.load_full()
    }
}

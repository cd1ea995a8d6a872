//! What the registry knows about each plugin between reloads: the built-ins, and per file of the plugins
//! directory the newest version seen on disk (loaded, or why not) and the version served before it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::trust::TrustPolicy;
use super::{DirectoryEntry, RegistryError};
use crate::runtime::{LoadedPlugin, PluginOrigin, PluginStatus, Runtime};

/// The registry's memory of loaded plugins.
#[derive(Default)]
pub(super) struct Catalog {
    pub(super) builtins: Vec<Arc<LoadedPlugin>>,
    /// By name (the file stem).
    directory: BTreeMap<String, DirectoryPlugin>,
}

/// One plugin of the plugins directory.
struct DirectoryPlugin {
    /// Identity of the newest files seen (see `PluginSource::identity`); `None` when they could not be read.
    identity: Option<String>,
    /// The newest files, loaded, or why they could not be.
    newest: Result<Arc<LoadedPlugin>, String>,
    /// What was served before the newest files arrived, kept while `newest` cannot be served.
    previous: Option<Arc<LoadedPlugin>>,
}

impl DirectoryPlugin {
    fn is_new(&self) -> bool {
        match (&self.newest, &self.previous) {
            (Ok(newest), Some(previous)) => !Arc::ptr_eq(newest, previous),
            (Ok(_), None) => true,
            (Err(_), _) => false,
        }
    }
}

impl Catalog {
    /// Brings the directory part up to date with `entries`: loads what is new or changed (in `entries` order),
    /// keeps the rest, and forgets plugins whose files are gone.
    pub(super) async fn update(&mut self, runtime: &Runtime, entries: Vec<DirectoryEntry>, trust: &TrustPolicy) {
        let mut next = BTreeMap::new();
        for entry in entries {
            let known = self.directory.remove(&entry.name);
            let plugin = match (entry.source, known) {
                (Ok(source), Some(known)) if known.identity.as_deref() == Some(source.identity.as_str()) => known,
                (Ok(source), known) => {
                    let previous = known.and_then(|known| known.served());
                    let identity = Some(source.identity.clone());
                    let newest = match runtime.load(source.wasm, source.manifest).await {
                        Ok(mut loaded) => {
                            loaded.signed = source.signer.is_some();
                            loaded.signer = source.signer;
                            for note in &loaded.notes {
                                tracing::warn!(plugin = %entry.name, "{note}");
                            }
                            Ok(Arc::new(loaded))
                        }
                        Err(error) => Err(RegistryError::from(error).to_string()),
                    };
                    DirectoryPlugin { identity, newest, previous }
                }
                // Files that cannot be read (half written, say) leave the served version in place if the trust
                // policy still accepts its signer; files the policy refuses withdraw it, so a revoked key or a newly
                // required signature takes effect now.
                (Err(error), known) => DirectoryPlugin {
                    identity: None,
                    previous: match error {
                        RegistryError::Untrusted { .. } => None,
                        _ => known
                            .and_then(|known| known.served())
                            .filter(|served| trust.still_trusts(served.signer.as_deref())),
                    },
                    newest: Err(error.to_string()),
                },
            };
            next.insert(entry.name, plugin);
        }
        for name in self.directory.keys() {
            tracing::info!(plugin = %name, "plugin removed from the plugins directory; its tools are withdrawn");
        }
        self.directory = next;
    }

    /// The sha256 digests of every component loaded (built-in, served, or newest on disk): the compiled-component
    /// cache keeps their artefacts.
    pub(super) fn digests(&self) -> std::collections::HashSet<String> {
        let directory =
            self.directory.values().flat_map(|plugin| [plugin.newest.as_ref().ok(), plugin.previous.as_ref()]);
        self.builtins.iter().map(Some).chain(directory).flatten().map(|plugin| plugin.digest.clone()).collect()
    }

    /// Forgets the identity of files whose load failed, so the next update tries them again.
    pub(super) fn forget_failures(&mut self) {
        for plugin in self.directory.values_mut() {
            if plugin.newest.is_err() {
                plugin.identity = None;
            }
        }
    }

    /// Decides what is served: the built-ins, then each directory plugin's newest version, or its previous one
    /// when the newest failed or would take a tool name already served. Plugins serving unchanged keep their
    /// names; newcomers cannot take them. Returns the served plugins, the board and one message per refusal.
    pub(super) fn assemble(&mut self) -> (Vec<Arc<LoadedPlugin>>, Vec<PluginStatus>, Vec<String>) {
        let mut served: Vec<Arc<LoadedPlugin>> = self.builtins.clone();
        let mut owners: HashMap<String, String> = HashMap::new();
        for plugin in &served {
            claim(&mut owners, plugin);
        }
        let mut statuses: Vec<PluginStatus> = self
            .builtins
            .iter()
            .map(|plugin| PluginStatus {
                name: plugin.manifest.name.clone(),
                origin: PluginOrigin::Builtin,
                served: Some(plugin.clone()),
                problem: None,
            })
            .collect();
        let builtin_names: Vec<String> = self.builtins.iter().map(|plugin| plugin.manifest.name.clone()).collect();
        let mut rejected = Vec::new();
        let mut retired = Vec::new();
        // Who keeps a tool name when two plugins want it: plugins serving unchanged first, then new versions of
        // plugins already served, then newcomers.
        let (unchanged, changed): (Vec<_>, Vec<_>) =
            self.directory.iter_mut().partition(|(_, plugin)| !plugin.is_new());
        let (updates, newcomers): (Vec<_>, Vec<_>) =
            changed.into_iter().partition(|(_, plugin)| plugin.previous.is_some());
        let mut directory_statuses = Vec::new();
        for (name, plugin) in unchanged.into_iter().chain(updates).chain(newcomers) {
            if builtin_names.contains(name) {
                // A built-in's name would also share its warm instance policy and its metrics.
                let problem = format!("the name {name:?} belongs to a built-in plugin; choose another");
                rejected.push(format!("{name}: {problem}"));
                directory_statuses.push(PluginStatus {
                    name: name.clone(),
                    origin: PluginOrigin::Directory,
                    served: None,
                    problem: Some(problem),
                });
                continue;
            }
            let mut problem = plugin.newest.as_ref().err().cloned();
            let mut choice = None;
            let candidates = [plugin.newest.as_ref().ok(), plugin.previous.as_ref()];
            for candidate in candidates.into_iter().flatten() {
                match collision(&owners, candidate) {
                    None => {
                        choice = Some(candidate.clone());
                        break;
                    }
                    Some(message) if problem.is_none() => problem = Some(message),
                    Some(_) => {}
                }
            }
            if let Some(chosen) = &choice {
                claim(&mut owners, chosen);
                served.push(chosen.clone());
            }
            if let Some(problem) = &problem {
                let keeps = match &choice {
                    Some(chosen) => format!("; version {} keeps serving", chosen.manifest.version),
                    None => String::new(),
                };
                tracing::error!(plugin = %name, "plugin not updated: {problem}{keeps}");
                rejected.push(format!("{name}: {problem}{keeps}"));
            }
            if let Some(previous) = &plugin.previous
                && !choice.as_ref().is_some_and(|chosen| Arc::ptr_eq(chosen, previous))
            {
                retired.push(previous.clone());
            }
            plugin.previous = choice.clone();
            directory_statuses.push(PluginStatus {
                name: name.clone(),
                origin: PluginOrigin::Directory,
                served: choice,
                problem,
            });
        }
        directory_statuses.sort_by(|a, b| a.name.cmp(&b.name));
        statuses.extend(directory_statuses);
        // A version no longer served keeps no warm instances: they would hold allocator slots reserved for the
        // version that replaced it.
        for plugin in retired {
            plugin.retire();
        }
        (served, statuses, rejected)
    }
}

impl DirectoryPlugin {
    /// The version that was being served.
    fn served(self) -> Option<Arc<LoadedPlugin>> {
        self.previous
    }
}

fn claim(owners: &mut HashMap<String, String>, plugin: &LoadedPlugin) {
    for tool in &plugin.tools {
        owners.insert(tool.name.clone(), plugin.manifest.name.clone());
    }
}

/// Why `plugin` cannot be served next to the tools already claimed, if it cannot.
fn collision(owners: &HashMap<String, String>, plugin: &LoadedPlugin) -> Option<String> {
    plugin.tools.iter().find_map(|tool| {
        owners.get(&tool.name).map(|owner| {
            RegistryError::NameCollision {
                tool: tool.name.clone(),
                first: owner.clone(),
                second: plugin.manifest.name.clone(),
            }
            .to_string()
        })
    })
}

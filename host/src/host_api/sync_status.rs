//! `sync-status`: how fresh the local copy is, as a whole and per synced resource.

use super::HostApi;
use crate::bindings::sync_status::{DataFreshness, Host, ResourceStatus};
use crate::store::ResourceState;
use crate::store::model::Counts;
use crate::sync::{self, RESOURCES};

impl Host for HostApi {
    async fn freshness(&mut self) -> DataFreshness {
        match self.store.freshness().await {
            Ok(freshness) => DataFreshness { last_synced_at: freshness.last_synced_at, source: freshness.source },
            Err(error) => {
                tracing::error!(plugin = &*self.plugin, %error, "reading freshness failed");
                DataFreshness { last_synced_at: None, source: "unknown".to_owned() }
            }
        }
    }

    async fn resources(&mut self) -> Vec<ResourceStatus> {
        let (states, counts) = match (self.store.sync_states().await, self.store.counts().await) {
            (Ok(states), Ok(counts)) => (states, counts),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(plugin = &*self.plugin, %error, "reading the sync status failed");
                return Vec::new();
            }
        };
        let now = sync::unix_now();
        RESOURCES
            .iter()
            .map(|name| {
                let state = states.iter().find(|s| s.resource == *name).cloned().unwrap_or_default();
                status(name, &state, &counts, now)
            })
            .collect()
    }
}

fn status(name: &str, state: &ResourceState, counts: &Counts, now: i64) -> ResourceStatus {
    let stored_items = match name {
        sync::ADMINS => Some(counts.admins),
        sync::TEAMS => Some(counts.teams),
        sync::TAGS => Some(counts.tags),
        sync::CONTACTS => Some(counts.contacts),
        sync::COMPANIES => Some(counts.companies),
        sync::CONVERSATIONS => Some(counts.conversations),
        _ => None,
    };
    ResourceStatus {
        resource: name.to_owned(),
        last_success_at: state.last_success_at,
        lag_seconds: state.last_success_at.map(|at| (now - at).max(0)),
        last_run_items: state.last_run_items,
        stored_items,
        last_error: state.last_error.clone(),
        last_error_at: state.last_error_at,
        interrupted: state.run.is_some(),
    }
}

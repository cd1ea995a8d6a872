//! `sync-status`: how fresh the local copy is, as a whole and per synced resource.

use super::HostApi;
use crate::bindings::sync_status::{DataFreshness, Host, ResourceStatus};
use crate::store::ResourceState;
use crate::store::model::Counts;
use crate::sync;

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
        let (states, counts) = match (sync::resource_states(&self.store).await, self.store.counts().await) {
            (Ok(states), Ok(counts)) => (states, counts),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(plugin = &*self.plugin, %error, "reading the sync status failed");
                return Vec::new();
            }
        };
        let now = sync::unix_now();
        states.iter().map(|state| status(state, &counts, now)).collect()
    }
}

fn status(state: &ResourceState, counts: &Counts, now: i64) -> ResourceStatus {
    let stored_items = match state.resource.as_str() {
        sync::ADMINS => Some(counts.admins),
        sync::TEAMS => Some(counts.teams),
        sync::TAGS => Some(counts.tags),
        sync::CONTACTS => Some(counts.contacts),
        sync::COMPANIES => Some(counts.companies),
        sync::CONVERSATIONS => Some(counts.conversations),
        _ => None,
    };
    ResourceStatus {
        resource: state.resource.clone(),
        last_success_at: state.last_success_at,
        lag_seconds: state.last_success_at.map(|at| (now - at).max(0)),
        last_run_items: state.last_run_items,
        stored_items,
        last_error: state.last_error.clone(),
        last_error_at: state.last_error_at,
        interrupted: state.run.is_some(),
    }
}

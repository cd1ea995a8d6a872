//! `sync-status`: how fresh the local copy is.

use super::HostApi;
use crate::bindings::sync_status::{DataFreshness, Host};

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
}

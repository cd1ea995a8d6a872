//! The background sync of `fastintercom serve`: one run at start, then one every interval, never overlapping.
//!
//! Queries never wait on it: the store's readers keep answering from the last committed data while a run writes.

use std::time::Duration;

use super::{NoProgress, SyncEngine, SyncOptions};

/// Runs the sync now and then every `every`, until the token is rejected (retrying would only repeat the failure,
/// so it is reported once and the server keeps serving the data it has). Other failures are retried next time.
pub async fn run_periodically(engine: SyncEngine, options: SyncOptions, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match engine.run(&options, &NoProgress).await {
            Ok(report) => tracing::info!(
                requests = report.requests,
                elapsed_ms = report.elapsed.as_millis() as u64,
                written = report.resources.iter().map(|r| r.written).sum::<u64>(),
                deleted = report.resources.iter().map(|r| r.deleted).sum::<u64>(),
                "sync completed"
            ),
            Err(error) if error.is_fatal() => {
                tracing::error!(%error, "sync stopped; serving the local copy as it is");
                return;
            }
            Err(error) => tracing::warn!(%error, retry_in = ?every, "sync failed; will retry"),
        }
    }
}

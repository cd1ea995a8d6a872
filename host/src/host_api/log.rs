//! `log`: plugin messages into the host's log, attributed and bounded.

use super::{HostApi, LOG_BUDGET_PER_CALL};
use crate::bindings::log::{Host, Level};

/// Longest single message kept; longer ones are cut.
const MAX_MESSAGE_BYTES: usize = 4096;

impl Host for HostApi {
    async fn log(&mut self, level: Level, message: String) {
        if self.log_budget == 0 {
            return;
        }
        let mut message = message;
        truncate_at_char_boundary(&mut message, MAX_MESSAGE_BYTES.min(self.log_budget));
        self.log_budget -= message.len();
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
        if self.log_budget == 0 {
            tracing::warn!(
                plugin,
                "plugin used its log budget of {LOG_BUDGET_PER_CALL} bytes for this call; further messages dropped"
            );
        }
    }
}

pub(crate) fn truncate_at_char_boundary(text: &mut String, max_bytes: usize) {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

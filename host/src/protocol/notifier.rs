//! Telling connected clients that the tool list changed. rmcp has no "notify every session" call, so the server
//! keeps its own list of recipients: legacy peers (captured at `notifications/initialized`, stdio or an HTTP
//! session) and 2026-07-28 `subscriptions/listen` streams (for as long as each stays open).

use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::service::{Peer, SubscriptionSink};

use crate::registry::Registry;

#[derive(Default)]
pub struct Notifier {
    legacy: Mutex<Vec<Peer<RoleServer>>>,
    listeners: Mutex<Vec<SubscriptionSink>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("recipients", &self.recipients()).finish()
    }
}

impl Notifier {
    pub fn add_peer(&self, peer: Peer<RoleServer>) {
        let mut legacy = self.legacy.lock().expect("notifier lock");
        legacy.retain(|peer| !peer.is_transport_closed());
        legacy.push(peer);
    }

    pub fn add_listener(&self, sink: SubscriptionSink) {
        self.listeners.lock().expect("notifier lock").push(sink);
    }

    pub fn remove_listener(&self, sink: &SubscriptionSink) {
        self.listeners.lock().expect("notifier lock").retain(|s| s.id() != sink.id());
    }

    /// Legacy sessions still open plus listen streams: the clients a list_changed would reach.
    pub fn recipients(&self) -> usize {
        let legacy = self.legacy.lock().expect("notifier lock").iter().filter(|p| !p.is_transport_closed()).count();
        legacy + self.listeners.lock().expect("notifier lock").len()
    }

    /// Sends `notifications/tools/list_changed` to every recipient; a closed one is dropped from the list.
    pub async fn tools_changed(&self) {
        let peers: Vec<Peer<RoleServer>> = {
            let mut legacy = self.legacy.lock().expect("notifier lock");
            legacy.retain(|peer| !peer.is_transport_closed());
            legacy.clone()
        };
        for peer in peers {
            if let Err(error) = peer.notify_tool_list_changed().await {
                tracing::debug!(%error, "a session did not take list_changed");
            }
        }
        let sinks: Vec<SubscriptionSink> = self.listeners.lock().expect("notifier lock").clone();
        for sink in sinks {
            if sink.notify_tool_list_changed().await.is_err() {
                self.remove_listener(&sink);
            }
        }
    }

    /// Forwards every change of `registry`'s tool set to the recipients, until the registry is dropped.
    pub fn follow(self: &Arc<Self>, registry: &Registry) {
        let mut changes = registry.changes();
        let notifier = Arc::clone(self);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                tracing::info!(recipients = notifier.recipients(), "tool list changed; notifying clients");
                notifier.tools_changed().await;
            }
        });
    }
}

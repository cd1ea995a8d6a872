//! The store's bookkeeping beside the workspace, on both backends: the webhook inbox (deduplicated, due by time,
//! retried, given up, pruned) and plugins installed into the store (replaced, listed, removed, read within
//! bounds). Neither advances the data generation.

use fastintercom::store::WebhookRefresh;

use crate::support::{Backend, empty_store_on, on_both_backends};

async fn the_webhook_inbox_keeps_each_delivery_once_until_it_is_applied_or_given_up(backend: Backend) {
    let (_db, store) = empty_store_on(backend).await;
    let generation = store.data_generation().await.unwrap();
    let conversation = WebhookRefresh::Conversation("17".to_owned());
    let contact = WebhookRefresh::Contact("c-9".to_owned());
    assert!(store.accept_webhook("notif_a", &conversation, 1_000).await.unwrap());
    assert!(!store.accept_webhook("notif_a", &conversation, 1_500).await.unwrap(), "a redelivery is not new");
    assert!(store.accept_webhook("notif_b", &contact, 2_000).await.unwrap());
    for hostile in ["", "a b", "ü", "x\0y"] {
        assert!(store.accept_webhook(hostile, &contact, 2_000).await.is_err(), "{hostile:?}");
    }
    assert!(store.accept_webhook("notif_c", &WebhookRefresh::Contact("x".repeat(257)), 1).await.is_err());

    let due = |at| {
        let store = store.clone();
        async move {
            let pending = store.pending_webhooks(at, 10).await.unwrap();
            pending.into_iter().map(|p| (p.notification_id, p.attempts)).collect::<Vec<_>>()
        }
    };
    assert_eq!(due(999).await, []);
    assert_eq!(due(1_000).await, [("notif_a".to_owned(), 0)]);
    assert_eq!(due(5_000).await, [("notif_a".to_owned(), 0), ("notif_b".to_owned(), 0)]);

    // A failure puts the delivery back for later; others are due meanwhile.
    store.webhook_failed("notif_a", "Intercom answered 500", 9_000, None).await.unwrap();
    assert_eq!(due(5_000).await, [("notif_b".to_owned(), 0)]);
    assert_eq!(due(9_000).await, [("notif_b".to_owned(), 0), ("notif_a".to_owned(), 1)]);
    store.webhook_applied("notif_b", 6_000).await.unwrap();
    store.webhook_failed("notif_a", "Intercom answered 500", 9_500, Some(9_500)).await.unwrap();
    assert_eq!(due(i64::MAX).await, [], "applied and given up are done");
    assert!(!store.accept_webhook("notif_b", &contact, 7_000).await.unwrap(), "still recognised once applied");

    assert_eq!(store.prune_webhooks(7_000).await.unwrap(), 1, "the one done before 7 s");
    assert!(store.accept_webhook("notif_b", &contact, 8_000).await.unwrap(), "forgotten once pruned");
    assert_eq!(store.data_generation().await.unwrap(), generation, "the inbox is not workspace data");
    store.close().await;
}

async fn plugins_installed_into_the_store_are_replaced_listed_and_removed(backend: Backend) {
    let (_db, store) = empty_store_on(backend).await;
    let generation = store.data_generation().await.unwrap();
    assert_eq!(store.plugin_identities().await.unwrap(), []);
    store.install_plugin("zeta", (b"\0asm-z", "name = \"zeta\"", None), "z1", 1).await.unwrap();
    store.install_plugin("alpha", (b"\0asm-a", "name = \"alpha\"", Some("sig")), "a1", 1).await.unwrap();
    store.install_plugin("zeta", (b"\0asm-z2", "name = \"zeta\"", None), "z2", 2).await.unwrap();
    let identities = store.plugin_identities().await.unwrap();
    let expected = [("alpha".to_owned(), "a1".to_owned()), ("zeta".to_owned(), "z2".to_owned())];
    assert_eq!(identities, expected, "by name, the newest install of each");

    let plugins = store.stored_plugins(1 << 20, 1 << 16).await.unwrap();
    assert_eq!(plugins[0].component.as_deref(), Some(&b"\0asm-a"[..]));
    assert_eq!(plugins[0].signature.as_deref(), Some("sig"));
    assert_eq!(plugins[1].component.as_deref(), Some(&b"\0asm-z2"[..]));
    // Over the reader's bounds: not read at all.
    let bounded = store.stored_plugins(5, 13).await.unwrap(); // zeta's manifest has 13 bytes, alpha's 14
    assert_eq!((bounded[0].component.as_deref(), bounded[0].manifest.as_deref()), (None, None));
    assert_eq!(bounded[1].manifest.as_deref(), Some("name = \"zeta\""));

    assert!(store.remove_plugin("zeta").await.unwrap());
    assert!(!store.remove_plugin("zeta").await.unwrap());
    assert_eq!(store.plugin_identities().await.unwrap().len(), 1);
    assert_eq!(store.data_generation().await.unwrap(), generation, "plugins are not workspace data");
    store.close().await;
}

on_both_backends!(
    the_webhook_inbox_keeps_each_delivery_once_until_it_is_applied_or_given_up,
    plugins_installed_into_the_store_are_replaced_listed_and_removed,
);

//! The built-in conversation tools, `search_conversations` and `get_conversation`, as one WebAssembly component.
//!
//! The logic is only argument handling and presentation: the host's `conversations` interface does the
//! searching, so these tools stay small, fast to instantiate, and replaceable by a third-party plugin with the
//! same contract. Imports: `conversations`, `sync-status`, and `directory` to turn a team's or an admin's name
//! into its id (see `plugin.toml`).

mod get;
mod more;
mod render;
mod search;

fastintercom_plugin_sdk::export_plugin!(search::SearchConversations, get::GetConversation);

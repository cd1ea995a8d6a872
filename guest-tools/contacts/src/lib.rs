//! The built-in contact tools, `search_contacts` and `get_contact`, as one WebAssembly component.
//!
//! Only argument handling and presentation live here; the host's `contacts` interface does the searching.
//! Imports: `contacts` and `sync-status` (see `plugin.toml`) — never `conversations`, so this component keeps
//! working for a deployment that grants contacts only.

mod get;
mod render;
mod search;

fastintercom_plugin_sdk::export_plugin!(search::SearchContacts, get::GetContact);

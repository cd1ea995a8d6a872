//! What a fastintercom plugin author uses: the bindings of the plugin contract (world `plugin@0.5.0`: 0.1.0's
//! world, the `plugins` interface of 0.2.0, the bounded `conversations` search of 0.3.0, the `directory` and
//! `get-many` of 0.4.0 and the `analytics` of 0.5.0; see `wit/README.md`),
//! two ways to write a tool — a typed function ([`TypedTool`]) or the raw [`Tool`] trait — with
//! [`export_plugin!`], and the helpers every tool needs — argument parsing with model-readable errors ([`Args`],
//! [`parse_args`]), timestamps ([`parse_time`], [`format_unix`], [`Timeframe`]), a [`Stopwatch`] for `query_ms`,
//! and the standard answer [`Envelope`].
//!
//! # Typed tools
//!
//! A [`TypedTool`] is a function from a `Deserialize + JsonSchema` arguments struct to a `Serialize + JsonSchema`
//! answer; the SDK derives the input and output schemas (JSON Schema 2020-12, with `schemars`), the descriptor,
//! the argument parsing (errors name the field) and the answer (structured JSON, repeated as the text block).
//! The plugin crate depends on `serde` (with `derive`) and `schemars = "1"`. See the [`typed`] module for
//! the details.
//!
//! ```no_run
//! use fastintercom_plugin_sdk::conversations::{self, ConversationFilter, ConversationSort};
//! use fastintercom_plugin_sdk::{Envelope, ToolError, TypedTool, freshness, types::PageRequest};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// Which conversations to count.
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct CountArgs {
//!     /// Only conversations with any of these tags.
//!     #[serde(default)]
//!     tags: Vec<String>,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Count {
//!     /// How many conversations match.
//!     conversations: u64,
//! }
//!
//! struct CountConversations;
//!
//! impl TypedTool for CountConversations {
//!     const NAME: &'static str = "count_conversations";
//!     const TITLE: &'static str = "Count conversations";
//!     const DESCRIPTION: &'static str = "Counts the conversations, optionally only those with given tags.";
//!     type Args = CountArgs;
//!     type Output = Envelope<Count>;
//!
//!     fn run(args: CountArgs) -> Result<Envelope<Count>, ToolError> {
//!         let filter = ConversationFilter { tags: args.tags, ..Default::default() };
//!         let first = PageRequest { limit: 1, cursor: None };
//!         let page = conversations::search(&filter, ConversationSort::Newest, &first)?; // host errors convert with `?`
//!         Ok(Envelope::new(vec![Count { conversations: page.total }]).freshness(&freshness()))
//!     }
//! }
//!
//! fastintercom_plugin_sdk::export_plugin!(CountConversations);
//! # fn main() {}
//! ```
//!
//! # Hand-written tools
//!
//! The raw [`Tool`] trait takes the arguments as text and returns a [`ToolOutput`], with the schemas written by
//! hand (the built-in tools do this). Both kinds go in the same [`export_plugin!`] list.
//!
//! ```ignore
//! use fastintercom_plugin_sdk::{self as sdk, Args, Envelope, Tool, ToolDescriptor, ToolError, ToolOutput};
//!
//! struct CountOpen;
//!
//! impl Tool for CountOpen {
//!     const NAME: &'static str = "count_open";
//!     fn describe() -> ToolDescriptor { /* ToolDescriptor::read_only(...) */ }
//!     fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
//!         let args = Args::parse(arguments)?;
//!         let page = sdk::conversations::search(&filter, sort, &page)?; // host errors convert with `?`
//!         Ok(Envelope::new(results).total(page.total).into_output())
//!     }
//! }
//!
//! sdk::export_plugin!(CountOpen);
//! ```
//!
//! # Imports stay minimal
//!
//! A component imports only the host interfaces its code can reach (the linker drops unused imports and
//! wit-component leaves them out of the component), and the host refuses a component importing an interface its
//! manifest does not grant. So nothing in this crate that every plugin links calls a host interface on its own:
//! the only host call here is [`freshness`], which a tool calls explicitly.

// The export macro of the generated bindings names this crate by its path, also from inside this crate.
extern crate self as fastintercom_plugin_sdk;

mod args;
mod detail;
mod envelope;
pub mod names;
mod time;
mod tool;
pub mod typed;

/// The generated bindings of world `plugin`. Public for [`export_plugin!`]; use the re-exports below instead.
#[doc(hidden)]
#[allow(unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        // The newest contract; it includes every 0.1.0 interface unchanged. A component imports only what its code
        // calls, so a plugin that never calls `plugins` is exactly what a 0.1.0 build would have been.
        world: "fastintercom:plugin/plugin@0.5.0",
        path: ["../../wit/0.1.0", "../../wit/0.2.0", "../../wit/0.3.0", "../../wit/0.4.0", "../../wit/0.5.0"],
        // The 0.1.0 interfaces come from another package (version) than the world: generate them too.
        generate_all,
        // `pub` so that the guest crates, not this one, export the `tool` interface (through `export_plugin!`).
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "::fastintercom_plugin_sdk::bindings",
        // Guests need not depend on wit-bindgen themselves.
        runtime_path: "::fastintercom_plugin_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

/// The `schemars` the SDK derives schemas with, for `#[schemars(crate = "fastintercom_plugin_sdk::schemars")]`
/// in a crate that would rather not depend on `schemars` itself.
pub use schemars;

/// The types of the exported `tool` interface.
pub use bindings::exports::fastintercom::plugin0_1_0::tool::{
    Annotations, ContentBlock, ToolDescriptor, ToolError, ToolOutput,
};
/// Host interface: search and get contacts.
pub use bindings::fastintercom::plugin0_1_0::contacts;
/// Host interface (0.1.0): the same, with a search that counts every match exactly and ranks every one, however
/// long that takes.
pub use bindings::fastintercom::plugin0_1_0::conversations as conversations_exact;
/// Host interface: write to the host's log (`log::log(log::Level::Info, "...")`).
pub use bindings::fastintercom::plugin0_1_0::log;
/// Host interface: freshness of the local copy (prefer [`freshness`]).
pub use bindings::fastintercom::plugin0_1_0::sync_status;
/// Types shared by the host interfaces (`HostError`, `PageRequest`, `Author`).
pub use bindings::fastintercom::plugin0_1_0::types;
/// Host interface (since 0.2.0): the plugins this host serves, their state and counters. Needs the `plugins`
/// grant.
pub use bindings::fastintercom::plugin0_2_0::plugins;
/// Host interface (0.4.0): search and get conversations, and `get_many` (up to 100 threads in one call). Its
/// search counts and ranks within bounds and says so (`total_is_estimate`, `ranked_matches`; from 0.3.0); the
/// records are 0.1.0's.
pub use bindings::fastintercom::plugin0_4_0::conversations;
/// Host interface (since 0.4.0): tags, teams, admins and companies by id or by a piece of the name. Needs the
/// `directory` grant.
pub use bindings::fastintercom::plugin0_4_0::directory;
/// Host interface (since 0.5.0): counts and distributions over conversations, computed by the host in one
/// statement. Needs the `analytics` grant.
pub use bindings::fastintercom::plugin0_5_0::analytics;
/// Host interface (0.5.0): conversation search over an analytics `Scope` (the rating, the company, the last
/// close, Intercom's timing figures), with 0.4.0's `get` and `get_many`. Needs the `conversations` grant, and
/// `analytics` for the scope's type.
pub use bindings::fastintercom::plugin0_5_0::conversations as conversations_scoped;

pub use args::{Args, parse_args, shown};
pub use detail::{AtDetail, Detail, Shown, shorten};
pub use envelope::{Envelope, Filters, envelope_output_schema, schema};
pub use time::{
    DAY, MAX_UNIX, MIN_UNIX, Stopwatch, Timeframe, civil_from_days, days_from_civil, format_unix, now_unix, parse_time,
    parse_time_str,
};
pub use tool::{Tool, unknown_tool};
pub use typed::{NoArgs, TypedTool, input_schema_of, output_schema_of};

/// Where the local data comes from and when it was last synced, for [`Envelope::freshness`]. Calling it makes
/// the component import `sync-status` (so its manifest must grant `"sync-status"`).
pub fn freshness() -> sync_status::DataFreshness {
    sync_status::freshness()
}

/// An empty filter matches everything; set only the conditions a tool needs (`..Default::default()`).
impl Default for conversations::ConversationFilter {
    fn default() -> Self {
        Self {
            text: None,
            states: Vec::new(),
            tags: Vec::new(),
            contact_id: None,
            admin_assignee_id: None,
            team_assignee_id: None,
            priorities: Vec::new(),
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
        }
    }
}

/// A scope of every conversation; set only the conditions a tool needs (`..Default::default()`).
impl Default for analytics::Scope {
    fn default() -> Self {
        Self {
            filter: conversations::ConversationFilter::default(),
            closed_after: None,
            closed_before: None,
            ratings: Vec::new(),
            company_id: None,
            figures: Vec::new(),
        }
    }
}

/// A summary of no values: nothing counted.
impl Default for analytics::Summary {
    fn default() -> Self {
        Self { count: 0, missing: 0, mean: None, min: None, p50: None, p90: None, p99: None, max: None }
    }
}

/// An empty filter matches every contact.
impl Default for contacts::ContactFilter {
    fn default() -> Self {
        Self { text: None, email: None, company: None }
    }
}

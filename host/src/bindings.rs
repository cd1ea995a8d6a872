//! Rust bindings of the plugin contract, generated at compile time from its newest world (`wit/0.5.0`), which
//! includes every released version's interfaces: a plugin built against any of them links against these.
//!
//! Kept crate-private: the rest of the host talks about tools, filters and records, and only `runtime` (which
//! instantiates plugins) and `host_api` (which implements the host interfaces) see generated types.

wasmtime::component::bindgen!({
    // Older versions first: each version's package depends on the ones before it.
    path: ["../wit/0.1.0", "../wit/0.2.0", "../wit/0.3.0", "../wit/0.4.0", "../wit/0.5.0"],
    world: "fastintercom:plugin/plugin@0.5.0",
    // Host functions query the store, which is async; guests still see ordinary blocking calls.
    imports: { default: async },
    exports: { default: async },
});

// With several versions of the package in one world, modules carry their version: `plugin0_1_0`, `plugin0_2_0`, ...
pub(crate) use self::exports::fastintercom::plugin0_1_0::tool;
pub(crate) use self::fastintercom::plugin0_1_0::{contacts, conversations, log, sync_status, types};
pub(crate) use self::fastintercom::plugin0_2_0::plugins;
/// `conversations@0.3.0`: the same records as `conversations` (0.1.0), with a page that can say its total is an
/// estimate.
pub(crate) use self::fastintercom::plugin0_3_0::conversations as conversations_bounded;
/// `conversations@0.4.0`: 0.3.0's search and get, plus `get-many`.
pub(crate) use self::fastintercom::plugin0_4_0::conversations as conversations_many;
/// `directory@0.4.0`: tags, teams, admins and companies by id or name.
pub(crate) use self::fastintercom::plugin0_4_0::directory;
/// `analytics@0.5.0`: counts and distributions over conversations.
pub(crate) use self::fastintercom::plugin0_5_0::analytics;
/// `conversations@0.5.0`: search over an analytics scope, and 0.4.0's get and get-many.
pub(crate) use self::fastintercom::plugin0_5_0::conversations as conversations_scoped;

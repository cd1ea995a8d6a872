//! Rust bindings of the plugin contract (`wit/0.1.0`), generated at compile time.
//!
//! Kept crate-private: the rest of the host talks about tools, filters and records, and only `runtime` (which
//! instantiates plugins) and `host_api` (which implements the host interfaces) see generated types.

wasmtime::component::bindgen!({
    path: "../wit/0.1.0",
    world: "plugin",
    // Host functions query the store, which is async; guests still see ordinary blocking calls.
    imports: { default: async },
    exports: { default: async },
});

pub(crate) use self::exports::fastintercom::plugin::tool;
pub(crate) use self::fastintercom::plugin::{contacts, conversations, log, sync_status, types};

//! fastintercom: a local-first MCP server for Intercom whose tools are sandboxed WebAssembly components.
//!
//! Layers, each depending only on the ones below it:
//! - [`http`]: Streamable HTTP, API keys ([`access`]), rate limits, probes and metrics ([`observability`]);
//! - [`protocol`]: MCP (rmcp) over stdio or HTTP, tools/list, tools/call and list_changed;
//! - [`registry`]: the loaded plugins and their tools, swapped atomically;
//! - [`runtime`]: wasmtime, one fresh sandboxed instance per call;
//! - [`host_api`]: the typed host interfaces plugins import;
//! - [`store`]: the local copy of the workspace (SQLite or PostgreSQL), the crate `fastintercom-store`.
//!
//! [`sync`] (the crate `fastintercom-sync`) keeps the store up to date with Intercom through the [`intercom`]
//! client (`fastintercom-intercom`).
//!
//! [`demo`] (`fastintercom-demo`) fills a store with a synthetic workspace for people without an Intercom token,
//! and [`fake_intercom`] serves one over Intercom's API for tests and benchmarks.

pub mod access;
mod bindings;
pub mod cli;
pub mod commands;
pub mod config;
/// The demo workspace and the fake Intercom that serves it, a crate of its own (`demo/`).
pub use fastintercom_demo as demo;
pub use fastintercom_demo::fake_intercom;
pub mod host_api;
pub mod http;
/// Intercom's REST API: a paced client and its typed models, a crate of its own (`intercom/`).
pub use fastintercom_intercom as intercom;
pub mod observability;
pub mod protocol;
pub mod registry;
pub mod runtime;
pub mod shared;
/// The copy of the workspace, a crate of its own (`store/`): SQLite or PostgreSQL behind one typed API.
pub use fastintercom_store as store;
/// The sync engine, a crate of its own (`sync/`).
pub use fastintercom_sync as sync;

//! The host side of the plugin contract: what a plugin's imports do.
//!
//! Each WIT interface is a capability, implemented in its own file beside this one and linked into a plugin's
//! linker only when its manifest grants it (see [`link_granted`]). Implementations hold nothing but a store
//! handle and the calling plugin's name: a plugin reaches data only through these typed calls.

mod contacts;
mod conversations;
mod log;
mod plugins;
mod sync_status;

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings;
use crate::runtime::{Capability, PluginBoard};
use crate::store::{Store, StoreError};

/// Everything one plugin call may touch, owned by that call's wasmtime `Store` and dropped with it.
pub struct CallState {
    pub(crate) api: HostApi,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: crate::runtime::CallLimiter,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The state behind the domain interfaces for one call.
pub struct HostApi {
    store: Store,
    plugin: Arc<str>,
    /// What the host serves, for the `plugins` interface.
    board: Arc<PluginBoard>,
    /// Bytes the plugin may still write to the host log during this call.
    log_budget: usize,
}

/// Most bytes of log messages one call may write; the rest is dropped with a single notice.
const LOG_BUDGET_PER_CALL: usize = 64 * 1024;

impl HostApi {
    pub fn new(store: Store, plugin: Arc<str>, board: Arc<PluginBoard>) -> Self {
        Self { store, plugin, board, log_budget: LOG_BUDGET_PER_CALL }
    }

    /// Resets what is budgeted per call, for a warm instance starting its next call.
    pub fn start_call(&mut self) {
        self.log_budget = LOG_BUDGET_PER_CALL;
    }
}

/// Adds to `linker` the host interfaces `grants` lists (and the shared `types` interface, which has no functions).
pub(crate) fn link_granted(linker: &mut Linker<CallState>, grants: &[Capability]) -> wasmtime::Result<()> {
    fn api(state: &mut CallState) -> &mut HostApi {
        &mut state.api
    }
    bindings::types::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?;
    for grant in grants {
        match grant {
            Capability::Log => bindings::log::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::SyncStatus => bindings::sync_status::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::Conversations => bindings::conversations::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::Contacts => bindings::contacts::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::Plugins => bindings::plugins::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
        }
    }
    Ok(())
}

impl bindings::types::Host for HostApi {}

/// Turns a store failure into what the plugin may see: argument errors verbatim, everything else logged here
/// and reported without details (no SQL, no paths).
fn host_error(plugin: &str, error: StoreError) -> bindings::types::HostError {
    use bindings::types::HostError;
    match error {
        StoreError::InvalidArgument(message) => HostError::InvalidArgument(message),
        StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => {
            tracing::warn!(plugin, "store unavailable for a plugin call");
            HostError::Unavailable("the local store is busy or shutting down; retry shortly".to_owned())
        }
        other => {
            tracing::error!(plugin, error = %other, "store error during a plugin call");
            HostError::Internal("the local store failed to answer; the server log has details".to_owned())
        }
    }
}

//! The host side of the plugin contract: what a plugin's imports do.
//!
//! Each WIT interface is a capability, implemented in its own file beside this one and linked into a plugin's
//! linker only when its manifest grants it (see [`link_granted`]). Implementations hold nothing but a store
//! handle and the calling plugin's name: a plugin reaches data only through these typed calls.
//!
//! Plugins are hostile: every function checks what it was given against the documented bounds ([`bounds`])
//! before doing any work, and reads the store under the call's deadline, which stops a query that runs past it.

mod analytics;
pub mod bounds;
mod contacts;
mod conversations;
mod directory;
mod log;
mod plugins;
mod sync_status;

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings;
use crate::runtime::{Capability, PluginBoard};
use crate::store::{Store, StoreError};

pub use log::LogRate;

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
    /// The store, reading under this call's deadline (see [`Self::start_call`]).
    store: Store,
    plugin: Arc<str>,
    /// What the host serves, for the `plugins` interface.
    board: Arc<PluginBoard>,
    /// Bytes the plugin may still write to the host log during this call.
    log_budget: usize,
    /// The plugin's log rate across calls (third-party plugins).
    log_rate: Option<Arc<LogRate>>,
    /// When the current call must end.
    deadline: Instant,
}

/// Most bytes of log messages one call may write; the rest is dropped with a single notice.
const LOG_BUDGET_PER_CALL: usize = 64 * 1024;

impl HostApi {
    pub fn new(store: Store, plugin: Arc<str>, board: Arc<PluginBoard>, log_rate: Option<Arc<LogRate>>) -> Self {
        Self { store, plugin, board, log_budget: LOG_BUDGET_PER_CALL, log_rate, deadline: Instant::now() }
    }

    /// Starts a call that must end by `deadline`: budgets back to full (a warm instance serves several calls),
    /// and store reads stopped at the deadline.
    pub fn start_call(&mut self, deadline: Instant) {
        self.log_budget = LOG_BUDGET_PER_CALL;
        self.deadline = deadline;
        self.store = self.store.until(deadline);
    }

    /// When the current call must end.
    pub fn deadline(&self) -> Instant {
        self.deadline
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
            // One grant, every version: 0.1.0 (exact totals), 0.3.0 (bounded, see `wit/0.3.0`), 0.4.0
            // (`get-many`) and 0.5.0 (search over an analytics scope).
            Capability::Conversations => {
                bindings::conversations::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?;
                bindings::conversations_bounded::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?;
                bindings::conversations_many::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?;
                bindings::conversations_scoped::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?;
            }
            Capability::Contacts => bindings::contacts::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::Plugins => bindings::plugins::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::Directory => bindings::directory::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
            Capability::Analytics => bindings::analytics::add_to_linker::<_, HasSelf<HostApi>>(linker, api)?,
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
        StoreError::DeadlineExceeded => {
            HostError::Unavailable("the query did not finish within the call's deadline".to_owned())
        }
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

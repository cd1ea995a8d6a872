//! How a run reports progress: the `sync` command draws bars from it, the background scheduler ignores it.

/// Receives progress events; every method defaults to doing nothing.
pub trait Progress: Send + Sync {
    /// `resource` started; `total` is how many items Intercom says it will list, when it says.
    fn start(&self, _resource: &'static str, _total: Option<u64>) {}
    /// `items` more of `resource` were listed and handled.
    fn advance(&self, _resource: &'static str, _items: u64) {}
    /// `resource` is done.
    fn finish(&self, _resource: &'static str) {}
}

/// Ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

//! Linear memory: each call's cap, and the total all third-party plugin calls may hold at once.
//!
//! The per-call cap alone let two calls of a plugin whose manifest asked for 4 GiB take 8 GB of the host. Every
//! growth of a plugin call's memory is therefore also taken from one shared budget, and given back when the call's
//! instance is dropped; a growth the budget cannot cover is refused like one over the call's own cap (the guest
//! sees an allocation failure and, typically, traps), and the call ends with an error saying the host is short.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::ResourceLimiter;

/// Bytes of linear memory all plugin calls hold together, against the operator's limit.
#[derive(Debug)]
pub(crate) struct SharedMemory {
    limit: usize,
    used: AtomicUsize,
}

impl SharedMemory {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit, used: AtomicUsize::new(0) })
    }

    /// Takes `bytes` if the budget has them.
    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held now (for tests and metrics).
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Why a memory growth was refused, so the trap that usually follows can be reported by its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Over the call's own cap.
    CallCap,
    /// The call's cap had room, but the shared budget of plugin calls did not.
    SharedBudget,
}

/// Enforces one call's memory cap (and, for third-party plugins, the shared budget) and remembers the first
/// refusal.
pub struct CallLimiter {
    memory_bytes: usize,
    /// Bytes of all the instance's linear memories together (a component may have several).
    used_bytes: usize,
    shared: Option<Arc<SharedMemory>>,
    pub(crate) refused: Option<Refusal>,
}

/// Table elements a call may allocate (function tables of ordinary guests hold a few thousand).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl CallLimiter {
    pub(crate) fn new(memory_bytes: usize, shared: Option<Arc<SharedMemory>>) -> Self {
        Self { memory_bytes, used_bytes: 0, shared, refused: None }
    }

    /// The call's own cap.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // wasmtime asks here before it checks the memory's own declared maximum, and a growth approved here that
        // fails there is not given back: a guest looping `memory.grow` past its maximum would charge the budget
        // without holding any memory. Such a growth is refused here, like wasm itself refuses it (not a refusal of
        // ours: `refused` stays as it is).
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        let growth = desired.saturating_sub(current);
        let total = self.used_bytes.saturating_add(growth);
        let refusal = if total > self.memory_bytes {
            Some(Refusal::CallCap)
        } else if self.shared.as_ref().is_some_and(|shared| !shared.take(growth)) {
            Some(Refusal::SharedBudget)
        } else {
            None
        };
        match refusal {
            None => {
                self.used_bytes = total;
                Ok(true)
            }
            Some(refusal) => {
                self.refused.get_or_insert(refusal);
                Ok(false)
            }
        }
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl Drop for CallLimiter {
    /// The instance (and its memories) goes with the store that owns this limiter.
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.give_back(self.used_bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn calls_share_one_budget_and_give_it_back_when_dropped() {
        let shared = SharedMemory::new(100 * MIB);
        let mut first = CallLimiter::new(64 * MIB, Some(shared.clone()));
        let mut second = CallLimiter::new(64 * MIB, Some(shared.clone()));
        assert!(first.memory_growing(0, 60 * MIB, None).unwrap());
        assert!(!second.memory_growing(0, 60 * MIB, None).unwrap(), "only 40 MiB are left");
        assert_eq!(second.refused, Some(Refusal::SharedBudget));
        assert!(second.memory_growing(0, 40 * MIB, None).unwrap());
        assert!(!first.memory_growing(60 * MIB, 65 * MIB, None).unwrap(), "over its own cap");
        assert_eq!(first.refused, Some(Refusal::CallCap));
        assert_eq!(shared.used(), 100 * MIB);
        drop(first);
        assert_eq!(shared.used(), 40 * MIB);
        drop(second);
        assert_eq!(shared.used(), 0);
    }

    #[test]
    fn a_growth_past_the_memorys_own_maximum_is_refused_without_charging_anything() {
        let shared = SharedMemory::new(100 * MIB);
        let mut limiter = CallLimiter::new(64 * MIB, Some(shared.clone()));
        for _ in 0..1000 {
            assert!(!limiter.memory_growing(0, MIB, Some(65536)).unwrap());
        }
        assert_eq!((shared.used(), limiter.refused), (0, None));
    }

    #[test]
    fn without_a_shared_budget_only_the_call_cap_applies() {
        let mut limiter = CallLimiter::new(8 * MIB, None);
        assert!(limiter.memory_growing(0, 8 * MIB, None).unwrap());
        assert!(!limiter.memory_growing(8 * MIB, 9 * MIB, None).unwrap());
        assert_eq!(limiter.refused, Some(Refusal::CallCap));
    }
}

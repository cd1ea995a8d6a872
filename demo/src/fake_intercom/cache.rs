//! Serialised conversations (retrieve bodies, whose prefix is the list item), so a conversation is generated and
//! serialised once however often it is listed or fetched.
//!
//! Sharded by id so concurrent retrieves rarely contend; each entry carries the stamp of the conversation version
//! it was built from, and a lookup with another stamp misses (a change racing a retrieve can never leave a stale
//! body behind). Bounded by a byte budget: past it, bodies are served uncached rather than growing without limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

const SHARDS: usize = 16;

/// A serialised conversation: the retrieve body, and the length of its list-item prefix (see `json::conversation`).
#[derive(Debug, Clone)]
pub struct Body {
    pub full: Bytes,
    pub list_len: usize,
}

impl Body {
    pub fn new((mut full, list_len): (Vec<u8>, usize)) -> Self {
        // The cache holds the allocation, not just the bytes: give back the spare capacity.
        full.shrink_to_fit();
        Self { full: Bytes::from(full), list_len }
    }

    /// The conversation as search and list return it, without `}`.
    pub fn list_prefix(&self) -> Bytes {
        self.full.slice(..self.list_len)
    }
}

#[derive(Debug)]
pub struct BodyCache {
    shards: Vec<Mutex<HashMap<u64, (u64, Body)>>>,
    used: AtomicUsize,
    budget: usize,
}

impl BodyCache {
    pub fn new(budget: usize) -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), used: AtomicUsize::new(0), budget }
    }

    fn shard(&self, id: u64) -> std::sync::MutexGuard<'_, HashMap<u64, (u64, Body)>> {
        self.shards[(id % SHARDS as u64) as usize].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, id: u64, stamp: u64) -> Option<Body> {
        self.shard(id).get(&id).filter(|(cached, _)| *cached == stamp).map(|(_, body)| body.clone())
    }

    pub fn insert(&self, id: u64, stamp: u64, body: Body) {
        let mut shard = self.shard(id);
        let replaced = shard.get(&id).map_or(0, |(_, old)| old.full.len());
        if self.used.load(Ordering::Relaxed).saturating_sub(replaced) + body.full.len() > self.budget {
            return;
        }
        self.used.fetch_add(body.full.len(), Ordering::Relaxed);
        if let Some((_, old)) = shard.insert(id, (stamp, body)) {
            self.used.fetch_sub(old.full.len(), Ordering::Relaxed);
        }
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let freed: usize = shard.values().map(|(_, body)| body.full.len()).sum();
            shard.clear();
            self.used.fetch_sub(freed, Ordering::Relaxed);
        }
    }

    /// Whether the budget has room left (for skipping serialisation that could not be kept).
    pub fn has_room(&self) -> bool {
        self.used.load(Ordering::Relaxed) < self.budget
    }

    /// Bytes held.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

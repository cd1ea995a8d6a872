//! The fake's workspace: the demo generator's data plus what tests changed, indexed for serving.
//!
//! Conversations are not kept as records: a demo conversation is regenerated from its index when needed (~8 µs),
//! only changed or created ones are held (`Origin::Custom`). Every conversation must be generated once at start
//! anyway, to know its `updated_at` for the sorted index; its serialised form is cached then too (within the
//! cache's byte budget, see `cache.rs`), so a search page is a binary search plus a memcpy of 150 cached list
//! items and a retrieve is a cache lookup.
//!
//! Everything mutable sits behind one `RwLock`, taken briefly and never across an `.await`; serving only reads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::cache::{Body, BodyCache};
use super::json::{self, Lookup};
use super::query::ConversationKey;
use crate::store::model::{Author, ContactRecord, ConversationRecord, PartRecord};
use crate::{DemoOptions, DemoWorkspace};

/// Parts the [`super::FakeOptions::long_conversation`] gets, beyond Intercom's 500-part cap.
pub const LONG_CONVERSATION_PARTS: usize = 620;
/// Part ids the fake hands out (long conversations, `add_part`) start here, far above the demo's.
const FAKE_PART_IDS: u64 = 900_000_000_000;

/// Where a conversation's record comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// Regenerated from the demo workspace by index.
    Demo(usize),
    /// Changed or created by a test.
    Custom(Arc<ConversationRecord>),
}

#[derive(Debug, Clone)]
pub struct Meta {
    pub key: ConversationKey,
    pub origin: Origin,
    /// Changes whenever the conversation's JSON would: cached bodies with another stamp are stale.
    pub stamp: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Deleted {
    pub id: u64,
    pub deleted_at: i64,
}

#[derive(Debug)]
pub struct Live {
    pub clock: i64,
    pub lookup: Arc<Lookup>,
    /// Live conversations' keys, sorted by `(updated_at, id)`.
    pub order: Vec<ConversationKey>,
    pub conversations: HashMap<u64, Meta>,
    pub deleted: Vec<Deleted>,
    pub contacts: Vec<ContactRecord>,
    pub contact_index: HashMap<String, usize>,
    /// Indexes into `contacts`, sorted by `(updated_at, id)`.
    pub contact_order: Vec<usize>,
    pub next_conversation_id: u64,
    pub next_part_id: u64,
    pub next_stamp: u64,
}

#[derive(Debug)]
pub struct Dataset {
    pub workspace: DemoWorkspace,
    long_conversation: Option<usize>,
    live: RwLock<Live>,
    pub cache: BodyCache,
}

impl Dataset {
    /// Generates the workspace and every conversation once (on all cores; call it on a blocking thread).
    pub fn build(demo: &DemoOptions, long_conversation: Option<usize>, cache_budget: usize) -> Self {
        let workspace = crate::generate(demo);
        let count = workspace.conversation_count();
        let lookup = Lookup::new(&workspace.tags, &workspace.contacts, &workspace.companies, &workspace.teams);
        let long_conversation = long_conversation.filter(|index| *index < count);
        let cache = BodyCache::new(cache_budget);
        let keys = Partial { workspace: &workspace, long_conversation }.index_all(&lookup, &cache);
        let mut conversations = HashMap::with_capacity(count);
        let mut order = Vec::with_capacity(count);
        for (index, key) in keys.into_iter().enumerate() {
            order.push(key);
            conversations.insert(key.id, Meta { key, origin: Origin::Demo(index), stamp: index as u64 });
        }
        order.sort_unstable_by_key(|k| (k.updated_at, k.id));
        let contacts = workspace.contacts.clone();
        let contact_index = contacts.iter().enumerate().map(|(i, c)| (c.id.clone(), i)).collect();
        let next_conversation_id = workspace.conversation_id(count).parse().unwrap_or(u64::MAX / 2);
        let live = Live {
            clock: workspace.now(),
            lookup: Arc::new(lookup),
            order,
            conversations,
            deleted: Vec::new(),
            contact_order: Vec::new(),
            contacts,
            contact_index,
            next_conversation_id,
            next_part_id: FAKE_PART_IDS + 1_000 * count as u64,
            next_stamp: count as u64,
        };
        let dataset = Self { workspace, long_conversation, live: RwLock::new(live), cache };
        dataset.write().sort_contacts();
        dataset
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Live> {
        self.live.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Live> {
        self.live.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn partial(&self) -> Partial<'_> {
        Partial { workspace: &self.workspace, long_conversation: self.long_conversation }
    }

    /// The full record (every part) of a conversation.
    pub fn record(&self, origin: &Origin) -> ConversationRecord {
        match origin {
            Origin::Demo(index) => self.partial().conversation(*index),
            Origin::Custom(record) => ConversationRecord::clone(record),
        }
    }

    /// Conversation `id`'s serialised form, from the cache or freshly built (and cached). `None` when there is no
    /// such live conversation ("0123" is not conversation 123).
    pub fn body(&self, id: &str) -> Option<Body> {
        let numeric: u64 = id.parse().ok()?;
        if numeric.to_string() != id {
            return None;
        }
        let (origin, stamp, lookup) = {
            let live = self.read();
            let meta = live.conversations.get(&numeric)?;
            (meta.origin.clone(), meta.stamp, Arc::clone(&live.lookup))
        };
        Some(self.body_of(numeric, &origin, stamp, &lookup))
    }

    /// The serialised form of a conversation whose meta was read under the lock.
    pub fn body_of(&self, id: u64, origin: &Origin, stamp: u64, lookup: &Lookup) -> Body {
        if let Some(body) = self.cache.get(id, stamp) {
            return body;
        }
        let body = match origin {
            Origin::Demo(index) => Body::new(json::conversation(&self.partial().conversation(*index), lookup)),
            Origin::Custom(record) => Body::new(json::conversation(record, lookup)),
        };
        self.cache.insert(id, stamp, body.clone());
        body
    }

    /// Invalidates every serialised conversation: for changes that touch every conversation's JSON (a contact's
    /// `external_id` is embedded in each of its conversations).
    pub fn refresh_all(&self, live: &mut Live) {
        let mut next_stamp = live.next_stamp;
        for meta in live.conversations.values_mut() {
            next_stamp += 1;
            meta.stamp = next_stamp;
        }
        live.next_stamp = next_stamp;
        self.cache.clear();
    }
}

/// What generating a conversation needs, borrowable by the build threads before the `Dataset` exists.
struct Partial<'a> {
    workspace: &'a DemoWorkspace,
    long_conversation: Option<usize>,
}

impl Partial<'_> {
    fn conversation(&self, index: usize) -> ConversationRecord {
        let mut record = self.workspace.conversation(index);
        if self.long_conversation == Some(index) {
            lengthen(&mut record, index, self.workspace);
        }
        record
    }

    /// Every conversation's key, in index order, generated on all cores; serialised forms go to `cache` (stamped
    /// with the index) while its budget lasts.
    fn index_all(&self, lookup: &Lookup, cache: &BodyCache) -> Vec<ConversationKey> {
        let count = self.workspace.conversation_count();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let chunk = count.div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .step_by(chunk)
                .map(|start| {
                    scope.spawn(move || {
                        (start..count.min(start + chunk))
                            .map(|index| {
                                let record = self.conversation(index);
                                let key = key_of(&record);
                                if cache.has_room() {
                                    cache.insert(key.id, index as u64, Body::new(json::conversation(&record, lookup)));
                                }
                                key
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        })
    }
}

pub fn key_of(record: &ConversationRecord) -> ConversationKey {
    ConversationKey {
        updated_at: record.updated_at,
        id: record.id.parse().unwrap_or(u64::MAX),
        created_at: record.created_at,
    }
}

/// Appends generated comments until the conversation has [`LONG_CONVERSATION_PARTS`] parts, alternating between
/// its customer and a teammate, after its last part and no later than the workspace's `now`.
fn lengthen(record: &mut ConversationRecord, index: usize, workspace: &DemoWorkspace) {
    let missing = LONG_CONVERSATION_PARTS.saturating_sub(record.parts.len());
    let last = record.parts.last().map_or(record.created_at, |p| p.created_at).max(record.created_at);
    let step = ((workspace.now() - last) / (missing as i64 + 1)).clamp(0, 60);
    let customer = record.source.author.clone();
    let teammate = record
        .parts
        .iter()
        .find(|p| p.author.kind == "admin")
        .map(|p| p.author.clone())
        .or_else(|| {
            workspace.admins.first().map(|a| Author {
                kind: "admin".to_owned(),
                id: a.id.clone(),
                name: a.name.clone(),
                email: a.email.clone(),
            })
        })
        .unwrap_or_default();
    for k in 0..missing {
        let at = last + step * (k as i64 + 1);
        record.parts.push(PartRecord {
            id: (FAKE_PART_IDS + 1_000 * index as u64 + k as u64).to_string(),
            part_type: "comment".to_owned(),
            body_html: Some(format!("<p>Follow-up number {} on this thread.</p>", k + 1)),
            created_at: at,
            updated_at: Some(at),
            notified_at: Some(at),
            author: if k % 2 == 0 { customer.clone() } else { teammate.clone() },
            assigned_to_id: None,
            redacted: false,
        });
    }
    if let Some(last_part) = record.parts.last() {
        record.updated_at = record.updated_at.max(last_part.created_at);
    }
    record.statistics.count_conversation_parts = Some(record.parts.len() as i64);
}

impl Live {
    /// Re-sorts the contact order after a change.
    pub fn sort_contacts(&mut self) {
        let contacts = &self.contacts;
        let mut order: Vec<usize> = (0..contacts.len()).collect();
        order.sort_unstable_by(|a, b| {
            (contacts[*a].updated_at, &contacts[*a].id).cmp(&(contacts[*b].updated_at, &contacts[*b].id))
        });
        self.contact_order = order;
    }

    /// Moves a conversation's key in `order` from `old` to `new`.
    pub fn rekey(&mut self, old: Option<ConversationKey>, new: Option<ConversationKey>) {
        if let Some(old) = old
            && let Ok(at) = self.order.binary_search_by_key(&(old.updated_at, old.id), |k| (k.updated_at, k.id))
        {
            self.order.remove(at);
        }
        if let Some(new) = new {
            let at = self.order.partition_point(|k| (k.updated_at, k.id) < (new.updated_at, new.id));
            self.order.insert(at, new);
        }
    }

    pub fn stamp(&mut self) -> u64 {
        self.next_stamp += 1;
        self.next_stamp
    }
}

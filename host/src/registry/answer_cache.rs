//! Answers kept in memory and served again while the data they were computed from is unchanged: a support lead's
//! assistant asks the same question several times in one conversation, and a kept answer costs a lookup and a copy
//! instead of a guest call and its queries.
//!
//! Only answers that depend on nothing but their arguments and the store are kept: built-in tools that say so
//! (read-only, idempotent, closed-world annotations) of plugins granted nothing beyond reading the store
//! (`plugins` shows live call counters, for one). Third-party tools are always called: their annotations are
//! hints, not promises, and a guest may read the clock or draw random numbers.
//!
//! Entries are keyed by the plugin's component digest (a swapped plugin never serves its predecessor's answers),
//! the tool, its arguments and the version of the store this process knows: its own commits at once, and the data
//! generation (which every committed write advances, in any process) as a task of its own reads it every
//! [`GENERATION_READ_EVERY`], so that a call does not pay a second trip to the store's threads for it. Entries
//! live at most [`TIME_TO_LIVE`], since arguments
//! such as "the last 7 days" are read against the clock. Answers say `cache_hit: true` in their `metadata` when
//! they come from here.
//!
//! An answer is kept the second time its call is seen (within [`TIME_TO_LIVE`]), not the first: keeping every
//! answer of calls made once (a model paging, or varying its filters) held memory for nothing, and calls that
//! were never asked again had a p99 3.5× that without kept answers (10.1–11.6 ms against 2.8–3.3 ms, 1,000
//! distinct filtered searches over stdio; kept the second time, 2.8–3.4 ms against 2.7–3.4 ms).
//!
//! With Redis, answers are kept at a second level that the replicas of a deployment share ([`SharedRedis`]):
//! every computed answer is written there (after the call has answered, by a task of its own), keyed by the data
//! generation alone, which every replica reads alike (own commits advance it at once, other processes' are
//! announced and read within [`GENERATION_READ_EVERY`]). A miss of the first level asks the second before the
//! tool is called; what it finds is kept at the first level too (for [`TIME_TO_LIVE`] more, so an answer read
//! against the clock may be served for up to twice that). A Redis that does not answer costs at most one bounded
//! wait a second (see [`crate::shared`]), and the first level goes on alone. The shared key also names the store
//! and the host's version, so deployments sharing one Redis never serve each other's answers.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::runtime::{Capability, ContentBlock, LoadedPlugin, PluginOrigin, ToolAnnotations, ToolOutput, ToolSpec};
use crate::shared::SharedRedis;
use crate::store::{Store, VersionSeen};

/// Longest an answer is kept, however unchanged the store.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(30);

/// How often the store's data generation is read: another process's commit is seen within this time.
pub const GENERATION_READ_EVERY: Duration = Duration::from_millis(100);

/// Memory the kept answers may take together (their text, counted twice for the parsed copy).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Calls seen once that are remembered (a hash each), so that their answer is kept when they come again.
const SEEN_ONCE_CALLS: u64 = 100_000;

/// Largest answer kept; larger ones are computed every time.
const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// Largest answer kept in Redis, whose answers cross the network on every hit.
const MAX_SHARED_ANSWER_BYTES: usize = 512 * 1024;

/// Grants whose interfaces only read the store (and write the plugin's own log).
const STORE_ONLY_GRANTS: [Capability; 6] = [
    Capability::Log,
    Capability::SyncStatus,
    Capability::Conversations,
    Capability::Contacts,
    Capability::Directory,
    Capability::Analytics,
];

pub struct AnswerCache {
    entries: moka::sync::Cache<String, Arc<KeptAnswer>>,
    /// Hashes of the keys of calls seen once: a call seen again has its answer kept.
    seen_once: moka::sync::Cache<u64, ()>,
    hashing: std::collections::hash_map::RandomState,
    /// The task that reads the store's data generation, started by the first call whose answer may be kept.
    generation_reader: OnceLock<tokio::task::JoinHandle<()>>,
    /// The second level, shared by the replicas; `None` without Redis.
    shared: Option<Arc<SharedRedis>>,
    /// See [`AnswerCache::store_name`].
    store_name: OnceLock<String>,
}

/// Where an answer is kept: this process's key (its own commits and the data generation it read), and the key
/// replicas share (the generation alone, which every replica reads alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerKey {
    local: String,
    shared: String,
}

impl Drop for AnswerCache {
    fn drop(&mut self) {
        if let Some(reader) = self.generation_reader.get() {
            reader.abort();
        }
    }
}

/// An answer as computed, and as served again (with `cache_hit: true`), made at its first hit.
struct KeptAnswer {
    output: ToolOutput,
    served: OnceLock<ToolOutput>,
    bytes: u32,
}

impl Default for AnswerCache {
    fn default() -> Self {
        Self::new(None)
    }
}

impl AnswerCache {
    /// Kept answers in this process, and in `shared` too when given.
    pub fn new(shared: Option<Arc<SharedRedis>>) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(MAX_BYTES)
            .weigher(|key: &String, answer: &Arc<KeptAnswer>| (key.len() as u32).saturating_add(answer.bytes))
            .time_to_live(TIME_TO_LIVE)
            .build();
        let seen_once = moka::sync::Cache::builder().max_capacity(SEEN_ONCE_CALLS).time_to_live(TIME_TO_LIVE).build();
        Self {
            entries,
            seen_once,
            hashing: Default::default(),
            generation_reader: OnceLock::new(),
            shared,
            store_name: OnceLock::new(),
        }
    }

    /// Whether answers of `tool` (of `plugin`) may be kept.
    pub fn keeps(plugin: &LoadedPlugin, tool: &ToolSpec) -> bool {
        plugin.origin == PluginOrigin::Builtin
            && depends_only_on_arguments_and_store(tool.annotations, &plugin.manifest.grants)
    }

    /// Starts reading `store`'s data generation (once; on the current runtime).
    pub fn watch(&self, store: &Store) {
        self.generation_reader.get_or_init(|| store.watch_data_generation(GENERATION_READ_EVERY));
    }

    /// The key of a call of `tool` of `plugin` with `arguments` on the store at `version`. Arguments are a sorted
    /// map, so equal arguments give equal text whatever order the client wrote them in.
    ///
    /// The key replicas share also names the store (`store`, see [`Store::store_name`]: generations are small
    /// numbers every store counts from 0, and deployments may share one Redis) and this host's version (a host
    /// that reads the store differently may answer the same call differently with the same plugin).
    pub fn key(
        plugin: &LoadedPlugin,
        tool: &str,
        arguments: &Map<String, Value>,
        version: VersionSeen,
        store: &str,
    ) -> AnswerKey {
        let arguments = serde_json::to_string(arguments).unwrap_or_default();
        let (commits, generation) = version;
        let call = format!("{}\u{0}{tool}\u{0}{arguments}", plugin.digest);
        let host = env!("CARGO_PKG_VERSION");
        AnswerKey {
            local: format!("{commits}.{generation}\u{0}{call}"),
            shared: format!("{host}\u{0}{store}\u{0}{generation}\u{0}{call}"),
        }
    }

    /// The name of `store` the shared keys carry, worked out once.
    pub fn store_name(&self, store: &Store) -> &str {
        self.store_name.get_or_init(|| store.store_name())
    }

    /// The kept answer, marked as served from here: this process's, or else one a replica shared (which this
    /// process then keeps too).
    pub async fn get(&self, key: &AnswerKey) -> Option<ToolOutput> {
        if let Some(kept) = self.entries.get(&key.local) {
            counted("l1", "hit");
            return Some(kept.served.get_or_init(|| marked_as_hit(&kept.output)).clone());
        }
        counted("l1", "miss");
        let shared = self.shared.as_ref()?;
        let found = shared.kept_answer(&key.shared, MAX_SHARED_ANSWER_BYTES).await.flatten();
        // Kept in Redis as served (marked as a hit), so a hit costs one parse.
        let Some(served) = found.as_deref().and_then(decoded) else {
            counted("l2", "miss");
            return None;
        };
        counted("l2", "hit");
        if let Some(kept) = kept_answer(&key.local, &served) {
            let _ = kept.served.set(served.clone());
            self.entries.insert(key.local.clone(), Arc::new(kept));
        }
        Some(served)
    }

    /// Forgets the answers kept in this process (not those shared through Redis), for benchmarks of the second
    /// level.
    pub fn forget_local(&self) {
        self.entries.invalidate_all();
        self.seen_once.invalidate_all();
        // Done now rather than inside the next lookup (a benchmark times that lookup).
        self.entries.run_pending_tasks();
        self.seen_once.run_pending_tasks();
    }

    /// Keeps `output` under `key`: in this process if this call was seen before, and for the other replicas
    /// (by a task of its own, so the answer does not wait on Redis), unless it is too large to be worth it.
    pub fn insert(&self, key: AnswerKey, output: &ToolOutput) {
        if let Some(shared) = self.shared.as_ref().filter(|_| kept_bytes(output) <= MAX_SHARED_ANSWER_BYTES) {
            let (shared, name, output) = (Arc::clone(shared), key.shared.clone(), output.clone());
            tokio::spawn(async move {
                // Parsing and writing JSON of up to half a megabyte: off the runtime's threads.
                let encoding = tokio::task::spawn_blocking(move || encoded(&marked_as_hit(&output)));
                let Ok(Some(bytes)) = encoding.await else { return };
                if bytes.len() <= MAX_SHARED_ANSWER_BYTES {
                    shared.keep_answer(&name, &bytes, TIME_TO_LIVE).await;
                }
            });
        }
        let hash = std::hash::BuildHasher::hash_one(&self.hashing, &key.local);
        if self.seen_once.remove(&hash).is_none() {
            self.seen_once.insert(hash, ());
            return;
        }
        if let Some(kept) = kept_answer(&key.local, output) {
            self.entries.insert(key.local, Arc::new(kept));
        }
    }
}

/// `output` ready to be kept under `key`; `None` when it is too large to be worth it.
fn kept_answer(key: &str, output: &ToolOutput) -> Option<KeptAnswer> {
    let bytes = kept_bytes(output);
    if bytes > MAX_ANSWER_BYTES || key.len() > MAX_ANSWER_BYTES {
        return None;
    }
    Some(KeptAnswer { output: output.clone(), served: OnceLock::new(), bytes: bytes as u32 })
}

/// What keeping `output` weighs, here or in Redis: its text, and the structured copy, which weighs about what the
/// text block repeating it does.
fn kept_bytes(output: &ToolOutput) -> usize {
    let text_bytes: usize = output.content.iter().map(|ContentBlock::Text(text)| text.len()).sum();
    text_bytes.saturating_mul(2)
}

fn counted(level: &'static str, outcome: &'static str) {
    metrics::counter!("fastintercom_answer_cache_total", "level" => level, "outcome" => outcome).increment(1);
}

/// An answer as it is kept in Redis (already marked as a hit): its text blocks and its structured answer, as JSON.
fn encoded(output: &ToolOutput) -> Option<Vec<u8>> {
    let texts: Vec<&str> = output.content.iter().map(|ContentBlock::Text(text)| text.as_str()).collect();
    serde_json::to_vec(&serde_json::json!({"text": texts, "structured": output.structured})).ok()
}

/// An answer read back from Redis; `None` when it is not one [`encoded`] wrote (a value of another version).
fn decoded(bytes: &[u8]) -> Option<ToolOutput> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kept {
        text: Vec<String>,
        structured: Option<Value>,
    }
    let kept: Kept = serde_json::from_slice(bytes).ok()?;
    Some(ToolOutput { content: kept.text.into_iter().map(ContentBlock::Text).collect(), structured: kept.structured })
}

/// Whether a tool with these hints, of a plugin with these grants, answers from its arguments and the store alone.
fn depends_only_on_arguments_and_store(hints: ToolAnnotations, grants: &[Capability]) -> bool {
    let store_only = grants.iter().all(|grant| STORE_ONLY_GRANTS.contains(grant));
    hints.read_only && hints.idempotent && !hints.open_world && !hints.destructive && store_only
}

/// `output` with `cache_hit: true` in its structured answer's `metadata` (when it has that object, as every
/// answer in the standard envelope does), and in the text blocks that carry the same JSON.
fn marked_as_hit(output: &ToolOutput) -> ToolOutput {
    let Some(mut structured) = output.structured.clone() else { return output.clone() };
    let Some(metadata) = structured.get_mut("metadata").and_then(Value::as_object_mut) else {
        return output.clone();
    };
    metadata.insert("cache_hit".to_owned(), Value::Bool(true));
    let content = output
        .content
        .iter()
        .map(|ContentBlock::Text(text)| {
            let same_json =
                serde_json::from_str::<Value>(text).is_ok_and(|value| Some(&value) == output.structured.as_ref());
            ContentBlock::Text(if same_json { structured.to_string() } else { text.clone() })
        })
        .collect();
    ToolOutput { content, structured: Some(structured) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(structured: Value, text: &str) -> ToolOutput {
        ToolOutput { content: vec![ContentBlock::Text(text.to_owned())], structured: Some(structured) }
    }

    #[test]
    fn a_hit_says_so_in_the_structured_answer_and_its_json_text() {
        let envelope = json!({"summary": {"total": 1}, "results": [], "metadata": {"source": "demo"}});
        let hit = marked_as_hit(&answer(envelope.clone(), &envelope.to_string()));
        assert_eq!(hit.structured.as_ref().unwrap()["metadata"]["cache_hit"], json!(true));
        let ContentBlock::Text(text) = &hit.content[0];
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), *hit.structured.as_ref().unwrap());

        // Text that is not the same JSON is left as it is; an answer without metadata is served unchanged.
        let other = answer(envelope.clone(), "3 conversations");
        assert_eq!(marked_as_hit(&other).content, other.content);
        let bare = answer(json!({"n": 1}), "{\"n\":1}");
        assert_eq!(marked_as_hit(&bare), bare);
    }

    #[test]
    fn only_closed_world_reads_of_the_store_are_kept() {
        let read = ToolAnnotations { read_only: true, destructive: false, idempotent: true, open_world: false };
        let store = [Capability::Log, Capability::SyncStatus, Capability::Conversations, Capability::Contacts];
        assert!(depends_only_on_arguments_and_store(read, &store));
        assert!(depends_only_on_arguments_and_store(read, &[]));
        // `plugins` shows live call counters: its answers change with every call.
        assert!(!depends_only_on_arguments_and_store(read, &[Capability::Conversations, Capability::Plugins]));
        for hints in [
            ToolAnnotations { read_only: false, ..read },
            ToolAnnotations { idempotent: false, ..read },
            ToolAnnotations { open_world: true, ..read },
            ToolAnnotations { destructive: true, ..read },
        ] {
            assert!(!depends_only_on_arguments_and_store(hints, &store), "{hints:?}");
        }
    }

    fn key(call: &str, generation: u64) -> AnswerKey {
        AnswerKey { local: format!("0.{generation}\u{0}{call}"), shared: format!("{generation}\u{0}{call}") }
    }

    #[tokio::test]
    async fn large_answers_are_not_kept() {
        let cache = AnswerCache::default();
        for _ in 0..2 {
            cache.insert(key("small", 1), &answer(json!({}), "{}"));
            cache.insert(key("large", 1), &answer(json!({}), &"x".repeat(MAX_ANSWER_BYTES)));
        }
        assert!(cache.get(&key("small", 1)).await.is_some());
        assert!(cache.get(&key("large", 1)).await.is_none());
    }

    #[tokio::test]
    async fn an_answer_is_kept_the_second_time_its_call_is_seen() {
        let cache = AnswerCache::default();
        cache.insert(key("once", 1), &answer(json!({}), "{}"));
        assert!(cache.get(&key("once", 1)).await.is_none(), "a call seen once is remembered, its answer not kept");
        cache.insert(key("once", 1), &answer(json!({}), "{}"));
        assert!(cache.get(&key("once", 1)).await.is_some());
    }

    #[tokio::test]
    async fn what_one_replica_computed_another_serves_at_the_same_generation_only() {
        let prefix = format!("fastintercom-test:l2:{}:{}:", std::process::id(), rand::random::<u64>());
        let redis = || async { Some(Arc::new(SharedRedis::connect("redis://127.0.0.1:6379", &prefix).await.unwrap())) };
        let (first, second) = (AnswerCache::new(redis().await), AnswerCache::new(redis().await));
        let envelope = json!({"results": [1, 2], "metadata": {"source": "demo"}});
        first.insert(key("search", 7), &answer(envelope.clone(), &envelope.to_string()));
        let mut served = None;
        for _ in 0..100 {
            served = second.get(&key("search", 7)).await;
            if served.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let served = served.expect("the other replica's answer");
        assert_eq!(served.structured.as_ref().unwrap()["metadata"]["cache_hit"], json!(true));
        assert_eq!(served.structured.as_ref().unwrap()["results"], json!([1, 2]));
        assert!(second.get(&key("search", 8)).await.is_none(), "another generation is another answer");
        // Now kept in the second replica's own memory: served without Redis.
        assert!(second.entries.get(&key("search", 7).local).is_some());
    }

    #[test]
    fn what_redis_holds_is_read_back_only_when_it_is_an_answer() {
        let output = answer(json!({"n": 1}), "{\"n\":1}");
        assert_eq!(decoded(&encoded(&output).unwrap()), Some(output));
        assert_eq!(decoded(b"{\"text\": 3}"), None);
        assert_eq!(decoded(b"\xff"), None);
    }
}

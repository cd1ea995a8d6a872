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

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::runtime::{Capability, ContentBlock, LoadedPlugin, PluginOrigin, ToolAnnotations, ToolOutput, ToolSpec};
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

/// Grants whose interfaces only read the store (and write the plugin's own log).
const STORE_ONLY_GRANTS: [Capability; 4] =
    [Capability::Log, Capability::SyncStatus, Capability::Conversations, Capability::Contacts];

pub struct AnswerCache {
    entries: moka::sync::Cache<String, Arc<KeptAnswer>>,
    /// Hashes of the keys of calls seen once: a call seen again has its answer kept.
    seen_once: moka::sync::Cache<u64, ()>,
    hashing: std::collections::hash_map::RandomState,
    /// The task that reads the store's data generation, started by the first call whose answer may be kept.
    generation_reader: OnceLock<tokio::task::JoinHandle<()>>,
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
        let entries = moka::sync::Cache::builder()
            .max_capacity(MAX_BYTES)
            .weigher(|key: &String, answer: &Arc<KeptAnswer>| (key.len() as u32).saturating_add(answer.bytes))
            .time_to_live(TIME_TO_LIVE)
            .build();
        let seen_once = moka::sync::Cache::builder().max_capacity(SEEN_ONCE_CALLS).time_to_live(TIME_TO_LIVE).build();
        Self { entries, seen_once, hashing: Default::default(), generation_reader: OnceLock::new() }
    }
}

impl AnswerCache {
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
    pub fn key(plugin: &LoadedPlugin, tool: &str, arguments: &Map<String, Value>, version: VersionSeen) -> String {
        let arguments = serde_json::to_string(arguments).unwrap_or_default();
        let (commits, generation) = version;
        format!("{}\u{0}{tool}\u{0}{commits}.{generation}\u{0}{arguments}", plugin.digest)
    }

    /// The kept answer, marked as served from here.
    pub fn get(&self, key: &str) -> Option<ToolOutput> {
        let kept = self.entries.get(key)?;
        Some(kept.served.get_or_init(|| marked_as_hit(&kept.output)).clone())
    }

    /// Keeps `output` under `key` if this call was seen before, unless it is too large to be worth it.
    pub fn insert(&self, key: String, output: &ToolOutput) {
        let hash = std::hash::BuildHasher::hash_one(&self.hashing, &key);
        if self.seen_once.remove(&hash).is_none() {
            self.seen_once.insert(hash, ());
            return;
        }
        let text_bytes: usize = output.content.iter().map(|ContentBlock::Text(text)| text.len()).sum();
        // The parsed structured copy weighs about what its text did, which the text block repeats.
        let bytes = text_bytes.saturating_mul(2);
        if bytes > MAX_ANSWER_BYTES || key.len() > MAX_ANSWER_BYTES {
            return;
        }
        let kept = KeptAnswer { output: output.clone(), served: OnceLock::new(), bytes: bytes as u32 };
        self.entries.insert(key, Arc::new(kept));
    }
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

    #[test]
    fn large_answers_are_not_kept() {
        let cache = AnswerCache::default();
        for _ in 0..2 {
            cache.insert("small".into(), &answer(json!({}), "{}"));
            cache.insert("large".into(), &answer(json!({}), &"x".repeat(MAX_ANSWER_BYTES)));
        }
        assert!(cache.get("small").is_some());
        assert!(cache.get("large").is_none());
    }

    #[test]
    fn an_answer_is_kept_the_second_time_its_call_is_seen() {
        let cache = AnswerCache::default();
        cache.insert("once".into(), &answer(json!({}), "{}"));
        assert!(cache.get("once").is_none(), "a call seen once is remembered, its answer not kept");
        cache.insert("once".into(), &answer(json!({}), "{}"));
        assert!(cache.get("once").is_some());
    }
}

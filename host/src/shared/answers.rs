//! Kept answers shared by replicas (the second level of `registry::answer_cache`): what one replica computed,
//! another serves, while the store's data generation is the same. Stored under a digest of the answer's key
//! (the key holds the call's arguments, which may be long), with Redis's own expiry.

use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::SharedRedis;

impl SharedRedis {
    /// The answer some replica kept under `key`: `Some(Some(bytes))` found, `Some(None)` none kept (or one over
    /// `max_bytes`, which is not read past that), `None` when Redis cannot say now.
    pub async fn kept_answer(&self, key: &str, max_bytes: usize) -> Option<Option<Vec<u8>>> {
        let name = self.answer_name(key);
        // At most one byte more than allowed crosses the network, however large the value someone wrote; a key
        // that does not exist reads as empty (no answer is).
        let bytes: Vec<u8> =
            self.run(async |c| redis::cmd("GETRANGE").arg(&name).arg(0).arg(max_bytes).query_async(c).await).await?;
        Some((!bytes.is_empty() && bytes.len() <= max_bytes).then_some(bytes))
    }

    /// Keeps `answer` under `key` for `lifetime`, for every replica. Best effort: a Redis that does not answer
    /// loses it.
    pub async fn keep_answer(&self, key: &str, answer: &[u8], lifetime: Duration) {
        let name = self.answer_name(key);
        let millis = lifetime.as_millis().max(1) as u64;
        let _: Option<()> = self
            .run(async |c| redis::cmd("SET").arg(&name).arg(answer).arg("PX").arg(millis).query_async(c).await)
            .await;
    }

    fn answer_name(&self, key: &str) -> String {
        self.key(&format!("answer:{}", hex::encode(Sha256::digest(key.as_bytes()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_kept_by_one_replica_is_found_by_another_until_it_expires() {
        let prefix = format!("fastintercom-test:answers:{}:{}:", std::process::id(), rand::random::<u64>());
        let first = SharedRedis::connect("redis://127.0.0.1:6379", &prefix).await.unwrap();
        let second = SharedRedis::connect("redis://127.0.0.1:6379", &prefix).await.unwrap();
        assert_eq!(second.kept_answer("search\0{\"q\":1}", 100).await, Some(None));
        first.keep_answer("search\0{\"q\":1}", b"{\"n\":1}", Duration::from_millis(300)).await;
        assert_eq!(second.kept_answer("search\0{\"q\":1}", 100).await, Some(Some(b"{\"n\":1}".to_vec())));
        assert_eq!(second.kept_answer("search\0{\"q\":1}", 7).await, Some(Some(b"{\"n\":1}".to_vec())));
        assert_eq!(second.kept_answer("search\0{\"q\":1}", 6).await, Some(None), "over the bound: not read");
        assert_eq!(second.kept_answer("search\0{\"q\":2}", 100).await, Some(None), "another key");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(second.kept_answer("search\0{\"q\":1}", 100).await, Some(None), "expired");
    }

    #[tokio::test]
    async fn without_redis_nothing_is_found_and_nothing_fails() {
        let nowhere = SharedRedis::connect("redis://127.0.0.1:1", "x:").await.unwrap();
        nowhere.keep_answer("k", b"v", Duration::from_secs(1)).await;
        assert_eq!(nowhere.kept_answer("k", 100).await, None);
    }
}

//! API keys: generation, hashing and the in-memory set requests are checked against.

use std::sync::Arc;

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{Caller, ToolPattern};

/// What every key starts with, so a leaked one is recognisable (secret scanners, logs).
const KEY_PREFIX: &str = "fik_";

/// A new key: the secret is shown once to its owner, the hash is what the store keeps.
#[derive(Clone)]
pub struct GeneratedKey {
    pub secret: String,
    pub hash: [u8; 32],
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeneratedKey { secret: <redacted>, .. }")
    }
}

/// Draws a key of 256 random bits from the thread's CSPRNG (ChaCha, seeded by the operating system).
pub fn generate_key() -> GeneratedKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_key(&secret);
    GeneratedKey { secret, hash }
}

/// The SHA-256 of a presented key.
pub fn hash_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A key as the store holds it (active keys only are loaded into a [`KeySet`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub name: String,
    pub hash: [u8; 32],
    pub tools: Option<ToolPattern>,
}

/// The active keys, checked on every HTTP request.
#[derive(Debug, Default)]
pub struct KeySet {
    entries: Vec<([u8; 32], Caller)>,
}

impl KeySet {
    pub fn new(keys: Vec<StoredKey>) -> Self {
        let entries = keys
            .into_iter()
            .map(|key| (key.hash, Caller { key_name: Arc::from(key.name), tools: key.tools.map(Arc::new) }))
            .collect();
        Self { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a presented key belongs to. Every stored hash is compared, each in constant time, so neither
    /// the answer's timing nor its path says how much of a guess was right or which key came close.
    pub fn authenticate(&self, presented: &str) -> Option<Caller> {
        let hash = hash_key(presented);
        let mut found = None;
        for (stored, caller) in &self.entries {
            if bool::from(stored.ct_eq(&hash)) {
                found = Some(caller);
            }
        }
        found.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_prefixed_and_hash_to_what_is_stored() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(KEY_PREFIX) && a.secret.len() == KEY_PREFIX.len() + 43);
        assert_eq!(hash_key(&a.secret), a.hash);
        assert!(!format!("{a:?}").contains(&a.secret));
    }

    #[test]
    fn authenticates_only_exact_keys() {
        let (a, b) = (generate_key(), generate_key());
        let set = KeySet::new(vec![
            StoredKey { name: "a".into(), hash: a.hash, tools: None },
            StoredKey { name: "b".into(), hash: b.hash, tools: Some(ToolPattern::parse("search_*").unwrap()) },
        ]);
        assert_eq!(&*set.authenticate(&a.secret).unwrap().key_name, "a");
        let restricted = set.authenticate(&b.secret).unwrap();
        assert!(restricted.may_use("search_contacts") && !restricted.may_use("get_contact"));
        assert!(set.authenticate(&a.secret[..a.secret.len() - 1]).is_none());
        assert!(set.authenticate("").is_none());
        assert!(KeySet::default().authenticate(&a.secret).is_none());
    }
}

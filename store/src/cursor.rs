//! Opaque pagination cursors. A cursor records where the previous page ended and a fingerprint of the search
//! that produced it, so a cursor replayed against a different search is refused rather than silently wrong; it
//! is signed with a key kept in the store, so a cursor the host did not issue (a forged offset of 2^63, say) is
//! refused before anything reads it. Every process sharing the store shares the key, so a cursor issued by one
//! server is good on any other, and after a restart.

use std::hash::{DefaultHasher, Hash, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::StoreError;

/// Bytes of the signature kept in a cursor (HMAC-SHA256, truncated).
const SIGNATURE_BYTES: usize = 16;

/// Longest cursor text accepted; those the host issues are under 200 characters.
const MAX_CURSOR_CHARS: usize = 1024;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub(super) enum Position {
    /// Skip this many rows (relevance order, whose scores have no stable key).
    #[serde(rename = "o")]
    Offset { o: u64 },
    /// Continue after this (sort key, rowid) pair.
    #[serde(rename = "i")]
    IntKey { v: i64, r: i64 },
    /// Continue after this (text sort key, rowid) pair.
    #[serde(rename = "s")]
    TextKey { v: String, r: i64 },
    /// Skip this many rows of a ranked window: the matches with rowids in `(a, t]` ranked, then those at or below
    /// `a` newest first (PostgreSQL's bounded search; the window is the first page's, so later pages neither skip
    /// nor repeat a match when conversations arrive or statistics change).
    #[serde(rename = "w")]
    Window { o: u64, a: i64, t: i64 },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// Fingerprint of the search (filter and order) the cursor belongs to.
    f: u64,
    #[serde(flatten)]
    p: Position,
}

/// The store's secret for signing cursors.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// A stable fingerprint of anything hashable describing a search.
pub(super) fn fingerprint(search: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    search.hash(&mut hasher);
    hasher.finish()
}

fn invalid() -> StoreError {
    StoreError::InvalidArgument(
        "invalid cursor: pass the next_cursor of the previous page unchanged, with the same filters".to_owned(),
    )
}

impl CursorKey {
    /// A new random key (256 bits from the operating system's generator).
    pub(super) fn random() -> Self {
        Self(rand::random())
    }

    /// The key as hex text, as the store keeps it.
    pub(super) fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A key from its hex text (as the store keeps it).
    pub(super) fn from_hex(text: &str) -> Option<Self> {
        hex::decode(text).ok()?.try_into().ok().map(Self)
    }

    /// A name of the store this key belongs to that reveals nothing of the key: the MAC of a fixed text. Every
    /// store makes its own key, so stores (and schemas) are told apart by it.
    pub(super) fn store_name(&self) -> String {
        hex::encode(&self.mac(b"fastintercom store name").finalize().into_bytes()[..12])
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        mac.update(payload);
        mac
    }

    pub(super) fn encode(&self, fingerprint: u64, position: Position) -> String {
        let payload = serde_json::to_vec(&Envelope { f: fingerprint, p: position }).expect("cursor serializes");
        let signature = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&signature[..SIGNATURE_BYTES]))
    }

    /// Decodes a cursor this store issued for the search with this fingerprint.
    pub(super) fn decode(&self, cursor: &str, expected_fingerprint: u64) -> Result<Position, StoreError> {
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(invalid());
        }
        let (payload, signature) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
        if signature.len() != SIGNATURE_BYTES {
            return Err(invalid());
        }
        self.mac(&payload).verify_truncated_left(&signature).map_err(|_| invalid())?;
        let envelope: Envelope = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if envelope.f != expected_fingerprint {
            return Err(StoreError::InvalidArgument(
                "this cursor belongs to a different search: repeat the same filters and sort with it, or drop it to \
                 start from the first page"
                    .to_owned(),
            ));
        }
        Ok(envelope.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_cursors() {
        let key = CursorKey::random();
        let cursor = key.encode(7, Position::IntKey { v: 1_700_000_000, r: 42 });
        assert_eq!(key.decode(&cursor, 7).unwrap(), Position::IntKey { v: 1_700_000_000, r: 42 });
        assert!(matches!(key.decode(&cursor, 8), Err(StoreError::InvalidArgument(_))));
        assert!(matches!(key.decode("not a cursor", 7), Err(StoreError::InvalidArgument(_))));
        assert!(matches!(key.decode("' OR 1=1 --", 7), Err(StoreError::InvalidArgument(_))));
        assert!(CursorKey::random().decode(&cursor, 7).is_err(), "another store's key");
    }

    #[test]
    fn a_forged_or_altered_cursor_is_refused() {
        let key = CursorKey::random();
        // What an attacker can write without the key: the old unsigned format, and a re-signed guess.
        let unsigned = URL_SAFE_NO_PAD.encode(br#"{"f":7,"k":"o","o":9223372036854775808}"#);
        assert!(key.decode(&unsigned, 7).is_err());
        let issued = key.encode(7, Position::Offset { o: 50 });
        let (_, signature) = issued.split_once('.').unwrap();
        let forged = format!("{unsigned}.{signature}");
        assert!(key.decode(&forged, 7).is_err());
        assert_eq!(key.decode(&issued, 7).unwrap(), Position::Offset { o: 50 });
        assert!(CursorKey::from_hex(&"ab".repeat(32)).is_some());
        assert!(CursorKey::from_hex("abcd").is_none());
    }
}

//! Opaque pagination cursors. A cursor records where the previous page ended and a fingerprint of the search
//! that produced it, so a cursor replayed against a different search is refused rather than silently wrong.

use std::hash::{DefaultHasher, Hash, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::StoreError;

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
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// Fingerprint of the search (filter and order) the cursor belongs to.
    f: u64,
    #[serde(flatten)]
    p: Position,
}

/// A stable fingerprint of anything hashable describing a search.
pub(super) fn fingerprint(search: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    search.hash(&mut hasher);
    hasher.finish()
}

pub(super) fn encode(fingerprint: u64, position: Position) -> String {
    let json = serde_json::to_vec(&Envelope { f: fingerprint, p: position }).expect("cursor serializes");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor issued for the search with this fingerprint.
pub(super) fn decode(cursor: &str, expected_fingerprint: u64) -> Result<Position, StoreError> {
    let invalid = || {
        StoreError::InvalidArgument(
            "invalid cursor: pass the next_cursor of the previous page unchanged, with the same filters".to_owned(),
        )
    };
    if cursor.len() > 1024 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if envelope.f != expected_fingerprint {
        return Err(StoreError::InvalidArgument(
            "this cursor belongs to a different search: repeat the same filters and sort with it, or drop it to \
             start from the first page"
                .to_owned(),
        ));
    }
    Ok(envelope.p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_cursors() {
        let cursor = encode(7, Position::IntKey { v: 1_700_000_000, r: 42 });
        assert_eq!(decode(&cursor, 7).unwrap(), Position::IntKey { v: 1_700_000_000, r: 42 });
        assert!(matches!(decode(&cursor, 8), Err(StoreError::InvalidArgument(_))));
        assert!(matches!(decode("not a cursor", 7), Err(StoreError::InvalidArgument(_))));
        assert!(matches!(decode("' OR 1=1 --", 7), Err(StoreError::InvalidArgument(_))));
    }
}

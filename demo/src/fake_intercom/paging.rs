//! Cursors and `pages` objects.
//!
//! A cursor names the sort key of the last item returned, not an offset, so it stays valid while the data
//! changes underneath (items inserted before it do not shift the next page). It is hex text behind Intercom's
//! usual `Wz` prefix: opaque to clients, trivially decoded here.

use serde::Serialize;

/// The position after which the next page starts: `(updated_at, id)` of the last item returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorKey {
    pub updated_at: i64,
    pub id: String,
}

pub fn encode(key: &CursorKey) -> String {
    let text = format!("{}.{}", key.updated_at, key.id);
    let mut cursor = String::with_capacity(2 + text.len() * 2);
    cursor.push_str("Wz");
    for byte in text.bytes() {
        cursor.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        cursor.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    cursor
}

/// `None` for anything this fake did not hand out.
pub fn decode(cursor: &str) -> Option<CursorKey> {
    let hex = cursor.strip_prefix("Wz")?.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes: Option<Vec<u8>> = hex.chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (updated_at, id) = text.split_once('.')?;
    Some(CursorKey { updated_at: updated_at.parse().ok()?, id: id.to_owned() })
}

#[derive(Debug, Serialize)]
struct Next {
    page: usize,
    starting_after: String,
}

/// Intercom's `cursor_pages`; `next` is left out on the last page, as in the spec's examples.
#[derive(Debug, Serialize)]
pub struct CursorPages {
    #[serde(rename = "type")]
    kind: &'static str,
    page: usize,
    per_page: usize,
    total_pages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Next>,
}

impl CursorPages {
    /// `before`: matching items before this page; `next`: the cursor when more items follow this page.
    pub fn new(before: usize, per_page: usize, total: usize, next: Option<CursorKey>) -> Self {
        let page = before / per_page.max(1) + 1;
        Self {
            kind: "pages",
            page,
            per_page,
            total_pages: total.div_ceil(per_page.max(1)),
            next: next.map(|key| Next { page: page + 1, starting_after: encode(&key) }),
        }
    }
}

/// Writes `{"type":TYPE,"KEY":[items...],"total_count":N,"pages":PAGES}` from already serialised items, each
/// followed by `suffix`.
pub fn list_body(
    kind: &str,
    key: &str,
    items: &[impl AsRef<[u8]>],
    suffix: &[u8],
    total: usize,
    pages: &impl Serialize,
) -> Vec<u8> {
    let size: usize = items.iter().map(|i| i.as_ref().len() + suffix.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 256);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_ref());
        out.extend_from_slice(suffix);
    }
    out.extend_from_slice(b"],\"total_count\":");
    out.extend_from_slice(total.to_string().as_bytes());
    out.extend_from_slice(b",\"pages\":");
    let _ = serde_json::to_writer(&mut out, pages);
    out.push(b'}');
    out
}

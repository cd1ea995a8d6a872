//! Who is calling and what they may reach: API keys for the HTTP transport and the tool patterns that restrict
//! a key to some tools.
//!
//! A key is 256 random bits shown to its owner once; the store keeps only its SHA-256. Because keys are random
//! (nothing to guess from a dictionary), a fast hash is as strong as a slow one here, and it lets every request be
//! checked in microseconds. The transport authenticates a request into a [`Caller`]; the protocol layer reads the
//! caller to filter `tools/list` and refuse calls outside the key's patterns. Stdio has no caller: whoever
//! started the process owns it.

mod keys;
mod tools;

use std::sync::Arc;

pub use keys::{GeneratedKey, KeySet, StoredKey, generate_key, hash_key};
pub use tools::{ToolPattern, ToolPatternError};

/// An authenticated HTTP caller, attached to each request it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's name, for logs, metrics and rate limits (never the key itself).
    pub key_name: Arc<str>,
    /// The tools this key may see and call; `None` means every tool.
    pub tools: Option<Arc<ToolPattern>>,
}

impl Caller {
    /// The caller of an HTTP server that has no keys at all (loopback only): it may use every tool.
    pub fn anonymous() -> Self {
        Self { key_name: Arc::from("anonymous"), tools: None }
    }

    /// Whether this caller may see and call `tool`.
    pub fn may_use(&self, tool: &str) -> bool {
        self.tools.as_ref().is_none_or(|pattern| pattern.matches(tool))
    }
}

//! The answer envelope every built-in tool returns, and its JSON Schema.
//!
//! One shape for every tool means a model (or a script) learns it once: how many matched, what came back, how
//! to get more, which filters were really applied, and how fresh the data is:
//!
//! ```json
//! {"summary": {"total": 120, "returned": 50, "query_ms": 0.412},
//!  "results": [...],
//!  "pagination": {"next_cursor": "…", "has_more": true},
//!  "metadata": {"filters": {"state": "open", "created_after": "2025-01-09T00:00:00Z"},
//!               "data_as_of": "2025-01-15T12:00:00Z", "source": "intercom"}}
//! ```
//!
//! A [`crate::TypedTool`] answers with it by making its `Output` an `Envelope<T>`: the envelope serialises in
//! this shape and derives its schema ([`envelope_output_schema`] around `T`'s) through `schemars`.
//!
//! Building the envelope is pure: the caller passes in the freshness it got from [`crate::freshness`], so a
//! guest that never asks for freshness does not import the `sync-status` interface.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::sync_status::DataFreshness;
use crate::time::format_unix;
use crate::{ContentBlock, ToolError, ToolOutput};

/// The filters a search really applied, normalised (trimmed text, timestamps as RFC 3339, defaults filled
/// in), for `metadata.filters`. Keys are kept sorted, so equal filters serialise equally.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    map: Map<String, Value>,
}

impl Filters {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `key` = `value`.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.map.insert(key.to_owned(), value.into());
        self
    }

    /// Records `key` = `value` when there is a value.
    pub fn set_opt<T: Into<Value>>(&mut self, key: &str, value: Option<T>) -> &mut Self {
        if let Some(value) = value {
            self.set(key, value);
        }
        self
    }

    /// Records a list unless it is empty.
    pub fn set_list<T: Into<Value>>(&mut self, key: &str, values: Vec<T>) -> &mut Self {
        if !values.is_empty() {
            self.set(key, Value::Array(values.into_iter().map(Into::into).collect()));
        }
        self
    }

    /// Records a unix-seconds bound, when present, as RFC 3339 text.
    pub fn set_time(&mut self, key: &str, seconds: Option<i64>) -> &mut Self {
        self.set_opt(key, seconds.map(format_unix))
    }

    /// The filters as a JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }
}

/// A builder for the envelope; see the module docs for the shape.
///
/// Generic over the result type so that tools can return `#[derive(Serialize)]` structs: their fields come out
/// in declaration order (`id` first), which a `serde_json::Value` map, being sorted, would not keep.
#[derive(Debug, Clone)]
pub struct Envelope<T = Value> {
    results: Vec<T>,
    total: Option<u64>,
    total_is_estimate: bool,
    ranked: Option<u64>,
    next_cursor: Option<String>,
    filters: Map<String, Value>,
    data_as_of: Option<i64>,
    source: String,
    query_ms: f64,
}

impl<T: Serialize> Envelope<T> {
    /// An envelope around `results`; `total` defaults to their number, there is no next page, no filters, no
    /// query time, and the source is `"empty"` until [`Envelope::freshness`] says otherwise.
    pub fn new(results: Vec<T>) -> Self {
        Self {
            results,
            total: None,
            total_is_estimate: false,
            ranked: None,
            next_cursor: None,
            filters: Map::new(),
            data_as_of: None,
            source: "empty".to_owned(),
            query_ms: 0.0,
        }
    }

    /// How many items match in all (across every page).
    pub fn total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }

    /// Marks the total as an estimate (`summary.total_is_estimate`, present only when true), as a bounded
    /// search reports it.
    pub fn total_is_estimate(mut self, estimate: bool) -> Self {
        self.total_is_estimate = estimate;
        self
    }

    /// In relevance order, how many results from the first are ranked when not all are (`summary.ranked`,
    /// present only when set), as a bounded search reports it.
    pub fn ranked(mut self, ranked: Option<u64>) -> Self {
        self.ranked = ranked;
        self
    }

    /// The cursor of the next page, exactly as the host returned it.
    pub fn next_cursor(mut self, cursor: Option<String>) -> Self {
        self.next_cursor = cursor;
        self
    }

    /// The filters applied, for `metadata.filters`.
    pub fn filters(mut self, filters: Filters) -> Self {
        self.filters = filters.into_map();
        self
    }

    /// Where the data came from and when it was last synced, from [`crate::freshness`].
    pub fn freshness(mut self, freshness: &DataFreshness) -> Self {
        self.data_as_of = freshness.last_synced_at;
        self.source = freshness.source.clone();
        self
    }

    /// Milliseconds spent in host calls (see [`crate::Stopwatch`]).
    pub fn query_ms(mut self, ms: f64) -> Self {
        self.query_ms = if ms.is_finite() && ms >= 0.0 { ms } else { 0.0 };
        self
    }

    /// The envelope as compact JSON text.
    pub fn to_json(&self) -> Result<String, ToolError> {
        serde_json::to_string(&self.wire())
            .map_err(|e| ToolError::Internal(format!("could not serialise the answer: {e}")))
    }

    /// The envelope as a JSON value (object keys sorted).
    pub fn to_value(&self) -> Result<Value, ToolError> {
        serde_json::to_value(self.wire())
            .map_err(|e| ToolError::Internal(format!("could not serialise the answer: {e}")))
    }

    /// The tool output: the envelope as structured JSON and, for clients that only read text, the same JSON as
    /// text.
    pub fn into_output(self) -> Result<ToolOutput, ToolError> {
        let text = self.to_json()?;
        Ok(ToolOutput { content: vec![ContentBlock::Text(text.clone())], structured: Some(text) })
    }

    fn wire(&self) -> Wire<'_, T> {
        Wire {
            summary: Summary {
                total: self.total.unwrap_or(self.results.len() as u64),
                total_is_estimate: self.total_is_estimate.then_some(true),
                ranked: self.ranked,
                returned: self.results.len(),
                query_ms: self.query_ms,
            },
            results: &self.results,
            pagination: Pagination { next_cursor: self.next_cursor.as_deref(), has_more: self.next_cursor.is_some() },
            metadata: Metadata {
                filters: &self.filters,
                data_as_of: self.data_as_of.map(format_unix),
                source: &self.source,
            },
        }
    }
}

/// Serialises as the documented envelope, so that a [`crate::TypedTool`] can answer with an `Envelope<T>`.
impl<T: Serialize> Serialize for Envelope<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

/// [`envelope_output_schema`] around the schema of `T`, so that a [`crate::TypedTool`] whose `Output` is an
/// `Envelope<T>` gets the standard output schema derived for it. Always inlined (never a `$ref`).
impl<T: JsonSchema> JsonSchema for Envelope<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Envelope_of_{}", T::schema_name()).into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("fastintercom_plugin_sdk::Envelope<{}>", T::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        Schema::try_from(envelope_output_schema(item.to_value())).unwrap_or_default()
    }
}

/// The serialised form of [`Envelope`], in the documented key order.
#[derive(Serialize)]
struct Wire<'a, T> {
    summary: Summary,
    results: &'a [T],
    pagination: Pagination<'a>,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct Summary {
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_is_estimate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ranked: Option<u64>,
    returned: usize,
    query_ms: f64,
}

#[derive(Serialize)]
struct Pagination<'a> {
    next_cursor: Option<&'a str>,
    has_more: bool,
}

#[derive(Serialize)]
struct Metadata<'a> {
    filters: &'a Map<String, Value>,
    data_as_of: Option<String>,
    source: &'a str,
}

/// The JSON Schema (draft 2020-12) of an envelope whose `results` items follow `result_item`; use it as a
/// tool's output schema.
pub fn envelope_output_schema(result_item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["summary", "results", "pagination", "metadata"],
        "properties": {
            "summary": {
                "type": "object",
                "required": ["total", "returned", "query_ms"],
                "properties": {
                    "total": {"type": "integer", "minimum": 0, "description": "How many items match in all, across every page; an estimate when `total_is_estimate` is true."},
                    "total_is_estimate": {"type": "boolean", "const": true, "description": "Present (true) when `total` was estimated rather than counted: counting stops at 10,000 matches of a text (then more match), and a text with thousands of matches combined with other filters is estimated from a sample of the conversations the filters select (the first in their index, not a random one). Never less than this page's results (plus one when there is a next page)."},
                    "ranked": {"type": "integer", "minimum": 0, "description": "Present in relevance order when the text matched too many conversations to rank them all: this many results, from the first, are ranked best first (among the most recent matches); the rest follow newest first. 0 when none is ranked: the text is too common to rank, or none of its most recent matches meets the filters."},
                    "returned": {"type": "integer", "minimum": 0, "description": "How many items are in `results`."},
                    "query_ms": {"type": "number", "minimum": 0, "description": "Milliseconds spent querying the local store."}
                }
            },
            "results": {"type": "array", "items": result_item},
            "pagination": {
                "type": "object",
                "required": ["next_cursor", "has_more"],
                "properties": {
                    "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor`, with the same other arguments, for the next page."},
                    "has_more": {"type": "boolean"}
                }
            },
            "metadata": {
                "type": "object",
                "required": ["filters", "data_as_of", "source"],
                "properties": {
                    "filters": {"type": "object", "description": "The filters actually applied, normalised."},
                    "data_as_of": {"type": ["string", "null"], "format": "date-time", "description": "When the local copy was last synced (RFC 3339, UTC); null when empty."},
                    "source": {"type": "string", "description": "\"intercom\" (a synced workspace), \"demo\" (synthetic data) or \"empty\"."},
                    "cache_hit": {"type": "boolean", "const": true, "description": "Present (true) when the server answered from answers it kept: the same call on the same data, at most 30 s ago. Everything else in the answer is as it was then, `query_ms` included."}
                }
            }
        }
    })
}

/// Schema fragments that several tools share.
pub mod schema {
    use serde_json::{Value, json};

    use crate::time::Timeframe;

    /// An argument taking a point in time, as [`crate::parse_time`] accepts it.
    pub fn time_argument(description: &str) -> Value {
        json!({
            "type": ["string", "integer"],
            "description": format!("{description} ISO 8601 date or datetime (\"2025-01-15\" = midnight UTC, \"2025-01-15T09:30:00Z\"; no offset = UTC) or unix seconds."),
        })
    }

    /// The `timeframe` argument.
    pub fn timeframe_argument(description: &str) -> Value {
        json!({"type": "string", "enum": Timeframe::names(), "description": description})
    }

    /// The `limit` argument: 1..=`max`, `default` when absent.
    pub fn limit_argument(default: u32, max: u32) -> Value {
        json!({
            "type": "integer", "minimum": 1, "maximum": max, "default": default,
            "description": format!("Most results to return (1-{max}, default {default}); `summary.total` says how many match in all."),
        })
    }

    /// The `cursor` argument.
    pub fn cursor_argument() -> Value {
        json!({
            "type": "string",
            "description": "`pagination.next_cursor` of the previous call, to get the next page; repeat the other arguments unchanged.",
        })
    }

    /// A value of JSON type `type_name` or null.
    pub fn nullable(type_name: &str) -> Value {
        json!({"type": [type_name, "null"]})
    }

    /// An RFC 3339 UTC timestamp, or null when `nullable`.
    pub fn timestamp(nullable: bool) -> Value {
        if nullable {
            json!({"type": ["string", "null"], "format": "date-time"})
        } else {
            json!({"type": "string", "format": "date-time"})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContentBlock;

    #[test]
    fn builds_the_standard_shape() {
        let mut filters = Filters::new();
        filters
            .set("state", "open")
            .set_opt("query", None::<String>)
            .set_list("tags", vec!["vip"])
            .set_list::<String>("empty", vec![])
            .set_time("created_after", Some(1_736_899_200));
        let freshness = DataFreshness { last_synced_at: Some(1_736_942_400), source: "demo".to_owned() };
        let envelope = Envelope::new(vec![json!({"id": "1"}), json!({"id": "2"})])
            .total(120)
            .next_cursor(Some("c2".to_owned()))
            .filters(filters)
            .freshness(&freshness)
            .query_ms(0.25);
        assert_eq!(
            envelope.to_value().unwrap(),
            json!({
                "summary": {"total": 120, "returned": 2, "query_ms": 0.25},
                "results": [{"id": "1"}, {"id": "2"}],
                "pagination": {"next_cursor": "c2", "has_more": true},
                "metadata": {
                    "filters": {"created_after": "2025-01-15T00:00:00Z", "state": "open", "tags": ["vip"]},
                    "data_as_of": "2025-01-15T12:00:00Z",
                    "source": "demo"
                }
            })
        );
    }

    #[test]
    fn defaults_describe_an_empty_last_page() {
        let value = Envelope::<Value>::new(vec![]).query_ms(f64::NAN).to_value().unwrap();
        assert_eq!(
            value,
            json!({
                "summary": {"total": 0, "returned": 0, "query_ms": 0.0},
                "results": [],
                "pagination": {"next_cursor": null, "has_more": false},
                "metadata": {"filters": {}, "data_as_of": null, "source": "empty"}
            })
        );
    }

    #[test]
    fn output_carries_the_same_json_as_text_and_structured() {
        let output = Envelope::new(vec![json!(1)]).into_output().unwrap();
        let structured = output.structured.clone().unwrap();
        assert!(matches!(&output.content[..], [ContentBlock::Text(text)] if *text == structured));
        let parsed: Value = serde_json::from_str(&structured).unwrap();
        assert_eq!(parsed["summary"]["returned"], 1);
    }

    #[test]
    fn typed_results_keep_their_field_order() {
        #[derive(Serialize)]
        struct Item {
            id: &'static str,
            a: u8,
        }
        let text = Envelope::new(vec![Item { id: "x", a: 1 }]).to_json().unwrap();
        assert_eq!(
            text,
            r#"{"summary":{"total":1,"returned":1,"query_ms":0.0},"results":[{"id":"x","a":1}],"pagination":{"next_cursor":null,"has_more":false},"metadata":{"filters":{},"data_as_of":null,"source":"empty"}}"#
        );
    }

    #[test]
    fn schema_wraps_the_item_schema() {
        let schema = envelope_output_schema(json!({"type": "object"}));
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["results"]["items"], json!({"type": "object"}));
        assert_eq!(schema["required"], json!(["summary", "results", "pagination", "metadata"]));
    }
}

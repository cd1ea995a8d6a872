//! `get_conversation`: one whole thread by id.

use fastintercom_plugin_sdk::conversations;
use fastintercom_plugin_sdk::{
    Args, Detail, Envelope, Filters, Stopwatch, Tool, ToolDescriptor, ToolError, ToolOutput, envelope_output_schema,
    freshness,
};
use serde_json::{Value, json};

use crate::render::{ConversationOut, conversation_schema};

/// The most parts `max_parts` may ask for: every part the store keeps (Intercom returns at most 500).
const MAX_PARTS: i64 = 500;
/// Parts a compact answer keeps when the caller does not say: the first and last 20.
const COMPACT_MAX_PARTS: usize = 40;

/// The `get_conversation` tool.
pub struct GetConversation;

impl Tool for GetConversation {
    const NAME: &'static str = "get_conversation";

    fn describe() -> ToolDescriptor {
        ToolDescriptor::read_only(
            Self::NAME,
            "Get a conversation",
            "Returns one Intercom conversation with its whole thread: the summary fields search_conversations \
             gives, the first message in full, and every reply, internal note and event (assignment, close, \
             snooze, ...) oldest first, each with its author and time, as plain text. Use it to read what was \
             said after finding the conversation's id with search_conversations. A long thread can be read head \
             and tail (max_parts, compact detail: 40 parts), the middle marked in parts_elided.",
            &input_schema(),
            Some(&envelope_output_schema(conversation_schema())),
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        let args = Args::parse(arguments)?;
        args.deny_unknown(&["id", "detail", "max_parts"])?;
        let id = args.required_string("id")?;
        let detail = Detail::from_args(&args, Detail::Full)?;
        let max_parts = match args.integer("max_parts", 1..=MAX_PARTS)? {
            Some(max) => Some(usize::try_from(max).unwrap_or(usize::MAX)),
            None if detail.is_compact() => Some(COMPACT_MAX_PARTS),
            None => None,
        };
        let mut watch = Stopwatch::new();
        let freshness = watch.time(freshness);
        let conversation = watch.time(|| conversations::get(&id))?.ok_or_else(|| {
            ToolError::NotFound(format!(
                "No conversation with id {id}; use search_conversations to find conversation ids."
            ))
        })?;
        let mut applied = Filters::new();
        applied.set("id", id.as_str()).set("detail", detail.as_str()).set_opt("max_parts", max_parts);
        Envelope::new(vec![ConversationOut::new(&conversation, detail, max_parts)])
            .total(1)
            .filters(applied)
            .freshness(&freshness)
            .query_ms(watch.ms())
            .into_output()
    }
}

fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "The conversation id, as search_conversations returns it."},
            "detail": Detail::argument_schema(Detail::Full, "summary fields as search_conversations gives them in compact detail, parts without ids or null fields, at most 40 parts unless max_parts says otherwise."),
            "max_parts": {"type": "integer", "minimum": 1, "maximum": MAX_PARTS, "description": "At most this many parts: a longer thread gives its first half and its last half, and parts_elided says how many were left out between them. Default: every part (40 in compact detail)."}
        },
        "required": ["id"],
        "additionalProperties": false
    })
}

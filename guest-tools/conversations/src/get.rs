//! `get_conversation`: one whole thread by id.

use fastintercom_plugin_sdk::conversations;
use fastintercom_plugin_sdk::{
    Args, Envelope, Filters, Stopwatch, Tool, ToolDescriptor, ToolError, ToolOutput, envelope_output_schema, freshness,
};
use serde_json::{Value, json};

use crate::render::{ConversationOut, conversation_schema};

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
             said after finding the conversation's id with search_conversations.",
            &input_schema(),
            Some(&envelope_output_schema(conversation_schema())),
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        let args = Args::parse(arguments)?;
        args.deny_unknown(&["id"])?;
        let id = args.required_string("id")?;
        let mut watch = Stopwatch::new();
        let freshness = watch.time(freshness);
        let conversation = watch.time(|| conversations::get(&id))?.ok_or_else(|| {
            ToolError::NotFound(format!(
                "No conversation with id {id}; use search_conversations to find conversation ids."
            ))
        })?;
        let mut applied = Filters::new();
        applied.set("id", id.as_str());
        Envelope::new(vec![ConversationOut::from(&conversation)])
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
            "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "The conversation id, as search_conversations returns it."}
        },
        "required": ["id"],
        "additionalProperties": false
    })
}

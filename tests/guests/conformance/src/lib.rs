//! The fixture tools of the official MCP conformance suite (`@modelcontextprotocol/conformance`), as a plugin
//! like any other, so the suite exercises the real path: registry, schema validation, sandbox, protocol.
//! Fixtures needing content this contract cannot express yet (images, audio, resources) or server-to-client
//! requests (sampling, elicitation, progress) are absent; the baseline lists their scenarios.

use fastintercom_plugin_sdk::{Tool, ToolDescriptor, ToolError, ToolOutput};
use serde_json::json;

struct SimpleText;

impl Tool for SimpleText {
    const NAME: &'static str = "test_simple_text";

    fn describe() -> ToolDescriptor {
        let input = json!({"type": "object", "properties": {}});
        ToolDescriptor::read_only(
            Self::NAME,
            "Simple text",
            "Returns a fixed text (conformance fixture).",
            &input,
            None,
        )
    }

    fn call(_arguments: &str) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text("This is a simple text response for testing."))
    }
}

struct ErrorHandling;

impl Tool for ErrorHandling {
    const NAME: &'static str = "test_error_handling";

    fn describe() -> ToolDescriptor {
        let input = json!({"type": "object", "properties": {}});
        ToolDescriptor::read_only(Self::NAME, "Error handling", "Always fails (conformance fixture).", &input, None)
    }

    fn call(_arguments: &str) -> Result<ToolOutput, ToolError> {
        Err(ToolError::Internal("This tool intentionally returns an error for testing".to_owned()))
    }
}

struct JsonSchema2020;

impl Tool for JsonSchema2020 {
    const NAME: &'static str = "json_schema_2020_12_tool";

    fn describe() -> ToolDescriptor {
        let input = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": false
        });
        ToolDescriptor::read_only(
            Self::NAME,
            "JSON Schema 2020-12",
            "Keeps its 2020-12 schema whole (fixture).",
            &input,
            None,
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text(arguments))
    }
}

fastintercom_plugin_sdk::export_plugin!(SimpleText, ErrorHandling, JsonSchema2020);

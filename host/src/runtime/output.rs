//! What a call returns, and the one place that counts it against the output limit.
//!
//! Everything a guest hands back reaches the client: text blocks, structured JSON and error messages alike. Each
//! is counted as the bytes it takes in the JSON-RPC response (text escaped as JSON, plus each block's own
//! framing), so neither a 100 MB error message nor millions of empty blocks get past the limit.

use super::CallError;
use crate::bindings::tool;

/// Bytes each content block adds to a response besides its text: `{"type":"text","text":""},`.
const BLOCK_FRAMING_BYTES: usize = 26;

/// Bytes `text` takes as a JSON string (quotes and escapes included).
fn json_string_bytes(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// What a successful answer costs.
fn answer_bytes(output: &tool::ToolOutput) -> usize {
    let blocks: usize = output
        .content
        .iter()
        .map(|block| match block {
            tool::ContentBlock::Text(text) => BLOCK_FRAMING_BYTES + json_string_bytes(text),
        })
        .sum();
    blocks + output.structured.as_ref().map_or(0, String::len)
}

/// The guest's answer, or its error, if it fits in `limit` bytes; otherwise an error saying how large it was.
pub(super) fn within_limit(
    result: Result<tool::ToolOutput, tool::ToolError>,
    limit: usize,
) -> Result<Result<tool::ToolOutput, tool::ToolError>, CallError> {
    let actual = match &result {
        Ok(output) => answer_bytes(output),
        Err(
            tool::ToolError::InvalidArguments(message)
            | tool::ToolError::NotFound(message)
            | tool::ToolError::Unavailable(message)
            | tool::ToolError::Internal(message),
        ) => BLOCK_FRAMING_BYTES + json_string_bytes(message),
    };
    if actual > limit {
        return Err(CallError::OutputTooLarge { actual, limit });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(blocks: &[&str]) -> tool::ToolOutput {
        tool::ToolOutput {
            content: blocks.iter().map(|text| tool::ContentBlock::Text((*text).to_owned())).collect(),
            structured: None,
        }
    }

    #[test]
    fn counts_json_escapes_block_framing_and_structured_output() {
        assert_eq!(json_string_bytes("ab"), 4);
        assert_eq!(json_string_bytes("a\"\n"), 2 + 1 + 2 + 2);
        assert_eq!(json_string_bytes("\u{1}"), 2 + 6);
        let mut output = text(&["", ""]);
        assert_eq!(answer_bytes(&output), 2 * (BLOCK_FRAMING_BYTES + 2));
        output.structured = Some("{}".to_owned());
        assert_eq!(answer_bytes(&output), 2 * (BLOCK_FRAMING_BYTES + 2) + 2);
    }

    #[test]
    fn empty_blocks_and_error_messages_count_against_the_limit() {
        let many_empty = text(&vec![""; 1000]);
        assert!(matches!(within_limit(Ok(many_empty), 10_000), Err(CallError::OutputTooLarge { .. })));
        let long_error = tool::ToolError::Internal("x".repeat(10_001));
        assert!(matches!(within_limit(Err(long_error), 10_000), Err(CallError::OutputTooLarge { .. })));
        let short_error = tool::ToolError::NotFound("no such thing".to_owned());
        assert!(matches!(within_limit(Err(short_error), 10_000), Ok(Err(tool::ToolError::NotFound(_)))));
        assert!(within_limit(Ok(text(&["fits"])), 10_000).unwrap().is_ok());
    }
}

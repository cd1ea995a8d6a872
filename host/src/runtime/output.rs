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

/// Bytes a JSON string can take at most per byte of text (a control character becomes `\u00XX`).
const MAX_ESCAPED_BYTES_PER_BYTE: usize = 6;

/// Bytes the content blocks take, at most: without looking at their text, from its length.
fn content_bytes_at_most(content: &[tool::ContentBlock]) -> usize {
    content
        .iter()
        .map(|block| match block {
            tool::ContentBlock::Text(text) => BLOCK_FRAMING_BYTES + 2 + text.len() * MAX_ESCAPED_BYTES_PER_BYTE,
        })
        .sum()
}

/// Bytes the content blocks take.
fn content_bytes(content: &[tool::ContentBlock]) -> usize {
    content
        .iter()
        .map(|block| match block {
            tool::ContentBlock::Text(text) => BLOCK_FRAMING_BYTES + json_string_bytes(text),
        })
        .sum()
}

/// What a successful answer costs, at most: without looking at the text, from its length.
fn answer_bytes_at_most(output: &tool::ToolOutput) -> usize {
    content_bytes_at_most(&output.content) + output.structured.as_ref().map_or(0, String::len)
}

/// What a successful answer costs.
fn answer_bytes(output: &tool::ToolOutput) -> usize {
    content_bytes(&output.content) + output.structured.as_ref().map_or(0, String::len)
}

/// The guest's answer, or its error, if it fits in `limit` bytes; otherwise an error saying how large it was.
pub(super) fn within_limit(
    result: Result<tool::ToolOutput, tool::ToolError>,
    limit: usize,
) -> Result<Result<tool::ToolOutput, tool::ToolError>, CallError> {
    let actual = match &result {
        // Most answers are far below the limit even if every byte needed escaping: no need to read the text.
        Ok(output) if answer_bytes_at_most(output) <= limit => return Ok(result),
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

/// How much longer structured output can get when the host writes it out again after parsing it (`9e15` becomes
/// `9000000000000000.0`, four and a half times as long; everything else stays or shrinks).
const MAX_REWRITE_GROWTH: usize = 5;

/// Checks the structured output as it will be sent (written again from `value`, parsed from `raw_len` bytes), in
/// an answer whose other parts are `content`. Cheap for most answers: only one that might be near the limit has
/// its text read and its structured output written out again to count them.
pub(super) fn structured_within_limit(
    value: &serde_json::Value,
    raw_len: usize,
    content: &[tool::ContentBlock],
    limit: usize,
) -> Result<(), CallError> {
    if content_bytes_at_most(content) + raw_len.saturating_mul(MAX_REWRITE_GROWTH) <= limit {
        return Ok(());
    }
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, value).expect("counting cannot fail");
    let actual = content_bytes(content) + counter.0;
    if actual > limit {
        return Err(CallError::OutputTooLarge { actual, limit });
    }
    Ok(())
}

/// Counts what is written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
    fn structured_output_counts_as_it_is_written_again() {
        let raw = format!("[{}]", vec!["9e15"; 1000].join(","));
        let value: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let written = serde_json::to_string(&value).unwrap().len();
        assert!(written > raw.len() * 3, "{written} against {}", raw.len());
        assert!(structured_within_limit(&value, raw.len(), &[], written).is_ok());
        let one_empty_block = [tool::ContentBlock::Text(String::new())];
        assert!(matches!(
            structured_within_limit(&value, raw.len(), &one_empty_block, written),
            Err(CallError::OutputTooLarge { actual, .. }) if actual == written + BLOCK_FRAMING_BYTES + 2
        ));
    }

    #[test]
    fn the_quick_bound_never_undercounts() {
        let output = text(&["\u{1}\u{1}", "plain", "\"q\""]);
        assert!(answer_bytes_at_most(&output) >= answer_bytes(&output));
        let limit = answer_bytes(&output);
        assert!(within_limit(Ok(output.clone()), limit).is_ok());
        assert!(within_limit(Ok(output), limit - 1).is_err(), "the exact count decides near the limit");
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

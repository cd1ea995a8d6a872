//! Logs go to stderr (stdout carries MCP on stdio): human-readable on a terminal, one JSON object per line
//! otherwise, so a log collector gets fields (request ids, tools, plugins) rather than prose.
//!
//! Log lines carry text the host does not control (plugins' messages and output, tool names a client sent,
//! errors that quote them). One event is one line in either format: JSON escapes line breaks and control
//! characters itself, and the text format's writer escapes them ([`OneLinePerEvent`]), so a plugin that logs
//! `"\n2026-12-06T00:00:00Z  INFO ... key revoked"` cannot forge a line, and one that logs terminal escape
//! sequences cannot drive the operator's terminal.

use std::io::{self, IsTerminal as _, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber. `FASTINTERCOM_LOG` sets the filter (default `default_filter`);
/// `FASTINTERCOM_LOG_FORMAT=json|text` overrides the terminal check.
pub fn init_logging(default_filter: &str) {
    let filter = EnvFilter::try_from_env("FASTINTERCOM_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = match std::env::var("FASTINTERCOM_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_ansi(false).with_env_filter(filter);
    if json {
        builder.with_writer(io::stderr).json().flatten_event(true).with_current_span(true).with_span_list(false).init();
    } else {
        builder.with_writer(OneLinePerEvent(io::stderr)).init();
    }
}

/// Wraps a writer so that each write (the text formatter writes each event whole, ending with a newline) comes
/// out as exactly one line: every control character in it but the final newline is written escaped.
#[derive(Clone, Copy)]
pub struct OneLinePerEvent<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for OneLinePerEvent<M> {
    type Writer = Escaping<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping(self.0.make_writer())
    }
}

/// See [`OneLinePerEvent`].
pub struct Escaping<W>(W);

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (body, ends_line) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, true),
            None => (buf, false),
        };
        let mut line = escape_controls(body);
        if ends_line {
            line.push(b'\n');
        }
        self.0.write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `bytes` with every ASCII control character (and DEL) written as `\n`, `\r`, `\t` or `\xNN`, the C1 controls
/// (U+0080 to U+009F: NEL breaks lines, CSI starts terminal sequences) as `\u{NN}`, and the Unicode line and
/// paragraph separators as `\u{2028}` / `\u{2029}`.
pub fn escape_controls(bytes: &[u8]) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'\n' => escaped.extend_from_slice(b"\\n"),
            b'\r' => escaped.extend_from_slice(b"\\r"),
            b'\t' => escaped.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => escaped.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
            // C1 controls in UTF-8.
            0xc2 if tail.first().is_some_and(|next| (0x80..=0x9f).contains(next)) => {
                escaped.extend_from_slice(format!("\\u{{{:02x}}}", tail[0]).as_bytes());
                rest = &tail[1..];
                continue;
            }
            // U+2028 and U+2029 in UTF-8: line breaks to some log viewers.
            0xe2 if tail.starts_with(&[0x80, 0xa8]) || tail.starts_with(&[0x80, 0xa9]) => {
                escaped.extend_from_slice(if tail[1] == 0xa8 { b"\\u{2028}" } else { b"\\u{2029}" });
                rest = &tail[2..];
                continue;
            }
            other => escaped.push(other),
        }
        rest = tail;
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_with_line_breaks_and_escapes_stays_one_line() {
        let mut out = Vec::new();
        let mut writer = Escaping(&mut out);
        writer.write_all(b"INFO plugin=p hi\n2026-12-06 INFO forged\r\x1b[31mred\xe2\x80\xa8x\n").unwrap();
        assert_eq!(out, b"INFO plugin=p hi\\n2026-12-06 INFO forged\\r\\x1b[31mred\\u{2028}x\n".to_vec());
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(escape_controls("ünïcode é".as_bytes()), "ünïcode é".as_bytes(), "ordinary text is untouched");
        assert_eq!(escape_controls("a\u{85}b\u{9b}31m".as_bytes()), b"a\\u{85}b\\u{9b}31m".to_vec());
    }
}

//! Plain text for search: Intercom bodies arrive as HTML, and user queries must not be parsed as FTS5 syntax.

use crate::StoreError;

/// Turns an Intercom HTML body into plain text: tags dropped, block elements and `<br>` become line breaks,
/// entities decoded, runs of blank space folded. It is deliberately a small scanner rather than an HTML
/// parser: Intercom bodies are simple fragments, and this runs for every part during sync.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(['<', '&']) {
        push_folded(&mut out, &rest[..start]);
        rest = &rest[start..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                // An unterminated tag: keep the text as it is.
                push_folded(&mut out, rest);
                rest = "";
                break;
            };
            if is_block_tag(&rest[1..end]) {
                push_break(&mut out);
            }
            rest = &rest[end + 1..];
        } else {
            let (decoded, used) = decode_entity(rest);
            push_folded(&mut out, decoded.encode_utf8(&mut [0; 4]));
            rest = &rest[used..];
        }
    }
    push_folded(&mut out, rest);
    let trimmed = out.trim_end();
    trimmed.trim_start().to_owned()
}

/// Appends text, folding whitespace runs into one space (line breaks come only from block tags).
fn push_folded(out: &mut String, text: &str) {
    for ch in text.chars() {
        if ch.is_whitespace() {
            if !(out.is_empty() || out.ends_with(' ') || out.ends_with('\n')) {
                out.push(' ');
            }
        } else {
            out.push(ch);
        }
    }
}

fn push_break(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn is_block_tag(tag: &str) -> bool {
    let name: String = tag
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        name.as_str(),
        "p" | "br" | "div" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr" | "blockquote" | "pre"
    )
}

/// Decodes the entity at the start of `text` (which starts with '&'); returns the character and the bytes used.
/// Unknown or malformed entities are kept literally.
fn decode_entity(text: &str) -> (char, usize) {
    let Some(end) = text[..text.len().min(12)].find(';') else {
        return ('&', 1);
    };
    let name = &text[1..end];
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" | "#39" => Some('\''),
        "nbsp" => Some(' '),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
            .and_then(char::from_u32),
    };
    match decoded {
        Some(ch) => (ch, end + 1),
        None => ('&', 1),
    }
}

/// The FTS5 MATCH expression of a conversation search's text, in its query syntax (words, `"phrases"`, `OR`,
/// `-exclusions`, `prefix*`; see [`crate::query_syntax`]): every word quoted, so no input changes the query's
/// shape beyond those operators.
pub fn fts_conversation_query(text: &str) -> Result<String, StoreError> {
    crate::query_syntax::parse(text).map(|query| query.fts5()).map_err(|problem| problem.into())
}

/// Builds an FTS5 MATCH expression from free text in which every word matches as a prefix ("jan" matches
/// "jane") and all must match: every word quoted, so FTS5 operators (`OR`, `NEAR`, `*`, `:`, `^`, parentheses)
/// are plain words. Returns `None` when the text has no searchable word. For contacts' names and emails.
pub fn fts_all_prefixes(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(crate::query_syntax::MAX_QUERY_WORDS)
        .map(|word| format!("\"{word}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// The first `max_chars` characters of `text` with its runs of whitespace made single spaces, cut at a word
/// boundary when one is in the second half, with an ellipsis. One pass, writing only what is kept: every
/// search result has one, read from up to 600 bytes of the first message.
pub fn preview(text: &str, max_chars: usize) -> String {
    let mut kept = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut chars = 0;
    // Where the last space between words was put, in bytes and in characters before it.
    let mut last_space = None;
    let mut cut = false;
    'words: for word in text.split_whitespace() {
        if chars > 0 {
            if chars == max_chars {
                cut = true;
                break;
            }
            last_space = Some((kept.len(), chars));
            kept.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars == max_chars {
                cut = true;
                break 'words;
            }
            kept.push(c);
            chars += 1;
        }
    }
    if cut {
        if let Some((byte, before)) = last_space.filter(|&(_, before)| before > max_chars / 2) {
            debug_assert!(before < chars);
            kept.truncate(byte);
        }
        kept.push('…');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text_with_line_breaks() {
        assert_eq!(
            html_to_text("<p>Hi <b>there</b>,</p><p>my card was charged twice &amp; I want a refund.</p>"),
            "Hi there,\nmy card was charged twice & I want a refund."
        );
        assert_eq!(html_to_text("a<br>b<br/>c"), "a\nb\nc");
        assert_eq!(html_to_text("  spaced \n\n out  "), "spaced out");
        assert_eq!(html_to_text("&#39;quoted&#x27; &lt;tag&gt; &bogus; & alone"), "'quoted' <tag> &bogus; & alone");
        assert_eq!(html_to_text("broken <tag"), "broken <tag");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn queries_become_quoted_words_only() {
        assert_eq!(fts_conversation_query("refund  card").unwrap(), "\"refund\" AND \"card\"");
        assert_eq!(
            fts_conversation_query("refund OR chargeback -spam").unwrap(),
            "\"refund\" NOT \"spam\"".replace("\"refund\"", "(\"refund\" OR \"chargeback\")")
        );
        assert!(matches!(fts_conversation_query(" !? "), Err(StoreError::InvalidArgument(_))));
        assert_eq!(fts_all_prefixes("jan doe").as_deref(), Some("\"jan\"* \"doe\"*"));
        assert_eq!(fts_all_prefixes("x\" OR *:^").as_deref(), Some("\"x\"* \"OR\"*"));
    }

    #[test]
    fn previews_cut_at_word_boundaries() {
        assert_eq!(preview("short text", 280), "short text");
        assert_eq!(preview("alpha beta gamma delta", 12), "alpha beta…");
        // Whitespace runs become one space; a text of exactly the limit is whole; a cut with no space in its
        // second half keeps every character it can.
        assert_eq!(preview(" alpha\n\n beta\tgamma ", 100), "alpha beta gamma");
        assert_eq!(preview("alpha beta", 10), "alpha beta");
        assert_eq!(preview("alpha beta ", 10), "alpha beta");
        assert_eq!(preview("alpha betagamma", 10), "alpha beta…");
        assert_eq!(preview("a verylongword", 8), "a verylo…");
        assert_eq!(preview("ünïcödé wörds hére", 12), "ünïcödé…");
        assert_eq!(preview("", 5), "");
    }

    /// The definition, plainly: flatten, count, cut, step back to a space in the second half.
    fn plain_preview(text: &str, max_chars: usize) -> String {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= max_chars {
            return flat;
        }
        let cut: Vec<char> = flat.chars().take(max_chars).collect();
        let end = match cut.iter().rposition(|&c| c == ' ') {
            Some(space) if space > max_chars / 2 => space,
            _ => cut.len(),
        };
        cut[..end].iter().collect::<String>() + "…"
    }

    #[test]
    fn previews_match_the_plain_definition() {
        // Texts of words, runs of spaces, tabs and newlines, and multi-byte letters, at every short limit.
        let pieces = ["a", "bc", "déf", " ", "  ", "\n", "\t ", "wörd", "x"];
        let mut seed = 7u64;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(seed % 12) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            for max_chars in 0..16 {
                assert_eq!(preview(&text, max_chars), plain_preview(&text, max_chars), "{text:?} at {max_chars}");
            }
        }
    }
}

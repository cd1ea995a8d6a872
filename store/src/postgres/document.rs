//! Search documents and queries, made here rather than by PostgreSQL's `to_tsvector` / `plainto_tsquery`.
//!
//! Stemming a conversation's words was half of what PostgreSQL spent writing it: a full sync into PostgreSQL
//! waited on the database's cores, while the replica that syncs has cores of its own. So the writer sends each
//! document as a `tsvector` already made (its text form: `'lexeme':1A,4 ...`, which the server only parses),
//! and a search sends its `tsquery` the same way. Both sides stem with the same function ([`Stems::lexeme`]),
//! so a query finds what a document holds by construction, whatever the server's text search configuration.
//!
//! The lexemes follow what `to_tsvector` with English stemming makes of words already split by
//! [`super::words`]: a word of ASCII letters is stemmed (Snowball's English stemmer, as PostgreSQL's); a word
//! with a digit or a letter outside ASCII is kept as it is (English stemming means nothing to "οδοσ", and the
//! stemmer is only trusted with ASCII). Positions count words from 1, the subject's weighted `A`, the body's
//! after the subject's last, as `setweight(subject, 'A') || body` numbers them.

use std::fmt::Write as _;

use foldhash::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

/// A word longer than this is left out of documents and queries, as `to_tsvector` leaves out words of 2,047
/// bytes and more (PostgreSQL 15 parses a lexeme of 2,047 bytes, refuses 2,048, and its limit has been stated
/// one byte lower elsewhere: this stays under both).
const MAX_LEXEME_BYTES: usize = 2046;

/// The largest position a `tsvector` holds; later words share it.
const MAX_POSITION: u16 = 16_383;

/// Positions a `tsvector` keeps per lexeme.
const MAX_POSITIONS_PER_LEXEME: usize = 256;

/// Most bytes of a document's text (as sent: lexemes quoted, positions written out), which bounds its size in
/// PostgreSQL too (smaller than its text): PostgreSQL refuses a `tsvector` whose data passes 1 MiB. Words past
/// this budget are left out (the first hundreds of pages of a thread find it as well as the rest).
const MAX_DOCUMENT_BYTES: usize = 960 * 1024;

/// What a position may take in a document's text, at most: `,16383A`.
const POSITION_BYTES: usize = 7;

/// Which stemming documents in a store were made with (`workspace_meta.document_format`): a store whose
/// documents PostgreSQL stemmed, or an older stemming, has them rebuilt when it is opened (see
/// [`super::migrate`]).
pub(crate) const DOCUMENT_FORMAT: &str = "rust-stemmers-1.2-english";

/// The English stemmer, with the stems of words already seen: a batch of conversations repeats most of its
/// words.
pub(crate) struct Stems {
    stemmer: Stemmer,
    seen: HashMap<String, String>,
}

/// Words whose stems a [`Stems`] keeps: a batch's distinct words are bounded by its text, and this bounds a
/// long-lived `Stems` as well.
const MAX_KEPT_STEMS: usize = 100_000;

impl Default for Stems {
    fn default() -> Self {
        Self { stemmer: Stemmer::create(Algorithm::English), seen: HashMap::default() }
    }
}

impl Stems {
    /// The lexeme of `word` (lowercase, as [`super::words`] gives it); `None` for a word too long to index.
    pub(crate) fn lexeme<'a>(&'a mut self, word: &'a str) -> Option<&'a str> {
        if word.is_empty() || word.len() > MAX_LEXEME_BYTES {
            return None;
        }
        if !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return Some(word);
        }
        if !self.seen.contains_key(word) {
            let stem = self.stemmer.stem(word).into_owned();
            if self.seen.len() >= MAX_KEPT_STEMS {
                self.seen.clear();
            }
            self.seen.insert(word.to_owned(), stem);
        }
        self.seen.get(word).map(String::as_str)
    }

    /// The `tsvector` (text form) of a conversation: its subject's words weighted `A`, then its body's.
    pub(crate) fn document(&mut self, subject_words: &str, body_words: &str) -> String {
        let mut document = Document::default();
        let mut position: u16 = 0;
        for (words, subject) in [(subject_words, true), (body_words, false)] {
            for word in words.split(' ') {
                let Some(lexeme) = self.lexeme(word) else { continue };
                position = position.saturating_add(1).min(MAX_POSITION);
                if !document.add(lexeme, position, subject) {
                    return document.text();
                }
            }
        }
        document.text()
    }
}

/// A document being made: each lexeme with its positions, in the order first seen.
#[derive(Default)]
struct Document {
    lexemes: Vec<(String, Vec<(u16, bool)>)>,
    index: HashMap<String, usize>,
    bytes: usize,
}

impl Document {
    /// Adds an occurrence of `lexeme`; `false` when the document is full.
    fn add(&mut self, lexeme: &str, position: u16, weighted: bool) -> bool {
        match self.index.get(lexeme) {
            Some(&i) => {
                let positions = &mut self.lexemes[i].1;
                let repeated = positions.last().is_some_and(|(last, _)| *last == position);
                if positions.len() < MAX_POSITIONS_PER_LEXEME && !repeated {
                    positions.push((position, weighted));
                    self.bytes += POSITION_BYTES;
                }
            }
            None => {
                // The lexeme quoted and set apart, and one position.
                let cost = lexeme.len() + 4 + POSITION_BYTES;
                if self.bytes + cost > MAX_DOCUMENT_BYTES {
                    return false;
                }
                self.bytes += cost;
                self.index.insert(lexeme.to_owned(), self.lexemes.len());
                self.lexemes.push((lexeme.to_owned(), vec![(position, weighted)]));
            }
        }
        true
    }

    /// The `tsvector`'s text, its lexemes in PostgreSQL's order (bytewise): the server sorts a document's
    /// lexemes when it parses it, and again when it indexes it, and a sort of sorted input is a single pass.
    fn text(&mut self) -> String {
        self.lexemes.sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
        let mut text = String::with_capacity(self.bytes + self.lexemes.len() * 4);
        for (lexeme, positions) in &self.lexemes {
            if !text.is_empty() {
                text.push(' ');
            }
            push_quoted(&mut text, lexeme);
            for (i, (position, weighted)) in positions.iter().enumerate() {
                text.push(if i == 0 { ':' } else { ',' });
                write!(text, "{position}").expect("writing to a String");
                if *weighted {
                    text.push('A');
                }
            }
        }
        text
    }
}

/// Appends a lexeme as `tsvector` and `tsquery` input take it: quoted, its quotes and backslashes escaped.
fn push_quoted(text: &mut String, lexeme: &str) {
    text.push('\'');
    if lexeme.contains(['\'', '\\']) {
        for ch in lexeme.chars() {
            match ch {
                '\'' => text.push_str("''"),
                '\\' => text.push_str("\\\\"),
                _ => text.push(ch),
            }
        }
    } else {
        text.push_str(lexeme);
    }
    text.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_number_words_and_weigh_the_subject() {
        let mut stems = Stems::default();
        assert_eq!(
            stems.document("refund request", "the refunds were late"),
            "'late':6 'refund':1A,4 'request':2A 'the':3 'were':5"
        );
        assert_eq!(stems.document("", ""), "");
        assert_eq!(stems.document("", "order 42 οδοσ x2"), "'42':2 'order':1 'x2':4 'οδοσ':3");
    }

    #[test]
    fn queries_stem_as_documents_do() {
        use crate::postgres::conversations::text_query;
        assert_eq!(text_query("refunds requested").unwrap(), "(('refund')) & (('request'))");
        assert_eq!(text_query("refunding* -\"requested items\"").unwrap(), "(('refund':*)) & !('request' <-> 'item')");
        assert!(text_query("").is_err());
        assert!(text_query(&"x".repeat(3000)).is_err(), "a word too long to index");
        assert!(text_query(&"7".repeat(2047)).is_err(), "a word too long to index");
        assert_eq!(text_query(&"7".repeat(2046)).map(|q| q.len()).unwrap(), 2052, "the longest word indexed");
    }

    #[test]
    fn positions_are_bounded_per_lexeme_and_overall() {
        let mut stems = Stems::default();
        let body = vec!["help"; 20_000].join(" ");
        let document = stems.document("", &body);
        let positions = document.split(':').nth(1).unwrap().split(',').count();
        assert_eq!(positions, MAX_POSITIONS_PER_LEXEME);
        let late = stems.document("", &format!("{body} zebra"));
        assert!(late.ends_with("'zebra':16383"), "{late:.80}");
    }

    #[test]
    fn a_document_stays_under_postgresql_s_limit() {
        let mut stems = Stems::default();
        // 300,000 distinct words: far more than a tsvector holds.
        let body: Vec<String> = (0..300_000).map(|i| format!("w{i}")).collect();
        let document = stems.document("", &body.join(" "));
        assert!(document.len() <= MAX_DOCUMENT_BYTES, "{}", document.len());
        assert!(document.starts_with("'w0':1 "));
        assert!(!document.contains("'w299999'"));
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        let quoted = |lexeme: &str| {
            let mut text = String::new();
            push_quoted(&mut text, lexeme);
            text
        };
        assert_eq!(quoted("it's"), "'it''s'");
        assert_eq!(quoted("a\\b"), "'a\\\\b'");
    }

    #[test]
    fn the_stemmer_takes_any_ascii_word() {
        let mut stems = Stems::default();
        let letters = b"abcdefghijklmnopqrstuvwxyz";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let length = 1 + (state % 12) as usize;
            let word: String = (0..length).map(|i| letters[((state >> (i * 5)) % 26) as usize] as char).collect();
            assert!(stems.lexeme(&word).is_some_and(|stem| !stem.is_empty()), "{word}");
        }
    }
}

//! The query syntax of conversation search, as a person types it into a search box, parsed once and written for
//! each backend's full-text index: FTS5 on SQLite ([`Query::fts5`]), `tsquery` on PostgreSQL
//! ([`Query::tsquery`]).
//!
//! - words: every one must occur (`refund card`);
//! - `"a quoted phrase"`: its words next to each other, in order;
//! - `OR` (upper case) between two terms: either (`refund OR chargeback invoice` is (refund or chargeback) and
//!   invoice);
//! - `-word`, `-"a phrase"`: conversations without it (at least one term must not be excluded);
//! - `word*`: any word starting so (`refund*` finds "refunded"); stemmed as documents are, on both backends.
//!
//! Nothing else is syntax: parentheses, `NEAR`, `:`, `^`, `AND`, lower-case `or` and the rest of punctuation are
//! plain text, split into words where the index splits them. Every word reaches the index quoted, so no input can
//! change the shape of the query beyond the operators above; at most [`MAX_QUERY_WORDS`] words are kept.

use std::fmt::Write as _;

/// The most words of a query that reach the full-text index; more only slow the query without narrowing it.
pub(crate) const MAX_QUERY_WORDS: usize = 32;

/// The longest word a query may hold: PostgreSQL's documents leave out longer words (see
/// `postgres::document`), so both backends refuse them rather than answer differently.
const MAX_WORD_BYTES: usize = 2046;

/// One term: a word, or a phrase of several (a bare token with punctuation inside, "e-mail", is a phrase too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// Alphanumeric runs, as typed.
    pub words: Vec<String>,
    /// The last word matches as a prefix.
    pub prefix: bool,
}

/// A parsed query: every group must match (a group matches when any of its terms does), and no excluded term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pub groups: Vec<Vec<Term>>,
    pub excluded: Vec<Term>,
}

/// Why a text cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryProblem {
    /// No letter or digit outside exclusions and operators.
    NoWords,
    /// A word longer than the index keeps (PostgreSQL drops such words from documents; so both refuse them).
    WordTooLong,
    /// Only excluded terms.
    OnlyExclusions,
}

impl From<QueryProblem> for crate::StoreError {
    fn from(problem: QueryProblem) -> Self {
        crate::StoreError::InvalidArgument(problem.message().to_owned())
    }
}

impl QueryProblem {
    pub(crate) fn message(&self) -> &'static str {
        match self {
            Self::NoWords => "the text query has no searchable words: use letters or digits",
            Self::WordTooLong => "the text query has a word longer than 2,046 bytes, which no index keeps",
            Self::OnlyExclusions => {
                "the text query only excludes (-word): add a word or phrase the conversations must contain"
            }
        }
    }
}

/// A token of the typed text.
enum Token {
    Or,
    Term { term: Term, excluded: bool },
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return tokens;
        }
        let excluded = rest.starts_with('-') && rest.len() > 1 && !rest[1..].starts_with(char::is_whitespace);
        if excluded {
            rest = &rest[1..];
        }
        let (raw, quoted, after) = if let Some(inner) = rest.strip_prefix('"') {
            // A phrase runs to the next quote, or to the end when it is not closed.
            let end = inner.find('"').unwrap_or(inner.len());
            (&inner[..end], true, inner.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
            (&rest[..end], false, &rest[end..])
        };
        if !quoted && !excluded && raw == "OR" {
            rest = after;
            tokens.push(Token::Or);
            continue;
        }
        // `word*`, and `"a phrase"*` (its last word a prefix).
        let prefix = if quoted { after.starts_with('*') } else { raw.ends_with('*') };
        rest = if quoted { after.strip_prefix('*').unwrap_or(after) } else { after };
        let words = words_of(raw);
        if !words.is_empty() {
            tokens.push(Token::Term { term: Term { words, prefix }, excluded });
        }
    }
}

/// Parses `text`; at most [`MAX_QUERY_WORDS`] words are kept: the terms to find first, in the order typed, then
/// the exclusions with what is left (so exclusions typed first never crowd out what the query looks for).
pub(crate) fn parse(text: &str) -> Result<Query, QueryProblem> {
    let tokens = tokens(text);
    if tokens
        .iter()
        .any(|t| matches!(t, Token::Term { term, .. } if term.words.iter().any(|w| w.len() > MAX_WORD_BYTES)))
    {
        return Err(QueryProblem::WordTooLong);
    }
    let wanted: usize = tokens
        .iter()
        .map(|t| match t {
            Token::Term { term, excluded: false } => term.words.len(),
            _ => 0,
        })
        .sum();
    let mut positive_budget = MAX_QUERY_WORDS;
    let mut excluded_budget = MAX_QUERY_WORDS.saturating_sub(wanted);
    let mut groups: Vec<Vec<Term>> = Vec::new();
    let mut excluded = Vec::new();
    // Whether the last token was an OR that joins the next term to the last group.
    let mut joining = false;
    let mut last_was_positive = false;
    for token in tokens {
        match token {
            Token::Or => joining = last_was_positive,
            Token::Term { mut term, excluded: is_excluded } => {
                let budget = if is_excluded { &mut excluded_budget } else { &mut positive_budget };
                term.words.truncate(*budget);
                *budget -= term.words.len();
                if term.words.is_empty() {
                    // Past the budget: the term is dropped, and an OR before it joins nothing.
                } else if is_excluded {
                    excluded.push(term);
                    last_was_positive = false;
                } else {
                    match groups.last_mut() {
                        Some(group) if joining => group.push(term),
                        _ => groups.push(vec![term]),
                    }
                    last_was_positive = true;
                }
                joining = false;
            }
        }
    }
    match (groups.is_empty(), excluded.is_empty()) {
        (true, true) => Err(QueryProblem::NoWords),
        (true, false) => Err(QueryProblem::OnlyExclusions),
        _ => Ok(Query { groups, excluded }),
    }
}

impl Query {
    /// The FTS5 MATCH expression: every word quoted, phrases as one quoted string, `*` after a prefix.
    pub(crate) fn fts5(&self) -> String {
        fn term(out: &mut String, term: &Term) {
            out.push('"');
            out.push_str(&term.words.join(" "));
            out.push('"');
            if term.prefix {
                out.push('*');
            }
        }
        fn group(out: &mut String, terms: &[Term]) {
            if let [only] = terms {
                return term(out, only);
            }
            out.push('(');
            for (i, t) in terms.iter().enumerate() {
                if i > 0 {
                    out.push_str(" OR ");
                }
                term(out, t);
            }
            out.push(')');
        }
        let mut out = String::new();
        let wrap = !self.excluded.is_empty() && self.groups.len() > 1;
        if wrap {
            out.push('(');
        }
        // Explicit ANDs: FTS5 takes two phrases side by side as both, but not a parenthesised group beside
        // anything (`("a" OR "b") "c"` is a syntax error).
        for (i, terms) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push_str(" AND ");
            }
            group(&mut out, terms);
        }
        if wrap {
            out.push(')');
        }
        for t in &self.excluded {
            out.push_str(" NOT ");
            term(&mut out, t);
        }
        out
    }

    /// The `tsquery` (text form), each word made a lexeme by `lexeme` (lower case, stemmed as documents are);
    /// `None` when no word has a lexeme.
    pub(crate) fn tsquery(&self, mut lexeme: impl FnMut(&str) -> Option<String>) -> Option<String> {
        let mut term = |t: &Term| -> Option<String> {
            let lexemes: Vec<String> = t.words.iter().filter_map(|w| lexeme(w)).collect();
            let last = lexemes.len().checked_sub(1)?;
            let mut out = String::from("(");
            for (i, l) in lexemes.iter().enumerate() {
                if i > 0 {
                    out.push_str(" <-> ");
                }
                push_quoted(&mut out, l);
                if t.prefix && i == last {
                    out.push_str(":*");
                }
            }
            out.push(')');
            Some(out)
        };
        let mut groups = Vec::new();
        for terms in &self.groups {
            let alternatives: Vec<String> = terms.iter().filter_map(&mut term).collect();
            if !alternatives.is_empty() {
                groups.push(format!("({})", alternatives.join(" | ")));
            }
        }
        if groups.is_empty() {
            return None;
        }
        let mut out = groups.join(" & ");
        for t in &self.excluded {
            if let Some(t) = term(t) {
                let _ = write!(out, " & !{t}");
            }
        }
        Some(out)
    }
}

/// A lexeme as `tsquery` input takes it: quoted, its quotes and backslashes escaped.
fn push_quoted(text: &mut String, lexeme: &str) {
    text.push('\'');
    for ch in lexeme.chars() {
        match ch {
            '\'' => text.push_str("''"),
            '\\' => text.push_str("\\\\"),
            _ => text.push(ch),
        }
    }
    text.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(text: &str) -> String {
        parse(text).map(|q| q.fts5()).unwrap_or_else(|p| format!("error: {p:?}"))
    }

    fn ts(text: &str) -> String {
        parse(text).ok().and_then(|q| q.tsquery(|w| Some(w.to_lowercase()))).unwrap_or_else(|| "none".to_owned())
    }

    #[test]
    fn words_phrases_alternatives_exclusions_and_prefixes() {
        assert_eq!(fts("refund  card"), r#""refund" AND "card""#);
        assert_eq!(fts(r#""credit card" refund"#), r#""credit card" AND "refund""#);
        assert_eq!(fts("refund OR chargeback invoice"), r#"("refund" OR "chargeback") AND "invoice""#);
        assert_eq!(fts("invoice refund OR chargeback"), r#""invoice" AND ("refund" OR "chargeback")"#);
        assert_eq!(fts("a OR b OR c"), r#"("a" OR "b" OR "c")"#);
        assert_eq!(fts("refund -spam"), r#""refund" NOT "spam""#);
        assert_eq!(
            fts(r#"refund card -"test account" -spam"#),
            r#"("refund" AND "card") NOT "test account" NOT "spam""#
        );
        assert_eq!(fts("refun* card"), r#""refun"* AND "card""#);
        assert_eq!(fts("e-mail"), r#""e mail""#, "punctuation inside a word makes a phrase");
        assert_eq!(ts(r#"refund OR "credit card" -spam*"#), "(('refund') | ('credit' <-> 'card')) & !('spam':*)");
    }

    #[test]
    fn operators_out_of_place_and_punctuation_are_plain_text() {
        assert_eq!(fts("OR refund OR"), r#""refund""#);
        assert_eq!(fts("refund or card"), r#""refund" AND "or" AND "card""#, "only upper-case OR is an operator");
        assert_eq!(fts("refund - card"), r#""refund" AND "card""#, "a lone dash excludes nothing");
        assert_eq!(fts("-spam OR refund"), r#""refund" NOT "spam""#, "an exclusion is never an alternative");
        assert_eq!(fts("NEAR(a b) *:^ AND"), r#""NEAR a" AND "b" AND "AND""#);
        assert_eq!(fts(r#""credit car"* refund"#), r#""credit car"* AND "refund""#);
        assert_eq!(fts(r#"x" OR 1=1; DROP TABLE conversations; --"#), r#""x" AND "OR 1 1 DROP TABLE conversations""#);
        assert_eq!(fts(r#"unclosed "phrase here"#), r#""unclosed" AND "phrase here""#);
        assert_eq!(ts(r#"it's \ 'quoted'"#), "(('it' <-> 's')) & (('quoted'))");
    }

    #[test]
    fn nothing_to_find_is_a_problem_that_says_what() {
        assert_eq!(parse(" !? "), Err(QueryProblem::NoWords));
        assert_eq!(parse("OR OR"), Err(QueryProblem::NoWords));
        assert_eq!(parse("-spam -\"free money\""), Err(QueryProblem::OnlyExclusions));
        assert_eq!(parse(&format!("refund {}", "x".repeat(2047))), Err(QueryProblem::WordTooLong));
    }

    #[test]
    fn at_most_32_words_reach_the_index() {
        let many: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let query = parse(&many.join(" ")).unwrap();
        assert_eq!(query.groups.len(), MAX_QUERY_WORDS);
        let phrase = format!("\"{}\"", many.join(" "));
        let query = parse(&phrase).unwrap();
        assert_eq!(query.groups[0][0].words.len(), MAX_QUERY_WORDS);
        // Exclusions typed first do not crowd out the word looked for; they get what the words leave.
        let exclusions: Vec<String> = (0..40).map(|i| format!("-x{i}")).collect();
        let query = parse(&format!("{} refund", exclusions.join(" "))).unwrap();
        assert_eq!((query.groups.len(), query.excluded.len()), (1, MAX_QUERY_WORDS - 1));
    }
}

//! Tool patterns: `search_*,get_conversation` — comma-separated names in which `*` stands for any run of
//! characters. Tool names are `[A-Za-z0-9_-]`, so nothing else needs escaping.

use std::fmt;

/// A set of tool-name patterns; a tool matches when any pattern does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPattern {
    patterns: Vec<String>,
}

/// Why a pattern was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ToolPatternError {
    #[error("the tool pattern is empty; give names like \"search_*,get_conversation\"")]
    Empty,
    #[error("tool pattern {0:?} may only hold letters, digits, '_', '-' and '*'")]
    Invalid(String),
}

impl ToolPattern {
    pub fn parse(text: &str) -> Result<Self, ToolPatternError> {
        let patterns: Vec<String> =
            text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        if patterns.is_empty() {
            return Err(ToolPatternError::Empty);
        }
        if let Some(bad) = patterns
            .iter()
            .find(|p| p.len() > 128 || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-*".contains(&b)))
        {
            return Err(ToolPatternError::Invalid(bad.clone()));
        }
        Ok(Self { patterns })
    }

    pub fn matches(&self, tool: &str) -> bool {
        self.patterns.iter().any(|pattern| glob_matches(pattern.as_bytes(), tool.as_bytes()))
    }
}

impl fmt::Display for ToolPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.patterns.join(","))
    }
}

/// `*`-only glob matching, linear in practice: on a mismatch, retry from the last `*` one character further.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut retry: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            retry = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star, from)) = retry {
            p = star + 1;
            t = from + 1;
            retry = Some((star, from + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_names_prefixes_and_infixes() {
        let pattern = ToolPattern::parse("search_*, get_conversation").unwrap();
        assert!(pattern.matches("search_conversations"));
        assert!(pattern.matches("search_contacts"));
        assert!(pattern.matches("get_conversation"));
        assert!(!pattern.matches("get_contact"));
        assert!(!pattern.matches("get_conversations"));
        assert!(!pattern.matches("xsearch_contacts"));
        let infix = ToolPattern::parse("*_con*s").unwrap();
        assert!(infix.matches("search_conversations"));
        assert!(infix.matches("search_contacts"));
        assert!(!infix.matches("get_contact"));
        assert!(ToolPattern::parse("*").unwrap().matches("anything"));
        assert_eq!(pattern.to_string(), "search_*,get_conversation");
    }

    #[test]
    fn refuses_empty_and_hostile_patterns() {
        assert_eq!(ToolPattern::parse(" , "), Err(ToolPatternError::Empty));
        assert!(matches!(ToolPattern::parse("search_*;DROP TABLE"), Err(ToolPatternError::Invalid(_))));
        assert!(matches!(ToolPattern::parse("../x"), Err(ToolPatternError::Invalid(_))));
    }
}

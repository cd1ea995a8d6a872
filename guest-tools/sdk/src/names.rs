//! Teams, admins, tags and companies named the way a person names them ("Billing", "jane"), turned into the ids
//! the host's filters take. Intercom's ids are digits and pass through without a host call; anything else is looked up in the
//! host's directory: an id, else a name (a name equal to it, ignoring ASCII case, or the one name containing it).
//! An unknown or ambiguous name is an error that lists the close matches, so that a model can pick one.

//!
//! Calling [`resolve`] makes the component import `directory` (its manifest must grant `"directory"`).

use crate::ToolError;
use crate::directory::{self, Lookup};

/// What a name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Team,
    Admin,
    Tag,
    Company,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Admin => "admin",
            Self::Tag => "tag",
            Self::Company => "company",
        }
    }

    /// Entries (id, name, email) the lookup selects.
    fn look_up(self, lookup: &Lookup) -> Result<Vec<Entry>, ToolError> {
        Ok(match self {
            Self::Team => directory::teams(lookup)?.items.into_iter().map(|t| (t.id, t.name, None)).collect(),
            Self::Admin => directory::admins(lookup)?
                .items
                .into_iter()
                .map(|a| (a.id, a.name.unwrap_or_default(), a.email))
                .collect(),
            Self::Tag => directory::tags(lookup)?.items.into_iter().map(|t| (t.id, t.name, None)).collect(),
            Self::Company => directory::companies(lookup)?.items.into_iter().map(|c| (c.id, c.name, None)).collect(),
        })
    }
}

/// A directory entry as names are matched: id, name, email (admins).
type Entry = (String, String, Option<String>);

/// The longest id the host's directory takes.
const MAX_ID_BYTES: usize = 256;

/// Most close matches an error lists.
const MAX_LISTED: usize = 8;

/// The id `value` (an id or a name) stands for; `argument` names it in errors.
pub fn resolve(kind: Kind, argument: &str, value: String) -> Result<String, ToolError> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(ToolError::InvalidArguments(format!(
            "`{argument}`: give a {} name or id, not an empty text",
            kind.noun()
        )));
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(value);
    }
    // Ids are short (the host refuses one over 256 bytes); a longer text can only be a name.
    if value.len() <= MAX_ID_BYTES {
        let by_id = kind.look_up(&Lookup { id: Some(value.clone()), name: None, limit: 1 })?;
        if let Some((id, _, _)) = by_id.into_iter().next() {
            return Ok(id);
        }
    }
    let wanted = value.to_ascii_lowercase();
    let found = kind.look_up(&Lookup { id: None, name: Some(value.clone()), limit: 100 })?;
    let equal: Vec<&Entry> = found
        .iter()
        .filter(|(_, name, email)| {
            name.to_ascii_lowercase() == wanted || email.as_deref().is_some_and(|e| e.to_ascii_lowercase() == wanted)
        })
        .collect();
    match (equal.as_slice(), found.as_slice()) {
        ([(id, _, _)], _) | ([], [(id, _, _)]) => Ok(id.clone()),
        ([], []) => {
            let everyone = kind.look_up(&Lookup { id: None, name: None, limit: 1000 })?;
            Err(named_nothing(kind, argument, &value, &everyone))
        }
        _ => {
            let several: Vec<_> = if equal.is_empty() { found.iter().collect() } else { equal };
            Err(ToolError::InvalidArguments(format!(
                "`{argument}`: {value:?} names several {}s; give one's id: {}",
                kind.noun(),
                described(&several[..several.len().min(MAX_LISTED)])
            )))
        }
    }
}

/// Checks that `value` is the id of a `kind`, or its name ignoring ASCII case: the way a filter that takes names
/// itself matches them (search's `tags`). A value that names nothing is an error listing the close matches. Two
/// host calls: a search calls it only when its first page came back empty, so a search that finds something
/// pays nothing for it.
pub fn check_named(kind: Kind, argument: &str, value: &str) -> Result<(), ToolError> {
    let value = value.trim();
    if !value.is_empty()
        && value.len() <= MAX_ID_BYTES
        && !kind.look_up(&Lookup { id: Some(value.to_owned()), name: None, limit: 1 })?.is_empty()
    {
        return Ok(());
    }
    let wanted = value.to_ascii_lowercase();
    let everyone = kind.look_up(&Lookup { id: None, name: None, limit: 1000 })?;
    if everyone.iter().any(|(_, name, _)| name.to_ascii_lowercase() == wanted) {
        return Ok(());
    }
    Err(named_nothing(kind, argument, value, &everyone))
}

/// The error for a name that names none of `everyone`: the close matches, else the first few.
fn named_nothing(kind: Kind, argument: &str, value: &str, everyone: &[Entry]) -> ToolError {
    let close = closest(&value.to_ascii_lowercase(), everyone);
    let listed = if close.is_empty() { everyone.iter().take(MAX_LISTED).collect() } else { close };
    ToolError::InvalidArguments(format!(
        "`{argument}`: no {} is named {value:?}; {}: {}",
        kind.noun(),
        if listed.is_empty() { "there are none" } else { "close matches" },
        described(&listed)
    ))
}

/// `"Name" (id N)`, comma-separated.
fn described(entries: &[&Entry]) -> String {
    entries.iter().map(|(id, name, _)| format!("{name:?} (id {id})")).collect::<Vec<_>>().join(", ")
}

/// The entries whose name is most like `wanted` (shared letter pairs, ignoring ASCII case), best first; none
/// shares a pair with it when the list is empty.
fn closest<'a>(wanted: &str, entries: &'a [Entry]) -> Vec<&'a Entry> {
    let pairs = |text: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = text.to_ascii_lowercase().chars().collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let wanted = pairs(wanted);
    let mut scored: Vec<(usize, &Entry)> = entries
        .iter()
        .map(|entry| {
            let theirs = pairs(&entry.1);
            (wanted.iter().filter(|pair| theirs.contains(pair)).count(), entry)
        })
        .filter(|(score, _)| *score > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.1.cmp(&b.1.1)));
    scored.into_iter().take(MAX_LISTED).map(|(_, entry)| entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, name: &str) -> Entry {
        (id.to_owned(), name.to_owned(), None)
    }

    #[test]
    fn close_matches_share_letter_pairs_best_first() {
        let entries =
            [entry("1", "Billing"), entry("2", "Tier 1 Support"), entry("3", "Sales"), entry("4", "Bill Pay")];
        let names = |wanted: &str| -> Vec<&str> { closest(wanted, &entries).iter().map(|e| e.1.as_str()).collect() };
        assert_eq!(names("biling"), ["Billing", "Bill Pay"]);
        assert_eq!(names("SUPORT"), ["Tier 1 Support"]);
        assert!(names("zzz").is_empty());
    }

    #[test]
    fn ids_that_are_digits_need_no_host_call() {
        // A host call here would fail outside the sandbox: the digits come back at once.
        assert_eq!(resolve(Kind::Team, "team_assignee_id", " 5458425 ".to_owned()).unwrap(), "5458425");
    }
}

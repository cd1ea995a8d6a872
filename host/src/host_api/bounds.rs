//! The bounds of what a plugin may pass to the host interfaces, checked before any work (documented in
//! `docs/plugins.md`, "Host interface limits").
//!
//! A list of eight million one-byte tags once became tens of millions of SQL bind parameters (1.3 GB of host memory,
//! 2.9 s against a 2 s deadline) before SQLite refused it. wasmtime copies a call's arguments out of the guest's
//! memory before the host function runs, so what arrives here is at most a small multiple of the guest's memory
//! cap; from here on, nothing proportional to an unchecked length happens.

use crate::bindings::analytics::{Figure, Grouping, Scope};
use crate::bindings::contacts::ContactFilter;
use crate::bindings::conversations::ConversationFilter;
use crate::bindings::directory::Lookup;
use crate::bindings::types::{HostError, PageRequest};

/// Bytes of a full-text query.
pub const MAX_QUERY_BYTES: usize = 4096;
/// Entries of `states` (three states exist) and of `priorities` (five levels exist).
pub const MAX_STATES: usize = 3;
pub const MAX_PRIORITIES: usize = 5;
/// Entries of `tags`, and bytes of each.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_BYTES: usize = 256;
/// Bytes of an id (conversation, contact, admin, team, company).
pub const MAX_ID_BYTES: usize = 256;
/// Bytes of an email address and of a company name or id.
pub const MAX_EMAIL_BYTES: usize = 1024;
pub const MAX_COMPANY_BYTES: usize = 1024;
/// Bytes of a name looked up in the directory.
pub const MAX_NAME_BYTES: usize = 1024;
/// Bytes of a cursor (the host issues far shorter ones).
pub const MAX_CURSOR_BYTES: usize = 1024;

fn too_long(what: &str, limit: usize) -> HostError {
    HostError::InvalidArgument(format!("{what} is longer than {limit} bytes"))
}

fn too_many(what: &str, limit: usize) -> HostError {
    HostError::InvalidArgument(format!("{what} has more than {limit} entries"))
}

fn at_most(value: Option<&str>, limit: usize, what: &str) -> Result<(), HostError> {
    match value {
        Some(text) if text.len() > limit => Err(too_long(what, limit)),
        _ => Ok(()),
    }
}

pub(super) fn page(page: &PageRequest) -> Result<(), HostError> {
    at_most(page.cursor.as_deref(), MAX_CURSOR_BYTES, "the cursor")
}

pub(super) fn id(id: &str) -> Result<(), HostError> {
    at_most(Some(id), MAX_ID_BYTES, "the id")
}

/// Ids asked of `get-many`.
pub const MAX_IDS: usize = 100;

pub(super) fn ids(ids: &[String]) -> Result<(), HostError> {
    if ids.len() > MAX_IDS {
        return Err(too_many("ids", MAX_IDS));
    }
    ids.iter().try_for_each(|one| id(one))
}

pub(super) fn conversation_filter(filter: &ConversationFilter) -> Result<(), HostError> {
    at_most(filter.text.as_deref(), MAX_QUERY_BYTES, "the text query")?;
    if filter.states.len() > MAX_STATES {
        return Err(too_many("states", MAX_STATES));
    }
    if filter.priorities.len() > MAX_PRIORITIES {
        return Err(too_many("priorities", MAX_PRIORITIES));
    }
    if filter.tags.len() > MAX_TAGS {
        return Err(too_many("tags", MAX_TAGS));
    }
    if filter.tags.iter().any(|tag| tag.len() > MAX_TAG_BYTES) {
        return Err(too_long("a tag", MAX_TAG_BYTES));
    }
    at_most(filter.contact_id.as_deref(), MAX_ID_BYTES, "contact-id")?;
    at_most(filter.admin_assignee_id.as_deref(), MAX_ID_BYTES, "admin-assignee-id")?;
    at_most(filter.team_assignee_id.as_deref(), MAX_ID_BYTES, "team-assignee-id")
}

/// A directory lookup: its id and name. Its limit needs no check (the store caps it at 1,000).
pub(super) fn directory_lookup(lookup: &Lookup) -> Result<(), HostError> {
    at_most(lookup.id.as_deref(), MAX_ID_BYTES, "the id")?;
    at_most(lookup.name.as_deref(), MAX_NAME_BYTES, "the name")
}

/// Entries of an analytics scope's `ratings` (five ratings exist) and `figures`, and dimensions of a grouping.
pub const MAX_RATINGS: usize = 5;
pub const MAX_FIGURE_RANGES: usize = 8;
pub const MAX_DIMENSIONS: usize = 2;

/// An analytics scope: its filter, company id and lists.
pub(super) fn analytics_scope(scope: &Scope) -> Result<(), HostError> {
    conversation_filter(&scope.filter)?;
    at_most(scope.company_id.as_deref(), MAX_ID_BYTES, "company-id")?;
    if scope.ratings.len() > MAX_RATINGS {
        return Err(too_many("ratings", MAX_RATINGS));
    }
    if scope.figures.len() > MAX_FIGURE_RANGES {
        return Err(too_many("figures", MAX_FIGURE_RANGES));
    }
    Ok(())
}

/// Figures one distribution asks for.
pub const MAX_FIGURES: usize = 4;

/// A distribution's figures (the store checks repeats).
pub(super) fn figures(figures: &[Figure]) -> Result<(), HostError> {
    if figures.len() > MAX_FIGURES {
        return Err(too_many("figures", MAX_FIGURES));
    }
    Ok(())
}

/// A grouping's dimensions (the store checks the rest: limit, offset, repeats).
pub(super) fn grouping(grouping: &Grouping) -> Result<(), HostError> {
    if grouping.by.len() > MAX_DIMENSIONS {
        return Err(too_many("by", MAX_DIMENSIONS));
    }
    Ok(())
}

pub(super) fn contact_filter(filter: &ContactFilter) -> Result<(), HostError> {
    at_most(filter.text.as_deref(), MAX_QUERY_BYTES, "the text query")?;
    at_most(filter.email.as_deref(), MAX_EMAIL_BYTES, "the email")?;
    at_most(filter.company.as_deref(), MAX_COMPANY_BYTES, "the company")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::conversations::ConversationState;

    fn filter() -> ConversationFilter {
        ConversationFilter {
            text: None,
            states: Vec::new(),
            tags: Vec::new(),
            contact_id: None,
            admin_assignee_id: None,
            team_assignee_id: None,
            priorities: Vec::new(),
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
        }
    }

    #[test]
    fn lists_and_strings_past_their_bounds_are_refused_by_name() {
        assert!(conversation_filter(&filter()).is_ok());
        let states = ConversationFilter { states: vec![ConversationState::Open; 4], ..filter() };
        assert!(matches!(conversation_filter(&states), Err(HostError::InvalidArgument(m)) if m.contains("states")));
        let tags = ConversationFilter { tags: vec![String::new(); MAX_TAGS + 1], ..filter() };
        assert!(matches!(conversation_filter(&tags), Err(HostError::InvalidArgument(m)) if m.contains("tags")));
        let long_tag = ConversationFilter { tags: vec!["x".repeat(MAX_TAG_BYTES + 1)], ..filter() };
        assert!(conversation_filter(&long_tag).is_err());
        let text = ConversationFilter { text: Some("x".repeat(MAX_QUERY_BYTES + 1)), ..filter() };
        assert!(conversation_filter(&text).is_err());
        assert!(id(&"9".repeat(MAX_ID_BYTES + 1)).is_err());
        assert!(page(&PageRequest { limit: 1, cursor: Some("c".repeat(MAX_CURSOR_BYTES + 1)) }).is_err());
        assert!(ids(&vec!["1".to_owned(); MAX_IDS]).is_ok());
        assert!(
            matches!(ids(&vec!["1".to_owned(); MAX_IDS + 1]), Err(HostError::InvalidArgument(m)) if m.contains("ids"))
        );
        assert!(ids(&["1".to_owned(), "9".repeat(MAX_ID_BYTES + 1)]).is_err());
        let lookup = |id: Option<String>, name: Option<String>| Lookup { id, name, limit: u32::MAX };
        assert!(directory_lookup(&lookup(Some("9".repeat(MAX_ID_BYTES)), Some("n".repeat(MAX_NAME_BYTES)))).is_ok());
        assert!(directory_lookup(&lookup(Some("9".repeat(MAX_ID_BYTES + 1)), None)).is_err());
        assert!(directory_lookup(&lookup(None, Some("n".repeat(MAX_NAME_BYTES + 1)))).is_err());
    }
}

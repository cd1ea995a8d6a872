//! Typed search requests: what a caller may ask the store for, independent of SQL.

use super::model::{ConversationState, Priority};

/// Largest page a search returns; larger requests are clamped.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A conjunction of conditions on conversations; empty lists and `None` mean "no condition".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConversationFilter {
    /// Full-text query over subjects and every part's plain text.
    pub text: Option<String>,
    pub states: Vec<ConversationState>,
    /// Tag names (case-insensitive) or ids; any of them matches.
    pub tags: Vec<String>,
    pub contact_id: Option<String>,
    pub admin_assignee_id: Option<String>,
    pub team_assignee_id: Option<String>,
    pub priorities: Vec<Priority>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
}

impl ConversationFilter {
    /// Whether any condition other than the text query applies (those need the conversation rows).
    pub fn has_row_conditions(&self) -> bool {
        let Self {
            text: _,
            states,
            tags,
            contact_id,
            admin_assignee_id,
            team_assignee_id,
            priorities,
            created_after,
            created_before,
            updated_after,
            updated_before,
        } = self;
        !states.is_empty()
            || !tags.is_empty()
            || !priorities.is_empty()
            || contact_id.is_some()
            || admin_assignee_id.is_some()
            || team_assignee_id.is_some()
            || created_after.is_some()
            || created_before.is_some()
            || updated_after.is_some()
            || updated_before.is_some()
    }
}

impl ConversationFilter {
    /// Whether tags are the filter's only condition (no text either).
    pub fn has_only_tags(&self) -> bool {
        let tags_alone = Self { text: None, tags: self.tags.clone(), ..Self::default() };
        !self.tags.is_empty() && *self == tags_alone
    }

    /// Whether the conditions besides the text are date ranges and nothing else (at least one bound).
    pub fn has_only_date_ranges(&self) -> bool {
        let ranges_alone = Self {
            text: self.text.clone(),
            created_after: self.created_after,
            created_before: self.created_before,
            updated_after: self.updated_after,
            updated_before: self.updated_before,
            ..Self::default()
        };
        self.has_row_conditions() && *self == ranges_alone
    }
}

/// Orders a conversation search can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationSort {
    /// Best full-text match first; without a text query, the same as `Newest`.
    Relevance,
    Newest,
    Oldest,
    Updated,
}

/// A conjunction of conditions on contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ContactFilter {
    /// Prefixes of words in the name or email.
    pub text: Option<String>,
    /// Exactly this email, case-insensitive.
    pub email: Option<String>,
    /// A company name containing this text, or a company id.
    pub company: Option<String>,
}

/// Which page to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The limit clamped to 1..=MAX_PAGE_SIZE.
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_ranges_alone_are_told_apart_from_other_conditions() {
        let ranges = ConversationFilter { created_after: Some(1), updated_before: Some(2), ..Default::default() };
        assert!(ranges.has_only_date_ranges());
        let with_text = ConversationFilter { text: Some("refund".to_owned()), ..ranges.clone() };
        assert!(with_text.has_only_date_ranges(), "the text is not a row condition");
        let with_state = ConversationFilter { states: vec![ConversationState::Open], ..ranges.clone() };
        assert!(!with_state.has_only_date_ranges());
        let with_tag = ConversationFilter { tags: vec!["bug".to_owned()], ..ranges };
        assert!(!with_tag.has_only_date_ranges());
        assert!(!ConversationFilter::default().has_only_date_ranges(), "no condition at all is not a range");
        assert!(!ConversationFilter { text: Some("refund".to_owned()), ..Default::default() }.has_only_date_ranges());
    }
}

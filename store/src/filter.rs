//! Typed search requests: what a caller may ask the store for, independent of SQL.

use super::analytics::FigureRange;
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
    /// Conditions on the last close, the rating, the company and Intercom's figures (contract 0.5.0).
    pub more: MoreConditions,
}

/// The conditions an analytics scope adds to search's filter (contract 0.5.0), which search takes too: each is
/// a condition on a conversation's own row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MoreConditions {
    /// Last closed at or after this unix second.
    pub closed_after: Option<i64>,
    /// Last closed before this unix second.
    pub closed_before: Option<i64>,
    /// Rated any of these (1 to 5).
    pub ratings: Vec<u8>,
    pub company_id: Option<String>,
    /// Every range must hold; a conversation without the figure holds none.
    pub figures: Vec<FigureRange>,
}

impl MoreConditions {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Everything the store can check about the conditions before it reads (the host checks lengths before).
    pub fn check(&self) -> crate::Result<()> {
        let invalid = |message: String| Err(crate::StoreError::InvalidArgument(message));
        if let Some(rating) = self.ratings.iter().find(|r| !(1..=5).contains(*r)) {
            return invalid(format!("ratings are 1 to 5, not {rating}"));
        }
        if self.ratings.len() > 5 {
            return invalid("ratings has more than 5 entries".to_owned());
        }
        if self.figures.len() > crate::MAX_FIGURE_RANGES {
            return invalid(format!("figures has more than {} ranges", crate::MAX_FIGURE_RANGES));
        }
        Ok(())
    }
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
            more,
        } = self;
        !more.is_empty()
            || !states.is_empty()
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

/// Appends ` AND ...` for each of `more`'s conditions on conversations `c`, in either backend's dialect.
pub(crate) fn push_more<DB: sqlx::Database>(query: &mut sqlx::QueryBuilder<DB>, more: &MoreConditions)
where
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    if let Some(after) = more.closed_after {
        query.push(" AND c.last_close_at >= ").push_bind(after);
    }
    if let Some(before) = more.closed_before {
        query.push(" AND c.last_close_at < ").push_bind(before);
    }
    if !more.ratings.is_empty() {
        query.push(" AND c.rating IN (");
        for (i, rating) in more.ratings.iter().enumerate() {
            if i > 0 {
                query.push(", ");
            }
            query.push_bind(i64::from(*rating));
        }
        query.push(")");
    }
    if let Some(company) = &more.company_id {
        query.push(" AND c.company_id = ").push_bind(company.clone());
    }
    for range in &more.figures {
        let column = range.figure.column();
        match (range.at_least, range.below) {
            (None, None) => {
                query.push(format_args!(" AND {column} IS NOT NULL"));
            }
            (at_least, below) => {
                if let Some(at_least) = at_least {
                    query.push(format_args!(" AND {column} >= ")).push_bind(at_least);
                }
                if let Some(below) = below {
                    query.push(format_args!(" AND {column} < ")).push_bind(below);
                }
            }
        }
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

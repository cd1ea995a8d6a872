//! `conversations` (0.1.0, 0.3.0 and 0.4.0): typed search and retrieval over the store, converted to and from the
//! WIT types. Every version shares the records; 0.3.0's search is bounded and says so in its page; 0.4.0 adds
//! `get-many`.

use super::{HostApi, bounds, host_error};
use crate::bindings::conversations as wit;
use crate::bindings::conversations_bounded as bounded;
use crate::bindings::conversations_many as many;
use crate::bindings::conversations_scoped as scoped;
use crate::bindings::types::{Author, HostError, PageRequest};
use crate::store::SearchEffort;
use crate::store::filter::{ConversationFilter, ConversationSort};
use crate::store::model;

impl wit::Host for HostApi {
    async fn search(
        &mut self,
        filter: wit::ConversationFilter,
        sort: wit::ConversationSort,
        page: PageRequest,
    ) -> Result<wit::ConversationPage, HostError> {
        let found = self.search_with(filter, sort, page, SearchEffort::Exhaustive).await?;
        Ok(wit::ConversationPage {
            items: found.items.into_iter().map(summary_to_wit).collect(),
            total: found.total,
            next_cursor: found.next_cursor,
        })
    }

    async fn get(&mut self, id: String) -> Result<Option<wit::Conversation>, HostError> {
        bounds::id(&id)?;
        let found = self.store.get_conversation(&id).await.map_err(|e| host_error(&self.plugin, e))?;
        Ok(found.map(detail_to_wit))
    }
}

/// `conversations@0.3.0`: the same search, bounded, with a page that says when its total is an estimate and how
/// much of a relevance order is ranked.
impl bounded::Host for HostApi {
    async fn search(
        &mut self,
        filter: wit::ConversationFilter,
        sort: wit::ConversationSort,
        page: PageRequest,
    ) -> Result<bounded::ConversationPage, HostError> {
        let found = self.search_with(filter, sort, page, SearchEffort::Bounded).await?;
        Ok(bounded_page(found))
    }

    async fn get(&mut self, id: String) -> Result<Option<wit::Conversation>, HostError> {
        wit::Host::get(self, id).await
    }
}

/// `conversations@0.4.0`: 0.3.0's search and get, and `get-many`.
impl many::Host for HostApi {
    async fn search(
        &mut self,
        filter: wit::ConversationFilter,
        sort: wit::ConversationSort,
        page: PageRequest,
    ) -> Result<bounded::ConversationPage, HostError> {
        bounded::Host::search(self, filter, sort, page).await
    }

    async fn get(&mut self, id: String) -> Result<Option<wit::Conversation>, HostError> {
        wit::Host::get(self, id).await
    }

    async fn get_many(&mut self, ids: Vec<String>) -> Result<Vec<Option<wit::Conversation>>, HostError> {
        bounds::ids(&ids)?;
        let found = self.store.get_conversations(&ids).await.map_err(|e| host_error(&self.plugin, e))?;
        Ok(found.into_iter().map(|detail| detail.map(detail_to_wit)).collect())
    }
}

/// `conversations@0.5.0`: 0.3.0's bounded search over an analytics scope; 0.4.0's get and get-many.
impl scoped::Host for HostApi {
    async fn search(
        &mut self,
        scope: crate::bindings::analytics::Scope,
        sort: wit::ConversationSort,
        page: PageRequest,
    ) -> Result<bounded::ConversationPage, HostError> {
        bounds::page(&page)?;
        let scope = super::analytics::scope_from_wit(scope)?;
        scope.more.check().map_err(|e| host_error(&self.plugin, e))?;
        let page = self.search_filter(scope, sort, page, SearchEffort::Bounded).await?;
        Ok(bounded_page(page))
    }

    async fn get(&mut self, id: String) -> Result<Option<wit::Conversation>, HostError> {
        many::Host::get(self, id).await
    }

    async fn get_many(&mut self, ids: Vec<String>) -> Result<Vec<Option<wit::Conversation>>, HostError> {
        many::Host::get_many(self, ids).await
    }
}

impl HostApi {
    /// Every version of `search`: the arguments bounded before any work, then the store's search.
    async fn search_with(
        &mut self,
        filter: wit::ConversationFilter,
        sort: wit::ConversationSort,
        page: PageRequest,
        effort: SearchEffort,
    ) -> Result<model::Page<model::ConversationSummary>, HostError> {
        bounds::conversation_filter(&filter)?;
        bounds::page(&page)?;
        self.search_filter(filter_from_wit(filter), sort, page, effort).await
    }

    /// A search with the store's filter, its arguments already bounded.
    async fn search_filter(
        &mut self,
        filter: ConversationFilter,
        sort: wit::ConversationSort,
        page: PageRequest,
        effort: SearchEffort,
    ) -> Result<model::Page<model::ConversationSummary>, HostError> {
        let sort = match sort {
            wit::ConversationSort::Relevance => ConversationSort::Relevance,
            wit::ConversationSort::Newest => ConversationSort::Newest,
            wit::ConversationSort::Oldest => ConversationSort::Oldest,
            wit::ConversationSort::Updated => ConversationSort::Updated,
        };
        let page = crate::store::filter::PageRequest { limit: page.limit, cursor: page.cursor };
        self.store
            .search_conversations_with(&filter, sort, &page, effort)
            .await
            .map_err(|e| host_error(&self.plugin, e))
    }
}

/// A bounded search's page as `conversations@0.3.0` (and 0.5.0) answer it.
fn bounded_page(found: model::Page<model::ConversationSummary>) -> bounded::ConversationPage {
    bounded::ConversationPage {
        items: found.items.into_iter().map(summary_to_wit).collect(),
        total: found.total,
        total_is_estimate: found.total_is_estimate,
        ranked_matches: found.ranked_matches,
        next_cursor: found.next_cursor,
    }
}

/// The store's filter for a WIT filter (already checked against its bounds).
pub(super) fn filter_from_wit(filter: wit::ConversationFilter) -> ConversationFilter {
    ConversationFilter {
        text: filter.text,
        states: filter.states.into_iter().map(state_from_wit).collect(),
        tags: filter.tags,
        contact_id: filter.contact_id,
        admin_assignee_id: filter.admin_assignee_id,
        team_assignee_id: filter.team_assignee_id,
        priorities: filter.priorities.into_iter().map(priority_from_wit).collect(),
        created_after: filter.created_after,
        created_before: filter.created_before,
        updated_after: filter.updated_after,
        updated_before: filter.updated_before,
        more: Default::default(),
    }
}

fn detail_to_wit(detail: model::ConversationDetail) -> wit::Conversation {
    wit::Conversation {
        summary: summary_to_wit(detail.summary),
        source_body: detail.source_body,
        rating_remark: detail.rating_remark,
        parts: detail
            .parts
            .into_iter()
            .map(|part| wit::ConversationPart {
                id: part.id,
                part_type: part.part_type,
                body: part.body,
                author: author_to_wit(part.author),
                created_at: part.created_at,
                assigned_to: part.assigned_to_id,
            })
            .collect(),
        parts_truncated: detail.parts_truncated,
    }
}

fn state_from_wit(state: wit::ConversationState) -> model::ConversationState {
    match state {
        wit::ConversationState::Open => model::ConversationState::Open,
        wit::ConversationState::Closed => model::ConversationState::Closed,
        wit::ConversationState::Snoozed => model::ConversationState::Snoozed,
    }
}

fn priority_from_wit(priority: wit::PriorityLevel) -> model::Priority {
    match priority {
        wit::PriorityLevel::None => model::Priority::None,
        wit::PriorityLevel::Low => model::Priority::Low,
        wit::PriorityLevel::Medium => model::Priority::Medium,
        wit::PriorityLevel::High => model::Priority::High,
        wit::PriorityLevel::Urgent => model::Priority::Urgent,
    }
}

pub(super) fn author_to_wit(author: model::Author) -> Author {
    Author { kind: author.kind, id: author.id, name: author.name, email: author.email }
}

fn summary_to_wit(summary: model::ConversationSummary) -> wit::ConversationSummary {
    let stats = summary.statistics;
    wit::ConversationSummary {
        id: summary.id,
        title: summary.title,
        state: match summary.state {
            model::ConversationState::Open => wit::ConversationState::Open,
            model::ConversationState::Closed => wit::ConversationState::Closed,
            model::ConversationState::Snoozed => wit::ConversationState::Snoozed,
        },
        open: summary.open,
        read: summary.read,
        priority: match summary.priority {
            model::Priority::None => wit::PriorityLevel::None,
            model::Priority::Low => wit::PriorityLevel::Low,
            model::Priority::Medium => wit::PriorityLevel::Medium,
            model::Priority::High => wit::PriorityLevel::High,
            model::Priority::Urgent => wit::PriorityLevel::Urgent,
        },
        created_at: summary.created_at,
        updated_at: summary.updated_at,
        waiting_since: summary.waiting_since,
        snoozed_until: summary.snoozed_until,
        admin_assignee_id: summary.admin_assignee_id,
        team_assignee_id: summary.team_assignee_id,
        source_type: summary.source_type,
        subject: summary.subject,
        source_author: author_to_wit(summary.source_author),
        preview: summary.preview,
        contact_ids: summary.contact_ids,
        tags: summary.tags,
        rating: summary.rating.and_then(|rating| u8::try_from(rating).ok()),
        score: summary.score,
        statistics: wit::ConversationStatistics {
            time_to_admin_reply: stats.time_to_admin_reply,
            time_to_first_close: stats.time_to_first_close,
            first_admin_reply_at: stats.first_admin_reply_at,
            last_close_at: stats.last_close_at,
            count_reopens: stats.count_reopens.and_then(|n| u32::try_from(n).ok()),
            count_conversation_parts: stats.count_conversation_parts.and_then(|n| u32::try_from(n).ok()),
        },
    }
}

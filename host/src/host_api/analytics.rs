//! `analytics` (contract 0.5.0): counts and distributions over conversations, and rated conversations, each one
//! store statement under the call's deadline.

use super::conversations::filter_from_wit;
use super::{HostApi, bounds, host_error};
use crate::bindings::analytics as wit;
use crate::bindings::types::HostError;
use crate::store::filter::MoreConditions;
use crate::store::{self, Dimension, Figure, Grouping, Period, Scope};

impl wit::Host for HostApi {
    async fn count(&mut self, scope: wit::Scope, grouping: wit::Grouping) -> Result<wit::Counts, HostError> {
        let (scope, grouping) = checked(scope, grouping)?;
        let counts =
            self.store.count_conversations(&scope, &grouping).await.map_err(|e| host_error(&self.plugin, e))?;
        let rows = counts
            .rows
            .into_iter()
            .map(|row| wit::CountRow { keys: keys_to_wit(row.keys), conversations: row.conversations })
            .collect();
        Ok(wit::Counts { rows, other: rest_to_wit(counts.other), total: counts.total })
    }

    async fn distribution(
        &mut self,
        scope: wit::Scope,
        figures: Vec<wit::Figure>,
        grouping: wit::Grouping,
    ) -> Result<wit::Distributions, HostError> {
        bounds::figures(&figures)?;
        let (scope, grouping) = checked(scope, grouping)?;
        let figures: Vec<Figure> = figures.into_iter().map(figure_from_wit).collect();
        let found = self
            .store
            .figure_distribution(&scope, &figures, &grouping)
            .await
            .map_err(|e| host_error(&self.plugin, e))?;
        let summaries = |list: Vec<store::Summary>| list.into_iter().map(summary_to_wit).collect();
        let rows = found
            .rows
            .into_iter()
            .map(|row| wit::DistributionRow { keys: keys_to_wit(row.keys), summaries: summaries(row.summaries) })
            .collect();
        Ok(wit::Distributions {
            rows,
            other: rest_to_wit(found.other),
            total: found.total,
            overall: summaries(found.overall),
        })
    }

    async fn rated(&mut self, scope: wit::Scope, limit: u32) -> Result<Vec<wit::RatedConversation>, HostError> {
        let scope = scope_from_wit(scope)?;
        let rated = self.store.rated_conversations(&scope, limit).await.map_err(|e| host_error(&self.plugin, e))?;
        Ok(rated
            .into_iter()
            .map(|r| wit::RatedConversation {
                id: r.id,
                rating: r.rating,
                remark: r.remark,
                rated_at: r.rated_at,
                admin_assignee_id: r.admin_assignee_id,
                team_assignee_id: r.team_assignee_id,
            })
            .collect())
    }
}

/// The store's scope and grouping, after the bounds on lengths (the store checks the values).
fn checked(scope: wit::Scope, grouping: wit::Grouping) -> Result<(Scope, Grouping), HostError> {
    bounds::grouping(&grouping)?;
    let scope = scope_from_wit(scope)?;
    let grouping = Grouping {
        by: grouping.by.into_iter().map(dimension_from_wit).collect(),
        row_order: match grouping.row_order {
            wit::RowOrder::LargestFirst => store::RowOrder::LargestFirst,
            wit::RowOrder::ByKey => store::RowOrder::ByKey,
        },
        limit: grouping.limit,
        utc_offset_minutes: grouping.utc_offset_minutes,
    };
    Ok((scope, grouping))
}

pub(super) fn scope_from_wit(scope: wit::Scope) -> Result<Scope, HostError> {
    bounds::analytics_scope(&scope)?;
    let more = MoreConditions {
        closed_after: scope.closed_after,
        closed_before: scope.closed_before,
        ratings: scope.ratings,
        company_id: scope.company_id,
        figures: scope
            .figures
            .into_iter()
            .map(|range| store::FigureRange {
                figure: figure_from_wit(range.figure),
                at_least: range.at_least,
                below: range.below,
            })
            .collect(),
    };
    Ok(Scope { more, ..filter_from_wit(scope.filter) })
}

fn period_from_wit(period: wit::Period) -> Period {
    match period {
        wit::Period::Hour => Period::Hour,
        wit::Period::Day => Period::Day,
        wit::Period::Week => Period::Week,
        wit::Period::Month => Period::Month,
    }
}

fn dimension_from_wit(dimension: wit::Dimension) -> Dimension {
    match dimension {
        wit::Dimension::State => Dimension::State,
        wit::Dimension::Tag => Dimension::Tag,
        wit::Dimension::Team => Dimension::Team,
        wit::Dimension::Admin => Dimension::Admin,
        wit::Dimension::Priority => Dimension::Priority,
        wit::Dimension::SourceType => Dimension::SourceType,
        wit::Dimension::Company => Dimension::Company,
        wit::Dimension::Rating => Dimension::Rating,
        wit::Dimension::Created(period) => Dimension::Created(period_from_wit(period)),
        wit::Dimension::Updated(period) => Dimension::Updated(period_from_wit(period)),
        wit::Dimension::Closed(period) => Dimension::Closed(period_from_wit(period)),
        wit::Dimension::CreatedHourOfWeek => Dimension::CreatedHourOfWeek,
    }
}

fn figure_from_wit(figure: wit::Figure) -> Figure {
    match figure {
        wit::Figure::TimeToFirstReply => Figure::TimeToFirstReply,
        wit::Figure::TimeToFirstClose => Figure::TimeToFirstClose,
        wit::Figure::TimeToLastClose => Figure::TimeToLastClose,
        wit::Figure::Reopens => Figure::Reopens,
        wit::Figure::Parts => Figure::Parts,
        wit::Figure::Rating => Figure::Rating,
        wit::Figure::WaitingSince => Figure::WaitingSince,
    }
}

fn keys_to_wit(keys: Vec<store::Key>) -> Vec<wit::Key> {
    keys.into_iter()
        .map(|key| match key {
            store::Key::None => wit::Key::None,
            store::Key::Value(value) => wit::Key::Value(value),
            store::Key::Entity { id, name } => wit::Key::Entity(wit::Named { id, name }),
            store::Key::Number(number) => wit::Key::Number(number),
            store::Key::StartsAt(start) => wit::Key::StartsAt(start),
        })
        .collect()
}

fn rest_to_wit(rest: store::Rest) -> wit::Rest {
    wit::Rest { rows: rest.rows, conversations: rest.conversations }
}

fn summary_to_wit(s: store::Summary) -> wit::Summary {
    wit::Summary {
        count: s.count,
        missing: s.missing,
        mean: s.mean,
        min: s.min,
        p50: s.p50,
        p90: s.p90,
        p99: s.p99,
        max: s.max,
    }
}

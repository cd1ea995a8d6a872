//! `tag_trends`: the tags of a window's conversations, against the window before: what is common, what is
//! rising, what is falling.

use std::collections::HashMap;

use fastintercom_plugin_sdk::analytics::{self, Dimension, Key};
use fastintercom_plugin_sdk::{Envelope, Filters, Stopwatch, ToolError, TypedTool, freshness};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rows::{Entity, largest};
use crate::scope::{Span, scoped_args};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    #[default]
    Top,
    Rising,
    Falling,
}

scoped_args! {
    /// Arguments of `tag_trends`.
    pub struct TagTrendsArgs {
        /// `top` (default): most conversations first; `rising`: largest increase over the previous window first;
        /// `falling`: largest decrease first.
        #[serde(default)]
        pub order: Trend,
        /// Most tags listed (default 20).
        #[schemars(range(min = 1, max = 200))]
        pub limit: Option<u32>,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TagRow {
    pub tag: Entity,
    /// Conversations with the tag created in the window.
    pub conversations: u64,
    /// The same in the window before (of the same length).
    pub previous_conversations: u64,
    /// conversations - previous_conversations.
    pub change: i64,
    /// The change as a percentage of the previous count; absent when the tag is new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_percent: Option<f64>,
    /// Percentage of the window's conversations that have the tag.
    pub share_percent: f64,
}

pub struct TagTrends;

impl TypedTool for TagTrends {
    const NAME: &'static str = "tag_trends";
    const TITLE: &'static str = "Tag trends";
    const DESCRIPTION: &'static str = "The tags of conversations created in a window, each with its count in the \
        window before (same length), the change and its share of the window's conversations; ordered by count \
        (top), increase (rising) or decrease (falling). Use it for \"what did customers complain about this \
        week\", \"which topics are rising\". Default window: last_7_days.";

    type Args = TagTrendsArgs;
    type Output = Envelope<TagRow>;

    fn run(args: TagTrendsArgs) -> Result<Envelope<TagRow>, ToolError> {
        let mut watch = Stopwatch::new();
        let window = args.window(Span::Last7Days)?;
        let mut filters = Filters::new();
        let conditions = args.conditions();
        let scope = conditions.scope(window, false, &mut filters)?;
        let grouping = largest(vec![Dimension::Tag], 1000);
        let current = watch.time(|| analytics::count(&scope, &grouping))?;
        let previous = match window.previous() {
            Some(previous) => {
                let scope = conditions.scope(previous, false, &mut Filters::new())?;
                filters.set_time("previous_since", previous.after).set_time("previous_until", previous.before);
                Some(watch.time(|| analytics::count(&scope, &grouping))?)
            }
            None => None,
        };
        let tagged = |counts: &analytics::Counts| -> Vec<(Entity, u64)> {
            counts
                .rows
                .iter()
                .filter_map(|row| match row.keys.first() {
                    Some(Key::Entity(named)) => Some((
                        Entity { id: Some(named.id.clone()), name: named.name.clone().unwrap_or_default() },
                        row.conversations,
                    )),
                    _ => None,
                })
                .collect()
        };
        let mut before: HashMap<Entity, u64> =
            previous.as_ref().map(|p| tagged(p).into_iter().collect()).unwrap_or_default();
        let mut rows: Vec<TagRow> = tagged(&current)
            .into_iter()
            .map(|(tag, conversations)| {
                let previous_conversations = before.remove(&tag).unwrap_or(0);
                row(tag, conversations, previous_conversations, current.total)
            })
            .collect();
        // Tags only the previous window had fell to zero.
        rows.extend(before.into_iter().map(|(tag, previous)| row(tag, 0, previous, current.total)));
        match args.order {
            Trend::Top => rows.sort_by(|a, b| b.conversations.cmp(&a.conversations).then(b.change.cmp(&a.change))),
            Trend::Rising => rows.sort_by(|a, b| b.change.cmp(&a.change).then(b.conversations.cmp(&a.conversations))),
            Trend::Falling => rows.sort_by(|a, b| a.change.cmp(&b.change).then(b.conversations.cmp(&a.conversations))),
        }
        rows.retain(|row| row.conversations > 0 || args.order == Trend::Falling);
        rows.truncate(args.limit.unwrap_or(20).clamp(1, 200) as usize);
        filters.set("order", format!("{:?}", args.order).to_lowercase());
        filters.set_opt("timeframe", args.timeframe.map(Span::as_str));
        window.record(&mut filters, "");
        Ok(Envelope::new(rows).total(current.total).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

fn row(tag: Entity, conversations: u64, previous: u64, total: u64) -> TagRow {
    let change = conversations as i64 - previous as i64;
    TagRow {
        tag,
        conversations,
        previous_conversations: previous,
        change,
        change_percent: (previous > 0).then(|| round1(change as f64 * 100.0 / previous as f64)),
        share_percent: if total == 0 { 0.0 } else { round1(conversations as f64 * 100.0 / total as f64) },
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

//! `conversation_volume`: conversations created (or closed) per hour, day, week or month, optionally broken
//! down, each period beside the same period of the window before.

use std::collections::HashMap;

use fastintercom_plugin_sdk::analytics::{self, Dimension, Grouping, Period, RowOrder};
use fastintercom_plugin_sdk::{
    DAY, Envelope, Filters, Stopwatch, ToolError, TypedTool, civil_from_days, days_from_civil, freshness, now_unix,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rows::{By, Group, format_at_offset, key_text};
use crate::scope::{Span, Window, scoped_args};

/// Most periods one answer lists.
const MAX_PERIODS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodArg {
    Hour,
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    #[default]
    Created,
    Closed,
}

scoped_args! {
    /// Arguments of `conversation_volume`.
    pub struct VolumeArgs {
        /// Bucket size; by default hours for up to 2 days, days up to 62, weeks up to a year, months beyond.
        pub period: Option<PeriodArg>,
        /// `created` (default): conversations started in each period; `closed`: those whose last close fell in it.
        #[serde(default)]
        pub event: Event,
        /// Break each period down by team, admin, tag, state, priority, channel (how the conversation started:
        /// conversation, email, push, ...) or company.
        pub by: Option<By>,
        /// Minutes east of UTC at which periods start (-840 to 840), e.g. 60 for Paris in winter. Default 0.
        #[serde(default)]
        #[schemars(range(min = -840, max = 840))]
        pub utc_offset_minutes: i32,
        /// Set each period beside the same period of the window before (default true; not for all_time).
        pub compare: Option<bool>,
    }
}

/// One period (and group, when broken down).
#[derive(Debug, Serialize, JsonSchema)]
pub struct VolumeRow {
    #[serde(flatten)]
    pub group: Group,
    pub conversations: u64,
    /// The same period of the previous window (as many periods earlier as the window has).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_conversations: Option<u64>,
}

pub struct ConversationVolume;

impl TypedTool for ConversationVolume {
    const NAME: &'static str = "conversation_volume";
    const TITLE: &'static str = "Conversation volume";
    const DESCRIPTION: &'static str = "How many conversations were created (or closed) per hour, day, week or \
        month, optionally broken down by team, admin, tag, state, priority, channel or company, with each period \
        beside the same period of the window before. Use it for \"how many conversations did we get this \
        month\", \"is volume rising\", \"which team gets the most each week\". Default window: last_30_days.";

    type Args = VolumeArgs;
    type Output = Envelope<VolumeRow>;

    fn run(args: VolumeArgs) -> Result<Envelope<VolumeRow>, ToolError> {
        let mut watch = Stopwatch::new();
        let window = args.window(Span::Last30Days)?;
        let period = args.period.map_or_else(|| default_period(window), period_of);
        let buckets = Buckets { period, offset: i64::from(args.utc_offset_minutes) * 60 };
        let bounded = Window { before: window.before.or(Some(now_unix() + 1)), ..window };
        if let Some(count) = buckets.count(bounded)
            && count > MAX_PERIODS
        {
            return Err(ToolError::InvalidArguments(format!(
                "{count} periods: at most {MAX_PERIODS}; choose a longer `period` or a shorter window"
            )));
        }
        let mut filters = Filters::new();
        let closed = args.event == Event::Closed;
        let conditions = args.conditions();
        let date = if closed { Dimension::Closed(period) } else { Dimension::Created(period) };
        let mut by = vec![date];
        by.extend(args.by.map(By::dimension));
        let grouping = Grouping {
            by: by.clone(),
            row_order: RowOrder::ByKey,
            limit: 1000,
            utc_offset_minutes: args.utc_offset_minutes,
        };
        let scope = conditions.scope(window, closed, &mut filters)?;
        let current = watch.time(|| analytics::count(&scope, &grouping))?;
        if current.other.rows > 0 {
            // Rows come oldest first: what did not fit is the newest periods, which a reader wants most.
            return Err(ToolError::InvalidArguments(format!(
                "{} periods × groups are more than {} rows: choose a longer `period`, a shorter window or no `by`",
                current.rows.len() as u64 + current.other.rows,
                grouping.limit
            )));
        }
        let previous_window = window.previous().filter(|_| args.compare.unwrap_or(true));
        let previous = match previous_window {
            Some(previous) => {
                let scope = conditions.scope(previous, closed, &mut Filters::new())?;
                Some((previous, watch.time(|| analytics::count(&scope, &grouping))?))
            }
            None => None,
        };

        // Rows keyed by (period index in the window, the breakdown's keys).
        let index_of = |window: Window, row: &analytics::CountRow| -> (i64, String) {
            let start = match row.keys.first() {
                Some(analytics::Key::StartsAt(start)) => Some(*start),
                _ => None,
            };
            let index = match (start, window.after) {
                (Some(start), Some(after)) => buckets.index(buckets.start(after), start),
                (Some(start), None) => start,
                (None, _) => i64::MIN,
            };
            (index, key_text(&row.keys[1..]))
        };
        let earlier: HashMap<(i64, String), u64> = previous
            .as_ref()
            .map(|(window, counts)| counts.rows.iter().map(|row| (index_of(*window, row), row.conversations)).collect())
            .unwrap_or_default();
        let mut rows: Vec<VolumeRow> = Vec::new();
        let offset = args.utc_offset_minutes;
        let row_for = |keys: &[analytics::Key], conversations: u64, index: Option<(i64, String)>| {
            let (previous_period_start, previous_conversations) = match (previous_window, index) {
                (Some(previous), Some(index)) if index.0 != i64::MIN => {
                    let start = previous.after.map(|after| buckets.nth(buckets.start(after), index.0));
                    (start.map(|s| format_at_offset(s, offset)), Some(earlier.get(&index).copied().unwrap_or(0)))
                }
                _ => (None, None),
            };
            VolumeRow {
                group: Group::from_keys(&by, keys, offset),
                conversations,
                previous_period_start,
                previous_conversations,
            }
        };
        match (args.by, window.after, window.before) {
            // A series without a breakdown lists every period of the window, empty ones too.
            (None, Some(after), Some(before)) => {
                let counted: HashMap<i64, u64> = current
                    .rows
                    .iter()
                    .filter_map(|row| match row.keys.first() {
                        Some(analytics::Key::StartsAt(start)) => Some((*start, row.conversations)),
                        _ => None,
                    })
                    .collect();
                let first = buckets.start(after);
                let mut start = first;
                let mut index = 0;
                while start < before {
                    let keys = [analytics::Key::StartsAt(start)];
                    let conversations = counted.get(&start).copied().unwrap_or(0);
                    rows.push(row_for(&keys, conversations, Some((index, key_text(&[])))));
                    index += 1;
                    start = buckets.nth(first, index);
                }
                // Conversations never closed have no period: the series leaves them out.
            }
            _ => {
                for row in &current.rows {
                    let index = window.after.map(|_| index_of(window, row));
                    rows.push(row_for(&row.keys, row.conversations, index));
                }
                if current.other.rows > 0 {
                    rows.push(VolumeRow {
                        group: Group::other(),
                        conversations: current.other.conversations,
                        previous_period_start: None,
                        previous_conversations: None,
                    });
                }
            }
        }
        filters.set("event", if closed { "closed" } else { "created" });
        filters.set("period", period_name(period));
        filters.set_opt("by", args.by.map(By::as_str));
        filters.set_opt("timeframe", args.timeframe.map(Span::as_str));
        window.record(&mut filters, "");
        if let Some(previous) = previous_window {
            previous.record(&mut filters, "previous_");
        }
        if offset != 0 {
            filters.set("utc_offset_minutes", offset);
        }
        Ok(Envelope::new(rows).total(current.total).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

fn period_of(period: PeriodArg) -> Period {
    match period {
        PeriodArg::Hour => Period::Hour,
        PeriodArg::Day => Period::Day,
        PeriodArg::Week => Period::Week,
        PeriodArg::Month => Period::Month,
    }
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Hour => "hour",
        Period::Day => "day",
        Period::Week => "week",
        Period::Month => "month",
    }
}

fn default_period(window: Window) -> Period {
    match window.days() {
        Some(days) if days <= 2 => Period::Hour,
        Some(days) if days <= 62 => Period::Day,
        Some(days) if days <= 366 => Period::Week,
        _ => Period::Month,
    }
}

/// Periods as the host buckets them: starting at midnight (weeks on Monday) at a UTC offset.
#[derive(Debug, Clone, Copy)]
struct Buckets {
    period: Period,
    /// Seconds east of UTC.
    offset: i64,
}

impl Buckets {
    /// The first second of the period holding `t`.
    fn start(self, t: i64) -> i64 {
        let local = t + self.offset;
        let start = match self.period {
            Period::Hour => local.div_euclid(3600) * 3600,
            Period::Day => local.div_euclid(DAY) * DAY,
            Period::Week => ((local.div_euclid(DAY) + 3).div_euclid(7) * 7 - 3) * DAY,
            Period::Month => {
                let (year, month, _) = civil_from_days(local.div_euclid(DAY));
                days_from_civil(year, month, 1) * DAY
            }
        };
        start - self.offset
    }

    /// The first second of the `n`th period after the one starting at `first`.
    fn nth(self, first: i64, n: i64) -> i64 {
        match self.period {
            Period::Hour => first + n * 3600,
            Period::Day => first + n * DAY,
            Period::Week => first + n * 7 * DAY,
            Period::Month => {
                let (year, month, _) = civil_from_days((first + self.offset).div_euclid(DAY));
                let months = year * 12 + (month - 1) + n;
                days_from_civil(months.div_euclid(12), months.rem_euclid(12) + 1, 1) * DAY - self.offset
            }
        }
    }

    /// How many periods after the one starting at `first` the one starting at `start` is.
    fn index(self, first: i64, start: i64) -> i64 {
        match self.period {
            Period::Hour => (start - first).div_euclid(3600),
            Period::Day => (start - first).div_euclid(DAY),
            Period::Week => (start - first).div_euclid(7 * DAY),
            Period::Month => {
                let month = |t: i64| {
                    let (year, month, _) = civil_from_days((t + self.offset).div_euclid(DAY));
                    year * 12 + month
                };
                month(start) - month(first)
            }
        }
    }

    /// How many periods the window spans, when bounded.
    fn count(self, window: Window) -> Option<i64> {
        let (after, before) = (window.after?, window.before?);
        Some(self.index(self.start(after), self.start(before - 1)) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_where_the_host_buckets_them() {
        // 2026-09-21 was a Monday; 1_790_000_000 is that day at 14:13:20 UTC.
        let t = 1_790_000_000;
        let day = Buckets { period: Period::Day, offset: 0 };
        assert_eq!(day.start(t), 1_789_948_800);
        let week = Buckets { period: Period::Week, offset: 0 };
        assert_eq!(week.start(t), 1_789_948_800);
        assert_eq!(week.start(t - DAY), 1_789_948_800 - 7 * DAY);
        let month = Buckets { period: Period::Month, offset: 0 };
        assert_eq!(month.start(t), 1_788_220_800); // 2026-09-01
        assert_eq!(month.nth(month.start(t), 4), 1_798_761_600); // 2027-01-01
        assert_eq!(month.index(month.start(t), 1_798_761_600), 4);
        // At UTC+2 the day starts two hours earlier in UTC.
        let paris = Buckets { period: Period::Day, offset: 7200 };
        assert_eq!(paris.start(t), 1_789_948_800 - 7200);
    }
}

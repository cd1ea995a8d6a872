//! `response_times`: how fast conversations got a first admin reply and were closed, overall and by team,
//! admin, tag, channel or priority.

use fastintercom_plugin_sdk::analytics::{self, Figure};
use fastintercom_plugin_sdk::{Envelope, Filters, Stopwatch, ToolError, TypedTool, freshness};
use schemars::JsonSchema;
use serde::Serialize;

use crate::rows::{By, Group, Timing, largest};
use crate::scope::{Span, scoped_args};

scoped_args! {
    /// Arguments of `response_times`.
    pub struct ResponseTimesArgs {
        /// Break down by team (default), admin, tag, state, priority, channel or company; the first row is always
        /// every conversation in the window.
        pub by: Option<By>,
        /// Most groups listed, largest first (default 20); the rest are summed in a last row.
        #[schemars(range(min = 1, max = 200))]
        pub limit: Option<u32>,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResponseRow {
    /// True on the first row, which covers every conversation in the window.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overall: bool,
    #[serde(flatten)]
    pub group: Group,
    /// Conversations created in the window.
    pub conversations: u64,
    /// Time from the customer's first message to the first admin reply.
    pub first_response: Timing,
    /// Time from the start to the first close.
    pub time_to_close: Timing,
}

pub struct ResponseTimes;

impl TypedTool for ResponseTimes {
    const NAME: &'static str = "response_times";
    const TITLE: &'static str = "Response times";
    const DESCRIPTION: &'static str = "Median and 90th-percentile time to first response and to close for \
        conversations created in a window, overall and by team (or admin, tag, channel, priority, state, \
        company). Use it for \"how fast do we answer billing questions\", \"which team is slowest to reply\". \
        Durations come in seconds and as text. Default window: last_30_days.";

    type Args = ResponseTimesArgs;
    type Output = Envelope<ResponseRow>;

    fn run(args: ResponseTimesArgs) -> Result<Envelope<ResponseRow>, ToolError> {
        let mut watch = Stopwatch::new();
        let window = args.window(Span::Last30Days)?;
        let mut filters = Filters::new();
        let scope = args.conditions().scope(window, false, &mut filters)?;
        let by = args.by.unwrap_or(By::Team);
        let limit = args.limit.unwrap_or(20).clamp(1, 200);
        let grouped = largest(vec![by.dimension()], limit);
        // One host call: both figures, per group and over the whole window.
        let figures = [Figure::TimeToFirstReply, Figure::TimeToFirstClose];
        let found = watch.time(|| analytics::distribution(&scope, &figures, &grouped))?;

        let mut rows = Vec::with_capacity(found.rows.len() + 2);
        let row = |overall: bool, group: Group, summaries: &[analytics::Summary]| match summaries {
            [reply, close] => ResponseRow {
                overall,
                group,
                conversations: reply.count + reply.missing,
                first_response: Timing::from(reply),
                time_to_close: Timing::from(close),
            },
            _ => ResponseRow {
                overall,
                group,
                conversations: 0,
                first_response: Timing::default(),
                time_to_close: Timing::default(),
            },
        };
        rows.push(row(true, Group::default(), &found.overall));
        for found_row in &found.rows {
            rows.push(row(false, Group::from_keys(&grouped.by, &found_row.keys, 0), &found_row.summaries));
        }
        if found.other.rows > 0 {
            let mut other = row(false, Group::other(), &[]);
            other.conversations = found.other.conversations;
            rows.push(other);
        }
        let replies = found;
        filters.set("by", by.as_str());
        filters.set_opt("timeframe", args.timeframe.map(Span::as_str));
        window.record(&mut filters, "");
        Ok(Envelope::new(rows).total(replies.total).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

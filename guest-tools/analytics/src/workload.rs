//! `workload`: the open queue per admin or team: open and snoozed conversations, how many wait for a reply and
//! since when the oldest waits.

use std::collections::HashMap;

use fastintercom_plugin_sdk::analytics::{self, Dimension, Figure, Key};
use fastintercom_plugin_sdk::conversations::ConversationState;
use fastintercom_plugin_sdk::{Envelope, Filters, Stopwatch, ToolError, TypedTool, format_unix, freshness, now_unix};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rows::{Group, human_duration, key_text, largest};
use crate::scope::{Span, scoped_args};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    #[default]
    Admin,
    Team,
}

scoped_args! {
    /// Arguments of `workload`.
    pub struct WorkloadArgs {
        /// One row per admin (default) or per team; unassigned conversations get a row of their own.
        #[serde(default)]
        pub by: Assignee,
        /// Most rows (default 50), most open conversations first.
        #[schemars(range(min = 1, max = 500))]
        pub limit: Option<u32>,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkloadRow {
    #[serde(flatten)]
    pub group: Group,
    pub open: u64,
    pub snoozed: u64,
    /// Open or snoozed conversations whose customer waits for a reply.
    pub waiting: u64,
    /// Since when the longest-waiting customer waits (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_waiting_since: Option<String>,
    /// How long that is, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longest_wait: Option<String>,
}

pub struct Workload;

impl TypedTool for Workload {
    const NAME: &'static str = "workload";
    const TITLE: &'static str = "Workload";
    const DESCRIPTION: &'static str = "The open queue per admin (or team): open and snoozed conversations, how \
        many wait for a reply and since when the longest has waited; unassigned conversations in a row of their \
        own. Use it for \"who has the most open conversations\", \"what is waiting longest\". Default window: \
        all_time (every open conversation, whenever created).";

    type Args = WorkloadArgs;
    type Output = Envelope<WorkloadRow>;

    fn run(args: WorkloadArgs) -> Result<Envelope<WorkloadRow>, ToolError> {
        let mut watch = Stopwatch::new();
        let window = args.window(Span::AllTime)?;
        let mut filters = Filters::new();
        let mut scope = args.conditions().scope(window, false, &mut filters)?;
        scope.filter.states = vec![ConversationState::Open, ConversationState::Snoozed];
        let assignee = match args.by {
            Assignee::Admin => Dimension::Admin,
            Assignee::Team => Dimension::Team,
        };
        let by_state = watch.time(|| analytics::count(&scope, &largest(vec![assignee, Dimension::State], 1000)))?;
        let waits =
            watch.time(|| analytics::distribution(&scope, &[Figure::WaitingSince], &largest(vec![assignee], 1000)))?;

        let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
        for row in &by_state.rows {
            let entry = counts.entry(key_text(&row.keys[..1])).or_default();
            match row.keys.get(1) {
                Some(Key::Value(state)) if state == "snoozed" => entry.1 += row.conversations,
                _ => entry.0 += row.conversations,
            }
        }
        let now = now_unix();
        let mut rows: Vec<WorkloadRow> = waits
            .rows
            .iter()
            .map(|row| {
                let (open, snoozed) = counts.get(&key_text(&row.keys)).copied().unwrap_or_default();
                let waits = row.summaries.first().copied().unwrap_or_default();
                WorkloadRow {
                    group: Group::from_keys(std::slice::from_ref(&assignee), &row.keys, 0),
                    open,
                    snoozed,
                    waiting: waits.count,
                    oldest_waiting_since: waits.min.map(format_unix),
                    longest_wait: waits.min.map(|since| human_duration(now - since)),
                }
            })
            .collect();
        rows.sort_by(|a, b| (b.open + b.snoozed).cmp(&(a.open + a.snoozed)).then(b.waiting.cmp(&a.waiting)));
        let limit = args.limit.unwrap_or(50).clamp(1, 500) as usize;
        if rows.len() > limit {
            let rest = rows.split_off(limit);
            let sum = |f: fn(&WorkloadRow) -> u64| rest.iter().map(f).sum::<u64>();
            rows.push(WorkloadRow {
                group: Group::other(),
                open: sum(|r| r.open),
                snoozed: sum(|r| r.snoozed),
                waiting: sum(|r| r.waiting),
                oldest_waiting_since: None,
                longest_wait: None,
            });
        }
        filters.set("by", if args.by == Assignee::Admin { "admin" } else { "team" });
        filters.set_list("state", vec!["open", "snoozed"]);
        window.record(&mut filters, "");
        Ok(Envelope::new(rows).total(waits.total).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

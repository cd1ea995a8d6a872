//! The built-in analytics tools, as a WebAssembly component on contract 0.5.0: each answers a support lead's
//! question with a few `analytics` host calls (counts and distributions the host computes in one statement
//! each), never by paging through conversations.
//!
//! Every answer is the standard envelope whose `results` are rows: one per group (a period, a team, a tag, ...),
//! the group's keys first, then its figures. `summary.total` is the number of conversations the answer covers.
//! When more groups exist than the answer shows, the last row has `"other": true` and sums the rest (except
//! `tag_trends` and `satisfaction`, whose `limit` keeps the first tags or groups in their order, and
//! `conversation_volume`, which refuses a window whose periods and groups do not fit in 1,000 rows).

mod response_times;
mod rows;
mod satisfaction;
mod scope;
mod tag_trends;
mod volume;
mod workload;

fastintercom_plugin_sdk::export_plugin!(
    volume::ConversationVolume,
    response_times::ResponseTimes,
    tag_trends::TagTrends,
    workload::Workload,
    satisfaction::Satisfaction,
);

//! `search_conversations`: the typed filters of the `conversations` host interface, offered to a model.

use fastintercom_plugin_sdk::analytics::Scope;
use fastintercom_plugin_sdk::conversations::{ConversationFilter, ConversationSort, ConversationState, PriorityLevel};
use fastintercom_plugin_sdk::conversations_scoped;
use fastintercom_plugin_sdk::types::PageRequest;
use fastintercom_plugin_sdk::{
    Args, Detail, Envelope, Filters, Stopwatch, Timeframe, Tool, ToolDescriptor, ToolError, ToolOutput,
    envelope_output_schema, freshness, now_unix, schema, shown,
};
use serde_json::{Value, json};

use fastintercom_plugin_sdk::names;

use crate::more::{self, More};
use crate::render::{PRIORITY_LEVELS, SummaryView, priority_name, summary_schema};

/// Results per page when the caller does not say.
const DEFAULT_LIMIT: u32 = 50;
/// The host's page-size cap.
const MAX_LIMIT: u32 = 1000;

const ARGUMENTS: &[&str] = &[
    "query",
    "state",
    "tags",
    "contact_id",
    "admin_assignee_id",
    "team_assignee_id",
    "priority",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "timeframe",
    "sort",
    "limit",
    "cursor",
    "detail",
];

const STATES: [&str; 3] = ["open", "closed", "snoozed"];
const SORTS: [&str; 4] = ["relevance", "newest", "oldest", "updated"];

/// The `search_conversations` tool.
pub struct SearchConversations;

impl Tool for SearchConversations {
    const NAME: &'static str = "search_conversations";

    fn describe() -> ToolDescriptor {
        ToolDescriptor::read_only(
            Self::NAME,
            "Search conversations",
            "Finds Intercom conversations in the local copy of the workspace by full-text query and/or filters \
             (state, tags, contact, assignee, priority, creation/update/close dates or a named timeframe, rating, \
             company, first response or time to close slower/faster than a duration), newest first \
             or by relevance. Returns one page of conversation summaries (id, title, state, priority, dates, \
             assignees, author, a preview of the first message, tags, rating; with detail \"full\" also contacts, \
             timing statistics and every null field) plus the total number of matches, so it also answers \"how many\" questions (use limit 1 and read summary.total; \
             summary.total_is_estimate says when a very common word made it an estimate). \
             Use get_conversation with a result's id to read the whole thread. All filters combine with AND; \
             dates are UTC.",
            &input_schema(),
            Some(&envelope_output_schema(summary_schema())),
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        let mut request = Request::parse(arguments, now_unix())?;
        request.resolve_names()?;
        let mut watch = Stopwatch::new();
        let freshness = watch.time(freshness);
        let scope = Scope {
            filter: request.filter.clone(),
            closed_after: request.more.closed_after,
            closed_before: request.more.closed_before,
            ratings: request.more.ratings.clone(),
            company_id: request.more.company.clone(),
            figures: request.more.figures.clone(),
        };
        let page = watch.time(|| conversations_scoped::search(&scope, request.sort, &request.page))?;
        if page.items.is_empty() && request.page.cursor.is_none() {
            // Nothing found: say so when a tag names no tag (a misspelling), rather than answer an empty page.
            for tag in &request.filter.tags {
                names::check_named(names::Kind::Tag, "tags", tag)?;
            }
        }
        let results: Vec<SummaryView<'_>> =
            page.items.iter().map(|summary| SummaryView::new(summary, request.detail)).collect();
        Envelope::new(results)
            .total(page.total)
            .total_is_estimate(page.total_is_estimate)
            .ranked(page.ranked_matches)
            .next_cursor(page.next_cursor.clone())
            .filters(request.applied)
            .freshness(&freshness)
            .query_ms(watch.ms())
            .into_output()
    }
}

fn input_schema() -> Value {
    let mut schema = base_schema();
    if let Some(properties) = schema["properties"].as_object_mut() {
        properties.extend(more::schemas().into_iter().map(|(name, schema)| (name.to_owned(), schema)));
    }
    schema
}

fn base_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "maxLength": 1000, "description": "Full-text search over subjects and every message and note: words that all must occur (whole words, English stemming), \"a quoted phrase\", OR in capitals between two terms (refund OR chargeback), -word to exclude, word* for a prefix. Other punctuation is plain text. Omit to filter only."},
            "state": {"type": "string", "enum": STATES, "description": "Only conversations in this state."},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 50, "description": "Only conversations with any of these tags (names, case-insensitive, or tag ids)."},
            "contact_id": {"type": "string", "maxLength": 64, "description": "Only conversations involving this contact (Intercom contact id; find it with search_contacts)."},
            "admin_assignee_id": {"type": "string", "maxLength": 64, "description": "Only conversations assigned to this admin (teammate): an id, or a name or email (ignoring case; a part of one name will do, e.g. \"jane\")."},
            "team_assignee_id": {"type": "string", "maxLength": 64, "description": "Only conversations assigned to this team: an id, or a name (ignoring case; a part of one name will do, e.g. \"billing\")."},
            "priority": {
                "description": "true: only prioritized conversations (any level but none); false: only unprioritized ones; or one or more priority levels.",
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "string", "enum": PRIORITY_LEVELS.map(priority_name)},
                    {"type": "array", "items": {"type": "string", "enum": PRIORITY_LEVELS.map(priority_name)}}
                ]
            },
            "created_after": schema::time_argument("Only conversations created at or after this time."),
            "created_before": schema::time_argument("Only conversations created before this time."),
            "updated_after": schema::time_argument("Only conversations updated at or after this time."),
            "updated_before": schema::time_argument("Only conversations updated before this time."),
            "timeframe": schema::timeframe_argument("Only conversations created in these UTC days: today, yesterday, or the last 7/30/90 days including today. Combines with created_after/created_before (the later start and the earlier end win)."),
            "sort": {"type": "string", "enum": SORTS, "description": "relevance (best full-text match first; the default with a query; a text in more than 2,000 conversations ranks its 1,000 most recent matches first, then the rest newest first, and summary.ranked says how many are ranked; a word in most conversations is not ranked, and comes newest first), newest (the default without), oldest, or updated (most recently updated first)."},
            "limit": schema::limit_argument(DEFAULT_LIMIT, MAX_LIMIT),
            "cursor": schema::cursor_argument(),
            "detail": Detail::argument_schema(Detail::Compact, "each result without null, empty or default fields, contacts or statistics, its preview 140 characters.")
        },
        "additionalProperties": false
    })
}

/// A validated call: what to ask the host, and the normalised filters to report back.
struct Request {
    filter: ConversationFilter,
    sort: ConversationSort,
    page: PageRequest,
    detail: Detail,
    more: More,
    applied: Filters,
}

impl Request {
    /// Turns an admin or team given by name into its id (one host call each, none for an id), and reports the id.
    fn resolve_names(&mut self) -> Result<(), ToolError> {
        if let Some(admin) = self.filter.admin_assignee_id.take() {
            let id = names::resolve(names::Kind::Admin, "admin_assignee_id", admin)?;
            self.applied.set("admin_assignee_id", id.as_str());
            self.filter.admin_assignee_id = Some(id);
        }
        if let Some(team) = self.filter.team_assignee_id.take() {
            let id = names::resolve(names::Kind::Team, "team_assignee_id", team)?;
            self.applied.set("team_assignee_id", id.as_str());
            self.filter.team_assignee_id = Some(id);
        }
        self.more.resolve_company(&mut self.applied)
    }

    /// Reads and checks the arguments; `now` anchors `timeframe`.
    fn parse(arguments: &str, now: i64) -> Result<Request, ToolError> {
        let args = Args::parse(arguments)?;
        args.deny_unknown(&[ARGUMENTS, more::ARGUMENTS].concat())?;

        let text = args.string("query")?;
        let state = args.one_of("state", &STATES)?;
        let tags = args.strings("tags")?;
        let contact_id = args.string("contact_id")?;
        let admin_assignee_id = args.string("admin_assignee_id")?;
        let team_assignee_id = args.string("team_assignee_id")?;
        let priorities = priorities(args.get("priority"))?;
        let timeframe = match args.one_of("timeframe", &Timeframe::names())? {
            Some(name) => Timeframe::parse(name),
            None => None,
        };
        let mut created_after = args.time("created_after")?;
        let mut created_before = args.time("created_before")?;
        if let Some(timeframe) = timeframe {
            let (after, before) = timeframe.range(now);
            created_after = Some(created_after.map_or(after, |a| a.max(after)));
            created_before = Some(created_before.map_or(before, |b| b.min(before)));
        }
        let updated_after = args.time("updated_after")?;
        let updated_before = args.time("updated_before")?;
        let sort = match args.one_of("sort", &SORTS)? {
            // Relevance needs a query; without one the host orders by newest anyway, so say what happens.
            Some("relevance") | None if text.is_some() => "relevance",
            Some("oldest") => "oldest",
            Some("updated") => "updated",
            _ => "newest",
        };
        let limit = args.limit("limit", DEFAULT_LIMIT, MAX_LIMIT)?;
        let cursor = args.string("cursor")?;
        let detail = Detail::from_args(&args, Detail::Compact)?;

        let mut applied = Filters::new();
        applied
            .set_opt("query", text.clone())
            .set_opt("state", state)
            .set_list("tags", tags.clone())
            .set_opt("contact_id", contact_id.clone())
            .set_opt("admin_assignee_id", admin_assignee_id.clone())
            .set_opt("team_assignee_id", team_assignee_id.clone())
            .set_list("priority", priorities.iter().map(|p| priority_name(*p)).collect())
            .set_opt("timeframe", timeframe.map(Timeframe::as_str))
            .set_time("created_after", created_after)
            .set_time("created_before", created_before)
            .set_time("updated_after", updated_after)
            .set_time("updated_before", updated_before)
            .set("sort", sort)
            .set("limit", limit)
            .set("detail", detail.as_str());
        let more = More::parse(&args, &mut applied)?;

        Ok(Request {
            filter: ConversationFilter {
                text,
                states: state.map(state_from_name).into_iter().collect(),
                tags,
                contact_id,
                admin_assignee_id,
                team_assignee_id,
                priorities,
                created_after,
                created_before,
                updated_after,
                updated_before,
            },
            sort: match sort {
                "relevance" => ConversationSort::Relevance,
                "oldest" => ConversationSort::Oldest,
                "updated" => ConversationSort::Updated,
                _ => ConversationSort::Newest,
            },
            page: PageRequest { limit, cursor },
            detail,
            more,
            applied,
        })
    }
}

fn state_from_name(name: &str) -> ConversationState {
    match name {
        "closed" => ConversationState::Closed,
        "snoozed" => ConversationState::Snoozed,
        _ => ConversationState::Open,
    }
}

/// `priority`: a boolean, one level name, or a list of level names.
fn priorities(value: Option<&Value>) -> Result<Vec<PriorityLevel>, ToolError> {
    let level = |v: &Value| PRIORITY_LEVELS.into_iter().find(|p| v.as_str().map(str::trim) == Some(priority_name(*p)));
    let invalid = || {
        ToolError::InvalidArguments(format!(
            "`priority` must be true, false, or one or more of: none, low, medium, high, urgent; got {}",
            value.map_or_else(|| "null".to_owned(), shown)
        ))
    };
    match value {
        None => Ok(Vec::new()),
        Some(Value::Bool(true)) => Ok(PRIORITY_LEVELS[1..].to_vec()),
        Some(Value::Bool(false)) => Ok(vec![PriorityLevel::None]),
        Some(Value::Array(items)) => {
            let mut levels = Vec::new();
            for item in items {
                let l = level(item).ok_or_else(invalid)?;
                if !levels.contains(&l) {
                    levels.push(l);
                }
            }
            Ok(levels)
        }
        Some(v) => level(v).map(|l| vec![l]).ok_or_else(invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON_JAN_15_2025: i64 = 1_736_942_400;

    fn applied(request: &Request) -> Value {
        Value::Object(request.applied.clone().into_map())
    }

    #[test]
    fn defaults_to_newest_fifty() {
        let r = Request::parse("{}", NOON_JAN_15_2025).unwrap();
        assert_eq!(r.sort, ConversationSort::Newest);
        assert_eq!(r.page.limit, 50);
        assert_eq!(r.detail, Detail::Compact);
        assert_eq!(applied(&r), json!({"sort": "newest", "limit": 50, "detail": "compact"}));
    }

    #[test]
    fn timeframe_intersects_explicit_dates() {
        let r = Request::parse(
            r#"{"query":" refund ","timeframe":"last_7_days","created_after":"2025-01-12","created_before":1767225600,"priority":true,"state":"open","tags":["vip"],"limit":5}"#,
            NOON_JAN_15_2025,
        )
        .unwrap();
        assert_eq!(r.sort, ConversationSort::Relevance);
        assert_eq!(r.filter.created_after, Some(1_736_640_000)); // 2025-01-12, later than 2025-01-09
        assert_eq!(r.filter.created_before, Some(1_736_985_600)); // 2025-01-16, earlier than 2026-01-01
        assert_eq!(r.filter.priorities.len(), 4);
        assert_eq!(
            applied(&r),
            json!({
                "query": "refund", "state": "open", "tags": ["vip"], "priority": ["low", "medium", "high", "urgent"],
                "timeframe": "last_7_days", "created_after": "2025-01-12T00:00:00Z",
                "created_before": "2025-01-16T00:00:00Z", "sort": "relevance", "limit": 5, "detail": "compact"
            })
        );
    }

    #[test]
    fn relevance_without_query_is_newest() {
        let r = Request::parse(r#"{"sort":"relevance"}"#, 0).unwrap();
        assert_eq!(r.sort, ConversationSort::Newest);
        let r = Request::parse(r#"{"sort":"oldest","query":"x"}"#, 0).unwrap();
        assert_eq!(r.sort, ConversationSort::Oldest);
    }

    #[test]
    fn bad_arguments_are_invalid_arguments() {
        for bad in [
            r#"{"state":"pending"}"#,
            r#"{"limit":0}"#,
            r#"{"limit":1001}"#,
            r#"{"created_after":"last week"}"#,
            r#"{"priority":"very"}"#,
            r#"{"priority":[1]}"#,
            r#"{"timeframe":"last_week"}"#,
            r#"{"tags":"a,b","extra":1}"#,
            r#"[]"#,
            r#"{"query":{}}"#,
            r#"{"detail":"brief"}"#,
        ] {
            match Request::parse(bad, 0) {
                Err(ToolError::InvalidArguments(_)) => {}
                Err(other) => panic!("{bad}: {other:?}"),
                Ok(_) => panic!("{bad} was accepted"),
            }
        }
    }

    #[test]
    fn describes_itself() {
        let d = SearchConversations::describe();
        assert_eq!(d.name, SearchConversations::NAME);
        let input: Value = serde_json::from_str(&d.input_schema).unwrap();
        assert_eq!(input["type"], "object");
        assert_eq!(input["additionalProperties"], false);
        let properties = input["properties"].as_object().unwrap();
        let every = [ARGUMENTS, more::ARGUMENTS].concat();
        assert_eq!(properties.len(), every.len());
        assert!(every.iter().all(|a| properties.contains_key(*a)));
        let output: Value = serde_json::from_str(d.output_schema.as_deref().unwrap()).unwrap();
        assert_eq!(output["type"], "object");
    }
}

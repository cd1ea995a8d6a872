//! What every analytics tool takes: a window of time and the conditions a support lead names (a team, an
//! admin, tags, words), turned into the host's scope with names resolved in the directory.

use fastintercom_plugin_sdk::analytics::Scope;
use fastintercom_plugin_sdk::conversations::ConversationFilter;
use fastintercom_plugin_sdk::names::{self, Kind};
use fastintercom_plugin_sdk::{DAY, Filters, Timeframe, ToolError, now_unix, parse_time_str};
use schemars::JsonSchema;
use serde::Deserialize;

/// A named window of days, or all of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Span {
    #[serde(rename = "today")]
    Today,
    #[serde(rename = "yesterday")]
    Yesterday,
    #[serde(rename = "last_7_days")]
    Last7Days,
    #[serde(rename = "last_30_days")]
    Last30Days,
    #[serde(rename = "last_90_days")]
    Last90Days,
    #[serde(rename = "all_time")]
    AllTime,
}

impl Span {
    fn timeframe(self) -> Option<Timeframe> {
        match self {
            Self::Today => Some(Timeframe::Today),
            Self::Yesterday => Some(Timeframe::Yesterday),
            Self::Last7Days => Some(Timeframe::Last7Days),
            Self::Last30Days => Some(Timeframe::Last30Days),
            Self::Last90Days => Some(Timeframe::Last90Days),
            Self::AllTime => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self.timeframe() {
            Some(timeframe) => timeframe.as_str(),
            None => "all_time",
        }
    }
}

/// The window an answer covers: `[after, before)` in unix seconds, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub after: Option<i64>,
    pub before: Option<i64>,
}

impl Window {
    /// From a named span or explicit `since` / `until` (ISO 8601 dates or date-times, or unix seconds), which
    /// override the span's ends. With neither, `default`.
    pub fn new(span: Option<Span>, since: Option<&str>, until: Option<&str>, default: Span) -> Result<Self, ToolError> {
        let (mut after, mut before) =
            match span.or(if since.is_some() || until.is_some() { None } else { Some(default) }) {
                Some(span) => match span.timeframe() {
                    Some(timeframe) => {
                        let (after, before) = timeframe.range(now_unix());
                        (Some(after), Some(before))
                    }
                    None => (None, None),
                },
                None => (None, None),
            };
        let parse = |name: &str, text: &str| {
            parse_time_str(text).map_err(|e| ToolError::InvalidArguments(format!("`{name}`: {e}")))
        };
        if let Some(since) = since {
            after = Some(parse("since", since)?);
        }
        if let Some(until) = until {
            before = Some(parse("until", until)?);
        }
        if let (Some(after), Some(before)) = (after, before)
            && after >= before
        {
            return Err(ToolError::InvalidArguments("`since` must be before `until`".to_owned()));
        }
        Ok(Self { after, before })
    }

    /// The window of the same length just before this one, when both ends are known.
    pub fn previous(self) -> Option<Self> {
        let (after, before) = (self.after?, self.before?);
        Some(Self { after: Some(after - (before - after)), before: Some(after) })
    }

    /// Its length in days, when both ends are known.
    pub fn days(self) -> Option<i64> {
        Some((self.before? - self.after?).div_euclid(DAY).max(1))
    }

    pub fn record(self, filters: &mut Filters, prefix: &str) {
        filters.set_time(&format!("{prefix}since"), self.after);
        filters.set_time(&format!("{prefix}until"), self.before);
    }
}

/// The conditions a support lead names, as a tool received them.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub team: Option<String>,
    pub admin: Option<String>,
    pub tags: Vec<String>,
    pub query: Option<String>,
}

impl Conditions {
    /// The host's scope for `window` (on the conversations' creation, or on their last close when `closed`),
    /// with team, admin and tag names turned into ids; `filters` records what was applied.
    pub fn scope(&self, window: Window, closed: bool, filters: &mut Filters) -> Result<Scope, ToolError> {
        let mut filter = ConversationFilter { text: self.query.clone(), ..Default::default() };
        if let Some(team) = &self.team {
            let id = names::resolve(Kind::Team, "team", team.clone())?;
            filters.set("team", id.clone());
            filter.team_assignee_id = Some(id);
        }
        if let Some(admin) = &self.admin {
            let id = names::resolve(Kind::Admin, "admin", admin.clone())?;
            filters.set("admin", id.clone());
            filter.admin_assignee_id = Some(id);
        }
        for tag in &self.tags {
            filter.tags.push(names::resolve(Kind::Tag, "tags", tag.clone())?);
        }
        filters.set_list("tags", filter.tags.clone());
        filters.set_opt("query", self.query.clone());
        let mut scope = Scope { filter, ..Default::default() };
        if closed {
            scope.closed_after = window.after;
            scope.closed_before = window.before;
        } else {
            scope.filter.created_after = window.after;
            scope.filter.created_before = window.before;
        }
        Ok(scope)
    }
}

/// Declares a tool's arguments: the window and conditions every analytics tool takes, then its own fields.
macro_rules! scoped_args {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The window of time, on the day boundaries of UTC: `today`, `yesterday`, `last_7_days`,
            /// `last_30_days`, `last_90_days` or `all_time`. `since` and `until` override its ends.
            pub timeframe: Option<crate::scope::Span>,
            /// Start of the window (inclusive): an ISO 8601 date or date-time, e.g. "2026-11-01".
            #[schemars(length(max = 64))]
            pub since: Option<String>,
            /// End of the window (exclusive): an ISO 8601 date or date-time.
            #[schemars(length(max = 64))]
            pub until: Option<String>,
            /// Only conversations assigned to this team: its name (any case, or a unique part of it) or id.
            #[schemars(length(max = 256))]
            pub team: Option<String>,
            /// Only conversations assigned to this admin: name, email or id.
            #[schemars(length(max = 256))]
            pub admin: Option<String>,
            /// Only conversations with any of these tags (names or ids).
            #[serde(default)]
            #[schemars(length(max = 20))]
            pub tags: Vec<String>,
            /// Only conversations containing all these words.
            #[schemars(length(max = 1024))]
            pub query: Option<String>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $name {
            pub fn conditions(&self) -> crate::scope::Conditions {
                crate::scope::Conditions {
                    team: self.team.clone(),
                    admin: self.admin.clone(),
                    tags: self.tags.clone(),
                    query: self.query.clone(),
                }
            }

            pub fn window(&self, default: crate::scope::Span) -> Result<crate::scope::Window, fastintercom_plugin_sdk::ToolError> {
                crate::scope::Window::new(self.timeframe, self.since.as_deref(), self.until.as_deref(), default)
            }
        }
    };
}
pub(crate) use scoped_args;

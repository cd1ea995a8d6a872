//! How the host's keys and figures appear in answers: one row per group, the group's keys named after their
//! dimension (`team`, `tag`, `period_start`, ...), unassigned or untagged groups named as such.

use fastintercom_plugin_sdk::analytics::{self, Dimension, Grouping, Key, RowOrder};
use fastintercom_plugin_sdk::format_unix;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What rows may be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Team,
    Admin,
    Tag,
    State,
    Priority,
    Channel,
    Company,
}

impl By {
    pub fn dimension(self) -> Dimension {
        match self {
            Self::Team => Dimension::Team,
            Self::Admin => Dimension::Admin,
            Self::Tag => Dimension::Tag,
            Self::State => Dimension::State,
            Self::Priority => Dimension::Priority,
            Self::Channel => Dimension::SourceType,
            Self::Company => Dimension::Company,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Admin => "admin",
            Self::Tag => "tag",
            Self::State => "state",
            Self::Priority => "priority",
            Self::Channel => "channel",
            Self::Company => "company",
        }
    }
}

/// A tag, team, admin or company in a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
pub struct Entity {
    /// None for the group without one (unassigned, untagged, no company).
    pub id: Option<String>,
    pub name: String,
}

/// The keys of a row; only the dimensions asked appear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Group {
    /// The first moment of the row's period (RFC 3339, at the asked UTC offset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// True on the last row when more groups exist than shown: it sums them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other: bool,
}

impl Group {
    /// The row's keys from the host's, one per dimension of `grouping`.
    pub fn from_keys(by: &[Dimension], keys: &[Key], offset_minutes: i32) -> Self {
        let mut group = Self::default();
        for (dimension, key) in by.iter().zip(keys) {
            group.set(*dimension, key, offset_minutes);
        }
        group
    }

    fn set(&mut self, dimension: Dimension, key: &Key, offset_minutes: i32) {
        let entity = |none: &str| -> Option<Entity> {
            Some(match key {
                Key::Entity(named) => Entity {
                    id: Some(named.id.clone()),
                    name: named.name.clone().unwrap_or_else(|| format!("(unknown {})", named.id)),
                },
                _ => Entity { id: None, name: none.to_owned() },
            })
        };
        let text = || match key {
            Key::Value(value) => Some(value.clone()),
            _ => Some("(none)".to_owned()),
        };
        match dimension {
            Dimension::Team => self.team = entity("(unassigned)"),
            Dimension::Admin => self.admin = entity("(unassigned)"),
            Dimension::Tag => self.tag = entity("(untagged)"),
            Dimension::Company => self.company = entity("(no company)"),
            Dimension::State => self.state = text(),
            Dimension::Priority => self.priority = text(),
            Dimension::SourceType => self.channel = text(),
            Dimension::Created(_) | Dimension::Updated(_) | Dimension::Closed(_) => {
                if let Key::StartsAt(start) = key {
                    self.period_start = Some(format_at_offset(*start, offset_minutes));
                }
            }
            Dimension::Rating | Dimension::CreatedHourOfWeek => {}
        }
    }

    /// The row that sums the groups beyond the limit.
    pub fn other() -> Self {
        Self { other: true, ..Self::default() }
    }
}

/// RFC 3339 of a unix second at a UTC offset (`2026-11-02T00:00:00+01:00`).
pub fn format_at_offset(seconds: i64, offset_minutes: i32) -> String {
    let utc = format_unix(seconds + i64::from(offset_minutes) * 60);
    if offset_minutes == 0 {
        return utc;
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let minutes = offset_minutes.unsigned_abs();
    format!("{}{sign}{:02}:{:02}", utc.trim_end_matches('Z'), minutes / 60, minutes % 60)
}

/// A row's keys as text, to match rows of two answers with the same grouping.
pub fn key_text(keys: &[Key]) -> String {
    format!("{keys:?}")
}

/// A grouping of at most `limit` rows, largest first.
pub fn largest(by: Vec<Dimension>, limit: u32) -> Grouping {
    Grouping { by, row_order: RowOrder::LargestFirst, limit, utc_offset_minutes: 0 }
}

/// Seconds as a person reads a duration: "45s", "12m", "3h 05m", "2d 4h".
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A duration's median and 90th percentile, in seconds and as text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Timing {
    /// Conversations with the figure (replied to, closed).
    pub conversations: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_seconds: Option<i64>,
    /// The median as text ("3h 05m").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<String>,
}

impl From<&analytics::Summary> for Timing {
    fn from(summary: &analytics::Summary) -> Self {
        Self {
            conversations: summary.count,
            median_seconds: summary.p50,
            p90_seconds: summary.p90,
            median: summary.p50.map(human_duration),
            p90: summary.p90.map(human_duration),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_writes_them() {
        assert_eq!(human_duration(42), "42s");
        assert_eq!(human_duration(12 * 60 + 5), "12m");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(human_duration(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
    }

    #[test]
    fn period_starts_carry_their_offset() {
        assert_eq!(format_at_offset(1_790_000_000, 0), "2026-09-21T14:13:20Z");
        assert_eq!(format_at_offset(1_790_000_000, 60), "2026-09-21T15:13:20+01:00");
        assert_eq!(format_at_offset(1_790_000_000, -330), "2026-09-21T08:43:20-05:30");
    }
}

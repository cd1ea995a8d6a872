//! `satisfaction`: conversation ratings (CSAT) overall and by team, admin or tag, with the remarks of the
//! lowest-rated conversations.

use std::collections::BTreeMap;

use fastintercom_plugin_sdk::analytics::{self, Dimension, Key};
use fastintercom_plugin_sdk::{Envelope, Filters, Stopwatch, ToolError, TypedTool, format_unix, freshness};
use schemars::JsonSchema;
use serde::Serialize;

use crate::rows::{By, Group, key_text, largest};
use crate::scope::{Span, scoped_args};

scoped_args! {
    /// Arguments of `satisfaction`.
    pub struct SatisfactionArgs {
        /// Break down by team (default), admin, tag, state, priority, channel or company; the first row is always
        /// every conversation in the window.
        pub by: Option<By>,
        /// Ratings up to this count as low (default 2).
        #[schemars(range(min = 1, max = 5))]
        pub low_rating: Option<u8>,
        /// Most low-rated conversations listed with their remarks (default 10).
        #[schemars(range(min = 0, max = 100))]
        pub remarks: Option<u32>,
        /// Most groups (default 20), most rated first.
        #[schemars(range(min = 1, max = 200))]
        pub limit: Option<u32>,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SatisfactionRow {
    /// True on the first row, which covers every conversation in the window.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overall: bool,
    #[serde(flatten)]
    pub group: Group,
    /// Rated conversations.
    pub rated: u64,
    /// Conversations without a rating.
    pub unrated: u64,
    /// Mean rating (1 to 5), to two decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    /// Rated conversations per rating, "1" to "5".
    pub ratings: BTreeMap<String, u64>,
    /// Rated at or below `low_rating`.
    pub low_rated: u64,
    /// On the first row: the lowest-rated conversations, lowest first, then most recent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub low_rated_conversations: Vec<LowRated>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LowRated {
    pub id: String,
    pub rating: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_assignee_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_assignee_id: Option<String>,
}

pub struct Satisfaction;

impl TypedTool for Satisfaction {
    const NAME: &'static str = "satisfaction";
    const TITLE: &'static str = "Satisfaction";
    const DESCRIPTION: &'static str = "Conversation ratings (CSAT, 1 to 5) of conversations created in a window: \
        how many were rated, the average, the count per rating and the low-rated share, overall and by team (or \
        admin, tag, channel, ...), with the remarks of the lowest-rated conversations. Use it for \"how did CSAT \
        move\", \"what do unhappy customers say\". Default window: last_30_days.";

    type Args = SatisfactionArgs;
    type Output = Envelope<SatisfactionRow>;

    fn run(args: SatisfactionArgs) -> Result<Envelope<SatisfactionRow>, ToolError> {
        let mut watch = Stopwatch::new();
        let window = args.window(Span::Last30Days)?;
        let mut filters = Filters::new();
        let scope = args.conditions().scope(window, false, &mut filters)?;
        let by = args.by.unwrap_or(By::Team);
        let low = args.low_rating.unwrap_or(2).clamp(1, 5);
        let limit = args.limit.unwrap_or(20).clamp(1, 200) as usize;
        let dimension = by.dimension();

        // One count per (group, rating) says everything but the remarks: rated, unrated, the histogram and the
        // exact average. The whole window is their sum, unless a conversation can be in several groups (tags) or
        // groups were left out.
        let grouping = largest(vec![dimension, Dimension::Rating], 1000);
        let by_rating = watch.time(|| analytics::count(&scope, &grouping))?;
        let mut groups: Vec<(Vec<Key>, Histogram)> = Vec::new();
        for row in &by_rating.rows {
            let key = key_text(&row.keys[..1]);
            let at = match groups.iter().position(|(keys, _)| key_text(keys) == key) {
                Some(at) => at,
                None => {
                    groups.push((row.keys[..1].to_vec(), Histogram::default()));
                    groups.len() - 1
                }
            };
            groups[at].1.add(row.keys.get(1), row.conversations);
        }
        let overall = if by == By::Tag || by_rating.other.rows > 0 {
            let counts = watch.time(|| analytics::count(&scope, &largest(vec![Dimension::Rating], 10)))?;
            let mut histogram = Histogram::default();
            for row in &counts.rows {
                histogram.add(row.keys.first(), row.conversations);
            }
            histogram
        } else {
            groups.iter().fold(Histogram::default(), |mut all, (_, h)| {
                all.merge(h);
                all
            })
        };
        let remarks = args.remarks.unwrap_or(10).min(100);
        let low_rated_conversations = if remarks == 0 {
            Vec::new()
        } else {
            let mut low_scope = scope.clone();
            low_scope.ratings = (1..=low).collect();
            watch.time(|| analytics::rated(&low_scope, remarks))?.into_iter().map(LowRated::from).collect()
        };

        groups.sort_by_key(|group| std::cmp::Reverse(group.1.conversations()));
        let mut rows = Vec::with_capacity(groups.len().min(limit) + 1);
        let mut first = overall.row(Group::default(), low);
        first.overall = true;
        first.low_rated_conversations = low_rated_conversations;
        rows.push(first);
        for (keys, histogram) in groups.iter().take(limit) {
            rows.push(histogram.row(Group::from_keys(std::slice::from_ref(&dimension), keys, 0), low));
        }
        filters.set("by", by.as_str());
        filters.set("low_rating", low);
        filters.set_opt("timeframe", args.timeframe.map(Span::as_str));
        window.record(&mut filters, "");
        Ok(Envelope::new(rows).total(by_rating.total).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

/// Conversations per rating (1 to 5) and unrated, of one group.
#[derive(Debug, Default, Clone)]
struct Histogram {
    rated: [u64; 5],
    unrated: u64,
}

impl Histogram {
    fn add(&mut self, rating: Option<&Key>, conversations: u64) {
        match rating {
            Some(Key::Number(r)) if (1..=5).contains(r) => self.rated[*r as usize - 1] += conversations,
            _ => self.unrated += conversations,
        }
    }

    fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.rated.iter_mut().zip(other.rated) {
            *mine += theirs;
        }
        self.unrated += other.unrated;
    }

    fn conversations(&self) -> u64 {
        self.rated.iter().sum::<u64>() + self.unrated
    }

    fn row(&self, group: Group, low: u8) -> SatisfactionRow {
        let rated: u64 = self.rated.iter().sum();
        let points: u64 = self.rated.iter().enumerate().map(|(i, n)| (i as u64 + 1) * n).sum();
        SatisfactionRow {
            overall: false,
            group,
            rated,
            unrated: self.unrated,
            average: (rated > 0).then(|| (points as f64 / rated as f64 * 100.0).round() / 100.0),
            ratings: (1..=5).map(|r| (r.to_string(), self.rated[r - 1])).collect(),
            low_rated: self.rated[..usize::from(low)].iter().sum(),
            low_rated_conversations: Vec::new(),
        }
    }
}

impl From<analytics::RatedConversation> for LowRated {
    fn from(rated: analytics::RatedConversation) -> Self {
        Self {
            id: rated.id,
            rating: rated.rating,
            remark: rated.remark,
            rated_at: rated.rated_at.map(format_unix),
            admin_assignee_id: rated.admin_assignee_id,
            team_assignee_id: rated.team_assignee_id,
        }
    }
}

//! Counts and distributions over conversations (contract 0.5.0's `analytics`): typed requests in, typed rows out,
//! one statement per request on either backend.
//!
//! The statement reads the scope's columns and is the same on both backends ([`statement`]); only the conditions
//! of the filter (the full-text match above all) are written in each dialect. Keys, date buckets, groups and
//! summaries are made in Rust ([`summarised_here`], [`buckets`]), once for both. Everything a caller sends
//! is checked here first ([`Grouping::check`], [`Scope::check`]): the statement never grows with what it was
//! sent beyond the documented bounds.

pub(crate) use statement::EveryTagRow;

mod buckets;
mod integers;
mod statement;
mod summarised_here;

use super::filter::ConversationFilter;
use super::{Result, Store, StoreError};

/// Most rows one aggregate answers; the rest are summed in [`Rest`].
pub const MAX_ANALYTICS_ROWS: u32 = 1000;
/// Most dimensions of one grouping.
pub const MAX_DIMENSIONS: usize = 2;
/// Most figure ranges of one scope.
pub const MAX_FIGURE_RANGES: usize = 8;
/// Most figures one distribution asks for.
pub const MAX_FIGURES: usize = 4;
/// Most rated conversations one `rated` answers.
pub const MAX_RATED: u32 = 100;
/// The widest UTC offset a grouping may ask for, in minutes (UTC+14 is the easternmost zone in use).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// How finely a date is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Hour,
    Day,
    /// From Monday.
    Week,
    Month,
}

/// What conversations are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    State,
    /// Each tag of a conversation.
    Tag,
    Team,
    Admin,
    Priority,
    SourceType,
    Company,
    Rating,
    Created(Period),
    Updated(Period),
    /// The last close.
    Closed(Period),
    /// 0 (Monday 00:00) to 167.
    CreatedHourOfWeek,
}

impl Dimension {
    /// Whether two dimensions are the same question (a date bucketed twice, whatever the periods).
    fn same_as(self, other: Self) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// Per-conversation figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    TimeToFirstReply,
    TimeToFirstClose,
    TimeToLastClose,
    Reopens,
    Parts,
    Rating,
    WaitingSince,
}

impl Figure {
    /// The column that holds it.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::TimeToFirstReply => "c.time_to_admin_reply",
            Self::TimeToFirstClose => "c.time_to_first_close",
            Self::TimeToLastClose => "c.time_to_last_close",
            Self::Reopens => "c.count_reopens",
            Self::Parts => "c.count_conversation_parts",
            Self::Rating => "c.rating",
            Self::WaitingSince => "c.waiting_since",
        }
    }
}

/// At least `at_least` and below `below`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FigureRange {
    pub figure: Figure,
    pub at_least: Option<i64>,
    pub below: Option<i64>,
}

/// Which conversations an aggregate covers: search's filter, with the conditions analytics adds in its
/// [`MoreConditions`](crate::filter::MoreConditions) (which search takes too, since contract 0.5.0).
pub type Scope = ConversationFilter;

/// The order of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RowOrder {
    /// Most conversations first, ties by key.
    #[default]
    LargestFirst,
    /// Dates and numbers ascending, text (and ids) in byte order, no value last.
    ByKey,
}

/// How rows are formed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grouping {
    pub by: Vec<Dimension>,
    pub row_order: RowOrder,
    /// 1 to [`MAX_ANALYTICS_ROWS`].
    pub limit: u32,
    /// -[`MAX_UTC_OFFSET_MINUTES`] to [`MAX_UTC_OFFSET_MINUTES`].
    pub utc_offset_minutes: i32,
}

impl Grouping {
    pub fn check(&self) -> Result<()> {
        if self.by.len() > MAX_DIMENSIONS {
            return Err(invalid(format!("a grouping has at most {MAX_DIMENSIONS} dimensions")));
        }
        if let [first, second] = self.by[..]
            && first.same_as(second)
        {
            return Err(invalid("a grouping cannot use the same dimension twice".to_owned()));
        }
        if !(1..=MAX_ANALYTICS_ROWS).contains(&self.limit) {
            return Err(invalid(format!("the limit must be 1 to {MAX_ANALYTICS_ROWS}, not {}", self.limit)));
        }
        if !(-MAX_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(&self.utc_offset_minutes) {
            return Err(invalid(format!(
                "the UTC offset must be -{MAX_UTC_OFFSET_MINUTES} to {MAX_UTC_OFFSET_MINUTES} minutes, not {}",
                self.utc_offset_minutes
            )));
        }
        Ok(())
    }
}

/// One dimension's value in a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// No value: untagged, unassigned, unrated, never closed, no company.
    None,
    /// A state, priority or source type.
    Value(String),
    /// A tag, team, admin or company, with its name when the directory knows it.
    Entity { id: String, name: Option<String> },
    /// A rating or an hour of the week.
    Number(i64),
    /// A date bucket's first unix second.
    StartsAt(i64),
}

/// The rows that did not fit the limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rest {
    pub rows: u64,
    pub conversations: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    pub keys: Vec<Key>,
    pub conversations: u64,
}

/// A figure's distribution over one group; percentiles are nearest-rank.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub missing: u64,
    pub mean: Option<f64>,
    pub min: Option<i64>,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub p99: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DistributionRow {
    pub keys: Vec<Key>,
    /// One per figure asked, in the order asked.
    pub summaries: Vec<Summary>,
}

/// A distribution's answer: its rows, what the limit left out, the conversations in scope, and each figure
/// over the whole scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Distributions {
    pub rows: Vec<DistributionRow>,
    pub other: Rest,
    pub total: u64,
    /// Each conversation once, whatever the grouping.
    pub overall: Vec<Summary>,
}

/// An aggregate's answer: its rows, what the limit left out, and the conversations in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate<R> {
    pub rows: Vec<R>,
    pub other: Rest,
    /// Conversations in the scope, each once.
    pub total: u64,
}

/// A rated conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedConversation {
    pub id: String,
    pub rating: u8,
    pub remark: Option<String>,
    pub rated_at: Option<i64>,
    pub admin_assignee_id: Option<String>,
    pub team_assignee_id: Option<String>,
}

impl Store {
    /// How many conversations of `scope` fall in each group of `grouping`.
    pub async fn count_conversations(&self, scope: &Scope, grouping: &Grouping) -> Result<Aggregate<CountRow>> {
        scope.more.check()?;
        grouping.check()?;
        let columns = statement::columns(self, &statement::Request { scope, grouping, figures: &[] }).await?;
        summarised_here::counts(self, columns, grouping).await
    }

    /// The distributions of `figures` (1 to [`MAX_FIGURES`], each once) over each group of `scope`, and over the
    /// whole scope.
    pub async fn figure_distribution(
        &self,
        scope: &Scope,
        figures: &[Figure],
        grouping: &Grouping,
    ) -> Result<Distributions> {
        scope.more.check()?;
        grouping.check()?;
        if figures.is_empty() || figures.len() > MAX_FIGURES {
            return Err(invalid(format!("a distribution asks for 1 to {MAX_FIGURES} figures, not {}", figures.len())));
        }
        if figures.iter().enumerate().any(|(i, f)| figures[..i].contains(f)) {
            return Err(invalid("a distribution cannot ask for the same figure twice".to_owned()));
        }
        let columns = statement::columns(self, &statement::Request { scope, grouping, figures }).await?;
        summarised_here::distribution(self, columns, grouping).await
    }

    /// Rated conversations of `scope`: lowest rating first, then the most recently rated, then by id.
    pub async fn rated_conversations(&self, scope: &Scope, limit: u32) -> Result<Vec<RatedConversation>> {
        scope.more.check()?;
        if !(1..=MAX_RATED).contains(&limit) {
            return Err(invalid(format!("the limit must be 1 to {MAX_RATED}, not {limit}")));
        }
        statement::rated(self, scope, limit).await
    }
}

fn invalid(message: String) -> StoreError {
    StoreError::InvalidArgument(message)
}

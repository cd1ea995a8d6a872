//! The search matrix: every shape of `search_conversations` a support lead types, as cells of text × filters ×
//! sort × limit.
//!
//! One definition serves the benchmark (`fastintercom bench-search`, which sends each cell as tool arguments)
//! and the correctness tests (which send the same cells to the store as typed filters and compare the answers
//! with a plain reference). It names no backend: the values it fills in (words, tags, people) are sampled from
//! whatever store answers, so the matrix runs unchanged on every store backend.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::store::filter::{ConversationFilter, ConversationSort};
use crate::store::model::{ConversationState, Priority};

const DAY: i64 = 86_400;

/// The text of a search, by how many conversations its words occur in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextClass {
    None,
    /// A word in about one conversation in a thousand.
    Rare,
    /// A word in one conversation in six to twenty (a topic: "refund", "invoice").
    Common,
    /// A word in nearly every conversation ("the").
    Everywhere,
    /// Two words that must both occur ("password reset").
    TwoWords,
}

impl TextClass {
    pub const ALL: [Self; 5] = [Self::None, Self::Rare, Self::Common, Self::Everywhere, Self::TwoWords];

    fn name(self) -> &'static str {
        match self {
            Self::None => "-",
            Self::Rare => "rare word",
            Self::Common => "common word",
            Self::Everywhere => "word in nearly all",
            Self::TwoWords => "two words",
        }
    }
}

/// One condition of a filter class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    State,
    Tags,
    Contact,
    AdminAssignee,
    TeamAssignee,
    Priority,
    /// A named timeframe (last 7, 30 or 90 days).
    Timeframe,
    /// A created_after/created_before window somewhere in the past two years.
    Created,
    /// An updated_after/updated_before window in the past month.
    Updated,
}

impl Condition {
    fn name(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Tags => "tags",
            Self::Contact => "contact",
            Self::AdminAssignee => "admin",
            Self::TeamAssignee => "team",
            Self::Priority => "priority",
            Self::Timeframe => "timeframe",
            Self::Created => "created range",
            Self::Updated => "updated range",
        }
    }
}

/// The filters of a cell: none, one condition, or a pair.
pub const FILTERS: [&[Condition]; 17] = {
    use Condition::*;
    [
        &[],
        &[State],
        &[Tags],
        &[Contact],
        &[AdminAssignee],
        &[TeamAssignee],
        &[Priority],
        &[Timeframe],
        &[Created],
        &[Updated],
        &[State, Tags],
        &[State, TeamAssignee],
        &[AdminAssignee, State],
        &[Tags, Timeframe],
        &[Contact, State],
        &[Priority, Updated],
        &[TeamAssignee, Created],
    ]
};

pub const SORTS: [ConversationSort; 4] =
    [ConversationSort::Relevance, ConversationSort::Newest, ConversationSort::Oldest, ConversationSort::Updated];

pub const LIMITS: [u32; 3] = [1, 20, 50];

fn sort_name(sort: ConversationSort) -> &'static str {
    match sort {
        ConversationSort::Relevance => "relevance",
        ConversationSort::Newest => "newest",
        ConversationSort::Oldest => "oldest",
        ConversationSort::Updated => "updated",
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub text: TextClass,
    pub filters: &'static [Condition],
    pub sort: ConversationSort,
    pub limit: u32,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filters = match self.filters {
            [] => "-".to_owned(),
            conditions => conditions.iter().map(|c| c.name()).collect::<Vec<_>>().join(" + "),
        };
        write!(f, "{} | {} | {} | {}", self.text.name(), filters, sort_name(self.sort), self.limit)
    }
}

/// Every cell, text first, then filters, sort and limit.
pub fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for text in TextClass::ALL {
        for filters in FILTERS {
            for sort in SORTS {
                for limit in LIMITS {
                    cells.push(Cell { text, filters, sort, limit });
                }
            }
        }
    }
    cells
}

/// What the cells fill in: words by class, and tags and people sampled from the workspace. Each list is
/// rotated through, so one cell's calls ask different questions of the same shape.
#[derive(Debug, Clone)]
pub struct Values {
    pub rare_words: Vec<String>,
    pub common_words: Vec<String>,
    pub everywhere_words: Vec<String>,
    pub two_words: Vec<String>,
    /// Tags by name, frequent and rare ones.
    pub tags: Vec<String>,
    /// Contacts with several conversations.
    pub contacts: Vec<String>,
    pub admins: Vec<String>,
    pub teams: Vec<String>,
    /// The clock the time windows are anchored at (unix seconds).
    pub now: i64,
}

/// Words of the demo workspace by how many of its conversations they occur in (measured at 100,000).
pub const RARE_WORDS: [&str; 5] = ["xylophonic", "ireland", "germany", "footer", "currency"];
pub const COMMON_WORDS: [&str; 5] = ["refund", "invoice", "crash", "billing", "password"];
pub const EVERYWHERE_WORDS: [&str; 3] = ["the", "i", "for"];
pub const TWO_WORDS: [&str; 4] = ["password reset", "shipping delay", "cancel subscription", "refund invoice"];

/// What a sampled conversation contributes to [`Values::sample`].
pub struct SampledConversation<'a> {
    pub contact_ids: &'a [String],
    pub admin_assignee_id: Option<&'a str>,
    pub team_assignee_id: Option<&'a str>,
    pub tags: &'a [String],
}

impl Values {
    /// Values from a sample of conversations (the newest thousand, say): the contacts, admins and teams that
    /// occur most, the three most frequent tags and three of the rarest, and the demo workspace's words.
    pub fn sample<'a>(conversations: impl IntoIterator<Item = SampledConversation<'a>>, now: i64) -> Self {
        let mut contacts = HashMap::<&str, usize>::new();
        let mut admins = HashMap::<&str, usize>::new();
        let mut teams = HashMap::<&str, usize>::new();
        let mut tags = HashMap::<&str, usize>::new();
        for c in conversations {
            c.contact_ids.iter().for_each(|id| *contacts.entry(id).or_default() += 1);
            c.admin_assignee_id.into_iter().for_each(|id| *admins.entry(id).or_default() += 1);
            c.team_assignee_id.into_iter().for_each(|id| *teams.entry(id).or_default() += 1);
            c.tags.iter().for_each(|name| *tags.entry(name).or_default() += 1);
        }
        let tags = by_frequency(tags);
        let mut chosen_tags: Vec<String> = tags.iter().take(3).cloned().collect();
        chosen_tags.extend(tags.iter().rev().take(3).filter(|t| !chosen_tags.contains(t)).cloned().collect::<Vec<_>>());
        let owned = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        Self {
            rare_words: owned(&RARE_WORDS),
            common_words: owned(&COMMON_WORDS),
            everywhere_words: owned(&EVERYWHERE_WORDS),
            two_words: owned(&TWO_WORDS),
            tags: chosen_tags,
            contacts: by_frequency(contacts).into_iter().take(8).collect(),
            admins: by_frequency(admins).into_iter().take(8).collect(),
            teams: by_frequency(teams).into_iter().take(8).collect(),
            now,
        }
    }

    /// Whether every list a cell may draw from has a value.
    pub fn is_complete(&self) -> bool {
        [&self.tags, &self.contacts, &self.admins, &self.teams].iter().all(|list| !list.is_empty())
    }
}

/// Keys by descending count, ties by key (so equal samples give equal values).
fn by_frequency(counts: HashMap<&str, usize>) -> Vec<String> {
    let mut entries: Vec<(&str, usize)> = counts.into_iter().collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    entries.into_iter().map(|(key, _)| key.to_owned()).collect()
}

fn pick(list: &[String], i: usize) -> String {
    list[i % list.len()].clone()
}

/// The `i`-th search of a cell, both as typed filters and as `search_conversations` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub filter: ConversationFilter,
    pub sort: ConversationSort,
    pub limit: u32,
    pub arguments: Value,
}

impl Cell {
    /// The `i`-th search of this cell (values rotate with `i`).
    pub fn search(&self, values: &Values, i: usize) -> Search {
        let mut filter = ConversationFilter::default();
        let mut arguments = Map::new();
        let text = match self.text {
            TextClass::None => None,
            TextClass::Rare => Some(pick(&values.rare_words, i)),
            TextClass::Common => Some(pick(&values.common_words, i)),
            TextClass::Everywhere => Some(pick(&values.everywhere_words, i)),
            TextClass::TwoWords => Some(pick(&values.two_words, i)),
        };
        if let Some(text) = text {
            arguments.insert("query".to_owned(), json!(text));
            filter.text = Some(text);
        }
        for condition in self.filters {
            match condition {
                Condition::State => {
                    let state = ConversationState::ALL[i % 3];
                    arguments.insert("state".to_owned(), json!(state.as_str()));
                    filter.states = vec![state];
                }
                Condition::Tags => {
                    let tags = vec![pick(&values.tags, i)];
                    arguments.insert("tags".to_owned(), json!(tags));
                    filter.tags = tags;
                }
                Condition::Contact => {
                    let contact = pick(&values.contacts, i);
                    arguments.insert("contact_id".to_owned(), json!(contact));
                    filter.contact_id = Some(contact);
                }
                Condition::AdminAssignee => {
                    let admin = pick(&values.admins, i);
                    arguments.insert("admin_assignee_id".to_owned(), json!(admin));
                    filter.admin_assignee_id = Some(admin);
                }
                Condition::TeamAssignee => {
                    let team = pick(&values.teams, i);
                    arguments.insert("team_assignee_id".to_owned(), json!(team));
                    filter.team_assignee_id = Some(team);
                }
                Condition::Priority => {
                    let levels: &[Priority] = match i % 3 {
                        0 => &[Priority::Urgent],
                        1 => &[Priority::Low, Priority::Medium, Priority::High, Priority::Urgent],
                        _ => &[Priority::Low],
                    };
                    arguments
                        .insert("priority".to_owned(), json!(levels.iter().map(|p| p.as_str()).collect::<Vec<_>>()));
                    filter.priorities = levels.to_vec();
                }
                Condition::Timeframe => {
                    let (name, days) = [("last_7_days", 7), ("last_30_days", 30), ("last_90_days", 90)][i % 3];
                    arguments.insert("timeframe".to_owned(), json!(name));
                    // As the tool reads it: whole UTC days, today included.
                    let tomorrow = (values.now.div_euclid(DAY) + 1) * DAY;
                    filter.created_after = Some(tomorrow - days * DAY);
                    filter.created_before = Some(tomorrow);
                }
                Condition::Created => {
                    let before = values.now - (30 + 60 * (i as i64 % 8)) * DAY;
                    let after = before - 60 * DAY;
                    arguments.insert("created_after".to_owned(), json!(after));
                    arguments.insert("created_before".to_owned(), json!(before));
                    filter.created_after = Some(after);
                    filter.created_before = Some(before);
                }
                Condition::Updated => {
                    let before = values.now - 7 * (i as i64 % 4) * DAY;
                    let after = before - 7 * DAY;
                    arguments.insert("updated_after".to_owned(), json!(after));
                    arguments.insert("updated_before".to_owned(), json!(before));
                    filter.updated_after = Some(after);
                    filter.updated_before = Some(before);
                }
            }
        }
        arguments.insert("sort".to_owned(), json!(sort_name(self.sort)));
        arguments.insert("limit".to_owned(), json!(self.limit));
        // The tool resolves relevance without text to newest; the store does the same with the typed filter.
        Search { filter, sort: self.sort, limit: self.limit, arguments: Value::Object(arguments) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        let tags = ["bug".to_owned(), "vip".to_owned()];
        let contacts = ["c1".to_owned()];
        let sample = SampledConversation {
            contact_ids: &contacts,
            admin_assignee_id: Some("a1"),
            team_assignee_id: Some("t1"),
            tags: &tags,
        };
        Values::sample([sample], 1_790_000_000)
    }

    #[test]
    fn every_combination_is_a_cell_and_typed_and_json_searches_agree() {
        let cells = cells();
        assert_eq!(cells.len(), TextClass::ALL.len() * FILTERS.len() * SORTS.len() * LIMITS.len());
        let values = values();
        assert!(values.is_complete());
        let cell = Cell {
            text: TextClass::Common,
            filters: &[Condition::State, Condition::Tags],
            sort: ConversationSort::Updated,
            limit: 20,
        };
        let search = cell.search(&values, 1);
        assert_eq!(search.filter.text.as_deref(), Some("invoice"));
        assert_eq!(search.filter.states, vec![ConversationState::Closed]);
        assert_eq!(search.filter.tags, vec!["vip".to_owned()]);
        assert_eq!(
            search.arguments,
            json!({"query": "invoice", "state": "closed", "tags": ["vip"], "sort": "updated", "limit": 20})
        );
        assert_eq!(cell.to_string(), "common word | state + tags | updated | 20");
    }

    #[test]
    fn time_windows_are_half_open_and_anchored_at_now() {
        let values = values();
        let cell =
            Cell { text: TextClass::None, filters: &[Condition::Timeframe], sort: ConversationSort::Newest, limit: 1 };
        let search = cell.search(&values, 1);
        let (after, before) = (search.filter.created_after.unwrap(), search.filter.created_before.unwrap());
        assert_eq!(before - after, 30 * DAY);
        assert!(after <= values.now && values.now < before);
        assert_eq!(search.arguments["timeframe"], "last_30_days");
    }
}

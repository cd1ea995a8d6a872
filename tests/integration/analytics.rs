//! The `analytics` host interface's store side (contract 0.5.0): counts, distributions and rated conversations
//! checked against an independent computation over the demo generator's conversations (dates bucketed with
//! chrono, not SQL), on both backends, so both answer alike.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};
use fastintercom::demo::{self, DemoOptions};
use fastintercom::store::filter::{ConversationFilter, MoreConditions};
use fastintercom::store::model::{ConversationRecord, ConversationState, Priority};
use fastintercom::store::{
    Aggregate, CountRow, Dimension, DistributionRow, Distributions, Figure, FigureRange, Grouping, Key, Period,
    RowOrder, Scope, Store, StoreError, Summary,
};

use crate::support::{Backend, empty_store_on, on_both_backends};

const NOW: i64 = 1_790_000_000;
const DAY: i64 = 86_400;

/// The demo workspace, as the oracle reads it.
struct Oracle {
    conversations: Vec<ConversationRecord>,
    names: HashMap<(&'static str, String), Option<String>>,
}

impl Oracle {
    fn new(options: &DemoOptions) -> Self {
        let workspace = demo::generate(options);
        let mut names = HashMap::new();
        for tag in &workspace.tags {
            names.insert(("tag", tag.id.clone()), Some(tag.name.clone()));
        }
        for team in &workspace.teams {
            names.insert(("team", team.id.clone()), Some(team.name.clone()));
        }
        for admin in &workspace.admins {
            names.insert(("admin", admin.id.clone()), admin.name.clone());
        }
        for company in &workspace.companies {
            names.insert(("company", company.id.clone()), Some(company.name.clone()));
        }
        Self { conversations: workspace.conversations().collect(), names }
    }

    fn entity(&self, kind: &'static str, id: Option<&String>) -> Key {
        match id {
            Some(id) => Key::Entity { id: id.clone(), name: self.names.get(&(kind, id.clone())).cloned().flatten() },
            None => Key::None,
        }
    }

    /// The keys `c` has under `dimension` (several for its tags).
    fn keys(&self, c: &ConversationRecord, dimension: Dimension, offset_minutes: i32) -> Vec<Key> {
        let at =
            |t: Option<i64>, period: Period| t.map_or(Key::None, |t| Key::StartsAt(bucket(t, period, offset_minutes)));
        match dimension {
            Dimension::State => vec![Key::Value(c.state.unwrap_or(ConversationState::Open).as_str().to_owned())],
            Dimension::Tag if c.tag_ids.is_empty() => vec![Key::None],
            Dimension::Tag => c.tag_ids.iter().map(|id| self.entity("tag", Some(id))).collect(),
            Dimension::Team => vec![self.entity("team", c.team_assignee_id.as_ref())],
            Dimension::Admin => vec![self.entity("admin", c.admin_assignee_id.as_ref())],
            Dimension::Company => vec![self.entity("company", c.company_id.as_ref())],
            Dimension::Priority => vec![Key::Value(c.priority.unwrap_or(Priority::None).as_str().to_owned())],
            Dimension::SourceType => vec![Key::Value(c.source.kind.clone())],
            Dimension::Rating => vec![rating(c).map_or(Key::None, Key::Number)],
            Dimension::Created(period) => vec![at(Some(c.created_at), period)],
            Dimension::Updated(period) => vec![at(Some(c.updated_at), period)],
            Dimension::Closed(period) => vec![at(c.statistics.last_close_at, period)],
            Dimension::CreatedHourOfWeek => {
                let local = local(c.created_at, offset_minutes);
                vec![Key::Number(i64::from(local.weekday().num_days_from_monday() * 24 + local.hour()))]
            }
        }
    }

    /// The conversations in scope under every combination of their keys, and the conversations in scope.
    fn grouped<'a>(
        &'a self,
        scope: &Oracular,
        grouping: &Grouping,
    ) -> (BTreeMap<Vec<Key>, Vec<&'a ConversationRecord>>, Vec<&'a ConversationRecord>) {
        let mut groups: BTreeMap<Vec<Key>, Vec<&ConversationRecord>> = BTreeMap::new();
        let in_scope: Vec<&ConversationRecord> = self.conversations.iter().filter(|c| scope.holds(c)).collect();
        for c in &in_scope {
            let mut combinations: Vec<Vec<Key>> = vec![Vec::new()];
            for dimension in &grouping.by {
                let keys = self.keys(c, *dimension, grouping.utc_offset_minutes);
                combinations = combinations
                    .into_iter()
                    .flat_map(|prefix| {
                        keys.iter().map(move |key| {
                            let mut next = prefix.clone();
                            next.push(key.clone());
                            next
                        })
                    })
                    .collect();
            }
            for keys in combinations {
                groups.entry(keys).or_default().push(c);
            }
        }
        (groups, in_scope)
    }

    fn counts(&self, scope: &Oracular, grouping: &Grouping) -> Aggregate<CountRow> {
        let (groups, in_scope) = self.grouped(scope, grouping);
        let rows: Vec<(Vec<Key>, u64)> = groups.into_iter().map(|(keys, list)| (keys, list.len() as u64)).collect();
        page(rows, grouping, in_scope.len() as u64, |keys, n| CountRow { keys, conversations: n })
    }

    fn distributions(&self, scope: &Oracular, figures: &[Figure], grouping: &Grouping) -> Distributions {
        let (groups, in_scope) = self.grouped(scope, grouping);
        let summaries = |list: &[&ConversationRecord]| -> Vec<Summary> {
            figures.iter().map(|f| summarize(&list.iter().map(|c| figure_of(c, *f)).collect::<Vec<_>>())).collect()
        };
        let counted: Vec<(Vec<Key>, u64)> =
            groups.iter().map(|(keys, list)| (keys.clone(), list.len() as u64)).collect();
        let paged = page(counted, grouping, in_scope.len() as u64, |keys, _| {
            let summaries = summaries(&groups[&keys]);
            DistributionRow { keys, summaries }
        });
        Distributions { rows: paged.rows, other: paged.other, total: paged.total, overall: summaries(&in_scope) }
    }
}

/// The oracle's scope: the conditions these tests use, checked in Rust.
#[derive(Default, Clone)]
struct Oracular {
    created: (Option<i64>, Option<i64>),
    closed: (Option<i64>, Option<i64>),
    states: Vec<ConversationState>,
    team: Option<String>,
    ratings: Vec<u8>,
    first_reply_at_least: Option<i64>,
}

impl Oracular {
    fn holds(&self, c: &ConversationRecord) -> bool {
        let within = |t: Option<i64>, (after, before): (Option<i64>, Option<i64>)| {
            (after.is_none() && before.is_none())
                || t.is_some_and(|t| after.is_none_or(|a| t >= a) && before.is_none_or(|b| t < b))
        };
        within(Some(c.created_at), self.created)
            && within(c.statistics.last_close_at, self.closed)
            && (self.states.is_empty() || self.states.contains(&c.state.unwrap_or(ConversationState::Open)))
            && self.team.as_ref().is_none_or(|team| c.team_assignee_id.as_ref() == Some(team))
            && (self.ratings.is_empty() || rating(c).is_some_and(|r| self.ratings.contains(&(r as u8))))
            && self
                .first_reply_at_least
                .is_none_or(|least| c.statistics.time_to_admin_reply.is_some_and(|t| t >= least))
    }

    fn scope(&self) -> Scope {
        let mut figures = Vec::new();
        if let Some(least) = self.first_reply_at_least {
            figures.push(FigureRange { figure: Figure::TimeToFirstReply, at_least: Some(least), below: None });
        }
        Scope {
            states: self.states.clone(),
            team_assignee_id: self.team.clone(),
            created_after: self.created.0,
            created_before: self.created.1,
            more: MoreConditions {
                closed_after: self.closed.0,
                closed_before: self.closed.1,
                ratings: self.ratings.clone(),
                company_id: None,
                figures,
            },
            ..Scope::default()
        }
    }
}

fn rating(c: &ConversationRecord) -> Option<i64> {
    c.rating.as_ref().and_then(|r| r.rating)
}

fn figure_of(c: &ConversationRecord, figure: Figure) -> Option<i64> {
    let s = &c.statistics;
    match figure {
        Figure::TimeToFirstReply => s.time_to_admin_reply,
        Figure::TimeToFirstClose => s.time_to_first_close,
        Figure::TimeToLastClose => s.time_to_last_close,
        Figure::Reopens => s.count_reopens,
        Figure::Parts => s.count_conversation_parts,
        Figure::Rating => rating(c),
        Figure::WaitingSince => c.waiting_since,
    }
}

fn local(t: i64, offset_minutes: i32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_minutes * 60).unwrap().timestamp_opt(t, 0).unwrap()
}

/// The first second of the period holding `t`, by the calendar at the offset.
fn bucket(t: i64, period: Period, offset_minutes: i32) -> i64 {
    let at = local(t, offset_minutes);
    let zone = *at.offset();
    let midnight = |date: NaiveDate| zone.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap()).unwrap().timestamp();
    match period {
        Period::Hour => {
            zone.from_local_datetime(&at.date_naive().and_hms_opt(at.hour(), 0, 0).unwrap()).unwrap().timestamp()
        }
        Period::Day => midnight(at.date_naive()),
        Period::Week => midnight(at.date_naive() - chrono::Days::new(u64::from(at.weekday().num_days_from_monday()))),
        Period::Month => midnight(NaiveDate::from_ymd_opt(at.year(), at.month(), 1).unwrap()),
    }
}

/// The documented order of keys: dates and numbers ascending, text and ids in byte order, none last.
fn key_order(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::None, Key::None) => Ordering::Equal,
        (Key::None, _) => Ordering::Greater,
        (_, Key::None) => Ordering::Less,
        (Key::Value(a), Key::Value(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Key::Entity { id: a, .. }, Key::Entity { id: b, .. }) => a.as_bytes().cmp(b.as_bytes()),
        (Key::Number(a) | Key::StartsAt(a), Key::Number(b) | Key::StartsAt(b)) => a.cmp(b),
        _ => panic!("keys of different kinds in one dimension: {a:?} {b:?}"),
    }
}

fn keys_order(a: &[Key], b: &[Key]) -> Ordering {
    a.iter().zip(b).map(|(a, b)| key_order(a, b)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

/// Orders the groups, keeps the limit, sums the rest.
fn page<T>(
    mut rows: Vec<(Vec<Key>, u64)>,
    grouping: &Grouping,
    total: u64,
    mut make: impl FnMut(Vec<Key>, u64) -> T,
) -> Aggregate<T> {
    rows.sort_by(|a, b| match grouping.row_order {
        RowOrder::LargestFirst => b.1.cmp(&a.1).then_with(|| keys_order(&a.0, &b.0)),
        RowOrder::ByKey if grouping.by.is_empty() => b.1.cmp(&a.1),
        RowOrder::ByKey => keys_order(&a.0, &b.0),
    });
    let limit = grouping.limit as usize;
    let rest: Vec<(Vec<Key>, u64)> = if rows.len() > limit { rows.split_off(limit) } else { Vec::new() };
    let other = fastintercom::store::Rest { rows: rest.len() as u64, conversations: rest.iter().map(|r| r.1).sum() };
    Aggregate { rows: rows.into_iter().map(|(keys, n)| make(keys, n)).collect(), other, total }
}

/// Count, missing, mean and nearest-rank percentiles, computed plainly.
fn summarize(values: &[Option<i64>]) -> Summary {
    let mut present: Vec<i64> = values.iter().flatten().copied().collect();
    present.sort_unstable();
    let n = present.len();
    let rank = |p: usize| (n > 0).then(|| present[(p * n).div_ceil(100) - 1]);
    Summary {
        count: n as u64,
        missing: (values.len() - n) as u64,
        mean: (n > 0).then(|| present.iter().sum::<i64>() as f64 / n as f64),
        min: present.first().copied(),
        p50: rank(50),
        p90: rank(90),
        p99: rank(99),
        max: present.last().copied(),
    }
}

fn grouping(by: Vec<Dimension>, row_order: RowOrder, limit: u32, utc_offset_minutes: i32) -> Grouping {
    Grouping { by, row_order, limit, utc_offset_minutes }
}

async fn seeded(backend: Backend) -> (impl Sized, Store, Oracle) {
    let options = DemoOptions { conversations: 600, seed: 23, now: NOW };
    let (db, store) = empty_store_on(backend).await;
    demo::seed(&store, &options).await.unwrap();
    (db, store, Oracle::new(&options))
}

async fn counts_match_the_generator(backend: Backend) {
    let (_db, store, mut oracle) = seeded(backend).await;
    // A tag dimension reads every tag row for `everything`, the scope's own tag rows (by rowid) for
    // `open_of_a_team`, under half of all conversations, and on SQLite the tag rows of a window from the tag
    // index: every way is joined to the scope in the host.
    let everything = Oracular::default();
    let last_60_days = Oracular { created: (Some(NOW - 60 * DAY), Some(NOW)), ..Oracular::default() };
    let closed_in_window = Oracular { states: vec![ConversationState::Closed], ..last_60_days.clone() };
    let open_of_a_team = Oracular {
        states: vec![ConversationState::Open, ConversationState::Snoozed],
        team: oracle.conversations.iter().find_map(|c| c.team_assignee_id.clone()),
        ..Oracular::default()
    };
    let team_in_window = Oracular { team: open_of_a_team.team.clone(), ..last_60_days.clone() };
    let cases: Vec<(&str, &Oracular, Grouping)> = vec![
        ("one row for the scope", &everything, grouping(vec![], RowOrder::LargestFirst, 10, 0)),
        ("by state", &everything, grouping(vec![Dimension::State], RowOrder::ByKey, 10, 0)),
        (
            "tags by team, cut at 7",
            &everything,
            grouping(vec![Dimension::Tag, Dimension::Team], RowOrder::LargestFirst, 7, 0),
        ),
        (
            "team by tag, by key",
            &open_of_a_team,
            grouping(vec![Dimension::Team, Dimension::Tag], RowOrder::ByKey, 1000, 0),
        ),
        ("admins", &everything, grouping(vec![Dimension::Admin], RowOrder::LargestFirst, 1000, 0)),
        ("companies, cut at 5", &everything, grouping(vec![Dimension::Company], RowOrder::LargestFirst, 5, 0)),
        (
            "priority and channel",
            &everything,
            grouping(vec![Dimension::Priority, Dimension::SourceType], RowOrder::ByKey, 1000, 0),
        ),
        ("ratings", &everything, grouping(vec![Dimension::Rating], RowOrder::ByKey, 1000, 0)),
        ("days in India", &last_60_days, grouping(vec![Dimension::Created(Period::Day)], RowOrder::ByKey, 1000, 330)),
        ("hours", &last_60_days, grouping(vec![Dimension::Created(Period::Hour)], RowOrder::ByKey, 1000, -300)),
        (
            "weeks in New York",
            &everything,
            grouping(vec![Dimension::Created(Period::Week)], RowOrder::ByKey, 1000, -300),
        ),
        ("months", &everything, grouping(vec![Dimension::Created(Period::Month)], RowOrder::ByKey, 1000, 0)),
        (
            "months in Kiribati",
            &everything,
            grouping(vec![Dimension::Created(Period::Month)], RowOrder::ByKey, 1000, 840),
        ),
        (
            "months in Samoa",
            &everything,
            grouping(vec![Dimension::Updated(Period::Month)], RowOrder::ByKey, 1000, -660),
        ),
        (
            "closes per week by state",
            &everything,
            grouping(vec![Dimension::Closed(Period::Week), Dimension::State], RowOrder::ByKey, 1000, 60),
        ),
        ("hour of week", &everything, grouping(vec![Dimension::CreatedHourOfWeek], RowOrder::ByKey, 1000, 120)),
        (
            "months by team, first 10",
            &last_60_days,
            grouping(vec![Dimension::Created(Period::Month), Dimension::Team], RowOrder::LargestFirst, 10, 0),
        ),
        ("tags of a window", &last_60_days, grouping(vec![Dimension::Tag], RowOrder::LargestFirst, 1000, 0)),
        ("tags of a window's closed", &closed_in_window, grouping(vec![Dimension::Tag], RowOrder::ByKey, 1000, 0)),
        // The window's tag rows are every team's: the join keeps the team's.
        ("tags of a team's window", &team_in_window, grouping(vec![Dimension::Tag], RowOrder::ByKey, 1000, 0)),
    ];
    for (name, scope, grouping) in cases {
        let got = store.count_conversations(&scope.scope(), &grouping).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = oracle.counts(scope, &grouping);
        assert_eq!(got, want, "{name}");
        assert!(!got.rows.is_empty(), "{name}: the demo has something to count");
    }

    // Every tag row, read for a whole workspace, is kept for the data generation it was read at: a commit that
    // takes a conversation's tags away is counted at once.
    let by_tag = grouping(vec![Dimension::Tag], RowOrder::ByKey, 1000, 0);
    let before = store.count_conversations(&everything.scope(), &by_tag).await.unwrap();
    assert_eq!(before, oracle.counts(&everything, &by_tag));
    let untagged = oracle.conversations.iter_mut().find(|c| !c.tag_ids.is_empty()).unwrap();
    untagged.tag_ids.clear();
    let mut tx = store.begin_write().await.unwrap();
    tx.upsert_conversations(std::slice::from_ref(untagged)).await.unwrap();
    tx.commit().await.unwrap();
    let after = store.count_conversations(&everything.scope(), &by_tag).await.unwrap();
    assert_ne!(after, before);
    assert_eq!(after, oracle.counts(&everything, &by_tag));
    // The month edges: a conversation just before and one just after midnight of the 1st, at the offset.
    let months = store
        .count_conversations(
            &everything.scope(),
            &grouping(vec![Dimension::Created(Period::Month)], RowOrder::ByKey, 1000, 0),
        )
        .await
        .unwrap();
    let starts: Vec<i64> = months
        .rows
        .iter()
        .map(|r| match r.keys[0] {
            Key::StartsAt(s) => s,
            ref k => panic!("{k:?}"),
        })
        .collect();
    assert!(starts.iter().all(|s| local(*s, 0).day() == 1 && local(*s, 0).hour() == 0), "{starts:?}");
}

async fn distributions_match_the_generator(backend: Backend) {
    let (_db, store, oracle) = seeded(backend).await;
    let everything = Oracular::default();
    let open = Oracular { states: vec![ConversationState::Open], ..Oracular::default() };
    let slow_low_rated_closes = Oracular {
        closed: (Some(NOW - 365 * DAY), Some(NOW)),
        ratings: vec![1, 2, 3],
        first_reply_at_least: Some(600),
        ..Oracular::default()
    };
    let reply = [Figure::TimeToFirstReply];
    let both = [Figure::TimeToFirstReply, Figure::TimeToFirstClose];
    let all = [Figure::TimeToLastClose, Figure::Reopens, Figure::Parts, Figure::Rating];
    let cases: Vec<(&str, &Oracular, &[Figure], Grouping)> = vec![
        ("first reply overall", &everything, &reply, grouping(vec![], RowOrder::LargestFirst, 1, 0)),
        (
            "reply and close by team",
            &everything,
            &both,
            grouping(vec![Dimension::Team], RowOrder::LargestFirst, 1000, 0),
        ),
        (
            "first close by tag, cut at 4",
            &everything,
            &[Figure::TimeToFirstClose],
            grouping(vec![Dimension::Tag], RowOrder::LargestFirst, 4, 0),
        ),
        (
            "four figures by admin and state",
            &everything,
            &all,
            grouping(vec![Dimension::Admin, Dimension::State], RowOrder::ByKey, 1000, 0),
        ),
        ("rating by team", &everything, &[Figure::Rating], grouping(vec![Dimension::Team], RowOrder::ByKey, 1000, 0)),
        (
            "parts by month",
            &everything,
            &[Figure::Parts],
            grouping(vec![Dimension::Created(Period::Month)], RowOrder::ByKey, 1000, 0),
        ),
        (
            "reopens by channel and tag",
            &everything,
            &[Figure::Reopens],
            grouping(vec![Dimension::SourceType, Dimension::Tag], RowOrder::ByKey, 1000, 0),
        ),
        (
            "oldest wait by admin",
            &open,
            &[Figure::WaitingSince],
            grouping(vec![Dimension::Admin], RowOrder::LargestFirst, 1000, 0),
        ),
        ("a narrow scope", &slow_low_rated_closes, &both, grouping(vec![Dimension::Rating], RowOrder::ByKey, 1000, 0)),
    ];
    for (name, scope, figures, grouping) in cases {
        let got = store
            .figure_distribution(&scope.scope(), figures, &grouping)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = oracle.distributions(scope, figures, &grouping);
        assert_eq!(got, want, "{name}");
        assert!(got.rows.iter().any(|r| r.summaries[0].count > 0), "{name}: the demo has values");
        assert_eq!(got.overall.len(), figures.len());
    }
    // The same figure twice, none, or five: refused.
    for figures in [
        &[Figure::Rating, Figure::Rating][..],
        &[],
        &[Figure::Rating, Figure::Parts, Figure::Reopens, Figure::TimeToFirstReply, Figure::TimeToLastClose],
    ] {
        let refused =
            store.figure_distribution(&everything.scope(), figures, &grouping(vec![], RowOrder::ByKey, 1, 0)).await;
        assert!(matches!(refused, Err(StoreError::InvalidArgument(_))), "{figures:?}: {refused:?}");
    }
}

async fn empty_scopes_bounds_and_rated_conversations(backend: Backend) {
    let (_db, store, oracle) = seeded(backend).await;
    // A scope that matches nothing: no rows, every total zero.
    let nothing = Oracular { created: (Some(NOW + 10 * DAY), None), ..Oracular::default() };
    for grouping in
        [grouping(vec![Dimension::Tag], RowOrder::LargestFirst, 10, 0), grouping(vec![], RowOrder::ByKey, 1, 0)]
    {
        let counts = store.count_conversations(&nothing.scope(), &grouping).await.unwrap();
        assert_eq!((counts.rows.len(), counts.total, counts.other), (0, 0, Default::default()));
        let spread = store.figure_distribution(&nothing.scope(), &[Figure::Rating], &grouping).await.unwrap();
        assert_eq!((spread.rows.len(), spread.total, spread.overall[0].count), (0, 0, 0));
    }

    // A text query narrows like search's: the same total as the search of the same filter.
    let text = Scope { text: Some("refund".to_owned()), ..Scope::default() };
    let counted =
        store.count_conversations(&text, &grouping(vec![Dimension::State], RowOrder::ByKey, 10, 0)).await.unwrap();
    let page = fastintercom::store::filter::PageRequest { limit: 1, cursor: None };
    let searched =
        store.search_conversations(&text, fastintercom::store::filter::ConversationSort::Newest, &page).await.unwrap();
    assert_eq!(counted.total, searched.total);
    assert!(counted.total > 0 && counted.total < oracle.conversations.len() as u64);
    assert_eq!(counted.rows.iter().map(|r| r.conversations).sum::<u64>(), counted.total);
    let no_words = Scope { text: Some(" ?! ".to_owned()), ..Scope::default() };
    let refused = store.count_conversations(&no_words, &grouping(vec![], RowOrder::ByKey, 1, 0)).await;
    assert!(matches!(refused, Err(StoreError::InvalidArgument(_))), "{refused:?}");

    // Out of bounds: an error that names the bound, before any work.
    let all = Scope::default();
    for (bad, names) in [
        (grouping(vec![], RowOrder::ByKey, 0, 0), "limit"),
        (grouping(vec![], RowOrder::ByKey, 1001, 0), "limit"),
        (grouping(vec![Dimension::State, Dimension::Tag, Dimension::Team], RowOrder::ByKey, 10, 0), "dimensions"),
        (
            grouping(vec![Dimension::Created(Period::Day), Dimension::Created(Period::Month)], RowOrder::ByKey, 10, 0),
            "twice",
        ),
        (grouping(vec![], RowOrder::ByKey, 10, 841), "UTC offset"),
    ] {
        match store.count_conversations(&all, &bad).await {
            Err(StoreError::InvalidArgument(message)) => assert!(message.contains(names), "{message}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let six = Scope { more: MoreConditions { ratings: vec![6], ..MoreConditions::default() }, ..Scope::default() };
    assert!(matches!(store.rated_conversations(&six, 5).await, Err(StoreError::InvalidArgument(_))));
    assert!(matches!(store.rated_conversations(&all, 101).await, Err(StoreError::InvalidArgument(_))));

    // Rated conversations: lowest first, then the most recently rated, then by id.
    let low = Oracular { ratings: vec![1, 2], ..Oracular::default() };
    let got = store.rated_conversations(&low.scope(), 25).await.unwrap();
    let mut want: Vec<&ConversationRecord> = oracle.conversations.iter().filter(|c| low.holds(c)).collect();
    want.sort_by(|a, b| {
        let rated_at = |c: &ConversationRecord| c.rating.as_ref().and_then(|r| r.created_at);
        rating(a)
            .cmp(&rating(b))
            .then_with(|| match (rated_at(a), rated_at(b)) {
                (Some(x), Some(y)) => y.cmp(&x),
                (x, y) => y.is_none().cmp(&x.is_none()).reverse(),
            })
            .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
    });
    let got_ids: Vec<String> = got.iter().map(|r| r.id.clone()).collect();
    let want_ids: Vec<String> = want.iter().take(25).map(|c| c.id.clone()).collect();
    assert_eq!(got_ids, want_ids);
    assert!(got.iter().all(|r| r.rating <= 2) && !got.is_empty());
    assert!(got.iter().any(|r| r.remark.is_some()), "the demo leaves remarks");
}

on_both_backends!(
    counts_match_the_generator,
    distributions_match_the_generator,
    empty_scopes_bounds_and_rated_conversations
);

/// Contract 0.5.0's search over a scope: the conditions analytics adds narrow a search exactly as the oracle
/// says, under every order, page after page.
async fn searches_take_the_scope_conditions(backend: Backend) {
    use fastintercom::store::SearchEffort;
    use fastintercom::store::filter::{ConversationSort, PageRequest};
    let (_db, store, oracle) = seeded(backend).await;
    let company = oracle.conversations.iter().find_map(|c| c.company_id.clone()).unwrap();
    let scopes = [
        Oracular { ratings: vec![1, 2], ..Oracular::default() },
        Oracular { first_reply_at_least: Some(3600), states: vec![ConversationState::Open], ..Oracular::default() },
        Oracular { closed: (Some(NOW - 90 * DAY), Some(NOW - 10 * DAY)), ..Oracular::default() },
    ];
    let mut cases: Vec<(Scope, Vec<String>)> = scopes
        .iter()
        .map(|o| (o.scope(), oracle.conversations.iter().filter(|c| o.holds(c)).map(|c| c.id.clone()).collect()))
        .collect();
    let more = MoreConditions { company_id: Some(company.clone()), ..MoreConditions::default() };
    let of_company = Scope { more, ..Scope::default() };
    let theirs = oracle.conversations.iter().filter(|c| c.company_id.as_ref() == Some(&company)).map(|c| c.id.clone());
    cases.push((of_company, theirs.collect()));
    for (scope, mut expected) in cases {
        assert!(!expected.is_empty() && expected.len() < oracle.conversations.len(), "{scope:?}");
        expected.sort();
        for sort in [ConversationSort::Newest, ConversationSort::Oldest, ConversationSort::Updated] {
            let mut seen = Vec::new();
            let mut page = PageRequest { limit: 7, cursor: None };
            loop {
                let found = store
                    .search_conversations_with(&scope, sort, &page, SearchEffort::Bounded)
                    .await
                    .unwrap_or_else(|e| panic!("{scope:?}: {e}"));
                assert_eq!(found.total, expected.len() as u64, "{scope:?} {sort:?}");
                seen.extend(found.items.iter().map(|c| c.id.clone()));
                match found.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
            seen.sort();
            assert_eq!(seen, expected, "{scope:?} {sort:?}: every match once");
        }
        // With a text, the conditions still hold: a subset of the text's matches.
        let mut with_text = scope.clone();
        with_text.text = Some("refund OR invoice".to_owned());
        let found = store
            .search_conversations_with(
                &with_text,
                ConversationSort::Relevance,
                &PageRequest { limit: 1000, cursor: None },
                SearchEffort::Bounded,
            )
            .await
            .unwrap();
        assert!(found.items.iter().all(|c| expected.binary_search(&c.id).is_ok()), "{with_text:?}");
    }
}

on_both_backends!(searches_take_the_scope_conditions);

/// The query syntax (phrases, OR, -exclusion, prefix*) runs on both backends, and its operators mean what they
/// say: an alternative is the union of its words' matches, an exclusion the difference, words side by side the
/// intersection; hostile and malformed queries either run or are refused as invalid arguments.
async fn the_query_syntax_means_what_it_says(backend: Backend) {
    use fastintercom::store::SearchEffort;
    use fastintercom::store::filter::{ConversationSort, PageRequest};
    use std::collections::BTreeSet;
    let (_db, store, _oracle) = seeded(backend).await;
    let ids = |text: &str| {
        let store = &store;
        let text = text.to_owned();
        async move {
            let filter = ConversationFilter { text: Some(text.clone()), ..ConversationFilter::default() };
            let page = PageRequest { limit: 1000, cursor: None };
            let found = store
                .search_conversations_with(&filter, ConversationSort::Newest, &page, SearchEffort::Exhaustive)
                .await
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(found.total, found.items.len() as u64, "{text:?}: one page holds them all");
            found.items.into_iter().map(|c| c.id).collect::<BTreeSet<String>>()
        }
    };
    let (refund, invoice, account) = (ids("refund").await, ids("invoice").await, ids("account").await);
    assert!(!refund.is_empty() && !invoice.is_empty() && !account.is_empty());
    let either: BTreeSet<String> = refund.union(&invoice).cloned().collect();
    assert_eq!(ids("refund OR invoice").await, either);
    assert_eq!(ids("refund OR invoice account").await, either.intersection(&account).cloned().collect());
    assert_eq!(ids("account refund OR invoice").await, either.intersection(&account).cloned().collect());
    assert_eq!(ids("refund -invoice").await, refund.difference(&invoice).cloned().collect());
    assert_eq!(ids("refund account").await, refund.intersection(&account).cloned().collect());
    let prefixed = ids("refun*").await;
    assert!(prefixed.is_superset(&refund), "a prefix finds the word and more");
    for hostile in [
        "\"credit card\" refund",
        "-spam OR refund",
        "e-mail",
        "x\" OR 1=1; DROP TABLE conversations; --",
        "NEAR(a b) *:^ AND",
        "\"unclosed phrase",
        "refund OR",
        "'; \\ \u{0} ünïcödé*",
    ] {
        let filter = ConversationFilter { text: Some(hostile.to_owned()), ..ConversationFilter::default() };
        let page = PageRequest { limit: 5, cursor: None };
        let answer =
            store.search_conversations_with(&filter, ConversationSort::Relevance, &page, SearchEffort::Bounded).await;
        assert!(answer.is_ok(), "{hostile:?}: {answer:?}");
    }
    for refused in ["-spam", "OR", " ?! ", &format!("refund {}", "x".repeat(3000))] {
        let filter = ConversationFilter { text: Some(refused.to_owned()), ..ConversationFilter::default() };
        let page = PageRequest { limit: 5, cursor: None };
        let answer =
            store.search_conversations_with(&filter, ConversationSort::Newest, &page, SearchEffort::Bounded).await;
        assert!(matches!(answer, Err(StoreError::InvalidArgument(_))), "{refused:?}: {answer:?}");
    }
}

on_both_backends!(the_query_syntax_means_what_it_says);

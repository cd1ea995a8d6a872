//! The demo workspace's promises: determinism, Intercom-consistent shapes, consistent references and exact
//! marker hit sets, all checked against the generator's own output in memory.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::conversations::{MARKER_PARAGRAPH, PART_MARKER_PARAGRAPH};
use super::people::BOT_ID;
use super::*;
use crate::store::model::{ConversationState, Priority};

/// 2024-06-01T00:00:00Z: tests anchor the workspace so their data never changes.
const NOW: i64 = 1_717_200_000;

fn options(conversations: usize) -> DemoOptions {
    DemoOptions { conversations, seed: 42, now: NOW }
}

/// Every piece of text a conversation carries, for marker scans.
fn texts(c: &ConversationRecord) -> Vec<&str> {
    let mut all = vec![c.source.body_html.as_str()];
    all.extend(c.source.subject.as_deref());
    all.extend(c.title.as_deref());
    all.extend(c.rating.as_ref().and_then(|r| r.remark.as_deref()));
    all.extend(c.parts.iter().filter_map(|p| p.body_html.as_deref()));
    all
}

fn contains_word(c: &ConversationRecord, word: &str) -> bool {
    texts(c).iter().any(|t| t.to_lowercase().contains(word))
}

#[test]
fn same_options_give_identical_workspaces() {
    let (a, b) = (generate(&options(1_500)), generate(&options(1_500)));
    assert_eq!(a, b);
    assert!(a.conversations().eq(b.conversations()));
    let batched: Vec<ConversationRecord> = a.conversation_batches(400).flatten().collect();
    assert!(batched.into_iter().eq(a.conversations()));
    let other = generate(&DemoOptions { seed: 43, ..options(1_500) });
    assert_ne!(a.contacts, other.contacts);
    assert_ne!(a.conversation(5), other.conversation(5));
}

#[test]
fn reference_data_is_consistent() {
    let ws = generate(&options(3_000));
    assert!((30..=60).contains(&ws.admins.len()));
    assert!((6..=12).contains(&ws.teams.len()));
    assert!(ws.tags.len() >= 40);
    assert_eq!(ws.contacts.len(), 1_500);
    assert_eq!(ws.companies.len(), 187);
    let admin_ids: HashSet<&str> = ws.admins.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(admin_ids.len(), ws.admins.len());
    for team in &ws.teams {
        assert!(!team.admin_ids.is_empty(), "team {} has no members", team.name);
        for admin in &team.admin_ids {
            let record = ws.admins.iter().find(|a| &a.id == admin).expect("team member exists");
            assert!(record.team_ids.contains(&team.id));
        }
    }
    for admin in &ws.admins {
        assert!(admin.id.bytes().all(|b| b.is_ascii_digit()));
        for team in &admin.team_ids {
            assert!(ws.teams.iter().any(|t| &t.id == team && t.admin_ids.contains(&admin.id)));
        }
    }
    let tag_names: HashSet<&str> = ws.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tag_names.len(), ws.tags.len());
    let company_by_id: HashMap<&str, &CompanyRecord> = ws.companies.iter().map(|c| (c.id.as_str(), c)).collect();
    assert_eq!(company_by_id.len(), ws.companies.len());
    let mut users_per_company: HashMap<&str, i64> = HashMap::new();
    let (mut emails, mut ids) = (HashSet::new(), HashSet::new());
    for pair in ws.contacts.windows(2) {
        assert!(pair[0].created_at <= pair[1].created_at, "contacts are in creation order");
    }
    for contact in &ws.contacts {
        assert!(contact.id.len() == 24 && contact.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(ids.insert(contact.id.as_str()));
        let email = contact.email.as_deref().expect("every contact has an email");
        assert!(emails.insert(email), "duplicate email {email}");
        assert!(contact.created_at <= contact.updated_at && contact.updated_at <= NOW);
        for company in &contact.company_ids {
            let record = company_by_id[company.as_str()];
            let domain = record.website.as_deref().unwrap().trim_start_matches("https://www.");
            assert!(email.ends_with(&format!("@{domain}")), "{email} is not at {domain}");
            assert!(record.created_at.unwrap() <= contact.created_at);
            *users_per_company.entry(company).or_default() += 1;
        }
        assert!(contact.tag_ids.iter().all(|t| ws.tags.iter().any(|tag| &tag.id == t)));
        assert_eq!(contact.role == "user", !contact.company_ids.is_empty());
    }
    for company in &ws.companies {
        assert!(company.user_count >= Some(1), "Intercom lists only companies with users");
        assert_eq!(company.user_count, Some(users_per_company.get(company.id.as_str()).copied().unwrap_or(0)));
    }
}

/// Checks one conversation against Intercom's rules and the workspace's reference data.
fn check_conversation(ws: &DemoWorkspace, index: usize, c: &ConversationRecord) {
    let now = ws.now();
    let ctx = format!("conversation {index} ({})", c.id);
    assert_eq!(ws.conversation_index(&c.id), Some(index), "{ctx}");
    assert!(c.created_at >= now - 2 * YEAR && c.created_at <= c.updated_at && c.updated_at <= now, "{ctx}");
    assert!(c.parts.len() >= 2 && c.parts.len() < 512, "{ctx}");
    let mut previous = c.created_at;
    let mut part_ids = HashSet::new();
    for part in &c.parts {
        assert!(part.created_at >= previous && part.created_at <= c.updated_at, "{ctx}: part times");
        previous = part.created_at;
        assert!(part.id.bytes().all(|b| b.is_ascii_digit()) && part_ids.insert(&part.id), "{ctx}");
        let has_body = matches!(part.part_type.as_str(), "comment" | "note");
        assert_eq!(part.body_html.is_some(), has_body, "{ctx}: body on {}", part.part_type);
        match part.author.kind.as_str() {
            "admin" => assert!(ws.admins.iter().any(|a| a.id == part.author.id), "{ctx}"),
            "user" | "lead" => assert!(c.contact_ids.contains(&part.author.id), "{ctx}"),
            "bot" => assert_eq!(part.author.id, BOT_ID),
            other => panic!("{ctx}: author kind {other}"),
        }
        if let Some(target) = &part.assigned_to_id {
            assert!(ws.admins.iter().any(|a| &a.id == target) || ws.teams.iter().any(|t| &t.id == target));
        }
    }
    // Statistics, recomputed from the parts independently of stats.rs.
    let s = &c.statistics;
    let times = |kind: &str, author: Option<&str>| -> Vec<i64> {
        c.parts
            .iter()
            .filter(|p| p.part_type == kind && author.is_none_or(|a| p.author.kind == a))
            .map(|p| p.created_at)
            .collect()
    };
    let admin_comments = times("comment", Some("admin"));
    let closes = times("close", None);
    assert_eq!(s.count_conversation_parts, Some(c.parts.len() as i64), "{ctx}");
    assert_eq!(s.first_admin_reply_at, admin_comments.first().copied(), "{ctx}");
    assert_eq!(s.last_admin_reply_at, admin_comments.last().copied(), "{ctx}");
    assert_eq!(s.first_close_at, closes.first().copied(), "{ctx}");
    assert_eq!(s.last_close_at, closes.last().copied(), "{ctx}");
    assert_eq!(s.count_reopens, Some(times("open", None).len() as i64), "{ctx}");
    assert_eq!(s.count_assignments, Some(times("assignment", None).len() as i64), "{ctx}");
    if let (Some(reply), Some(contact)) = (s.first_admin_reply_at, s.first_contact_reply_at) {
        assert_eq!(s.time_to_admin_reply, Some(reply - contact), "{ctx}");
    }
    assert_eq!(s.time_to_last_close, s.last_close_at.map(|at| at - c.created_at), "{ctx}");
    let last_close = c.parts.iter().rfind(|p| p.part_type == "close");
    assert_eq!(s.last_closed_by_id, last_close.map(|p| p.author.id.clone()), "{ctx}");

    let last = c.parts.last().unwrap();
    match c.state.unwrap() {
        ConversationState::Closed => {
            assert!(!c.open && c.waiting_since.is_none() && c.snoozed_until.is_none(), "{ctx}");
            assert_eq!(last.part_type, "close", "{ctx}");
        }
        ConversationState::Snoozed => {
            assert!(c.open && c.snoozed_until.is_some_and(|until| until > now), "{ctx}");
            assert_eq!(last.part_type, "snoozed", "{ctx}");
        }
        ConversationState::Open => assert!(c.open && c.snoozed_until.is_none(), "{ctx}"),
    }
    if let Some(waiting) = c.waiting_since {
        assert!(waiting >= c.created_at && waiting <= now, "{ctx}");
    }
    if let Some(rating) = &c.rating {
        assert_eq!(c.state, Some(ConversationState::Closed), "{ctx}");
        assert!((1..=5).contains(&rating.rating.unwrap()));
        assert!(rating.created_at.unwrap() >= s.last_close_at.unwrap() && rating.created_at.unwrap() <= now);
        assert_eq!(rating.contact_id.as_ref(), c.contact_ids.first());
    }

    // References.
    let primary = ws.contacts.iter().find(|x| x.id == c.contact_ids[0]).expect("contact exists");
    assert!(primary.created_at <= c.created_at, "{ctx}: contact signed up before writing in");
    assert!(c.contact_ids.len() <= 2 && c.contact_ids.iter().all(|id| ws.contacts.iter().any(|x| &x.id == id)));
    assert_eq!(c.company_id.as_ref(), primary.company_ids.first(), "{ctx}");
    assert!(c.admin_assignee_id.as_ref().is_none_or(|id| ws.admins.iter().any(|a| &a.id == id)));
    assert!(c.team_assignee_id.as_ref().is_none_or(|id| ws.teams.iter().any(|t| &t.id == id)));
    assert!(c.tag_ids.len() <= 3 && c.tag_ids.iter().collect::<HashSet<_>>().len() == c.tag_ids.len());
    assert!(c.tag_ids.iter().all(|id| ws.tags.iter().any(|t| &t.id == id)), "{ctx}");

    // Source and text.
    assert_eq!(c.source.subject.is_some(), c.source.kind == "email", "{ctx}");
    let inbound = matches!(c.source.kind.as_str(), "conversation" | "email");
    assert_eq!(inbound, c.source.author.kind != "admin", "{ctx}");
    for text in texts(c) {
        assert!(!text.contains('{') && !text.contains('}'), "{ctx}: unfilled slot in {text}");
        assert!(!crate::store::html_to_text(text).is_empty(), "{ctx}");
    }
    assert!(c.source.body_html.starts_with("<p>"), "{ctx}");
    let attributes: serde_json::Value = serde_json::from_str(c.custom_attributes.as_deref().unwrap()).unwrap();
    assert!(attributes.is_object());
}

#[test]
fn conversations_are_consistent_and_varied() {
    let ws = generate(&options(3_000));
    let (mut states, mut sources, mut priorities, mut kinds) =
        (HashSet::new(), HashSet::new(), HashSet::new(), HashSet::new());
    let (mut short, mut long, mut huge, mut previous_created) = (0, 0, 0, i64::MIN);
    for (index, c) in ws.conversations().enumerate() {
        check_conversation(&ws, index, &c);
        assert!(c.created_at >= previous_created, "ids increase with time");
        previous_created = c.created_at;
        states.insert(c.state.unwrap());
        sources.insert(c.source.kind.clone());
        priorities.insert(c.priority.unwrap());
        kinds.extend(c.parts.iter().map(|p| p.part_type.clone()));
        match c.parts.len() {
            2..=8 => short += 1,
            20..=60 => long += 1,
            101.. => huge += 1,
            _ => {}
        }
    }
    assert_eq!(states.len(), 3);
    assert_eq!(sources.len(), 4);
    assert_eq!(priorities, Priority::ALL.into_iter().collect());
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    assert!(short > 2_000 && long > 50 && huge >= 1, "{short} {long} {huge}");
}

#[test]
fn markers_appear_exactly_where_documented() {
    let ws = generate(&options(5_000));
    let mut marked = BTreeSet::new();
    let mut part_marked = BTreeSet::new();
    for (index, c) in ws.conversations().enumerate() {
        if contains_word(&c, MARKER_WORD) {
            marked.insert(index);
        }
        if contains_word(&c, PART_MARKER_WORD) {
            part_marked.insert(index);
            assert!(!c.source.body_html.contains(PART_MARKER_WORD), "in a part, not the first message");
        }
    }
    assert_eq!(marked, ws.marker_indices().collect());
    assert_eq!(marked.len(), 6);
    assert_eq!(part_marked, BTreeSet::from([PART_MARKER_INDEX]));
    assert!(MARKER_PARAGRAPH.contains(MARKER_WORD) && PART_MARKER_PARAGRAPH.contains(PART_MARKER_WORD));

    let mut phrases = vocabulary::all_phrases();
    for topic in topics::TOPICS {
        for list in [topic.subjects, topic.problems, topic.details, topic.asks, topic.replies] {
            phrases.extend_from_slice(list);
        }
        for list in [topic.admin_followups, topic.user_followups, topic.notes, topic.tags, topic.teams] {
            assert!(!list.is_empty(), "{}", topic.label);
            phrases.extend_from_slice(list);
        }
    }
    for phrase in phrases {
        let lower = phrase.to_lowercase();
        assert!(!lower.contains(MARKER_WORD) && !lower.contains(PART_MARKER_WORD), "{phrase}");
    }
}

#[test]
fn any_option_value_works() {
    for options in [
        DemoOptions { conversations: 0, seed: 0, now: 0 },
        DemoOptions { conversations: 1, seed: u64::MAX, now: i64::MIN },
        DemoOptions { conversations: 2, seed: 7, now: i64::MAX },
        DemoOptions { conversations: 60, seed: 1, now: MIN_NOW + 1 },
    ] {
        let ws = generate(&options);
        assert_eq!(ws.conversations().count(), options.conversations);
        assert_eq!(ws.contacts.len(), 50);
        for (index, c) in ws.conversations().enumerate() {
            check_conversation(&ws, index, &c);
        }
        assert_eq!(ws.part_marker_indices().count(), usize::from(options.conversations > 1));
    }
    assert_eq!(generate(&options(0)).conversation_batches(0).count(), 0);
    // Indexes past the end still give a well-formed conversation (ids never overflow).
    let small = generate(&options(10));
    let last = small.conversation(usize::MAX);
    assert!(last.id.bytes().all(|b| b.is_ascii_digit()) && last.updated_at <= NOW);
    assert_eq!(small.conversation_index(&last.id), None);
    assert_eq!(small.conversation_index("not a number"), None);
}

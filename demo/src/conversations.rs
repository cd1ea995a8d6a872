//! One conversation from (options, index): who wrote in, about what, how the exchange went, how it ended.
//!
//! The exchange is planned first (`exchange.rs`), timed, then written; statistics and `waiting_since` are
//! derived from the written parts afterwards (`stats.rs`), so they can never disagree with them.

use super::exchange::{self, Cast, HOUR, MINUTE, Step};
use super::people::{BOT_EMAIL, BOT_ID, BOT_NAME, DAY};
use super::rng::{Rng, Stream};
use super::text::{Composer, People, Slots};
use super::topics::{TOPICS, Topic};
use super::{DemoWorkspace, PART_MARKER_INDEX, has_marker, stats, vocabulary as v};
use crate::store::model::{
    Author, CompanyRecord, ConversationRecord, ConversationState, PartRecord, Priority, Rating, Source,
};

/// Appended to the first customer message of the conversations [`has_marker`] picks. Contains
/// [`super::MARKER_WORD`].
pub(super) const MARKER_PARAGRAPH: &str =
    "<p>Also, the reader plays a xylophonic jingle every time it restarts - no idea if that's related.</p>";
/// Appended to one teammate part of conversation [`PART_MARKER_INDEX`]. Contains [`super::PART_MARKER_WORD`].
pub(super) const PART_MARKER_PARAGRAPH: &str =
    "<p>PS: the quokkaberry promo code from the spring campaign still works.</p>";

/// Source types with their `delivered_as`: messenger and email are customer-initiated; chat (a teammate's
/// message) and push (an automated campaign) are outbound.
const SOURCES: [(&str, &str, u32); 4] = [
    ("conversation", "customer_initiated", 60),
    ("email", "customer_initiated", 26),
    ("chat", "admin_initiated", 8),
    ("push", "automated", 6),
];

fn first_word(name: &str) -> &str {
    name.split(' ').next().unwrap_or_default()
}

impl DemoWorkspace {
    /// Conversation `index`, generated from the options and the index alone.
    pub fn conversation(&self, index: usize) -> ConversationRecord {
        let now = self.options.now;
        let mut rng = Rng::new(self.options.seed, Stream::Conversation, index as u64);
        let created_at = super::conversation_created_at(index, self.options.conversations, now, rng.unit());
        let topic_index = rng.weighted(&TOPICS.map(|t| t.weight));
        let topic: &'static Topic = TOPICS[topic_index];
        let source_kind = rng.weighted(&SOURCES.map(|s| s.2));
        let inbound = source_kind < 2;
        let email = source_kind == 1;

        // Customers who had signed up when the conversation started; some write in far more than others.
        let existing = self.contacts.partition_point(|c| c.created_at <= created_at).clamp(1, self.contacts.len());
        let contact = if rng.chance(0.15) { rng.below(existing.div_ceil(20)) } else { rng.below(existing) };
        let other_contact =
            (existing > 1 && rng.chance(0.08)).then(|| (contact + 1 + rng.below(existing - 1)) % existing);
        let facts = self.lookup.contact_facts[contact];
        let company = facts.company.map(|c| &self.companies[c as usize]);

        let teams = &self.lookup.topic_teams[topic_index];
        let team = if rng.chance(0.85) { teams[0] } else { *rng.pick(teams) };
        let members = &self.lookup.team_members[team];
        let admin = *rng.pick(members);
        // Assigned to an admin in a team, to the team only, to an admin only, or not at all.
        let (team_assignee, admin_assignee) = match rng.weighted(&[70, 14, 6, 10]) {
            0 => (Some(team), Some(admin)),
            1 => (Some(team), None),
            2 => (None, Some(admin)),
            _ => (None, None),
        };
        // The assignee answers; for a team-only assignment someone in the team; otherwise anyone.
        let replier = match (admin_assignee, team_assignee) {
            (Some(assignee), _) => assignee,
            (None, Some(_)) => admin,
            (None, None) => rng.below(self.admins.len()),
        };
        // Notes come from a teammate of the team other than the one answering, when the team has one.
        let colleague = match rng.below(members.len()) {
            pick if members[pick] == replier => members[(pick + 1) % members.len()],
            pick => members[pick],
        };
        let cast = Cast { contact, other_contact, team: team_assignee, admin: admin_assignee, replier, colleague };

        // Old conversations are almost all closed; recent ones are often still open.
        let age = now - created_at;
        let state_weights: &[u32] = match age {
            a if a < 2 * DAY => &[45, 45, 10],
            a if a < 14 * DAY => &[80, 15, 5],
            _ => &[97, 2, 1],
        };
        let state = [ConversationState::Closed, ConversationState::Open, ConversationState::Snoozed]
            [rng.weighted(state_weights)];
        let priority_weights: &[u32] = if topic.pressing { &[65, 6, 10, 11, 8] } else { &[84, 5, 6, 3, 2] };
        let priority = Priority::ALL[rng.weighted(priority_weights)];

        let steps = exchange::plan(&mut rng, &cast, inbound, source_kind == 0, state);
        let times = exchange::timeline(&mut rng, &steps, created_at, now);

        let contact_record = &self.contacts[contact];
        let contact_name = contact_record.name.as_deref().unwrap_or_default();
        let people = People {
            name: first_word(contact_name),
            fullname: contact_name,
            company: company.map_or("", |c| c.name.as_str()),
            admin: first_word(self.admins[replier].name.as_deref().unwrap_or_default()),
            place: v::PLACES[usize::from(facts.place) % v::PLACES.len()],
        };
        let plan = v::PLANS.iter().map(|p| p.0).find(|p| company.and_then(|c| c.plan.as_deref()) == Some(*p));
        let slots = Slots::draw(&mut rng, people, plan.unwrap_or("Starter"));
        let mut composer = Composer::new(topic, slots, email);

        let mut source_body = if inbound { composer.customer_opening(&mut rng) } else { composer.outbound(&mut rng) };
        if inbound && has_marker(index) {
            source_body.push_str(MARKER_PARAGRAPH);
        }
        let mut parts: Vec<PartRecord> = Vec::with_capacity(steps.len());
        for (k, (step, &created)) in steps.iter().zip(&times).enumerate() {
            let (part_type, author, body, assigned_to_id) = match *step {
                Step::UserComment { contact, opening } => {
                    let mut body =
                        if opening { composer.customer_opening(&mut rng) } else { composer.user_reply(&mut rng) };
                    if opening && has_marker(index) {
                        body.push_str(MARKER_PARAGRAPH);
                    }
                    ("comment", self.contact_author(contact), Some(body), None)
                }
                Step::AdminComment { admin, first } => {
                    ("comment", self.admin_author(admin), Some(composer.admin_reply(&mut rng, first)), None)
                }
                Step::Note { admin } => ("note", self.admin_author(admin), Some(composer.note(&mut rng)), None),
                Step::Bot => ("comment", bot_author(), Some(composer.bot(&mut rng)), None),
                Step::AssignTeam { team } => ("assignment", bot_author(), None, Some(self.teams[team].id.clone())),
                Step::AssignAdmin { by, admin } => {
                    ("assignment", self.admin_author(by), None, Some(self.admins[admin].id.clone()))
                }
                Step::Close { admin } => ("close", admin.map_or_else(bot_author, |a| self.admin_author(a)), None, None),
                Step::Open { contact, admin } => {
                    let author = contact.map_or_else(|| self.admin_author(admin), |c| self.contact_author(c));
                    ("open", author, None, None)
                }
                Step::Snoozed { admin } => ("snoozed", self.admin_author(admin), None, None),
            };
            parts.push(PartRecord {
                id: self.part_id(index, k),
                part_type: part_type.to_owned(),
                notified_at: body.is_some().then_some(created),
                body_html: body,
                created_at: created,
                updated_at: Some(created),
                author,
                assigned_to_id,
                redacted: false,
            });
        }
        if index == PART_MARKER_INDEX {
            plant_part_marker(&mut parts);
        }

        let statistics = stats::statistics(created_at, inbound, &parts);
        let last_part_at = times.last().copied().unwrap_or(created_at);
        let rating = (state == ConversationState::Closed && inbound && rng.chance(0.28)).then(|| {
            let score = rng.weighted(&[9, 6, 10, 20, 55]) + 1;
            // Remarks are ordered worst first, two per score.
            let remark = v::RATING_REMARKS[((score - 1) * 2 + rng.below(2)).min(v::RATING_REMARKS.len() - 1)];
            let closer = statistics.last_closed_by_id.clone().filter(|id| id != BOT_ID);
            Rating {
                rating: Some(score as i64),
                remark: rng.chance(0.45).then(|| remark.to_owned()),
                created_at: Some((last_part_at + rng.between(MINUTE, DAY)).min(now)),
                contact_id: Some(contact_record.id.clone()),
                teammate_id: Some(closer.unwrap_or_else(|| self.admins[replier].id.clone())),
            }
        });
        let waiting_since = match state {
            ConversationState::Closed => None,
            _ => stats::waiting_since(created_at, inbound, &parts),
        };
        let updated_at = rating.as_ref().and_then(|r| r.created_at).unwrap_or(created_at).max(last_part_at);
        let tag_ids = self.pick_tags(&mut rng, topic_index, priority, company, rating.as_ref(), parts.len());
        let subject = email.then(|| composer.subject(&mut rng));
        let mut contact_ids = vec![contact_record.id.clone()];
        contact_ids.extend(other_contact.map(|c| self.contacts[c].id.clone()));
        let (source_type, delivered_as, _) = SOURCES[source_kind];

        ConversationRecord {
            id: self.conversation_id(index),
            title: subject.clone().filter(|_| rng.chance(0.3)),
            state: Some(state),
            open: state != ConversationState::Closed,
            read: waiting_since.is_none() || rng.chance(0.4),
            priority: Some(priority),
            created_at,
            updated_at,
            waiting_since,
            snoozed_until: (state == ConversationState::Snoozed).then(|| now + rng.between(HOUR, 5 * DAY)),
            admin_assignee_id: admin_assignee.map(|a| self.admins[a].id.clone()),
            team_assignee_id: team_assignee.map(|t| self.teams[t].id.clone()),
            company_id: company.map(|c| c.id.clone()),
            source: Source {
                kind: source_type.to_owned(),
                id: Some((u128::from(self.lookup.source_base) + index as u128).to_string()),
                delivered_as: Some(delivered_as.to_owned()),
                subject,
                body_html: source_body,
                url: (source_kind == 0).then(|| format!("https://app.tillwise.com/{}", topic.page)),
                author: if inbound { self.contact_author(contact) } else { self.admin_author(replier) },
            },
            contact_ids,
            tag_ids,
            rating,
            statistics,
            parts,
            parts_truncated: false,
            ai_agent_participated: Some(steps.contains(&Step::Bot)),
            channel_initial: Some(if email { "email" } else { "messenger" }.to_owned()),
            custom_attributes: Some(format!("{{\"Product area\":\"{}\",\"Language\":\"English\"}}", topic.label)),
        }
    }

    /// A part id: numeric like Intercom's, unique, increasing within a conversation (at most 512 parts each).
    fn part_id(&self, index: usize, part: usize) -> String {
        (u128::from(self.lookup.part_base) + index as u128 * 512 + part as u128).to_string()
    }

    fn contact_author(&self, contact: usize) -> Author {
        let record = &self.contacts[contact];
        Author {
            kind: if record.role == "lead" { "lead" } else { "user" }.to_owned(),
            id: record.id.clone(),
            name: record.name.clone(),
            email: record.email.clone(),
        }
    }

    fn admin_author(&self, admin: usize) -> Author {
        let record = &self.admins[admin];
        Author {
            kind: "admin".to_owned(),
            id: record.id.clone(),
            name: record.name.clone(),
            email: record.email.clone(),
        }
    }

    /// 0-3 tags: mostly the topic's own, sometimes one that cuts across topics when the conversation fits it.
    fn pick_tags(
        &self,
        rng: &mut Rng,
        topic_index: usize,
        priority: Priority,
        company: Option<&CompanyRecord>,
        rating: Option<&Rating>,
        part_count: usize,
    ) -> Vec<String> {
        let lookup = &self.lookup;
        let topic_tags = &lookup.topic_tags[topic_index];
        let score = rating.and_then(|r| r.rating).unwrap_or(3);
        let fitting = [
            (lookup.vip, company.is_some_and(|c| c.plan.as_deref() == Some("Enterprise"))),
            (lookup.urgent, matches!(priority, Priority::High | Priority::Urgent)),
            (lookup.churn_risk, score <= 2 || matches!(TOPICS[topic_index].label, "Cancellations" | "Refunds")),
            (lookup.escalated, part_count > 20),
            (lookup.positive, score >= 4),
        ];
        let fitting_count = fitting.iter().filter(|(_, fits)| *fits).count();
        let count = rng.weighted(&[28, 44, 20, 8]);
        let mut chosen: Vec<usize> = Vec::with_capacity(count);
        for slot in 0..count {
            let candidate = if slot == 0 && rng.chance(0.6) {
                topic_tags.first().copied()
            } else if slot == 0 || fitting_count == 0 || rng.chance(0.5) {
                topic_tags.get(rng.below(topic_tags.len())).copied()
            } else {
                let pick = rng.below(fitting_count);
                fitting.iter().filter(|(_, fits)| *fits).nth(pick).and_then(|(tag, _)| *tag)
            };
            if let Some(tag) = candidate
                && !chosen.contains(&tag)
            {
                chosen.push(tag);
            }
        }
        chosen.into_iter().map(|tag| self.tags[tag].id.clone()).collect()
    }
}

fn bot_author() -> Author {
    Author {
        kind: "bot".to_owned(),
        id: BOT_ID.to_owned(),
        name: Some(BOT_NAME.to_owned()),
        email: Some(BOT_EMAIL.to_owned()),
    }
}

/// Appends [`PART_MARKER_PARAGRAPH`] to the first teammate message or note, else to the first part with a body
/// (every plan has one).
fn plant_part_marker(parts: &mut [PartRecord]) {
    let by_teammate = |p: &PartRecord| p.body_html.is_some() && p.author.kind == "admin";
    let target = parts.iter().position(by_teammate).or_else(|| parts.iter().position(|p| p.body_html.is_some()));
    if let Some(body) = target.and_then(|t| parts[t].body_html.as_mut()) {
        body.push_str(PART_MARKER_PARAGRAPH);
    }
}

//! The shape and timing of a conversation's parts, planned before any text is written.

use super::people::DAY;
use super::rng::Rng;
use crate::store::model::ConversationState;

pub(super) const MINUTE: i64 = 60;
pub(super) const HOUR: i64 = 3_600;

// Gaps in seconds, as (weight, min, max) buckets: replies usually come within the hour, sometimes days later.
const ADMIN_REPLY_GAP: &[(u32, i64, i64)] = &[
    (30, MINUTE, 5 * MINUTE),
    (35, 5 * MINUTE, 30 * MINUTE),
    (20, 30 * MINUTE, 2 * HOUR),
    (10, 2 * HOUR, 8 * HOUR),
    (5, 8 * HOUR, 2 * DAY),
];
const USER_REPLY_GAP: &[(u32, i64, i64)] =
    &[(40, MINUTE, 15 * MINUTE), (30, 15 * MINUTE, 2 * HOUR), (20, 2 * HOUR, DAY), (10, DAY, 3 * DAY)];
const ADMIN_FOLLOWUP_GAP: &[(u32, i64, i64)] = &[(50, HOUR, DAY), (50, DAY, 3 * DAY)];
const CLOSE_GAP: &[(u32, i64, i64)] = &[(60, MINUTE, HOUR), (30, HOUR, DAY), (10, DAY, 7 * DAY)];

/// One planned part. Indexes refer to the workspace's contacts and admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// A customer message; `opening` when it is the reply that starts an outbound conversation.
    UserComment {
        contact: usize,
        opening: bool,
    },
    /// A teammate's message; `first` for the first answer, which addresses the topic.
    AdminComment {
        admin: usize,
        first: bool,
    },
    Note {
        admin: usize,
    },
    Bot,
    AssignTeam {
        team: usize,
    },
    AssignAdmin {
        by: usize,
        admin: usize,
    },
    /// Closed by a teammate, or by the bot (auto-close after inactivity) when `admin` is `None`.
    Close {
        admin: Option<usize>,
    },
    /// Reopened by the customer (`contact`) or else by the teammate.
    Open {
        contact: Option<usize>,
        admin: usize,
    },
    Snoozed {
        admin: usize,
    },
}

/// Who takes part in a conversation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cast {
    pub contact: usize,
    pub other_contact: Option<usize>,
    pub team: Option<usize>,
    pub admin: Option<usize>,
    /// The teammate who answers (the assignee when there is one).
    pub replier: usize,
    /// Another teammate, who writes notes.
    pub colleague: usize,
}

/// How many parts: most 2-8 (short ones commonest, as in a real inbox), some 9-19, a few 20-60 and a rare
/// few past a hundred (Intercom returns at most 500). About 7 on average.
fn part_count(rng: &mut Rng) -> usize {
    const SHORT: [u32; 7] = [14, 20, 20, 16, 12, 10, 8]; // 2..=8
    match rng.weighted(&[863, 100, 35, 2]) {
        0 => 2 + rng.weighted(&SHORT),
        1 => rng.between(9, 19) as usize,
        2 => rng.between(20, 60) as usize,
        _ => rng.between(101, 260) as usize,
    }
}

/// Plans the parts: automatic steps first (bot greeting, assignments), then the exchange, then the step that
/// leaves the conversation in `state`. Always at least two parts, at least one of them with a body.
pub(super) fn plan(rng: &mut Rng, cast: &Cast, inbound: bool, messenger: bool, state: ConversationState) -> Vec<Step> {
    let total = part_count(rng);
    let budget = total - usize::from(state != ConversationState::Open);
    let mut steps = Vec::with_capacity(total);
    let mut customer_waiting = inbound;
    if !inbound {
        steps.push(Step::UserComment { contact: cast.contact, opening: true });
        customer_waiting = true;
    }
    // Automatic steps leave room for at least one message.
    if inbound && messenger && steps.len() + 1 < budget && rng.chance(0.35) {
        steps.push(Step::Bot);
    }
    if let Some(team) = cast.team
        && steps.len() + 1 < budget
    {
        steps.push(Step::AssignTeam { team });
    }
    if let Some(admin) = cast.admin
        && steps.len() + 1 < budget
        && rng.chance(0.8)
    {
        steps.push(Step::AssignAdmin { by: admin, admin });
    }
    let mut first_reply = true;
    while steps.len() < budget {
        let left = budget - steps.len();
        if customer_waiting {
            if rng.chance(0.1) {
                steps.push(Step::Note { admin: cast.colleague });
            } else {
                steps.push(Step::AdminComment { admin: cast.replier, first: first_reply });
                first_reply = false;
                customer_waiting = false;
            }
        } else if left >= 3 && rng.chance(0.05) {
            steps.push(Step::Close { admin: Some(cast.replier) });
            steps.push(Step::Open { contact: rng.chance(0.5).then_some(cast.contact), admin: cast.replier });
            steps.push(Step::UserComment { contact: cast.contact, opening: false });
            customer_waiting = true;
        } else {
            match rng.weighted(&[76, 12, 8]) {
                0 => {
                    let contact = match cast.other_contact {
                        Some(other) if rng.chance(0.25) => other,
                        _ => cast.contact,
                    };
                    steps.push(Step::UserComment { contact, opening: false });
                    customer_waiting = true;
                }
                1 => steps.push(Step::AdminComment { admin: cast.replier, first: false }),
                _ => steps.push(Step::Note { admin: cast.colleague }),
            }
        }
    }
    match state {
        ConversationState::Closed => steps.push(Step::Close { admin: (!rng.chance(0.08)).then_some(cast.replier) }),
        ConversationState::Snoozed => steps.push(Step::Snoozed { admin: cast.replier }),
        ConversationState::Open => {}
    }
    steps
}

/// When each step happens: realistic gaps after `created_at`, squeezed proportionally when the conversation
/// would otherwise run past `now`. Never decreasing.
pub(super) fn timeline(rng: &mut Rng, steps: &[Step], created_at: i64, now: i64) -> Vec<i64> {
    let mut offsets = Vec::with_capacity(steps.len());
    let mut elapsed: i64 = 0;
    let mut previous: Option<Step> = None;
    for step in steps {
        let gap = match *step {
            Step::UserComment { .. } if matches!(previous, Some(Step::Open { .. })) => rng.between(10, 5 * MINUTE),
            Step::UserComment { .. } => rng.bucketed(USER_REPLY_GAP),
            Step::AdminComment { .. } if matches!(previous, Some(Step::AdminComment { .. })) => {
                rng.bucketed(ADMIN_FOLLOWUP_GAP)
            }
            Step::AdminComment { .. } => rng.bucketed(ADMIN_REPLY_GAP),
            Step::Note { .. } => rng.between(30, 30 * MINUTE),
            Step::Bot => rng.between(2, 20),
            Step::AssignTeam { .. } => rng.between(1, 45),
            Step::AssignAdmin { .. } => rng.between(MINUTE, 3 * HOUR),
            Step::Close { .. } => rng.bucketed(CLOSE_GAP),
            Step::Open { .. } => rng.between(HOUR, 14 * DAY),
            Step::Snoozed { .. } => rng.between(MINUTE, 2 * HOUR),
        };
        elapsed += gap;
        offsets.push(elapsed);
        previous = Some(*step);
    }
    let available = (now - created_at).max(0);
    let squeeze = elapsed > available;
    offsets
        .into_iter()
        .map(|offset| {
            if squeeze {
                created_at + (i128::from(offset) * i128::from(available) / i128::from(elapsed)) as i64
            } else {
                created_at + offset
            }
        })
        .collect()
}

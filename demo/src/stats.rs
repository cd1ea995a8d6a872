//! Intercom's `conversation_statistics` and `waiting_since`, derived from the parts a conversation has, so the
//! demo's numbers agree with its timeline the way a real workspace's do.

use crate::store::model::{PartRecord, Statistics};

fn is_contact(part: &PartRecord) -> bool {
    matches!(part.author.kind.as_str(), "user" | "lead")
}

fn is_comment_by(part: &PartRecord, contact: bool) -> bool {
    part.part_type == "comment" && if contact { is_contact(part) } else { part.author.kind == "admin" }
}

/// Statistics for a conversation created at `created_at` with `parts` (in time order). `inbound` when the
/// customer wrote the first message, which then counts as their first reply.
pub(super) fn statistics(created_at: i64, inbound: bool, parts: &[PartRecord]) -> Statistics {
    let mut stats = Statistics {
        first_contact_reply_at: inbound.then_some(created_at),
        last_contact_reply_at: inbound.then_some(created_at),
        count_reopens: Some(0),
        count_assignments: Some(0),
        count_conversation_parts: Some(parts.len() as i64),
        ..Statistics::default()
    };
    // The oldest customer message a teammate has not answered yet.
    let mut unanswered_since = inbound.then_some(created_at);
    let mut reply_times = Vec::new();
    let mut open_since = Some(created_at);
    let mut handling = None::<i64>;
    for part in parts {
        let at = part.created_at;
        match part.part_type.as_str() {
            "comment" if is_contact(part) => {
                stats.first_contact_reply_at.get_or_insert(at);
                stats.last_contact_reply_at = Some(at);
                unanswered_since.get_or_insert(at);
            }
            "comment" if part.author.kind == "admin" => {
                stats.first_admin_reply_at.get_or_insert(at);
                stats.last_admin_reply_at = Some(at);
                if let Some(since) = unanswered_since.take() {
                    reply_times.push(at - since);
                }
            }
            "assignment" => {
                stats.first_assignment_at.get_or_insert(at);
                stats.last_assignment_at = Some(at);
                *stats.count_assignments.get_or_insert(0) += 1;
            }
            "close" => {
                stats.first_close_at.get_or_insert(at);
                stats.last_close_at = Some(at);
                stats.last_closed_by_id = Some(part.author.id.clone());
                if let Some(since) = open_since.take() {
                    *handling.get_or_insert(0) += at - since;
                }
            }
            "open" => {
                *stats.count_reopens.get_or_insert(0) += 1;
                open_since = Some(at);
            }
            _ => {}
        }
    }
    stats.time_to_assignment = stats.first_assignment_at.map(|at| at - created_at);
    stats.time_to_admin_reply = match (stats.first_admin_reply_at, stats.first_contact_reply_at) {
        (Some(reply), Some(contact)) if reply >= contact => Some(reply - contact),
        _ => None,
    };
    stats.time_to_first_close = stats.first_close_at.map(|at| at - created_at);
    stats.time_to_last_close = stats.last_close_at.map(|at| at - created_at);
    reply_times.sort_unstable();
    stats.median_time_to_reply = reply_times.get(reply_times.len().saturating_sub(1) / 2).copied();
    stats.handling_time = handling;
    stats
}

/// Since when the customer has been waiting: their first message after the last teammate reply, or `None`
/// when a teammate spoke last. Meaningful only for conversations that are not closed.
pub(super) fn waiting_since(created_at: i64, inbound: bool, parts: &[PartRecord]) -> Option<i64> {
    let last_admin = parts.iter().rposition(|p| is_comment_by(p, false));
    let after = match last_admin {
        Some(index) => &parts[index + 1..],
        None if inbound => return Some(created_at),
        None => parts,
    };
    after.iter().find(|p| is_comment_by(p, true)).map(|p| p.created_at)
}

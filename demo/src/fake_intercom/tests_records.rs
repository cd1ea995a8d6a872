//! A reading of Intercom's JSON into store records, written from the spec and independent of the client's
//! models: if it gives the oracle's records back, every record field sits where a spec-following client looks.

use serde_json::Value;

use crate::store::model::{
    Author, CompanyRecord, ContactRecord, ConversationRecord, ConversationState, PartRecord, Priority, Rating, Source,
    Statistics,
};

pub(super) fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn author(v: &Value) -> Author {
    Author {
        kind: v["type"].as_str().unwrap_or_default().to_owned(),
        id: id_text(&v["id"]).unwrap_or_default(),
        name: text(&v["name"]),
        email: text(&v["email"]),
    }
}

fn assignee(v: &Value) -> Option<String> {
    v.as_u64().filter(|n| *n != 0).map(|n| n.to_string())
}

fn attributes(v: &Value) -> Option<String> {
    v.as_object().filter(|o| !o.is_empty()).map(|o| serde_json::to_string(o).expect("serialises"))
}

pub(super) fn conversation_record(v: &Value) -> ConversationRecord {
    let s = &v["statistics"];
    let parts: Vec<PartRecord> = v["conversation_parts"]["conversation_parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .map(|p| PartRecord {
                    id: id_text(&p["id"]).expect("part id"),
                    part_type: text(&p["part_type"]).expect("part type"),
                    body_html: text(&p["body"]),
                    created_at: p["created_at"].as_i64().expect("created_at"),
                    updated_at: p["updated_at"].as_i64(),
                    notified_at: p["notified_at"].as_i64(),
                    author: author(&p["author"]),
                    assigned_to_id: id_text(&p["assigned_to"]["id"]),
                    redacted: p["redacted"].as_bool().expect("redacted"),
                })
                .collect()
        })
        .unwrap_or_default();
    let count = s["count_conversation_parts"].as_i64();
    let rating = &v["conversation_rating"];
    ConversationRecord {
        id: text(&v["id"]).expect("id"),
        title: text(&v["title"]),
        state: v["state"].as_str().and_then(ConversationState::parse),
        open: v["open"].as_bool().expect("open"),
        read: v["read"].as_bool().expect("read"),
        priority: v["priority"].as_str().and_then(Priority::parse),
        created_at: v["created_at"].as_i64().expect("created_at"),
        updated_at: v["updated_at"].as_i64().expect("updated_at"),
        waiting_since: v["waiting_since"].as_i64(),
        snoozed_until: v["snoozed_until"].as_i64(),
        admin_assignee_id: assignee(&v["admin_assignee_id"]),
        team_assignee_id: assignee(&v["team_assignee_id"]),
        company_id: id_text(&v["company"]["id"]),
        source: Source {
            kind: text(&v["source"]["type"]).unwrap_or_default(),
            id: id_text(&v["source"]["id"]),
            delivered_as: text(&v["source"]["delivered_as"]),
            subject: text(&v["source"]["subject"]),
            body_html: text(&v["source"]["body"]).unwrap_or_default(),
            url: text(&v["source"]["url"]),
            author: author(&v["source"]["author"]),
        },
        contact_ids: v["contacts"]["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .filter_map(|c| text(&c["id"]))
            .collect(),
        tag_ids: v["tags"]["tags"].as_array().expect("tags").iter().filter_map(|t| text(&t["id"])).collect(),
        rating: (!rating.is_null()).then(|| Rating {
            rating: rating["rating"].as_i64(),
            remark: text(&rating["remark"]),
            created_at: rating["created_at"].as_i64(),
            contact_id: id_text(&rating["contact"]["id"]),
            teammate_id: id_text(&rating["teammate"]["id"]),
        }),
        statistics: Statistics {
            time_to_assignment: s["time_to_assignment"].as_i64(),
            time_to_admin_reply: s["time_to_admin_reply"].as_i64(),
            time_to_first_close: s["time_to_first_close"].as_i64(),
            time_to_last_close: s["time_to_last_close"].as_i64(),
            median_time_to_reply: s["median_time_to_reply"].as_i64(),
            handling_time: s["handling_time"].as_i64(),
            first_contact_reply_at: s["first_contact_reply_at"].as_i64(),
            first_assignment_at: s["first_assignment_at"].as_i64(),
            first_admin_reply_at: s["first_admin_reply_at"].as_i64(),
            first_close_at: s["first_close_at"].as_i64(),
            last_assignment_at: s["last_assignment_at"].as_i64(),
            last_contact_reply_at: s["last_contact_reply_at"].as_i64(),
            last_admin_reply_at: s["last_admin_reply_at"].as_i64(),
            last_close_at: s["last_close_at"].as_i64(),
            last_closed_by_id: text(&s["last_closed_by_id"]),
            count_reopens: s["count_reopens"].as_i64(),
            count_assignments: s["count_assignments"].as_i64(),
            count_conversation_parts: count,
        },
        parts_truncated: count.is_some_and(|c| c > parts.len() as i64) && v.get("conversation_parts").is_some(),
        parts,
        ai_agent_participated: v["ai_agent_participated"].as_bool(),
        channel_initial: text(&v["channel"]["initial"]),
        custom_attributes: attributes(&v["custom_attributes"]),
    }
}

pub(super) fn contact_record(v: &Value) -> ContactRecord {
    let ids = |list: &Value| list["data"].as_array().expect("data").iter().filter_map(|i| text(&i["id"])).collect();
    ContactRecord {
        id: text(&v["id"]).expect("id"),
        role: text(&v["role"]).expect("role"),
        external_id: text(&v["external_id"]),
        email: text(&v["email"]),
        name: text(&v["name"]),
        phone: text(&v["phone"]),
        owner_id: text(&v["owner_id"]),
        created_at: v["created_at"].as_i64().expect("created_at"),
        updated_at: v["updated_at"].as_i64().expect("updated_at"),
        signed_up_at: v["signed_up_at"].as_i64(),
        last_seen_at: v["last_seen_at"].as_i64(),
        last_replied_at: v["last_replied_at"].as_i64(),
        last_contacted_at: v["last_contacted_at"].as_i64(),
        country: text(&v["location"]["country"]),
        region: text(&v["location"]["region"]),
        city: text(&v["location"]["city"]),
        browser: text(&v["browser"]),
        os: text(&v["os"]),
        company_ids: ids(&v["companies"]),
        tag_ids: ids(&v["tags"]),
        custom_attributes: attributes(&v["custom_attributes"]),
    }
}

pub(super) fn company_record(v: &Value) -> CompanyRecord {
    CompanyRecord {
        id: text(&v["id"]).expect("id"),
        company_id: text(&v["company_id"]),
        name: text(&v["name"]).expect("name"),
        plan: text(&v["plan"]["name"]),
        size: v["size"].as_i64(),
        website: text(&v["website"]),
        industry: text(&v["industry"]),
        monthly_spend: v["monthly_spend"].as_f64(),
        user_count: v["user_count"].as_i64(),
        session_count: v["session_count"].as_i64(),
        created_at: v["created_at"].as_i64(),
        updated_at: v["updated_at"].as_i64(),
        remote_created_at: v["remote_created_at"].as_i64(),
        last_request_at: v["last_request_at"].as_i64(),
    }
}

//! The built-in analytics tools end to end: the built binary on the shared demo store over stdio, each answer
//! checked against the demo generator's conversations counted in plain Rust.

use std::collections::HashMap;

use fastintercom::demo;
use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::model::{ConversationRecord, ConversationState};
use serde_json::{Value, json};

use crate::support::{Backend, demo_options, demo_server_on};

const DAY: i64 = 86_400;

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The nearest-rank percentile of the values.
fn nearest_rank(values: &mut [i64], p: usize) -> Option<i64> {
    values.sort_unstable();
    (!values.is_empty()).then(|| values[(p * values.len()).div_ceil(100) - 1])
}

async fn call(client: &mut StdioClient, tool: &str, arguments: Value) -> Value {
    let answer = client.call_tool(tool, arguments.clone()).await.unwrap();
    assert_ne!(answer["isError"], true, "{tool} {arguments}: {answer}");
    let text: Value = serde_json::from_str(answer["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, answer["structuredContent"], "{tool}: the text block is the structured answer");
    answer["structuredContent"].clone()
}

async fn refused(client: &mut StdioClient, tool: &str, arguments: Value) -> String {
    let answer = client.call_tool(tool, arguments.clone()).await.unwrap();
    assert_eq!(answer["isError"], true, "{tool} {arguments}: {answer}");
    answer["content"][0]["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_analytics_tools_answer_what_the_generator_made() {
    let options = demo_options();
    let workspace = demo::generate(&options);
    let conversations: Vec<ConversationRecord> = workspace.conversations().collect();
    let now = options.now;
    let mut client = demo_server_on(Backend::Sqlite, Era::Legacy).await;

    // conversation_volume: every day of a four-week window, empty ones too, beside the four weeks before.
    let (after, before) = (now.div_euclid(DAY) * DAY - 27 * DAY, now.div_euclid(DAY) * DAY + DAY);
    let created_in =
        |a: i64, b: i64| conversations.iter().filter(|c| c.created_at >= a && c.created_at < b).count() as u64;
    let answer =
        call(&mut client, "conversation_volume", json!({"since": rfc3339(after), "until": rfc3339(before)})).await;
    let rows = answer["results"].as_array().unwrap();
    assert_eq!(rows.len(), 28, "{answer}");
    assert_eq!(answer["summary"]["total"], created_in(after, before));
    for (i, row) in rows.iter().enumerate() {
        let start = after + i as i64 * DAY;
        assert_eq!(row["period_start"], rfc3339(start));
        assert_eq!(row["conversations"], created_in(start, start + DAY), "{row}");
        assert_eq!(row["previous_period_start"], rfc3339(start - 28 * DAY));
        assert_eq!(row["previous_conversations"], created_in(start - 28 * DAY, start - 27 * DAY), "{row}");
    }
    assert_eq!(answer["metadata"]["filters"]["period"], "day");
    assert_eq!(answer["metadata"]["filters"]["previous_since"], rfc3339(after - 28 * DAY));

    // Broken down by team over all time, by month: each team's months add up to its conversations.
    let answer =
        call(&mut client, "conversation_volume", json!({"timeframe": "all_time", "period": "month", "by": "team"}))
            .await;
    assert_eq!(answer["summary"]["total"], conversations.len());
    let mut per_team: HashMap<String, u64> = HashMap::new();
    for row in answer["results"].as_array().unwrap() {
        assert!(row.get("previous_conversations").is_none(), "all of time has no window before: {row}");
        let team = row["team"]["id"].as_str().unwrap_or("none").to_owned();
        *per_team.entry(team).or_default() += row["conversations"].as_u64().unwrap();
    }
    for team in &workspace.teams {
        let expected =
            conversations.iter().filter(|c| c.team_assignee_id.as_deref() == Some(team.id.as_str())).count() as u64;
        assert_eq!(per_team.get(&team.id).copied().unwrap_or(0), expected, "{}", team.name);
    }

    // response_times: the overall row first, then teams; medians are nearest-rank over the replied ones.
    let answer = call(&mut client, "response_times", json!({"timeframe": "all_time", "by": "team", "limit": 50})).await;
    let rows = answer["results"].as_array().unwrap();
    assert_eq!(rows[0]["overall"], true);
    assert_eq!(rows[0]["conversations"], conversations.len());
    let mut replies: Vec<i64> = conversations.iter().filter_map(|c| c.statistics.time_to_admin_reply).collect();
    assert_eq!(rows[0]["first_response"]["conversations"], replies.len());
    assert_eq!(rows[0]["first_response"]["median_seconds"].as_i64(), nearest_rank(&mut replies, 50));
    assert_eq!(rows[0]["first_response"]["p90_seconds"].as_i64(), nearest_rank(&mut replies, 90));
    let team = &workspace.teams[0];
    let row = rows.iter().find(|r| r["team"]["id"] == team.id.as_str()).expect("the first team has a row");
    assert_eq!(row["team"]["name"], team.name.as_str());
    let mut closes: Vec<i64> = conversations
        .iter()
        .filter(|c| c.team_assignee_id.as_deref() == Some(team.id.as_str()))
        .filter_map(|c| c.statistics.time_to_first_close)
        .collect();
    assert_eq!(row["time_to_close"]["median_seconds"].as_i64(), nearest_rank(&mut closes, 50), "{row}");

    // The same, named by its team in lower case: one team's conversations only.
    let named = call(
        &mut client,
        "response_times",
        json!({"timeframe": "all_time", "team": team.name.to_ascii_lowercase(), "by": "admin"}),
    )
    .await;
    assert_eq!(named["results"][0]["conversations"], row["conversations"]);
    assert_eq!(named["metadata"]["filters"]["team"], team.id.as_str());

    // tag_trends: counts in the window and the one before, top first.
    let answer =
        call(&mut client, "tag_trends", json!({"since": rfc3339(after), "until": rfc3339(before), "limit": 200})).await;
    let tagged = |tag: &str, a: i64, b: i64| {
        conversations
            .iter()
            .filter(|c| c.created_at >= a && c.created_at < b && c.tag_ids.iter().any(|t| t == tag))
            .count() as u64
    };
    let rows = answer["results"].as_array().unwrap();
    assert!(!rows.is_empty());
    let mut last = u64::MAX;
    for row in rows {
        let id = row["tag"]["id"].as_str().unwrap();
        let count = row["conversations"].as_u64().unwrap();
        assert!(count <= last, "top first");
        last = count;
        assert_eq!(count, tagged(id, after, before), "{row}");
        assert_eq!(row["previous_conversations"], tagged(id, after - 28 * DAY, after), "{row}");
        assert_eq!(row["change"], count as i64 - row["previous_conversations"].as_i64().unwrap());
    }
    let rising =
        call(&mut client, "tag_trends", json!({"since": rfc3339(after), "until": rfc3339(before), "order": "rising"}))
            .await;
    let changes: Vec<i64> =
        rising["results"].as_array().unwrap().iter().map(|r| r["change"].as_i64().unwrap()).collect();
    assert!(changes.windows(2).all(|w| w[0] >= w[1]), "{changes:?}");

    // workload: open and snoozed per admin, the oldest wait.
    let answer = call(&mut client, "workload", json!({"limit": 500})).await;
    let queue: Vec<&ConversationRecord> = conversations
        .iter()
        .filter(|c| matches!(c.state, Some(ConversationState::Open | ConversationState::Snoozed)))
        .collect();
    assert_eq!(answer["summary"]["total"], queue.len());
    for row in answer["results"].as_array().unwrap() {
        let admin = row["admin"]["id"].as_str();
        let mine: Vec<&&ConversationRecord> =
            queue.iter().filter(|c| c.admin_assignee_id.as_deref() == admin).collect();
        let open = mine.iter().filter(|c| c.state == Some(ConversationState::Open)).count();
        assert_eq!(
            (row["open"].as_u64().unwrap() as usize, row["snoozed"].as_u64().unwrap() as usize),
            (open, mine.len() - open),
            "{row}"
        );
        let oldest = mine.iter().filter_map(|c| c.waiting_since).min();
        assert_eq!(row["oldest_waiting_since"].as_str().map(str::to_owned), oldest.map(rfc3339), "{row}");
    }

    // satisfaction: the overall row's ratings and the lowest-rated conversations with their remarks.
    let answer = call(&mut client, "satisfaction", json!({"timeframe": "all_time", "remarks": 5})).await;
    let overall = &answer["results"][0];
    let ratings: Vec<i64> = conversations.iter().filter_map(|c| c.rating.as_ref().and_then(|r| r.rating)).collect();
    assert_eq!(overall["rated"], ratings.len());
    let mean = ratings.iter().sum::<i64>() as f64 / ratings.len() as f64;
    assert!((overall["average"].as_f64().unwrap() - mean).abs() < 0.006, "{overall}");
    assert_eq!(overall["ratings"]["5"], ratings.iter().filter(|r| **r == 5).count());
    assert_eq!(overall["low_rated"], ratings.iter().filter(|r| **r <= 2).count());
    let low = overall["low_rated_conversations"].as_array().unwrap();
    assert_eq!(low.len(), 5);
    assert!(low.iter().all(|c| c["rating"].as_u64().unwrap() <= 2) && low[0]["rating"] == 1, "{low:?}");

    // search_conversations takes what analytics counts: ratings and timing figures, beside its filters.
    let slow_unhappy: Vec<&ConversationRecord> = conversations
        .iter()
        .filter(|c| c.rating.as_ref().and_then(|r| r.rating).is_some_and(|r| r <= 2))
        .filter(|c| c.statistics.time_to_admin_reply.is_some_and(|t| t >= 3600))
        .collect();
    let answer = call(
        &mut client,
        "search_conversations",
        json!({"rating": [2, 1], "first_response_slower_than": "1h", "limit": 1}),
    )
    .await;
    assert_eq!(answer["summary"]["total"], slow_unhappy.len(), "{answer}");
    assert_eq!(answer["metadata"]["filters"]["rating"], json!([1, 2]));
    assert_eq!(answer["metadata"]["filters"]["first_response_slower_than"], 3600);
    let closed_in = |a: i64, b: i64| {
        conversations.iter().filter(|c| c.statistics.last_close_at.is_some_and(|t| t >= a && t < b)).count()
    };
    let answer = call(
        &mut client,
        "search_conversations",
        json!({"closed_after": rfc3339(after), "closed_before": rfc3339(before), "limit": 1}),
    )
    .await;
    assert_eq!(answer["summary"]["total"], closed_in(after, before));
    let message = refused(&mut client, "search_conversations", json!({"first_response_faster_than": "a while"})).await;
    assert!(message.contains("`first_response_faster_than`") && message.contains("duration"), "{message}");
    let message = refused(&mut client, "search_conversations", json!({"rating": [6]})).await;
    assert!(message.contains("rating"), "{message}");

    // Bad input: a clear error that changes nothing.
    let message = refused(&mut client, "tag_trends", json!({"timeframe": "last_week"})).await;
    assert!(message.contains("last_7_days") && message.contains("all_time"), "{message}");
    let message =
        refused(&mut client, "conversation_volume", json!({"since": "2026-10-01", "until": "2026-09-01"})).await;
    assert!(message.contains("`since` must be before `until`"), "{message}");
    let message =
        refused(&mut client, "conversation_volume", json!({"period": "hour", "timeframe": "last_90_days"})).await;
    assert!(message.contains("at most 1000"), "{message}");
    let tag = workspace.tags.iter().max_by_key(|t| t.name.len()).unwrap();
    let mut misspelt = tag.name.clone();
    misspelt.remove(1);
    let message = refused(&mut client, "satisfaction", json!({"tags": [misspelt]})).await;
    assert!(
        message.contains("no tag is named") && message.contains(&format!("{:?} (id {})", tag.name, tag.id)),
        "{message}"
    );
    client.shutdown().await.unwrap();
}

//! Kept answers, end to end over stdio: the same call on unchanged data is answered again from memory and says so;
//! a write to the store by another process, a different argument or a tool whose answers are not kept is
//! computed afresh.

use std::time::{Duration, Instant};

use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::{Store, StoreOptions};
use serde_json::{Value, json};

use crate::http_support::private_demo_dir;
use crate::support::server_exe;

fn cache_hit(answer: &Value) -> Option<&Value> {
    answer["structuredContent"]["metadata"].get("cache_hit")
}

/// The answer's text block, parsed.
fn text_json(answer: &Value) -> Value {
    serde_json::from_str(answer["content"][0]["text"].as_str().expect("a text block")).expect("JSON text")
}

/// Calls `search_conversations` with `arguments` until the answer is a kept one, for at most 5 s; the last answer.
async fn answered_again(client: &mut StdioClient, arguments: &Value) -> Value {
    let started = Instant::now();
    loop {
        let answer = client.call_tool("search_conversations", arguments.clone()).await.unwrap();
        if cache_hit(&answer).is_some() || started.elapsed() > Duration::from_secs(5) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_call_on_unchanged_data_is_answered_again_until_the_data_changes() {
    let dir = private_demo_dir();
    let mut client = StdioClient::spawn(&server_exe(), dir.path(), &[], Era::Legacy).await.unwrap();
    client.open().await.unwrap();
    let search = json!({"query": "refund", "state": "open", "limit": 5});

    let first = client.call_tool("search_conversations", search.clone()).await.unwrap();
    assert_eq!(cache_hit(&first), None, "computed: {first}");
    // Answers are kept once the server has read the store's data generation (right after its first call).
    let reordered = json!({"limit": 5, "state": "open", "query": "refund"});
    let again = answered_again(&mut client, &reordered).await;
    assert_eq!(cache_hit(&again), Some(&json!(true)), "the same arguments in another order are the same call");
    assert_eq!(again["structuredContent"]["results"], first["structuredContent"]["results"]);
    assert_eq!(text_json(&again), again["structuredContent"], "the text block says the same, cache_hit included");

    let other = client.call_tool("search_conversations", json!({"query": "refund", "limit": 6})).await.unwrap();
    assert_eq!(cache_hit(&other), None, "other arguments are another call");

    // Another process writes to the store: the server sees it within a tenth of a second (it reads the store's
    // data generation that often), and computes the answer again on the new data.
    let store = Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await.unwrap();
    store.mark_synced("demo", 2_000_000_000).await.unwrap();
    store.close().await;
    let written = Instant::now();
    let after = loop {
        let answer = client.call_tool("search_conversations", search.clone()).await.unwrap();
        if cache_hit(&answer).is_none() || written.elapsed() > Duration::from_secs(5) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(cache_hit(&after), None, "computed again after the write: {after}");
    assert_eq!(after["structuredContent"]["metadata"]["data_as_of"], json!("2033-05-18T03:33:20Z"));
    let kept = answered_again(&mut client, &search).await;
    assert_eq!(cache_hit(&kept), Some(&json!(true)), "and kept again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_kept_answers_every_call_is_computed() {
    let dir = private_demo_dir();
    let mut client =
        StdioClient::spawn(&server_exe(), dir.path(), &["--no-answer-cache".as_ref()], Era::Legacy).await.unwrap();
    client.open().await.unwrap();
    // Long enough for a server that keeps answers to have kept this one (the generation read, the second sighting)
    // and served it (answered_again, above, waits the same way).
    for _ in 0..20 {
        let answer = client.call_tool("search_conversations", json!({"query": "refund", "limit": 2})).await.unwrap();
        assert_eq!(cache_hit(&answer), None, "{answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

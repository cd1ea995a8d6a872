//! Bad input over stdio: malformed JSON-RPC, unknown tools, schema violations and hostile strings in every text
//! argument. Each gets the right kind of error, and nothing in the store changes.

use fastintercom::protocol::stdio_client::Era;
use fastintercom::store::model::Counts;
use fastintercom::store::{Store, StoreOptions};
use serde_json::{Value, json};

use crate::support::{Backend, demo_data_dir, demo_postgres, demo_server, demo_server_on, on_both_backends};

/// Strings that would change a query if they reached SQL or FTS5 syntax unescaped, or a path if they reached
/// the file system.
const HOSTILE: &[&str] = &[
    "'; DROP TABLE conversations; --",
    "\" OR 1=1 --",
    "%' OR '1'='1",
    "1; DELETE FROM contacts",
    "NEAR(\"refund\" \"card\", 2) OR *",
    "subject:refund^ AND -body",
    "../../../../etc/passwd",
    "\u{0}\u{1}\u{7f}",
    "\u{202e}ʇuǝɯʎɐd 💳",
    "%_\\",
];

/// What a hostile answer must never contain: internals of the host.
fn assert_no_internals(text: &str) {
    let lower = text.to_lowercase();
    for leak in ["sqlite", "postgres", "syntax error", "select ", "/work/", "/tmp/", "panicked at", "stack backtrace"] {
        assert!(!lower.contains(leak), "an answer leaked {leak:?}: {text}");
    }
}

async fn store_fingerprint(backend: Backend) -> Counts {
    let store = match backend {
        Backend::Sqlite => {
            Store::open(&demo_data_dir().join("workspace.sqlite3"), StoreOptions { readers: 1 }).await.unwrap()
        }
        Backend::Postgres => demo_postgres().open().await,
    };
    let counts = store.counts().await.unwrap();
    store.close().await;
    counts
}

fn text_of(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn malformed_json_rpc_gets_protocol_errors_and_the_server_keeps_serving() {
    let mut client = demo_server(Era::Legacy).await;
    // Not JSON at all: rmcp drops such lines without a reply (answering garbage invites error storms) and reads on.
    client.send_line("{this is not json").await.unwrap();
    // JSON, but not a JSON-RPC message: "Invalid Request".
    client.send_line(r#"{"hello": "world"}"#).await.unwrap();
    let invalid = client.next_message().await.unwrap();
    assert_eq!(invalid["error"]["code"], -32600, "{invalid}");
    // An unknown method: "Method not found".
    let unknown = client.request_raw("tools/explode", json!({})).await.unwrap();
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // tools/call without a tool name: "Invalid params".
    let nameless = client.request_raw("tools/call", json!({"arguments": {}})).await.unwrap();
    assert_eq!(nameless["error"]["code"], -32602, "{nameless}");
    // And the session still works.
    let tools = client.request("tools/list", json!({})).await.unwrap();
    assert!(!tools["tools"].as_array().unwrap().is_empty());
    assert!(client.shutdown().await.unwrap(), "the server exits cleanly when its input closes");
}

#[tokio::test]
async fn an_unknown_tool_is_a_json_rpc_error() {
    let mut client = demo_server(Era::Modern).await;
    let response = client.request_raw("tools/call", json!({"name": "drop_everything", "arguments": {}})).await.unwrap();
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("drop_everything"), "{response}");
    let long = "x".repeat(100_000);
    let response = client.request_raw("tools/call", json!({"name": long, "arguments": {}})).await.unwrap();
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(response["error"]["message"].as_str().unwrap().len() < 300, "a long name is not echoed whole");
}

#[tokio::test]
async fn schema_violations_are_tool_errors_the_model_can_fix() {
    let mut client = demo_server(Era::Legacy).await;
    let cases = [
        ("search_conversations", json!({"limit": "ten"}), "/limit"),
        ("search_conversations", json!({"limit": 5000}), "/limit"),
        ("search_conversations", json!({"limit": 0}), "/limit"),
        ("search_conversations", json!({"state": "pending"}), "/state"),
        ("search_conversations", json!({"sort": "random"}), "/sort"),
        ("search_conversations", json!({"timeframe": "last_century"}), "/timeframe"),
        // An enum's error lists every accepted value, not two of them and a count.
        (
            "search_conversations",
            json!({"timeframe": "last_century"}),
            r#""today", "yesterday", "last_7_days", "last_30_days", "last_90_days""#,
        ),
        ("search_conversations", json!({"detail": "brief"}), r#""compact", "full""#),
        ("get_conversation", json!({"id": "1", "detail": "brief"}), "/detail"),
        ("get_conversation", json!({"id": "1", "max_parts": 0}), "/max_parts"),
        ("search_conversations", json!({"tags": "billing"}), "/tags"),
        ("search_conversations", json!({"colour": "red"}), "colour"),
        ("get_conversation", json!({}), "id"),
        ("get_conversation", json!({"id": 42}), "/id"),
        ("search_contacts", json!({"limit": -1}), "/limit"),
        ("get_contact", json!({"id": null}), "/id"),
    ];
    for (tool, arguments, mentions) in cases {
        let result = client.call_tool(tool, arguments.clone()).await.unwrap();
        assert_eq!(result["isError"], true, "{tool} {arguments} must fail: {result}");
        let message = text_of(&result);
        assert!(message.contains("invalid arguments"), "{tool} {arguments}: {message}");
        assert!(message.contains(mentions), "{tool} {arguments}: the message should point at {mentions}: {message}");
        assert_no_internals(&message);
    }
}

async fn hostile_strings_in_every_text_argument_change_nothing(backend: Backend) {
    let before = store_fingerprint(backend).await;
    let mut client = demo_server_on(backend, Era::Legacy).await;
    let mut unfiltered = std::collections::HashMap::new();
    for tool in ["search_conversations", "search_contacts"] {
        let all = client.call_tool(tool, json!({"limit": 1})).await.unwrap();
        unfiltered.insert(tool, all["structuredContent"]["summary"]["total"].as_u64().unwrap());
    }
    for hostile in HOSTILE {
        let calls = [
            ("search_conversations", json!({"query": hostile})),
            ("search_conversations", json!({"tags": [hostile]})),
            ("search_conversations", json!({"contact_id": hostile})),
            ("search_conversations", json!({"admin_assignee_id": hostile})),
            ("search_conversations", json!({"team_assignee_id": hostile})),
            ("search_conversations", json!({"created_after": hostile})),
            ("search_conversations", json!({"cursor": hostile})),
            ("get_conversation", json!({"id": hostile})),
            ("search_contacts", json!({"query": hostile})),
            ("search_contacts", json!({"email": hostile})),
            ("search_contacts", json!({"company": hostile})),
            ("search_contacts", json!({"cursor": hostile})),
            ("get_contact", json!({"id": hostile})),
        ];
        for (tool, arguments) in calls {
            let result =
                client.call_tool(tool, arguments.clone()).await.unwrap_or_else(|e| panic!("{tool} {arguments}: {e}"));
            let text = text_of(&result);
            assert_no_internals(&text);
            if result["isError"] == true {
                assert!(
                    ["invalid arguments", "not found"].iter().any(|kind| text.contains(kind)),
                    "{tool} {arguments}: an unexpected kind of error: {text}"
                );
            } else {
                // A search that ran treats the string as plain data: no match can come from SQL or FTS syntax
                // (an injected `OR 1=1` would match everything).
                if let Some(all) = unfiltered.get(tool) {
                    let total = result["structuredContent"]["summary"]["total"].as_u64().expect("a total");
                    assert!(total < *all, "{tool} {arguments} matched everything");
                }
            }
        }
    }
    let huge = "x".repeat(100_000);
    let result = client.call_tool("search_conversations", json!({"query": huge})).await.unwrap();
    assert_no_internals(&text_of(&result));
    assert!(client.shutdown().await.unwrap());
    assert_eq!(store_fingerprint(backend).await, before, "the store must not change");
}

on_both_backends!(hostile_strings_in_every_text_argument_change_nothing);

//! The tools Intercom's own MCP server has and fastintercom had not: `search` / `fetch` (typed ids, the pair
//! ChatGPT-style connectors call) and `search_companies` / `get_company`, end to end over stdio on the shared
//! demo store, checked against the demo generator.

use fastintercom::demo;
use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::model::{ConversationRecord, ConversationState};
use serde_json::{Value, json};

use crate::support::{Backend, demo_options, demo_server_on};

async fn structured(client: &mut StdioClient, tool: &str, arguments: Value) -> Value {
    let answer = client.call_tool(tool, arguments.clone()).await.unwrap();
    assert_ne!(answer["isError"], true, "{tool} {arguments}: {answer}");
    let text: Value = serde_json::from_str(answer["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, answer["structuredContent"], "{tool}: the text block is the structured answer");
    text
}

async fn error_text(client: &mut StdioClient, tool: &str, arguments: Value) -> String {
    let answer = client.call_tool(tool, arguments.clone()).await.unwrap();
    assert_eq!(answer["isError"], true, "{tool} {arguments}: {answer}");
    answer["content"][0]["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn search_and_fetch_round_trip_every_type_and_companies_are_found_and_counted() {
    let workspace = demo::generate(&demo_options());
    let conversations: Vec<ConversationRecord> = workspace.conversations().collect();
    let mut client = demo_server_on(Backend::Sqlite, Era::Legacy).await;

    // A company by a piece of its name: search_companies finds it (with its contact count); get_company by name
    // and by id gives its conversations by state and its people.
    let company = workspace
        .companies
        .iter()
        .find(|c| conversations.iter().filter(|x| x.company_id.as_deref() == Some(c.id.as_str())).count() >= 2)
        .expect("a company with conversations");
    let people: Vec<&str> =
        workspace.contacts.iter().filter(|p| p.company_ids.contains(&company.id)).map(|p| p.id.as_str()).collect();
    let word = company.name.split_whitespace().next().unwrap().to_ascii_lowercase();
    let found = structured(&mut client, "search_companies", json!({"query": word, "limit": 1000})).await;
    let expected = workspace.companies.iter().filter(|c| c.name.to_ascii_lowercase().contains(&word)).count();
    assert_eq!(found["summary"]["total"], expected, "{found}");
    let row = found["results"].as_array().unwrap().iter().find(|r| r["id"] == company.id.as_str()).expect("found");
    assert_eq!(row["name"], company.name.as_str());
    assert_eq!(row["contacts"], people.len());
    let every = structured(&mut client, "search_companies", json!({})).await;
    assert_eq!(every["summary"]["total"], workspace.companies.len());

    let theirs: Vec<&ConversationRecord> =
        conversations.iter().filter(|c| c.company_id.as_deref() == Some(company.id.as_str())).collect();
    let in_state = |state| theirs.iter().filter(|c| c.state == Some(state)).count();
    for given in [company.id.clone(), company.name.to_ascii_uppercase()] {
        let answer = structured(&mut client, "get_company", json!({"id": given})).await;
        let detail = &answer["results"][0];
        assert_eq!(detail["id"], company.id.as_str(), "{given}");
        assert_eq!(detail["conversations"]["total"], theirs.len());
        assert_eq!(detail["conversations"]["open"], in_state(ConversationState::Open));
        assert_eq!(detail["conversations"]["closed"], in_state(ConversationState::Closed));
        let listed: Vec<&str> =
            detail["people"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(listed.len(), people.len().min(20));
        assert!(listed.iter().all(|id| people.contains(id)), "{listed:?}");
    }
    let message = error_text(&mut client, "get_company", json!({"id": "Nonexistent Widgets Ltd"})).await;
    assert!(message.contains("no company is named"), "{message}");

    // search: conversations, contacts and companies under typed ids; each fetches back as a document.
    let marked = conversations.iter().find(|c| c.title.is_some()).expect("a titled conversation");
    let answer = structured(&mut client, "search", json!({"query": word})).await;
    let results = answer["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["id"] == format!("company:{}", company.id)), "{answer}");
    for kind in ["conversation", "contact", "company"] {
        let pick = match kind {
            "conversation" => format!("conversation:{}", marked.id),
            "contact" => format!("contact:{}", people[0]),
            _ => format!("company:{}", company.id),
        };
        let document = structured(&mut client, "fetch", json!({"id": pick})).await;
        assert_eq!(document["id"], pick.as_str());
        assert_eq!(document["metadata"]["type"], kind);
        assert!(document["url"].as_str().unwrap().starts_with("intercom://"), "{document}");
        assert!(!document["title"].as_str().unwrap().is_empty() && !document["text"].as_str().unwrap().is_empty());
    }
    let document = structured(&mut client, "fetch", json!({"id": format!("conversation:{}", marked.id)})).await;
    assert_eq!(document["title"], marked.title.as_deref().unwrap());
    assert_eq!(document["metadata"]["parts"], marked.parts.len(), "every part is in the text");
    let first_words: String = fastintercom::store::html_to_text(&marked.source.body_html).chars().take(40).collect();
    assert!(document["text"].as_str().unwrap().contains(first_words.trim()), "{document}");
    // Every search hit fetches.
    for hit in results {
        let document = structured(&mut client, "fetch", json!({"id": hit["id"]})).await;
        assert_eq!(document["title"], hit["title"], "{hit}");
    }

    // Ids without a type, of an unknown type or of nothing: clear errors.
    let message = error_text(&mut client, "fetch", json!({"id": marked.id})).await;
    assert!(message.contains("has no type"), "{message}");
    let message = error_text(&mut client, "fetch", json!({"id": "ticket:1"})).await;
    assert!(message.contains("unknown type \"ticket\""), "{message}");
    let message = error_text(&mut client, "fetch", json!({"id": "conversation:999999999999"})).await;
    assert!(message.contains("no conversation has the id"), "{message}");
    let message = error_text(&mut client, "search", json!({"query": "?!"})).await;
    assert!(message.contains("no searchable words"), "{message}");
    client.shutdown().await.unwrap();
}

//! End to end: the built binary on a demo store, driven over stdio in both protocol eras. Expected answers come
//! from regenerating the same deterministic workspace in memory and filtering it with plain Rust.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use fastintercom::demo::{self, DemoWorkspace};
use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom::store::html_to_text;
use fastintercom::store::model::{ConversationRecord, ConversationState, Priority};
use serde_json::{Value, json};

use crate::support::{Backend, DEMO_CONVERSATIONS, demo_options, demo_server_on, on_both_backends};

/// The demo workspace regenerated in memory: the oracle.
struct Oracle {
    workspace: DemoWorkspace,
    conversations: Vec<ConversationRecord>,
    tag_names: HashMap<String, String>,
}

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let workspace = demo::generate(&demo_options());
        let conversations: Vec<ConversationRecord> = workspace.conversations().collect();
        let tag_names = workspace.tags.iter().map(|tag| (tag.id.clone(), tag.name.clone())).collect();
        Oracle { workspace, conversations, tag_names }
    })
}

impl Oracle {
    fn ids_where(&self, keep: impl Fn(&ConversationRecord) -> bool) -> BTreeSet<String> {
        self.conversations.iter().filter(|c| keep(c)).map(|c| c.id.clone()).collect()
    }
}

/// Every id a search returns, following cursors to the end; checks the total on every page.
async fn all_ids(client: &mut StdioClient, mut arguments: Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut pages = 0;
    loop {
        let result = client.call_tool("search_conversations", arguments.clone()).await.expect("search runs");
        assert_ne!(result["isError"], true, "{arguments}: {result}");
        let answer = &result["structuredContent"];
        for item in answer["results"].as_array().expect("results") {
            assert!(ids.insert(item["id"].as_str().unwrap().to_owned()), "{arguments}: an id came back twice");
        }
        pages += 1;
        assert!(pages < 1000, "pagination does not end");
        match answer["pagination"]["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(answer["pagination"]["has_more"], true);
                arguments["cursor"] = json!(cursor);
            }
            None => {
                assert_eq!(answer["pagination"]["has_more"], false);
                assert_eq!(answer["summary"]["total"].as_u64().unwrap() as usize, ids.len(), "{arguments}: total");
                return ids;
            }
        }
    }
}

async fn both_eras_list_the_built_in_tools_sorted_with_schemas(backend: Backend) {
    for era in [Era::Legacy, Era::Modern] {
        let mut client = demo_server_on(backend, era).await;
        let listed = client.request("tools/list", json!({})).await.expect("tools/list");
        let tools = listed["tools"].as_array().expect("tools");
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, crate::support::BUILTIN_TOOLS, "{era:?}");
        for tool in tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
            assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
            assert!(tool["description"].as_str().unwrap().len() > 40, "{tool}");
        }
        // Every built-in tool answers in this era, and the answer matches the oracle.
        let oracle = oracle();
        let answer = client.call_tool("search_conversations", json!({"limit": 1})).await.expect("call");
        assert_eq!(answer["structuredContent"]["summary"]["total"], DEMO_CONVERSATIONS, "{era:?}: {answer}");
        let first = &oracle.conversations[3];
        let answer = client.call_tool("get_conversation", json!({"id": first.id})).await.expect("call");
        assert_eq!(
            answer["structuredContent"]["results"][0]["parts"].as_array().map(Vec::len),
            Some(first.parts.len())
        );
        let answer = client.call_tool("search_contacts", json!({"limit": 1})).await.expect("call");
        assert_eq!(answer["structuredContent"]["summary"]["total"], oracle.workspace.contacts.len(), "{era:?}");
        let contact = &oracle.workspace.contacts[5];
        let answer = client.call_tool("get_contact", json!({"id": contact.id})).await.expect("call");
        assert_eq!(answer["structuredContent"]["results"][0]["id"], contact.id.as_str(), "{era:?}");
        // A demo workspace was never synced: every resource says so, and the metadata names the demo.
        let answer = client.call_tool("get_sync_status", json!({})).await.expect("call");
        let status = &answer["structuredContent"];
        assert_eq!(status["metadata"]["source"], "demo", "{era:?}");
        assert_eq!(status["results"].as_array().map(Vec::len), Some(7), "{era:?}: {status}");
        assert!(status["results"].as_array().unwrap().iter().all(|r| r["last_success_at"].is_null()), "{status}");
        assert!(client.shutdown().await.unwrap());
    }
}

async fn answers_share_one_envelope_with_text_equal_to_structured_content(backend: Backend) {
    let mut client = demo_server_on(backend, Era::Legacy).await;
    let result = client.call_tool("search_conversations", json!({"state": "open", "limit": 3})).await.unwrap();
    let structured = &result["structuredContent"];
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).expect("text is JSON");
    assert_eq!(&text, structured, "the text content is the same JSON");
    assert_eq!(structured["summary"]["returned"], 3);
    assert!(structured["summary"]["query_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(structured["metadata"]["source"], "demo");
    assert_eq!(structured["metadata"]["data_as_of"], "2026-09-21T14:13:20Z", "the demo's anchor time, RFC 3339");
    assert_eq!(structured["metadata"]["filters"]["state"], "open");
}

async fn full_text_search_finds_exactly_the_planted_conversations(backend: Backend) {
    let oracle = oracle();
    let mut client = demo_server_on(backend, Era::Modern).await;
    let expected = oracle.ids_where(|c| {
        html_to_text(&c.source.body_html).contains(demo::MARKER_WORD)
            || c.parts.iter().any(|p| p.body_html.as_deref().is_some_and(|b| b.contains(demo::MARKER_WORD)))
    });
    assert!(expected.len() >= 2, "the demo plants the marker in several conversations");
    assert_eq!(all_ids(&mut client, json!({"query": demo::MARKER_WORD, "limit": 2})).await, expected);
    // Ranked results carry a score, best first.
    let ranked = client.call_tool("search_conversations", json!({"query": "refund", "limit": 20})).await.unwrap();
    let scores: Vec<f64> = ranked["structuredContent"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 20);
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

async fn filters_return_the_counts_the_data_implies(backend: Backend) {
    let oracle = oracle();
    let mut client = demo_server_on(backend, Era::Legacy).await;
    let sample = &oracle.conversations[17];
    let contact = sample.contact_ids[0].clone();
    let some_admin = oracle.conversations.iter().find_map(|c| c.admin_assignee_id.clone()).unwrap();
    let some_team = oracle.conversations.iter().find_map(|c| c.team_assignee_id.clone()).unwrap();
    // A tag some conversation carries (the demo has tags no conversation carries; taking the first of a HashMap
    // picked one of those on some runs).
    let tag_id = oracle.conversations.iter().find_map(|c| c.tag_ids.first().cloned()).unwrap();
    let tag_name = oracle.tag_names[&tag_id].clone();
    let cutoff = oracle.conversations[DEMO_CONVERSATIONS / 2].created_at;

    let cases: Vec<(Value, BTreeSet<String>)> = vec![
        (json!({"state": "open"}), oracle.ids_where(|c| c.state == Some(ConversationState::Open))),
        (json!({"state": "snoozed"}), oracle.ids_where(|c| c.state == Some(ConversationState::Snoozed))),
        (json!({"contact_id": contact}), oracle.ids_where(|c| c.contact_ids.contains(&contact))),
        (
            json!({"admin_assignee_id": some_admin}),
            oracle.ids_where(|c| c.admin_assignee_id.as_ref() == Some(&some_admin)),
        ),
        (json!({"team_assignee_id": some_team}), oracle.ids_where(|c| c.team_assignee_id.as_ref() == Some(&some_team))),
        (json!({"tags": [tag_name.to_uppercase()]}), oracle.ids_where(|c| c.tag_ids.contains(&tag_id))),
        (json!({"priority": "urgent"}), oracle.ids_where(|c| c.priority == Some(Priority::Urgent))),
        (json!({"priority": true}), oracle.ids_where(|c| c.priority.is_some_and(|p| p != Priority::None))),
        (json!({"created_after": cutoff}), oracle.ids_where(|c| c.created_at >= cutoff)),
        (
            json!({"created_before": fastintercom_time(cutoff), "state": "closed"}),
            oracle.ids_where(|c| c.created_at < cutoff && c.state == Some(ConversationState::Closed)),
        ),
        (json!({"updated_after": cutoff}), oracle.ids_where(|c| c.updated_at >= cutoff)),
        // The last 90 UTC days up to the end of today, relative to the real clock (the demo is anchored in the
        // past, so this covers only the newest part of it).
        (json!({"timeframe": "last_90_days"}), {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let tomorrow = (now.div_euclid(86_400) + 1) * 86_400;
            let after = tomorrow - 90 * 86_400;
            oracle.ids_where(|c| c.created_at >= after && c.created_at < tomorrow)
        }),
    ];
    for (arguments, expected) in cases {
        assert!(!expected.is_empty(), "{arguments}: the oracle expects hits");
        let mut paged = arguments.clone();
        paged["limit"] = json!(500);
        assert_eq!(all_ids(&mut client, paged).await, expected, "{arguments}");
    }
}

/// RFC 3339 text for unix seconds, to exercise the ISO 8601 form of time arguments.
fn fastintercom_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

async fn get_conversation_returns_the_whole_thread_as_plain_text(backend: Backend) {
    let oracle = oracle();
    let mut client = demo_server_on(backend, Era::Modern).await;
    let longest = oracle.conversations.iter().max_by_key(|c| c.parts.len()).unwrap();
    for expected in [&oracle.conversations[0], longest] {
        let result = client.call_tool("get_conversation", json!({"id": expected.id})).await.unwrap();
        assert_ne!(result["isError"], true, "{result}");
        let conversation = &result["structuredContent"]["results"][0];
        assert_eq!(conversation["id"], expected.id.as_str());
        assert_eq!(conversation["source_body"], html_to_text(&expected.source.body_html));
        let parts = conversation["parts"].as_array().unwrap();
        assert_eq!(parts.len(), expected.parts.len(), "every part");
        let mut expected_parts = expected.parts.clone();
        expected_parts.sort_by_key(|p| (p.created_at, p.id.len(), p.id.clone()));
        for (part, want) in parts.iter().zip(&expected_parts) {
            assert_eq!(part["id"], want.id.as_str());
            let body = want.body_html.as_deref().map(html_to_text).filter(|b| !b.is_empty());
            assert_eq!(part["body"].as_str(), body.as_deref(), "part {} as plain text", want.id);
        }
    }
    let missing = client.call_tool("get_conversation", json!({"id": "999999999"})).await.unwrap();
    assert_eq!(missing["isError"], true);
    assert!(missing["content"][0]["text"].as_str().unwrap().contains("search_conversations"), "{missing}");
}

async fn contacts_are_found_by_email_name_and_company(backend: Backend) {
    let oracle = oracle();
    let mut client = demo_server_on(backend, Era::Legacy).await;
    let contact = oracle.workspace.contacts.iter().find(|c| c.email.is_some() && !c.company_ids.is_empty()).unwrap();
    let email = contact.email.clone().unwrap();

    let by_email = client.call_tool("search_contacts", json!({"email": email.to_uppercase()})).await.unwrap();
    let results = by_email["structuredContent"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{by_email}");
    assert_eq!(results[0]["id"], contact.id.as_str());

    let company_id = &contact.company_ids[0];
    let company = oracle.workspace.companies.iter().find(|c| &c.id == company_id).unwrap();
    let expected = oracle.workspace.contacts.iter().filter(|c| c.company_ids.contains(company_id)).count();
    let by_company = client.call_tool("search_contacts", json!({"company": company.id, "limit": 1000})).await.unwrap();
    assert_eq!(by_company["structuredContent"]["summary"]["total"], expected, "{by_company}");

    let name = contact.name.clone().unwrap();
    let first_word = name.split_whitespace().next().unwrap();
    let by_name = client.call_tool("search_contacts", json!({"query": first_word, "limit": 1000})).await.unwrap();
    let ids: Vec<&str> =
        by_name["structuredContent"]["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&contact.id.as_str()), "{first_word}: {ids:?}");

    let got = client.call_tool("get_contact", json!({"id": contact.id})).await.unwrap();
    let got = &got["structuredContent"]["results"][0];
    assert_eq!(got["email"], email.as_str());
    assert_eq!(got["companies"][0]["id"], company_id.as_str());
}

#[tokio::test]
async fn a_stdio_server_stops_on_sigterm_while_its_client_keeps_the_pipe_open() {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let mut child = tokio::process::Command::new(crate::support::server_exe())
        .arg("serve")
        .arg("--data-dir")
        .arg(crate::support::demo_data_dir())
        .env_remove("INTERCOM_ACCESS_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
        "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    stdin.write_all(format!("{initialize}\n").as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(60), stdout.next_line()).await.unwrap();
    assert!(answer.unwrap().unwrap().contains("\"id\":1"));
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exited = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await;
    assert!(exited.is_ok(), "the server did not exit within 10 s of SIGTERM");
    drop(stdin);
}

/// The built-in search uses `conversations@0.3.0`: a word in nearly every conversation gets a total that says it
/// is an estimate when combined with a filter, and a relevance order that says it ranked none; a rare word keeps
/// an exact total and every match ranked (neither key appears). (SQLite counts a common word alone exactly up to
/// 10,000 matches; PostgreSQL, whose counts read every match's row, estimates past 2,000.)
async fn a_word_in_nearly_every_conversation_gets_a_marked_estimate_and_no_ranking(backend: Backend) {
    let oracle = oracle();
    let mut client = demo_server_on(backend, Era::Modern).await;
    let estimated =
        client.call_tool("search_conversations", json!({"query": "the", "state": "closed", "limit": 5})).await.unwrap();
    let summary = &estimated["structuredContent"]["summary"];
    assert_eq!(summary["total_is_estimate"], true, "{summary}");
    let closed = oracle.ids_where(|c| c.state == Some(ConversationState::Closed)).len() as f64;
    let total = summary["total"].as_f64().unwrap();
    assert!(total <= closed && total > closed / 2.0, "{total} of {closed} closed conversations");

    // A word in most conversations is not ranked (bm25 gives it no weight): newest first, and the answer says so.
    let unranked = client.call_tool("search_conversations", json!({"query": "the", "limit": 5})).await.unwrap();
    let summary = &unranked["structuredContent"]["summary"];
    assert_eq!(summary["ranked"], 0, "{summary}");
    match backend {
        Backend::Sqlite => {
            assert!(summary.get("total_is_estimate").is_none(), "counted exactly below the cap: {summary}")
        }
        Backend::Postgres => assert_eq!(summary["total_is_estimate"], true, "{summary}"),
    }
    let total = summary["total"].as_f64().unwrap();
    let all = DEMO_CONVERSATIONS as f64;
    assert!(total <= all && total > all / 2.0, "{total} of {all} conversations hold \"the\"");
    let results = unranked["structuredContent"]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| !r["score"].is_number()), "{unranked}");
    let created: Vec<&str> = results.iter().map(|r| r["created_at"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");

    let exact =
        client.call_tool("search_conversations", json!({"query": demo::MARKER_WORD, "state": "closed"})).await.unwrap();
    let summary = &exact["structuredContent"]["summary"];
    assert!(summary.get("total_is_estimate").is_none() && summary.get("ranked").is_none(), "{summary}");
    client.shutdown().await.unwrap();
}

/// Searches answer compactly unless asked for every field; gets answer in full unless asked to be compact, and a
/// long thread can be read head and tail with the middle marked.
#[tokio::test]
async fn searches_are_compact_by_default_and_every_field_is_one_argument_away() {
    let oracle = oracle();
    let mut client = demo_server_on(Backend::Sqlite, Era::Modern).await;
    let search = |detail: Option<&str>| {
        let mut arguments = json!({"state": "open", "limit": 50});
        if let Some(detail) = detail {
            arguments["detail"] = json!(detail);
        }
        arguments
    };
    let compact = client.call_tool("search_conversations", search(None)).await.unwrap();
    let full = client.call_tool("search_conversations", search(Some("full"))).await.unwrap();
    let ids = |answer: &Value| -> Vec<String> {
        let results = answer["structuredContent"]["results"].as_array().unwrap();
        results.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&compact), ids(&full), "the same conversations in the same order");
    assert_eq!(ids(&compact).len(), 50);
    assert_eq!(compact["structuredContent"]["metadata"]["filters"]["detail"], "compact");
    let size = |answer: &Value| answer["content"][0]["text"].as_str().unwrap().len();
    assert!(size(&compact) * 2 < size(&full), "compact {} bytes against full {}", size(&compact), size(&full));
    for (short, long) in compact["structuredContent"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(full["structuredContent"]["results"].as_array().unwrap())
    {
        for key in ["contact_ids", "statistics", "open", "read", "source_type", "subject"] {
            assert!(short.get(key).is_none(), "compact leaves out {key}: {short}");
            assert!(long.get(key).is_some(), "full has {key}: {long}");
        }
        for (key, value) in short.as_object().unwrap() {
            assert!(!value.is_null() && value.as_array().is_none_or(|items| !items.is_empty()), "{key} in {short}");
        }
        for key in ["id", "state", "created_at", "updated_at", "waiting_since", "admin_assignee_id", "tags", "rating"] {
            if !long[key].is_null() && long[key].as_array().is_none_or(|items| !items.is_empty()) {
                assert_eq!(short[key], long[key], "{key}");
            }
        }
        let preview = short["preview"].as_str().unwrap();
        assert!(preview.chars().count() <= 141, "{preview}");
        assert!(long["preview"].as_str().unwrap().starts_with(preview.trim_end_matches('…')));
        assert_eq!(short["author"]["name"], long["author"]["name"]);
    }

    // A get is whole by default; max_parts keeps the head and the tail and says what it left out.
    let longest = oracle.conversations.iter().max_by_key(|c| c.parts.len()).unwrap();
    let parts_of = |answer: &Value| answer["structuredContent"]["results"][0]["parts"].as_array().unwrap().clone();
    let whole = client.call_tool("get_conversation", json!({"id": longest.id})).await.unwrap();
    let all_parts = parts_of(&whole);
    assert_eq!(all_parts.len(), longest.parts.len());
    assert!(all_parts.len() > 4, "the demo's longest thread has {} parts", all_parts.len());
    let head_and_tail = client.call_tool("get_conversation", json!({"id": longest.id, "max_parts": 4})).await.unwrap();
    let kept = parts_of(&head_and_tail);
    let kept_ids: Vec<&Value> = kept.iter().map(|p| &p["id"]).collect();
    let n = all_parts.len();
    let expected: Vec<&Value> = [0, 1, n - 2, n - 1].iter().map(|&i| &all_parts[i]["id"]).collect();
    assert_eq!(kept_ids, expected);
    assert_eq!(
        head_and_tail["structuredContent"]["results"][0]["parts_elided"],
        json!({"count": n - 4, "after": 2}),
        "{head_and_tail}"
    );
    let compact_get =
        client.call_tool("get_conversation", json!({"id": longest.id, "detail": "compact"})).await.unwrap();
    let compact_parts = parts_of(&compact_get);
    assert_eq!(compact_parts.len(), n.min(40));
    assert!(compact_parts.iter().all(|p| p.get("id").is_none() && p["created_at"].is_string()), "{compact_get}");
    for bad in [json!({"id": longest.id, "max_parts": 0}), json!({"id": longest.id, "detail": "everything"})] {
        let refused = client.call_tool("get_conversation", bad.clone()).await.unwrap();
        assert_eq!(refused["isError"], true, "{bad}: {refused}");
    }

    // Contacts too: compact leaves out what is empty.
    let contacts = client.call_tool("search_contacts", json!({"limit": 50})).await.unwrap();
    for contact in contacts["structuredContent"]["results"].as_array().unwrap() {
        assert!(contact.as_object().unwrap().values().all(|v| !v.is_null()), "{contact}");
        assert!(contact.get("external_id").is_none());
    }
    let id = contacts["structuredContent"]["results"][0]["id"].clone();
    let full_contact = client.call_tool("get_contact", json!({"id": id})).await.unwrap();
    let full_contact = &full_contact["structuredContent"]["results"][0];
    for key in ["name", "email", "phone", "external_id", "last_seen_at", "country", "city", "companies", "tags"] {
        assert!(full_contact.get(key).is_some(), "a full contact has {key}: {full_contact}");
    }
    client.shutdown().await.unwrap();
}

/// A team or an admin can be given by name, in any case or by a unique part; a misspelt name (or tag) is an error
/// that names the close matches (contract 0.4.0's `directory`, from the built-in search).
#[tokio::test]
async fn teams_and_admins_can_be_named_and_a_misspelt_name_lists_the_close_ones() {
    let oracle = oracle();
    let mut client = demo_server_on(Backend::Sqlite, Era::Legacy).await;
    let total = |answer: &Value| answer["structuredContent"]["summary"]["total"].as_u64().unwrap();
    let workspace = &oracle.workspace;
    let team = workspace
        .teams
        .iter()
        .find(|t| oracle.conversations.iter().any(|c| c.team_assignee_id.as_deref() == Some(t.id.as_str())))
        .unwrap();
    let expected = oracle.ids_where(|c| c.team_assignee_id.as_deref() == Some(team.id.as_str())).len() as u64;
    for given in [team.id.clone(), team.name.to_ascii_uppercase(), format!(" {} ", team.name.to_ascii_lowercase())] {
        let answer =
            client.call_tool("search_conversations", json!({"team_assignee_id": given, "limit": 1})).await.unwrap();
        assert_ne!(answer["isError"], true, "{given:?}: {answer}");
        assert_eq!(total(&answer), expected, "{given:?}");
        assert_eq!(answer["structuredContent"]["metadata"]["filters"]["team_assignee_id"], team.id.as_str());
    }

    // An admin by full name, when no other admin shares it.
    let admin = workspace
        .admins
        .iter()
        .filter(|a| a.name.is_some())
        .find(|a| {
            let name = a.name.as_deref().unwrap().to_ascii_lowercase();
            workspace
                .admins
                .iter()
                .filter(|o| o.name.as_deref().is_some_and(|n| n.to_ascii_lowercase().contains(&name)))
                .count()
                == 1
                && oracle.conversations.iter().any(|c| c.admin_assignee_id.as_deref() == Some(a.id.as_str()))
        })
        .unwrap();
    let expected = oracle.ids_where(|c| c.admin_assignee_id.as_deref() == Some(admin.id.as_str())).len() as u64;
    let by_name = client
        .call_tool("search_conversations", json!({"admin_assignee_id": admin.name.as_deref().unwrap(), "limit": 1}))
        .await
        .unwrap();
    assert_eq!(total(&by_name), expected, "{by_name}");

    // One letter dropped: no such team, and the error names the one meant.
    let mut misspelt = team.name.clone();
    misspelt.remove(1);
    let refused = client.call_tool("search_conversations", json!({"team_assignee_id": misspelt})).await.unwrap();
    assert_eq!(refused["isError"], true, "{misspelt}: {refused}");
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(
        message.contains("no team is named") && message.contains(&format!("{:?} (id {})", team.name, team.id)),
        "{message}"
    );

    // Tags are matched by the store (an id, or a name in any case): a misspelt one finds nothing, and then the
    // search says which tags it may have meant; a real tag that finds nothing is an empty page.
    let tag = workspace.tags.iter().find(|t| t.name.len() > 3).unwrap();
    let mut misspelt = tag.name.clone();
    misspelt.remove(1);
    let refused = client.call_tool("search_conversations", json!({"tags": [misspelt]})).await.unwrap();
    assert_eq!(refused["isError"], true, "{misspelt}: {refused}");
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(
        message.contains("no tag is named") && message.contains(&format!("{:?} (id {})", tag.name, tag.id)),
        "{message}"
    );
    for given in [tag.name.to_ascii_uppercase(), tag.id.clone()] {
        let empty =
            client.call_tool("search_conversations", json!({"tags": [given], "query": "zqxjkvwplm"})).await.unwrap();
        assert_ne!(empty["isError"], true, "{given}: {empty}");
        assert_eq!(total(&empty), 0, "{given}");
    }
    client.shutdown().await.unwrap();
}

on_both_backends!(
    a_word_in_nearly_every_conversation_gets_a_marked_estimate_and_no_ranking,
    both_eras_list_the_built_in_tools_sorted_with_schemas,
    answers_share_one_envelope_with_text_equal_to_structured_content,
    full_text_search_finds_exactly_the_planted_conversations,
    filters_return_the_counts_the_data_implies,
    get_conversation_returns_the_whole_thread_as_plain_text,
    contacts_are_found_by_email_name_and_company,
);

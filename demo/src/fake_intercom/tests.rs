//! The fake over real HTTP: auth, shapes that give the oracle's records back, the part cap, faults, the rate
//! limit, mutations. Search and paging are in `tests_search.rs`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::tests_records::{company_record, contact_record, conversation_record, text};
use super::*;

pub(super) async fn start(options: FakeOptions) -> FakeIntercom {
    FakeIntercom::start(options).await.expect("fake starts")
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client")
}

pub(super) async fn get(fake: &FakeIntercom, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", fake.base_url()))
        .bearer_auth(fake.token())
        .header("Intercom-Version", "2.16")
        .send()
        .await
        .expect("request")
}

pub(super) async fn post(fake: &FakeIntercom, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", fake.base_url()))
        .bearer_auth(fake.token())
        .header("Intercom-Version", "2.16")
        .json(body)
        .send()
        .await
        .expect("request")
}

pub(super) async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

pub(super) fn error_code(body: &Value) -> &str {
    assert_eq!(body["type"], "error.list", "{body}");
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn requests_without_the_token_get_401_and_no_rate_limit_headers() {
    let fake = start(FakeOptions::new(20)).await;
    let url = format!("{}/admins", fake.base_url());
    for request in [
        client().get(&url),
        client().get(&url).bearer_auth("wrong"),
        client().get(&url).header("Authorization", "test-token"),
    ] {
        let response = request.send().await.expect("request");
        assert!(response.headers().get("x-ratelimit-limit").is_none());
        let (status, body) = json_of(response).await;
        assert_eq!(status, 401);
        assert_eq!(error_code(&body), "unauthorized");
        assert_eq!(body["errors"][0]["message"], "Access Token Invalid");
        assert!(body["request_id"].as_str().is_some_and(|id| id.len() == 36), "{body}");
    }
    let stats = fake.stats();
    assert_eq!((stats.total, stats.unauthorized, stats.routes["GET /admins"], stats.missing_version), (3, 3, 3, 3));
    fake.shutdown().await;
}

#[tokio::test]
async fn every_answer_round_trips_to_the_oracles_records() {
    let mut options = FakeOptions::new(90);
    options.long_conversation = Some(4);
    let fake = start(options).await;

    let expected = fake.expected_conversations();
    assert_eq!(expected.len(), 90);
    for record in &expected {
        let response = get(&fake, &format!("/conversations/{}", record.id)).await;
        assert!(response.headers().get("x-ratelimit-remaining").is_some());
        let (status, body) = json_of(response).await;
        assert_eq!(status, 200);
        assert_eq!(&conversation_record(&body), record, "conversation {}", record.id);
        assert_eq!(body, fake.conversation_json(&record.id).expect("known"));
    }
    // List items are the same objects without their parts.
    let (_, page) = json_of(get(&fake, "/conversations?per_page=150").await).await;
    let items = page["conversations"].as_array().expect("conversations");
    assert_eq!(items.len(), 90);
    for item in items {
        assert!(item.get("conversation_parts").is_none());
        let mut record = expected.iter().find(|c| Some(c.id.as_str()) == item["id"].as_str()).expect("known").clone();
        record.parts.clear();
        record.parts_truncated = false;
        assert_eq!(conversation_record(item), record);
    }

    let (_, contacts) = json_of(get(&fake, "/contacts?per_page=150").await).await;
    let mut got: Vec<ContactRecord> = contacts["data"].as_array().expect("data").iter().map(contact_record).collect();
    got.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got, fake.expected_contacts());
    let one = &got[7];
    assert_eq!(contact_record(&json_of(get(&fake, &format!("/contacts/{}", one.id)).await).await.1), *one);
    assert_eq!(contact_record(&fake.contact_json(&one.id).expect("contact")), *one);

    let (_, scroll) = json_of(get(&fake, "/companies/scroll").await).await;
    assert!(scroll["pages"].is_null() && scroll["total_count"].is_null());
    let companies: Vec<CompanyRecord> = scroll["data"].as_array().expect("data").iter().map(company_record).collect();
    assert_eq!(companies, fake.expected_companies());
    let (status, company) = json_of(get(&fake, &format!("/companies/{}", companies[3].id)).await).await;
    assert_eq!((status, company_record(&company)), (200, companies[3].clone()));

    let (_, admins) = json_of(get(&fake, "/admins").await).await;
    assert_eq!(admins["type"], "admin.list");
    let admins: Vec<AdminRecord> = admins["admins"]
        .as_array()
        .expect("admins")
        .iter()
        .map(|a| AdminRecord {
            id: text(&a["id"]).expect("id"),
            name: text(&a["name"]),
            email: text(&a["email"]),
            job_title: text(&a["job_title"]),
            away_mode_enabled: a["away_mode_enabled"].as_bool().expect("flag"),
            has_inbox_seat: a["has_inbox_seat"].as_bool().expect("flag"),
            team_ids: a["team_ids"]
                .as_array()
                .expect("team_ids")
                .iter()
                .map(|t| t.as_u64().expect("int").to_string())
                .collect(),
        })
        .collect();
    assert_eq!(admins, fake.expected_admins());
    let (_, teams) = json_of(get(&fake, "/teams").await).await;
    let teams: Vec<TeamRecord> = teams["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| TeamRecord {
            id: text(&t["id"]).expect("id"),
            name: text(&t["name"]).expect("name"),
            admin_ids: t["admin_ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|a| a.as_u64().expect("int").to_string())
                .collect(),
        })
        .collect();
    assert_eq!(teams, fake.expected_teams());
    let (_, tags) = json_of(get(&fake, "/tags").await).await;
    assert_eq!(tags["type"], "list");
    let tags: Vec<TagRecord> = tags["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|t| TagRecord { id: text(&t["id"]).expect("id"), name: text(&t["name"]).expect("name") })
        .collect();
    assert_eq!(tags, fake.expected_tags());
    fake.shutdown().await;
}

#[tokio::test]
async fn retrieve_returns_the_500_latest_parts_and_the_real_count() {
    let mut options = FakeOptions::new(30);
    options.long_conversation = Some(12);
    let fake = start(options).await;
    let id = fake.conversation_ids()[12].clone();
    let (status, body) = json_of(get(&fake, &format!("/conversations/{id}")).await).await;
    assert_eq!(status, 200);
    let parts = body["conversation_parts"]["conversation_parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 500);
    assert_eq!(body["conversation_parts"]["total_count"], 500);
    assert_eq!(body["conversation_parts"]["type"], "conversation_part.list");
    assert_eq!(body["statistics"]["count_conversation_parts"], 620);
    let times: Vec<i64> = parts.iter().map(|p| p["created_at"].as_i64().expect("time")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "chronological");
    let ids: std::collections::HashSet<&str> = parts.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids.len(), 500, "unique part ids");
    let expected = &fake.expected_conversations()[12];
    assert!(expected.parts_truncated && expected.parts.len() == 500);
    assert_eq!(expected.parts.last().map(|p| p.id.as_str()), parts.last().and_then(|p| p["id"].as_str()));

    // Every other conversation is short and complete.
    let (_, other) = json_of(get(&fake, &format!("/conversations/{}", fake.conversation_ids()[3])).await).await;
    let returned = other["conversation_parts"]["conversation_parts"].as_array().expect("parts").len();
    assert_eq!(other["statistics"]["count_conversation_parts"], returned);
    assert!(other["admin_assignee_id"].is_u64());

    for missing in ["1", "abc", &format!("0{id}"), "99999999999999999999999"] {
        let (status, body) = json_of(get(&fake, &format!("/conversations/{missing}")).await).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{missing}");
    }
    let (status, body) = json_of(get(&fake, "/contacts/nope").await).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    fake.shutdown().await;
}

#[tokio::test]
async fn a_tiny_rate_limit_answers_429_once_the_windows_budget_is_spent() {
    let mut options = FakeOptions::new(10);
    options.rate_limit_per_minute = Some(3); // a 60 s window: 3 requests per window
    options.window = Duration::from_secs(60);
    let fake = start(options).await;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let response = get(&fake, "/tags").await;
        let header = |name: &str| -> u64 {
            response.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect(name)
        };
        let (limit, remaining, reset) =
            (header("x-ratelimit-limit"), header("x-ratelimit-remaining"), header("x-ratelimit-reset"));
        assert_eq!(limit, 3);
        assert_eq!(reset % 60, 0, "windows are aligned to unix time");
        let status = response.status().as_u16();
        seen.push((status, remaining, reset));
        if status == 429 {
            let (_, body) = json_of(response).await;
            assert_eq!(error_code(&body), "rate_limit_exceeded");
            assert_eq!(body["errors"][0]["message"], "Exceeded rate limit of 3 in 60_seconds");
            break;
        }
    }
    let &(status, remaining, reset) = seen.last().expect("responses");
    assert_eq!((status, remaining), (429, 0), "no 429 in 10 requests: {seen:?}");
    let admitted: Vec<u64> = seen.iter().filter(|s| s.0 == 200 && s.2 == reset).map(|s| s.1).collect();
    assert_eq!(admitted, vec![2, 1, 0], "three requests fit in the window before the 429: {seen:?}");
    let stats = fake.stats();
    assert_eq!(stats.rate_limited, 1);
    assert!(stats.first_429_at.is_some() && stats.first_429_at == stats.last_429_at);
    fake.shutdown().await;
}

#[tokio::test]
async fn each_fault_is_observable_by_a_client() {
    let fake = start(FakeOptions::new(10)).await;
    let id = fake.conversation_ids()[0].clone();
    let path = format!("/conversations/{id}");

    fake.inject(Fault::TooManyRequests, 1);
    let response = get(&fake, &path).await;
    assert_eq!(response.status(), 429);
    let reset: u64 = response.headers()["x-ratelimit-reset"].to_str().expect("ascii").parse().expect("int");
    assert_eq!(reset % 10, 0, "the end of the current 10 s window");
    assert_eq!(error_code(&response.json::<Value>().await.expect("json")), "rate_limit_exceeded");

    fake.inject(Fault::ServerError, 1);
    fake.inject(Fault::BadGateway, 1);
    let (status, body) = json_of(get(&fake, &path).await).await;
    assert_eq!((status, error_code(&body)), (500, "server_error"));
    let response = get(&fake, &path).await;
    assert_eq!(response.status(), 502);
    assert!(response.text().await.expect("text").contains("502 Bad Gateway"));

    let full = get(&fake, &path).await.bytes().await.expect("body");
    fake.inject(Fault::TruncatedJson, 1);
    let response = get(&fake, &path).await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("complete body");
    assert_eq!(bytes.len(), full.len() / 2);
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    fake.inject(Fault::DropConnection, 2);
    let failed = client()
        .get(format!("{}{path}", fake.base_url()))
        .bearer_auth(fake.token())
        .send()
        .await
        .expect("headers arrive")
        .bytes()
        .await;
    assert!(failed.is_err(), "the body must fail");
    // At the byte level: the declared length is never delivered and the server closes the connection.
    let address = fake.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer test-token\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw)).await.expect("closed in time");
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head arrives");
    assert!(head.to_ascii_lowercase().contains("content-length: 4096"), "{head}");
    assert!(body.len() < 4096);

    fake.inject(Fault::Slow(Duration::from_millis(300)), 1);
    let started = std::time::Instant::now();
    assert_eq!(get(&fake, &path).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Faults are used up: the next request is normal.
    assert_eq!(json_of(get(&fake, &path).await).await.0, 200);
    assert_eq!(fake.stats().faults_injected, 7);
    fake.shutdown().await;
}

#[test]
fn http_dates_follow_rfc_9110() {
    assert_eq!(reply::http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(reply::http_date(FIXED_NOW), "Mon, 21 Sep 2026 14:13:20 GMT");
    assert_eq!(reply::http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    assert_eq!(reply::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

#[tokio::test]
async fn the_date_header_is_the_fakes_clock() {
    let fake = start(FakeOptions::new(10)).await;
    let date = |response: &reqwest::Response| response.headers()["date"].to_str().expect("ascii").to_owned();
    assert_eq!(date(&get(&fake, "/tags").await), reply::http_date(FIXED_NOW));
    fake.advance(90);
    assert_eq!(date(&get(&fake, "/tags").await), reply::http_date(FIXED_NOW + 90));
    let unauthorized = client().get(format!("{}/tags", fake.base_url())).send().await.expect("request");
    assert_eq!(date(&unauthorized), reply::http_date(FIXED_NOW + 90));
    fake.inject(Fault::DropConnection, 1);
    let dropped = client().get(format!("{}/tags", fake.base_url())).bearer_auth(fake.token()).send().await;
    assert_eq!(date(&dropped.expect("head arrives")), reply::http_date(FIXED_NOW + 90));
    fake.shutdown().await;
}

#[tokio::test]
async fn forbidden_paths_answer_403_with_the_missing_scope() {
    let mut options = FakeOptions::new(10);
    options.forbidden_paths = vec!["/conversations".to_owned()];
    let fake = start(options).await;
    let (status, body) = json_of(post(&fake, "/conversations/search", &json!({"query": {}})).await).await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"));
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("read_conversations")));
    assert_eq!(get(&fake, "/admins").await.status(), 200);
    fake.shutdown().await;
}

#[tokio::test]
async fn mutations_are_visible_through_search_retrieve_and_the_deleted_list() {
    let fake = start(FakeOptions::new(50)).await;
    let ids = fake.conversation_ids();
    let before = fake.now();
    assert_eq!(before, FIXED_NOW);
    // Warm the cache so stale bodies would show.
    for id in &ids[..12] {
        get(&fake, &format!("/conversations/{id}")).await;
    }
    fake.advance(3_600);
    let part = fake.add_part(&ids[10], "<p>Still broken.</p>").expect("known conversation");
    assert!(fake.update_conversation(&ids[11], |c| c.read = !c.read));
    let created = fake.create_conversation();
    assert!(created.parse::<u64>().expect("numeric") > ids.last().expect("ids").parse().expect("numeric"));
    assert!(fake.delete_conversation(&ids[5]));
    let contact = fake.expected_contacts()[2].id.clone();
    assert!(fake.update_contact(&contact, |c| c.name = Some("Renamed".to_owned())));
    assert!(fake.add_part(&ids[5], "<p>gone</p>").is_none());

    let query = json!({"query": {"field": "updated_at", "operator": ">", "value": before + 1}, "pagination": {"per_page": 150}});
    let (_, found) = json_of(post(&fake, "/conversations/search", &query).await).await;
    let mut changed: Vec<&str> =
        found["conversations"].as_array().expect("list").iter().filter_map(|c| c["id"].as_str()).collect();
    changed.sort_unstable();
    assert_eq!(changed, vec![ids[10].as_str(), ids[11].as_str(), created.as_str()]);
    assert_eq!(found["total_count"], 3);
    assert!(found["conversations"].as_array().expect("list").iter().all(|c| c["updated_at"] == before + 3_600));

    let (_, replied) = json_of(get(&fake, &format!("/conversations/{}", ids[10])).await).await;
    let last =
        replied["conversation_parts"]["conversation_parts"].as_array().and_then(|p| p.last()).cloned().expect("a part");
    assert_eq!((last["id"].as_str(), last["body"].as_str()), (Some(part.as_str()), Some("<p>Still broken.</p>")));
    assert_eq!(
        conversation_record(&replied),
        fake.expected_conversations().into_iter().find(|c| c.id == ids[10]).expect("live")
    );

    let (status, _) = json_of(get(&fake, &format!("/conversations/{}", ids[5])).await).await;
    assert_eq!(status, 404);
    assert!(!fake.conversation_ids().contains(&ids[5]));
    assert_eq!(fake.expected_conversations().len(), 50);
    let (_, deleted) = json_of(get(&fake, "/conversations/deleted").await).await;
    assert_eq!(deleted["type"], "conversations.list");
    assert_eq!(
        deleted["conversations"],
        json!([{"type": "conversation", "id": ids[5], "metrics_retained": false, "deleted_at": before + 3_600}])
    );
    assert_eq!(deleted["pages"]["next"], Value::Null);

    let (_, renamed) = json_of(get(&fake, &format!("/contacts/{contact}")).await).await;
    assert_eq!((renamed["name"].as_str(), renamed["updated_at"].as_i64()), (Some("Renamed"), Some(before + 3_600)));
    fake.shutdown().await;
}

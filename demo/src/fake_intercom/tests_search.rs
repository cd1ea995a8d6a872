//! Search, list and paging over HTTP: every item exactly once, cursors in the body only, Intercom's operator
//! quirks, contacts' day granularity, the deleted list's page links, the companies scroll.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};

use super::tests::{error_code, get, json_of, post, start};
use super::*;

const DAY: i64 = 86_400;

/// Every conversation id a search returns, following `next` until it is absent; also checks the pages objects.
async fn search_all(fake: &FakeIntercom, query: Value, per_page: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 1.. {
        let body = json!({"query": query, "pagination": {"per_page": per_page, "starting_after": cursor}});
        let (status, body) = json_of(post(fake, "/conversations/search", &body).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["type"], "conversation.list");
        let total = body["total_count"].as_u64().expect("total") as usize;
        assert_eq!(body["pages"]["page"], page);
        assert_eq!(body["pages"]["per_page"], per_page);
        assert_eq!(body["pages"]["total_pages"], total.div_ceil(per_page));
        let items = body["conversations"].as_array().expect("conversations");
        ids.extend(items.iter().map(|c| c["id"].as_str().expect("id").to_owned()));
        match body["pages"].get("next") {
            Some(next) => {
                assert_eq!(next["page"], page + 1);
                assert_eq!(items.len(), per_page);
                cursor = Some(next["starting_after"].as_str().expect("cursor").to_owned());
            }
            None => {
                assert_eq!(ids.len(), total);
                break;
            }
        }
    }
    ids
}

#[tokio::test]
async fn search_pages_through_every_conversation_exactly_once_in_updated_at_order() {
    let fake = start(FakeOptions::new(300)).await;
    let everything = json!({"field": "updated_at", "operator": ">", "value": 0});
    for per_page in [150, 7] {
        let ids = search_all(&fake, everything.clone(), per_page).await;
        assert_eq!(ids.len(), 300);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 300, "no duplicates");
    }
    let expected = fake.expected_conversations();
    let mut by_update: Vec<(i64, u64)> =
        expected.iter().map(|c| (c.updated_at, c.id.parse().expect("numeric"))).collect();
    by_update.sort_unstable();
    let order: Vec<String> = by_update.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(search_all(&fake, everything, 50).await, order);

    // The list endpoint pages the same way, cursor in the query string.
    let mut listed = Vec::new();
    let mut url = "/conversations?per_page=120".to_owned();
    loop {
        let (_, body) = json_of(get(&fake, &url).await).await;
        assert_eq!(body["total_count"], 300);
        listed.extend(
            body["conversations"].as_array().expect("list").iter().map(|c| c["id"].as_str().expect("id").to_owned()),
        );
        let Some(next) = body["pages"].get("next") else { break };
        url =
            format!("/conversations?per_page=120&starting_after={}", next["starting_after"].as_str().expect("cursor"));
    }
    assert_eq!(listed, order);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_cursor_in_a_searchs_query_string_is_ignored() {
    let fake = start(FakeOptions::new(60)).await;
    let query = json!({"query": {"field": "updated_at", "operator": ">", "value": 0}, "pagination": {"per_page": 20}});
    let (_, first) = json_of(post(&fake, "/conversations/search", &query).await).await;
    let cursor = first["pages"]["next"]["starting_after"].as_str().expect("cursor").to_owned();
    let path = format!("/conversations/search?starting_after={cursor}");
    let (_, again) = json_of(post(&fake, &path, &query).await).await;
    assert_eq!(again["pages"]["page"], 1);
    assert_eq!(again["conversations"], first["conversations"]);
    fake.shutdown().await;
}

#[tokio::test]
async fn operators_follow_intercoms_table_and_compounds_combine_them() {
    let fake = start(FakeOptions::new(200)).await;
    let expected = fake.expected_conversations();
    let pivot = &expected[120];
    let (u, c) = (pivot.updated_at, pivot.created_at);
    let ids_where = |keep: &dyn Fn(&ConversationRecord) -> bool| -> BTreeSet<String> {
        expected.iter().filter(|c| keep(c)).map(|c| c.id.clone()).collect()
    };
    let cases = [
        (json!({"field": "updated_at", "operator": ">", "value": u}), ids_where(&|x| x.updated_at >= u)),
        (json!({"field": "updated_at", "operator": ">=", "value": u.to_string()}), ids_where(&|x| x.updated_at >= u)),
        (json!({"field": "updated_at", "operator": "<", "value": u}), ids_where(&|x| x.updated_at <= u)),
        (json!({"field": "updated_at", "operator": "=", "value": u}), ids_where(&|x| x.updated_at == u)),
        (json!({"field": "created_at", "operator": "<=", "value": c}), ids_where(&|x| x.created_at <= c)),
        (json!({"field": "id", "operator": "=", "value": pivot.id}), ids_where(&|x| x.id == pivot.id)),
        (
            json!({"operator": "OR", "value": [
                {"operator": "AND", "value": [
                    {"field": "updated_at", "operator": ">", "value": u - 30 * DAY},
                    {"field": "updated_at", "operator": "<", "value": u}]},
                {"field": "id", "operator": "=", "value": expected[3].id}]}),
            ids_where(&|x| (x.updated_at >= u - 30 * DAY && x.updated_at <= u) || x.id == expected[3].id),
        ),
        (
            json!({"operator": "AND", "value": [
                {"field": "created_at", "operator": ">", "value": c},
                {"field": "updated_at", "operator": "!=", "value": u}]}),
            ids_where(&|x| x.created_at >= c && x.updated_at != u),
        ),
    ];
    for (query, want) in cases {
        let got: BTreeSet<String> = search_all(&fake, query.clone(), 40).await.into_iter().collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "{query}");
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn malformed_searches_get_intercoms_400() {
    let fake = start(FakeOptions::new(20)).await;
    let leaf = json!({"field": "updated_at", "operator": ">", "value": 1});
    let nested3 =
        json!({"operator": "AND", "value": [{"operator": "OR", "value": [{"operator": "AND", "value": [leaf]}]}]});
    let sixteen = json!({"operator": "OR", "value": vec![leaf.clone(); 16]});
    let bad = [
        json!({"query": leaf, "pagination": {"per_page": 151}}),
        json!({"query": leaf, "pagination": {"per_page": 0}}),
        json!({"query": leaf, "pagination": {"starting_after": "not-a-cursor"}}),
        json!({"query": {"field": "source.body", "operator": "~", "value": "refund"}}),
        json!({"query": {"field": "updated_at", "operator": "~", "value": 1}}),
        json!({"query": {"field": "updated_at", "operator": ">", "value": "yesterday"}}),
        json!({"query": nested3}),
        json!({"query": sixteen}),
        json!({"pagination": {"per_page": 5}}),
    ];
    for body in bad {
        let (status, reply) = json_of(post(&fake, "/conversations/search", &body).await).await;
        assert_eq!((status, error_code(&reply)), (400, "bad_request"), "{body}");
    }
    let fifteen = json!({"query": {"operator": "OR", "value": vec![leaf.clone(); 15]}});
    assert_eq!(post(&fake, "/conversations/search", &fifteen).await.status(), 200);
    let raw = super::tests::client()
        .post(format!("{}/conversations/search", fake.base_url()))
        .bearer_auth(fake.token())
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), 400);
    assert_eq!(get(&fake, "/conversations?per_page=500").await.status(), 400);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_cursor_stays_valid_while_conversations_change() {
    let fake = start(FakeOptions::new(100)).await;
    let query = json!({"field": "updated_at", "operator": ">", "value": 0});
    let body = json!({"query": query, "pagination": {"per_page": 30}});
    let (_, first) = json_of(post(&fake, "/conversations/search", &body).await).await;
    let cursor = first["pages"]["next"]["starting_after"].clone();
    let mut seen: Vec<String> = first["conversations"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    // A conversation from the first page changes (moves to the end), one from a later page is deleted.
    fake.advance(10);
    fake.add_part(&seen[0], "<p>bump</p>").expect("known");
    let later = fake.conversation_ids().into_iter().find(|id| !seen.contains(id)).expect("a later one");
    fake.delete_conversation(&later);
    let mut cursor = cursor;
    loop {
        let body = json!({"query": query, "pagination": {"per_page": 30, "starting_after": cursor}});
        let (status, page) = json_of(post(&fake, "/conversations/search", &body).await).await;
        assert_eq!(status, 200);
        seen.extend(
            page["conversations"].as_array().expect("list").iter().map(|c| c["id"].as_str().expect("id").to_owned()),
        );
        match page["pages"].get("next") {
            Some(next) => cursor = next["starting_after"].clone(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 99, "every live conversation, none skipped");
    assert_eq!(seen.len(), 100, "the changed one is seen again at the end");
    fake.shutdown().await;
}

/// Contact ids a contact search returns, all pages.
async fn contacts_where(fake: &FakeIntercom, query: Value, sort: Option<&str>) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut body = json!({"query": query, "pagination": {"per_page": 13, "starting_after": cursor}});
        if let Some(order) = sort {
            body["sort"] = json!({"field": "updated_at", "order": order});
        }
        let (status, page) = json_of(post(fake, "/contacts/search", &body).await).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["type"], "list");
        ids.extend(page["data"].as_array().expect("data").iter().map(|c| c["id"].as_str().expect("id").to_owned()));
        match page["pages"].get("next") {
            Some(next) => cursor = next["starting_after"].clone(),
            None => break,
        }
    }
    ids
}

#[tokio::test]
async fn contact_search_matches_dates_by_calendar_day() {
    let fake = start(FakeOptions::new(400)).await;
    let contacts = fake.expected_contacts();
    let pivot = contacts.iter().map(|c| c.updated_at).max().expect("contacts") - 40 * DAY + 12 * 3_600;
    let day = pivot - pivot.rem_euclid(DAY);
    let set = |keep: &dyn Fn(i64) -> bool| -> BTreeSet<String> {
        contacts.iter().filter(|c| keep(c.updated_at)).map(|c| c.id.clone()).collect()
    };
    let leaf = |op: &str| json!({"field": "updated_at", "operator": op, "value": pivot});
    let greater: BTreeSet<String> = contacts_where(&fake, leaf(">"), None).await.into_iter().collect();
    assert_eq!(greater, set(&|u| u >= day + DAY), "> starts at the next day");
    assert!(set(&|u| u >= pivot && u < day + DAY).is_disjoint(&greater), "the rest of the pivot's day is excluded");
    let less: BTreeSet<String> = contacts_where(&fake, leaf("<"), None).await.into_iter().collect();
    assert_eq!(less, set(&|u| u < day));
    let equal: BTreeSet<String> = contacts_where(&fake, leaf("="), None).await.into_iter().collect();
    assert_eq!(equal, set(&|u| (day..day + DAY).contains(&u)));
    for op in [">=", "<=", "!="] {
        let (status, body) = json_of(post(&fake, "/contacts/search", &json!({"query": leaf(op)})).await).await;
        assert_eq!((status, error_code(&body)), (400, "bad_request"), "{op}");
    }

    // Sorted by updated_at, descending unless asked otherwise, each contact once.
    let updated = |id: &String| contacts.iter().find(|c| &c.id == id).map(|c| c.updated_at).expect("known");
    let all = json!({"field": "created_at", "operator": ">", "value": 0});
    let descending = contacts_where(&fake, all.clone(), None).await;
    assert_eq!(descending.len(), contacts.len());
    assert!(descending.windows(2).all(|w| updated(&w[0]) >= updated(&w[1])));
    let ascending = contacts_where(&fake, all.clone(), Some("ascending")).await;
    assert_eq!(ascending.iter().rev().cloned().collect::<Vec<_>>(), descending);
    let body = json!({"query": all, "sort": {"field": "updated_at", "order": "up"}});
    let (status, reply) = json_of(post(&fake, "/contacts/search", &body).await).await;
    assert_eq!((status, error_code(&reply)), (400, "invalid_sort_order"));
    let by_email = json!({"field": "email", "operator": "=", "value": contacts[5].email});
    assert_eq!(contacts_where(&fake, by_email, None).await, vec![contacts[5].id.clone()]);
    fake.shutdown().await;
}

#[tokio::test]
async fn deleted_conversations_page_by_number_with_full_next_urls() {
    let fake = start(FakeOptions::new(40)).await;
    let ids = fake.conversation_ids();
    for (n, id) in ids.iter().take(5).enumerate() {
        fake.advance(n as i64 + 1);
        assert!(fake.delete_conversation(id));
    }
    let (status, first) = json_of(get(&fake, "/conversations/deleted?per_page=2").await).await;
    assert_eq!(status, 200);
    assert_eq!(first["total_count"], 5);
    assert_eq!(first["pages"]["total_pages"], 3);
    assert_eq!(first["conversations"][0]["id"], ids[4].as_str(), "newest deletion first");
    let next = first["pages"]["next"].as_str().expect("next url");
    assert_eq!(next, format!("{}/conversations/deleted?per_page=2&order=desc&page=2", fake.base_url()));
    let (_, last) = json_of(get(&fake, "/conversations/deleted?per_page=2&page=3").await).await;
    assert_eq!(last["conversations"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["pages"]["next"], Value::Null);
    let (_, ascending) = json_of(get(&fake, "/conversations/deleted?order=asc").await).await;
    let order: Vec<&str> =
        ascending["conversations"].as_array().expect("list").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(order, ids[..5].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(get(&fake, "/conversations/deleted?per_page=61").await.status(), 400);
    fake.shutdown().await;
}

#[tokio::test]
async fn companies_scroll_to_an_empty_page_and_contacts_list_their_companies_and_tags() {
    let fake = start(FakeOptions::new(2_000)).await;
    let expected = fake.expected_companies();
    assert!(expected.len() > 100, "several scroll pages");
    let mut seen = Vec::new();
    let mut path = "/companies/scroll".to_owned();
    loop {
        let (status, page) = json_of(get(&fake, &path).await).await;
        assert_eq!(status, 200);
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= 50);
        if data.is_empty() {
            break;
        }
        seen.extend(data.iter().map(|c| c["id"].as_str().expect("id").to_owned()));
        path = format!("/companies/scroll?scroll_param={}", page["scroll_param"].as_str().expect("param"));
    }
    assert_eq!(seen, expected.iter().map(|c| c.id.clone()).collect::<Vec<_>>());

    let contact = fake
        .expected_contacts()
        .into_iter()
        .find(|c| !c.company_ids.is_empty() && !c.tag_ids.is_empty())
        .expect("a tagged user");
    let (_, companies) = json_of(get(&fake, &format!("/contacts/{}/companies", contact.id)).await).await;
    let ids: Vec<&str> = companies["data"].as_array().expect("data").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, contact.company_ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(companies["total_count"], contact.company_ids.len());
    let (_, tags) = json_of(get(&fake, &format!("/contacts/{}/tags", contact.id)).await).await;
    let ids: Vec<&str> = tags["data"].as_array().expect("data").iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, contact.tag_ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(tags["data"][0]["name"].is_string());
    fake.shutdown().await;
}

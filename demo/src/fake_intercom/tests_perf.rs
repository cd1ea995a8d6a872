//! What serving costs, measured over loopback HTTP the way a sync uses the fake (ignored: a measurement, not a
//! check). Run in release:
//! `FAKE_PERF_CONVERSATIONS=100000 cargo test --release -p fastintercom --lib fake_intercom::tests_perf -- --ignored --nocapture`

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::tests::{client, start};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn serving_cost() {
    let count: usize = std::env::var("FAKE_PERF_CONVERSATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let started = Instant::now();
    let fake = start(FakeOptions::new(count)).await;
    let built = started.elapsed();
    println!("start: {count} conversations in {built:.2?}; cache {:.1} MB", fake.cached_bytes() as f64 / 1e6);

    let http = client();
    let base = fake.base_url();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(count);
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let body = json!({"query": {"field": "updated_at", "operator": ">", "value": 0},
            "pagination": {"per_page": 150, "starting_after": cursor}});
        let page: Value = http
            .post(format!("{base}/conversations/search"))
            .bearer_auth(fake.token())
            .json(&body)
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        pages += 1;
        ids.extend(
            page["conversations"].as_array().expect("list").iter().map(|c| c["id"].as_str().expect("id").to_owned()),
        );
        match page["pages"].get("next") {
            Some(next) => cursor = next["starting_after"].clone(),
            None => break,
        }
    }
    let searched = started.elapsed();
    assert_eq!(ids.len(), count);
    println!(
        "search: {pages} pages of 150 in {searched:.2?} ({:.0} µs/page, client JSON parsing included)",
        searched.as_micros() as f64 / pages as f64
    );

    for round in ["cached at start", "uncached (generated, serialised, cached)", "cached again"] {
        if round.starts_with("uncached") {
            fake.app.data.cache.clear();
        }
        let started = Instant::now();
        let bytes: usize = futures_util::stream::iter(ids.iter())
            .map(|id| {
                let request = http.get(format!("{base}/conversations/{id}")).bearer_auth(fake.token());
                async move { request.send().await.expect("retrieve").bytes().await.expect("body").len() }
            })
            .buffer_unordered(8)
            .fold(0, |sum, n| async move { sum + n })
            .await;
        let elapsed = started.elapsed();
        println!(
            "retrieve {round}: {count} in {elapsed:.2?} = {:.0}/s over HTTP, {:.1} KB average body",
            count as f64 / elapsed.as_secs_f64(),
            bytes as f64 / count as f64 / 1e3
        );
    }
    println!("retrieve cache: {:.1} MB", fake.cached_bytes() as f64 / 1e6);

    // In-process cost of a cached retrieve and of generating one, without HTTP.
    let data = &fake.app.data;
    let started = Instant::now();
    for id in &ids {
        assert!(data.body(id).is_some());
    }
    let cached = started.elapsed() / count as u32;
    data.cache.clear();
    let sample = ids.len().min(5_000);
    let started = Instant::now();
    for id in &ids[..sample] {
        assert!(data.body(id).is_some());
    }
    let fresh = started.elapsed() / sample as u32;
    println!("in process: cached retrieve {cached:?}, uncached retrieve {fresh:?}");
    assert!(cached < Duration::from_micros(100));
    fake.shutdown().await;
}

//! Several `serve --http` replicas of one deployment, against the Redis this machine runs at 127.0.0.1:6379
//! (each test under a key prefix of its own): a key's rate limit holds across replicas, and a Redis that does not
//! answer leaves each replica serving with limits of its own.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fastintercom::protocol::http_client::{Era, HttpClient};
use serde_json::json;

use crate::http_support::{HttpServerProcess, create_key, private_demo_dir};

/// A Redis key prefix no other test or run uses.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("fastintercom-test:{test}:{}:{nanos}:", std::process::id())
}

/// Sends `tools/list` as `key` to each server in turn, `rounds` times; returns how many each admitted (HTTP 200)
/// and refused (429), and how many requests the limit of one per second may have added while they were sent.
async fn requests_round_robin(
    servers: &[&HttpServerProcess],
    key: &str,
    rounds: usize,
) -> (Vec<(usize, usize)>, usize) {
    let clients: Vec<HttpClient> =
        servers.iter().map(|server| HttpClient::new(&server.mcp_url(), Some(key), Era::Modern)).collect();
    let mut counts = vec![(0, 0); servers.len()];
    let started = Instant::now();
    for _ in 0..rounds {
        for (client, count) in clients.iter().zip(&mut counts) {
            match client.send_request("tools/list", json!({})).await.unwrap().1.status.as_u16() {
                200 => count.0 += 1,
                429 => count.1 += 1,
                other => panic!("unexpected status {other}"),
            }
        }
    }
    (counts, started.elapsed().as_secs_f64().ceil() as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_a_key_rate_limit_through_redis() {
    let dir = private_demo_dir();
    let config = format!(
        "[http.key_rate_limits.bot]\nper_second = 1\nburst = 6\n[redis]\nurl = \"redis://127.0.0.1:6379\"\n\
         key_prefix = \"{}\"\n",
        unique_prefix("replicas")
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let key = create_key(dir.path(), "bot", None);
    let first = HttpServerProcess::start(dir.path(), &[], &[]).await;
    let second = HttpServerProcess::start(dir.path(), &[], &[]).await;

    let (counts, refilled) = requests_round_robin(&[&first, &second], &key, 8).await;
    let admitted: usize = counts.iter().map(|(admitted, _)| admitted).sum();
    // A burst of 6 in all (and one more per second the requests took), not 6 per replica.
    assert!(admitted >= 6 && admitted <= 6 + refilled, "admitted {admitted} in {refilled} s: {counts:?}");
    assert!(counts.iter().all(|&(_, refused)| refused > 0), "each replica refused the key: {counts:?}");
    for server in [&first, &second] {
        assert!(server.log().contains("sharing rate limits through Redis"), "{}", server.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_answering_redis_each_replica_limits_on_its_own() {
    let dir = private_demo_dir();
    std::fs::write(dir.path().join("config.toml"), "[http.key_rate_limits.bot]\nper_second = 1\nburst = 3\n").unwrap();
    let key = create_key(dir.path(), "bot", None);
    // Nothing listens on port 1: the replica starts and serves all the same, with a bucket of its own.
    let server = HttpServerProcess::start(dir.path(), &["--redis-url", "redis://:hunter2@127.0.0.1:1"], &[]).await;
    let (counts, refilled) = requests_round_robin(&[&server], &key, 8).await;
    assert!(counts[0].0 >= 3 && counts[0].0 <= 3 + refilled && counts[0].1 > 0, "{counts:?} in {refilled} s");
    // Past the pause after a failure: the replica tries Redis again, and does not say so again.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    requests_round_robin(&[&server], &key, 2).await;
    let log = server.log();
    assert_eq!(log.matches("Redis does not answer").count(), 1, "said once: {log}");
    assert!(log.contains("127.0.0.1:1") && !log.contains("hunter2"), "names the address, not the password: {log}");
}

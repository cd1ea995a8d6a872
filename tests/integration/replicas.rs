//! Several `serve --http` replicas of one deployment, against the Redis this machine runs at 127.0.0.1:6379
//! (each test under a key prefix of its own) and the PostgreSQL at 127.0.0.1:5432 (each test a database of its
//! own): a key's rate limit holds across replicas, a Redis that does not answer leaves each replica serving with
//! limits of its own, a key revoked through one replica is refused by all, and when the replica that syncs dies,
//! another takes over and the store still ends equal to Intercom's data; a webhook delivery accepted by a replica
//! that dies is applied by the one that syncs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fastintercom::fake_intercom::Fault;
use fastintercom::protocol::http_client::{Era, HttpClient};
use fastintercom::sync::webhooks;
use serde_json::json;

use crate::http_support::{HttpServerProcess, create_key, eventually, private_demo_dir};
use crate::support::{Backend, TestDb};
use crate::sync_support::{TOKEN, assert_same, expected_store, fake, fingerprint};

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
        assert!(server.log().contains("sharing rate limits and kept answers through Redis"), "{}", server.log());
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

/// `fastintercom keys ...` against the PostgreSQL database `db`, from a data directory of its own.
fn keys_on(db: &TestDb, args: &[&str]) -> String {
    let output = std::process::Command::new(crate::support::server_exe())
        .arg("--data-dir")
        .arg(db.dir.path())
        .args(db.database_args())
        .arg("keys")
        .args(args)
        .output()
        .expect("keys runs");
    assert!(output.status.success(), "keys {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `serve --http` on the shared database `db` from a data directory of its own (replicas share nothing else).
async fn replica(db: &TestDb, data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> HttpServerProcess {
    let url = db.url().expect("a PostgreSQL test database");
    let mut all = vec!["--database-url", url.as_str()];
    all.extend_from_slice(args);
    HttpServerProcess::start(data_dir, &all, env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_or_revoked_through_one_replica_counts_on_every_replica_within_a_second() {
    let db = TestDb::new(Backend::Postgres).await;
    let second_dir = tempfile::TempDir::new().unwrap();
    let key = keys_on(&db, &["create", "--name", "bot"]).trim().to_owned();
    assert!(!key.is_empty(), "the new key is printed");
    let first = replica(&db, db.dir.path(), &["--demo-conversations", "30"], &[]).await;
    let second = replica(&db, second_dir.path(), &["--demo-conversations", "30"], &[]).await;
    for server in [&first, &second] {
        let client = HttpClient::new(&server.mcp_url(), Some(&key), Era::Modern);
        assert_eq!(client.send_request("tools/list", json!({})).await.unwrap().1.status.as_u16(), 200);
    }
    keys_on(&db, &["revoke", "bot"]);
    let revoked_at = Instant::now();
    for server in [&first, &second] {
        let client = HttpClient::new(&server.mcp_url(), Some(&key), Era::Modern);
        let refused = eventually(Duration::from_secs(3), || async {
            client.send_request("tools/list", json!({})).await.unwrap().1.status.as_u16() == 401
        })
        .await;
        assert!(refused, "a replica still admits the revoked key");
    }
    // The reload is every second; allow for a slow machine's process start-up of the revoking command.
    assert!(revoked_at.elapsed() < Duration::from_millis(2_500), "took {:?}", revoked_at.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_syncing_replica_is_killed_another_takes_over_and_the_store_ends_exact() {
    let fake = fake(1_200).await;
    // Every answer takes a while, so a sync lasts seconds (its retrieves run a few at a time) and is killed in the
    // middle.
    fake.inject(Fault::Slow(Duration::from_millis(20)), usize::MAX / 2);
    let db = TestDb::new(Backend::Postgres).await;
    let second_dir = tempfile::TempDir::new().unwrap();
    let base_url = fake.base_url();
    let env = [("INTERCOM_ACCESS_TOKEN", TOKEN), ("INTERCOM_BASE_URL", base_url.as_str())];
    let args = ["--sync-interval", "1s"];
    let mut replicas =
        vec![replica(&db, db.dir.path(), &args, &env).await, replica(&db, second_dir.path(), &args, &env).await];
    const LEADS: &str = "this replica leads the sync";
    assert!(
        eventually(Duration::from_secs(30), || async { replicas.iter().any(|r| r.log().contains(LEADS)) }).await,
        "no replica took the sync's lead"
    );
    let leader = replicas.iter().position(|r| r.log().contains(LEADS)).unwrap();
    assert!(!replicas[1 - leader].log().contains(LEADS), "both replicas lead");

    let store = db.open().await;
    let stored_some =
        eventually(Duration::from_secs(60), || async { store.conversation_count().await.unwrap() > 0 }).await;
    assert!(stored_some, "the leader stored nothing");
    let mut killed = replicas.remove(leader);
    killed.child.start_kill().unwrap();
    killed.child.wait().await.unwrap();
    let killed_at = Instant::now();
    let at_kill = store.conversation_count().await.unwrap();
    assert!(at_kill < 1_200, "the sync had finished before the kill ({at_kill}); the test proved nothing");

    let follower = &replicas[0];
    let took_over = eventually(Duration::from_secs(15), || async { follower.log().contains(LEADS) }).await;
    assert!(took_over, "no takeover within 15 s: {}", follower.log());
    let takeover = killed_at.elapsed();
    let finished = eventually(Duration::from_secs(120), || async {
        let states = store.sync_states().await.unwrap();
        store.conversation_count().await.unwrap() == 1_200
            && states.iter().any(|s| s.resource == "conversations" && s.last_success_at.is_some() && s.run.is_none())
    })
    .await;
    assert!(finished, "the new leader did not finish the sync: {}", follower.log());
    let (expected_db, _expected) = expected_store(&fake, Backend::Postgres).await;
    assert_same(&fingerprint(&db).await, &fingerprint(&expected_db).await, "after the leader's kill -9");
    eprintln!("sync lead taken over {takeover:?} after the leader's kill -9 ({at_kill} of 1200 conversations stored)");
    store.close().await;
}

/// Where `server`'s webhook endpoint listens (`http://127.0.0.1:<port>/webhooks/intercom`), off its log.
fn webhook_endpoint(server: &HttpServerProcess) -> Option<String> {
    let log = server.log();
    let line = log.lines().find(|line| line.contains("webhook endpoint on"))?;
    let start = line.find("\"address\":\"")? + "\"address\":\"".len();
    let address: String = line[start..].chars().take_while(|&c| c != '"').collect();
    Some(format!("http://{address}{}", webhooks::PATH))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_accepted_by_a_replica_that_is_then_killed_is_applied_by_the_leader() {
    const SECRET: &str = "webhook-secret";
    let fake = fake(60).await;
    let db = TestDb::new(Backend::Postgres).await;
    let second_dir = tempfile::TempDir::new().unwrap();
    let base_url = fake.base_url();
    let env = [
        ("INTERCOM_ACCESS_TOKEN", TOKEN),
        ("INTERCOM_BASE_URL", base_url.as_str()),
        ("INTERCOM_CLIENT_SECRET", SECRET),
    ];
    // No scheduled run after the first: only the webhook can bring the change below.
    let args = ["--sync-interval", "1h", "--webhook-listen", "127.0.0.1:0"];
    let mut replicas =
        vec![replica(&db, db.dir.path(), &args, &env).await, replica(&db, second_dir.path(), &args, &env).await];
    const LEADS: &str = "this replica leads the sync";
    let store = db.open().await;
    let synced = eventually(Duration::from_secs(60), || async {
        let states = store.sync_states().await.unwrap();
        replicas.iter().any(|r| r.log().contains(LEADS))
            && states.iter().any(|s| s.resource == "conversations" && s.last_success_at.is_some() && s.run.is_none())
            && replicas.iter().all(|r| webhook_endpoint(r).is_some())
    })
    .await;
    assert!(synced, "no replica led a first sync: {}", replicas[0].log());
    let leader = replicas.iter().position(|r| r.log().contains(LEADS)).unwrap();
    let mut receiver = replicas.remove(1 - leader);

    let id = fake.expected_conversations()[7].id.clone();
    fake.advance(30);
    fake.add_part(&id, "<p>A quasquicentennial refund request.</p>");
    let body = json!({
        "type": "notification_event",
        "id": "notif_2f6a8f4e",
        "topic": "conversation.user.replied",
        "data": {"type": "notification_event_data", "item": fake.conversation_json(&id).expect("conversation")},
    })
    .to_string();
    let signature = webhooks::sign(&webhooks::ClientSecret::new(SECRET), body.as_bytes());
    let endpoint = webhook_endpoint(&receiver).unwrap();
    let answer = reqwest::Client::new().post(&endpoint).header("X-Hub-Signature", signature).body(body).send();
    assert_eq!(answer.await.unwrap().status(), 202, "the follower accepts the delivery");
    receiver.child.start_kill().unwrap();
    receiver.child.wait().await.unwrap();

    let applied = eventually(Duration::from_secs(10), || async {
        let stored = store.get_conversation(&id).await.unwrap().expect("stored");
        stored.parts.iter().any(|p| p.body.as_deref().is_some_and(|b| b.contains("quasquicentennial")))
    })
    .await;
    assert!(applied, "the leader did not apply the delivery the killed replica accepted: {}", replicas[0].log());
    let (expected_db, _expected) = expected_store(&fake, Backend::Postgres).await;
    assert_same(&fingerprint(&db).await, &fingerprint(&expected_db).await, "after the webhook");
    assert!(store.pending_webhooks(i64::MAX, 10).await.unwrap().is_empty(), "the delivery is marked applied");
    store.close().await;
}

/// `config.toml` of a replica sharing Redis under `prefix`.
fn sharing_redis(dir: &std::path::Path, prefix: &str) {
    let config = format!("[redis]\nurl = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n");
    std::fs::write(dir.join("config.toml"), config).unwrap();
}

fn cache_hit(answer: &serde_json::Value) -> bool {
    answer["structuredContent"]["metadata"]["cache_hit"] == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_one_replica_computed_another_serves_and_none_outlives_a_commit() {
    let db = TestDb::new(Backend::Postgres).await;
    let second_dir = tempfile::TempDir::new().unwrap();
    let prefix = unique_prefix("answers");
    sharing_redis(db.dir.path(), &prefix);
    sharing_redis(second_dir.path(), &prefix);
    let first = replica(&db, db.dir.path(), &["--demo-conversations", "40"], &[]).await;
    let second = replica(&db, second_dir.path(), &["--demo-conversations", "40"], &[]).await;
    let (a, b) = (first.client(None, Era::Modern).await, second.client(None, Era::Modern).await);

    // A call the second replica has never seen, answered from what the first computed: each attempt asks
    // something new, until both replicas have read the store's data generation.
    let mut shared = None;
    for limit in 1..=50 {
        let search = json!({"state": "open", "limit": limit});
        let computed = a.call_tool("search_conversations", search.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let served = b.call_tool("search_conversations", search.clone()).await.unwrap();
        if cache_hit(&served) {
            assert!(!cache_hit(&computed), "{computed}");
            assert_eq!(served["structuredContent"]["results"], computed["structuredContent"]["results"]);
            shared = Some(search);
            break;
        }
    }
    let search = shared.expect("no answer was shared between the replicas");
    let metrics = second.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("fastintercom_answer_cache_total{")
            && l.contains("level=\"l2\"")
            && l.contains("outcome=\"hit\"")),
        "{metrics}"
    );

    // Another process commits: neither replica answers from before it for more than a second.
    let store = db.open().await;
    store.mark_synced("demo", 2_000_000_000).await.unwrap();
    store.close().await;
    let committed = Instant::now();
    for client in [&a, &b] {
        let fresh = eventually(Duration::from_secs(1), || async {
            let answer = client.call_tool("search_conversations", search.clone()).await.unwrap();
            answer["structuredContent"]["metadata"]["data_as_of"] == json!("2033-05-18T03:33:20Z")
        })
        .await;
        assert!(fresh, "a replica answered from before the commit {:?} after it", committed.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_postgresql_is_announced_to_every_replica_at_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let (listening, writing) = (db.open().await, db.open().await);
    // Read on a timer only once an hour: what this replica learns sooner, it heard.
    let watch = listening.watch_data_generation(Duration::from_secs(3_600));
    let seen = |store: &fastintercom::store::Store| store.version_seen().map(|(_, generation)| generation);
    assert!(eventually(Duration::from_secs(5), || async { seen(&listening).is_some() }).await);
    let before = seen(&listening).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // the listener is connected by now
    writing.mark_synced("demo", 2_000_000_000).await.unwrap();
    assert_eq!(seen(&writing), Some(before + 1), "the writer knows its own commit's generation at once");
    let heard = eventually(Duration::from_secs(1), || async { seen(&listening) == Some(before + 1) }).await;
    assert!(heard, "the commit was not announced: {:?}", seen(&listening));
    watch.abort();
    listening.close().await;
    writing.close().await;
}

fn served_tools(listed: &serde_json::Value) -> Vec<String> {
    listed["tools"].as_array().expect("tools").iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

/// `fastintercom plugins <args>` against the PostgreSQL database of `db`, from a data directory of its own.
fn plugins_on(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::support::server_exe())
        .arg("--data-dir")
        .arg(db.dir.path().join("operator"))
        .args(db.database_args())
        .arg("plugins")
        .args(args)
        .env("FASTINTERCOM_CACHE_DIR", crate::http_support::shared_cache_dir())
        .output()
        .expect("plugins runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_installed_into_the_store_is_served_by_every_replica_and_withdrawn_alike() {
    use fastintercom_tests::{PROBE_MANIFEST, PROBE_WASM};
    let db = TestDb::new(Backend::Postgres).await;
    let second_dir = tempfile::TempDir::new().unwrap();
    let replicas = [
        replica(&db, db.dir.path(), &["--demo-conversations", "30"], &[]).await,
        replica(&db, second_dir.path(), &["--demo-conversations", "30"], &[]).await,
    ];
    let mut clients = Vec::new();
    for server in &replicas {
        let client = server.client(None, Era::Modern).await;
        let stream = client.open_notifications().await.unwrap();
        assert!(!served_tools(&client.request("tools/list", json!({})).await.unwrap()).contains(&"echo".to_owned()));
        clients.push((client, stream));
    }

    // Stored junk first (what a careless or hostile writer of the store could leave): every replica refuses it
    // and serves on.
    let store = db.open().await;
    let junk = b"not a component";
    store.install_plugin("junk", (junk, PROBE_MANIFEST, None), "junk-identity", 1).await.unwrap();

    let files = tempfile::TempDir::new().unwrap();
    std::fs::write(files.path().join("probe.wasm"), PROBE_WASM).unwrap();
    std::fs::write(files.path().join("probe.toml"), PROBE_MANIFEST).unwrap();
    let wasm = files.path().join("probe.wasm");
    let installed = plugins_on(&db, &["install", wasm.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&installed.stdout);
    let stderr = String::from_utf8_lossy(&installed.stderr);
    assert!(installed.status.success() && stdout.contains("into the store"), "{stdout} {stderr}");
    let installed_at = Instant::now();
    for (client, stream) in &mut clients {
        tokio::time::timeout(Duration::from_secs(10), async {
            while stream.next_message().await.unwrap().expect("the stream stays open")["method"]
                != "notifications/tools/list_changed"
            {}
        })
        .await
        .expect("no list_changed after the install");
        let tools = served_tools(&client.request("tools/list", json!({})).await.unwrap());
        assert!(tools.contains(&"echo".to_owned()) && tools.contains(&"search_conversations".to_owned()), "{tools:?}");
    }
    eprintln!(
        "a plugin installed into the store served by both replicas {:?} after the install",
        installed_at.elapsed()
    );
    // `plugins list` against the store judges it as the replicas do.
    let listed = plugins_on(&db, &["list", "--json"]);
    let reports: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("plugins list --json");
    let probe = reports.as_array().unwrap().iter().find(|r| r["name"] == "probe").expect("probe listed").clone();
    assert!(probe["problem"].is_null() && probe["tools"].to_string().contains("echo"), "{probe}");
    let junk = reports.as_array().unwrap().iter().find(|r| r["name"] == "junk").expect("junk listed").clone();
    assert!(junk["problem"].to_string().contains("names another plugin"), "{junk}");
    let echoed = clients[1].0.call_tool("echo", json!({"text": "from the store"})).await.unwrap();
    assert_eq!(echoed["structuredContent"], json!({"text": "from the store"}));
    for server in &replicas {
        let log = server.log();
        assert!(log.contains("store:junk") && log.contains("the manifest names another plugin"), "{log}");
    }

    let removed = plugins_on(&db, &["uninstall", "probe"]);
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    for (client, _) in &clients {
        let withdrawn = eventually(Duration::from_secs(10), || async {
            !served_tools(&client.request("tools/list", json!({})).await.unwrap()).contains(&"echo".to_owned())
        })
        .await;
        assert!(withdrawn, "a replica still serves the removed plugin");
    }
    let again = plugins_on(&db, &["uninstall", "probe"]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("no plugin named"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_an_empty_store_seed_the_demo_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let second_dir = tempfile::TempDir::new().unwrap();
    let args = ["--demo-conversations", "300"];
    let (first, second) =
        tokio::join!(replica(&db, db.dir.path(), &args, &[]), replica(&db, second_dir.path(), &args, &[]));
    let seeders = [&first, &second].iter().filter(|r| r.log().contains("seeding a demo workspace")).count();
    assert_eq!(seeders, 1, "{}\n{}", first.log(), second.log());
    let store = db.open().await;
    assert_eq!(store.counts().await.unwrap().conversations, 300);
    for server in [&first, &second] {
        let client = server.client(None, Era::Modern).await;
        let answer = client.call_tool("search_conversations", json!({"limit": 1})).await.unwrap();
        assert_eq!(answer["structuredContent"]["summary"]["total"], json!(300), "{answer}");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_sharing_one_redis_never_serve_each_others_answers() {
    // Two stores, one Redis prefix (the default one, say): the same call at the same data generation.
    let (one, other) = (TestDb::new(Backend::Postgres).await, TestDb::new(Backend::Postgres).await);
    let prefix = unique_prefix("two-deployments");
    sharing_redis(one.dir.path(), &prefix);
    sharing_redis(other.dir.path(), &prefix);
    let first = replica(&one, one.dir.path(), &["--demo-conversations", "30"], &[]).await;
    let second = replica(&other, other.dir.path(), &["--demo-conversations", "31"], &[]).await;
    let (a, b) = (first.client(None, Era::Modern).await, second.client(None, Era::Modern).await);
    let (one_store, other_store) = (one.open().await, other.open().await);
    let generations = (one_store.data_generation().await.unwrap(), other_store.data_generation().await.unwrap());
    assert_eq!(generations.0, generations.1, "the test needs both stores at one generation");

    let search = json!({"limit": 1});
    for _ in 0..20 {
        let computed = a.call_tool("search_conversations", search.clone()).await.unwrap();
        assert_eq!(computed["structuredContent"]["summary"]["total"], json!(30), "{computed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let answer = b.call_tool("search_conversations", search.clone()).await.unwrap();
        assert_eq!(answer["structuredContent"]["summary"]["total"], json!(31), "another store's answer: {answer}");
    }
    one_store.close().await;
    other_store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_seed_cut_short_is_completed_by_the_next_start() {
    let db = TestDb::new(Backend::Postgres).await;
    let first = replica(&db, db.dir.path(), &["--demo-conversations", "200"], &[]).await;
    drop(first);
    // What a seed killed part-way leaves: some of the rows, and no mark saying the demo is the data's source.
    let url = db.url().unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM conversations WHERE rowid IN (SELECT rowid FROM conversations ORDER BY rowid LIMIT 120)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM workspace_meta WHERE key IN ('source', 'last_synced_at')").execute(&pool).await.unwrap();
    pool.close().await;

    let second = replica(&db, db.dir.path(), &["--demo-conversations", "200"], &[]).await;
    assert!(second.log().contains("seeding a demo workspace"), "{}", second.log());
    let store = db.open().await;
    assert_eq!(store.counts().await.unwrap().conversations, 200);
    assert_eq!(store.freshness().await.unwrap().source, "demo");
    store.close().await;
    // A store marked seeded is left as it is.
    let third = replica(&db, db.dir.path(), &["--demo-conversations", "200"], &[]).await;
    assert!(!third.log().contains("seeding a demo workspace"), "{}", third.log());
}

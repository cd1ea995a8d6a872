//! `fastintercom sync` as a process: killed with SIGKILL mid-run and restarted, given a bad token, a token
//! without a scope, an unreachable host; and the webhook endpoint.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fastintercom::fake_intercom::{FakeIntercom, FakeOptions, Fault};
use fastintercom::sync::webhooks::{self, ClientSecret};
use fastintercom::sync::{NoProgress, SyncOptions};
use rand::{Rng as _, SeedableRng as _};

use fastintercom::protocol::stdio_client::{Era, StdioClient};

use crate::http_support::eventually;
use crate::support::server_exe;
use crate::support::{Backend, TestDb, on_both_backends};
use crate::sync_support::{TOKEN, assert_same, engine, expected_store, fake, fingerprint};

/// `fastintercom --data-dir <dir> sync` against `base_url` with `token`, retries kept short.
fn sync_command(dir: &TestDb, base_url: &str, token: &str) -> Command {
    let mut command = Command::new(server_exe());
    command
        .arg("--data-dir")
        .arg(dir.dir.path())
        .args(dir.database_args())
        .arg("sync")
        .env("INTERCOM_ACCESS_TOKEN", token)
        .env("INTERCOM_BASE_URL", base_url)
        .env("INTERCOM_MAX_RETRIES", "2")
        .env_remove("INTERCOM_CLIENT_SECRET")
        .env_remove("INTERCOM_REGION")
        .stdin(Stdio::null());
    command
}

async fn store_counts(dir: &TestDb) -> fastintercom::store::model::Counts {
    let store = dir.open().await;
    let counts = store.counts().await.expect("counts");
    store.close().await;
    counts
}

async fn kill_9_at_random_points_then_a_restart_loses_and_duplicates_nothing(backend: Backend) {
    let fake = fake(1_200).await;
    // Every answer takes a few milliseconds, so a sync lasts long enough to be killed in the middle.
    fake.inject(Fault::Slow(Duration::from_millis(3)), usize::MAX / 2);
    let dir = TestDb::new(backend).await;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x6b11);
    let mut interrupted_mid_run = false;
    let mut stored = 0;
    for _ in 0..4 {
        let mut child = sync_command(&dir, &fake.base_url(), TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sync starts");
        // Kill only once this run has written conversations of its own (however slow the machine is to start
        // it), at a random point after that.
        let started = Instant::now();
        while child.try_wait().expect("child status").is_none()
            && store_counts(&dir).await.conversations <= stored
            && started.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..100))).await;
        child.kill().ok();
        child.wait().expect("reaped");
        let conversations = store_counts(&dir).await.conversations;
        interrupted_mid_run |= conversations > stored && conversations < 1_200;
        stored = conversations;
        if conversations >= 1_200 {
            break;
        }
    }
    assert!(interrupted_mid_run, "no kill landed while conversations were being written; the test proved nothing");
    let status = sync_command(&dir, &fake.base_url(), TOKEN).stdout(Stdio::null()).status().expect("sync runs");
    assert!(status.success(), "the sync after the kills failed");
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    assert_same(&fingerprint(&dir).await, &fingerprint(&expected_dir).await, "after kill -9");
}

async fn after_a_sync_get_sync_status_and_every_answer_report_the_data_as_synced(backend: Backend) {
    let fake = fake(200).await;
    let dir = TestDb::new(backend).await;
    let output = sync_command(&dir, &fake.base_url(), TOKEN).output().expect("sync runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("conversations") && stderr.contains("written"), "a summary per resource: {stderr}");

    let database_args = dir.database_args();
    let args: Vec<&std::ffi::OsStr> = database_args.iter().map(std::ffi::OsStr::new).collect();
    let mut client =
        StdioClient::spawn(&server_exe(), dir.dir.path(), &args, Era::Modern).await.expect("server starts");
    client.open().await.expect("session");
    let answer = client.call_tool("get_sync_status", serde_json::json!({})).await.expect("call");
    let status = &answer["structuredContent"];
    assert_eq!(status["metadata"]["source"], "intercom", "{status}");
    let data_as_of = status["metadata"]["data_as_of"].as_str().expect("data_as_of");
    assert!(data_as_of.starts_with("2026-09-21"), "Intercom's clock, not this machine's: {data_as_of}");
    let conversations = status["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["resource"] == "conversations"))
        .expect("conversations status")
        .clone();
    assert_eq!(conversations["stored_items"], 200, "{conversations}");
    assert_eq!(conversations["last_run_items"], 200, "{conversations}");
    assert!(conversations["last_success_at"].is_string() && conversations["last_error"].is_null(), "{conversations}");
    assert_eq!(conversations["interrupted"], false);
    let search = client.call_tool("search_conversations", serde_json::json!({"limit": 1})).await.expect("call");
    assert_eq!(search["structuredContent"]["metadata"]["data_as_of"], data_as_of);
    assert_eq!(search["structuredContent"]["summary"]["total"], 200);
    assert!(client.shutdown().await.expect("shutdown"));

    let status = Command::new(server_exe())
        .arg("--data-dir")
        .arg(dir.dir.path())
        .args(dir.database_args())
        .args(["status", "--json"])
        .output()
        .expect("status runs");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!(status["source"], "intercom");
    assert_eq!(status["counts"]["conversations"], 200);
    assert_eq!(status["resources"].as_array().map(Vec::len), Some(7));
}

async fn serve_syncs_in_the_background_on_its_schedule_while_answering(backend: Backend) {
    let fake = fake(300).await;
    let dir = TestDb::new(backend).await;
    // The token from the config file (the environment has none): no demo is seeded, the background sync fills
    // the store.
    let config = format!("[intercom]\naccess_token = \"{TOKEN}\"\nbase_url = \"{}\"\n", fake.base_url());
    std::fs::write(dir.dir.path().join("config.toml"), config).expect("config file");
    let mut args = vec!["--sync-interval".to_owned(), "1s".to_owned()];
    args.extend(dir.database_args());
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let mut client =
        StdioClient::spawn(&server_exe(), dir.dir.path(), &args, Era::Legacy).await.expect("server starts");
    client.open().await.expect("session");

    let total = async |client: &mut StdioClient, query: serde_json::Value| {
        let answer = client.call_tool("search_conversations", query).await.expect("call");
        answer["structuredContent"]["summary"]["total"].as_u64().unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while total(&mut client, serde_json::json!({"limit": 1})).await < 300 {
        assert!(Instant::now() < deadline, "the background sync did not fill the store");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let id = fake.expected_conversations()[42].id.clone();
    fake.advance(120);
    fake.add_part(&id, "<p>The hyperborean invoice is wrong.</p>");
    let deadline = Instant::now() + Duration::from_secs(30);
    while total(&mut client, serde_json::json!({"query": "hyperborean"})).await != 1 {
        assert!(Instant::now() < deadline, "the next scheduled sync did not pick up the new part");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(client.shutdown().await.expect("shutdown"));
}

async fn a_bad_token_is_one_clear_message_a_failure_exit_and_nothing_written(backend: Backend) {
    let fake = fake(50).await;
    let dir = TestDb::new(backend).await;
    let output = sync_command(&dir, &fake.base_url(), "not-the-token").output().expect("sync runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.matches("rejected the access token").count(), 1, "{stderr}");
    assert!(!stderr.contains("not-the-token"), "the token leaked: {stderr}");
    assert_eq!(fake.stats().total, 1, "a 401 is not retried");
    assert_eq!(store_counts(&dir).await, Default::default());
}

async fn a_missing_scope_is_reported_plainly_before_anything_is_written(backend: Backend) {
    let mut options = FakeOptions::new(50);
    options.forbidden_paths = vec!["/conversations".to_owned()];
    let fake = FakeIntercom::start(options).await.expect("fake");
    let dir = TestDb::new(backend).await;
    // Twice: a failed first attempt must not let the second one write half a workspace.
    for attempt in 1..=2 {
        let output = sync_command(&dir, &fake.base_url(), TOKEN).output().expect("sync runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains("403") && stderr.contains("/conversations"), "attempt {attempt}: {stderr}");
        assert_eq!(stderr.lines().filter(|l| l.contains("403")).count(), 1, "attempt {attempt}: {stderr}");
        assert_eq!(store_counts(&dir).await, Default::default(), "attempt {attempt}");
    }
}

async fn an_unreachable_host_is_one_clear_message_and_nothing_written(backend: Backend) {
    let dir = TestDb::new(backend).await;
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let base_url = format!("http://127.0.0.1:{port}");
    let output = sync_command(&dir, &base_url, TOKEN).output().expect("sync runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(&format!("cannot reach Intercom at {base_url}")), "{stderr}");
    assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
    assert_eq!(store_counts(&dir).await, Default::default());
}

async fn a_signed_webhook_refreshes_its_conversation_and_a_forged_one_changes_nothing(backend: Backend) {
    let fake = fake(120).await;
    let (dir, engine) = engine(&fake, backend).await;
    engine.run(&SyncOptions::default(), &NoProgress).await.expect("sync");
    let secret = ClientSecret::new("webhook-secret");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}{}", listener.local_addr().expect("addr"), webhooks::PATH);
    let inbox = webhooks::Inbox::new(engine.store().clone());
    let router = inbox.router(secret.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let id = fake.expected_conversations()[7].id.clone();
    fake.advance(30);
    fake.add_part(&id, "<p>A quasquicentennial refund request.</p>");
    let body = serde_json::json!({
        "type": "notification_event",
        "id": "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
        "topic": "conversation.user.replied",
        "data": {"type": "notification_event_data", "item": fake.conversation_json(&id).expect("conversation")},
    })
    .to_string();
    let http = reqwest::Client::new();
    let post = |signature: String| http.post(&endpoint).header("X-Hub-Signature", signature).body(body.clone()).send();

    let before = fingerprint(&dir).await;
    let forged = post(webhooks::sign(&ClientSecret::new("guess"), body.as_bytes())).await.expect("post");
    assert_eq!(forged.status(), 401);
    let unsigned = http.post(&endpoint).body(body.clone()).send().await.expect("post");
    assert_eq!(unsigned.status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_same(&fingerprint(&dir).await, &before, "after forged webhooks");

    // Signed, but naming no object Intercom could have: refused, nothing kept.
    for hostile in ["x".repeat(300), "1\u{0}2".to_owned(), "12 OR 1=1".to_owned()] {
        let body = serde_json::json!({
            "id": "notif_hostile", "topic": "conversation.user.created", "data": {"item": {"id": hostile}},
        })
        .to_string();
        let refused = http.post(&endpoint).header("X-Hub-Signature", webhooks::sign(&secret, body.as_bytes()));
        assert_eq!(refused.body(body).send().await.expect("post").status(), 422, "{hostile:?}");
    }
    assert!(engine.store().pending_webhooks(i64::MAX, 10).await.expect("inbox").is_empty());

    let accepted = post(webhooks::sign(&secret, body.as_bytes())).await.expect("post");
    assert_eq!(accepted.status(), 202);
    // Kept until applied, once however often it is delivered: nothing applies it yet.
    let again = post(webhooks::sign(&secret, body.as_bytes())).await.expect("post");
    assert_eq!(again.status(), 200, "a redelivery is acknowledged");
    let pending = engine.store().pending_webhooks(i64::MAX, 10).await.expect("inbox");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].refresh, webhooks::Refresh::Conversation(id.clone()));
    tokio::spawn(inbox.apply(engine.clone()));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored = engine.store().get_conversation(&id).await.expect("read").expect("stored");
        if stored.parts.iter().any(|p| p.body.as_deref().is_some_and(|b| b.contains("quasquicentennial"))) {
            break;
        }
        assert!(Instant::now() < deadline, "the webhook did not refresh conversation {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (expected_dir, _expected) = expected_store(&fake, backend).await;
    assert_same(&fingerprint(&dir).await, &fingerprint(&expected_dir).await, "after webhook");
    let applied = eventually(Duration::from_secs(5), || async {
        engine.store().pending_webhooks(i64::MAX, 10).await.expect("inbox").is_empty()
    });
    assert!(applied.await, "the delivery stays pending after it was applied");
}

on_both_backends!(
    kill_9_at_random_points_then_a_restart_loses_and_duplicates_nothing,
    after_a_sync_get_sync_status_and_every_answer_report_the_data_as_synced,
    serve_syncs_in_the_background_on_its_schedule_while_answering,
    a_bad_token_is_one_clear_message_a_failure_exit_and_nothing_written,
    a_missing_scope_is_reported_plainly_before_anything_is_written,
    an_unreachable_host_is_one_clear_message_and_nothing_written,
    a_signed_webhook_refreshes_its_conversation_and_a_forged_one_changes_nothing,
);

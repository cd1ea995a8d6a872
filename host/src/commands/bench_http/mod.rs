//! `fastintercom bench-http`: throughput and latency of `tools/call` over Streamable HTTP with many concurrent
//! clients, as a load generator on loopback sees them.
//!
//! Seeds (once) the benchmark workspace, starts `fastintercom serve --http 127.0.0.1:0` as a child process (its
//! rate limit raised so the limiter is exercised but never refuses), then for each kind of call runs `--clients`
//! tasks that each send one request after another for `--seconds` (after a warm-up), and reports calls/s and
//! p50/p99. Load generator and server share the machine's cores, as they would on a one-box deployment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};

mod connection;

use connection::Connection;

use super::bench_support::{Percentiles, bench_workspace, filtered_search, ms, result_ids, store_env};
use crate::config::Config;
use crate::protocol::http_client::{Era, HttpClient, ServerProcess};

/// Makes the i-th request of one kind: (tool name, arguments).
type RequestMaker = Arc<dyn Fn(usize) -> (String, Value) + Send + Sync>;

/// Distinct requests of one kind each client cycles through, serialized before the clock starts.
const REQUESTS_PER_CLIENT: usize = 64;

#[derive(Debug, Args)]
pub struct BenchHttpArgs {
    /// Conversations in the benchmark workspace
    #[arg(long, default_value_t = 100_000)]
    pub conversations: usize,
    /// Concurrent clients, each with one request in flight
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Measured seconds per kind of call (after a warm-up of a fifth of it)
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Protocol era of the clients: modern (2026-07-28, stateless) or legacy (a session per client)
    #[arg(long, default_value = "modern", value_parser = ["modern", "legacy"])]
    pub era: String,
    /// Where the benchmark workspace is kept between runs [default: <data-dir>/bench-<conversations>]
    #[arg(long)]
    pub bench_dir: Option<PathBuf>,
    /// Keep the server's rate-limit buckets in this Redis (what replicas share), to measure what that costs per
    /// request
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Server processes on the one store, the clients spread evenly over them (replicas behind a load balancer;
    /// with --database-url, replicas of a team's deployment)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub replicas: u16,
}

pub async fn run(config: &Config, args: BenchHttpArgs) -> anyhow::Result<()> {
    let dir = bench_workspace(config, args.conversations, args.bench_dir.as_deref()).await?;
    let unlimited = "per_second = 1000000\nburst = 1000000\n";
    // With Redis, buckets under a prefix of this run's own, so that they start empty.
    let redis = format!("[redis]\nkey_prefix = \"fastintercom-bench:{}:\"\n", std::process::id());
    std::fs::write(
        dir.join("config.toml"),
        format!("[http.rate_limit]\n{unlimited}[http.keyless_rate_limit]\n{unlimited}{redis}"),
    )
    .context("cannot write the benchmark's config.toml")?;
    let env = store_env(config);
    let mut servers = Vec::with_capacity(usize::from(args.replicas));
    for _ in 0..args.replicas {
        servers.push(start_server(&dir, args.redis_url.as_deref(), &env).await?);
    }
    let urls: Vec<String> = servers.iter().map(|(_, url)| url.clone()).collect();
    let era = if args.era == "legacy" { Era::Legacy } else { Era::Modern };

    let mut probe = HttpClient::new(&urls[0], None, era);
    probe.open().await?;
    let ids = Arc::new(result_ids(&probe.call_tool("search_conversations", json!({"limit": 1000})).await?)?);
    let kinds: [(&str, RequestMaker); 2] = [
        ("get_conversation", {
            let ids = Arc::clone(&ids);
            Arc::new(move |i| ("get_conversation".to_owned(), json!({"id": ids[i % ids.len()]})))
        }),
        (
            "search_conversations (state + timeframe, limit 20)",
            Arc::new(|i| ("search_conversations".to_owned(), filtered_search(i))),
        ),
    ];

    let limits = if args.redis_url.is_some() { "rate limits kept in Redis" } else { "rate limits in process" };
    let backend = if config.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "tools/call over Streamable HTTP, {} conversations ({backend}), {} replica(s), {} clients ({} era), {} s per \
         kind, {limits}:",
        args.conversations, args.replicas, args.clients, args.era, args.seconds
    );
    println!();
    println!("| call | calls/s | p50 | p99 | errors |");
    println!("|---|---|---|---|---|");
    let measured = Duration::from_secs(args.seconds.max(1));
    for (label, request) in kinds {
        let mut clients = Vec::with_capacity(args.clients);
        for n in 0..args.clients {
            let mut client = HttpClient::new(&urls[n % urls.len()], None, era);
            client.open().await?;
            clients.push(client);
        }
        load(&clients, &request, measured / 5).await?; // warm-up
        let Measured { mut latencies, errors, elapsed } = load(&clients, &request, measured).await?;
        if latencies.is_empty() {
            bail!("no call of {label} succeeded");
        }
        let rate = latencies.len() as f64 / elapsed.as_secs_f64();
        let p = Percentiles::of(&mut latencies);
        println!("| {label} | {rate:.0} | {} | {} | {errors} |", ms(p.p50), ms(p.p99));
    }
    for (mut child, _) in servers {
        child.start_kill().ok();
        child.wait().await.ok();
    }
    Ok(())
}

/// Runs every client for `duration`; returns the latencies of successful calls and the number of failures.
///
/// The load generator shares the machine with the server, so it does as little as it can per call: each client
/// task has its own keep-alive connection (see [`connection`]) and requests serialized before the clock starts,
/// and an answer counts as a success when it is HTTP 200 with a JSON-RPC result that is not a tool error (found
/// by looking for the members, not by parsing the answer).
async fn load(clients: &[HttpClient], request: &RequestMaker, duration: Duration) -> anyhow::Result<Measured> {
    if clients.is_empty() {
        bail!("no clients");
    }
    let mut prepared = Vec::with_capacity(clients.len());
    for (n, client) in clients.iter().enumerate() {
        let url = reqwest::Url::parse(client.url()).context("the server's URL")?;
        let address = url.socket_addrs(|| None)?.into_iter().next().context("the server's address")?;
        let authority = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), address.port());
        let requests: Vec<Vec<u8>> = (0..REQUESTS_PER_CLIENT)
            .map(|k| {
                let (tool, arguments) = request(n * 7919 + k);
                let message =
                    client.request_message(k as u64, "tools/call", json!({"name": tool, "arguments": arguments}));
                let headers = client.post_headers("tools/call", Some(&tool));
                connection::post_request(&authority, url.path(), &headers, &message.to_string())
            })
            .collect();
        prepared.push((Connection::open(address).await?, address, requests));
    }
    let started = Instant::now();
    let until = started + duration;
    let mut tasks = Vec::with_capacity(prepared.len());
    for (mut connection, address, requests) in prepared {
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            for request in requests.iter().cycle() {
                if Instant::now() >= until {
                    break;
                }
                let started = Instant::now();
                match connection.exchange(request).await {
                    Ok((200, answer)) if is_tool_result(answer) => latencies.push(started.elapsed()),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        // The connection may be out of step with the server: start a new one.
                        errors += 1;
                        match Connection::open(address).await {
                            Ok(fresh) => connection = fresh,
                            Err(_) => break,
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut measured = Measured { latencies: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for task in tasks {
        let (latencies, errors) = task.await.context("a client task failed")?;
        measured.latencies.extend(latencies);
        measured.errors += errors;
    }
    measured.elapsed = started.elapsed();
    Ok(measured)
}

/// What the clients saw during one load.
struct Measured {
    /// Of the successful calls.
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

/// Whether a JSON answer is a `tools/call` result that is not a tool error. Our server writes compact JSON with
/// `result`, then `isError` only when set, so looking for the two members is exact for it.
fn is_tool_result(answer: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(answer, needle).is_some();
    has(b"\"result\":{") && !has(b"\"isError\":true")
}

/// Starts `serve --http 127.0.0.1:0` on `dir` and returns the child and its MCP URL.
async fn start_server(
    dir: &std::path::Path,
    redis_url: Option<&str>,
    env: &[(&str, String)],
) -> anyhow::Result<(tokio::process::Child, String)> {
    let exe = std::env::current_exe().context("cannot find the fastintercom executable")?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--http", "127.0.0.1:0", "--no-answer-cache"])
        .env("FASTINTERCOM_LOG", "warn,fastintercom::commands::serve=info")
        .env_remove("INTERCOM_ACCESS_TOKEN")
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())));
    if let Some(url) = redis_url {
        // Through the environment: any user of the machine can read a process's arguments.
        command.env("FASTINTERCOM_REDIS_URL", url);
    }
    let server = ServerProcess::spawn(command, Duration::from_secs(120)).await?;
    Ok((server.child, server.url))
}

#[cfg(test)]
mod tests {
    use super::is_tool_result;

    #[test]
    fn only_results_that_are_not_tool_errors_count_as_successes() {
        assert!(is_tool_result(br#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}"#));
        assert!(is_tool_result(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n"));
        assert!(!is_tool_result(br#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#));
        assert!(!is_tool_result(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool"}}"#));
        assert!(!is_tool_result(br#"{"error":"this Host is not allowed"}"#));
    }
}

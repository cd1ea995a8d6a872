//! Streamable HTTP: MCP at `/mcp` (rmcp's server, mounted in axum) behind the host's own gatekeeping, plus
//! probes and metrics for operators.
//!
//! A request to `/mcp` passes, in order: the `Host` and `Origin` checks (DNS rebinding), the per-request
//! timeout, authentication (a Bearer API key; keyless only on loopback with no key configured), the key's rate
//! limit and the session's owner. Only then does rmcp see it (body size limit, sessions for legacy clients,
//! stateless 2026-07-28 requests and `subscriptions/listen`). Plugins never see keys, limits or headers.
//!
//! Shutdown (SIGTERM, Ctrl-C): stop accepting connections, let the calls in flight finish (up to a grace
//! period), then close sessions and streams.

mod auth;
mod origin;
mod probes;
mod rate_limit;
mod sessions;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::config::HttpSettings;
use crate::protocol::McpServer;
use crate::shared::SharedRedis;
use crate::store::Store;

pub use auth::KEY_RELOAD_INTERVAL;

use auth::load_keys;
use origin::OriginPolicy;
use rate_limit::RateLimits;

/// How long calls in flight may take to finish once a shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything the HTTP server serves.
pub struct HttpApp {
    pub server: McpServer,
    pub store: Store,
    pub settings: HttpSettings,
    /// True when the Intercom token is configured (readiness then needs a recent sync).
    pub sync_expected: bool,
    /// The Redis replicas share rate limits through, if one is configured.
    pub shared: Option<Arc<SharedRedis>>,
}

/// Why the server refused to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "refusing to serve HTTP on {0} without an API key: anyone who can reach that address could use the \
         server. Create a key with `fastintercom keys create --name NAME`, or listen on a loopback address"
    )]
    NoKeysOnPublicAddress(SocketAddr),
    #[error("cannot listen on {address}: {reason}")]
    Bind { address: SocketAddr, reason: String },
    #[error("cannot read the API keys: {0}")]
    Keys(#[from] crate::store::StoreError),
    #[error("{0}")]
    Metrics(String),
}

/// A bound, not yet serving, HTTP server.
pub struct HttpServer {
    listener: tokio::net::TcpListener,
    router: Router,
    registry: Arc<crate::registry::Registry>,
    /// Ends every rmcp session and stream (rmcp's cancellation token, which it does not re-export).
    close_sessions: Box<dyn FnOnce() + Send>,
}

impl HttpServer {
    /// Binds `address` and builds the routes. Fails on a non-loopback address when no key exists.
    pub async fn bind(address: SocketAddr, app: HttpApp) -> Result<Self, StartError> {
        let (keys, configured) = load_keys(&app.store).await?;
        let loopback = address.ip().is_loopback();
        if configured == 0 && !loopback {
            return Err(StartError::NoKeysOnPublicAddress(address));
        }
        if app.shared.is_none() {
            tracing::info!(
                "no Redis configured: per-key rate limits are this replica's own (with several replicas, set \
                 --redis-url or [redis] url to share them)"
            );
        }
        if configured == 0 {
            tracing::warn!("no API keys configured: any local process may use the HTTP server until one is created");
        }
        let keys = Arc::new(ArcSwap::from_pointee(keys));
        let anonymous = Arc::new(AtomicBool::new(configured == 0));
        auth::reload_keys_periodically(app.store.clone(), Arc::clone(&keys), Arc::clone(&anonymous));
        let metrics = crate::observability::install_metrics().map_err(|e| StartError::Metrics(e.to_string()))?;

        // The Host check is ours, on every route (see `HostPolicy`); rmcp's own would be a second list.
        let config = StreamableHttpServerConfig::default()
            .with_max_request_body_bytes(app.settings.max_body_bytes)
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_json_response(true)
            .disable_allowed_hosts();
        let token = config.cancellation_token.clone();
        let close_sessions: Box<dyn FnOnce() + Send> = Box::new(move || token.cancel());
        let server = app.server.clone();
        let mcp =
            StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), config);

        let gate = auth::Gate {
            keys,
            anonymous,
            limits: Arc::new(RateLimits::new(
                &app.settings.rate_limit,
                &app.settings.key_rate_limits,
                &app.settings.keyless_rate_limit,
                app.shared.clone(),
            )),
        };
        let timeout = app.settings.request_timeout;
        let mcp_routes = Router::new()
            .nest_service("/mcp", mcp)
            .layer(middleware::from_fn_with_state(sessions::SessionOwners::default(), sessions::bind_sessions))
            .layer(middleware::from_fn_with_state(gate, auth::authenticate))
            .layer(middleware::from_fn(move |request: Request, next: Next| with_timeout(timeout, request, next)));
        let probes = probes::Probes {
            store: app.store.clone(),
            metrics,
            notifier: Arc::clone(app.server.notifier()),
            sync_expected: app.sync_expected,
            ready_max_sync_age: app.settings.ready_max_sync_age,
        };
        let router = Router::new()
            .route("/health", get(probes::health))
            .route("/ready", get(probes::ready))
            .route("/metrics", get(probes::metrics))
            .route("/.well-known/oauth-protected-resource", get(probes::resource_metadata))
            .route("/.well-known/oauth-protected-resource/mcp", get(probes::resource_metadata))
            .with_state(probes)
            .merge(mcp_routes)
            .layer(middleware::from_fn_with_state(
                OriginPolicy::new(&app.settings.allowed_origins),
                origin::check_origin,
            ))
            .layer(middleware::from_fn_with_state(HostPolicy::new(loopback, &app.settings.allowed_hosts), check_host))
            .layer(middleware::from_fn(with_request_id));

        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| StartError::Bind { address, reason: e.to_string() })?;
        Ok(Self { listener, router, registry: Arc::clone(app.server.registry()), close_sessions })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully (see the module docs).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Self { listener, router, registry, close_sessions } = self;
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            shutdown.await;
            let _ = stopping.send(());
            tracing::info!(calls = registry.calls_in_flight(), "shutting down: finishing the calls in flight");
            // The quiet period also lets the last results reach their streams before the sessions close.
            if !registry.drain(Duration::from_millis(200), SHUTDOWN_GRACE).await {
                tracing::warn!(calls = registry.calls_in_flight(), "calls still running after the grace period");
            }
            close_sessions();
        });
        // Without TCP_NODELAY, the last small write of an answer (an SSE stream's closing chunk) waits for the
        // client's delayed ACK: 40 ms on every legacy-session call on Linux.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
            }
        });
        axum::serve(listener, router.into_make_service())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    }
}

/// The `Host` names every route answers to (DNS rebinding): on loopback only loopback names and the configured
/// ones, so a page on another name that resolves to 127.0.0.1 cannot reach `/mcp` or read `/metrics`; on a
/// public address (where keys are required) the configured names, or any when none are.
#[derive(Debug, Clone)]
struct HostPolicy {
    allowed: Option<Arc<[String]>>,
}

impl HostPolicy {
    fn new(loopback: bool, configured: &[String]) -> Self {
        if !loopback && configured.is_empty() {
            return Self { allowed: None };
        }
        let mut allowed: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(str::to_owned).to_vec();
        allowed.extend(configured.iter().map(|host| host.to_ascii_lowercase()));
        Self { allowed: Some(allowed.into()) }
    }

    fn allows(&self, host: &str) -> bool {
        let Some(allowed) = &self.allowed else { return true };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        allowed.iter().any(|allowed| allowed.eq_ignore_ascii_case(name))
    }
}

async fn check_host(
    axum::extract::State(policy): axum::extract::State<HostPolicy>,
    request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !policy.allows(host) {
        return json_error(StatusCode::FORBIDDEN, "this Host is not allowed").into_response();
    }
    next.run(request).await
}

/// `{"error": message}` with `status`.
fn json_error(status: StatusCode, message: &str) -> impl IntoResponse {
    (status, axum::Json(serde_json::json!({"error": message})))
}

/// `http://<host>` of the request, for URLs in challenges and metadata. The Host header is used only when it
/// looks like a host name (it is client-controlled and ends up inside a quoted header parameter).
fn public_base(request: &Request) -> String {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            (1..=255).contains(&host.len()) && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Gives every request an `x-request-id` (ours, not the client's: it ends up in logs) and returns it.
async fn with_request_id(mut request: Request, next: Next) -> Response {
    let id = crate::observability::next_request_id();
    let value = HeaderValue::from_str(&id).expect("request ids are ASCII");
    request.headers_mut().insert("x-request-id", value.clone());
    let span = tracing::info_span!("http", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    response.headers_mut().insert("x-request-id", value);
    response
}

/// 504 when a request has no response (headers) within `timeout`. Streams already answering are not cut.
async fn with_timeout(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => json_error(StatusCode::GATEWAY_TIMEOUT, "the request took too long").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_answer_only_to_allowed_host_names() {
        let loopback = HostPolicy::new(true, &["mcp.example.com".to_owned()]);
        for ok in ["localhost", "localhost:8765", "127.0.0.1:1", "[::1]:8765", "[::1]", "MCP.example.com:443"] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for refused in ["evil.example", "evil.example:8765", "localhost.evil.example", "", "127.0.0.1.nip.io"] {
            assert!(!loopback.allows(refused), "{refused}");
        }
        assert!(HostPolicy::new(false, &[]).allows("anything.example"));
    }
}

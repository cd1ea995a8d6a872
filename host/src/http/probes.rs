//! Endpoints for operators and orchestrators: `/health` (the process answers), `/ready` (the store answers and,
//! when a real workspace is synced, the last sync is recent), `/metrics` (Prometheus text) and the OAuth 2.1
//! protected-resource metadata clients discover after a 401.

use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use crate::protocol::Notifier;
use crate::store::Store;
use std::sync::Arc;

/// What the probes read.
#[derive(Clone)]
pub struct Probes {
    pub store: Store,
    pub metrics: PrometheusHandle,
    pub notifier: Arc<Notifier>,
    /// True when a token is configured: readiness then also requires a recent successful sync.
    pub sync_expected: bool,
    pub ready_max_sync_age: Duration,
}

pub async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

pub async fn ready(State(probes): State<Probes>) -> Response {
    let freshness = match probes.store.freshness().await {
        Ok(freshness) => freshness,
        Err(error) => {
            tracing::warn!(%error, "readiness: the store does not answer");
            let body = json!({"status": "unavailable", "reason": "the store does not answer"});
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
    };
    let age = freshness.last_synced_at.map(|at| (crate::sync::unix_now() - at).max(0));
    let body = json!({"status": "ready", "source": freshness.source, "last_sync_age_seconds": age});
    if probes.sync_expected {
        let max = probes.ready_max_sync_age.as_secs() as i64;
        if freshness.source != "intercom" || age.is_none_or(|age| age > max) {
            let reason = match age {
                Some(age) if freshness.source == "intercom" => {
                    format!("the last successful sync began {age} s ago (more than {max} s)")
                }
                _ => "no sync from Intercom has completed yet".to_owned(),
            };
            let body = json!({"status": "stale", "reason": reason, "last_sync_age_seconds": age});
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
    }
    Json(body).into_response()
}

pub async fn metrics(State(probes): State<Probes>) -> Response {
    metrics::gauge!("fastintercom_mcp_clients_notifiable").set(probes.notifier.recipients() as f64);
    crate::observability::publish_cache_ratio();
    if let Ok(states) = probes.store.sync_states().await {
        let now = crate::sync::unix_now();
        for state in states {
            if let Some(at) = state.last_success_at {
                metrics::gauge!("fastintercom_sync_lag_seconds", "resource" => state.resource.clone())
                    .set((now - at).max(0) as f64);
            }
            metrics::gauge!("fastintercom_sync_last_run_items", "resource" => state.resource)
                .set(state.last_run_items as f64);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], probes.metrics.render()).into_response()
}

/// RFC 9728 metadata: this server is a protected resource taking bearer tokens in the header. It names no
/// authorization server: keys are issued by `fastintercom keys create`, not by an OAuth flow.
pub async fn resource_metadata(request: Request) -> Json<serde_json::Value> {
    let base = super::public_base(&request);
    Json(json!({
        "resource": format!("{base}/mcp"),
        "bearer_methods_supported": ["header"],
        "resource_name": "fastintercom",
    }))
}

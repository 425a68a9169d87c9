//! Liveness and readiness probes, and the metrics endpoint.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::json;

use crate::{db, state::AppState};

/// `GET /healthz`: the process serves HTTP. It touches nothing else, so it also measures the
/// cost of one HTTP round trip.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`: Prometheus's text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.metrics.render(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

/// Whether each CKB server the plans use accepts a TCP connection within a second.
async fn ckb_reachability(state: &AppState) -> Vec<serde_json::Value> {
    let plans = match crate::db::plans::list(&state.db).await {
        Ok(plans) => plans,
        Err(_) => return Vec::new(),
    };
    let mut endpoints: Vec<String> = plans
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| p.endpoint)
        .collect();
    endpoints.sort();
    endpoints.dedup();
    let checks = endpoints.into_iter().map(|endpoint| async move {
        let target = reqwest::Url::parse(&endpoint).ok().and_then(|url| {
            Some(format!(
                "{}:{}",
                url.host_str()?,
                url.port_or_known_default()?
            ))
        });
        let reachable = match target {
            Some(target) => matches!(
                tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::net::TcpStream::connect(target)
                )
                .await,
                Ok(Ok(_))
            ),
            None => false,
        };
        // Only the host and port: /readyz needs no token, and a URL says more than a probe
        // needs to.
        let host = reqwest::Url::parse(&endpoint)
            .ok()
            .and_then(|url| {
                Some(format!(
                    "{}:{}",
                    url.host_str()?,
                    url.port_or_known_default()?
                ))
            })
            .unwrap_or_default();
        json!({ "host": host, "reachable": reachable })
    });
    futures::future::join_all(checks).await
}

/// `GET /readyz`: 200 when the database answers and every migration is applied, 503 otherwise.
/// CKB's reachability is reported too, but does not fail readiness: leads are stored and
/// delivered later when CKB is down.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match db::pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => Ok(()),
        Ok(pending) => Err(format!("{} migrations pending", pending.len())),
        Err(error) => {
            tracing::warn!(error = ?error, "readiness check: database unavailable");
            Err("database unreachable".to_owned())
        }
    };
    let (status, database) = match database {
        Ok(()) => (StatusCode::OK, json!({ "ok": true })),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "ok": false, "error": reason }),
        ),
    };
    let ckb = ckb_reachability(&state).await;
    let body = json!({ "ready": status == StatusCode::OK, "database": database, "ckb": ckb });
    (status, Json(body))
}

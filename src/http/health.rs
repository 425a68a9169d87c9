//! Liveness and readiness probes.

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde_json::json;

use crate::{db, state::AppState};

/// `GET /healthz`: the process serves HTTP. It touches nothing else, so it also measures the
/// cost of one HTTP round trip.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database answers and every migration is applied, 503 otherwise.
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
    (
        status,
        Json(json!({ "ready": status == StatusCode::OK, "database": database })),
    )
}

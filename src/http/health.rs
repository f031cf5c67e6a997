//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers, schema current).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.db.backend_name();
    match state.db.migration_state().await {
        Ok(migrations) => {
            let ready = migrations.is_current();
            let body = json!({
                "status": if ready { "ready" } else { "migrations_pending" },
                "database": {"backend": backend, "reachable": true},
                "migrations": migrations,
                "provider": {"mode": state.provider_mode},
            });
            if ready {
                HttpResponse::Ok().json(body)
            } else {
                HttpResponse::ServiceUnavailable().json(body)
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "unavailable",
                "error": "database_unavailable",
                "message": "the database cannot be reached",
                "database": {"backend": backend, "reachable": false},
                "provider": {"mode": state.provider_mode},
            }))
        }
    }
}

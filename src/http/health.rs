//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers, schema current).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and every migration is applied; names the backend and provider mode.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable or migrations pending")))]
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

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let now = chrono::Utc::now().naive_utc();
    let stats = state.db.run(move |c| crate::store::admin::stats(c, now)).await;
    if let Err(e) = &stats {
        tracing::warn!(error = %e, "metrics: database gauges not refreshed");
    }
    match state.metrics.render(stats.as_ref().ok(), now) {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text),
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be rendered");
            HttpResponse::InternalServerError().finish()
        }
    }
}

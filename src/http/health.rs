//! `GET /healthz` (the process answers), `GET /readyz` (the database answers, schema current) and
//! `GET /metrics`: public routes, so none of them queries the database per request.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{ApiError, ErrorBody};
use super::AppState;

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answered and every migration was applied, as of the last check (every two
/// seconds, in the background: this answer runs no query); names the backend and provider mode.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable or migrations pending")))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.db.backend_name();
    let readiness = state.health.readiness();
    let checked_at = super::admin::utc(readiness.checked_at);
    match readiness.database {
        Ok(migrations) => {
            let ready = migrations.is_current();
            let body = json!({
                "status": if ready { "ready" } else { "migrations_pending" },
                "database": {"backend": backend, "reachable": true},
                "migrations": migrations,
                "provider": {"mode": state.provider_mode},
                "checked_at": checked_at,
            });
            if ready {
                HttpResponse::Ok().json(body)
            } else {
                HttpResponse::ServiceUnavailable().json(body)
            }
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "unavailable",
            "error": "database_unavailable",
            "message": "the database cannot be reached",
            "database": {"backend": backend, "reachable": false},
            "provider": {"mode": state.provider_mode},
            "checked_at": checked_at,
        })),
    }
}

/// Prometheus text exposition, from memory (the database gauges are refreshed in the
/// background). With `metrics.token` set, only `Authorization: Bearer <token>` is answered.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, body = ErrorBody)),
    security((), ("metrics_bearer" = [])))]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.metrics_token {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .unwrap_or_default();
        let presented: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        if !bool::from(presented.ct_eq(token)) {
            return Err(ApiError::AdminUnauthorized(
                "/metrics needs the bearer token of metrics.token (Authorization: Bearer <token>)".into(),
            ));
        }
    }
    match state.metrics.render() {
        Ok(text) => Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text)),
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be rendered");
            Ok(HttpResponse::InternalServerError().finish())
        }
    }
}

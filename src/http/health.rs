//! `GET /healthz` (the process answers), `GET /readyz` (the database answers, schema current) and
//! `GET /metrics`: public routes, so none of them queries the database per request.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::db::MigrationState;
use crate::pacing::{Gate, Snapshot};

use super::error::{ApiError, ErrorBody};
use super::AppState;

/// `/healthz`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alive {
    /// Always `ok`.
    status: &'static str,
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Alive)), security(()))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Alive { status: "ok" })
}

/// `/readyz`'s answer: whether the instance can take deliveries, as of `checked_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    status: ReadyStatus,
    database: DatabaseState,
    /// Applied and pending migrations; absent when the database cannot be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    migrations: Option<MigrationState>,
    provider: ProviderState,
    /// When the background check last ran (RFC 3339, UTC).
    checked_at: String,
    /// `database_unavailable` when the database cannot be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum ReadyStatus {
    Ready,
    MigrationsPending,
    Unavailable,
}

#[derive(Debug, Serialize, ToSchema)]
struct DatabaseState {
    /// `sqlite` or `postgres`.
    backend: &'static str,
    reachable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
struct ProviderState {
    /// `airbyte` or `dry-run`.
    mode: &'static str,
    /// The pacing gate every call to the provider passes; absent in dry run. A closed gate
    /// (the provider refused calls for its rate) does not make the instance unready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pacing: Option<Snapshot>,
}

/// The database answered and every migration was applied, as of the last check (every two
/// seconds, in the background: this answer runs no query); names the backend and provider mode.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Readiness, description = "ready"),
        (status = 503, body = Readiness, description = "`migrations_pending`, or `unavailable`: the database cannot be reached")),
    security(()))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let readiness = state.health.readiness();
    let reachable = readiness.database.is_ok();
    let migrations = readiness.database.ok();
    let status = match &migrations {
        Some(m) if m.is_current() => ReadyStatus::Ready,
        Some(_) => ReadyStatus::MigrationsPending,
        None => ReadyStatus::Unavailable,
    };
    let ready = matches!(status, ReadyStatus::Ready);
    let body = Readiness {
        status,
        database: DatabaseState {
            backend: state.db.backend_name(),
            reachable,
        },
        migrations,
        provider: ProviderState {
            mode: state.provider_mode,
            pacing: state.pacing.as_ref().map(Gate::snapshot),
        },
        checked_at: super::admin::utc(readiness.checked_at),
        error: (!reachable).then_some("database_unavailable"),
        message: (!reachable).then_some("the database cannot be reached"),
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition, from memory (the database gauges are refreshed in the
/// background). With `metrics.token` set, only `Authorization: Bearer <token>` is answered.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, body = ErrorBody, description = "`unauthorized`: metrics.token is set and was not sent"),
        (status = 500, description = "the metrics could not be rendered")),
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

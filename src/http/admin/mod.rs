//! The admin API under `/api/admin`: events, replays, tenants, statistics, and notification
//! subscriptions with their delivery logs, test sends and delivery statistics, reconciler runs.

mod auth;
pub mod deliveries;
pub mod delivery_stats;
pub mod events;
pub mod reconcile;
pub mod subscriptions;
pub mod tenants;
pub mod test_sends;

use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};

pub use auth::{AdminTokens, Operator, Viewer};

use super::error::ApiError;

/// Largest page any list returns.
pub const MAX_LIMIT: i64 = 500;
const DEFAULT_LIMIT: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use super::resource;
    cfg.service(resource("/api/admin/events").route(web::get().to(events::list)))
        .service(resource("/api/admin/events/replay").route(web::post().to(events::replay_matching)))
        .service(resource("/api/admin/events/{id}").route(web::get().to(events::show)))
        .service(resource("/api/admin/events/{id}/replay").route(web::post().to(events::replay_one)))
        .service(resource("/api/admin/tenants").route(web::get().to(tenants::list)))
        .service(resource("/api/admin/tenants/{tenant_id}").route(web::get().to(tenants::show)))
        .service(resource("/api/admin/stats").route(web::get().to(tenants::stats)))
        .service(resource("/api/admin/reconcile/runs").route(web::get().to(reconcile::list)))
        .service(resource("/api/admin/reconcile/runs/{id}").route(web::get().to(reconcile::show)))
        .service(resource("/api/admin/notifications/events").route(web::get().to(deliveries::catalog)))
        .service(resource("/api/admin/notifications/stats").route(web::get().to(delivery_stats::all)))
        .service(resource("/api/admin/notifications/test").route(web::post().to(test_sends::url)))
        .service(
            resource("/api/admin/notifications/subscriptions")
                .route(web::get().to(subscriptions::list))
                .route(web::post().to(subscriptions::create)),
        )
        // Before `/subscriptions/{id}`, which would take `test` for an id and answer 405.
        .service(resource("/api/admin/notifications/subscriptions/test").route(web::post().to(test_sends::all)))
        .service(
            resource("/api/admin/notifications/subscriptions/{id}")
                .route(web::get().to(subscriptions::show))
                .route(web::patch().to(subscriptions::update))
                .route(web::delete().to(subscriptions::delete)),
        )
        .service(
            resource("/api/admin/notifications/subscriptions/{id}/rotate-secret")
                .route(web::post().to(subscriptions::rotate)),
        )
        .service(
            resource("/api/admin/notifications/subscriptions/{id}/test")
                .route(web::post().to(test_sends::subscription)),
        )
        .service(
            resource("/api/admin/notifications/subscriptions/{id}/stats").route(web::get().to(delivery_stats::one)),
        )
        .service(
            resource("/api/admin/notifications/subscriptions/{id}/deliveries").route(web::get().to(deliveries::list)),
        )
        .service(
            resource("/api/admin/notifications/deliveries/{id}/redeliver").route(web::post().to(deliveries::redeliver)),
        );
}

/// A page size within bounds.
fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::InvalidQuery(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {n}"
        ))),
    }
}

/// An RFC 3339 time from a query parameter, as the stored UTC form.
fn parse_time(name: &str, value: Option<&str>) -> Result<Option<NaiveDateTime>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc).naive_utc())
                .map_err(|_| {
                    ApiError::InvalidQuery(format!(
                        "{name} must be an RFC 3339 time such as 2026-01-31T12:00:00Z, got `{v}`"
                    ))
                })
        })
        .transpose()
}

/// Stored times are UTC; show them as such.
pub(crate) fn utc(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

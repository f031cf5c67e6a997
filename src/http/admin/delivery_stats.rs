//! Delivery statistics over a window: of every subscription, or of one.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::subscriptions::now;
use super::Viewer;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::notifications::stats::{self, DeliveryStats, Window};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// How far back to look, in seconds: deliveries queued since then count (default 86400: the
    /// last 24 hours).
    #[param(minimum = 1, maximum = 2592000)]
    window_secs: Option<u64>,
}

impl StatsQuery {
    fn window(&self) -> Result<Window, ApiError> {
        self.window_secs
            .map_or(Ok(Window::default()), Window::new)
            .map_err(|e| ApiError::InvalidQuery(e.to_string()))
    }
}

/// How the deliveries queued in the window went, overall, per subscription and per notification
/// type: counts by status, success rate, average attempts, and the median and 95th percentile
/// of the attempts' durations.
#[utoipa::path(get, path = "/api/admin/notifications/stats", tag = "notifications", params(StatsQuery),
    responses((status = 200, body = DeliveryStats), (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON, or an unknown field; `invalid_query`: a parameter out of range"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn all(
    _: Viewer,
    state: web::Data<AppState>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let figures = stats::collect(&state.db, query.window()?, None, now()).await?;
    Ok(HttpResponse::Ok().json(figures))
}

/// The same for one subscription; `event_types` then counts its deliveries only.
#[utoipa::path(get, path = "/api/admin/notifications/subscriptions/{id}/stats", tag = "notifications",
    params(("id" = String, Path), StatsQuery),
    responses((status = 200, body = DeliveryStats), (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON, or an unknown field; `invalid_query`: a parameter out of range"), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn one(
    _: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let figures = stats::collect(&state.db, query.window()?, Some(&id), now()).await?;
    Ok(HttpResponse::Ok().json(figures))
}

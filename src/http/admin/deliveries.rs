//! The notification catalog, each subscription's delivery log, and manual redelivery.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{limit, utc, Operator, Viewer};
use crate::config::Role;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::notifications::catalog::{self, CatalogEntry};
use crate::notifications::destination;
use crate::notifications::store::{self as store, AttemptRecord, DeliveryStatus, Redelivery};
use crate::notifications::subscriptions as subs;
use crate::operations::deliveries::{self as operation, DeliveryEntry};
use crate::operations::Actor;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationCatalog {
    /// Each type a subscription can ask for (`*` asks for all), with a complete example envelope.
    event_types: Vec<CatalogEntry>,
    /// The envelope every notification comes in.
    envelope: &'static str,
}

/// The notification types, each with a complete example of its envelope, and how envelopes are
/// signed.
#[utoipa::path(get, path = "/api/admin/notifications/events", tag = "notifications",
    responses((status = 200, body = NotificationCatalog), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn catalog(_: Viewer) -> HttpResponse {
    HttpResponse::Ok().json(NotificationCatalog {
        event_types: catalog::entries(),
        envelope: r#"{"id": "msg_…", "type": "workspace.provisioned", "timestamp": "RFC 3339", "tenant_id": "…", "data": {…}}, signed with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)"#,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Page size, 1–500 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttemptView {
    attempt: i32,
    at: String,
    /// Null when the endpoint gave no answer.
    status_code: Option<i32>,
    /// The start of the answer's body, truncated.
    response_body: Option<String>,
    error: Option<String>,
    duration_ms: i64,
}

impl From<&AttemptRecord> for DeliveryAttemptView {
    fn from(a: &AttemptRecord) -> Self {
        Self {
            attempt: a.attempt,
            at: utc(a.at),
            status_code: a.status_code,
            response_body: a.response_body.clone(),
            error: a.error.clone(),
            duration_ms: a.duration_ms,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    id: i64,
    message_id: String,
    event_type: String,
    tenant_id: Option<String>,
    status: DeliveryStatus,
    attempts: i32,
    next_attempt_at: Option<String>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: String,
    finished_at: Option<String>,
    attempt_log: Vec<DeliveryAttemptView>,
}

impl From<DeliveryEntry> for DeliveryView {
    fn from(entry: DeliveryEntry) -> Self {
        let (d, m) = (&entry.delivery, &entry.message);
        let waiting = matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::FailedRetrying);
        Self {
            id: d.id,
            message_id: m.id.clone(),
            event_type: m.event_type.clone(),
            tenant_id: m.tenant_id.clone(),
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: waiting.then(|| utc(d.next_attempt_at)),
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            created_at: utc(d.created_at),
            finished_at: d.finished_at.map(utc),
            attempt_log: entry.attempts.iter().map(DeliveryAttemptView::from).collect(),
        }
    }
}

impl DeliveryView {
    /// The view a viewer's token gets: answers that echo the subscription URL's path or query
    /// (which may carry the subscriber's token) have them replaced by `/…`.
    fn shown_to_viewer(mut self, url: &str) -> Self {
        for attempt in &mut self.attempt_log {
            attempt.response_body = attempt.response_body.take().map(|b| destination::redacted_in(&b, url));
        }
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<i64>,
}

/// A subscription's deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/api/admin/notifications/subscriptions/{id}/deliveries", tag = "notifications",
    params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON, or an unknown field; `invalid_query`: a parameter out of range"), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    Viewer(role): Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let subscription = subs::find(&state.db, &id).await?;
    let page = operation::list(&state.db, subscription.id, query.cursor, limit).await?;
    let page = page.map(DeliveryView::from);
    let page = match role {
        Role::Viewer => page.map(|d| d.shown_to_viewer(&subscription.url)),
        Role::Operator => page,
    };
    Ok(HttpResponse::Ok().json(DeliveryPage {
        deliveries: page.items,
        next_cursor: page.next,
    }))
}

/// A delivery queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct Redelivered {
    /// Always `queued`.
    status: &'static str,
    delivery_id: i64,
}

/// Sends a finished delivery (succeeded or dead) again, at once, with a fresh retry schedule.
#[utoipa::path(post, path = "/api/admin/notifications/deliveries/{id}/redeliver", tag = "notifications",
    params(("id" = i64, Path, description = "delivery id")),
    responses((status = 200, body = Redelivered), (status = 404, body = ErrorBody, description = "`not_found`"), (status = 409, body = ErrorBody, description = "`conflict`: the delivery is not finished"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token")),
    security(("bearer" = ["operator"])))]
pub async fn redeliver(_: Operator, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let now = chrono::Utc::now().naive_utc();
    let by = Actor::admin_api();
    match state.db.run(move |c| store::redeliver(c, id, &by, now)).await? {
        Redelivery::Queued => {
            tracing::info!(delivery.id = id, "notification redelivery queued by an operator");
            state.notices.notify_one();
            Ok(HttpResponse::Ok().json(Redelivered {
                status: "queued",
                delivery_id: id,
            }))
        }
        Redelivery::NotFound => Err(ApiError::Missing(format!("no delivery {id}"))),
        Redelivery::NotFinished(status) => Err(ApiError::Conflict(format!(
            "delivery {id} is {status}: only finished deliveries (succeeded, dead) can be redelivered"
        ))),
    }
}

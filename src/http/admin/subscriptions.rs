//! `/api/admin/notifications/subscriptions`: create, list, show, change, delete, and rotate the
//! secret (test sends are in [`super::test_sends`]).

use actix_web::{web, HttpResponse};
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;

use super::{utc, Operator, Viewer};
use crate::config::Role;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::notifications::destination::{self, DestinationError};
use crate::notifications::store::{self as store, Subscription};
use crate::notifications::subscriptions::{
    self as subs, NewSubscription, SubscriptionChange, SubscriptionError, WithSecret,
};
use crate::operations::Actor;

/// A subscription as shown; its secret never is, except once when it is made.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    id: String,
    /// A short label, e.g. "CRM sync".
    name: Option<String>,
    /// Where notifications are POSTed. A viewer's token is shown the scheme and host alone
    /// (`https://hooks.example.com/…`): a path or query may carry the subscriber's token.
    url: String,
    event_types: Vec<String>,
    tenant_id: Option<String>,
    description: Option<String>,
    /// This subscriber's request timeout; null: `notifications.request_timeout_ms`.
    request_timeout_ms: Option<i32>,
    /// Attempts before a delivery is dead; null: the retry schedule's length + 1.
    max_attempts: Option<i32>,
    active: bool,
    /// Why it is inactive (paused, 410 Gone, failing for too long).
    disabled_reason: Option<String>,
    /// Since when every delivery attempt has failed.
    failing_since: Option<String>,
    /// Until when the previous secret also signs, after a rotation.
    previous_secret_valid_until: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            url: s.url.clone(),
            event_types: s.types(),
            tenant_id: s.tenant_id.clone(),
            description: s.description.clone(),
            request_timeout_ms: s.request_timeout_ms,
            max_attempts: s.max_attempts,
            active: s.active,
            disabled_reason: s.disabled_reason.clone(),
            failing_since: s.failing_since.map(utc),
            previous_secret_valid_until: s.previous_secret_expires_at.map(utc),
            created_at: utc(s.created_at),
            updated_at: utc(s.updated_at),
        }
    }
}

impl SubscriptionView {
    /// The view as `role` may see it: a viewer is not shown the URL's path and query.
    fn shown_to(mut self, role: Role) -> Self {
        if role == Role::Viewer {
            self.url = destination::redacted(&self.url);
        }
        self
    }
}

/// A subscription with its signing secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    subscription: SubscriptionView,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks). Shown once; store it now.
    secret: String,
}

impl From<&WithSecret> for SubscriptionWithSecret {
    fn from(s: &WithSecret) -> Self {
        Self {
            subscription: (&s.subscription).into(),
            secret: s.secret.expose_secret().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    subscriptions: Vec<SubscriptionView>,
}

/// Subscribes a URL to notifications; answers the subscription with its secret, shown once.
#[utoipa::path(post, path = "/api/admin/notifications/subscriptions", tag = "notifications", request_body = NewSubscription,
    responses((status = 201, body = SubscriptionWithSecret), (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON, or an unknown field; `invalid_query`: a parameter out of range"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token"), (status = 422, body = ErrorBody, description = "`invalid_url`, `destination_not_allowed`, `destination_unresolvable`, `unknown_event_type` or `invalid_subscription`")),
    security(("bearer" = ["operator"])))]
pub async fn create(
    _: Operator,
    state: web::Data<AppState>,
    body: web::Json<NewSubscription>,
) -> Result<HttpResponse, ApiError> {
    let created = subs::create(
        &state.db,
        &state.notifier,
        &state.sealer,
        body.into_inner(),
        &Actor::admin_api(),
        now(),
    )
    .await?;
    tracing::info!(subscription.id = %created.subscription.id, "subscription created");
    Ok(HttpResponse::Created().json(SubscriptionWithSecret::from(&created)))
}

/// Every subscription, oldest first.
#[utoipa::path(get, path = "/api/admin/notifications/subscriptions", tag = "notifications",
    responses((status = 200, body = SubscriptionList), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn list(Viewer(role): Viewer, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = state.db.run(store::list_subscriptions).await?;
    Ok(HttpResponse::Ok().json(SubscriptionList {
        subscriptions: rows.iter().map(|s| SubscriptionView::from(s).shown_to(role)).collect(),
    }))
}

#[utoipa::path(get, path = "/api/admin/notifications/subscriptions/{id}", tag = "notifications", params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn show(
    Viewer(role): Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = subs::find(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(&row).shown_to(role)))
}

/// Changes a subscription: url, event_types, tenant_id, name, description, request_timeout_ms,
/// max_attempts (null puts either back to the global default), or active (false stops queuing
/// notifications for it and holds those already queued; true resumes, also after an automatic
/// disable).
#[utoipa::path(patch, path = "/api/admin/notifications/subscriptions/{id}", tag = "notifications", params(("id" = String, Path)),
    request_body = SubscriptionChange,
    responses((status = 200, body = SubscriptionView), (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON, or an unknown field; `invalid_query`: a parameter out of range"), (status = 404, body = ErrorBody, description = "`not_found`"), (status = 422, body = ErrorBody, description = "`invalid_url`, `destination_not_allowed`, `destination_unresolvable`, `unknown_event_type` or `invalid_subscription`"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token")),
    security(("bearer" = ["operator"])))]
pub async fn update(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<SubscriptionChange>,
) -> Result<HttpResponse, ApiError> {
    let row = subs::update(
        &state.db,
        &state.notifier,
        &id,
        body.into_inner(),
        &Actor::admin_api(),
        now(),
    )
    .await?;
    tracing::info!(subscription.id = %row.id, active = row.active, "subscription updated");
    Ok(HttpResponse::Ok().json(SubscriptionView::from(&row)))
}

/// Deletes a subscription with its deliveries and their log.
#[utoipa::path(delete, path = "/api/admin/notifications/subscriptions/{id}", tag = "notifications", params(("id" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token")),
    security(("bearer" = ["operator"])))]
pub async fn delete(_: Operator, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    subs::delete(&state.db, &id, &Actor::admin_api(), now()).await?;
    tracing::info!(subscription.id = %id, "subscription deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret, shown once. The previous one keeps signing deliveries (each then carries
/// both signatures) for `notifications.rotation_grace_secs`.
#[utoipa::path(post, path = "/api/admin/notifications/subscriptions/{id}/rotate-secret", tag = "notifications", params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionWithSecret), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token")),
    security(("bearer" = ["operator"])))]
pub async fn rotate(_: Operator, state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let row = subs::rotate(
        &state.db,
        &state.sealer,
        &id,
        state.rotation_grace,
        &Actor::admin_api(),
        now(),
    )
    .await?;
    tracing::info!(subscription.id = %row.subscription.id, "subscription secret rotated");
    Ok(HttpResponse::Ok().json(SubscriptionWithSecret::from(&row)))
}

pub(super) fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

impl From<SubscriptionError> for ApiError {
    fn from(e: SubscriptionError) -> Self {
        let code = match &e {
            SubscriptionError::Destination(DestinationError::NotAllowed { .. }) => "destination_not_allowed",
            SubscriptionError::Destination(DestinationError::Unresolvable { .. }) => "destination_unresolvable",
            SubscriptionError::Destination(_) => "invalid_url",
            SubscriptionError::UnknownType(_) => "unknown_event_type",
            SubscriptionError::NoTypes | SubscriptionError::Empty(_) | SubscriptionError::OutOfRange(_) => {
                "invalid_subscription"
            }
            SubscriptionError::NotFound(_) => return Self::Missing(e.to_string()),
            SubscriptionError::Store(_) | SubscriptionError::Unexpected(_) => "",
        };
        match e {
            SubscriptionError::Store(e) => e.into(),
            SubscriptionError::Unexpected(e) => Self::Unexpected(e),
            other => Self::Unprocessable {
                code,
                message: other.to_string(),
            },
        }
    }
}

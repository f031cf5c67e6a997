//! Test sends: a signed `subscription.test` notification sent now to one subscription, to every
//! active one, or to any URL before subscribing it. Nothing is queued or retried.

use actix_web::{web, HttpResponse};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::subscriptions::now;
use super::Operator;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::notifications::sender::SendResult;
use crate::notifications::test_sends;
use crate::operations::Actor;

/// How a test send went.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSendResult {
    /// Whether the endpoint answered 2xx.
    delivered: bool,
    /// The endpoint's status code; null when it gave no answer.
    status_code: Option<u16>,
    latency_ms: u64,
    /// The start of the answer's body.
    response_body: Option<String>,
    /// Why it was not delivered.
    error: Option<String>,
}

impl From<SendResult> for TestSendResult {
    fn from(result: SendResult) -> Self {
        Self {
            delivered: result.delivered(),
            status_code: result.status,
            latency_ms: latency_ms(&result),
            response_body: result.body,
            error: result.error,
        }
    }
}

fn latency_ms(result: &SendResult) -> u64 {
    u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX)
}

/// Where to send a test.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlTest {
    /// Checked as a subscription's URL is: https (plain http only where
    /// `notifications.allow_http` is true), a public address unless allowed.
    #[schema(format = "uri")]
    url: String,
}

/// How a test send to a URL went, with the secret it was signed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct UrlTestResult {
    #[serde(flatten)]
    result: TestSendResult,
    /// `whsec_…`, made for this send alone and kept nowhere: verify the request with it.
    secret: String,
}

/// How the test send to one subscription went.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionTestResult {
    subscription_id: String,
    name: Option<String>,
    url: String,
    delivered: bool,
    status_code: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionTestResults {
    /// Active subscriptions tried.
    tested: usize,
    /// Of which answered 2xx.
    delivered: usize,
    /// One entry per active subscription, oldest first.
    results: Vec<SubscriptionTestResult>,
}

/// Sends a signed `subscription.test` notification now and answers how it went (nothing is
/// queued or retried).
#[utoipa::path(post, path = "/api/admin/notifications/subscriptions/{id}/test", tag = "notifications", params(("id" = String, Path)),
    responses((status = 200, body = TestSendResult), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token")),
    security(("bearer" = ["operator"])))]
pub async fn subscription(
    _: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let result = test_sends::test_subscription(
        &state.db,
        &state.notifier,
        &state.sealer,
        &id,
        &Actor::admin_api(),
        now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(TestSendResult::from(result)))
}

/// Sends a signed `subscription.test` notification now to every active subscription, a few at
/// once, each within its own timeout; answers one entry per subscription. Paused and disabled
/// subscriptions are left out.
#[utoipa::path(post, path = "/api/admin/notifications/subscriptions/test", tag = "notifications",
    responses((status = 200, body = SubscriptionTestResults), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token")),
    security(("bearer" = ["operator"])))]
pub async fn all(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tried =
        test_sends::test_all_active(&state.db, &state.notifier, &state.sealer, &Actor::admin_api(), now()).await?;
    let results: Vec<SubscriptionTestResult> = tried
        .into_iter()
        .map(|t| SubscriptionTestResult {
            subscription_id: t.subscription.id,
            name: t.subscription.name,
            url: t.subscription.url,
            delivered: t.result.delivered(),
            status_code: t.result.status,
            latency_ms: latency_ms(&t.result),
            error: t.result.error,
        })
        .collect();
    let delivered = results.iter().filter(|r| r.delivered).count();
    tracing::info!(
        tested = results.len(),
        delivered,
        "test sent to every active subscription"
    );
    Ok(HttpResponse::Ok().json(SubscriptionTestResults {
        tested: results.len(),
        delivered,
        results,
    }))
}

/// Sends a signed `subscription.test` notification now to any URL, without subscribing it; it
/// is signed with a secret made for this send alone, answered so the receiver can verify it.
/// The URL meets the rules a subscription's does.
#[utoipa::path(post, path = "/api/admin/notifications/test", tag = "notifications", request_body = UrlTest,
    responses((status = 200, body = UrlTestResult), (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON, or an unknown field; `invalid_query`: a parameter out of range"), AdminFailures, (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token"), (status = 422, body = ErrorBody, description = "`invalid_url`, `destination_not_allowed`, `destination_unresolvable`, `unknown_event_type` or `invalid_subscription`")),
    security(("bearer" = ["operator"])))]
pub async fn url(_: Operator, state: web::Data<AppState>, body: web::Json<UrlTest>) -> Result<HttpResponse, ApiError> {
    let tried = test_sends::test_url(&state.db, &state.notifier, &body.url, &Actor::admin_api(), now()).await?;
    Ok(HttpResponse::Ok().json(UrlTestResult {
        secret: tried.secret.expose_secret().to_owned(),
        result: tried.result.into(),
    }))
}

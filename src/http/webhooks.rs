//! `POST /api/webhooks/frontegg[/{alias}]` and the event catalog.

use std::time::Duration;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::error::{ApiError, ErrorBody};
use super::responses::Refusals;
use super::AppState;
use crate::events::{self, EventKind};
use crate::ingest::{self, Delivery, IngestError, Receipt, ReceiptStatus, Source};
use crate::verify::HeaderSource;

/// Adapts actix's header map to the verifier's lookup.
struct Headers<'a>(&'a HeaderMap);

impl HeaderSource for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The per-event alias routes of Frontegg's setup guide.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code, reason = "names the aliases in the OpenAPI document")]
pub enum Alias {
    TenantCreated,
    TenantDeleted,
    UserActivated,
    UserDeactivated,
    SsoChanged,
}

/// Every event on the general route.
#[utoipa::path(post, path = "/api/webhooks/frontegg", tag = "webhooks",
    request_body(content = Object, description = "Frontegg's `eventKey`/`eventContext` shape or the flat `eventType` shape", content_type = "application/json"),
    responses((status = 200, body = Receipt), Refusals),
    security(("frontegg_jwt" = []), ("hmac_sha256" = []), ("standard_webhooks" = [])))]
pub async fn receive(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    receive_as(req, body, state, None).await
}

/// The per-event alias routes (`/tenant-created`, …): the body's event must match.
#[utoipa::path(post, path = "/api/webhooks/frontegg/{alias}", tag = "webhooks",
    params(("alias" = Alias, Path, description = "the event kind the route takes")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = Receipt), (status = 404, body = ErrorBody, description = "`not_found`: no such alias"), Refusals),
    security(("frontegg_jwt" = []), ("hmac_sha256" = []), ("standard_webhooks" = [])))]
pub async fn receive_alias(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    alias: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let kind = EventKind::from_alias(&alias).ok_or_else(|| ApiError::NotFound {
        method: req.method().to_string(),
        path: req.path().to_owned(),
    })?;
    receive_as(req, body, state, Some(kind)).await
}

async fn receive_as(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    route_kind: Option<EventKind>,
) -> Result<HttpResponse, ApiError> {
    let source = &state.frontegg;
    check_content_type(&req)?;
    let body = read_body(&req, body, source, state.body_read_timeout)
        .await
        .inspect_err(|e| {
            state.metrics.delivery("unknown", e.code());
        })?;
    let delivery = Delivery {
        body: &body,
        headers: &Headers(req.headers()),
        peer: req.peer_addr().map(|a| a.ip()),
        forwarded_for: forwarded_for(req.headers()),
        route_kind,
        now: chrono::Utc::now(),
    };
    let result = ingest::receive(&state.recorder, source, delivery).await;
    record_metrics(&state, &result);
    let receipt = result?;
    if receipt.status == ReceiptStatus::Accepted {
        state.wake.notify_one();
    }
    Ok(HttpResponse::Ok().json(receipt))
}

fn record_metrics(state: &AppState, result: &Result<Receipt, IngestError>) {
    match result {
        Ok(receipt) => {
            let kind = receipt.kind.map_or("unknown", |k| k.as_str());
            let outcome = match receipt.status {
                ReceiptStatus::Accepted => "accepted",
                ReceiptStatus::Duplicate => "duplicate",
                ReceiptStatus::Ignored => "ignored",
            };
            state.metrics.delivery(kind, outcome);
        }
        Err(IngestError::Verify(e)) => {
            state.metrics.verification_failed(e.code());
            state.metrics.delivery("unknown", "unauthorized");
        }
        Err(e) => state.metrics.delivery("unknown", ApiError::from_ref(e)),
    }
}

/// `GET /api/webhooks/frontegg/events`: each accepted name, its kind and what tenantgate does.
#[utoipa::path(get, path = "/api/webhooks/frontegg/events", tag = "webhooks",
    responses((status = 200, description = "`{\"events\": [{name, kind, effect, alias}]}`", body = Object)), security(()))]
pub async fn catalog() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "events": events::catalog() }))
}

/// All `X-Forwarded-For` lines: a proxy may add its own line instead of appending to the
/// client's, and reading only the first would let the client's line decide.
pub(super) fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!lines.is_empty()).then(|| lines.join(","))
}

/// JSON, or no content type at all (some senders omit it).
fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("(unreadable)");
    let essence = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(text.chars().take(100).collect()))
    }
}

/// Reads the raw body, refusing it as soon as it passes the limit or when it has not all arrived
/// within `timeout` (a stalled client would otherwise hold its connection and buffer forever).
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    source: &Source,
    timeout: Duration,
) -> Result<web::Bytes, ApiError> {
    let limit = source.settings.body_limit_bytes;
    tokio::time::timeout(timeout, read_limited(req, payload, limit))
        .await
        .unwrap_or_else(|_| {
            let after_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            if let Some(unlogged) = source.log_refusal() {
                tracing::warn!(
                    timeout_ms = after_ms,
                    refusals.unlogged = unlogged,
                    "delivery refused: the body did not arrive in time"
                );
            }
            Err(ApiError::BodyTimeout { after_ms })
        })
}

async fn read_limited(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BodyRead(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

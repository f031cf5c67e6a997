//! `/api/admin/events`: list, show, replay one, replay by filter.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{limit, parse_time, utc, Operator, Viewer};
use crate::events::EventKind;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::inbox::claims::Attempt;
use crate::inbox::listing::EventFilter;
use crate::inbox::{EventRow, EventStatus};
use crate::operations::events::{self as operation, EventHistory};
use crate::operations::replay::{replay_one as replay_event, Replay};
use crate::operations::replay_matching::{replay_matching as replay_selection, Selection};
use crate::operations::Actor;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(value_type = Option<EventStatus>)]
    status: Option<String>,
    #[param(value_type = Option<EventKind>)]
    kind: Option<String>,
    tenant_id: Option<String>,
    user_id: Option<String>,
    /// Received at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Received before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
}

/// An event as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventSummary {
    id: i64,
    event_type: String,
    kind: String,
    tenant_id: Option<String>,
    user_id: Option<String>,
    status: EventStatus,
    attempts: i32,
    occurred_at: Option<String>,
    received_at: String,
    next_attempt_at: String,
    finished_at: Option<String>,
    last_error: Option<String>,
}

impl From<&EventRow> for EventSummary {
    fn from(r: &EventRow) -> Self {
        Self {
            id: r.id,
            event_type: r.event_type.clone(),
            kind: r.kind.clone(),
            tenant_id: r.tenant_id.clone(),
            user_id: r.user_id.clone(),
            status: r.status,
            attempts: r.attempts,
            occurred_at: r.occurred_at.map(utc),
            received_at: utc(r.received_at),
            next_attempt_at: utc(r.next_attempt_at),
            finished_at: r.finished_at.map(utc),
            last_error: r.last_error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    events: Vec<EventSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<i64>,
}

/// Events, newest first.
#[utoipa::path(get, path = "/api/admin/events", tag = "admin", params(ListQuery),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody, description = "`invalid_query`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    _: Viewer,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_from(&query)?;
    let limit = limit(query.limit)?;
    let page = operation::list(&state.db, filter, query.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(EventPage {
        events: page.items.iter().map(EventSummary::from).collect(),
        next_cursor: page.next,
    }))
}

/// One attempt as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    attempt: i32,
    started_at: String,
    finished_at: String,
    /// The event's status after the attempt, or `throttled` (the provider kept refusing calls
    /// for its rate; no retry spent).
    outcome: String,
    error: Option<String>,
    http_status: Option<i32>,
    duration_ms: i64,
    /// Refusals for the rate the attempt waited out at the pacing gate.
    throttled_calls: i32,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> Self {
        Self {
            attempt: a.attempt,
            started_at: utc(a.started_at),
            finished_at: utc(a.finished_at),
            outcome: a.outcome.clone(),
            error: a.error.clone(),
            http_status: a.http_status,
            duration_ms: a.duration_ms,
            throttled_calls: a.throttled_calls,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    summary: EventSummary,
    source: String,
    idempotency_key: String,
    body_sha256: String,
    /// The payload as received.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    attempt_history: Vec<AttemptView>,
}

/// One event with its payload and every attempt.
#[utoipa::path(get, path = "/api/admin/events/{id}", tag = "admin", params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = EventDetail), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn show(_: Viewer, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let Some(EventHistory { event: row, attempts }) = operation::find(&state.db, id).await? else {
        return Err(ApiError::NotFound {
            method: "GET".into(),
            path: format!("event {id}"),
        });
    };
    let payload = serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::String(row.payload.clone()));
    Ok(HttpResponse::Ok().json(EventDetail {
        summary: EventSummary::from(&row),
        source: row.source,
        idempotency_key: row.idempotency_key,
        body_sha256: row.body_sha256,
        payload,
        attempt_history: attempts.iter().map(AttemptView::from).collect(),
    }))
}

/// Puts a finished event back to `pending` (its history is kept; an audit entry records it).
#[utoipa::path(post, path = "/api/admin/events/{id}/replay", tag = "admin", params(("id" = i64, Path, description = "event id")),
    responses((status = 200, body = Requeued), (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token"),
        (status = 404, body = ErrorBody, description = "`not_found`"),
        (status = 409, body = ErrorBody, description = "`conflict`: the event is not finished"), AdminFailures),
    security(("bearer" = ["operator"])))]
pub async fn replay_one(_: Operator, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    match replay_event(&state.db, id, &Actor::admin_api()).await? {
        Replay::Requeued => {
            tracing::info!(event.id = id, "event replayed by an operator");
            state.wake.notify_one();
            Ok(HttpResponse::Ok().json(Requeued {
                status: "requeued",
                event_id: id,
            }))
        }
        Replay::NotFound => Err(ApiError::NotFound {
            method: "POST".into(),
            path: format!("event {id}"),
        }),
        Replay::NotFinished(status) => Err(ApiError::Conflict(format!(
            "event {id} is {status}: only finished events (succeeded, dead, skipped, ignored) can be replayed"
        ))),
    }
}

/// A replayed event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Requeued {
    /// Always `requeued`.
    status: &'static str,
    event_id: i64,
}

/// How many events a replay by filter requeued.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequeuedCount {
    requeued: usize,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFilter {
    #[schema(value_type = Option<EventStatus>)]
    status: Option<String>,
    #[schema(value_type = Option<EventKind>)]
    kind: Option<String>,
    tenant_id: Option<String>,
    user_id: Option<String>,
    #[schema(format = DateTime)]
    since: Option<String>,
    #[schema(format = DateTime)]
    until: Option<String>,
    /// Required to replay every finished event when no filter is given.
    #[serde(default)]
    all: bool,
}

/// Requeues every finished event that matches the filter.
#[utoipa::path(post, path = "/api/admin/events/replay", tag = "admin", request_body = ReplayFilter,
    responses((status = 200, body = RequeuedCount),
        (status = 400, body = ErrorBody, description = "`bad_request`: not the expected JSON; `invalid_query`: a filter value out of range"),
        (status = 403, body = ErrorBody, description = "`forbidden`: a viewer's token"),
        (status = 422, body = ErrorBody, description = "`empty_filter`: no filter and no `\"all\": true`"), AdminFailures),
    security(("bearer" = ["operator"])))]
pub async fn replay_matching(
    _: Operator,
    state: web::Data<AppState>,
    body: web::Json<ReplayFilter>,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery {
        status: body.status.clone(),
        kind: body.kind.clone(),
        tenant_id: body.tenant_id.clone(),
        user_id: body.user_id.clone(),
        since: body.since.clone(),
        until: body.until.clone(),
        limit: None,
        cursor: None,
    };
    let selection = Selection::new(filter_from(&query)?, body.all).map_err(|_| ApiError::Unprocessable {
        code: "empty_filter",
        message:
            "give a filter (status, kind, tenant_id, since, until) or \"all\": true to replay every finished event"
                .into(),
    })?;
    let replayed = replay_selection(&state.db, &selection, &Actor::admin_api(), None)
        .await
        .map_err(|stopped| ApiError::from(stopped.source))?;
    let requeued = replayed.requeued;
    tracing::info!(requeued, "events replayed by an operator");
    if requeued > 0 {
        state.wake.notify_one();
    }
    Ok(HttpResponse::Ok().json(RequeuedCount { requeued }))
}

fn filter_from(q: &ListQuery) -> Result<EventFilter, ApiError> {
    let filter = EventFilter {
        status: q.status.clone(),
        kind: q.kind.clone(),
        tenant_id: q.tenant_id.clone(),
        user_id: q.user_id.clone(),
        search: None,
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
    };
    filter.check().map_err(ApiError::InvalidQuery)?;
    Ok(filter)
}

//! `/api/admin/reconcile/runs`: the reconciler's recorded runs, newest first, and one run with
//! each drift and what was done about it (read through `operations::reconcile`, as the CLI does).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{limit, utc, Viewer};
use crate::db::status::RunStatus;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::operations::reconcile as operation;
use crate::reconcile::{Action, Drift, DriftKind, RunRecord};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only runs with an id below this one: `next_before` of the previous page.
    before: Option<i64>,
}

/// One reconciler run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    id: i64,
    started_at: String,
    finished_at: Option<String>,
    /// Whether the run queued repairs (false: a dry run, nothing changed).
    apply: bool,
    /// `cli:<login>`, `admin-api` or `periodic`.
    triggered_by: String,
    status: RunStatus,
    /// Why deletions were held back, when they were.
    brake: Option<String>,
    tenants_listed: Option<i64>,
    mappings_seen: Option<i64>,
    /// Drift found, by kind.
    counts: BTreeMap<String, i64>,
    error: Option<String>,
    /// Each drift and what was done (only in one run's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    drifts: Option<Vec<DriftView>>,
}

/// One drift and what the run did about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftView {
    kind: DriftKind,
    tenant_id: Option<String>,
    workspace_id: Option<String>,
    detail: String,
    /// `would_repair` (a dry run), `queued`, `already_queued`, `reported` or `held_by_brake`.
    action: String,
    /// The repair event, when one was queued (now or by an earlier run).
    event_id: Option<i64>,
}

impl RunView {
    pub fn of(record: RunRecord, with_drifts: bool) -> Self {
        Self {
            id: record.id,
            started_at: utc(record.started_at),
            finished_at: record.finished_at.map(utc),
            apply: record.apply,
            triggered_by: record.triggered_by,
            status: record.status,
            brake: record.brake,
            tenants_listed: record.tenants_listed,
            mappings_seen: record.mappings_seen,
            counts: record.counts,
            error: record.error,
            drifts: with_drifts.then(|| record.drifts.into_iter().map(DriftView::from).collect()),
        }
    }
}

impl From<Drift> for DriftView {
    fn from(d: Drift) -> Self {
        let (action, event_id) = match d.action {
            Action::WouldRepair => ("would_repair", None),
            Action::Queued { event_id } => ("queued", Some(event_id)),
            Action::AlreadyQueued { event_id } => ("already_queued", Some(event_id)),
            Action::Reported => ("reported", None),
            Action::HeldByBrake => ("held_by_brake", None),
        };
        Self {
            kind: d.kind,
            tenant_id: d.tenant_id,
            workspace_id: d.workspace_id,
            detail: d.detail,
            action: action.to_owned(),
            event_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    runs: Vec<RunView>,
    /// Pass as `before` for the next page; null on the last.
    next_before: Option<i64>,
}

/// Reconciler runs, newest first.
#[utoipa::path(get, path = "/api/admin/reconcile/runs", tag = "admin", params(RunQuery),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody, description = "`invalid_query`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    _: Viewer,
    state: web::Data<AppState>,
    query: web::Query<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let before = query.before;
    let list = operation::list(&state.db, limit + 1, before).await?;
    let more = list.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let runs: Vec<RunView> = list
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|r| RunView::of(r, false))
        .collect();
    let next_before = more.then(|| runs.last().map(|r| r.id)).flatten();
    Ok(HttpResponse::Ok().json(RunPage { runs, next_before }))
}

/// One reconciler run with each drift it found and what was done about it.
#[utoipa::path(get, path = "/api/admin/reconcile/runs/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody, description = "`not_found`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn show(_: Viewer, state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    match operation::find(&state.db, id).await? {
        Some(record) => Ok(HttpResponse::Ok().json(RunView::of(record, true))),
        None => Err(ApiError::NotFound {
            method: "GET".into(),
            path: format!("reconcile run {id}"),
        }),
    }
}

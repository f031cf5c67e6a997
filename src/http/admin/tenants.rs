//! `/api/admin/tenants` and `/api/admin/stats`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::events::EventSummary;
use super::{limit, utc, Viewer};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::store::admin::{self, EventFilter};
use crate::store::tenants::{self, mapping_status, Mapping};

/// Events shown with a tenant.
const RECENT_EVENTS: i64 = 20;

#[derive(Debug, Deserialize, IntoParams)]
pub struct TenantQuery {
    /// provisioning, active, archived, deleted or tombstone
    status: Option<String>,
    /// Page size, 1–500 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A tenant's workspace mapping.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    tenant_id: String,
    tenant_name: Option<String>,
    workspace_id: Option<String>,
    workspace_name: Option<String>,
    status: String,
    last_event_at: Option<String>,
    last_event_id: Option<i64>,
    created_at: String,
    updated_at: String,
}

impl From<Mapping> for TenantView {
    fn from(m: Mapping) -> Self {
        Self {
            tenant_id: m.tenant_id,
            tenant_name: m.tenant_name,
            workspace_id: m.workspace_id,
            workspace_name: m.workspace_name,
            status: m.status,
            last_event_at: m.last_event_at.map(utc),
            last_event_id: m.last_event_id,
            created_at: utc(m.created_at),
            updated_at: utc(m.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    tenants: Vec<TenantView>,
    next_cursor: Option<String>,
}

/// Tenants and their workspaces, by tenant id.
#[utoipa::path(get, path = "/api/admin/tenants", tag = "admin", params(TenantQuery),
    responses((status = 200, body = TenantPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    _: Viewer,
    state: web::Data<AppState>,
    query: web::Query<TenantQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(s) = query.status.as_deref().filter(|s| !mapping_status::ALL.contains(s)) {
        return Err(ApiError::InvalidQuery(format!(
            "status `{s}` is not one of {}",
            mapping_status::ALL.join(", ")
        )));
    }
    let limit = limit(query.limit)?;
    let (status, cursor) = (query.status.clone(), query.cursor.clone());
    let rows = state
        .db
        .run(move |c| admin::list_tenants(c, status.as_deref(), cursor.as_deref(), limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    let tenants: Vec<TenantView> = rows.into_iter().take(limit as usize).map(TenantView::from).collect();
    let next_cursor = if more {
        tenants.last().map(|t| t.tenant_id.clone())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(TenantPage { tenants, next_cursor }))
}

/// A tenant: its mapping, users, SSO setting and recent events.
#[utoipa::path(get, path = "/api/admin/tenants/{tenant_id}", tag = "admin", params(("tenant_id" = String, Path)),
    responses((status = 200, description = "`{mapping, users, sso, recent_events}`"), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn show(_: Viewer, state: web::Data<AppState>, tenant: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let tenant = tenant.into_inner();
    let id = tenant.clone();
    let (mapping, users, sso, events) = state
        .db
        .run(move |c| {
            let filter = EventFilter {
                tenant_id: Some(id.clone()),
                ..EventFilter::default()
            };
            Ok((
                tenants::mapping(c, &id)?,
                tenants::users_of(c, &id)?,
                tenants::sso(c, &id)?,
                admin::list_events(c, &filter, None, RECENT_EVENTS)?,
            ))
        })
        .await?;
    if mapping.is_none() && users.is_empty() && sso.is_none() && events.is_empty() {
        return Err(ApiError::NotFound {
            method: "GET".into(),
            path: format!("tenant {tenant}"),
        });
    }
    let time = |t: Option<chrono::NaiveDateTime>| t.map(utc);
    let users: Vec<_> = users
        .into_iter()
        .map(|u| serde_json::json!({"user_id": u.user_id, "email": u.email, "status": u.status, "last_event_at": time(u.last_event_at), "deleted_at": time(u.deleted_at)}))
        .collect();
    let sso = sso.map(|s| serde_json::json!({"provider": s.provider, "last_event_at": time(s.last_event_at), "deleted_at": time(s.deleted_at)}));
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "tenant_id": tenant,
        "mapping": mapping.map(TenantView::from),
        "users": users,
        "sso": sso,
        "recent_events": events.iter().map(EventSummary::from).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    by_status: std::collections::BTreeMap<String, i64>,
    by_kind: std::collections::BTreeMap<String, i64>,
    /// Age of the oldest unfinished event, in seconds (null when none is waiting).
    oldest_pending_age_secs: Option<i64>,
    received_last_hour: i64,
    received_last_day: i64,
}

/// Counts by status and kind, the oldest pending age, and recent volume.
#[utoipa::path(get, path = "/api/admin/stats", tag = "admin",
    responses((status = 200, body = StatsView), (status = 401, body = ErrorBody)), security(("bearer" = ["viewer"])))]
pub async fn stats(_: Viewer, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let now = chrono::Utc::now().naive_utc();
    let stats = state.db.run(move |c| admin::stats(c, now)).await?;
    Ok(HttpResponse::Ok().json(StatsView {
        by_status: stats.by_status,
        by_kind: stats.by_kind,
        oldest_pending_age_secs: stats.oldest_pending_received_at.map(|t| (now - t).num_seconds().max(0)),
        received_last_hour: stats.received_last_hour,
        received_last_day: stats.received_last_day,
    }))
}

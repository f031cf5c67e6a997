//! `/api/admin/tenants` and `/api/admin/stats`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::events::EventSummary;
use super::{limit, utc, Viewer};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::responses::AdminFailures;
use crate::http::AppState;
use crate::inbox::listing;
use crate::operations::tenants::{self as operation, TenantRecord};
use crate::pacing::{Gate, Snapshot};
use crate::tenants::{Mapping, MappingStatus, UserStatus};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    #[param(value_type = Option<MappingStatus>)]
    status: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
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
    status: MappingStatus,
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
    responses((status = 200, body = TenantPage), (status = 400, body = ErrorBody, description = "`invalid_query`"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    _: Viewer,
    state: web::Data<AppState>,
    query: web::Query<TenantQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(s) = query.status.as_deref().filter(|s| !MappingStatus::TEXTS.contains(s)) {
        return Err(ApiError::InvalidQuery(format!(
            "status `{s}` is not one of {}",
            MappingStatus::TEXTS.join(", ")
        )));
    }
    let limit = limit(query.limit)?;
    let page = operation::list(&state.db, query.status.clone(), query.cursor.clone(), limit).await?;
    let page = page.map(TenantView::from);
    Ok(HttpResponse::Ok().json(TenantPage {
        tenants: page.items,
        next_cursor: page.next,
    }))
}

/// A tenant: its mapping, users, SSO setting and recent events.
#[utoipa::path(get, path = "/api/admin/tenants/{tenant_id}", tag = "admin", params(("tenant_id" = String, Path)),
    responses((status = 200, body = TenantDetail), (status = 404, body = ErrorBody, description = "`not_found`: nothing is known of this tenant"), AdminFailures),
    security(("bearer" = ["viewer"])))]
pub async fn show(_: Viewer, state: web::Data<AppState>, tenant: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let tenant = tenant.into_inner();
    let Some(TenantRecord {
        mapping,
        users,
        sso,
        recent_events: events,
        ..
    }) = operation::find(&state.db, tenant.clone()).await?
    else {
        return Err(ApiError::NotFound {
            method: "GET".into(),
            path: format!("tenant {tenant}"),
        });
    };
    let time = |t: Option<chrono::NaiveDateTime>| t.map(utc);
    let users = users
        .into_iter()
        .map(|u| UserView {
            user_id: u.user_id,
            email: u.email,
            status: u.status,
            last_event_at: time(u.last_event_at),
            deleted_at: time(u.deleted_at),
        })
        .collect();
    let sso = sso.map(|s| SsoView {
        provider: s.provider,
        last_event_at: time(s.last_event_at),
        deleted_at: time(s.deleted_at),
    });
    Ok(HttpResponse::Ok().json(TenantDetail {
        tenant_id: tenant,
        mapping: mapping.map(TenantView::from),
        users,
        sso,
        recent_events: events.iter().map(EventSummary::from).collect(),
    }))
}

/// A tenant: its mapping, users, SSO setting and most recent events.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDetail {
    tenant_id: String,
    /// Null while the tenant has no mapping (no creation seen yet).
    mapping: Option<TenantView>,
    users: Vec<UserView>,
    sso: Option<SsoView>,
    /// Newest first, at most 20.
    recent_events: Vec<EventSummary>,
}

/// A user of a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    user_id: String,
    email: Option<String>,
    status: UserStatus,
    last_event_at: Option<String>,
    deleted_at: Option<String>,
}

/// A tenant's SSO setting.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoView {
    provider: String,
    last_event_at: Option<String>,
    deleted_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    by_status: std::collections::BTreeMap<String, i64>,
    by_kind: std::collections::BTreeMap<String, i64>,
    /// Age of the oldest unfinished event, in seconds (null when none is waiting).
    oldest_pending_age_secs: Option<i64>,
    received_last_hour: i64,
    received_last_day: i64,
    /// The provider's pacing gate; absent in dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pacing: Option<Snapshot>,
}

/// Counts by status and kind, the oldest pending age, recent volume, and the provider's pacing.
#[utoipa::path(get, path = "/api/admin/stats", tag = "admin",
    responses((status = 200, body = StatsView), AdminFailures), security(("bearer" = ["viewer"])))]
pub async fn stats(_: Viewer, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let now = chrono::Utc::now().naive_utc();
    let stats = state.db.run(move |c| listing::stats(c, now)).await?;
    Ok(HttpResponse::Ok().json(StatsView {
        by_status: stats.by_status,
        by_kind: stats.by_kind,
        oldest_pending_age_secs: stats.oldest_pending_received_at.map(|t| (now - t).num_seconds().max(0)),
        received_last_hour: stats.received_last_hour,
        received_last_day: stats.received_last_day,
        pacing: state.pacing.as_ref().map(Gate::snapshot),
    }))
}

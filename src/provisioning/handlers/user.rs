//! Users and SSO settings: recorded per tenant, newest event wins.

use serde_json::json;

use super::{Context, HandlerError, Job, Outcome};
use crate::notifications;
use crate::store::tenants::{self, Effect, Mapping, TenantSso, TenantUser};
use crate::store::{DbConn, StoreError};

pub async fn activated(ctx: &Context, job: &Job<'_>) -> Result<Outcome, HandlerError> {
    set_user(ctx, job, "active", notifications::USER_ACTIVATED).await
}

pub async fn deactivated(ctx: &Context, job: &Job<'_>) -> Result<Outcome, HandlerError> {
    set_user(ctx, job, "deactivated", notifications::USER_DEACTIVATED).await
}

/// Records the user's status; `action` names both the audit entry and the notification.
async fn set_user(ctx: &Context, job: &Job<'_>, status: &str, action: &str) -> Result<Outcome, HandlerError> {
    let user = job.event.user_id.clone();
    let (mapping, existing) = match &job.known {
        Some(known) => (known.mapping.clone(), known.user.clone()),
        None => {
            read_with_mapping(ctx, job, move |c, tenant| match &user {
                Some(user) => tenants::user(c, tenant, user),
                None => Ok(None),
            })
            .await?
        }
    };
    if let Some(skip) = tenant_gone(job, mapping) {
        return Ok(skip);
    }
    let user_id = job
        .event
        .user_id
        .clone()
        .ok_or_else(|| HandlerError::Invalid("the event has no user id".into()))?;
    if let Some(existing) = existing.as_ref().filter(|u| job.is_older_than(u.last_event_at)) {
        return Ok(stale(existing.last_event_at));
    }
    let row = TenantUser {
        tenant_id: job.tenant_id.clone(),
        user_id: user_id.clone(),
        email: job
            .event
            .email
            .clone()
            .or_else(|| existing.as_ref().and_then(|u| u.email.clone())),
        status: status.to_owned(),
        last_event_at: Some(job.at()),
        created_at: existing.as_ref().map_or(job.now, |u| u.created_at),
        updated_at: job.now,
        deleted_at: None,
    };
    let audit = job.audit(action, json!({"user_id": user_id, "status": status}));
    let notice = job.notify(
        action,
        json!({"user_id": user_id, "email": row.email, "status": status}),
    );
    Ok(Outcome::Done {
        effects: vec![Effect::User(row), audit, notice],
    })
}

pub async fn sso_changed(ctx: &Context, job: &Job<'_>) -> Result<Outcome, HandlerError> {
    let (mapping, existing) = match &job.known {
        Some(known) => (known.mapping.clone(), known.sso.clone()),
        None => read_with_mapping(ctx, job, tenants::sso).await?,
    };
    if let Some(skip) = tenant_gone(job, mapping) {
        return Ok(skip);
    }
    let provider = job
        .event
        .sso_provider
        .clone()
        .ok_or_else(|| HandlerError::Invalid("the event has no SSO provider".into()))?;
    if let Some(existing) = existing.as_ref().filter(|s| job.is_older_than(s.last_event_at)) {
        return Ok(stale(existing.last_event_at));
    }
    let previous = existing.as_ref().map(|s| s.provider.clone());
    let row = TenantSso {
        tenant_id: job.tenant_id.clone(),
        provider: provider.clone(),
        last_event_at: Some(job.at()),
        created_at: existing.as_ref().map_or(job.now, |s| s.created_at),
        updated_at: job.now,
        deleted_at: None,
    };
    // A security event: who authenticates a tenant's users changed.
    let audit = job.audit(
        "security.sso_changed",
        json!({"provider": provider, "previous_provider": previous}),
    );
    let notice = job.notify(
        notifications::SSO_CHANGED,
        json!({"provider": provider, "previous_provider": previous}),
    );
    Ok(Outcome::Done {
        effects: vec![Effect::Sso(row), audit, notice],
    })
}

/// The tenant's mapping and one of the tenant's own rows, read in one go.
async fn read_with_mapping<T: Send + 'static>(
    ctx: &Context,
    job: &Job<'_>,
    read: impl FnOnce(&mut DbConn, &str) -> Result<T, StoreError> + Send + 'static,
) -> Result<(Option<Mapping>, T), HandlerError> {
    let tenant = job.tenant_id.clone();
    Ok(ctx
        .db
        .run(move |c| Ok((tenants::mapping(c, &tenant)?, read(c, &tenant)?)))
        .await?)
}

/// A user or SSO event for a tenant that was deleted, unless it says it happened afterwards:
/// it must not bring back what the deletion removed.
fn tenant_gone(job: &Job<'_>, mapping: Option<Mapping>) -> Option<Outcome> {
    mapping
        .filter(|m| tenants::mapping_status::is_gone(&m.status) && !job.is_known_newer_than(m.last_event_at))
        .map(|m| Outcome::Skipped {
            reason: format!(
                "the tenant is {}: this event does not say it happened after that",
                m.status
            ),
            effects: vec![],
        })
}

fn stale(applied: Option<chrono::NaiveDateTime>) -> Outcome {
    let applied = applied.map_or_else(|| "-".to_owned(), |a| a.to_string());
    Outcome::Skipped {
        reason: format!("stale: a newer event (at {applied}) was already applied"),
        effects: vec![],
    }
}

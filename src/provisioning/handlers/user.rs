//! Users and SSO settings: recorded per tenant, newest event wins.
//!
//! A user is `invited` or `active` once they joined the tenant, `active` once activated, and
//! `deactivated` once deactivated, deleted or removed; see [`Change`].

use serde_json::json;

use super::{HandlerError, Job, Outcome};
use crate::notifications;
use crate::tenants::{Effect, Mapping, TenantSso, TenantUser, UserStatus};

pub fn joined(job: &Job<'_>) -> Result<Outcome, HandlerError> {
    let activated = job.event.activated_for_tenant;
    set_user(job, Change::Join { activated })
}

pub fn activated(job: &Job<'_>) -> Result<Outcome, HandlerError> {
    set_user(job, Change::Activate)
}

pub fn deactivated(job: &Job<'_>) -> Result<Outcome, HandlerError> {
    set_user(job, Change::Deactivate)
}

/// What a user event does to the user's row in the tenant.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// The user joined the tenant (created in it, invited to it, joined it by a link):
    /// `active` when `activated` (the payload's `user.activatedForTenant`), else `invited`.
    Join { activated: bool },
    /// The user is active in the tenant (an invited user becomes active).
    Activate,
    /// The user was deactivated in, deleted from or removed from the tenant.
    Deactivate,
}

/// The audit action of a join.
const USER_JOINED: &str = "user.joined";

impl Change {
    /// The user's status after the change. A join never downgrades a user already active in
    /// the tenant; a deactivated (or deleted) user who joins again is invited or active as the
    /// payload says.
    fn status(self, existing: Option<&TenantUser>) -> UserStatus {
        match self {
            Change::Join { .. } if existing.is_some_and(|u| u.status == UserStatus::Active) => UserStatus::Active,
            Change::Join { activated: true } | Change::Activate => UserStatus::Active,
            Change::Join { activated: false } => UserStatus::Invited,
            Change::Deactivate => UserStatus::Deactivated,
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            Change::Join { .. } => USER_JOINED,
            Change::Activate => notifications::USER_ACTIVATED,
            Change::Deactivate => notifications::USER_DEACTIVATED,
        }
    }

    /// The notification subscribers get. A join announces only a user who became active by
    /// it: an invitation is not an activation (subscribers hear of the invited user once
    /// `frontegg.user.activated` arrives), and a join that leaves an active user active changes
    /// nothing they were told.
    fn notification(self, status: UserStatus, previous: Option<UserStatus>) -> Option<&'static str> {
        match self {
            Change::Join { .. } => (status == UserStatus::Active && previous != Some(UserStatus::Active))
                .then_some(notifications::USER_ACTIVATED),
            Change::Activate => Some(notifications::USER_ACTIVATED),
            Change::Deactivate => Some(notifications::USER_DEACTIVATED),
        }
    }
}

/// Records the user's status in the tenant as `change` says, with its audit entry and
/// notification; the one way every user event sets a user.
fn set_user(job: &Job<'_>, change: Change) -> Result<Outcome, HandlerError> {
    let (mapping, existing) = (job.tenant.mapping.clone(), job.tenant.user.clone());
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
    let status = change.status(existing.as_ref());
    let previous = existing.as_ref().map(|u| u.status);
    let row = TenantUser {
        tenant_id: job.tenant_id.clone(),
        user_id: user_id.clone(),
        email: job
            .event
            .email
            .clone()
            .or_else(|| existing.as_ref().and_then(|u| u.email.clone())),
        status,
        last_event_at: Some(job.at()),
        created_at: existing.as_ref().map_or(job.now, |u| u.created_at),
        updated_at: job.now,
        deleted_at: None,
    };
    let mut detail = json!({"user_id": user_id, "status": status});
    if let Change::Join { activated } = change {
        detail["activated_for_tenant"] = activated.into();
        detail["previous_status"] = previous.map(UserStatus::as_str).into();
    }
    let notice = change.notification(status, previous).map(|notification| {
        job.notify(
            notification,
            json!({"user_id": user_id, "email": row.email, "status": status}),
        )
    });
    let mut effects = vec![Effect::User(row), job.audit(change.audit_action(), detail)];
    effects.extend(notice);
    Ok(Outcome::Done { effects })
}

pub fn sso_changed(job: &Job<'_>) -> Result<Outcome, HandlerError> {
    let (mapping, existing) = (job.tenant.mapping.clone(), job.tenant.sso.clone());
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

/// A user or SSO event for a tenant that was deleted, unless it says it happened afterwards:
/// it must not bring back what the deletion removed.
fn tenant_gone(job: &Job<'_>, mapping: Option<Mapping>) -> Option<Outcome> {
    mapping
        .filter(|m| m.status.is_gone() && !job.is_known_newer_than(m.last_event_at))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(status: &str) -> TenantUser {
        let at = chrono::NaiveDateTime::default();
        TenantUser {
            tenant_id: "t".into(),
            user_id: "u".into(),
            email: None,
            status: status.parse().unwrap(),
            last_event_at: Some(at),
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    #[test]
    fn a_join_is_active_or_invited_as_the_payload_says_and_never_downgrades_an_active_user() {
        let invited = Change::Join { activated: false };
        let active = Change::Join { activated: true };
        let cases = [
            (invited, None, "invited"),
            (active, None, "active"),
            (invited, Some("active"), "active"),
            (active, Some("active"), "active"),
            (invited, Some("invited"), "invited"),
            (active, Some("invited"), "active"),
            (invited, Some("deactivated"), "invited"),
            (active, Some("deactivated"), "active"),
            (invited, Some("deleted"), "invited"),
            (Change::Activate, Some("invited"), "active"),
            (Change::Deactivate, Some("active"), "deactivated"),
        ];
        for (change, before, after) in cases {
            let existing = before.map(user);
            assert_eq!(change.status(existing.as_ref()), after, "{change:?} on {before:?}");
        }
    }

    #[test]
    fn a_join_announces_only_a_user_it_made_active() {
        let join = Change::Join { activated: true };
        assert_eq!(
            join.notification(UserStatus::Active, None),
            Some(notifications::USER_ACTIVATED)
        );
        assert_eq!(
            join.notification(UserStatus::Active, Some(UserStatus::Invited)),
            Some(notifications::USER_ACTIVATED)
        );
        assert_eq!(
            join.notification(UserStatus::Active, Some(UserStatus::Deactivated)),
            Some(notifications::USER_ACTIVATED)
        );
        assert_eq!(join.notification(UserStatus::Active, Some(UserStatus::Active)), None);
        assert_eq!(
            Change::Join { activated: false }.notification(UserStatus::Invited, None),
            None
        );
        assert_eq!(
            Change::Activate.notification(UserStatus::Active, Some(UserStatus::Active)),
            Some(notifications::USER_ACTIVATED)
        );
        assert_eq!(
            Change::Deactivate.notification(UserStatus::Deactivated, None),
            Some(notifications::USER_DEACTIVATED)
        );
        assert_eq!(join.audit_action(), "user.joined");
    }
}

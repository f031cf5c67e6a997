//! One handler per event kind. A handler calls the provider, commits only the intermediate
//! state that must survive a crash (the mapping's `provisioning` claim and a created
//! workspace's id), and returns the rest as effects that the worker writes in the same
//! transaction as the event's final status.

mod tenant;
mod user;

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::provider::{DestinationTemplate, ProviderError, WorkspaceProvider};
use crate::config::DeletionPolicy;
use crate::db::audit::NewAudit;
use crate::db::{Database, StoreError};
use crate::events::{self, EventKind, LifecycleEvent};
use crate::inbox::EventRow;
use crate::tenants::{self, Effect, TenantRows};

/// What handlers work with; built once.
#[derive(Debug)]
pub struct Context {
    pub db: Database,
    pub provider: Arc<dyn WorkspaceProvider>,
    pub deletion_policy: DeletionPolicy,
    pub name_template: String,
    pub destinations: Vec<DestinationTemplate>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes the notification dispatcher when an outcome queued notifications.
    pub notices: Arc<tokio::sync::Notify>,
}

/// How a handled event ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done {
        effects: Vec<Effect>,
    },
    /// Nothing to do, with the reason (e.g. a create older than the tenant's deletion).
    Skipped {
        reason: String,
        effects: Vec<Effect>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored event cannot be handled (it no longer normalizes, or lacks an id).
    #[error("{0}")]
    Invalid(String),
}

/// One claimed event, normalized again from its stored payload.
pub struct Job<'a> {
    pub row: &'a EventRow,
    pub event: LifecycleEvent,
    pub tenant_id: String,
    pub now: NaiveDateTime,
    /// The tenant's rows before this event: read with the claim, or by [`handle`] when the
    /// claim could not read them. Handlers read them from here, never from the database.
    pub tenant: TenantRows,
}

impl Job<'_> {
    /// An audit entry for this event.
    fn audit(&self, action: &str, detail: serde_json::Value) -> Effect {
        Effect::Audit(NewAudit {
            at: self.now,
            tenant_id: Some(self.tenant_id.clone()),
            user_id: self.event.user_id.clone(),
            event_id: Some(self.row.id),
            action: action.to_owned(),
            detail: Some(detail.to_string()),
        })
    }

    /// A notification for subscribers, queued with this event's effects. `data` gains the
    /// event's id.
    fn notify(&self, event_type: &str, mut data: serde_json::Value) -> Effect {
        data["event_id"] = self.row.id.into();
        Effect::Notify(crate::notifications::message(
            event_type,
            Some(&self.tenant_id),
            data,
            self.now,
        ))
    }

    /// When this event happened, for ordering against what was already applied.
    fn at(&self) -> NaiveDateTime {
        self.row.order_at
    }

    /// Whether this event says it happened after `applied`. An event without its own timestamp
    /// (Frontegg's payloads carry none) is ordered by arrival, which proves nothing about when it
    /// happened: it never counts as newer than a deletion.
    fn is_known_newer_than(&self, applied: Option<NaiveDateTime>) -> bool {
        self.row.occurred_at.is_some() && applied.is_some_and(|applied| self.at() > applied)
    }

    /// Whether something newer than this event was already applied.
    fn is_older_than(&self, applied: Option<NaiveDateTime>) -> bool {
        applied.is_some_and(|applied| self.at() < applied)
    }
}

/// Runs the handler for the event's kind, with the tenant's rows read at the claim if given
/// (else read here).
pub async fn handle(
    ctx: &Context,
    row: &EventRow,
    now: NaiveDateTime,
    read_with_claim: Option<TenantRows>,
) -> Result<Outcome, HandlerError> {
    let event = events::normalize(row.payload.as_bytes())
        .map_err(|e| HandlerError::Invalid(format!("stored payload no longer normalizes: {e}")))?;
    let tenant_id = event
        .tenant_id
        .clone()
        .ok_or_else(|| HandlerError::Invalid("the event has no tenant id".into()))?;
    // The claim read the rows of the stored columns; the payload decides whose rows they are.
    let same_rows = row.tenant_id.as_deref() == Some(tenant_id.as_str()) && row.user_id == event.user_id;
    let tenant = match read_with_claim.filter(|_| same_rows) {
        Some(rows) => rows,
        None => {
            let (tenant, user) = (tenant_id.clone(), event.user_id.clone());
            ctx.db
                .run(move |c| tenants::rows_of(c, &tenant, user.as_deref()))
                .await?
        }
    };
    let job = Job {
        row,
        event,
        tenant_id,
        now,
        tenant,
    };
    match job.event.kind {
        EventKind::TenantCreated => tenant::created(ctx, &job).await,
        EventKind::TenantUpdated => tenant::updated(ctx, &job).await,
        EventKind::TenantDeleted => tenant::deleted(ctx, &job).await,
        EventKind::UserJoined => user::joined(&job),
        EventKind::UserActivated => user::activated(&job),
        EventKind::UserDeactivated => user::deactivated(&job),
        EventKind::SsoChanged => user::sso_changed(&job),
        EventKind::Ignored => Ok(Outcome::Skipped {
            reason: "event type has no effect".into(),
            effects: vec![],
        }),
    }
}

/// The deterministic workspace name for a tenant.
pub fn workspace_name(template: &str, tenant_id: &str, tenant_name: Option<&str>) -> String {
    template
        .replace("{tenant_name}", tenant_name.unwrap_or(tenant_id))
        .replace("{tenant_id}", tenant_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_name_follows_the_template_and_falls_back_to_the_id() {
        let t = "{tenant_name} [{tenant_id}]";
        assert_eq!(workspace_name(t, "t1", Some("Acme")), "Acme [t1]");
        assert_eq!(workspace_name(t, "t1", None), "t1 [t1]");
    }
}

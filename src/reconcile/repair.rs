//! A repair is an event written into the inbox, so that it is processed like a webhook (per-tenant
//! order, retries, dead letters, audit, notifications): its own source, `reconcile`, and an
//! idempotency key derived from the observation (the drift's kind, the tenant and its mapping as
//! seen), so that the same observation in a later run, or by another instance, is one event.

use chrono::NaiveDateTime;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::drift::{Drift, DriftKind};
use crate::events::EventKind;
use crate::inbox::{EventStatus, NewEvent};
use crate::provisioning::repairs::{RECONCILE_SOURCE, REPLACES_WORKSPACE_FIELD};

/// The event that repairs `drift`, or `None` for a drift that is only reported.
pub fn event_for(drift: &Drift, observed_at: NaiveDateTime, now: NaiveDateTime) -> Option<NewEvent> {
    let tenant_id = drift.tenant_id.clone()?;
    let at = observed_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (kind, payload) = match drift.kind {
        DriftKind::UnprovisionedTenant => (
            EventKind::TenantCreated,
            json!({"eventType": "tenant.created", "tenantId": tenant_id, "tenantName": drift.tenant_name, "timestamp": at}),
        ),
        DriftKind::DeletedTenant => (
            EventKind::TenantDeleted,
            json!({"eventType": "tenant.deleted", "tenantId": tenant_id, "timestamp": at}),
        ),
        DriftKind::MissingWorkspace => (
            EventKind::TenantCreated,
            json!({"eventType": "tenant.created", "tenantId": tenant_id, "tenantName": drift.tenant_name,
                   "timestamp": at, REPLACES_WORKSPACE_FIELD: drift.workspace_id}),
        ),
        DriftKind::RenamedTenant => (
            EventKind::TenantUpdated,
            json!({"eventType": "tenant.updated", "tenantId": tenant_id, "tenantName": drift.tenant_name, "timestamp": at}),
        ),
        DriftKind::OrphanWorkspace => return None,
    };
    let event_type = payload["eventType"].as_str().unwrap_or_default().to_owned();
    let payload = payload.to_string();
    Some(NewEvent {
        source: RECONCILE_SOURCE.to_owned(),
        idempotency_key: key(drift),
        body_sha256: hex::encode(Sha256::digest(payload.as_bytes())),
        event_type,
        kind: kind.as_str().to_owned(),
        tenant_id: Some(tenant_id),
        user_id: None,
        occurred_at: Some(observed_at),
        received_at: now,
        order_at: observed_at,
        payload,
        status: EventStatus::Pending,
        next_attempt_at: now,
    })
}

/// `{kind}:{sha256 of the tenant, the mapping as seen and the name listed}`.
fn key(drift: &Drift) -> String {
    let mut hash = Sha256::new();
    for part in [
        drift.tenant_id.as_deref().unwrap_or(""),
        &drift.observed,
        drift.tenant_name.as_deref().unwrap_or(""),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    format!("{}:{}", drift.kind.as_str(), hex::encode(hash.finalize()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::reconcile::drift::Action;

    fn drift(kind: DriftKind, observed: &str) -> Drift {
        Drift {
            kind,
            tenant_id: Some("t1".into()),
            workspace_id: Some("9924bcd0-99be-453d-ba47-c2c9766f7da5".into()),
            detail: String::new(),
            action: Action::WouldRepair,
            tenant_name: Some("Acme".into()),
            observed: observed.into(),
        }
    }

    #[test]
    fn the_same_observation_gives_the_same_key_and_another_observation_another() {
        let first = chrono::DateTime::from_timestamp(1_000, 0).unwrap().naive_utc();
        let later = chrono::DateTime::from_timestamp(5_000, 0).unwrap().naive_utc();
        let a = event_for(&drift(DriftKind::UnprovisionedTenant, "none"), first, first).unwrap();
        let b = event_for(&drift(DriftKind::UnprovisionedTenant, "none"), later, later).unwrap();
        assert_eq!(a.idempotency_key, b.idempotency_key);
        let c = event_for(
            &drift(DriftKind::UnprovisionedTenant, "archived|w|7|Acme"),
            later,
            later,
        )
        .unwrap();
        assert_ne!(a.idempotency_key, c.idempotency_key);
        assert_eq!(a.source, "reconcile");
        assert!(a.idempotency_key.starts_with("unprovisioned_tenant:"));
    }

    #[test]
    fn each_repair_normalizes_to_the_event_kind_its_handler_expects() {
        let at = chrono::DateTime::from_timestamp(1_000, 0).unwrap().naive_utc();
        let cases = [
            (DriftKind::UnprovisionedTenant, EventKind::TenantCreated),
            (DriftKind::DeletedTenant, EventKind::TenantDeleted),
            (DriftKind::MissingWorkspace, EventKind::TenantCreated),
            (DriftKind::RenamedTenant, EventKind::TenantUpdated),
        ];
        for (kind, expected) in cases {
            let event = event_for(&drift(kind, "x"), at, at).unwrap();
            let normalized = crate::events::normalize(event.payload.as_bytes()).unwrap();
            assert_eq!(normalized.kind, expected, "{kind:?}");
            assert_eq!(normalized.tenant_id.as_deref(), Some("t1"));
            assert_eq!(normalized.occurred_at.map(|t| t.naive_utc()), Some(at));
        }
        assert!(event_for(&drift(DriftKind::OrphanWorkspace, "x"), at, at).is_none());
    }
}

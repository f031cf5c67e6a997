//! tenantgate's own outbound webhooks: when a tenant's workspace is ready or gone, or a user or
//! SSO setting changed, subscribers get a signed notification (Standard Webhooks).
//!
//! Handlers queue notifications as effects, so they are written to the outbox in the same
//! transaction as the change they announce ([`crate::notifications::store::enqueue`]); the
//! [`dispatcher`] delivers them with retries ([`outcome`]), within each subscription's
//! [`limits`]; [`subscriptions`] manages who gets what, [`test_sends`] tries endpoints now, and
//! [`stats`] says how deliveries went. [`catalog`] lists the types with an example of each.
//! Signing secrets are stored sealed ([`sealing`]), opened only to sign ([`signing`]); every
//! start seals what is not ([`reseal`]).

pub mod catalog;
#[cfg(test)]
mod catalog_tests;
pub mod destination;
pub mod limits;
pub mod outcome;
pub mod queue;
pub mod reseal;
pub mod sealing;
pub mod sender;
pub mod signing;
pub mod stats;
pub mod store;
pub mod subscriptions;
pub mod test_sends;

use chrono::NaiveDateTime;

use crate::notifications::store::Message;

pub const WORKSPACE_PROVISIONED: &str = "workspace.provisioned";
pub const WORKSPACE_ARCHIVED: &str = "workspace.archived";
pub const WORKSPACE_DELETED: &str = "workspace.deleted";
pub const TENANT_PROVISIONING_FAILED: &str = "tenant.provisioning_failed";
pub const USER_ACTIVATED: &str = "user.activated";
pub const USER_DEACTIVATED: &str = "user.deactivated";
pub const SSO_CHANGED: &str = "sso.changed";
/// Sent only by a test send; never queued.
pub const SUBSCRIPTION_TEST: &str = "subscription.test";

/// The envelope every notification is sent in: `{id, type, timestamp, tenant_id, data}`. The id
/// is also the `webhook-id` header, the same on every attempt, so receivers can deduplicate.
pub fn message(event_type: &str, tenant_id: Option<&str>, data: serde_json::Value, at: NaiveDateTime) -> Message {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let payload = envelope(&id, event_type, tenant_id, data, at);
    Message {
        id,
        event_type: event_type.to_owned(),
        tenant_id: tenant_id.map(str::to_owned),
        payload: payload.to_string(),
        created_at: at,
    }
}

/// The envelope of message `id`: what [`message`] sends, and what the catalog's examples show.
pub fn envelope(
    id: &str,
    event_type: &str,
    tenant_id: Option<&str>,
    data: serde_json::Value,
    at: NaiveDateTime,
) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "type": event_type,
        "timestamp": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "tenant_id": tenant_id,
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_carries_id_type_timestamp_tenant_and_data() {
        let at = chrono::DateTime::from_timestamp(1_764_300_000, 0).unwrap().naive_utc();
        let m = message(
            WORKSPACE_PROVISIONED,
            Some("t1"),
            serde_json::json!({"workspace_id": "w1"}),
            at,
        );
        let envelope: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
        assert_eq!(envelope["id"], m.id.as_str());
        assert!(m.id.starts_with("msg_"));
        assert_eq!(envelope["type"], "workspace.provisioned");
        assert_eq!(envelope["timestamp"], "2025-11-28T03:20:00.000Z");
        assert_eq!(envelope["tenant_id"], "t1");
        assert_eq!(envelope["data"]["workspace_id"], "w1");
        assert_eq!(envelope.as_object().unwrap().len(), 5);
    }
}

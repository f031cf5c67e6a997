//! tenantgate's own outbound webhooks: when a tenant's workspace is ready or gone, or a user or
//! SSO setting changed, subscribers get a signed notification (Standard Webhooks).
//!
//! Handlers queue notifications as effects, so they are written to the outbox in the same
//! transaction as the change they announce ([`crate::store::notifications::enqueue`]); the
//! [`dispatcher`] delivers them with retries; [`subscriptions`] manages who gets what. Signing
//! secrets are stored sealed ([`sealing`]), opened only to sign ([`signing`]); every start seals
//! what is not ([`reseal`]).

pub mod destination;
pub mod dispatcher;
pub mod reseal;
pub mod sealing;
pub mod sender;
pub mod signing;
pub mod subscriptions;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::store::notifications::Message;

/// One notification type, as listed by `GET /api/admin/notifications/events`.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct NotificationType {
    pub name: &'static str,
    pub description: &'static str,
}

pub const WORKSPACE_PROVISIONED: &str = "workspace.provisioned";
pub const WORKSPACE_ARCHIVED: &str = "workspace.archived";
pub const WORKSPACE_DELETED: &str = "workspace.deleted";
pub const TENANT_PROVISIONING_FAILED: &str = "tenant.provisioning_failed";
pub const USER_ACTIVATED: &str = "user.activated";
pub const USER_DEACTIVATED: &str = "user.deactivated";
pub const SSO_CHANGED: &str = "sso.changed";
/// Sent only by a test send; never queued.
pub const SUBSCRIPTION_TEST: &str = "subscription.test";

/// Every type a subscription can ask for.
pub const CATALOG: [NotificationType; 7] = [
    NotificationType {
        name: WORKSPACE_PROVISIONED,
        description: "A tenant's workspace exists and is mapped (data: workspace_id, workspace_name, tenant_name, event_id)",
    },
    NotificationType {
        name: WORKSPACE_ARCHIVED,
        description: "A deleted tenant's workspace was archived: its connections paused (data: workspace_id, policy, event_id)",
    },
    NotificationType {
        name: WORKSPACE_DELETED,
        description: "A deleted tenant's workspace was deleted (data: workspace_id, policy, event_id)",
    },
    NotificationType {
        name: TENANT_PROVISIONING_FAILED,
        description:
            "An event of the tenant failed for good: it is dead until replayed (data: event_id, event_type, kind, error, attempts)",
    },
    NotificationType {
        name: USER_ACTIVATED,
        description: "A user was activated in the tenant (data: user_id, email, status, event_id)",
    },
    NotificationType {
        name: USER_DEACTIVATED,
        description: "A user was deactivated in or removed from the tenant (data: user_id, email, status, event_id)",
    },
    NotificationType {
        name: SSO_CHANGED,
        description: "The tenant's SSO settings changed (data: provider, previous_provider, event_id)",
    },
];

/// Whether `name` is a type of the catalog.
pub fn is_known_type(name: &str) -> bool {
    CATALOG.iter().any(|t| t.name == name)
}

/// The envelope every notification is sent in: `{id, type, timestamp, tenant_id, data}`. The id
/// is also the `webhook-id` header, the same on every attempt, so receivers can deduplicate.
pub fn message(event_type: &str, tenant_id: Option<&str>, data: serde_json::Value, at: NaiveDateTime) -> Message {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let payload = serde_json::json!({
        "id": id,
        "type": event_type,
        "timestamp": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "tenant_id": tenant_id,
        "data": data,
    });
    Message {
        id,
        event_type: event_type.to_owned(),
        tenant_id: tenant_id.map(str::to_owned),
        payload: payload.to_string(),
        created_at: at,
    }
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

    #[test]
    fn the_catalog_names_each_type_once() {
        let names: std::collections::BTreeSet<_> = CATALOG.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), CATALOG.len());
        assert!(is_known_type(SSO_CHANGED) && !is_known_type(SUBSCRIPTION_TEST));
    }
}

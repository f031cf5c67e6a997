//! The notification catalog: every type a subscription can ask for, what it announces, and a
//! complete example of its envelope, built by the code that builds real envelopes
//! ([`super::envelope`]). `catalog_tests` runs the real handlers and checks that each example
//! carries exactly the `data` fields they send, and that README's table says the same.

use serde::Serialize;
use serde_json::{json, Value};

use super::{
    SSO_CHANGED, TENANT_PROVISIONING_FAILED, USER_ACTIVATED, USER_DEACTIVATED, WORKSPACE_ARCHIVED, WORKSPACE_DELETED,
    WORKSPACE_PROVISIONED,
};

/// One notification type, as listed by `GET /api/admin/notifications/events`.
#[derive(Debug, Clone, Copy)]
pub struct NotificationType {
    pub name: &'static str,
    pub description: &'static str,
    /// Example values of every field of `data`.
    example_data: fn() -> Value,
}

/// A type as answered, with its example envelope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogEntry {
    pub name: &'static str,
    pub description: &'static str,
    /// A complete envelope of this type, as it is POSTed (values are examples).
    #[schema(value_type = Object)]
    pub example: Value,
}

/// The tenant and time every example shows.
const EXAMPLE_TENANT: &str = "tenant_7f3a9c";
const EXAMPLE_AT_UNIX: i64 = 1_767_261_600;

/// Every type a subscription can ask for.
pub const CATALOG: [NotificationType; 7] = [
    NotificationType {
        name: WORKSPACE_PROVISIONED,
        description: "A tenant's workspace exists and is mapped",
        example_data: || {
            json!({
                "workspace_id": "9b2f6c1e-4d7a-4e0b-8f3d-2a6c5e1b7d90",
                "workspace_name": "Acme [tenant_7f3a9c]",
                "tenant_name": "Acme",
                "event_id": 4211,
            })
        },
    },
    NotificationType {
        name: WORKSPACE_ARCHIVED,
        description: "A deleted tenant's workspace was archived: its connections paused",
        example_data: || json!({"workspace_id": "9b2f6c1e-4d7a-4e0b-8f3d-2a6c5e1b7d90", "policy": "archive", "event_id": 4377}),
    },
    NotificationType {
        name: WORKSPACE_DELETED,
        description: "A deleted tenant's workspace was deleted",
        example_data: || json!({"workspace_id": "9b2f6c1e-4d7a-4e0b-8f3d-2a6c5e1b7d90", "policy": "delete", "event_id": 4377}),
    },
    NotificationType {
        name: TENANT_PROVISIONING_FAILED,
        description: "An event of the tenant failed for good: it is dead until replayed",
        example_data: || {
            json!({
                "event_id": 4211,
                "event_type": "frontegg.tenant.created",
                "kind": "tenant_created",
                "error": "create_workspace: 403 Forbidden: the application lacks ORGANIZATION_EDITOR",
                "attempts": 1,
            })
        },
    },
    NotificationType {
        name: USER_ACTIVATED,
        description: "A user was activated in the tenant",
        example_data: || json!({"user_id": "user_51c0e2", "email": "ada@acme.example", "status": "active", "event_id": 4290}),
    },
    NotificationType {
        name: USER_DEACTIVATED,
        description: "A user was deactivated in or removed from the tenant",
        example_data: || json!({"user_id": "user_51c0e2", "email": "ada@acme.example", "status": "deactivated", "event_id": 4302}),
    },
    NotificationType {
        name: SSO_CHANGED,
        description: "The tenant's SSO settings changed (the provider may be the same)",
        example_data: || json!({"provider": "okta", "previous_provider": "google", "event_id": 4315}),
    },
];

impl NotificationType {
    /// A complete envelope of this type; its message id is derived from the type, so the example
    /// is the same on every call.
    pub fn example(&self) -> Value {
        let at = chrono::DateTime::from_timestamp(EXAMPLE_AT_UNIX, 0)
            .unwrap_or_default()
            .naive_utc();
        let id = format!(
            "msg_{}",
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, self.name.as_bytes()).simple()
        );
        super::envelope(&id, self.name, Some(EXAMPLE_TENANT), (self.example_data)(), at)
    }

    pub fn entry(&self) -> CatalogEntry {
        CatalogEntry {
            name: self.name,
            description: self.description,
            example: self.example(),
        }
    }
}

/// Whether `name` is a type of the catalog.
pub fn is_known_type(name: &str) -> bool {
    CATALOG.iter().any(|t| t.name == name)
}

/// The catalog with its examples, as answered.
pub fn entries() -> Vec<CatalogEntry> {
    CATALOG.iter().map(NotificationType::entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_names_each_type_once() {
        let names: std::collections::BTreeSet<_> = CATALOG.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), CATALOG.len());
        assert!(is_known_type(SSO_CHANGED) && !is_known_type(super::super::SUBSCRIPTION_TEST));
    }

    #[test]
    fn each_example_is_a_whole_envelope_of_its_type() {
        for t in CATALOG {
            let example = t.example();
            let real = super::super::message(
                t.name,
                Some(EXAMPLE_TENANT),
                (t.example_data)(),
                chrono::Utc::now().naive_utc(),
            );
            let real: Value = serde_json::from_str(&real.payload).unwrap();
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&example), keys(&real), "{}", t.name);
            assert_eq!(example["type"], t.name);
            assert_eq!(example["tenant_id"], EXAMPLE_TENANT);
            assert!(example["id"].as_str().unwrap().starts_with("msg_"));
            assert_eq!(example["timestamp"], "2026-01-01T10:00:00.000Z");
            assert!(example["data"].as_object().is_some_and(|d| !d.is_empty()), "{}", t.name);
            assert_eq!(t.example(), example, "the same example every time");
        }
    }
}

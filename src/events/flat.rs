//! The flat shape from the Frontegg setup guide:
//!
//! ```json
//! {"eventType": "tenant.created", "tenantId": "…", "tenantName": "…",
//!  "timestamp": "2024-05-01T12:00:00Z", "metadata": {…}}
//! ```
//!
//! plus `userId`/`email` for user events and `ssoProvider` for SSO events. Every field is at the
//! top level, so each path names exactly one place.

use serde_json::{Map, Value};

use super::fields::lookup;
use super::Candidates;

/// Where each field is in a flat body.
pub(super) fn candidates(root: &Map<String, Value>) -> Candidates<'_> {
    let at = |path| vec![lookup(root, path)];
    Candidates {
        tenant_id: at("tenantId"),
        user_id: at("userId"),
        sso_provider: at("ssoProvider"),
        // The guide has no join event; a Frontegg join key sent flat would carry it here.
        activated_for_tenant: at("activatedForTenant"),
        tenant_name: at("tenantName"),
        email: at("email"),
        occurred_at: at("timestamp"),
        metadata: at("metadata"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use crate::events::{normalize, EventKind, LifecycleEvent, NormalizeError};
    use serde_json::{json, Value};

    fn run(value: Value) -> Result<LifecycleEvent, NormalizeError> {
        normalize(value.to_string().as_bytes())
    }

    #[test]
    fn a_flat_tenant_event_carries_name_time_and_metadata() {
        let event = run(json!({
            "eventType": "tenant.created",
            "tenantId": "t-1",
            "tenantName": "Umbrella",
            "timestamp": "2024-05-01T12:00:00.250Z",
            "metadata": {"plan": "enterprise"}
        }))
        .unwrap();
        assert_eq!(event.kind, EventKind::TenantCreated);
        assert_eq!(event.event_type, "tenant.created");
        assert_eq!(event.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(event.tenant_name.as_deref(), Some("Umbrella"));
        let at = event.occurred_at.unwrap();
        assert_eq!(at.timestamp(), 1_714_564_800);
        assert_eq!(at.timestamp_subsec_millis(), 250);
        assert_eq!(event.metadata, Some(json!({"plan": "enterprise"})));
        assert_eq!(event.user_id, None);
    }

    #[test]
    fn organization_names_are_tenant_kinds() {
        let created = run(json!({"eventType": "organization.created", "tenantId": "o"}));
        assert_eq!(created.unwrap().kind, EventKind::TenantCreated);
        let deleted = run(json!({"eventType": "organization.deleted", "tenantId": "o"}));
        assert_eq!(deleted.unwrap().kind, EventKind::TenantDeleted);
    }

    #[test]
    fn metadata_sent_as_a_json_string_is_decoded() {
        let event = run(json!({"eventType": "tenant.updated", "tenantId": "t", "metadata": "{\"a\":1}"}));
        assert_eq!(event.unwrap().metadata, Some(json!({"a": 1})));
        let event = run(json!({"eventType": "tenant.updated", "tenantId": "t", "metadata": "{oops"}));
        assert_eq!(event.unwrap().metadata, Some(json!("{oops")));
    }

    #[test]
    fn a_missing_tenant_id_names_tenant_id() {
        for event_type in [
            "tenant.created",
            "tenant.updated",
            "tenant.deleted",
            "user.activated",
            "user.deactivated",
            "sso.configured",
        ] {
            let body = json!({"eventType": event_type, "userId": "u", "ssoProvider": "okta"});
            assert_eq!(run(body), Err(NormalizeError::MissingField("tenantId")));
        }
    }

    #[test]
    fn a_user_event_without_user_id_names_user_id() {
        let body = json!({"eventType": "user.deactivated", "tenantId": "t", "email": "a@example.com"});
        assert_eq!(run(body), Err(NormalizeError::MissingField("userId")));
    }

    #[test]
    fn user_events_carry_user_id_and_email() {
        let event = run(json!({
            "eventType": "user.activated",
            "tenantId": "t",
            "userId": "u",
            "email": " ada@example.com ",
            "timestamp": 1_714_564_800_000_i64
        }))
        .unwrap();
        assert_eq!(event.kind, EventKind::UserActivated);
        assert_eq!(event.user_id.as_deref(), Some("u"));
        assert_eq!(event.email.as_deref(), Some("ada@example.com"));
        assert_eq!(event.occurred_at.unwrap().timestamp(), 1_714_564_800);
    }

    #[test]
    fn sso_events_need_sso_provider_and_others_drop_it() {
        let event = run(json!({"eventType": "sso.updated", "tenantId": "t", "ssoProvider": "okta"}));
        assert_eq!(event.unwrap().sso_provider.as_deref(), Some("okta"));
        let missing = json!({"eventType": "sso.configured", "tenantId": "t"});
        assert_eq!(run(missing), Err(NormalizeError::MissingField("ssoProvider")));
        let empty = json!({"eventType": "sso.configured", "tenantId": "t", "ssoProvider": ""});
        assert_eq!(run(empty).unwrap_err().field(), Some("ssoProvider"));
        let other = json!({"eventType": "tenant.created", "tenantId": "t", "ssoProvider": "okta"});
        assert_eq!(run(other).unwrap().sso_provider, None);
    }

    #[test]
    fn invalid_values_name_their_flat_field() {
        let cases = [
            (json!({"eventType": "tenant.created", "tenantId": ""}), "tenantId"),
            (
                json!({"eventType": "tenant.created", "tenantId": "x".repeat(256)}),
                "tenantId",
            ),
            (json!({"eventType": "tenant.created", "tenantId": true}), "tenantId"),
            (
                json!({"eventType": "user.activated", "tenantId": "t", "userId": 1.5}),
                "userId",
            ),
            (
                json!({"eventType": "tenant.created", "tenantId": "t", "tenantName": 7}),
                "tenantName",
            ),
            (
                json!({"eventType": "tenant.created", "tenantId": "t", "timestamp": "soon"}),
                "timestamp",
            ),
        ];
        for (body, field) in cases {
            let err = run(body).unwrap_err();
            assert_eq!(err.code(), "invalid_field");
            assert_eq!(err.field(), Some(field));
        }
    }
}

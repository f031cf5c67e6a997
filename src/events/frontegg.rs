//! Frontegg's real payload shape (reference/frontegg-airbyte.md §1.2):
//!
//! ```json
//! {"eventKey": "frontegg.user.created",
//!  "eventContext": {"tenantId": "…", "userId": "…"},
//!  "user": {"id": "…", "tenantId": "…", "email": "…", "metadata": "{}", …}}
//! ```
//!
//! Only `eventKey` and `eventContext.tenantId` are documented for every event; tenant payloads are
//! unpublished and public receivers disagree on `user.id` vs `user.userId`. So ids come from
//! `eventContext` first and fall back to the entity objects, and nothing else is assumed.

use serde_json::{Map, Value};

use super::fields::lookup;
use super::Candidates;

/// Where each field may be in a Frontegg-shaped body, most authoritative first.
pub(super) fn candidates(root: &Map<String, Value>) -> Candidates<'_> {
    let at = |path| lookup(root, path);
    Candidates {
        // `tenant.*` before `user.tenantId`: a user's `tenantId` is their *active* tenant, which
        // can differ from the tenant the event is about (e.g. `removedFromTenant`).
        tenant_id: vec![
            at("eventContext.tenantId"),
            at("tenant.tenantId"),
            at("tenant.id"),
            at("user.tenantId"),
        ],
        // The docs show `user.id`; some receivers read `user.userId`: accept both.
        user_id: vec![at("eventContext.userId"), at("user.id"), at("user.userId")],
        // Frontegg publishes no SSO event, so where the provider would be is unconfirmed.
        sso_provider: vec![at("sso.provider"), at("eventContext.ssoProvider")],
        // Documented in the one published payload; `false` means invited, not yet activated.
        activated_for_tenant: vec![at("user.activatedForTenant")],
        tenant_name: vec![at("tenant.name")],
        email: vec![at("user.email")],
        // Never `user.createdAt`/`tenant.createdAt`: those date the entity, not the event.
        occurred_at: vec![at("timestamp"), at("createdAt"), at("eventContext.timestamp")],
        metadata: vec![at("user.metadata"), at("tenant.metadata")],
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

    /// The documented example user (email made up), with the given event key.
    fn documented_user_event(key: &str) -> Value {
        json!({
            "user": {
                "id": "35639902-a53d-44c3-9aea-066b06569f78",
                "email": "cheli@example.com",
                "name": "cheli",
                "metadata": "{\"plan\":\"pro\",\"seats\":5}",
                "tenantIds": ["adf4c0a5-9a5e-4c51-a228-d008050c0e15"],
                "tenantId": "adf4c0a5-9a5e-4c51-a228-d008050c0e15",
                "createdAt": "2021-05-02T11:25:22.000Z",
                "activatedForTenant": true
            },
            "eventContext": {
                "tenantId": "adf4c0a5-9a5e-4c51-a228-d008050c0e15",
                "userId": "35639902-a53d-44c3-9aea-066b06569f78"
            },
            "eventKey": key
        })
    }

    #[test]
    fn the_documented_user_payload_normalizes_with_decoded_metadata() {
        let event = run(documented_user_event("frontegg.user.activated")).unwrap();
        assert_eq!(event.kind, EventKind::UserActivated);
        assert_eq!(event.tenant_id.as_deref(), Some("adf4c0a5-9a5e-4c51-a228-d008050c0e15"));
        assert_eq!(event.user_id.as_deref(), Some("35639902-a53d-44c3-9aea-066b06569f78"));
        assert_eq!(event.email.as_deref(), Some("cheli@example.com"));
        assert_eq!(event.metadata, Some(json!({"plan": "pro", "seats": 5})));
        // `user.createdAt` dates the user, not the event.
        assert_eq!(event.occurred_at, None);
        assert_eq!(event.sso_provider, None);
    }

    #[test]
    fn metadata_as_an_object_is_kept_and_as_a_non_json_string_stays_a_string() {
        let mut body = documented_user_event("frontegg.user.activated");
        body["user"]["metadata"] = json!({"plan": "team"});
        assert_eq!(run(body.clone()).unwrap().metadata, Some(json!({"plan": "team"})));
        body["user"]["metadata"] = json!("plan=team");
        assert_eq!(run(body).unwrap().metadata, Some(json!("plan=team")));
    }

    #[test]
    fn event_context_ids_win_over_entity_ids() {
        let mut body = documented_user_event("frontegg.user.removedFromTenant");
        body["eventContext"] = json!({"tenantId": "ctx-tenant", "userId": "ctx-user"});
        body["tenant"] = json!({"tenantId": "entity-tenant", "name": "Acme"});
        let event = run(body).unwrap();
        assert_eq!(event.kind, EventKind::UserDeactivated);
        assert_eq!(event.tenant_id.as_deref(), Some("ctx-tenant"));
        assert_eq!(event.user_id.as_deref(), Some("ctx-user"));
        assert_eq!(event.tenant_name.as_deref(), Some("Acme"));
    }

    #[test]
    fn entity_ids_are_used_when_event_context_lacks_them() {
        let event = run(json!({
            "eventKey": "frontegg.user.deleted",
            "eventContext": {},
            "user": {"userId": "u-1", "tenantId": "t-user"},
            "tenant": {"id": "t-internal", "tenantId": "t-1"}
        }))
        .unwrap();
        assert_eq!(event.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(event.user_id.as_deref(), Some("u-1"));

        let event = run(json!({"eventKey": "frontegg.tenant.deleted", "tenant": {"id": "t-2"}}));
        assert_eq!(event.unwrap().tenant_id.as_deref(), Some("t-2"));

        let event = run(json!({"eventKey": "frontegg.user.activated", "user": {"id": "u", "tenantId": "t-3"}}));
        assert_eq!(event.unwrap().tenant_id.as_deref(), Some("t-3"));
    }

    #[test]
    fn a_missing_tenant_id_names_event_context_tenant_id() {
        for body in [
            json!({"eventKey": "frontegg.tenant.created"}),
            json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": null}}),
            json!({"eventKey": "frontegg.tenant.created", "eventContext": "t-1"}),
            json!({"eventKey": "frontegg.tenant.updated", "tenant": {"name": "Acme"}}),
        ] {
            assert_eq!(run(body), Err(NormalizeError::MissingField("eventContext.tenantId")));
        }
    }

    #[test]
    fn a_user_event_without_a_user_id_names_event_context_user_id() {
        for key in [
            "frontegg.user.activated",
            "frontegg.user.deleted",
            "frontegg.user.removedFromTenant",
        ] {
            let body = json!({"eventKey": key, "eventContext": {"tenantId": "t-1"}});
            assert_eq!(run(body), Err(NormalizeError::MissingField("eventContext.userId")));
        }
    }

    #[test]
    fn an_invalid_id_names_the_path_it_was_found_at() {
        let body =
            json!({"eventKey": "frontegg.user.activated", "eventContext": {"tenantId": "t"}, "user": {"id": ["u"]}});
        let err = run(body).unwrap_err();
        assert_eq!(err.field(), Some("user.id"));
        assert_eq!(err.code(), "invalid_field");

        let body = json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": "t\u{7}"}});
        assert_eq!(run(body).unwrap_err().field(), Some("eventContext.tenantId"));
    }

    #[test]
    fn numeric_ids_become_strings() {
        let body = json!({"eventKey": "frontegg.user.activated", "eventContext": {"tenantId": 12, "userId": 34}});
        let event = run(body).unwrap();
        assert_eq!(event.tenant_id.as_deref(), Some("12"));
        assert_eq!(event.user_id.as_deref(), Some("34"));
    }

    #[test]
    fn the_sso_provider_is_read_from_sso_provider_or_event_context() {
        let from_object =
            json!({"eventKey": "sso.configured", "eventContext": {"tenantId": "t"}, "sso": {"provider": "okta"}});
        assert_eq!(run(from_object).unwrap().sso_provider.as_deref(), Some("okta"));
        let from_context =
            json!({"eventKey": "sso.updated", "eventContext": {"tenantId": "t", "ssoProvider": "azure-ad"}});
        let event = run(from_context).unwrap();
        assert_eq!(event.kind, EventKind::SsoChanged);
        assert_eq!(event.sso_provider.as_deref(), Some("azure-ad"));
        let missing = json!({"eventKey": "sso.configured", "eventContext": {"tenantId": "t"}});
        assert_eq!(run(missing), Err(NormalizeError::MissingField("sso.provider")));
    }

    #[test]
    fn occurred_at_comes_from_timestamp_created_at_or_event_context() {
        let key = "frontegg.tenant.created";
        let expected = chrono::DateTime::from_timestamp(1_714_564_800, 0);
        let cases = [
            json!({"eventKey": key, "eventContext": {"tenantId": "t"}, "timestamp": "2024-05-01T12:00:00Z"}),
            json!({"eventKey": key, "eventContext": {"tenantId": "t"}, "createdAt": 1_714_564_800}),
            json!({"eventKey": key, "eventContext": {"tenantId": "t", "timestamp": 1_714_564_800_000_i64}}),
            // `timestamp` wins over `createdAt`.
            json!({"eventKey": key, "eventContext": {"tenantId": "t"}, "timestamp": 1_714_564_800, "createdAt": 5}),
        ];
        for body in cases {
            assert_eq!(run(body.clone()).unwrap().occurred_at, expected, "{body}");
        }
        let bad = json!({"eventKey": key, "eventContext": {"tenantId": "t"}, "timestamp": "last tuesday"});
        assert_eq!(run(bad).unwrap_err().field(), Some("timestamp"));
    }

    #[test]
    fn tenant_metadata_is_used_when_there_is_no_user_metadata() {
        let body = json!({"eventKey": "frontegg.tenant.updated", "eventContext": {"tenantId": "t"}, "tenant": {"tenantId": "t", "name": "  Acme  ", "metadata": "{\"tier\":\"gold\"}"}});
        let event = run(body).unwrap();
        assert_eq!(event.metadata, Some(json!({"tier": "gold"})));
        assert_eq!(event.tenant_name.as_deref(), Some("Acme"));
    }

    #[test]
    fn a_frontegg_event_outside_the_table_is_ignored() {
        let event = run(documented_user_event("frontegg.user.signedUp")).unwrap();
        assert_eq!(event.kind, EventKind::Ignored);
        assert_eq!(event.event_type, "frontegg.user.signedUp");
        assert_eq!(event.tenant_id.as_deref(), Some("adf4c0a5-9a5e-4c51-a228-d008050c0e15"));
        assert!(!event.activated_for_tenant, "only a join looks at it");
    }

    #[test]
    fn the_documented_user_created_payload_is_a_join_activated_for_its_tenant() {
        let event = run(documented_user_event("frontegg.user.created")).unwrap();
        assert_eq!(event.kind, EventKind::UserJoined);
        assert_eq!(event.tenant_id.as_deref(), Some("adf4c0a5-9a5e-4c51-a228-d008050c0e15"));
        assert_eq!(event.user_id.as_deref(), Some("35639902-a53d-44c3-9aea-066b06569f78"));
        assert_eq!(event.email.as_deref(), Some("cheli@example.com"));
        assert!(event.activated_for_tenant);
    }

    #[test]
    fn a_join_reads_activated_for_tenant_and_its_absence_means_invited() {
        for key in [
            "frontegg.user.created",
            "frontegg.user.invitedToTenant",
            "frontegg.user.joinedTenantUsingInvitationLink",
        ] {
            let mut body = documented_user_event(key);
            body["user"]["activatedForTenant"] = json!(false);
            let event = run(body.clone()).unwrap();
            assert_eq!(
                (event.kind, event.activated_for_tenant),
                (EventKind::UserJoined, false),
                "{key}"
            );
            body["user"]["activatedForTenant"] = json!(null);
            assert!(!run(body.clone()).unwrap().activated_for_tenant, "{key}: null");
            body["user"].as_object_mut().unwrap().remove("activatedForTenant");
            assert!(!run(body).unwrap().activated_for_tenant, "{key}: absent");
        }
        let bare =
            json!({"eventKey": "frontegg.user.invitedToTenant", "eventContext": {"tenantId": "t", "userId": "u"}});
        assert!(!run(bare).unwrap().activated_for_tenant);
    }

    #[test]
    fn a_join_with_activated_for_tenant_that_is_not_a_boolean_names_the_field() {
        for bad in [json!("true"), json!(1), json!({})] {
            let mut body = documented_user_event("frontegg.user.invitedToTenant");
            body["user"]["activatedForTenant"] = bad.clone();
            let err = run(body).unwrap_err();
            assert_eq!(err.code(), "invalid_field", "{bad}");
            assert_eq!(err.field(), Some("user.activatedForTenant"), "{bad}");
        }
    }

    #[test]
    fn other_kinds_never_look_at_activated_for_tenant() {
        let mut body = documented_user_event("frontegg.user.activated");
        body["user"]["activatedForTenant"] = json!("yes");
        let event = run(body).unwrap();
        assert_eq!(event.kind, EventKind::UserActivated);
        assert!(!event.activated_for_tenant);
    }

    #[test]
    fn a_join_without_a_user_id_names_event_context_user_id() {
        let body = json!({"eventKey": "frontegg.user.invitedToTenant", "eventContext": {"tenantId": "t-1"}});
        assert_eq!(run(body), Err(NormalizeError::MissingField("eventContext.userId")));
    }
}

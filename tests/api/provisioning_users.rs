//! Users joining a tenant (`frontegg.user.created`, `invitedToTenant`,
//! `joinedTenantUsingInvitationLink`): stored `invited` or `active` as the payload says, activated
//! later, never downgraded, skipped for a deleted tenant, and announced only when active.

use std::time::Duration;

use serde_json::{json, Value};
use tenantgate::tenants::{self, TenantUser};

use crate::helpers::*;
use crate::notifications::spawn_notifying_app;
use crate::on_both_backends;
use crate::provisioning_worker::spawn_worker_app;

const WAIT: Duration = Duration::from_secs(20);

/// A Frontegg-shaped join; `activated` is `user.activatedForTenant` (`None`: left out), `email`
/// `user.email` (`None`: left out).
fn join(key: &str, tenant: &str, user: &str, activated: Option<bool>, email: Option<&str>) -> Value {
    let mut entity = json!({"id": user, "tenantId": tenant, "metadata": "{}"});
    if let Some(activated) = activated {
        entity["activatedForTenant"] = activated.into();
    }
    if let Some(email) = email {
        entity["email"] = email.into();
    }
    json!({"eventKey": key, "eventContext": {"tenantId": tenant, "userId": user}, "user": entity})
}

fn invited(tenant: &str, user: &str) -> Value {
    join(
        "frontegg.user.invitedToTenant",
        tenant,
        user,
        Some(false),
        Some(&format!("{user}@example.com")),
    )
}

/// A Frontegg-shaped `frontegg.user.activated` without an email.
fn activated(tenant: &str, user: &str) -> Value {
    json!({"eventKey": "frontegg.user.activated", "eventContext": {"tenantId": tenant, "userId": user}})
}

/// Delivers each body in turn and waits for it to finish with `status`.
async fn process(app: &TestApp, bodies: &[Value], status: &str) {
    for body in bodies {
        let id = app.deliver(body).await;
        let row = app.finished_event(id, WAIT).await;
        assert_eq!(row.status, status, "{body}: {:?}", row.last_error);
    }
}

async fn user(app: &TestApp, tenant: &'static str, user: &'static str) -> TenantUser {
    app.db
        .run(move |c| tenants::user(c, tenant, user))
        .await
        .unwrap()
        .expect("the user is stored")
}

async fn audit_actions(app: &TestApp, tenant: &'static str) -> Vec<String> {
    let audit = app
        .db
        .run(move |c| tenantgate::db::audit::audit_of(c, tenant))
        .await
        .unwrap();
    audit.into_iter().map(|entry| entry.action).collect()
}

on_both_backends! {
    async fn an_invited_user_is_stored_invited_then_active_after_frontegg_user_activated(backend) {
        let app = spawn_worker_app(backend).await;
        process(&app, &[invited("t-inv", "u1")], "succeeded").await;
        let stored = user(&app, "t-inv", "u1").await;
        assert_eq!((stored.status.as_str(), stored.email.as_deref()), ("invited", Some("u1@example.com")));

        process(&app, &[activated("t-inv", "u1")], "succeeded").await;
        let stored = user(&app, "t-inv", "u1").await;
        assert_eq!((stored.status.as_str(), stored.email.as_deref()), ("active", Some("u1@example.com")));
        assert_eq!(audit_actions(&app, "t-inv").await, ["user.joined", "user.activated"]);
    }

    async fn a_join_without_activated_for_tenant_stores_the_user_invited(backend) {
        let app = spawn_worker_app(backend).await;
        let body = join("frontegg.user.joinedTenantUsingInvitationLink", "t-link", "u1", None, None);
        process(&app, &[body], "succeeded").await;
        assert_eq!(user(&app, "t-link", "u1").await.status, "invited");
    }

    async fn a_join_after_activation_keeps_the_user_active_and_fills_in_the_email(backend) {
        let app = spawn_worker_app(backend).await;
        process(&app, &[activated("t-keep", "u1")], "succeeded").await;
        assert_eq!(user(&app, "t-keep", "u1").await.email, None);

        process(&app, &[invited("t-keep", "u1")], "succeeded").await;
        let stored = user(&app, "t-keep", "u1").await;
        assert_eq!((stored.status.as_str(), stored.email.as_deref()), ("active", Some("u1@example.com")));
        let by_link = join("frontegg.user.joinedTenantUsingInvitationLink", "t-keep", "u1", Some(false), None);
        process(&app, &[by_link], "succeeded").await;
        let stored = user(&app, "t-keep", "u1").await;
        assert_eq!((stored.status.as_str(), stored.email.as_deref()), ("active", Some("u1@example.com")));
        assert_eq!(audit_actions(&app, "t-keep").await, ["user.activated", "user.joined", "user.joined"]);
    }

    async fn a_deactivated_user_who_joins_again_is_invited_or_active_as_the_payload_says(backend) {
        let app = spawn_worker_app(backend).await;
        let removed = |user: &str| {
            json!({"eventKey": "frontegg.user.removedFromTenant", "eventContext": {"tenantId": "t-back", "userId": user}})
        };
        process(&app, &[activated("t-back", "u1"), removed("u1"), invited("t-back", "u1")], "succeeded").await;
        assert_eq!(user(&app, "t-back", "u1").await.status, "invited");

        let created = join("frontegg.user.created", "t-back", "u2", Some(true), None);
        process(&app, &[activated("t-back", "u2"), removed("u2"), created], "succeeded").await;
        assert_eq!(user(&app, "t-back", "u2").await.status, "active");
    }

    async fn a_user_created_active_for_the_tenant_is_active_and_announced_and_an_invitation_is_not(backend) {
        let app = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let sub = app.subscribe("http://127.0.0.1:9/hook", &["user.activated", "user.deactivated"], None).await;

        process(&app, &[invited("t-note", "u-invited")], "succeeded").await;
        assert!(app.deliveries(&sub.id).await.is_empty(), "an invitation is not announced");

        let created = join("frontegg.user.created", "t-note", "u-created", Some(true), Some("new@example.com"));
        process(&app, &[created], "succeeded").await;
        assert_eq!(user(&app, "t-note", "u-created").await.status, "active");
        let sub_id = sub.id.clone();
        let queued = app
            .db
            .run(move |c| tenantgate::notifications::store::deliveries_of(c, &sub_id, None, 10))
            .await
            .unwrap();
        assert_eq!(queued.len(), 1, "one notification for the active user");
        let message = &queued[0].1;
        assert_eq!((message.event_type.as_str(), message.tenant_id.as_deref()), ("user.activated", Some("t-note")));
        let envelope: Value = serde_json::from_str(&message.payload).unwrap();
        assert_eq!(
            (&envelope["data"]["user_id"], &envelope["data"]["email"], &envelope["data"]["status"]),
            (&json!("u-created"), &json!("new@example.com"), &json!("active"))
        );

        // Joining again changes nothing subscribers were told.
        let again = join("frontegg.user.invitedToTenant", "t-note", "u-created", Some(true), None);
        process(&app, &[again], "succeeded").await;
        assert_eq!(app.deliveries(&sub.id).await.len(), 1);
    }

    async fn a_join_for_a_deleted_tenant_is_skipped_like_the_other_user_events(backend) {
        let app = spawn_worker_app(backend).await;
        let tenant = |key: &str, at: &str| json!({"eventKey": key, "eventContext": {"tenantId": "t-gone"}, "timestamp": at});
        process(
            &app,
            &[tenant("frontegg.tenant.created", "2026-01-01T00:00:00Z"), tenant("frontegg.tenant.deleted", "2026-01-02T00:00:00Z")],
            "succeeded",
        )
        .await;
        let joins = [
            invited("t-gone", "u1"),
            join("frontegg.user.created", "t-gone", "u2", Some(true), None),
            join("frontegg.user.joinedTenantUsingInvitationLink", "t-gone", "u3", Some(true), None),
            activated("t-gone", "u4"),
        ];
        for body in joins {
            let id = app.deliver(&body).await;
            let row = app.finished_event(id, WAIT).await;
            assert_eq!(row.status, "skipped", "{body}");
            assert!(row.last_error.as_deref().unwrap_or_default().contains("the tenant is archived"), "{:?}", row.last_error);
        }
        let users = app.db.run(|c| tenants::users_of(c, "t-gone", 100)).await.unwrap();
        assert!(users.is_empty(), "{users:?}");
    }

    async fn a_join_older_than_the_users_last_event_is_stale(backend) {
        let app = spawn_worker_app(backend).await;
        let flat_deactivated = json!({"eventType": "user.deactivated", "tenantId": "t-stale", "userId": "u1", "timestamp": "2026-01-02T00:00:00Z"});
        process(&app, &[flat_deactivated], "succeeded").await;
        let mut late = invited("t-stale", "u1");
        late["timestamp"] = "2026-01-01T00:00:00Z".into();
        let id = app.deliver(&late).await;
        let row = app.finished_event(id, WAIT).await;
        assert_eq!(row.status, "skipped");
        assert!(row.last_error.as_deref().unwrap_or_default().contains("stale"), "{:?}", row.last_error);
        assert_eq!(user(&app, "t-stale", "u1").await.status, "deactivated");
    }
}

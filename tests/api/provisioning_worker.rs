//! The worker against the dry-run provider: effects per kind, ordering, staleness, leases,
//! several instances.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tenantgate::inbox::claims;
use tenantgate::provisioning::dry_run::DryRun;
use tenantgate::tenants;

use crate::helpers::*;
use crate::on_both_backends;

const WAIT: Duration = Duration::from_secs(20);

pub async fn spawn_worker_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.worker.enabled = true).await
}

fn tenant_event(key: &str, tenant: &str, at: &str) -> serde_json::Value {
    json!({"eventKey": key, "eventContext": {"tenantId": tenant}, "tenant": {"name": format!("Tenant {tenant}")}, "timestamp": at})
}

fn user_event(kind: &str, tenant: &str, user: &str, at: &str) -> serde_json::Value {
    json!({"eventType": kind, "tenantId": tenant, "userId": user, "email": format!("{user}@example.com"), "timestamp": at})
}

on_both_backends! {
    async fn each_kind_takes_its_effect_and_is_audited(backend) {
        let app = spawn_worker_app(backend).await;
        let ids = [
            app.deliver(&tenant_event("frontegg.tenant.created", "t1", "2026-01-01T00:00:00Z")).await,
            app.deliver(&user_event("user.activated", "t1", "u1", "2026-01-01T00:01:00Z")).await,
            app.deliver(&user_event("user.activated", "t1", "u2", "2026-01-01T00:02:00Z")).await,
            app.deliver(&user_event("user.deactivated", "t1", "u2", "2026-01-01T00:03:00Z")).await,
            app.deliver(&json!({"eventType": "sso.configured", "tenantId": "t1", "ssoProvider": "okta", "timestamp": "2026-01-01T00:04:00Z"})).await,
        ];
        for id in ids {
            assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded", "event {id}");
        }
        let (mapping, users, sso, audit) = app
            .db
            .run(|c| Ok((tenants::mapping(c, "t1")?, tenants::users_of(c, "t1", 100)?, tenants::sso(c, "t1")?, tenantgate::db::audit::audit_of(c, "t1")?)))
            .await
            .unwrap();
        let mapping = mapping.unwrap();
        assert_eq!((mapping.status.as_str(), mapping.workspace_id.clone()), ("active", Some(DryRun::workspace_id("t1"))));
        assert_eq!(mapping.workspace_name.as_deref(), Some("Tenant t1 [t1]"));
        let users: BTreeMap<_, _> = users.iter().map(|u| (u.user_id.as_str(), u.status.as_str())).collect();
        assert_eq!(users, BTreeMap::from([("u1", "active"), ("u2", "deactivated")]));
        assert_eq!(sso.unwrap().provider, "okta");
        let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["workspace.provisioned", "user.activated", "user.activated", "user.deactivated", "security.sso_changed"]);

        let deleted = app.deliver(&tenant_event("frontegg.tenant.deleted", "t1", "2026-01-02T00:00:00Z")).await;
        assert_eq!(app.finished_event(deleted, WAIT).await.status, "succeeded");
        let (mapping, users, sso) = app
            .db
            .run(|c| Ok((tenants::mapping(c, "t1")?, tenants::users_of(c, "t1", 100)?, tenants::sso(c, "t1")?)))
            .await
            .unwrap();
        assert_eq!(mapping.unwrap().status, "archived");
        assert!(users.iter().all(|u| u.status == "deleted" && u.deleted_at.is_some()), "{users:?}");
        assert!(sso.unwrap().deleted_at.is_some());
    }

    async fn a_create_older_than_an_applied_delete_is_skipped_and_leaves_no_workspace(backend) {
        let app = spawn_worker_app(backend).await;
        let delete = app.deliver(&tenant_event("frontegg.tenant.deleted", "t-late", "2026-03-01T00:00:00Z")).await;
        assert_eq!(app.finished_event(delete, WAIT).await.status, "succeeded");
        let create = app.deliver(&tenant_event("frontegg.tenant.created", "t-late", "2026-02-01T00:00:00Z")).await;
        let row = app.finished_event(create, WAIT).await;
        assert_eq!(row.status, "skipped");
        assert!(row.last_error.as_deref().unwrap_or_default().contains("stale"), "{:?}", row.last_error);
        let mapping = app.db.run(|c| tenants::mapping(c, "t-late")).await.unwrap().unwrap();
        assert_eq!((mapping.status.as_str(), mapping.workspace_id), ("tombstone", None));
    }

    async fn a_user_event_older_than_the_tenants_deletion_does_not_bring_the_user_back(backend) {
        let app = spawn_worker_app(backend).await;
        for event in [
            tenant_event("frontegg.tenant.created", "t-gone", "2026-01-01T00:00:00Z"),
            user_event("user.activated", "t-gone", "u1", "2026-01-01T00:01:00Z"),
            tenant_event("frontegg.tenant.deleted", "t-gone", "2026-01-03T00:00:00Z"),
        ] {
            let id = app.deliver(&event).await;
            assert_eq!(app.finished_event(id, WAIT).await.status, "succeeded");
        }
        let late = app.deliver(&user_event("user.activated", "t-gone", "u1", "2026-01-02T00:00:00Z")).await;
        let row = app.finished_event(late, WAIT).await;
        assert_eq!(row.status, "skipped", "{:?}", row.last_error);
        let user = app.db.run(|c| tenants::user(c, "t-gone", "u1")).await.unwrap().unwrap();
        assert_eq!((user.status.as_str(), user.deleted_at.is_some()), ("deleted", true));
    }

    async fn a_stale_user_event_is_skipped_with_the_reason(backend) {
        let app = spawn_worker_app(backend).await;
        let newer = app.deliver(&user_event("user.deactivated", "t2", "u1", "2026-01-02T00:00:00Z")).await;
        assert_eq!(app.finished_event(newer, WAIT).await.status, "succeeded");
        let older = app.deliver(&user_event("user.activated", "t2", "u1", "2026-01-01T00:00:00Z")).await;
        assert_eq!(app.finished_event(older, WAIT).await.status, "skipped");
        let user = app.db.run(|c| tenants::user(c, "t2", "u1")).await.unwrap().unwrap();
        assert_eq!(user.status, "deactivated");
    }

    async fn a_claim_whose_worker_died_is_finished_by_another_once_its_lease_expires(backend) {
        let receiver = spawn_app(backend).await;
        let id = receiver.deliver(&tenant_event("frontegg.tenant.created", "t-crash", "2026-01-01T00:00:00Z")).await;
        // A worker claims the event with a short lease, then dies without finishing it.
        let now = chrono::Utc::now().naive_utc();
        let claimed = receiver.db.run(move |c| claims::claim(c, now, now + chrono::Duration::milliseconds(300), 1)).await.unwrap();
        assert_eq!(claimed.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);

        let worker = spawn_instance(&receiver, |s| { s.worker.enabled = true; s.worker.poll_interval_ms = 50; }).await;
        let row = worker.finished_event(id, WAIT).await;
        assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 2));
        let attempts = worker.db.run(move |c| claims::attempts_of(c, id)).await.unwrap();
        assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), [2], "the dead worker's attempt left no row");
    }

    async fn a_tenants_events_take_effect_in_payload_order_whatever_the_arrival_order(backend) {
        let receiver = spawn_app(backend).await;
        // Arrive newest first; the payload timestamps say the create came first.
        let late = receiver.deliver(&user_event("user.deactivated", "t-order", "u1", "2026-01-01T00:02:00Z")).await;
        let mid = receiver.deliver(&user_event("user.activated", "t-order", "u1", "2026-01-01T00:01:00Z")).await;
        let first = receiver.deliver(&tenant_event("frontegg.tenant.created", "t-order", "2026-01-01T00:00:00Z")).await;
        let worker = spawn_instance(&receiver, |s| s.worker.enabled = true).await;
        for id in [first, mid, late] {
            assert_eq!(worker.finished_event(id, WAIT).await.status, "succeeded");
        }
        let started = |id: i64| {
            let db = worker.db.clone();
            async move { db.run(move |c| claims::attempts_of(c, id)).await.unwrap()[0].started_at }
        };
        assert!(started(first).await <= started(mid).await && started(mid).await <= started(late).await);
        let user = worker.db.run(|c| tenants::user(c, "t-order", "u1")).await.unwrap().unwrap();
        assert_eq!(user.status, "deactivated");
    }
}

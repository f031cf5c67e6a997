//! The admin API: tokens, filters, pagination, replays, tenants, stats.

use diesel::prelude::*;
use serde_json::{json, Value};
use tenantgate::db::schema::webhook_events;
use tenantgate::with_conn;

use crate::cli_events::{audit_entries, events, flat, stdout, AuditEntry};
use crate::helpers::*;
use crate::on_both_backends;

pub const ADMIN_TOKEN: &str = "test-admin-token-not-real";

pub async fn spawn_admin_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.admin.tokens = vec![ADMIN_TOKEN.to_owned().into(), "test-admin-token-old".to_owned().into()]
    })
    .await
}

impl TestApp {
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// Sets an event's status directly, as if a worker had finished it so.
    pub async fn force_status(&self, id: i64, status: &'static str) {
        self.db
            .run(move |conn| {
                use webhook_events::dsl as e;
                with_conn!(conn, |c| diesel::update(e::webhook_events.find(id))
                    .set((
                        e::status.eq(status),
                        e::finished_at.eq(Some(chrono::Utc::now().naive_utc()))
                    ))
                    .execute(c))?;
                Ok(())
            })
            .await
            .unwrap();
    }
}

fn event(kind: &str, tenant: &str, at: &str) -> Value {
    json!({"eventType": kind, "tenantId": tenant, "userId": "u1", "timestamp": at, "tenantName": "T"})
}

fn ids(page: &Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

const ROUTES: [(&str, &str); 9] = [
    ("GET", "/api/admin/events"),
    ("GET", "/api/admin/events/1"),
    ("POST", "/api/admin/events/1/replay"),
    ("POST", "/api/admin/events/replay"),
    ("GET", "/api/admin/tenants"),
    ("GET", "/api/admin/tenants/t1"),
    ("GET", "/api/admin/stats"),
    ("GET", "/api/admin/events?status=dead"),
    ("GET", "/api/admin/tenants?status=active"),
];

on_both_backends! {
    async fn every_admin_route_refuses_a_missing_or_wrong_token(backend) {
        let app = spawn_admin_app(backend).await;
        for (method, path) in ROUTES {
            for token in [None, Some("wrong-token"), Some("Bearer-less")] {
                let mut request = app.client.request(method.parse().unwrap(), format!("{}{path}", app.address)).json(&json!({"all": true}));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
                assert!(response.headers().contains_key("www-authenticate"));
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"], "unauthorized", "{method} {path}");
            }
        }
        // The second, older token of a rotation also works.
        let response = app.client.get(format!("{}/api/admin/stats", app.address)).bearer_auth("test-admin-token-old").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    async fn events_are_filtered_by_each_field_and_paged_newest_first(backend) {
        let app = spawn_admin_app(backend).await;
        let mut all = Vec::new();
        for i in 0..7 {
            all.push(app.deliver(&event("user.activated", &format!("t{}", i % 2), &format!("2026-01-01T00:0{i}:00Z"))).await);
        }
        let deleted = app.deliver(&json!({"eventType": "tenant.deleted", "tenantId": "t9"})).await;
        app.force_status(all[0], "dead").await;

        // Pages of three, newest first, until the cursor runs out.
        let mut seen = Vec::new();
        let mut path = "/api/admin/events?limit=3".to_owned();
        loop {
            let (status, page) = app.admin_get(&path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(ids(&page));
            match page["next_cursor"].as_i64() {
                Some(cursor) => path = format!("/api/admin/events?limit=3&cursor={cursor}"),
                None => break,
            }
        }
        let mut expected: Vec<i64> = all.iter().copied().chain([deleted]).collect();
        expected.reverse();
        assert_eq!(seen, expected);

        let (_, page) = app.admin_get("/api/admin/events?status=dead").await;
        assert_eq!(ids(&page), [all[0]]);
        let (_, page) = app.admin_get("/api/admin/events?kind=tenant_deleted").await;
        assert_eq!(ids(&page), [deleted]);
        let (_, page) = app.admin_get("/api/admin/events?tenant_id=t1").await;
        assert_eq!(ids(&page), [all[5], all[3], all[1]]);
        let future = "2999-01-01T00:00:00Z";
        let (_, page) = app.admin_get(&format!("/api/admin/events?since={future}")).await;
        assert_eq!(ids(&page), Vec::<i64>::new());
        let (_, page) = app.admin_get(&format!("/api/admin/events?until={future}&status=pending&kind=user_activated")).await;
        assert_eq!(ids(&page).len(), 6);

        for bad in ["status=exploded", "kind=nope", "since=yesterday", "limit=0", "limit=9999", "cursor=abc"] {
            let (status, body) = app.admin_get(&format!("/api/admin/events?{bad}")).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
    }

    async fn a_time_window_is_paged_newest_received_first_each_event_once(backend) {
        let app = spawn_admin_app(backend).await;
        let mut stored = Vec::new();
        for i in 0..6 {
            stored.push(app.deliver(&json!({"eventType": "tenant.deleted", "tenantId": format!("w{i}")})).await);
        }
        // Received out of id order, as concurrent deliveries can be, two at the same instant:
        // the minute after 10:00 of each event, in id order.
        for (id, minute) in stored.iter().copied().zip([4, 1, 3, 3, 9, 0]) {
            let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(10, minute, 0).unwrap();
            app.db
                .run(move |conn| {
                    use webhook_events::dsl as e;
                    with_conn!(conn, |c| diesel::update(e::webhook_events.find(id)).set(e::received_at.eq(at)).execute(c))?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        let window = "since=2026-01-01T10:01:00Z&until=2026-01-01T10:05:00Z";
        let mut seen = Vec::new();
        let mut path = format!("/api/admin/events?{window}&limit=2");
        loop {
            let (status, page) = app.admin_get(&path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(ids(&page));
            match page["next_cursor"].as_i64() {
                Some(cursor) => path = format!("/api/admin/events?{window}&limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, [stored[0], stored[3], stored[2], stored[1]], "by time received, then id");
    }

    async fn one_event_shows_its_payload_and_attempts_and_replays_only_when_finished(backend) {
        let app = spawn_admin_app(backend).await;
        let id = app.deliver(&event("user.activated", "t1", "2026-01-01T00:00:00Z")).await;
        let (status, detail) = app.admin_get(&format!("/api/admin/events/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(detail["payload"]["tenantId"], "t1");
        assert_eq!(detail["attempt_history"], json!([]));
        assert_eq!(app.admin_get("/api/admin/events/999999").await.0, 404);

        let (status, body) = app.admin_post(&format!("/api/admin/events/{id}/replay"), json!({})).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "a pending event is not replayed");
        app.force_status(id, "dead").await;
        let (status, body) = app.admin_post(&format!("/api/admin/events/{id}/replay"), json!({})).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("requeued")));
        assert_eq!(app.event(id).await.status, "pending");
        assert_eq!(app.admin_post("/api/admin/events/999999/replay", json!({})).await.0, 404);
    }

    async fn bulk_replay_requeues_what_the_filter_matches_and_refuses_an_empty_filter(backend) {
        let app = spawn_admin_app(backend).await;
        let dead_a = app.deliver(&event("user.activated", "ta", "2026-01-01T00:00:00Z")).await;
        let dead_b = app.deliver(&event("user.activated", "tb", "2026-01-01T00:00:00Z")).await;
        let done = app.deliver(&event("user.activated", "tc", "2026-01-01T00:00:00Z")).await;
        app.force_status(dead_a, "dead").await;
        app.force_status(dead_b, "dead").await;
        app.force_status(done, "succeeded").await;

        let (status, body) = app.admin_post("/api/admin/events/replay", json!({})).await;
        assert_eq!((status, body["error"].as_str()), (422, Some("empty_filter")));
        let (status, body) = app.admin_post("/api/admin/events/replay", json!({"status": "dead", "tenant_id": "ta"})).await;
        assert_eq!((status, body["requeued"].as_i64()), (200, Some(1)));
        let (_, body) = app.admin_post("/api/admin/events/replay", json!({"status": "dead"})).await;
        assert_eq!(body["requeued"], 1);
        let statuses = [app.event(dead_a).await.status, app.event(dead_b).await.status, app.event(done).await.status];
        assert_eq!(statuses, ["pending", "pending", "succeeded"]);
        let (_, body) = app.admin_post("/api/admin/events/replay", json!({"all": true})).await;
        assert_eq!(body["requeued"], 1, "only finished events are requeued");
        assert_eq!(app.admin_post("/api/admin/events/replay", json!({"colour": "red"})).await.0, 400);
    }

    async fn tenants_are_listed_by_status_and_paged_and_shown_with_users_and_events(backend) {
        let app = spawn_app_with(backend, |s| {
            s.worker.enabled = true;
            s.admin.tokens = vec![ADMIN_TOKEN.to_owned().into()];
        })
        .await;
        for t in ["t1", "t2", "t3", "t4", "t5"] {
            let id = app.deliver(&event("tenant.created", t, "2026-01-01T00:00:00Z")).await;
            app.finished_event(id, std::time::Duration::from_secs(20)).await;
        }
        let id = app.deliver(&event("tenant.deleted", "t5", "2026-01-02T00:00:00Z")).await;
        app.finished_event(id, std::time::Duration::from_secs(20)).await;
        let id = app.deliver(&event("user.activated", "t1", "2026-01-01T00:01:00Z")).await;
        app.finished_event(id, std::time::Duration::from_secs(20)).await;

        let (_, page1) = app.admin_get("/api/admin/tenants?status=active&limit=2").await;
        let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
        let (_, page2) = app.admin_get(&format!("/api/admin/tenants?status=active&limit=2&cursor={cursor}")).await;
        let names: Vec<_> = page1["tenants"].as_array().unwrap().iter().chain(page2["tenants"].as_array().unwrap()).map(|t| t["tenant_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["t1", "t2", "t3", "t4"]);
        assert_eq!(page2["next_cursor"], Value::Null);
        let (_, archived) = app.admin_get("/api/admin/tenants?status=archived").await;
        assert_eq!(archived["tenants"][0]["tenant_id"], "t5");
        assert_eq!(app.admin_get("/api/admin/tenants?status=vanished").await.0, 400);

        let (status, t1) = app.admin_get("/api/admin/tenants/t1").await;
        assert_eq!(status, 200);
        assert_eq!(t1["mapping"]["status"], "active");
        assert_eq!(t1["users"][0]["user_id"], "u1");
        assert_eq!(t1["recent_events"].as_array().unwrap().len(), 2);
        assert_eq!(app.admin_get("/api/admin/tenants/nobody").await.0, 404);
    }

    async fn stats_count_by_status_and_kind_and_age_the_oldest_pending(backend) {
        let app = spawn_admin_app(backend).await;
        let a = app.deliver(&event("user.activated", "t1", "2026-01-01T00:00:00Z")).await;
        app.deliver(&event("user.deactivated", "t1", "2026-01-01T00:01:00Z")).await;
        app.deliver(&json!({"eventKey": "frontegg.user.signedUp", "eventContext": {"tenantId": "t1"}})).await;
        app.force_status(a, "dead").await;
        let (status, stats) = app.admin_get("/api/admin/stats").await;
        assert_eq!(status, 200);
        assert_eq!(stats["by_status"], json!({"dead": 1, "pending": 1, "ignored": 1}));
        assert_eq!(stats["by_kind"], json!({"user_activated": 1, "user_deactivated": 1, "ignored": 1}));
        assert!(stats["oldest_pending_age_secs"].as_i64().is_some());
        assert_eq!((stats["received_last_hour"].as_i64(), stats["received_last_day"].as_i64()), (Some(3), Some(3)));
    }
}

/// Sets an event `processing` under a worker's lease, as a claim would.
async fn hold(app: &TestApp, id: i64) {
    app.db
        .run(move |conn| {
            use webhook_events::dsl as e;
            let lease = chrono::Utc::now().naive_utc() + chrono::Duration::minutes(5);
            with_conn!(conn, |c| diesel::update(e::webhook_events.find(id))
                .set((e::status.eq("processing"), e::locked_until.eq(Some(lease))))
                .execute(c))?;
            Ok(())
        })
        .await
        .unwrap();
}

// The same action through the admin API and through the CLI leaves the same audit entry; only
// `by` names the door.
on_both_backends! {
    async fn replaying_one_event_leaves_the_same_audit_entry_through_the_api_and_the_cli(backend) {
        let app = spawn_admin_app(backend).await;
        let by_api = app.deliver(&flat("user.activated", "tenant-a")).await;
        let by_cli = app.deliver(&flat("user.activated", "tenant-b")).await;
        app.force_status(by_api, "dead").await;
        app.force_status(by_cli, "dead").await;

        let (status, body) = app.admin_post(&format!("/api/admin/events/{by_api}/replay"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        stdout(&events(&app.database_url, &["replay", &by_cli.to_string()]).await);

        let entries = audit_entries(&app.db, "event.replayed").await;
        assert_eq!(entries.len(), 2, "one entry per replay: {entries:?}");
        let (api, cli) = (&entries[0], &entries[1]);
        assert_eq!((api.tenant_id.as_deref(), api.event_id), (Some("tenant-a"), Some(by_api)));
        assert_eq!((cli.tenant_id.as_deref(), cli.event_id), (Some("tenant-b"), Some(by_cli)));
        assert_eq!(api.detail, json!({"by": "admin-api", "previous_status": "dead"}));
        assert_eq!(cli.without_actor().detail, json!({"previous_status": "dead"}));
        assert!(cli.detail["by"].as_str().unwrap().starts_with("cli"), "{cli:?}");
    }

    async fn a_replay_by_filter_leaves_one_and_the_same_audit_entry_through_the_api_and_the_cli(backend) {
        let app = spawn_admin_app(backend).await;
        let mut dead = Vec::new();
        for user in ["u-1", "u-2", "u-3"] {
            let mut body = flat("user.activated", "tenant-a");
            body["userId"] = user.into();
            dead.push(app.deliver(&body).await);
        }
        let held = app.deliver(&flat("user.deactivated", "tenant-a")).await;
        let other = app.deliver(&flat("user.activated", "tenant-b")).await;
        for &id in dead.iter().chain([&other]) {
            app.force_status(id, "dead").await;
        }
        hold(&app, held).await;
        let since = "2020-01-01T00:00:00Z";

        // The filter selects the event a worker holds too: it is never requeued under its worker.
        let (status, body) = app.admin_post("/api/admin/events/replay", json!({"tenant_id": "tenant-a", "since": since})).await;
        assert_eq!((status, body["requeued"].as_i64()), (200, Some(3)), "{body}");
        for &id in &dead {
            app.force_status(id, "dead").await;
        }
        let out = stdout(&events(&app.database_url, &["replay", "--tenant", "tenant-a", "--since", since]).await);
        assert_eq!(out, "requeued 3 event(s)\n");
        assert_eq!(app.event(held).await.status, "processing");
        assert_eq!(app.event(other).await.status, "dead");

        let entries = audit_entries(&app.db, "events.replayed").await;
        assert_eq!(entries.len(), 2, "one entry per replay, whatever the door: {entries:?}");
        let (api, cli) = (&entries[0], &entries[1]);
        let filter = json!({"status": null, "kind": null, "tenant_id": "tenant-a", "since": "2020-01-01T00:00:00", "until": null});
        let expected = AuditEntry { tenant_id: Some("tenant-a".into()), event_id: None, detail: json!({"filter": filter, "requeued": 3}) };
        assert_eq!(api.without_actor(), expected);
        assert_eq!(cli.without_actor(), expected);
        assert_eq!(api.detail["by"], "admin-api");
        assert!(cli.detail["by"].as_str().unwrap().starts_with("cli"), "{cli:?}");
        assert_eq!(audit_entries(&app.db, "event.replayed").await, vec![], "no entry per event, whatever the door");

        // A replay that requeues nothing leaves no entry, through either door.
        let (_, body) = app.admin_post("/api/admin/events/replay", json!({"tenant_id": "tenant-a", "status": "dead"})).await;
        assert_eq!(body["requeued"], 0);
        let out = stdout(&events(&app.database_url, &["replay", "--tenant", "tenant-a", "--status", "dead"]).await);
        assert_eq!(out, "no finished events match: nothing requeued\n");
        assert_eq!(audit_entries(&app.db, "events.replayed").await.len(), 2);
    }
}

//! The events pages: the overview, the list with its filters, paging and tail; one event;
//! replays of one event and by filter, with their roles and audit entries.

use diesel::prelude::*;
use tenantgate::db::schema::event_attempts;
use tenantgate::with_conn;

use super::*;
use crate::cli_events::{audit_entries, flat};
use crate::on_both_backends;

/// A `tenant.created` delivery for `tenant_id`.
pub fn tenant_created(tenant_id: &str) -> serde_json::Value {
    serde_json::from_slice(&tenant_created_body(tenant_id)).unwrap()
}

/// Logs a failed attempt of `event_id`, as a worker would.
pub async fn failed_attempt(app: &TestApp, event_id: i64, error: &'static str) {
    let now = chrono::Utc::now().naive_utc();
    app.db
        .run(move |c| {
            with_conn!(c, |c| diesel::insert_into(event_attempts::table)
                .values((
                    event_attempts::event_id.eq(event_id),
                    event_attempts::attempt.eq(1),
                    event_attempts::started_at.eq(now),
                    event_attempts::finished_at.eq(now),
                    event_attempts::outcome.eq("dead"),
                    event_attempts::error.eq(Some(error)),
                    event_attempts::http_status.eq(Some(500)),
                    event_attempts::duration_ms.eq(1_234i64),
                ))
                .execute(c))?;
            Ok(())
        })
        .await
        .unwrap();
}

on_both_backends! {
    async fn the_overview_shows_the_counts_the_instance_and_its_charts(backend) {
        let app = spawn_console_app(backend).await;
        let dead = app.deliver(&tenant_created("t-overview")).await;
        app.force_status(dead, "dead").await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        let page = browser.get("/console").await;
        assert_eq!(page.status, 200);
        page.shows(r#"href="/console/events?status=dead""#)
            .shows("dead: need a look")
            .shows(env!("CARGO_PKG_VERSION"))
            .shows("dry-run")
            .shows("development")
            .shows("<svg")
            .shows("1 received, 0 succeeded, 0 failed");
    }

    async fn the_list_filters_by_status_kind_tenant_user_search_and_time(backend) {
        let app = spawn_console_app(backend).await;
        let a_created = app.deliver(&flat("tenant.created", "tenant-a")).await;
        let a_user = app.deliver(&flat("user.activated", "tenant-a")).await;
        let b_created = app.deliver(&flat("tenant.created", "tenant-b")).await;
        app.force_status(b_created, "dead").await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        let link = |id: i64| format!(r#"href="/console/events/{id}""#);

        let cases: [(&str, &[i64], &[i64]); 8] = [
            ("", &[a_created, a_user, b_created], &[]),
            ("?status=dead", &[b_created], &[a_created, a_user]),
            ("?kind=user_activated", &[a_user], &[a_created, b_created]),
            ("?tenant=tenant-a", &[a_created, a_user], &[b_created]),
            ("?user=u-1", &[a_user], &[a_created, b_created]),
            ("?q=tenant-b", &[b_created], &[a_created, a_user]),
            ("?q=u-1&status=", &[a_user], &[a_created, b_created]),
            ("?until=2000-01-01T00:00", &[], &[a_created, a_user, b_created]),
        ];
        for (query, shown, hidden) in cases {
            let page = browser.get(&format!("/console/events{query}")).await;
            assert_eq!(page.status, 200, "{query}: {}", page.body);
            for id in shown {
                page.shows(&link(*id));
            }
            for id in hidden {
                page.lacks(&link(*id));
            }
        }
        let since = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M").to_string();
        browser.get(&format!("/console/events?since={since}")).await.shows(&link(a_created));
    }

    async fn a_wrong_filter_is_answered_400_naming_it(backend) {
        let app = spawn_console_app(backend).await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        let cases = [
            ("?status=lost", "status `lost` is not one of"),
            ("?kind=<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
            ("?since=yesterday", "since must be a time"),
            ("?cursor=abc", "cursor must be an event id"),
            // Postgres refuses a NUL in text: it must be a 400, not a database error.
            ("?q=a%00b", "control characters"),
            ("?tenant=%01", "control characters"),
        ];
        for (query, message) in cases {
            let page = browser.get(&format!("/console/events{query}")).await;
            assert_eq!(page.status, 400, "{query}");
            page.shows(message).lacks("<b>x</b>");
        }
        assert_eq!(browser.get("/console/tenants/a%00b").await.status, 404);
        let (status, body) = app.admin_get("/api/admin/events?tenant_id=a%00b").await;
        assert_eq!(status, 400, "{body}");
    }

    async fn pages_follow_the_cursor_and_the_tail_serves_the_first_page_alone(backend) {
        let app = spawn_console_app(backend).await;
        let mut ids = Vec::new();
        for i in 0..51 {
            ids.push(app.deliver(&tenant_created(&format!("t-{i}"))).await);
        }
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        let first = browser.get("/console/events").await;
        first.shows(&format!("/console/events/{}\"", ids[50])).lacks(&format!("/console/events/{}\"", ids[0]));
        first.shows(&format!("cursor={}", ids[1])).shows("data-tail=\"/console/events/rows\"");
        let second = browser.get(&format!("/console/events?cursor={}", ids[1])).await;
        second.shows(&format!("/console/events/{}\"", ids[0])).lacks(&format!("/console/events/{}\"", ids[1]));
        second.lacks("data-tail").lacks("rel=\"next\"");

        let tail = browser.get("/console/events/rows?q=t-7").await;
        assert_eq!(tail.status, 200);
        assert!(tail.body.trim_start().starts_with("<tr"), "rows only: {}", tail.body);
        tail.shows(&format!("data-id=\"{}\"", ids[7])).lacks(&format!("data-id=\"{}\"", ids[8]));
    }

    async fn an_event_shows_its_fields_payload_attempts_neighbours_and_audit(backend) {
        let app = spawn_console_app(backend).await;
        let before = app.deliver(&flat("tenant.created", "tenant-n")).await;
        let event = app.deliver(&flat("user.activated", "tenant-n")).await;
        let after = app.deliver(&flat("user.deactivated", "tenant-n")).await;
        let other = app.deliver(&flat("tenant.created", "tenant-other")).await;
        app.force_status(event, "dead").await;
        failed_attempt(&app, event, "airbyte answered 500: <html>boom</html>").await;
        let operator = sign_in(&app, OPERATOR_TOKEN).await;
        let page = operator.get(&format!("/console/events/{event}")).await;
        assert_eq!(page.status, 200);
        page.shows("user.activated")
            .shows(r#"href="/console/tenants/tenant-n""#)
            .shows("Attempt 1")
            .shows("provider answered HTTP 500")
            .shows("1.2 s")
            .shows("airbyte answered 500: &lt;html&gt;boom&lt;/html&gt;")
            .lacks("<html>boom")
            .shows("&quot;userId&quot;: &quot;u-1&quot;")
            .shows(&format!("/console/events/{before}\""))
            .shows(&format!("/console/events/{after}\""))
            .lacks(&format!("/console/events/{other}\""))
            .shows("(this one)")
            .shows(">Replay</button>");

        assert_eq!(operator.get("/console/events/999999").await.status, 404);
        assert_eq!(operator.get("/console/events/nope").await.status, 404);
        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        viewer.get(&format!("/console/events/{event}")).await.lacks(">Replay</button>");
    }

    async fn replaying_an_event_requeues_it_with_one_audit_entry_and_a_viewer_cannot(backend) {
        let app = spawn_console_app(backend).await;
        let event = app.deliver(&tenant_created("t-replay")).await;
        app.force_status(event, "dead").await;
        let path = format!("/console/events/{event}/replay");

        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        let refused = viewer.post(&path, &[]).await;
        assert_eq!(refused.status, 403);
        refused.shows("needs an operator token");
        let operator = sign_in(&app, OPERATOR_TOKEN).await;
        let forged = operator.post_exactly(&path, &[("csrf", "forged")], &[]).await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.event(event).await.status, "dead", "refused actions change nothing");

        let done = operator.post(&path, &[]).await;
        assert_eq!((done.status, done.location.clone()), (303, Some(format!("/console/events/{event}?done=replayed"))));
        assert_eq!(app.event(event).await.status, "pending");
        operator.get(done.location.as_deref().unwrap()).await.shows("Requeued");
        let entries = audit_entries(&app.db, "event.replayed").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].event_id, Some(event));
        assert!(entries[0].detail["by"].as_str().unwrap().starts_with("console:"), "{:?}", entries[0].detail);

        let again = operator.post(&path, &[]).await;
        assert_eq!(again.location, Some(format!("/console/events/{event}?done=not_finished")), "a pending event is not replayed");
        assert_eq!(audit_entries(&app.db, "event.replayed").await.len(), 1);
    }

    async fn replay_by_filter_counts_first_then_requeues_with_one_audit_entry(backend) {
        let app = spawn_console_app(backend).await;
        let dead_a = app.deliver(&flat("tenant.created", "tenant-a")).await;
        let dead_b = app.deliver(&flat("tenant.created", "tenant-b")).await;
        let succeeded = app.deliver(&flat("tenant.created", "tenant-c")).await;
        app.force_status(dead_a, "dead").await;
        app.force_status(dead_b, "dead").await;
        app.force_status(succeeded, "succeeded").await;
        let operator = sign_in(&app, OPERATOR_TOKEN).await;

        let preview = operator.get("/console/events/replay?status=dead").await;
        assert_eq!(preview.status, 200);
        preview.shows("<strong>2</strong> finished events").shows("Requeue 2 events");
        assert_eq!(app.event(dead_a).await.status, "dead", "a preview changes nothing");
        operator.get("/console/events/replay").await.shows("every finished event").shows(r#"name="every" value="true""#);

        let viewer = sign_in(&app, VIEWER_TOKEN).await;
        viewer.get("/console/events/replay?status=dead").await.shows("needs an operator token").lacks("Requeue 2");
        assert_eq!(viewer.post("/console/events/replay", &[("status", "dead")]).await.status, 403);
        assert_eq!(operator.post("/console/events/replay", &[]).await.status, 400, "an empty filter needs `every`");

        let done = operator.post("/console/events/replay", &[("status", "dead")]).await;
        assert_eq!(done.status, 303);
        assert_eq!(done.location.as_deref(), Some("/console/events?status=dead&done=replayed_many&n=2"));
        operator.get(done.location.as_deref().unwrap()).await.shows("Requeued 2 events.");
        for id in [dead_a, dead_b] {
            assert_eq!(app.event(id).await.status, "pending");
        }
        assert_eq!(app.event(succeeded).await.status, "succeeded", "finished, but outside the filter");
        let entries = audit_entries(&app.db, "events.replayed").await;
        assert_eq!(entries.len(), 1, "one action, one entry");
        assert_eq!(entries[0].detail["requeued"], 2);
        assert_eq!(entries[0].detail["filter"]["status"], "dead");
    }

    async fn a_replay_preview_of_a_kind_counts_from_the_overview_and_says_when(backend) {
        let app = spawn_console_app(backend).await;
        let dead = app.deliver(&flat("tenant.created", "tenant-a")).await;
        let succeeded = app.deliver(&flat("tenant.created", "tenant-b")).await;
        app.deliver(&flat("tenant.created", "tenant-c")).await;
        let deleted = app.deliver(&flat("tenant.deleted", "tenant-d")).await;
        app.force_status(dead, "dead").await;
        app.force_status(succeeded, "succeeded").await;
        app.force_status(deleted, "dead").await;
        let operator = sign_in(&app, OPERATOR_TOKEN).await;

        operator
            .get("/console/events/replay?kind=tenant_created")
            .await
            .shows("<strong>2</strong> finished events")
            .shows("matched at")
            .shows("Requeue 2 events");
        operator
            .get("/console/events/replay?kind=tenant_created&status=dead")
            .await
            .shows("<strong>1</strong> finished events")
            .shows("Requeue 1 events");
        operator
            .get("/console/events/replay?kind=tenant_created&status=pending")
            .await
            .shows("<strong>0</strong> finished events")
            .lacks("Requeue 0");
        operator
            .get("/console/events/replay?kind=tenant_deleted")
            .await
            .shows("<strong>1</strong> finished events");
        operator
            .get("/console/events/replay?kind=tenant_created&tenant=tenant-a")
            .await
            .shows("<strong>1</strong> finished events")
            .shows("match now")
            .lacks("matched at");
    }
}

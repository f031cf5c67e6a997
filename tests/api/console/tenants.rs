//! The tenants pages: the list with its status filter, id search and paging; one tenant, and why
//! it has no workspace.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;
use tenantgate::db::audit::{self, NewAudit};
use tenantgate::db::schema::webhook_events;
use tenantgate::tenants::{self, Mapping, MappingStatus};
use tenantgate::with_conn;

use super::*;
use crate::on_both_backends;

/// Writes a mapping row as the worker would.
async fn map(
    app: &TestApp,
    tenant_id: &str,
    status: MappingStatus,
    workspace_id: Option<&str>,
    last_event_id: Option<i64>,
) {
    let now = Utc::now().naive_utc();
    let row = Mapping {
        tenant_id: tenant_id.to_owned(),
        tenant_name: Some(format!("Name of {tenant_id}")),
        workspace_id: workspace_id.map(str::to_owned),
        workspace_name: workspace_id.map(|w| format!("ws {w}")),
        status,
        last_event_at: Some(now),
        last_event_id,
        created_at: now,
        updated_at: now,
    };
    app.db.run(move |c| tenants::save_mapping(c, &row)).await.unwrap();
}

/// Sets an event dead with `error` as its last error, as the worker gives one up.
async fn kill(app: &TestApp, id: i64, error: &'static str) {
    app.db
        .run(move |conn| {
            use webhook_events::dsl as e;
            with_conn!(conn, |c| diesel::update(e::webhook_events.find(id))
                .set((
                    e::status.eq("dead"),
                    e::attempts.eq(5),
                    e::last_error.eq(Some(error)),
                    e::finished_at.eq(Some(Utc::now().naive_utc()))
                ))
                .execute(c))?;
            Ok(())
        })
        .await
        .unwrap();
}

fn flat(kind: &str, tenant: &str) -> serde_json::Value {
    json!({"eventType": kind, "tenantId": tenant, "userId": "u1", "timestamp": "2026-01-01T00:00:00Z", "tenantName": "T"})
}

on_both_backends! {
    async fn tenants_are_listed_by_status_and_id_prefix_a_page_at_a_time(backend) {
        let app = spawn_console_app(backend).await;
        for i in 0..55 {
            map(&app, &format!("p-{i:03}"), MappingStatus::Active, Some(&format!("ws-{i}")), None).await;
        }
        map(&app, "q-tomb", MappingStatus::Tombstone, None, None).await;
        map(&app, "q-prov", MappingStatus::Provisioning, None, None).await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;

        let first = browser.get("/console/tenants").await;
        assert_eq!(first.status, 200);
        first
            .shows(r#"aria-current="page">Tenants"#)
            .shows(r#"href="/console/tenants/p-000""#)
            .shows("ws-0")
            .shows("Name of p-000")
            .lacks(r#"href="/console/tenants/p-050""#)
            .shows(r#"href="/console/tenants?cursor=p-049" rel="next""#);
        let second = browser.get("/console/tenants?cursor=p-049").await;
        assert_eq!(second.status, 200);
        second
            .shows(r#"href="/console/tenants/p-050""#)
            .shows(r#"href="/console/tenants/q-tomb""#)
            .lacks(r#"href="/console/tenants/p-049""#)
            .lacks(r#"rel="next""#)
            .shows("← Newest");

        let tombstones = browser.get("/console/tenants?status=tombstone").await;
        tombstones
            .shows(r#"href="/console/tenants/q-tomb""#)
            .lacks(r#"href="/console/tenants/q-prov""#)
            .lacks(r#"href="/console/tenants/p-000""#)
            .shows(r#"<option value="tombstone" selected>"#);
        browser
            .get("/console/tenants?status=provisioning")
            .await
            .shows(r#"href="/console/tenants/q-prov""#)
            .lacks(r#"href="/console/tenants/q-tomb""#);

        let prefixed = browser.get("/console/tenants?q=p-05").await;
        prefixed
            .shows(r#"href="/console/tenants/p-050""#)
            .shows(r#"href="/console/tenants/p-054""#)
            .lacks(r#"href="/console/tenants/p-049""#)
            .lacks(r#"href="/console/tenants/q-tomb""#);
        browser
            .get("/console/tenants?q=p-01&status=tombstone")
            .await
            .shows("No tenant mapping matches");
        // An id with no mapping still leads to what is known of it.
        browser
            .get("/console/tenants?q=nobody-yet")
            .await
            .shows(r#"href="/console/tenants/nobody-yet""#);
        // A wildcard is a character like any other.
        browser.get("/console/tenants?q=p%25").await.shows("No tenant mapping matches");

        assert_eq!(browser.get("/console/tenants?status=vanished").await.status, 400);
    }

    async fn a_tenant_shows_its_mapping_users_events_audit_and_the_notifications_it_caused(backend) {
        let app = spawn_console_app_with(backend, |s| {
            s.worker.enabled = true;
            s.worker.poll_interval_ms = 100;
            s.notifications.allowed_private_networks = vec!["127.0.0.1/32".into()];
        })
        .await;
        let subscribed = app.subscribe("http://127.0.0.1:9/hook", &["*"], None).await;
        let created = app.deliver(&flat("tenant.created", "t-detail")).await;
        app.finished_event(created, std::time::Duration::from_secs(20)).await;
        let joined = app.deliver(&flat("user.activated", "t-detail")).await;
        app.finished_event(joined, std::time::Duration::from_secs(20)).await;
        let mapping = app.db.run(|c| tenants::mapping(c, "t-detail")).await.unwrap().unwrap();
        let workspace = mapping.workspace_id.clone().unwrap();
        let entries = app.db.run(|c| audit::audit_of(c, "t-detail")).await.unwrap();
        assert!(!entries.is_empty(), "the worker audits what it did");

        let browser = sign_in(&app, OPERATOR_TOKEN).await;
        let page = browser.get("/console/tenants/t-detail").await;
        assert_eq!(page.status, 200);
        page.shows("badge s-active")
            .shows(&workspace)
            .shows("u1")
            .shows(&format!(r#"href="/console/events/{created}""#))
            .shows(&format!(r#"href="/console/events/{joined}""#))
            .shows(r#"href="/console/events?tenant=t-detail""#)
            .shows(&entries[0].action)
            .shows(&subscribed.id)
            .lacks("notice bad")
            .lacks("<form method=\"post\" action=\"/console/tenants");
        // In the order received: the creation before the user.
        let at_created = page.body.find(&format!(r#"href="/console/events/{created}""#)).unwrap();
        let at_joined = page.body.find(&format!(r#"href="/console/events/{joined}""#)).unwrap();
        assert!(at_created < at_joined);

        let list = browser.get("/console/tenants").await;
        list.shows(r#"href="/console/tenants/t-detail""#).shows(&workspace);

        let unknown = browser.get("/console/tenants/nobody").await;
        assert_eq!(unknown.status, 404);
        unknown.shows("nothing is known of tenant");
    }

    async fn a_tenant_without_a_workspace_says_why_and_links_the_event_that_explains_it(backend) {
        let app = spawn_console_app(backend).await;
        let dead = app.deliver(&flat("tenant.created", "t-dead")).await;
        kill(&app, dead, "provider answered 401: the API key was refused").await;
        let waiting = app.deliver(&flat("tenant.created", "t-waiting")).await;
        let orphan = app.deliver(&flat("user.activated", "t-orphan")).await;
        let deletion = app.deliver(&flat("tenant.deleted", "t-tomb")).await;
        map(&app, "t-tomb", MappingStatus::Tombstone, None, Some(deletion)).await;
        let claim = app.deliver(&flat("tenant.created", "t-prov")).await;
        map(&app, "t-prov", MappingStatus::Provisioning, None, Some(claim)).await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;

        browser
            .get("/console/tenants/t-dead")
            .await
            .shows("notice bad")
            .shows("its creation failed and was given up")
            .shows(&format!(r#"href="/console/events/{dead}""#))
            .shows("provider answered 401: the API key was refused");
        browser
            .get("/console/tenants/t-waiting")
            .await
            .shows("its creation has not been processed")
            .shows(&format!(r#"href="/console/events/{waiting}""#));
        browser
            .get("/console/tenants/t-orphan")
            .await
            .shows("no tenant creation has arrived")
            .shows(r#"href="/console/events?tenant=t-orphan""#)
            .shows(&format!(r#"href="/console/events/{orphan}""#));
        browser
            .get("/console/tenants/t-tomb")
            .await
            .shows("deleted before any workspace was made (tombstone)")
            .shows(&format!(r#"href="/console/events/{deletion}""#));
        browser
            .get("/console/tenants/t-prov")
            .await
            .shows("The workspace is being created")
            .shows(&format!(r#"href="/console/events/{claim}""#));
    }

    async fn a_tenant_id_that_needs_escaping_is_shown_escaped_and_its_links_work(backend) {
        let app = spawn_console_app(backend).await;
        let id = "<script>alert(1)</script>/50% a+b";
        map(&app, id, MappingStatus::Provisioning, None, None).await;
        let entry = NewAudit {
            at: Utc::now().naive_utc(),
            tenant_id: Some(id.to_owned()),
            user_id: None,
            event_id: None,
            action: "workspace.claimed".into(),
            detail: Some(r#"{"note":"<b>bold</b>"}"#.into()),
        };
        app.db.run(move |c| audit::write(c, [&entry])).await.unwrap();
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        let href = "/console/tenants/%3Cscript%3Ealert%281%29%3C%2Fscript%3E%2F50%25%20a%2Bb";

        let list = browser.get("/console/tenants").await;
        list.shows(&format!(r#"href="{href}""#))
            .shows("&lt;script&gt;alert(1)&lt;/script&gt;/50% a+b")
            .lacks("<script>alert(1)");
        let page = browser.get(href).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.shows("&lt;script&gt;alert(1)&lt;/script&gt;/50% a+b")
            .lacks("<script>alert(1)")
            .lacks("<b>bold</b>")
            .shows("workspace.claimed")
            .shows("/console/events?tenant=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%2F50%25+a%2Bb");
        let searched = browser.get("/console/tenants?q=%3Cscript%3E").await;
        searched.shows(&format!(r#"href="{href}""#));
    }
}

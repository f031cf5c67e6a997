//! What keeps the reconciler safe and visible: the brake, dry runs, one run at a time, the
//! periodic run with its metrics, and the run records in the admin API.

use tenantgate::reconcile::runs;

use super::*;
use crate::metrics::{scrape, value};
use crate::on_both_backends;

fn gauge(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = metrics.render().unwrap();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    value(&parsed, name, labels)
}

on_both_backends! {
    async fn an_empty_list_from_frontegg_deletes_nothing_and_raises_the_alert(backend) {
        let w = World::start(backend).await;
        w.provisioned("t-1", "One").await;
        w.provisioned("t-2", "Two").await;
        w.frontegg.add_tenant("t-1", "One");
        w.frontegg.add_tenant("t-2", "Two");
        w.frontegg.list_nothing();

        let run = w.run(true).await;
        assert_eq!(run.status, "succeeded");
        assert!(run.brake.as_deref().unwrap().contains("listed no tenant"), "{:?}", run.brake);
        let actions: Vec<_> = summary(&run).into_iter().map(|(kind, _, action)| (kind, action)).collect();
        let held = ("deleted_tenant".to_owned(), "held_by_brake".to_owned());
        assert_eq!(actions, [held.clone(), held]);
        assert_eq!(w.frontegg.counters().lookups, 0, "an empty list is not even looked into");
        assert_eq!(w.app.events().await.len(), 2, "only the two webhooks: no repair");
        assert_eq!(w.mapping("t-1").await.unwrap().status, "active");
        assert_eq!(gauge(&w.metrics, "tenantgate_reconcile_brake_engaged", &[]), 1.0);
        assert_eq!(gauge(&w.metrics, "tenantgate_reconcile_drift", &[("kind", "deleted_tenant")]), 2.0);
    }

    async fn more_deletions_than_the_limit_delete_none(backend) {
        let w = World::start(backend).await;
        for t in ["t-1", "t-2", "t-3"] {
            w.provisioned(t, t).await;
        }
        w.frontegg.add_tenant("t-other", "Other");
        let reconciler = w.reconciler(|s| s.reconcile.max_deletions_per_run = 2);
        let run = finished(reconciler.run(true, &Actor::cli(None)).await.unwrap());
        assert!(run.brake.as_deref().unwrap().contains("max_deletions_per_run (2)"), "{:?}", run.brake);
        let deleted: Vec<_> = run.drifts.iter().filter(|d| d.kind.as_str() == "deleted_tenant").collect();
        assert_eq!(deleted.len(), 3, "{:?}", run.drifts);
        assert!(deleted.iter().all(|d| d.action == tenantgate::reconcile::Action::HeldByBrake), "{deleted:?}");
        let deletions = w.app.events().await.into_iter().filter(|e| e.kind == "tenant_deleted").count();
        assert_eq!(deletions, 0);
        // The creation it found is still repaired: the brake holds deletions only.
        assert!(summary(&run).contains(&("unprovisioned_tenant".into(), "t-other".into(), "queued".into())));
    }

    async fn a_dry_run_reports_every_drift_and_changes_nothing(backend) {
        let w = World::start(backend).await;
        w.provisioned("t-gone", "Gone").await;
        let renamed = w.provisioned("t-name", "Old").await;
        w.frontegg.add_tenant("t-name", "New");
        w.frontegg.add_tenant("t-new", "New Co");
        w.airbyte.add_workspace("Ghost [t-ghost]");
        let events_before = w.app.events().await.len();
        let calls_before = w.airbyte.server.received_requests().await.unwrap().len();

        let run = w.run(false).await;
        let kinds: Vec<_> = summary(&run).into_iter().map(|(kind, _, action)| format!("{kind}:{action}")).collect();
        assert_eq!(kinds, ["deleted_tenant:would_repair", "orphan_workspace:reported", "renamed_tenant:would_repair", "unprovisioned_tenant:would_repair"]);
        assert!(!run.apply);
        assert_eq!(w.app.events().await.len(), events_before, "no event written");
        assert_eq!(w.mapping("t-name").await.unwrap(), renamed);
        let writes = w.airbyte.server.received_requests().await.unwrap()[calls_before..]
            .iter()
            .filter(|r| r.method.as_str() != "GET")
            .count();
        assert_eq!(writes, 0, "only reads reached Airbyte");
        assert!(audit_actions(&w.app).await.iter().all(|a| !a.starts_with("reconcile")), "a dry run leaves no audit entry");
    }

    async fn two_instances_on_one_database_reconcile_once(backend) {
        let w = World::start(backend).await;
        w.frontegg.add_tenant("t-once", "Once");
        let first = w.reconciler(|_| {});
        let second = w.reconciler(|_| {});
        // The first run holds the turn while Frontegg is slow to answer.
        w.frontegg.delay(Duration::from_millis(500));
        let running = tokio::spawn(async move { first.run(true, &Actor::cli(Some("one"))).await.unwrap() });
        let db = w.app.db.clone();
        eventually(WAIT, || async {
            let list = db.run(|c| runs::list(c, 10, None)).await.unwrap();
            list.iter().any(|r| r.status == "running").then_some(())
        })
        .await
        .expect("the first run started");
        let other = second.run(true, &Actor::cli(Some("two"))).await.unwrap();
        let held = finished(running.await.unwrap());
        assert!(matches!(other, RunOutcome::Busy { run_id } if run_id == held.id), "{other:?}");
        assert_eq!(summary(&held), [("unprovisioned_tenant".into(), "t-once".into(), "queued".into())]);
        assert_eq!(w.app.events().await.len(), 1);
        assert_eq!(audit_actions(&w.app).await.iter().filter(|a| *a == "reconcile.applied").count(), 1);
    }

    async fn runs_are_recorded_and_shown_by_the_admin_api(backend) {
        let w = World::start(backend).await;
        w.frontegg.add_tenant("t-api", "Api");
        let dry = w.run(false).await;
        let applied = w.run(true).await;

        let token = crate::admin::ADMIN_TOKEN;
        let list: serde_json::Value = w.app.client.get(format!("{}/api/admin/reconcile/runs", w.app.address))
            .bearer_auth(token).send().await.unwrap().json().await.unwrap();
        let ids: Vec<i64> = list["runs"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [applied.id, dry.id]);
        assert_eq!(list["runs"][0]["counts"]["unprovisioned_tenant"], 1);
        let one: serde_json::Value = w.app.client.get(format!("{}/api/admin/reconcile/runs/{}", w.app.address, applied.id))
            .bearer_auth(token).send().await.unwrap().json().await.unwrap();
        assert_eq!(one["drifts"][0]["action"], "queued");
        assert_eq!(one["drifts"][0]["tenant_id"], "t-api");
        assert!(one["drifts"][0]["event_id"].as_i64().is_some());
        let missing = w.app.client.get(format!("{}/api/admin/reconcile/runs/999999", w.app.address))
            .bearer_auth(token).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let body: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
    }
}

on_both_backends! {
    async fn a_run_made_elsewhere_shows_in_every_instance_s_metrics(backend) {
        let w = World::start_with(backend, |s| s.metrics.refresh_interval_secs = 1).await;
        w.frontegg.add_tenant("t-elsewhere", "Elsewhere");
        // As `tenantgate reconcile` would: another process, its own metrics.
        w.run(false).await;
        let shown = eventually(WAIT, || async {
            let metrics = scrape(&w.app).await;
            let drift = value(&metrics, "tenantgate_reconcile_drift", &[("kind", "unprovisioned_tenant")]);
            let success = value(&metrics, "tenantgate_reconcile_last_success_timestamp_seconds", &[]);
            (drift == 1.0 && success > 0.0).then_some(())
        })
        .await;
        assert!(shown.is_some(), "the instance's gauges show the run recorded in the database");
    }

    async fn the_periodic_run_repairs_and_sets_its_metrics(backend) {
        let airbyte = FakeAirbyte::start().await;
        let frontegg = FakeFrontegg::start(CLIENT_ID, API_KEY, 1800.0).await;
        frontegg.add_tenant("t-timer", "Timer");
        let app = spawn_app_with(backend, |s| {
            use_airbyte(s, &airbyte);
            use_frontegg(s, &frontegg);
            s.reconcile.enabled = true;
            s.reconcile.interval_secs = 1;
        })
        .await;
        let mapped = eventually(WAIT, || async {
            let m = app.db.run(|c| tenants::mapping(c, "t-timer")).await.unwrap();
            m.filter(|m| m.status == "active")
        })
        .await;
        assert!(mapped.is_some(), "the periodic run provisioned the missed tenant");
        // The repair can be applied before the run has recorded its end: await both.
        let recorded = eventually(WAIT, || async {
            let metrics = scrape(&app).await;
            (value(&metrics, "tenantgate_reconcile_last_success_timestamp_seconds", &[]) > 0.0).then_some(())
        })
        .await;
        assert!(recorded.is_some(), "the run's end is in the metrics");
        let runs = app.db.run(|c| runs::list(c, 10, None)).await.unwrap();
        assert!(runs.iter().any(|r| r.triggered_by == "periodic" && r.apply));
    }
}

//! The Reconcile page: the reconciler's runs and one run's drifts with what was done.

use super::*;
use crate::on_both_backends;
use crate::reconcile::World;

on_both_backends! {
    async fn the_runs_and_a_runs_drifts_are_shown_with_what_was_done(backend) {
        let w = World::start(backend).await;
        let browser = sign_in(&w.app, OPERATOR_TOKEN).await;
        browser.get("/console/reconcile").await.shows("No run yet.");

        w.frontegg.add_tenant("t-missed", "Acme");
        let run = w.run(true).await;
        let list = browser.get("/console/reconcile").await;
        assert_eq!(list.status, 200);
        list.shows(&format!(r#"href="/console/reconcile/{}""#, run.id))
            .shows("apply")
            .shows("unprovisioned_tenant 1")
            .shows("cli:test");

        let event = w.app.events().await[0].id;
        let detail = browser.get(&format!("/console/reconcile/{}", run.id)).await;
        assert_eq!(detail.status, 200);
        detail
            .shows("unprovisioned_tenant")
            .shows(r#"href="/console/tenants/t-missed""#)
            .shows(&format!(r#"href="/console/events/{event}""#))
            .shows("repair queued");
        assert_eq!(browser.get("/console/reconcile/999999").await.status, 404);
        assert_eq!(browser.get("/console/reconcile?cursor=x").await.status, 400);
    }
}

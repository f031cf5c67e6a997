//! The events pages: the list with its filters, paging and tail; one event; replays.

use super::*;
use crate::on_both_backends;

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
            .shows("1 received, 0 succeeded, 0 failed")
            .lacks("Replay matching");
    }
}

/// A `tenant.created` delivery for `tenant_id`.
pub fn tenant_created(tenant_id: &str) -> serde_json::Value {
    serde_json::from_slice(&tenant_created_body(tenant_id)).unwrap()
}

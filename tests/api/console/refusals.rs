//! The refused requests page: counts by reason from the counters, the latest refusals, and what
//! causes each.

use tenantgate::verify::Scheme;

use super::*;
use crate::on_both_backends;

/// Posts a `tenant.created` delivery signed with `secret` (not one we know).
async fn post_signed_with(app: &TestApp, secret: &str) -> u16 {
    let body = tenant_created_body("t-refused");
    let headers = sign(Scheme::HmacSha256, secret, &body, now(), &unique_id());
    app.post_raw("/api/webhooks/frontegg", &body, &headers)
        .await
        .status()
        .as_u16()
}

on_both_backends! {
    async fn refused_deliveries_are_counted_by_reason_and_listed_newest_first(backend) {
        let app = spawn_console_app_with(backend, |s| s.sources.frontegg.body_limit_bytes = 2_048).await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        let before = browser.get("/console/refusals").await;
        assert_eq!(before.status, 200);
        before
            .shows(r#"aria-current="page">Refused requests"#)
            .shows("No delivery refused since this instance started");

        for _ in 0..3 {
            assert_eq!(post_signed_with(&app, "the-secret-before-the-rotation").await, 401);
        }
        let body = tenant_created_body("t-unsigned");
        assert_eq!(app.post_raw("/api/webhooks/frontegg", &body, &[]).await.status(), 401);
        let big = vec![b' '; 4_096];
        assert_eq!(app.post_raw("/api/webhooks/frontegg", &big, &[]).await.status(), 413);
        app.deliver(&super::events::tenant_created("t-fine")).await;

        let page = browser.get("/console/refusals").await;
        assert_eq!(page.status, 200);
        page.shows(r#"id="reason-invalid_signature""#)
            .shows("<code>invalid_signature</code></td><td>3</td>")
            .shows("<code>missing_signature</code></td><td>1</td>")
            .shows("<code>payload_too_large</code></td><td>1</td>")
            .shows("5 in all")
            .shows("still signing with the old secret")
            .lacks("accepted")
            .lacks("the-secret-before-the-rotation");
        // Newest first: the oversized body, then the unsigned one, then the badly signed ones.
        let latest = &page.body[page.body.find("<h2>Latest</h2>").unwrap()..];
        let order: Vec<usize> = ["payload_too_large", "missing_signature", "invalid_signature"]
            .iter()
            .map(|reason| latest.find(&format!("<code>{reason}</code>")).unwrap())
            .collect();
        assert!(order[0] < order[1] && order[1] < order[2], "{order:?}");
        assert_eq!(latest.matches("<code>invalid_signature</code>").count(), 3);
    }

    async fn the_refusals_page_needs_a_session_and_takes_no_action(backend) {
        let app = spawn_console_app(backend).await;
        let anonymous = page_of(no_redirects().get(format!("{}/console/refusals", app.address)).send().await.unwrap()).await;
        assert_eq!(anonymous.status, 303);
        let operator = sign_in(&app, OPERATOR_TOKEN).await;
        let page = operator.get("/console/refusals").await;
        assert_eq!(page.status, 200);
        page.lacks(r#"<form method="post" action="/console/refusals"#);
        assert_eq!(operator.post("/console/refusals", &[]).await.status, 405);
    }
}

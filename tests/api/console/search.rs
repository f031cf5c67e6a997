//! The events list's search (`q`: a tenant id or a user id), read as two pages merged.

use serde_json::json;

use super::*;
use crate::on_both_backends;

/// The event ids of a list page, in the order shown.
fn shown(page: &Page) -> Vec<i64> {
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
        .split(r#"<tr data-id=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

on_both_backends! {
    async fn a_search_shows_the_events_of_the_tenant_and_of_the_user_newest_first_each_once(backend) {
        let app = spawn_console_app(backend).await;
        let mut n = 0;
        let mut deliver = |tenant: &'static str, user: &'static str| {
            n += 1;
            let body = json!({"eventType": "user.activated", "tenantId": tenant, "userId": user,
                              "timestamp": format!("2026-01-01T00:00:{n:02}Z"), "tenantName": "T"});
            let app = &app;
            async move { app.deliver(&body).await }
        };
        let of_tenant = deliver("acme", "u1").await;
        deliver("other", "u2").await;
        let of_user = deliver("other", "acme").await;
        let of_both = deliver("acme", "acme").await;
        let latest = deliver("acme", "u3").await;
        let browser = sign_in(&app, VIEWER_TOKEN).await;
        assert_eq!(shown(&browser.get("/console/events?q=acme").await), [latest, of_both, of_user, of_tenant]);
        assert_eq!(shown(&browser.get(&format!("/console/events?q=acme&cursor={of_both}")).await), [of_user, of_tenant]);
        assert_eq!(shown(&browser.get("/console/events?q=acme&tenant=other").await), [of_user]);
        assert_eq!(shown(&browser.get("/console/events?q=acme&user=u1").await), [of_tenant]);
        assert_eq!(shown(&browser.get("/console/events?q=acme&tenant=other&user=u2").await), Vec::<i64>::new());
    }
}

//! The console in a real browser: headless Chromium driven over WebDriver (`chromium`), on
//! SQLite (the page tests cover both backends). Each test skips without chromedriver, except
//! under `CI=true`.

mod chromium;
mod webdriver;

use std::time::Duration;

use serde_json::json;

use self::chromium::Chromium;
use super::*;
use crate::fake_airbyte::{Failure, FakeAirbyte};
use crate::provisioning_airbyte::use_airbyte;

const WAIT: Duration = Duration::from_secs(20);

fn created(tenant: &str, name: &str) -> serde_json::Value {
    json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": tenant}, "tenant": {"name": name}, "timestamp": "2026-01-01T00:00:00Z"})
}

/// Events of several kinds that end in several statuses, then a tenant whose creation Airbyte
/// refuses until the event is dead (a 500, then a 403 naming the missing permission); returns
/// the dead event's id. Every event is finished when it returns.
async fn seed(app: &TestApp, fake: &FakeAirbyte) -> i64 {
    let bodies = [
        created("t-acme", "Acme"),
        created("t-globex", "Globex"),
        created("t-initech", "Initech"),
        json!({"eventType": "user.activated", "tenantId": "t-acme", "userId": "u-ada"}),
        json!({"eventType": "user.activated", "tenantId": "t-globex", "userId": "u-grace"}),
        json!({"eventType": "user.deactivated", "tenantId": "t-acme", "userId": "u-ada"}),
        json!({"eventKey": "frontegg.tenant.deleted", "eventContext": {"tenantId": "t-initech"}, "timestamp": "2026-01-02T00:00:00Z"}),
        json!({"eventType": "frontegg.audit.exported", "tenantId": "t-acme"}),
    ];
    for body in &bodies {
        let id = app.deliver(body).await;
        app.finished_event(id, WAIT).await;
    }
    fake.fail_next("create_workspace", Failure::Status(500));
    fake.fail_next(
        "create_workspace",
        Failure::Problem {
            status: 403,
            title: "forbidden".into(),
            detail: "the application lacks ORGANIZATION_EDITOR".into(),
        },
    );
    let dead = app.deliver(&created("t-umbrella", "Umbrella")).await;
    let row = app.finished_event(dead, WAIT).await;
    assert_eq!((row.status.as_str(), row.attempts), ("dead", 2), "{row:?}");
    dead
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_a_dead_event_through_the_filters_reads_why_and_replays_it() {
    let fake = FakeAirbyte::start().await;
    let app = spawn_console_app_with(Backend::Sqlite, |s| {
        use_airbyte(s, &fake);
        s.worker.retry_schedule_secs = vec![0.2];
    })
    .await;
    let Some(chromium) = Chromium::open(&app).await else {
        return;
    };
    let dead = seed(&app, &fake).await;

    chromium.sign_in(OPERATOR_TOKEN).await;
    chromium.wait_for_text(".card.bad", "1").await;
    chromium.screenshot("console-overview").await;

    // The events page, filtered as an operator would: dead ones of this tenant.
    chromium.click("nav a[href='/console/events']").await;
    chromium.wait_for_text("main h1", "Events").await;
    chromium.pick("form.filters select[name=status]", "dead").await;
    chromium
        .type_into("form.filters input[name=tenant]", "t-umbrella")
        .await;
    chromium.click("form.filters button[type=submit]").await;
    chromium
        .wait_for_text("form.filters + .table-wrap tbody", "t-umbrella")
        .await;
    let location = chromium.location().await;
    assert!(
        location.contains("status=dead") && location.contains("tenant=t-umbrella"),
        "the filters are in the address, so it can be bookmarked: {location}"
    );
    let rows = chromium.find_all("tbody tr[data-id]").await;
    assert_eq!(rows.len(), 1, "one dead event of t-umbrella");
    assert_eq!(rows[0].attr("data-id").await.unwrap(), Some(dead.to_string()));

    // Its detail says why: each attempt with the provider's answer.
    chromium.click(&format!("tbody a[href='/console/events/{dead}']")).await;
    chromium.wait_for_text("main h1", &format!("Event {dead}")).await;
    assert!(chromium.text("main h1 .badge").await.contains("dead"));
    let attempts = chromium.find_all("ol.timeline > li").await;
    assert_eq!(attempts.len(), 2, "two attempts");
    assert!(attempts[0].text().await.unwrap().contains("HTTP 500"));
    let why = chromium.text("ol.timeline > li:last-child .error").await;
    assert!(why.contains("ORGANIZATION_EDITOR"), "the failed attempt's error: {why}");

    // Replay, confirm, and watch it succeed (the provider accepts the create now).
    chromium
        .submit_confirmed("form[action$='/replay'] button[type=submit]", "Requeue this event?")
        .await;
    chromium.wait_for_text("p.notice", "Requeued").await;
    chromium.reload_until_text("main h1 .badge", "succeeded").await;
    let attempts = chromium.find_all("ol.timeline > li").await;
    assert_eq!(attempts.len(), 3, "the replay's attempt follows the two failed ones");
    assert!(attempts[2].text().await.unwrap().contains("succeeded"));
    assert!(
        fake.workspaces()
            .iter()
            .any(|(_, name, _)| name == "Umbrella [t-umbrella]"),
        "Umbrella has its workspace: {:?}",
        fake.workspaces()
    );
    chromium.screenshot("console-event").await;
    chromium.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_events_and_no_action() {
    let app = spawn_console_app(Backend::Sqlite).await;
    let Some(chromium) = Chromium::open(&app).await else {
        return;
    };
    let dead = app.deliver(&created("t-viewer", "Viewer")).await;
    app.force_status(dead, "dead").await;

    chromium.sign_in(VIEWER_TOKEN).await;
    assert_eq!(chromium.text("header .role").await, "viewer");
    chromium.goto("/console/events?status=dead").await;
    chromium.wait_for_text("tbody", "t-viewer").await;
    assert!(
        chromium.find_all("a[href^='/console/events/replay']").await.is_empty(),
        "no Replay matching…"
    );

    chromium.goto(&format!("/console/events/{dead}")).await;
    chromium.wait_for_text("main h1", &format!("Event {dead}")).await;
    assert!(
        chromium.find_all("form[action$='/replay']").await.is_empty(),
        "no Replay button"
    );
    assert!(
        chromium.find_all("main button").await.is_empty(),
        "no button at all in the page's content"
    );

    chromium.goto("/console/events/replay?status=dead").await;
    chromium
        .wait_for_text("main", "Replaying needs an operator token.")
        .await;
    assert!(chromium.find_all("main form").await.is_empty());
    chromium.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookmarked_page_asks_to_sign_in_refuses_a_wrong_token_and_then_opens() {
    let app = spawn_console_app(Backend::Sqlite).await;
    let Some(chromium) = Chromium::open(&app).await else {
        return;
    };
    chromium.goto("/console/events?status=dead").await;
    assert!(chromium.location().await.starts_with("/console/sign-in?next="));
    chromium.type_into("#token", "not-a-token").await;
    chromium.click("form.stack button[type=submit]").await;
    chromium
        .wait_for_text("p.error", "not one of the configured admin tokens")
        .await;

    chromium.type_into("#token", OPERATOR_TOKEN).await;
    chromium.click("form.stack button[type=submit]").await;
    chromium.wait_for_text("main h1", "Events").await;
    assert_eq!(chromium.location().await, "/console/events?status=dead");
    assert_eq!(chromium.text("header .role").await, "operator");

    chromium.click("header form[action='/console/sign-out'] button").await;
    chromium.wait_for_text("main h1", "Sign in").await;
    chromium.goto("/console").await;
    assert!(chromium.location().await.starts_with("/console/sign-in"), "signed out");
    chromium.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_rotates_a_subscriptions_secret_and_sees_the_new_one_once() {
    let app = spawn_console_app_with(Backend::Sqlite, |s| {
        s.notifications.allowed_private_networks = vec!["127.0.0.1/32".into()];
    })
    .await;
    let Some(chromium) = Chromium::open(&app).await else {
        return;
    };
    let (status, created) = app
        .admin_post(
            "/api/admin/notifications/subscriptions",
            json!({"url": "http://127.0.0.1:9/hooks", "name": "CRM sync"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let first = created["secret"].as_str().unwrap().to_owned();

    chromium.sign_in(OPERATOR_TOKEN).await;
    let detail = format!("/console/subscriptions/{id}");
    chromium.goto(&detail).await;
    chromium.wait_for_text("main h1", "CRM sync").await;
    chromium
        .submit_confirmed("form[action$='/rotate'] button", "Make a new secret?")
        .await;
    chromium.wait_for_text("main h1", "Secret rotated").await;
    chromium.wait_for_text("main", "it will not be shown again").await;
    let shown_at = chromium.path().await;
    assert!(
        shown_at.ends_with("/secret?made=rotated"),
        "a page of its own: {shown_at}"
    );
    let secret = chromium.text("#secret").await.trim().to_owned();
    chromium.reload().await;
    chromium.wait_for_text("main h1", "Secret no longer shown").await;
    assert!(
        !chromium.source().await.contains(&secret),
        "a reload shows the secret again"
    );
    let rotations = crate::cli_events::audit_entries(&app.db, "subscription.secret_rotated").await;
    assert_eq!(rotations.len(), 1, "a reload rotates nothing");
    chromium.goto(&detail).await;
    assert!(!chromium.source().await.contains(&secret), "the secret is on {detail}");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_ne!(secret, first, "a new secret");
    chromium.wait_for_text("main h1", "CRM sync").await;
    chromium.quit().await;
}

//! `/metrics` parses as Prometheus text and its counters move as events flow.

use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use tenantgate::verify::Scheme;

use crate::helpers::*;

pub async fn scrape(app: &TestApp) -> Scrape {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

/// The value of a counter, gauge or histogram count with exactly these labels (0 if absent).
pub fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_as_events_are_received_refused_and_processed() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.worker.enabled = true;
        s.metrics.refresh_interval_secs = 1;
    })
    .await;
    let before = scrape(&app).await;
    let received = |s: &Scrape, outcome| {
        value(
            s,
            "tenantgate_webhooks_received_total",
            &[("kind", "tenant_created"), ("outcome", outcome)],
        )
    };
    assert_eq!(received(&before, "accepted"), 0.0);

    let body = tenant_created_body("t-metrics");
    assert_eq!(app.post_signed(Scheme::HmacSha256, &body).await.status(), 200);
    assert_eq!(app.post_signed(Scheme::HmacSha256, &body).await.status(), 200);
    let bad = sign(Scheme::HmacSha256, "test-secret-wrong", &body, now(), &unique_id());
    assert_eq!(app.post_raw("/api/webhooks/frontegg", &body, &bad).await.status(), 401);
    let id = app.events().await[0].id;
    assert_eq!(
        app.finished_event(id, Duration::from_secs(20)).await.status,
        "succeeded"
    );

    let after = scrape(&app).await;
    assert_eq!(received(&after, "accepted"), 1.0);
    assert_eq!(received(&after, "duplicate"), 1.0);
    assert_eq!(
        value(
            &after,
            "tenantgate_verification_failures_total",
            &[("reason", "invalid_signature")]
        ),
        1.0
    );
    let processed = value(
        &after,
        "tenantgate_event_processing_seconds",
        &[("kind", "tenant_created"), ("outcome", "succeeded")],
    );
    assert_eq!(processed, 1.0, "one processing observation");
    // The database-derived gauges come from the background refresh (every second here).
    let refreshed = eventually(Duration::from_secs(10), || async {
        let now = scrape(&app).await;
        (value(&now, "tenantgate_events", &[("status", "succeeded")]) == 1.0).then_some(now)
    })
    .await
    .expect("the gauges show the processed event after a refresh");
    assert_eq!(value(&refreshed, "tenantgate_events", &[("status", "pending")]), 0.0);
    assert_eq!(
        value(&refreshed, "tenantgate_oldest_pending_event_age_seconds", &[]),
        0.0
    );
}

//! Delivery statistics over a window, per subscription and per type, from a scripted set of
//! deliveries written straight into the database: in the admin API, the CLI and the gauges the
//! background refresh sets.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};
use tenantgate::db::schema::{
    notification_attempts as attempts, notification_deliveries as deliveries, notification_messages as messages,
};

use super::*;
use crate::binary::run_on_database;
use crate::metrics::{scrape, value};
use crate::on_both_backends;

const STATS: &str = "/api/admin/notifications/stats";

/// One scripted delivery: its subscription, type and status, how long ago it was queued, and
/// the duration of each of its attempts.
struct Scripted {
    subscription: String,
    event_type: &'static str,
    status: &'static str,
    queued_secs_ago: i64,
    durations_ms: Vec<i64>,
}

fn scripted(subscription: &str, event_type: &'static str, status: &'static str, durations_ms: &[i64]) -> Scripted {
    Scripted {
        subscription: subscription.to_owned(),
        event_type,
        status,
        queued_secs_ago: 600,
        durations_ms: durations_ms.to_vec(),
    }
}

/// Writes the deliveries with their notifications and attempt logs, as the dispatcher would have.
async fn write(app: &TestApp, script: Vec<Scripted>) {
    let now = chrono::Utc::now().naive_utc();
    app.db
        .run(move |conn| {
            tenantgate::with_conn!(conn, |c| {
                for (n, s) in script.iter().enumerate() {
                    let queued: NaiveDateTime = now - chrono::Duration::seconds(s.queued_secs_ago);
                    let message_id = format!("msg_scripted_{n}");
                    diesel::insert_into(messages::table)
                        .values((
                            messages::id.eq(&message_id),
                            messages::event_type.eq(s.event_type),
                            messages::tenant_id.eq(Some("t1")),
                            messages::payload.eq("{}"),
                            messages::created_at.eq(queued),
                        ))
                        .execute(c)?;
                    let finished = ["succeeded", "dead"].contains(&s.status).then_some(queued);
                    let delivery: i64 = diesel::insert_into(deliveries::table)
                        .values((
                            deliveries::message_id.eq(&message_id),
                            deliveries::subscription_id.eq(&s.subscription),
                            deliveries::status.eq(s.status),
                            deliveries::attempts.eq(s.durations_ms.len() as i32),
                            deliveries::next_attempt_at.eq(now + chrono::Duration::hours(1)),
                            deliveries::created_at.eq(queued),
                            deliveries::finished_at.eq(finished),
                        ))
                        .returning(deliveries::id)
                        .get_result(c)?;
                    for (attempt, duration) in s.durations_ms.iter().enumerate() {
                        diesel::insert_into(attempts::table)
                            .values((
                                attempts::delivery_id.eq(delivery),
                                attempts::attempt.eq(attempt as i32 + 1),
                                attempts::at.eq(queued),
                                attempts::status_code.eq(Some(500)),
                                attempts::duration_ms.eq(duration),
                            ))
                            .execute(c)?;
                    }
                }
                Ok(())
            })
        })
        .await
        .unwrap();
}

/// Subscriptions A ("CRM sync") and B, with: A: 4 workspace.provisioned (succeeded in 1
/// attempt, succeeded in 2, dead after 3, failed_retrying after 1) and 2 user.activated
/// (succeeded, pending); B: one workspace.provisioned that succeeded, and one queued two days ago.
async fn scripted_app(
    backend: Backend,
    customize: impl FnOnce(&mut tenantgate::config::Settings),
) -> (TestApp, String, String) {
    let app = spawn_notifying_app(backend, |s| {
        // Nothing is sent: the scripted deliveries stay as written.
        s.notifications.enabled = false;
        customize(s);
    })
    .await;
    let a = app.subscribe("http://127.0.0.1:9/a", &["*"], None).await.id;
    let b = app.subscribe("http://127.0.0.1:9/b", &["*"], None).await.id;
    let (status, _) = app
        .admin_send(
            reqwest::Method::PATCH,
            &format!("/api/admin/notifications/subscriptions/{a}"),
            Some(json!({"name": "CRM sync"})),
        )
        .await;
    assert_eq!(status, 200);
    let provisioned = "workspace.provisioned";
    let mut old = scripted(&b, provisioned, "succeeded", &[30]);
    old.queued_secs_ago = 2 * 86_400;
    write(
        &app,
        vec![
            scripted(&a, provisioned, "succeeded", &[100]),
            scripted(&a, provisioned, "succeeded", &[500, 200]),
            scripted(&a, provisioned, "dead", &[300, 300, 300]),
            scripted(&a, provisioned, "failed_retrying", &[400]),
            scripted(&a, "user.activated", "succeeded", &[50]),
            scripted(&a, "user.activated", "pending", &[]),
            scripted(&b, provisioned, "succeeded", &[20]),
            old,
        ],
    )
    .await;
    (app, a, b)
}

fn close(got: &Value, expected: f64) -> bool {
    got.as_f64().is_some_and(|g| (g - expected).abs() < 0.001)
}

/// Checks one set of figures: (deliveries, succeeded, failed_retrying, dead, pending), then
/// success rate, average attempts, p50 and p95 in ms.
fn assert_figures(figures: &Value, counts: [i64; 5], rates: [Option<f64>; 4], what: &str) {
    let got: Vec<i64> = ["deliveries", "succeeded", "failed_retrying", "dead", "pending"]
        .iter()
        .map(|k| figures[k].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(got, counts, "{what}: counts in {figures}");
    for (key, expected) in ["success_rate", "average_attempts", "latency_p50_ms", "latency_p95_ms"]
        .iter()
        .zip(rates)
    {
        match expected {
            Some(expected) => assert!(
                close(&figures[key], expected),
                "{what}: {key} should be {expected} in {figures}"
            ),
            None => assert_eq!(figures[key], Value::Null, "{what}: {key} in {figures}"),
        }
    }
}

fn entry<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

on_both_backends! {
    async fn statistics_count_rate_and_time_the_deliveries_of_the_window(backend) {
        let (app, a, b) = scripted_app(backend, |_| {}).await;
        let (status, stats) = app.admin_get(STATS).await;
        assert_eq!(status, 200, "{stats}");
        assert_eq!(stats["window_secs"], 86_400);
        assert_eq!(stats["latency_sampled"], false);
        // Durations of the window: 20, 50, 100, 200, 300, 300, 300, 400, 500.
        assert_figures(&stats["total"], [7, 4, 1, 1, 1], [Some(4.0 / 6.0), Some(9.0 / 6.0), Some(300.0), Some(460.0)], "total");
        let sub_a = entry(&stats["subscriptions"], "subscription_id", &a);
        assert_eq!((sub_a["name"].as_str(), sub_a["active"].clone()), (Some("CRM sync"), json!(true)));
        assert_figures(sub_a, [6, 3, 1, 1, 1], [Some(0.6), Some(1.6), Some(300.0), Some(465.0)], "A");
        assert_figures(entry(&stats["subscriptions"], "subscription_id", &b), [1, 1, 0, 0, 0], [Some(1.0), Some(1.0), Some(20.0), Some(20.0)], "B: the old one is outside the window");

        let types = &stats["event_types"];
        assert_eq!(types.as_array().unwrap().len(), 7, "every type of the catalog: {types}");
        assert_eq!(types[0]["event_type"], "workspace.provisioned", "in catalog order");
        assert_figures(entry(types, "event_type", "workspace.provisioned"), [5, 3, 1, 1, 0], [Some(0.6), Some(1.6), Some(300.0), Some(465.0)], "workspace.provisioned");
        assert_figures(entry(types, "event_type", "user.activated"), [2, 1, 0, 0, 1], [Some(1.0), Some(1.0), Some(50.0), Some(50.0)], "user.activated");
        assert_figures(entry(types, "event_type", "sso.changed"), [0, 0, 0, 0, 0], [None, None, None, None], "sso.changed");

        let (_, wider) = app.admin_get(&format!("{STATS}?window_secs=259200")).await;
        assert_figures(entry(&wider["subscriptions"], "subscription_id", &b), [2, 2, 0, 0, 0], [Some(1.0), Some(1.0), Some(25.0), Some(29.5)], "B over three days");
        let (_, narrow) = app.admin_get(&format!("{STATS}?window_secs=60")).await;
        assert_figures(&narrow["total"], [0, 0, 0, 0, 0], [None, None, None, None], "nothing queued in the last minute");

        let (status, one) = app.admin_get(&format!("/api/admin/notifications/subscriptions/{a}/stats")).await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["subscriptions"].as_array().unwrap().len(), 1);
        assert_figures(&one["total"], [6, 3, 1, 1, 1], [Some(0.6), Some(1.6), Some(300.0), Some(465.0)], "A alone");
        // A's workspace.provisioned durations: 100, 200, 300, 300, 300, 400, 500.
        assert_figures(entry(&one["event_types"], "event_type", "workspace.provisioned"), [4, 2, 1, 1, 0], [Some(0.5), Some(1.75), Some(300.0), Some(470.0)], "A's workspace.provisioned");
    }
}

#[tokio::test]
async fn statistics_refuse_a_bad_window_and_an_unknown_subscription() {
    let app = spawn_notifying_app(Backend::Sqlite, |_| {}).await;
    for query in ["window_secs=0", "window_secs=2592001"] {
        let (status, body) = app.admin_get(&format!("{STATS}?{query}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_query")),
            "{query}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("window_secs must be between 1 and 2592000"),
            "{body}"
        );
    }
    let (status, body) = app.admin_get(&format!("{STATS}?window_secs=a-day")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    let (status, body) = app
        .admin_get("/api/admin/notifications/subscriptions/sub_missing/stats")
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_gauges_show_the_window_after_a_background_refresh() {
    let (app, a, b) = scripted_app(Backend::Sqlite, |s| s.metrics.refresh_interval_secs = 1).await;
    let refreshed = eventually(Duration::from_secs(10), || async {
        let now = scrape(&app).await;
        let succeeded = value(
            &now,
            "tenantgate_notification_recent_deliveries",
            &[("subscription", a.as_str()), ("outcome", "succeeded")],
        );
        (succeeded == 3.0).then_some(now)
    })
    .await
    .expect("the gauges show the scripted deliveries after a refresh");
    let recent = |subscription: &str, outcome: &str| {
        value(
            &refreshed,
            "tenantgate_notification_recent_deliveries",
            &[("subscription", subscription), ("outcome", outcome)],
        )
    };
    assert_eq!(
        [recent(&a, "failed_retrying"), recent(&a, "dead"), recent(&a, "pending")],
        [1.0, 1.0, 1.0]
    );
    assert_eq!(
        recent(&b, "succeeded"),
        1.0,
        "the delivery queued two days ago is not counted"
    );
    let ratio = |subscription: &str| {
        value(
            &refreshed,
            "tenantgate_notification_delivery_success_ratio",
            &[("subscription", subscription)],
        )
    };
    assert!(
        (ratio(&a) - 0.6).abs() < 1e-9 && ratio(&b) == 1.0,
        "{} {}",
        ratio(&a),
        ratio(&b)
    );
    let by_type = |t: &str, outcome: &str| {
        value(
            &refreshed,
            "tenantgate_notification_type_recent_deliveries",
            &[("type", t), ("outcome", outcome)],
        )
    };
    assert_eq!(
        [
            by_type("workspace.provisioned", "succeeded"),
            by_type("user.activated", "pending"),
            by_type("sso.changed", "succeeded")
        ],
        [3.0, 1.0, 0.0]
    );

    // A deleted subscription's series go at the next refresh.
    let (status, _) = app
        .admin_send(
            reqwest::Method::DELETE,
            &format!("/api/admin/notifications/subscriptions/{b}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    eventually(Duration::from_secs(10), || async {
        let now = scrape(&app).await;
        let gone = !now
            .samples
            .iter()
            .any(|s| s.labels.get("subscription") == Some(b.as_str()));
        gone.then_some(())
    })
    .await
    .expect("the deleted subscription's series are removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_command_prints_tables_and_the_json_the_admin_api_answers() {
    let (app, a, _) = scripted_app(Backend::Sqlite, |_| {}).await;
    let output = run_on_database(&app.database_url, &["subscriptions", "stats", "--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (_, answered) = app.admin_get(STATS).await;
    for key in ["total", "subscriptions", "event_types"] {
        assert_eq!(printed[key], answered[key], "{key}");
    }

    let output = run_on_database(
        &app.database_url,
        &["subscriptions", "stats", "--id", &a, "--window-secs", "3600"],
    )
    .await;
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.contains("(3600 s)"), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with(&a))
        .unwrap_or_else(|| panic!("{out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], [a.as_str(), "(CRM", "sync)"], "{row}");
    assert_eq!(
        &cells[3..],
        ["6", "3", "1", "1", "1", "60.0%", "1.60", "300", "465"],
        "{row}"
    );
    let provisioned = out.lines().find(|l| l.starts_with("workspace.provisioned")).unwrap();
    assert!(provisioned.contains("50.0%"), "A's deliveries only: {provisioned}");

    let output = run_on_database(&app.database_url, &["subscriptions", "stats", "--window-secs", "0"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("window_secs must be between 1 and 2592000"));
}

//! A subscription's own settings over the global defaults: a name, a request timeout and a
//! number of attempts before a delivery is dead.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::ResponseTemplate;

use super::*;
use crate::on_both_backends;

const SUBSCRIPTIONS: &str = "/api/admin/notifications/subscriptions";

impl TestApp {
    /// Subscribes `url` to every type with these settings; must succeed. Returns the id.
    pub async fn subscribe_with(&self, url: &str, settings: Value) -> String {
        let mut body = json!({"url": url});
        body.as_object_mut()
            .unwrap()
            .extend(settings.as_object().unwrap().clone());
        let (status, created) = self.admin_post(SUBSCRIPTIONS, body).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }
}

fn gap(attempts: &[Value], from: usize) -> chrono::Duration {
    let at = |a: &Value| chrono::DateTime::parse_from_rfc3339(a["at"].as_str().unwrap()).unwrap();
    at(&attempts[from + 1]) - at(&attempts[from])
}

on_both_backends! {
    async fn a_receiver_slower_than_its_subscriptions_timeout_fails_that_subscription_only(backend) {
        let slow = ResponseTemplate::new(200).set_delay(Duration::from_millis(800));
        let receiver = Receiver::failing_first(u64::MAX, slow).await;
        // The global timeout (5 s here) leaves the receiver time to answer; 300 ms does not.
        let app = spawn_notifying_app(backend, |s| s.notifications.request_timeout_ms = 5_000).await;
        let hasty = app.subscribe_with(&receiver.url(), json!({"name": "hasty", "request_timeout_ms": 300, "max_attempts": 1})).await;
        let patient = app.subscribe_with(&receiver.url(), json!({"name": "patient"})).await;

        app.deliver(&tenant_created("t-slow")).await;
        let failed = app.finished_deliveries(&hasty, 1).await.remove(0);
        assert_eq!(failed["status"], "dead", "{failed}");
        let attempt = &failed["attempt_log"][0];
        assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
        assert!(attempt["error"].as_str().unwrap().contains("timed out after 300 ms"), "{attempt}");
        assert!(attempt["duration_ms"].as_i64().unwrap() < 800, "{attempt}");

        let delivered = app.finished_deliveries(&patient, 1).await.remove(0);
        assert_eq!((delivered["status"].as_str(), delivered["attempts"].as_i64()), (Some("succeeded"), Some(1)), "{delivered}");
        assert_eq!(delivered["attempt_log"][0]["status_code"], 200);
    }

    async fn max_attempts_cuts_the_retry_schedule_short_or_repeats_its_last_step(backend) {
        let receiver = Receiver::answering(503).await;
        // By default: a first attempt and one per step, 4 here.
        let app = spawn_notifying_app(backend, |s| s.notifications.retry_schedule_secs = vec![0.1, 0.2, 0.4]).await;
        let short = app.subscribe_with(&receiver.url(), json!({"max_attempts": 2})).await;
        let long = app.subscribe_with(&receiver.url(), json!({"max_attempts": 6})).await;
        let default = app.subscribe_with(&receiver.url(), json!({})).await;

        app.deliver(&tenant_created("t-attempts")).await;
        for (id, attempts) in [(&short, 2), (&long, 6), (&default, 4)] {
            let delivery = app.finished_deliveries(id, 1).await.remove(0);
            assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_i64()), (Some("dead"), Some(attempts)), "{delivery}");
            let log = delivery["attempt_log"].as_array().unwrap();
            assert_eq!(log.len(), attempts as usize);
            assert!(log[attempts as usize - 1]["error"].as_str().unwrap().starts_with(&format!("gave up after {attempts} attempts")), "{delivery}");
        }
        let log = app.deliveries(&long).await.remove(0)["attempt_log"].as_array().unwrap().clone();
        for step in [3, 4] {
            let waited = gap(&log, step).num_milliseconds();
            assert!((390..2_000).contains(&waited), "attempt {} waited {waited} ms, the last step again", step + 2);
        }
    }

    async fn settings_are_shown_changed_and_reset_to_the_defaults(backend) {
        let app = spawn_notifying_app(backend, |_| {}).await;
        let id = app.subscribe_with("http://127.0.0.1:9/hook", json!({"name": "  CRM sync ", "description": "the CRM", "request_timeout_ms": 2500, "max_attempts": 3})).await;
        let shown = app.subscription(&id).await;
        assert_eq!(
            (shown["name"].clone(), shown["description"].clone(), shown["request_timeout_ms"].clone(), shown["max_attempts"].clone()),
            (json!("CRM sync"), json!("the CRM"), json!(2500), json!(3))
        );
        let path = format!("{SUBSCRIPTIONS}/{id}");
        let (status, changed) = app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"max_attempts": 10, "name": "CRM"}))).await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!((changed["max_attempts"].clone(), changed["name"].clone(), changed["request_timeout_ms"].clone()), (json!(10), json!("CRM"), json!(2500)));
        let (_, reset) = app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"request_timeout_ms": null, "max_attempts": null, "name": null}))).await;
        assert_eq!((reset["request_timeout_ms"].clone(), reset["max_attempts"].clone(), reset["name"].clone()), (Value::Null, Value::Null, Value::Null), "{reset}");
        assert_eq!(reset["description"], "the CRM", "what the change does not name stays");
        let (_, listed) = app.admin_get(SUBSCRIPTIONS).await;
        assert_eq!(listed["subscriptions"][0]["max_attempts"], Value::Null);
    }
}

#[tokio::test]
async fn settings_out_of_range_are_refused_naming_the_field_and_the_range() {
    let app = spawn_notifying_app(Backend::Sqlite, |s| s.notifications.request_timeout_ms = 15_000).await;
    let url = "http://127.0.0.1:9/hook";
    let cases = [
        (
            json!({"request_timeout_ms": 0}),
            "request_timeout_ms must be between 1 and 15000 (notifications.request_timeout_ms), got 0",
        ),
        (
            json!({"request_timeout_ms": 15_001}),
            "request_timeout_ms must be between 1 and 15000",
        ),
        (json!({"request_timeout_ms": -5}), "got -5"),
        (
            json!({"max_attempts": 0}),
            "max_attempts must be between 1 and 50, got 0",
        ),
        (
            json!({"max_attempts": 51}),
            "max_attempts must be between 1 and 50, got 51",
        ),
        (
            json!({"name": "x".repeat(101)}),
            "name must be one line of at most 100 characters",
        ),
        (json!({"name": "two\nlines"}), "name must be one line"),
    ];
    let id = app.subscribe_with(url, json!({})).await;
    for (fields, says) in cases {
        let mut body = json!({"url": url});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let (status, answer) = app.admin_post(SUBSCRIPTIONS, body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (422, Some("invalid_subscription")),
            "{fields}: {answer}"
        );
        assert!(answer["message"].as_str().unwrap().contains(says), "{fields}: {answer}");

        let path = format!("{SUBSCRIPTIONS}/{id}");
        let (status, answer) = app
            .admin_send(reqwest::Method::PATCH, &path, Some(fields.clone()))
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (422, Some("invalid_subscription")),
            "PATCH {fields}: {answer}"
        );
    }
    let (status, answer) = app
        .admin_post(SUBSCRIPTIONS, json!({"url": url, "max_attempts": "many"}))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("bad_request")),
        "{answer}"
    );
    let (_, listed) = app.admin_get(SUBSCRIPTIONS).await;
    assert_eq!(
        listed["subscriptions"].as_array().unwrap().len(),
        1,
        "nothing refused was stored"
    );
    assert_eq!(
        app.subscription(&id).await["max_attempts"],
        Value::Null,
        "nothing refused was changed"
    );
}

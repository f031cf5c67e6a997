//! Deliveries: signed, retried on the schedule, disabled by 410 or by failing too long, signed
//! with both secrets during a rotation's grace period, filtered, logged and redelivered.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

use super::*;
use crate::on_both_backends;

fn at(attempt: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(attempt["at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn statuses(delivery: &Value) -> Vec<Value> {
    delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect()
}

on_both_backends! {
    async fn provisioning_a_tenant_delivers_workspace_provisioned_that_an_independent_implementation_verifies(backend) {
        let receiver = Receiver::answering(202).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let sub = app.subscribe(&receiver.url(), &["workspace.provisioned"], None).await;

        let event_id = app.deliver(&tenant_created("t-notify")).await;
        let requests = receiver.wait_for(1).await;
        let envelope = verified(&sub.secret, &requests[0]).expect("the delivery verifies with the subscription's secret");
        assert!(verified("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &requests[0]).is_err(), "another secret must not verify");

        let mapping = app.db.run(|c| tenantgate::tenants::mapping(c, "t-notify")).await.unwrap().unwrap();
        assert_eq!(envelope["type"], "workspace.provisioned");
        assert_eq!(envelope["tenant_id"], "t-notify");
        assert_eq!(envelope["data"]["workspace_id"], mapping.workspace_id.unwrap().as_str());
        assert_eq!(envelope["data"]["event_id"], event_id);
        assert_eq!(envelope["id"], requests[0].headers["webhook-id"].to_str().unwrap(), "the envelope id is the webhook-id");
        assert!(envelope["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(requests[0].headers["content-type"], "application/json");

        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!(log[0]["status"], "succeeded");
        assert_eq!(statuses(&log[0]), vec![json!(202)]);
        assert_eq!(log[0]["attempt_log"][0]["response_body"], "thanks");
    }

    async fn a_binary_answer_is_logged_without_its_nul_bytes_and_the_delivery_finishes(backend) {
        let receiver = Receiver::failing_first(1, ResponseTemplate::new(200).set_body_bytes(b"ok\0\xff\0done".to_vec())).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-binary")).await;
        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_i64()), (Some("succeeded"), Some(1)));
        assert_eq!(log[0]["attempt_log"][0]["response_body"], "ok\u{fffd}done");
    }

    async fn a_receiver_answering_503_is_retried_on_the_schedule_and_delivered_once_it_is_back(backend) {
        let receiver = Receiver::failing_first(2, ResponseTemplate::new(503).set_body_string("down for maintenance")).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;

        app.deliver(&tenant_created("t-retry")).await;
        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!(log[0]["status"], "succeeded");
        assert_eq!(statuses(&log[0]), vec![json!(503), json!(503), json!(200)]);
        let attempts = log[0]["attempt_log"].as_array().unwrap();
        assert_eq!(attempts[0]["response_body"], "down for maintenance");
        // The schedule is 0.3 s then 0.6 s, no jitter.
        let gaps = [at(&attempts[1]) - at(&attempts[0]), at(&attempts[2]) - at(&attempts[1])];
        assert!(gaps[0].num_milliseconds() >= 290 && gaps[0].num_milliseconds() < 1_500, "{gaps:?}");
        assert!(gaps[1].num_milliseconds() >= 590 && gaps[1].num_milliseconds() < 2_000, "{gaps:?}");

        let requests = receiver.requests().await;
        assert_eq!(requests.len(), 3);
        let ids: std::collections::BTreeSet<_> = requests.iter().map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 1, "every attempt carries the same webhook-id");
        for request in &requests {
            verified(&sub.secret, request).unwrap();
        }
        let subscription = app.subscription(&sub.id).await;
        assert_eq!((subscription["active"].clone(), subscription["failing_since"].clone()), (json!(true), Value::Null), "healthy again");
        let metrics = app.get("/metrics").await.text().await.unwrap();
        for (outcome, count) in [("failed_retrying", 2), ("succeeded", 1)] {
            let line = format!("tenantgate_notification_deliveries_total{{outcome=\"{outcome}\",type=\"workspace.provisioned\"}} {count}");
            assert!(metrics.contains(&line), "{line} in\n{metrics}");
        }
    }

    async fn a_retry_after_longer_than_the_schedules_step_is_honoured(backend) {
        let busy = ResponseTemplate::new(429).insert_header("retry-after", "1");
        let receiver = Receiver::failing_first(1, busy).await;
        let app = spawn_notifying_app(backend, |s| s.notifications.retry_schedule_secs = vec![0.1, 5.0]).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-busy")).await;
        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!(statuses(&log[0]), vec![json!(429), json!(200)]);
        let attempts = log[0]["attempt_log"].as_array().unwrap();
        let gap = at(&attempts[1]) - at(&attempts[0]);
        assert!(gap.num_milliseconds() >= 990, "waited {gap:?}, not the Retry-After of 1 s");
    }

    async fn a_receiver_asking_to_slow_down_is_paced_without_spending_the_deliverys_attempts(backend) {
        // 429 three times, without Retry-After; the schedule allows two attempts in all.
        let receiver = Receiver::failing_first(3, ResponseTemplate::new(429)).await;
        let app = spawn_notifying_app(backend, |s| s.notifications.retry_schedule_secs = vec![0.1]).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-slow-down")).await;
        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!(log[0]["status"], "succeeded", "not dead after its two attempts: {}", log[0]);
        assert_eq!(statuses(&log[0]), vec![json!(429), json!(429), json!(429), json!(200)]);
        let id = log[0]["id"].as_i64().unwrap();
        let row = app
            .db
            .run(move |c| tenantgate::notifications::store::delivery(c, id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.throttled_attempts, row.attempts_in_round()), (3, 1), "only the delivery counted");
        let subscription = app.db.run(move |c| tenantgate::notifications::store::subscription(c, &sub.id)).await.unwrap().unwrap();
        assert!(subscription.failing_since.is_none() && subscription.active, "slowing down is not failing");
    }

    async fn a_receiver_that_is_not_listening_gets_the_notification_once_it_listens(backend) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let app = spawn_notifying_app(backend, |s| s.notifications.retry_schedule_secs = vec![0.3, 0.6, 1.2, 2.4, 4.8]).await;
        let sub = app.subscribe(&format!("http://127.0.0.1:{port}/hook"), &["*"], None).await;
        app.deliver(&tenant_created("t-down")).await;

        let first = eventually(WAIT, || async {
            let log = app.deliveries(&sub.id).await;
            log.first().and_then(|d| d["attempt_log"].as_array().filter(|a| !a.is_empty()).map(|a| a[0].clone()))
        })
        .await
        .expect("a first attempt is logged");
        assert_eq!(first["status_code"], Value::Null);
        assert!(first["error"].as_str().unwrap().contains("could not connect"), "{first}");

        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let server = wiremock::MockServer::builder().listener(listener).start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!(log[0]["status"], "succeeded");
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        verified(&sub.secret, &requests[0]).unwrap();
    }

    async fn gone_disables_the_subscription_at_once_and_nothing_more_is_sent(backend) {
        let receiver = Receiver::answering(410).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;

        app.deliver(&tenant_created("t-gone")).await;
        let log = app.finished_deliveries(&sub.id, 1).await;
        assert_eq!(log[0]["status"], "dead");
        assert_eq!(statuses(&log[0]), vec![json!(410)]);
        let subscription = app.subscription(&sub.id).await;
        assert_eq!(subscription["active"], false);
        assert!(subscription["disabled_reason"].as_str().unwrap().contains("410"), "{subscription}");
        assert_eq!(audit_actions(&app).await.iter().filter(|a| *a == "subscription.disabled").count(), 1);

        let id = app.deliver(&user_activated_body("t-gone", "u1")).await;
        app.finished_event(id, WAIT).await;
        assert_eq!(app.deliveries(&sub.id).await.len(), 1, "nothing queued for a disabled subscription");
        assert_eq!(receiver.requests().await.len(), 1);
    }

    async fn a_subscription_whose_deliveries_fail_for_longer_than_allowed_is_disabled(backend) {
        let receiver = Receiver::answering(500).await;
        let app = spawn_notifying_app(backend, |s| {
            s.notifications.disable_after_failing_secs = 1;
            s.notifications.retry_schedule_secs = vec![0.3, 0.6, 1.2, 2.4];
        })
        .await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-failing")).await;

        let subscription = eventually(WAIT, || async {
            let s = app.subscription(&sub.id).await;
            (s["active"] == false).then_some(s)
        })
        .await
        .expect("the subscription is disabled");
        let reason = subscription["disabled_reason"].as_str().unwrap();
        assert!(reason.contains("every delivery failed"), "{reason}");
        assert!(audit_actions(&app).await.contains(&"subscription.disabled".to_owned()));
        let attempts = receiver.requests().await.len();
        assert!((2..=4).contains(&attempts), "failed for over a second first: {attempts} attempts");
    }

    async fn during_a_rotations_grace_period_both_secrets_verify_every_delivery_and_after_it_only_the_new_one(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let old = app.subscribe(&receiver.url(), &["workspace.provisioned"], None).await;
        let (status, rotated) = app.admin_post(&format!("/api/admin/notifications/subscriptions/{}/rotate-secret", old.id), json!({})).await;
        assert_eq!(status, 200, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, old.secret);
        assert!(rotated["previous_secret_valid_until"].is_string());

        for tenant in ["t-rot-1", "t-rot-2"] {
            app.deliver(&tenant_created(tenant)).await;
        }
        for request in receiver.wait_for(2).await {
            verified(&old.secret, &request).expect("a receiver still on the old secret verifies");
            verified(&new_secret, &request).expect("a receiver already on the new secret verifies");
            assert_eq!(request.headers["webhook-signature"].to_str().unwrap().split(' ').count(), 2);
        }

        // Once the grace period is over (none here), only the new secret signs.
        let later = Receiver::answering(200).await;
        let app = spawn_notifying_app(backend, |s| s.notifications.rotation_grace_secs = 0).await;
        let old = app.subscribe(&later.url(), &["workspace.provisioned"], None).await;
        let (_, rotated) = app.admin_post(&format!("/api/admin/notifications/subscriptions/{}/rotate-secret", old.id), json!({})).await;
        app.deliver(&tenant_created("t-rot-3")).await;
        let request = &later.wait_for(1).await[0];
        verified(rotated["secret"].as_str().unwrap(), request).expect("the new secret verifies");
        assert!(verified(&old.secret, request).is_err(), "the old secret no longer does");
    }

    async fn event_and_tenant_filters_are_honoured(backend) {
        let (users, tenant_b, everything) = (Receiver::answering(200).await, Receiver::answering(200).await, Receiver::answering(200).await);
        let app = spawn_notifying_app(backend, |_| {}).await;
        let users_sub = app.subscribe(&users.url(), &["user.activated"], None).await;
        let tenant_sub = app.subscribe(&tenant_b.url(), &["*"], Some("t-b")).await;
        let all_sub = app.subscribe(&everything.url(), &["*"], None).await;

        for body in [tenant_created("t-a"), user_activated_body("t-a", "u-a"), tenant_created("t-b"), user_activated_body("t-b", "u-b")] {
            let id = app.deliver(&body).await;
            app.finished_event(id, WAIT).await;
        }
        let types = |log: &[Value]| {
            let mut t: Vec<String> = log.iter().map(|d| format!("{} {}", d["event_type"].as_str().unwrap(), d["tenant_id"].as_str().unwrap())).collect();
            t.sort();
            t
        };
        assert_eq!(types(&app.finished_deliveries(&users_sub.id, 2).await), ["user.activated t-a", "user.activated t-b"]);
        assert_eq!(types(&app.finished_deliveries(&tenant_sub.id, 2).await), ["user.activated t-b", "workspace.provisioned t-b"]);
        assert_eq!(app.finished_deliveries(&all_sub.id, 4).await.len(), 4);
        for request in users.requests().await {
            assert_eq!(verified(&users_sub.secret, &request).unwrap()["type"], "user.activated");
        }
    }

    async fn a_finished_delivery_can_be_redelivered_and_the_log_keeps_each_attempt(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let sub = app.subscribe(&receiver.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-again")).await;
        let delivery = app.finished_deliveries(&sub.id, 1).await.remove(0);

        let (status, body) = app.admin_post(&format!("/api/admin/notifications/deliveries/{}/redeliver", delivery["id"]), json!({})).await;
        assert_eq!((status, body["status"].clone()), (200, json!("queued")), "{body}");
        let requests = receiver.wait_for(2).await;
        assert_eq!(requests[0].headers["webhook-id"], requests[1].headers["webhook-id"], "the same message again");
        let again = eventually(WAIT, || async {
            let d = app.deliveries(&sub.id).await.remove(0);
            (d["status"] == "succeeded" && d["attempt_log"].as_array().unwrap().len() == 2).then_some(d)
        })
        .await
        .expect("the redelivery is logged as a second attempt");
        assert_eq!(again["attempts"], 2);

        let (status, body) = app.admin_post("/api/admin/notifications/deliveries/999999/redeliver", json!({})).await;
        assert_eq!((status, body["error"].clone()), (404, json!("not_found")));
        // Paused, a subscription gets nothing queued; resumed, it does again.
        let path = format!("/api/admin/notifications/subscriptions/{}", sub.id);
        app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"active": false}))).await;
        let id = app.deliver(&user_activated_body("t-again", "u1")).await;
        app.finished_event(id, WAIT).await;
        assert_eq!(app.deliveries(&sub.id).await.len(), 1);
        app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"active": true}))).await;
        app.deliver(&user_activated_body("t-again", "u2")).await;
        assert_eq!(verified(&sub.secret, &receiver.wait_for(3).await[2]).unwrap()["data"]["user_id"], "u2");

        // A delivery waiting for its next attempt cannot be redelivered.
        let failing = Receiver::answering(503).await;
        let other = app.subscribe(&failing.url(), &["*"], None).await;
        app.deliver(&tenant_created("t-again-2")).await;
        let waiting = eventually(WAIT, || async {
            app.deliveries(&other.id).await.into_iter().find(|d| d["status"] == "failed_retrying")
        })
        .await
        .expect("a failed first attempt");
        app.admin_send(reqwest::Method::PATCH, &format!("/api/admin/notifications/subscriptions/{}", other.id), Some(json!({"active": false}))).await;
        let (status, body) = app.admin_post(&format!("/api/admin/notifications/deliveries/{}/redeliver", waiting["id"]), json!({})).await;
        assert_eq!((status, body["error"].clone()), (409, json!("conflict")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("failed_retrying"), "{body}");

        // Deleting a subscription takes its deliveries and their log along.
        let (status, _) = app.admin_send(reqwest::Method::DELETE, &format!("/api/admin/notifications/subscriptions/{}", other.id), None).await;
        assert_eq!(status, 204);
        let (status, _) = app.admin_post(&format!("/api/admin/notifications/deliveries/{}/redeliver", waiting["id"]), json!({})).await;
        assert_eq!(status, 404, "the delivery went with its subscription");
    }
}

/// A dead event notifies its tenant's subscribers (`tenant.provisioning_failed`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_goes_dead_notifies_tenant_provisioning_failed() {
    use crate::fake_airbyte::{Failure, FakeAirbyte};
    let fake = FakeAirbyte::start().await;
    fake.fail_next(
        "create_workspace",
        Failure::Problem {
            status: 403,
            title: "forbidden".into(),
            detail: "the application lacks ORGANIZATION_EDITOR".into(),
        },
    );
    let receiver = Receiver::answering(200).await;
    let app = spawn_notifying_app(Backend::Sqlite, |s| {
        s.provider.kind = tenantgate::config::ProviderKind::Airbyte;
        s.provider.airbyte.base_url = fake.base_url();
        s.provider.airbyte.token = "test-airbyte-token-not-real".to_owned().into();
    })
    .await;
    let sub = app
        .subscribe(&receiver.url(), &["tenant.provisioning_failed"], None)
        .await;
    let id = app.deliver(&tenant_created("t-dead")).await;
    assert_eq!(app.finished_event(id, WAIT).await.status, "dead");
    let requests = receiver.wait_for(1).await;
    let envelope = verified(&sub.secret, &requests[0]).unwrap();
    assert_eq!(envelope["type"], "tenant.provisioning_failed");
    assert_eq!(envelope["tenant_id"], "t-dead");
    assert_eq!(envelope["data"]["event_id"], id);
    assert!(
        envelope["data"]["error"]
            .as_str()
            .unwrap()
            .contains("ORGANIZATION_EDITOR"),
        "{envelope}"
    );
}

pub async fn audit_actions(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use tenantgate::db::schema::audit_log;
    app.db
        .run(|conn| {
            Ok(tenantgate::with_conn!(conn, |c| audit_log::table
                .select(audit_log::action)
                .load::<String>(c))?)
        })
        .await
        .unwrap()
}

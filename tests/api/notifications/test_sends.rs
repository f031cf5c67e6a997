//! Test sends to any URL (signed with a secret made for the send) and to every active
//! subscription at once.

use serde_json::{json, Value};

use super::delivery::audit_actions;
use super::*;
use crate::on_both_backends;

const TEST_URL: &str = "/api/admin/notifications/test";
const TEST_ALL: &str = "/api/admin/notifications/subscriptions/test";

on_both_backends! {
    async fn a_test_send_to_any_url_is_signed_with_the_secret_it_answers(backend) {
        let receiver = Receiver::answering(200).await;
        let app = spawn_notifying_app(backend, |_| {}).await;
        let (status, result) = app.admin_post(TEST_URL, json!({"url": receiver.url()})).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!((result["delivered"].clone(), result["status_code"].clone()), (json!(true), json!(200)), "{result}");
        assert_eq!((result["response_body"].as_str(), result["error"].clone()), (Some("thanks"), Value::Null));
        assert!(result["latency_ms"].as_u64().is_some(), "{result}");
        let secret = result["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_"), "{result}");

        let request = &receiver.requests().await[0];
        let envelope = verified(secret, request).expect("the request verifies with the secret answered");
        assert_eq!((envelope["type"].as_str(), envelope["tenant_id"].clone()), (Some("subscription.test"), Value::Null));
        assert_eq!(envelope["data"], json!({"subscription_id": null}));
        let (_, again) = app.admin_post(TEST_URL, json!({"url": receiver.url()})).await;
        assert_ne!(again["secret"], result["secret"], "a new secret for every send");
        assert!(verified(secret, &receiver.requests().await[1]).is_err());

        let (_, listed) = app.admin_get("/api/admin/notifications/subscriptions").await;
        assert!(listed["subscriptions"].as_array().unwrap().is_empty(), "nothing is subscribed");
        let entries = crate::cli_events::audit_entries(&app.db, "destination.tested").await;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].detail["by"], "admin-api", "who sent it: {:?}", entries[0].detail);
        assert_eq!(entries[0].detail["host"], "127.0.0.1", "the host, never the URL");
    }

    async fn a_test_send_to_a_url_meets_the_address_policy(backend) {
        let receiver = Receiver::answering(200).await;
        let strict = spawn_notifying_app(backend, |s| s.notifications.allowed_private_networks = vec![]).await;
        for url in [receiver.url(), "http://localhost:9/hook".into(), "http://169.254.169.254/latest/meta-data".into()] {
            let (status, body) = strict.admin_post(TEST_URL, json!({"url": url})).await;
            assert_eq!((status, body["error"].as_str()), (422, Some("destination_not_allowed")), "{url}: {body}");
            assert!(body.get("secret").is_none());
        }
        let https_only = spawn_notifying_app(backend, |s| s.notifications.allow_http = false).await;
        let (status, body) = https_only.admin_post(TEST_URL, json!({"url": receiver.url()})).await;
        assert_eq!((status, body["error"].as_str()), (422, Some("invalid_url")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("notifications.allow_http"), "{body}");
        let (status, body) = https_only.admin_post(TEST_URL, json!({"url": receiver.url(), "secret": "mine"})).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
        assert!(receiver.requests().await.is_empty(), "no request to a refused address");
        assert!(!audit_actions(&strict).await.contains(&"destination.tested".to_owned()), "nothing was sent");
    }

    async fn a_test_to_every_active_subscriber_answers_one_entry_each_and_leaves_paused_ones_out(backend) {
        let (ok, failing, paused) = (Receiver::answering(204).await, Receiver::answering(500).await, Receiver::answering(200).await);
        let app = spawn_notifying_app(backend, |_| {}).await;
        let (status, body) = app.admin_post(TEST_ALL, json!({})).await;
        assert_eq!((status, body["tested"].clone(), body["results"].clone()), (200, json!(0), json!([])), "{body}");

        let good = app.subscribe(&ok.url(), &["*"], Some("t1")).await;
        let bad = app.subscribe(&failing.url(), &["user.activated"], None).await;
        let held = app.subscribe(&paused.url(), &["*"], None).await;
        let path = format!("/api/admin/notifications/subscriptions/{}", good.id);
        app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"name": "CRM sync"}))).await;
        let path = format!("/api/admin/notifications/subscriptions/{}", held.id);
        app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"active": false}))).await;

        let (status, body) = app.admin_post(TEST_ALL, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["tested"].clone(), body["delivered"].clone()), (json!(2), json!(1)), "{body}");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "one entry per active subscription: {body}");
        assert_eq!(
            results[0],
            json!({"subscription_id": good.id, "name": "CRM sync", "url": ok.url(), "delivered": true, "status_code": 204,
                   "latency_ms": results[0]["latency_ms"], "error": null})
        );
        assert!(results[0]["latency_ms"].as_u64().is_some());
        assert_eq!((results[1]["subscription_id"].as_str(), results[1]["delivered"].clone(), results[1]["status_code"].clone()), (Some(bad.id.as_str()), json!(false), json!(500)));
        assert_eq!(results[1]["error"], "the endpoint answered 500");

        let envelope = verified(&good.secret, &ok.requests().await[0]).unwrap();
        assert_eq!((envelope["type"].as_str(), envelope["data"]["subscription_id"].as_str()), (Some("subscription.test"), Some(good.id.as_str())));
        verified(&bad.secret, &failing.requests().await[0]).unwrap();
        assert!(paused.requests().await.is_empty(), "a paused subscription gets no test");
        assert!(app.deliveries(&good.id).await.is_empty(), "a test send is not queued");
        let entries = crate::cli_events::audit_entries(&app.db, "subscriptions.tested").await;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].detail["by"], "admin-api", "who sent them: {:?}", entries[1].detail);
        assert_eq!((entries[1].detail["tested"].clone(), entries[1].detail["delivered"].clone()), (json!(2), json!(1)));
    }
}

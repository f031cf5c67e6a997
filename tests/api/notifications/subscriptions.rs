//! Managing subscriptions through the admin API, outbound safety, and test sends.

use serde_json::{json, Value};
use tenantgate::notifications::sender::Sender;

use super::*;
use crate::on_both_backends;

const SUBSCRIPTIONS: &str = "/api/admin/notifications/subscriptions";

on_both_backends! {
    async fn a_subscription_is_created_listed_changed_and_deleted_and_its_secret_is_shown_once(backend) {
        let app = spawn_notifying_app(backend, |_| {}).await;
        let (status, created) = app
            .admin_post(SUBSCRIPTIONS, json!({"url": "http://127.0.0.1:9/hook", "event_types": ["user.activated", "sso.changed"], "description": "CRM"}))
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap();
        assert!(id.starts_with("sub_"));
        assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
        assert_eq!(created["event_types"], json!(["sso.changed", "user.activated"]));
        assert_eq!((created["active"].clone(), created["description"].clone()), (json!(true), json!("CRM")));

        let shown = app.subscription(id).await;
        assert!(shown.get("secret").is_none(), "the secret is never shown again: {shown}");
        let (_, listed) = app.admin_get(SUBSCRIPTIONS).await;
        assert_eq!(listed["subscriptions"].as_array().unwrap().len(), 1);
        assert!(listed.to_string().find("whsec_").is_none());

        let path = format!("{SUBSCRIPTIONS}/{id}");
        let (status, changed) = app
            .admin_send(reqwest::Method::PATCH, &path, Some(json!({"event_types": ["*"], "tenant_id": "t1", "active": false})))
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!((changed["event_types"].clone(), changed["tenant_id"].clone(), changed["active"].clone()), (json!(["*"]), json!("t1"), json!(false)));
        assert_eq!(changed["disabled_reason"], "paused by an operator");
        let (_, changed) = app.admin_send(reqwest::Method::PATCH, &path, Some(json!({"tenant_id": null, "active": true}))).await;
        assert_eq!((changed["tenant_id"].clone(), changed["active"].clone(), changed["disabled_reason"].clone()), (Value::Null, json!(true), Value::Null));

        let (status, _) = app.admin_send(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(status, 204);
        let (status, body) = app.admin_get(&path).await;
        assert_eq!((status, body["error"].clone()), (404, json!("not_found")));
        let (status, _) = app.admin_send(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(status, 404);
        let actions = super::delivery::audit_actions(&app).await;
        for action in ["subscription.created", "subscription.updated", "subscription.deleted"] {
            assert!(actions.contains(&action.to_owned()), "{action} audited: {actions:?}");
        }
    }

    async fn a_subscription_to_a_private_address_is_refused_unless_allowed(backend) {
        let strict = spawn_notifying_app(backend, |s| s.notifications.allowed_private_networks = vec![]).await;
        for url in ["http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://169.254.169.254/latest", "http://10.0.0.5/hook", "http://[::1]/hook"] {
            let (status, body) = strict.admin_post(SUBSCRIPTIONS, json!({"url": url})).await;
            assert_eq!((status, body["error"].as_str()), (422, Some("destination_not_allowed")), "{url}: {body}");
            assert!(body["message"].as_str().unwrap().contains("notifications.allowed_private_networks"), "{body}");
        }
        let (_, listed) = strict.admin_get(SUBSCRIPTIONS).await;
        assert!(listed["subscriptions"].as_array().unwrap().is_empty());

        let allowing = spawn_notifying_app(backend, |s| s.notifications.allowed_private_networks = vec!["127.0.0.1/32".into()]).await;
        let (status, body) = allowing.admin_post(SUBSCRIPTIONS, json!({"url": "http://localhost:8080/hook"})).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = allowing.admin_post(SUBSCRIPTIONS, json!({"url": "http://10.0.0.5/hook"})).await;
        assert_eq!((status, body["error"].as_str()), (422, Some("destination_not_allowed")), "only the allowed network: {body}");
    }
}

on_both_backends! {
    async fn a_plain_http_url_is_refused_unless_notifications_allow_http(backend) {
        let strict = spawn_notifying_app(backend, |s| s.notifications.allow_http = false).await;
        let (status, body) = strict.admin_post(SUBSCRIPTIONS, json!({"url": "http://127.0.0.1:9/hook"})).await;
        assert_eq!((status, body["error"].as_str()), (422, Some("invalid_url")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("notifications.allow_http"), "{body}");

        let (status, created) = strict.admin_post(SUBSCRIPTIONS, json!({"url": "https://127.0.0.1:9/hook"})).await;
        assert_eq!(status, 201, "https is accepted: {created}");
        let id = created["id"].as_str().unwrap();
        let (status, body) = strict
            .admin_send(reqwest::Method::PATCH, &format!("{SUBSCRIPTIONS}/{id}"), Some(json!({"url": "http://127.0.0.1:9/hook"})))
            .await;
        assert_eq!((status, body["error"].as_str()), (422, Some("invalid_url")), "a change too: {body}");
        assert!(body["message"].as_str().unwrap().contains("notifications.allow_http"), "{body}");
        assert_eq!(strict.subscription(id).await["url"], "https://127.0.0.1:9/hook");

        let allowing = spawn_notifying_app(backend, |s| s.notifications.allow_http = true).await;
        let (status, body) = allowing.admin_post(SUBSCRIPTIONS, json!({"url": "http://127.0.0.1:9/hook"})).await;
        assert_eq!(status, 201, "{body}");
    }

    async fn a_stored_http_subscription_gets_no_request_once_http_is_not_allowed(backend) {
        let receiver = Receiver::answering(200).await;
        let first = spawn_notifying_app(backend, |s| s.notifications.enabled = false).await;
        let sub = first.subscribe(&receiver.url(), &["*"], None).await;
        let strict = spawn_notifying_instance(&first, |s| {
            s.notifications.allow_http = false;
            s.notifications.retry_schedule_secs = vec![0.1];
        })
        .await;

        first.deliver(&tenant_created("t-plain-http")).await;
        let log = strict.finished_deliveries(&sub.id, 1).await;
        assert_eq!(log[0]["status"], "dead", "{:?}", log[0]);
        for attempt in log[0]["attempt_log"].as_array().unwrap() {
            assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
            assert!(attempt["error"].as_str().unwrap().contains("notifications.allow_http"), "{attempt}");
        }
        let (_, result) = strict.admin_post(&format!("{SUBSCRIPTIONS}/{}/test", sub.id), json!({})).await;
        assert_eq!(result["delivered"], false, "{result}");
        assert!(receiver.requests().await.is_empty(), "no request over plain http");
    }
}

#[tokio::test]
async fn bad_subscription_requests_get_a_clear_4xx() {
    let app = spawn_notifying_app(Backend::Sqlite, |_| {}).await;
    let cases = [
        (
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["workspace.exploded"]}),
            422,
            "unknown_event_type",
            "workspace.exploded",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "event_types": []}),
            422,
            "invalid_subscription",
            "at least one",
        ),
        (
            json!({"url": "ftp://127.0.0.1/hook"}),
            422,
            "invalid_url",
            "http or https",
        ),
        (json!({"url": "not a url"}), 422, "invalid_url", "not a valid URL"),
        (
            json!({"url": "http://127.0.0.1:9/hook", "tenant_id": " "}),
            422,
            "invalid_subscription",
            "tenant_id",
        ),
        (json!({"event_types": ["*"]}), 400, "bad_request", "url"),
        (
            json!({"url": "http://127.0.0.1:9/hook", "secret": "mine"}),
            400,
            "bad_request",
            "secret",
        ),
    ];
    for (body, status, code, says) in cases {
        let (got, answer) = app.admin_post(SUBSCRIPTIONS, body.clone()).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
        assert!(answer["message"].as_str().unwrap().contains(says), "{body}: {answer}");
    }
    let unauthenticated = app
        .client
        .get(format!("{}{SUBSCRIPTIONS}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let (status, _) = app
        .admin_post(&format!("{SUBSCRIPTIONS}/sub_missing/test"), json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_catalog_lists_every_notification_type_with_a_complete_example() {
    let app = spawn_notifying_app(Backend::Sqlite, |_| {}).await;
    let (status, body) = app.admin_get("/api/admin/notifications/events").await;
    assert_eq!(status, 200);
    let types = body["event_types"].as_array().unwrap();
    for t in types {
        let example = &t["example"];
        let keys: Vec<&str> = example.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["data", "id", "tenant_id", "timestamp", "type"], "{t}");
        assert_eq!(example["type"], t["name"], "{t}");
        assert!(example["id"].as_str().unwrap().starts_with("msg_"), "{t}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(example["timestamp"].as_str().unwrap()).is_ok(),
            "{t}"
        );
        assert!(example["tenant_id"].is_string(), "{t}");
        let data = example["data"].as_object().unwrap();
        assert!(
            !data.is_empty() && data.values().all(|v| !v.is_null()),
            "every field shown with a value: {t}"
        );
        assert!(!t["description"].as_str().unwrap().is_empty());
    }
    let provisioned = &types[0]["example"]["data"];
    assert_eq!(
        provisioned.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["event_id", "tenant_name", "workspace_id", "workspace_name"]
    );
    let names: Vec<&str> = types.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "workspace.provisioned",
            "workspace.archived",
            "workspace.deleted",
            "tenant.provisioning_failed",
            "user.activated",
            "user.deactivated",
            "sso.changed"
        ]
    );
}

#[tokio::test]
async fn a_test_send_answers_the_status_code_and_latency() {
    let (ok, failing) = (Receiver::answering(200).await, Receiver::answering(500).await);
    let app = spawn_notifying_app(Backend::Sqlite, |_| {}).await;
    let good = app.subscribe(&ok.url(), &["*"], Some("t1")).await;
    let (status, result) = app
        .admin_post(&format!("{SUBSCRIPTIONS}/{}/test", good.id), json!({}))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        (result["delivered"].clone(), result["status_code"].clone()),
        (json!(true), json!(200))
    );
    assert!(result["latency_ms"].as_u64().is_some());
    let envelope = verified(&good.secret, &ok.requests().await[0]).unwrap();
    assert_eq!(
        (envelope["type"].as_str(), envelope["tenant_id"].as_str()),
        (Some("subscription.test"), Some("t1"))
    );

    let bad = app.subscribe(&failing.url(), &["*"], None).await;
    let (_, result) = app
        .admin_post(&format!("{SUBSCRIPTIONS}/{}/test", bad.id), json!({}))
        .await;
    assert_eq!(
        (result["delivered"].clone(), result["status_code"].clone()),
        (json!(false), json!(500))
    );
    assert_eq!(result["error"], "the endpoint answered 500");
    assert!(app.deliveries(&bad.id).await.is_empty(), "a test send is not queued");
}

/// A name that resolves to a refused address gets no request at delivery time either (the
/// client's resolver drops it), and redirects are not followed.
#[tokio::test]
async fn deliveries_never_reach_a_refused_address_nor_follow_redirects() {
    let receiver = Receiver::answering(200).await;
    let mut settings = test_settings();
    settings.notifications.allowed_private_networks = vec![];
    let strict = Sender::new(&settings.notifications).unwrap();
    let port = receiver.server.address().port();
    let result = strict
        .send(
            &format!("http://localhost:{port}/hook"),
            "msg_1",
            "{}",
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
            now(),
            strict.request_timeout(),
        )
        .await;
    assert!(!result.delivered());
    let error = result.error.unwrap();
    assert!(
        error.contains("localhost resolves to") && error.contains("allowed_private_networks"),
        "{error}"
    );
    assert!(receiver.requests().await.is_empty());

    let redirecting = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(307).insert_header("location", receiver.url().as_str()))
        .mount(&redirecting)
        .await;
    settings.notifications.allowed_private_networks = vec!["127.0.0.1/32".into()];
    let sender = Sender::new(&settings.notifications).unwrap();
    let result = sender
        .send(
            &format!("{}/hook", redirecting.uri()),
            "msg_2",
            "{}",
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
            now(),
            sender.request_timeout(),
        )
        .await;
    assert_eq!((result.status, result.delivered()), (Some(307), false));
    assert!(receiver.requests().await.is_empty(), "the redirect was not followed");
}

// Postgres refuses NUL in text: a description or tenant with one is a 422 naming the field, never
// a 500, on either backend; so is one too long.
on_both_backends! {
    async fn a_control_character_or_an_overlong_description_or_tenant_is_refused_naming_the_field(backend) {
        let app = spawn_notifying_app(backend, |_| {}).await;
        let url = "http://127.0.0.1:9/hook";
        let long_description = "d".repeat(1_001);
        let long_tenant = "t".repeat(201);
        let cases = [
            (json!({"description": "nul\u{0}here"}), "description"),
            (json!({"description": "bell\u{7}"}), "description"),
            (json!({"description": long_description}), "description"),
            (json!({"tenant_id": "t\u{0}"}), "tenant_id"),
            (json!({"tenant_id": "t\n1"}), "tenant_id"),
            (json!({"tenant_id": long_tenant}), "tenant_id"),
        ];
        let sub = app.subscribe(url, &["*"], None).await;
        let path = format!("{SUBSCRIPTIONS}/{}", sub.id);
        for (fields, field) in &cases {
            let mut body = fields.clone();
            body["url"] = url.into();
            let (status, answer) = app.admin_post(SUBSCRIPTIONS, body).await;
            assert_eq!((status, answer["error"].as_str()), (422, Some("invalid_subscription")), "{fields}: {answer}");
            assert!(answer["message"].as_str().unwrap().starts_with(&format!("{field} must be")), "{answer}");
            let (status, answer) = app.admin_send(reqwest::Method::PATCH, &path, Some(fields.clone())).await;
            assert_eq!((status, answer["error"].as_str()), (422, Some("invalid_subscription")), "PATCH {fields}: {answer}");
            assert!(answer["message"].as_str().unwrap().starts_with(&format!("{field} must be")), "{answer}");
        }
        let (_, listed) = app.admin_get(SUBSCRIPTIONS).await;
        assert_eq!(listed["subscriptions"].as_array().unwrap().len(), 1, "nothing was created");

        let (description, tenant) = ("line one\r\n\tline two".to_owned() + &"d".repeat(980), "t".repeat(200));
        let (status, answer) = app
            .admin_send(reqwest::Method::PATCH, &path, Some(json!({"description": description, "tenant_id": tenant})))
            .await;
        assert_eq!(status, 200, "newlines and tabs in a description, and the longest of each, are kept: {answer}");
        assert_eq!((&answer["description"], &answer["tenant_id"]), (&json!(description), &json!(tenant)));
    }
}

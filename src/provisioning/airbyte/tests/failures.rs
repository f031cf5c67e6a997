//! Failures on the wire, each classified as retryable or not with a readable message, and what is
//! refused before anything is sent.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::*;
use crate::provisioning::provider::{WorkspaceProvider, WorkspaceSpec};

#[tokio::test]
async fn answers_that_do_not_fit_are_clear_permanent_errors() {
    let spec = WorkspaceSpec {
        tenant_id: "t1".into(),
        name: "n".into(),
        after_unknown_outcome: false,
    };
    let huge = "x".repeat(9 * 1024 * 1024);
    for (case, answer) in [
        ("garbage", ResponseTemplate::new(200).set_body_string("<html>not json")),
        (
            "missing id",
            ResponseTemplate::new(201).set_body_json(json!({"name": "n"})),
        ),
        (
            "empty id",
            ResponseTemplate::new(200).set_body_json(json!({"workspaceId": " "})),
        ),
        ("huge", ResponseTemplate::new(200).set_body_string(huge.clone())),
    ] {
        let server = strict_server().await;
        Mock::given(method("POST")).respond_with(answer).mount(&server).await;
        let error = client(&server, static_token("t"))
            .create_workspace(&spec)
            .await
            .unwrap_err();
        assert!(!error.retryable, "{case}");
        assert!(error.message.contains("answer not understood"), "{case}: {error}");
        assert!(error.message.len() < 600, "{case}");
    }
}

#[tokio::test]
async fn statuses_on_the_wire_are_classified_and_retry_after_is_kept() {
    let server = strict_server().await;
    let rate_limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "12")
        .set_body_json(json!({"message": "You are being rate limited."}));
    Mock::given(path(format!("/v1/workspaces/{}", id("rl"))))
        .respond_with(rate_limited)
        .mount(&server)
        .await;
    Mock::given(path(format!("/v1/workspaces/{}", id("busy"))))
        .respond_with(problem(409, "try-again-later", "busy"))
        .mount(&server)
        .await;
    Mock::given(path(format!("/v1/workspaces/{}", id("bad"))))
        .respond_with(problem(422, "unprocessable-entity", "no"))
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));

    let error = client.rename_workspace(&id("rl"), "x").await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.retry_after, Some(Duration::from_secs(12)));
    assert!(error.message.contains("You are being rate limited."), "{error}");
    assert!(client.rename_workspace(&id("busy"), "x").await.unwrap_err().retryable);
    let error = client.rename_workspace(&id("bad"), "x").await.unwrap_err();
    assert!(
        !error.retryable && error.message.contains("unprocessable-entity: no"),
        "{error}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_retryable_connection_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = AirbyteConfig::new(format!("http://127.0.0.1:{port}/v1"), static_token("t"));
    let error = AirbyteClient::new(config)
        .unwrap()
        .delete_workspace(&id("w1"))
        .await
        .unwrap_err();
    assert!(error.retryable, "{error}");
    assert_eq!(error.status, None);
    assert!(
        error.message.contains("delete_workspace: no answer: connection failed"),
        "{error}"
    );
    assert!(!error.message.contains("127.0.0.1"), "{error}");
}

#[tokio::test]
async fn a_slow_answer_is_a_retryable_timeout() {
    let server = strict_server().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let mut config = config(&server, static_token("t"));
    config.request_timeout = Duration::from_millis(200);
    let error = AirbyteClient::new(config)
        .unwrap()
        .delete_workspace(&id("w1"))
        .await
        .unwrap_err();
    assert!(error.retryable);
    assert_eq!(
        (error.status, error.message.as_str()),
        (None, "delete_workspace: timed out")
    );
}

#[tokio::test]
async fn ids_the_document_types_as_uuids_or_integers_are_refused_before_anything_is_sent() {
    let server = strict_server().await;
    let client = client(&server, static_token("t"));
    for id in ["w1", "not-a-uuid", "9924bcd0"] {
        let error = client.delete_workspace(id).await.unwrap_err();
        assert!(!error.retryable && error.message.contains("is not a UUID"), "{error}");
        assert!(client.rename_workspace(id, "x").await.is_err());
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn invalid_configuration_is_refused_at_construction() {
    let ok = AirbyteConfig::new("https://api.airbyte.com/v1", static_token("t"));
    assert!(AirbyteClient::new(ok.clone()).is_ok());
    let cases = [
        AirbyteConfig {
            base_url: "not a url".into(),
            ..ok.clone()
        },
        AirbyteConfig {
            base_url: "ftp://example.com/v1".into(),
            ..ok.clone()
        },
        AirbyteConfig {
            base_url: "mailto:ops@example.com".into(),
            ..ok.clone()
        },
        AirbyteConfig {
            auth: static_token(" "),
            ..ok.clone()
        },
        AirbyteConfig {
            auth: AirbyteAuth::ClientCredentials {
                client_id: "".into(),
                client_secret: "s".into(),
            },
            ..ok.clone()
        },
        AirbyteConfig {
            request_timeout: Duration::ZERO,
            ..ok.clone()
        },
    ];
    for config in cases {
        assert!(AirbyteClient::new(config.clone()).is_err(), "{config:?}");
    }
}

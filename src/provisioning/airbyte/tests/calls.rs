//! Paging, error classification on the wire, and each operation's requests.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::provisioning::provider::{DestinationTemplate, WorkspaceProvider, WorkspaceSpec};

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

async fn mount_page(server: &MockServer, offset: u32, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(query_param("limit", "100"))
        .and(query_param("offset", offset.to_string()))
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn paging_through_three_pages_finds_a_name_on_the_third() {
    let server = MockServer::start().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), true)).await;
    mount_page(&server, 100, workspaces_page(&names("b", 100), true)).await;
    let mut last = names("c", 7);
    last.push("fe-tenant-42".into());
    mount_page(&server, 200, workspaces_page(&last, false)).await;

    let found = client(&server, static_token("t"))
        .find_workspace_by_name("fe-tenant-42")
        .await
        .unwrap();
    assert_eq!(found.map(|w| w.id), Some("id-fe-tenant-42".to_owned()));
}

#[tokio::test]
async fn paging_stops_at_a_short_page_or_a_page_without_next() {
    let server = MockServer::start().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), false)).await;
    assert_eq!(
        client(&server, static_token("t"))
            .find_workspace_by_name("zzz")
            .await
            .unwrap(),
        None
    );

    let server = MockServer::start().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), true)).await;
    mount_page(&server, 100, workspaces_page(&names("b", 3), true)).await;
    // An exact match only: a prefix of a name is not that name.
    assert_eq!(
        client(&server, static_token("t"))
            .find_workspace_by_name("b-")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn create_sends_the_name_and_organization_and_reads_the_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/workspaces"))
        .and(body_json(json!({"name": "Acme [t1]", "organizationId": "org-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"workspaceId": "9924bcd0"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config(&server, static_token("t"));
    config.organization_id = Some("org-1".into());
    let client = AirbyteClient::new(config).unwrap();
    let spec = WorkspaceSpec {
        tenant_id: "t1".into(),
        name: "Acme [t1]".into(),
    };
    let created = client.create_workspace(&spec).await.unwrap();
    assert_eq!((created.id.as_str(), created.name.as_str()), ("9924bcd0", "Acme [t1]"));
}

#[tokio::test]
async fn answers_that_do_not_fit_are_clear_permanent_errors() {
    let spec = WorkspaceSpec {
        tenant_id: "t1".into(),
        name: "n".into(),
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
        let server = MockServer::start().await;
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
    let server = MockServer::start().await;
    let rate_limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "12")
        .set_body_json(json!({"message": "You are being rate limited."}));
    Mock::given(path("/v1/workspaces/rl"))
        .respond_with(rate_limited)
        .mount(&server)
        .await;
    Mock::given(path("/v1/workspaces/busy"))
        .respond_with(problem(409, "try-again-later", "busy"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/workspaces/bad"))
        .respond_with(problem(422, "unprocessable-entity", "no"))
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));

    let error = client.rename_workspace("rl", "x").await.unwrap_err();
    assert!(error.retryable);
    assert_eq!(error.retry_after, Some(Duration::from_secs(12)));
    assert!(error.message.contains("You are being rate limited."), "{error}");
    assert!(client.rename_workspace("busy", "x").await.unwrap_err().retryable);
    let error = client.rename_workspace("bad", "x").await.unwrap_err();
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
        .delete_workspace("w1")
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
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let mut config = config(&server, static_token("t"));
    config.request_timeout = Duration::from_millis(200);
    let error = AirbyteClient::new(config)
        .unwrap()
        .delete_workspace("w1")
        .await
        .unwrap_err();
    assert!(error.retryable);
    assert_eq!(
        (error.status, error.message.as_str()),
        (None, "delete_workspace: timed out")
    );
}

#[tokio::test]
async fn delete_accepts_204_and_treats_404_as_done() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/workspaces/here"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/workspaces/gone"))
        .respond_with(problem(404, "resource-not-found", "gone"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/workspaces/down"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));
    client.delete_workspace("here").await.unwrap();
    client.delete_workspace("gone").await.unwrap();
    assert!(client.delete_workspace("down").await.unwrap_err().retryable);
    assert!(!client.delete_workspace(" ").await.unwrap_err().retryable);
}

#[tokio::test]
async fn pausing_patches_only_runnable_connections_and_a_404_counts_as_done() {
    let server = MockServer::start().await;
    let connection = |id: &str, status: &str| json!({"connectionId": id, "workspaceId": "w1", "status": status});
    Mock::given(method("GET"))
        .and(path("/v1/connections"))
        .and(query_param("workspaceIds", "w1"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            connection("c1", "active"), connection("c2", "inactive"), connection("c3", "active"),
            connection("c4", "deprecated"),
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/connections/c1"))
        .and(body_json(json!({"status": "inactive"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(connection("c1", "inactive")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/connections/c3"))
        .respond_with(problem(404, "resource-not-found", "gone"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("workspaceIds", "gone"))
        .respond_with(problem(404, "resource-not-found", ""))
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));
    assert_eq!(client.pause_connections("w1").await.unwrap(), 1);
    assert_eq!(client.pause_connections("gone").await.unwrap(), 0);
}

#[tokio::test]
async fn cancelling_accepts_job_ids_in_either_field_and_a_404_counts_as_done() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/jobs"))
        .and(query_param("workspaceIds", "w1"))
        .and(query_param("status", "running"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"jobId": 11, "status": "running", "jobType": "sync"},
            {"id": "12", "status": "running", "jobType": "sync"},
            {"jobId": 13, "status": "running", "jobType": "sync"},
        ]})))
        .mount(&server)
        .await;
    for (job, answer) in [
        (
            "11",
            ResponseTemplate::new(200).set_body_json(json!({"jobId": 11, "status": "cancelled"})),
        ),
        ("12", ResponseTemplate::new(200)),
        ("13", problem(404, "resource-not-found", "")),
    ] {
        Mock::given(method("DELETE"))
            .and(path(format!("/v1/jobs/{job}")))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
    }
    assert_eq!(
        client(&server, static_token("t"))
            .cancel_running_jobs("w1")
            .await
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn ensure_destination_creates_only_a_missing_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/destinations"))
        .and(query_param("workspaceIds", "w1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"destinationId": "d1", "name": "lake"}]})),
        )
        .mount(&server)
        .await;
    let template = DestinationTemplate {
        name: "{tenant_id}".into(),
        configuration: json!({"destinationType": "s3", "bucket": "b"}),
        definition_id: Some("def-1".into()),
    };
    Mock::given(method("POST"))
        .and(path("/v1/destinations"))
        .and(body_json(json!({
            "name": "warehouse", "workspaceId": "w1", "configuration": template.configuration, "definitionId": "def-1"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"destinationId": "d2", "name": "warehouse"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));
    client.ensure_destination("w1", "lake", &template).await.unwrap();
    client.ensure_destination("w1", "warehouse", &template).await.unwrap();
}

#[tokio::test]
async fn the_observer_sees_every_call_and_self_managed_paths_work() {
    let server = MockServer::start().await;
    mount_tokens_at(&server, "/api/public/v1/applications/token").await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/workspaces"))
        .and(query_param_is_missing("includeDeleted"))
        .respond_with(workspaces_page(&[], false))
        .mount(&server)
        .await;
    let (observer, calls) = recording_observer();
    let config = AirbyteConfig::new(format!("{}/api/public/v1", server.uri()), credentials());
    let client = AirbyteClient::new(config).unwrap().with_observer(observer);
    assert_eq!(client.mode(), "airbyte");
    client.find_workspace_by_name("x").await.unwrap();
    assert_eq!(
        *calls.lock().unwrap(),
        vec![("token", Some(200)), ("list_workspaces", Some(200))]
    );
}

async fn mount_tokens_at(server: &MockServer, token_path: &str) {
    Mock::given(method("POST"))
        .and(path(token_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok-1", "expires_in": 180})))
        .mount(server)
        .await;
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

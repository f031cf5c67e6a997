//! Each operation's requests: what is sent, and how each answer is read.

use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::provisioning::provider::{DestinationTemplate, WorkspaceProvider, WorkspaceSpec};

#[tokio::test]
async fn create_sends_the_name_and_organization_and_reads_the_id() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/v1/workspaces"))
        .and(body_json(json!({"name": "Acme [t1]", "organizationId": id("org-1")})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"workspaceId": id("created"), "name": "Acme [t1]", "dataResidency": "auto", "notifications": {}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config(&server, static_token("t"));
    config.organization_id = Some(id("org-1"));
    let client = AirbyteClient::new(config).unwrap();
    let spec = WorkspaceSpec {
        tenant_id: "t1".into(),
        name: "Acme [t1]".into(),
        after_unknown_outcome: false,
    };
    let created = client.create_workspace(&spec).await.unwrap();
    assert_eq!((created.id, created.name.as_str()), (id("created"), "Acme [t1]"));
}

#[tokio::test]
async fn delete_accepts_204_and_treats_404_as_done() {
    let server = strict_server().await;
    Mock::given(path(format!("/v1/workspaces/{}", id("here"))))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("/v1/workspaces/{}", id("gone"))))
        .respond_with(problem(404, "resource-not-found", "gone"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("/v1/workspaces/{}", id("down"))))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));
    client.delete_workspace(&id("here")).await.unwrap();
    client.delete_workspace(&id("gone")).await.unwrap();
    assert!(client.delete_workspace(&id("down")).await.unwrap_err().retryable);
    assert!(!client.delete_workspace(" ").await.unwrap_err().retryable);
}

#[tokio::test]
async fn pausing_patches_only_runnable_connections_and_a_404_counts_as_done() {
    let server = strict_server().await;
    let connection =
        |name: &str, status: &str| json!({"connectionId": id(name), "workspaceId": id("w1"), "status": status});
    Mock::given(method("GET"))
        .and(path("/v1/connections"))
        .and(query_param("workspaceIds", id("w1")))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            connection("c1", "active"), connection("c2", "inactive"), connection("c3", "active"),
            connection("c4", "deprecated"),
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/connections/{}", id("c1"))))
        .and(body_json(json!({"status": "inactive"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(connection("c1", "inactive")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/connections/{}", id("c3"))))
        .respond_with(problem(404, "resource-not-found", "gone"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("workspaceIds", id("gone")))
        .respond_with(problem(404, "resource-not-found", ""))
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));
    assert_eq!(client.pause_connections(&id("w1")).await.unwrap(), 1);
    assert_eq!(client.pause_connections(&id("gone")).await.unwrap(), 0);
}

#[tokio::test]
async fn cancelling_accepts_job_ids_in_either_field_and_a_404_counts_as_done() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/jobs"))
        .and(query_param("workspaceIds", id("w1")))
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
            .cancel_running_jobs(&id("w1"))
            .await
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn ensure_destination_creates_only_a_missing_one() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/destinations"))
        .and(query_param("workspaceIds", id("w1")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"destinationId": id("d1"), "name": "lake"}]})),
        )
        .mount(&server)
        .await;
    let template = DestinationTemplate {
        name: "{tenant_id}".into(),
        configuration: json!({"destinationType": "s3", "bucket": "b"}),
        definition_id: Some(id("def-1")),
    };
    Mock::given(method("POST"))
        .and(path("/v1/destinations"))
        .and(body_json(json!({
            "name": "warehouse", "workspaceId": id("w1"), "configuration": template.configuration, "definitionId": id("def-1")
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"destinationId": id("d2"), "name": "warehouse"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, static_token("t"));
    client.ensure_destination(&id("w1"), "lake", &template).await.unwrap();
    client
        .ensure_destination(&id("w1"), "warehouse", &template)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_observer_sees_every_call_and_self_managed_paths_work() {
    let server = strict_server().await;
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

//! Paging, error classification on the wire, and each operation's requests.

use std::time::Duration;

use serde_json::json;
use std::sync::Mutex;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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
    let server = strict_server().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), true)).await;
    mount_page(&server, 100, workspaces_page(&names("b", 100), true)).await;
    let mut last = names("c", 7);
    last.push("fe-tenant-42".into());
    mount_page(&server, 200, workspaces_page(&last, false)).await;

    let found = client(&server, static_token("t"))
        .find_workspace_by_name("fe-tenant-42")
        .await
        .unwrap();
    assert_eq!(found.map(|w| w.id), Some(id("fe-tenant-42")));
}

#[tokio::test]
async fn paging_stops_at_a_short_page_or_a_page_without_next() {
    let server = strict_server().await;
    mount_page(&server, 0, workspaces_page(&names("a", 100), false)).await;
    assert_eq!(
        client(&server, static_token("t"))
            .find_workspace_by_name("zzz")
            .await
            .unwrap(),
        None
    );

    let server = strict_server().await;
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
    };
    let created = client.create_workspace(&spec).await.unwrap();
    assert_eq!((created.id, created.name.as_str()), (id("created"), "Acme [t1]"));
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

/// Airbyte's `GET /workspaces`: LIMIT/OFFSET with no ORDER BY, so every request may order the
/// workspaces differently; `next` on every non-empty page, `""` on the empty one.
struct Unordered {
    names: Vec<String>,
    rng: Mutex<fastrand::Rng>,
}

impl Respond for Unordered {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |key: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let (limit, offset) = (query("limit").unwrap_or(20), query("offset").unwrap_or(0));
        let mut names = self.names.clone();
        self.rng.lock().unwrap().shuffle(&mut names);
        let page: Vec<String> = names.into_iter().skip(offset).take(limit).collect();
        let next = if page.is_empty() {
            String::new()
        } else {
            format!(
                "https://api.airbyte.com/v1/workspaces?limit={limit}&offset={}",
                offset + limit
            )
        };
        let data: Vec<_> = page
            .iter()
            .map(|name| json!({"workspaceId": id(name), "name": name, "dataResidency": "auto", "notifications": {}}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "next": next, "previous": ""}))
    }
}

#[tokio::test]
async fn a_name_is_found_or_proven_absent_even_when_every_page_is_ordered_anew() {
    for seed in 0..10 {
        let server = strict_server().await;
        let names = names("w", 250);
        Mock::given(method("GET"))
            .and(path("/v1/workspaces"))
            .respond_with(Unordered {
                names: names.clone(),
                rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            })
            .mount(&server)
            .await;
        let client = client(&server, static_token("t"));
        // Whichever page a pass skips it on, the name is found.
        for wanted in ["w-0", "w-137", "w-249"] {
            let found = client.find_workspace_by_name(wanted).await.unwrap();
            assert_eq!(found.map(|w| w.id), Some(id(wanted)), "seed {seed}: {wanted}");
        }
        // Absent only once every one of the 250 was seen; and the search ends.
        assert_eq!(
            client.find_workspace_by_name("w-250").await.unwrap(),
            None,
            "seed {seed}"
        );
    }
}

#[tokio::test]
async fn a_listing_that_never_shows_every_workspace_is_an_error_not_an_absence() {
    let server = strict_server().await;
    // Every offset answers the same first 100 of 150: pages add up to 150, only 100 are seen.
    let first: Vec<String> = names("w", 100);
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(query_param("offset", "100"))
        .respond_with(workspaces_page(&first[..50], true))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(query_param("offset", "0"))
        .respond_with(workspaces_page(&first, true))
        .mount(&server)
        .await;
    let error = client(&server, static_token("t"))
        .find_workspace_by_name("elsewhere")
        .await
        .unwrap_err();
    assert!(error.retryable, "{error}");
    assert!(error.message.contains("100 of 150 workspaces seen"), "{error}");
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

//! Tokens: fetched once, reused, refreshed before expiry, refreshed once after a 401.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::provisioning::provider::WorkspaceProvider;

async fn mount_empty_workspaces(server: &MockServer, token: &str, calls: u64) {
    Mock::given(method("GET"))
        .and(path("/v1/workspaces"))
        .and(header("authorization", format!("Bearer {token}")))
        .respond_with(workspaces_page(&[], false))
        .expect(calls)
        .named(format!("list with {token}"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_token_is_fetched_once_with_the_grant_the_document_requires_and_reused() {
    // A server enforcing the document refuses a request without `grant_type` (the strict server
    // answers such a request 400 and fails the test); one reading the declared `grant-type`
    // property finds it too.
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/v1/applications/token"))
        .and(body_json(json!({
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials", "grant-type": "client_credentials"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok-1", "expires_in": 180})))
        .expect(1)
        .mount(&server)
        .await;
    mount_empty_workspaces(&server, "tok-1", 13).await;
    let client = Arc::new(client(&server, credentials()));

    for _ in 0..3 {
        assert_eq!(client.find_workspace_by_name("nobody").await.unwrap(), None);
    }
    // Concurrent callers on a warm cache reuse it too.
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.find_workspace_by_name("nobody").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn concurrent_callers_on_a_cold_cache_share_one_token_fetch() {
    let server = strict_server().await;
    mount_tokens(&server, 180, 1).await;
    mount_empty_workspaces(&server, "tok-1", 8).await;
    let client = Arc::new(client(&server, credentials()));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.find_workspace_by_name("nobody").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_and_the_margin_is_at_most_half_its_life() {
    let server = strict_server().await;
    // expires_in 4 s with the default 60 s margin: the margin shrinks to 2 s.
    mount_tokens(&server, 4, 2).await;
    mount_empty_workspaces(&server, "tok-1", 2).await;
    mount_empty_workspaces(&server, "tok-2", 1).await;
    let client = client(&server, credentials());

    client.find_workspace_by_name("a").await.unwrap();
    client.find_workspace_by_name("b").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    client.find_workspace_by_name("c").await.unwrap();
}

#[tokio::test]
async fn a_401_causes_exactly_one_refresh_and_one_retry() {
    let server = strict_server().await;
    mount_tokens(&server, 180, 2).await;
    Mock::given(method("DELETE"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(problem(401, "invalid-api-key", "expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/workspaces/{}", id("w1"))))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, credentials())
        .delete_workspace(&id("w1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_401_is_permanent() {
    let server = strict_server().await;
    mount_tokens(&server, 180, 2).await;
    Mock::given(method("PATCH"))
        .respond_with(problem(401, "invalid-api-key", "no access"))
        .expect(2)
        .mount(&server)
        .await;
    let error = client(&server, credentials())
        .rename_workspace(&id("w1"), "new")
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert_eq!(error.status, Some(401));
    assert!(
        error.message.contains("rename_workspace") && error.message.contains("invalid-api-key"),
        "{error}"
    );
}

#[tokio::test]
async fn a_401_with_a_static_token_is_permanent_at_once() {
    let server = strict_server().await;
    Mock::given(method("DELETE"))
        .and(header("authorization", "Bearer static-token"))
        .respond_with(problem(401, "invalid-api-key", "nope"))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server, static_token("static-token"))
        .delete_workspace(&id("w1"))
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert_eq!(error.status, Some(401));
}

#[tokio::test]
async fn refused_credentials_are_permanent_and_an_unavailable_endpoint_is_retryable() {
    let server = strict_server().await;
    Mock::given(path("/v1/applications/token"))
        .respond_with(problem(401, "invalid-api-key", "unknown client"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/applications/token"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "4"))
        .mount(&server)
        .await;
    let client = client(&server, credentials());

    let refused = client.delete_workspace(&id("w1")).await.unwrap_err();
    assert!(!refused.retryable);
    assert!(
        refused
            .message
            .starts_with("client credentials refused: token: HTTP 401"),
        "{refused}"
    );
    assert!(!refused.message.contains(CLIENT_SECRET));

    let unavailable = client.delete_workspace(&id("w1")).await.unwrap_err();
    assert!(unavailable.retryable);
    assert_eq!(
        (unavailable.status, unavailable.retry_after),
        (Some(503), Some(Duration::from_secs(4)))
    );
}

#[tokio::test]
async fn token_answers_without_a_token_are_clear_errors_that_quote_nothing() {
    let server = strict_server().await;
    Mock::given(path("/v1/applications/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"access_token": 12345678}"#))
        .mount(&server)
        .await;
    let error = client(&server, credentials())
        .delete_workspace(&id("w1"))
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert!(
        error.message.contains("token: HTTP 200 answer not understood"),
        "{error}"
    );
    assert!(!error.message.contains("12345678"));
}

#[tokio::test]
async fn tokens_and_secrets_never_appear_in_debug_output_or_errors() {
    let server = strict_server().await;
    mount_tokens(&server, 180, 1).await;
    // A server that echoes the token it was sent.
    Mock::given(method("DELETE"))
        .respond_with(problem(400, "bad-request", "token tok-1 looks odd"))
        .mount(&server)
        .await;
    let client = client(&server, credentials());
    let error = client.delete_workspace(&id("w1")).await.unwrap_err();
    assert!(!error.message.contains("tok-1"), "{error}");

    let debug = format!("{client:?}");
    assert!(debug.contains("client-credentials"), "{debug}");
    assert!(!debug.contains(CLIENT_SECRET) && !debug.contains("tok-"), "{debug}");
    let with_static = super::client(&server, static_token("static-secret-token"));
    assert!(!format!("{with_static:?}").contains("static-secret-token"));
    assert!(!format!("{:?}", config(&server, credentials())).contains(CLIENT_SECRET));
}

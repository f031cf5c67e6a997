//! The document's rules themselves: what `conformance` lets through and what it refuses.

use super::conformance::{api_segments, violation};

const ID: &str = "9924bcd0-99be-453d-ba47-c2c9766f7da5";

fn json_call(method: &str, path: &str, body: &str) -> Option<String> {
    violation(
        method,
        &api_segments(path),
        &[],
        Some("application/json"),
        body.as_bytes(),
    )
}

fn list(path: &str, query: &[(&str, &str)]) -> Option<String> {
    let query: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    violation("GET", &api_segments(path), &query, None, b"")
}

#[test]
fn the_token_request_needs_grant_type_with_an_underscore() {
    let hyphen_only = r#"{"client_id":"c","client_secret":"s","grant-type":"client_credentials"}"#;
    assert!(json_call("POST", "/v1/applications/token", hyphen_only)
        .unwrap()
        .contains("grant_type"));
    let both =
        r#"{"client_id":"c","client_secret":"s","grant_type":"client_credentials","grant-type":"client_credentials"}"#;
    assert_eq!(json_call("POST", "/v1/applications/token", both), None);
    let wrong = r#"{"client_id":"c","client_secret":"s","grant_type":"x","grant-type":"password"}"#;
    assert!(json_call("POST", "/v1/applications/token", wrong).is_some());
}

#[test]
fn bodies_paths_and_queries_are_checked_against_the_document() {
    assert_eq!(json_call("POST", "/v1/workspaces", r#"{"name":"n"}"#), None);
    assert!(
        json_call("POST", "/v1/workspaces", r#"{}"#).is_some(),
        "name is required"
    );
    assert!(json_call("POST", "/v1/workspaces", r#"{"name":"n","organizationId":"org-1"}"#).is_some());
    assert!(
        json_call("PATCH", "/v1/workspaces/id-1", r#"{"name":"n"}"#).is_some(),
        "workspaceId is a UUID"
    );
    assert_eq!(
        json_call("PATCH", &format!("/v1/workspaces/{ID}"), r#"{"name":"n"}"#),
        None
    );
    assert!(json_call("PATCH", &format!("/v1/connections/{ID}"), r#"{"status":"paused"}"#).is_some());
    assert_eq!(
        json_call("PATCH", &format!("/v1/connections/{ID}"), r#"{"status":"inactive"}"#),
        None
    );
    assert!(
        violation("DELETE", &["jobs", "abc"], &[], None, b"").is_some(),
        "jobId is an int64"
    );
    assert_eq!(violation("DELETE", &["jobs", "42"], &[], None, b""), None);
    assert!(list("/v1/workspaces", &[("limit", "101")]).is_some());
    assert!(list("/v1/workspaces", &[("offset", "-1")]).is_some());
    assert!(
        list("/v1/jobs", &[("status", "RUNNING")]).is_some(),
        "the enum is lower case"
    );
    assert_eq!(
        list(
            "/v1/jobs",
            &[
                ("status", "running"),
                ("workspaceIds", ID),
                ("limit", "100"),
                ("offset", "0")
            ]
        ),
        None
    );
    assert!(list("/v1/connections", &[("workspaceIds", "w1")]).is_some());
    assert!(
        list("/v1/destinations", &[("name", "x")]).is_some(),
        "undeclared parameter"
    );
    assert!(json_call(
        "POST",
        "/v1/destinations",
        r#"{"name":"d","workspaceId":"w","configuration":{}}"#
    )
    .is_some());
    assert!(violation("POST", &["workspaces"], &[], Some("text/plain"), br#"{"name":"n"}"#).is_some());
    assert!(
        violation("GET", &["sources"], &[], None, b"").is_some(),
        "not an operation tenantgate uses"
    );
}

//! What Airbyte's official OpenAPI document (`airbyte-api/server-api/src/main/openapi/api.yaml`,
//! read from the project's reference copy) allows of every request tenantgate's client can send:
//! the operations, their path parameter types, query parameters (types, ranges, enums) and
//! request bodies (required fields, types, formats, enums). A request it does not allow is one
//! a server enforcing its schema answers 400.
//!
//! Shared by the client's unit tests (an [`OffSpec`] mock that must never match) and the
//! integration suite's fake Airbyte (which answers 400 and fails the test), so that an off-spec
//! call can never pass either. Only `serde_json`, `uuid` and `wiremock` are used, so the
//! integration tests include this very file (`#[path]`).
//!
//! The rules' own tests are in `conformance_checks.rs`, beside it.

use serde_json::{Map, Value};

/// `ConnectionStatusEnum`.
const CONNECTION_STATUSES: [&str; 4] = ["active", "inactive", "deprecated", "locked"];
/// `JobStatusEnum`.
const JOB_STATUSES: [&str; 7] = [
    "pending",
    "queued",
    "running",
    "incomplete",
    "failed",
    "succeeded",
    "cancelled",
];
/// `JobTypeEnum`.
const JOB_TYPES: [&str; 4] = ["sync", "reset", "refresh", "clear"];

/// Why the request is not one the document allows, or `None` when it is. `segments` is the path
/// after the API root (`/v1` or `/api/public/v1`), e.g. `["workspaces", "<uuid>"]`.
pub fn violation(
    method: &str,
    segments: &[&str],
    query: &[(String, String)],
    content_type: Option<&str>,
    body: &[u8],
) -> Option<String> {
    let result = match (method, segments) {
        ("POST", ["applications", "token"]) => token_body(content_type, body),
        ("POST", ["workspaces"]) => no_query(query).and_then(|()| {
            let body = json_object(content_type, body)?;
            required(&body, &["name"])?;
            fields(
                &body,
                &[
                    ("name", Kind::Text),
                    ("organizationId", Kind::Uuid),
                    ("regionId", Kind::Uuid),
                    ("notifications", Kind::Object),
                ],
            )
        }),
        ("GET", ["workspaces"]) => list_query(
            query,
            &[("workspaceIds", Kind::UuidList), ("includeDeleted", Kind::Bool)],
        ),
        ("GET" | "DELETE", ["workspaces", id]) => uuid("workspaceId", id).and_then(|()| no_body(body)),
        ("PATCH", ["workspaces", id]) => uuid("workspaceId", id).and_then(|()| {
            let body = json_object(content_type, body)?;
            fields(
                &body,
                &[
                    ("name", Kind::Text),
                    ("regionId", Kind::Uuid),
                    ("notifications", Kind::Object),
                ],
            )
        }),
        ("GET", ["connections"]) => list_query(
            query,
            &[
                ("workspaceIds", Kind::UuidList),
                ("tagIds", Kind::UuidList),
                ("includeDeleted", Kind::Bool),
            ],
        ),
        ("PATCH", ["connections", id]) => uuid("connectionId", id).and_then(|()| {
            let body = json_object(content_type, body)?;
            fields(
                &body,
                &[
                    ("status", Kind::OneOf(&CONNECTION_STATUSES)),
                    ("name", Kind::Text),
                    ("prefix", Kind::Text),
                    ("namespaceFormat", Kind::Text),
                    ("configurations", Kind::Object),
                    ("schedule", Kind::Object),
                    ("tags", Kind::List),
                ],
            )
        }),
        ("GET", ["jobs"]) => list_query(
            query,
            &[
                ("workspaceIds", Kind::UuidList),
                ("connectionId", Kind::Uuid),
                ("status", Kind::OneOf(&JOB_STATUSES)),
                ("jobType", Kind::OneOf(&JOB_TYPES)),
                ("createdAtStart", Kind::Text),
                ("createdAtEnd", Kind::Text),
                ("updatedAtStart", Kind::Text),
                ("updatedAtEnd", Kind::Text),
                ("orderBy", Kind::Text),
            ],
        ),
        ("DELETE", ["jobs", id]) => match id.parse::<i64>() {
            Ok(_) => no_body(body),
            Err(_) => Err(format!("path parameter jobId must be an int64, got {id:?}")),
        },
        ("GET", ["destinations"]) => list_query(
            query,
            &[("workspaceIds", Kind::UuidList), ("includeDeleted", Kind::Bool)],
        ),
        ("POST", ["destinations"]) => no_query(query).and_then(|()| {
            let body = json_object(content_type, body)?;
            required(&body, &["name", "workspaceId", "configuration"])?;
            fields(
                &body,
                &[
                    ("name", Kind::Text),
                    ("workspaceId", Kind::Uuid),
                    ("definitionId", Kind::Uuid),
                    ("configuration", Kind::Object),
                ],
            )
        }),
        _ => Err(format!(
            "{method} /{} is not an operation of the document",
            segments.join("/")
        )),
    };
    result
        .err()
        .map(|reason| format!("{method} /{}: {reason}", segments.join("/")))
}

/// What a parameter or field must be.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Object,
    List,
    Uuid,
    /// A query array of uuids: repeated keys (the document's form style), or joined with commas
    /// as the server's own `next` links write them.
    UuidList,
    OneOf(&'static [&'static str]),
}

/// `ApplicationTokenRequestWithGrant`: `client_id`, `client_secret` and `grant_type` are required;
/// the declared property `grant-type` (with a hyphen), when sent, is `client_credentials`.
fn token_body(content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
    let body = json_object(content_type, body)?;
    required(&body, &["client_id", "client_secret", "grant_type"])?;
    fields(
        &body,
        &[
            ("client_id", Kind::Text),
            ("client_secret", Kind::Text),
            ("grant-type", Kind::OneOf(&["client_credentials"])),
        ],
    )
}

fn json_object(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, String> {
    let essence = content_type.unwrap_or("").split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(format!("the body must be application/json, got {essence:?}"));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

fn required(body: &Map<String, Value>, names: &[&str]) -> Result<(), String> {
    match names.iter().find(|name| !body.contains_key(**name)) {
        Some(name) => Err(format!("the required field {name} is missing")),
        None => Ok(()),
    }
}

fn fields(body: &Map<String, Value>, kinds: &[(&str, Kind)]) -> Result<(), String> {
    for (name, kind) in kinds {
        let Some(value) = body.get(*name) else { continue };
        let ok = match kind {
            Kind::Text => value.is_string(),
            Kind::Bool => value.is_boolean(),
            Kind::Object => value.is_object(),
            Kind::List => value.is_array(),
            Kind::Uuid => value.as_str().is_some_and(is_uuid),
            Kind::UuidList => value
                .as_array()
                .is_some_and(|items| items.iter().all(|i| i.as_str().is_some_and(is_uuid))),
            Kind::OneOf(allowed) => value.as_str().is_some_and(|v| allowed.contains(&v)),
        };
        if !ok {
            return Err(format!("field {name} = {value} is not {}", describe(*kind)));
        }
    }
    Ok(())
}

/// `limit` (1..=100), `offset` (>= 0) and the operation's own parameters; parameters the
/// document does not declare are refused too, since the client has no reason to send them.
fn list_query(query: &[(String, String)], declared: &[(&str, Kind)]) -> Result<(), String> {
    for (key, value) in query {
        let kind = match key.as_str() {
            "limit" => match value.parse::<i32>() {
                Ok(1..=100) => continue,
                _ => return Err(format!("limit={value} is not an integer between 1 and 100")),
            },
            "offset" => match value.parse::<i32>() {
                Ok(0..) => continue,
                _ => return Err(format!("offset={value} is not an integer of 0 or more")),
            },
            other => match declared.iter().find(|(name, _)| *name == other) {
                Some((_, kind)) => *kind,
                None => return Err(format!("the query parameter {other} is not declared")),
            },
        };
        let ok = match kind {
            Kind::Bool => value == "true" || value == "false",
            Kind::Uuid => is_uuid(value),
            Kind::UuidList => value.split(',').all(is_uuid),
            Kind::OneOf(allowed) => allowed.contains(&value.as_str()),
            Kind::Text | Kind::Object | Kind::List => true,
        };
        if !ok {
            return Err(format!("{key}={value} is not {}", describe(kind)));
        }
    }
    Ok(())
}

fn no_query(query: &[(String, String)]) -> Result<(), String> {
    match query.first() {
        Some((key, _)) => Err(format!("the query parameter {key} is not declared")),
        None => Ok(()),
    }
}

fn no_body(body: &[u8]) -> Result<(), String> {
    if body.is_empty() {
        Ok(())
    } else {
        Err("this operation takes no request body".into())
    }
}

fn uuid(name: &str, value: &str) -> Result<(), String> {
    if is_uuid(value) {
        Ok(())
    } else {
        Err(format!("path parameter {name} must be a UUID, got {value:?}"))
    }
}

fn is_uuid(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok() && value.len() == 36
}

fn describe(kind: Kind) -> String {
    match kind {
        Kind::Text => "a string".into(),
        Kind::Bool => "a boolean".into(),
        Kind::Object => "an object".into(),
        Kind::List => "an array".into(),
        Kind::Uuid => "a UUID".into(),
        Kind::UuidList => "a list of UUIDs".into(),
        Kind::OneOf(allowed) => format!("one of {allowed:?}"),
    }
}

/// The path after the API root: the segments following `v1`.
pub fn api_segments(path: &str) -> Vec<&str> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.iter().position(|s| *s == "v1") {
        Some(root) => segments[root + 1..].to_vec(),
        None => segments,
    }
}

/// The violation of a request as wiremock received it.
pub fn request_violation(request: &wiremock::Request) -> Option<String> {
    let query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok());
    violation(
        request.method.as_str(),
        &api_segments(request.url.path()),
        &query,
        content_type,
        &request.body,
    )
}

/// Matches every request the document does not allow. Mounted with the highest priority and
/// `.expect(0)` (see [`strict_server`]), it answers such a request 400 and fails the test when
/// the server is dropped.
pub struct OffSpec;

impl wiremock::Match for OffSpec {
    fn matches(&self, request: &wiremock::Request) -> bool {
        match request_violation(request) {
            Some(reason) => {
                eprintln!("off-spec request to Airbyte: {reason}");
                true
            }
            None => false,
        }
    }
}

/// A mock server that answers every off-spec request 400 (a problem naming the violation) and
/// fails the test if any came.
pub async fn strict_server() -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(OffSpec)
        .respond_with(wiremock::ResponseTemplate::new(400).set_body_raw(
            r#"{"status":400,"type":"https://reference.airbyte.com/reference/errors#bad-request","title":"bad-request","detail":"the request does not match the API document"}"#,
            "application/problem+json",
        ))
        .with_priority(1)
        .expect(0)
        .named("requests the official API document refuses")
        .mount(&server)
        .await;
    server
}

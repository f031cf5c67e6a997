//! Unit tests of the client against `wiremock`: auth, paging, errors and each operation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
pub mod conformance;
mod conformance_checks;
mod failures;
mod operations;
mod paging;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{AirbyteAuth, AirbyteClient, AirbyteConfig, CallObserver};
use conformance::strict_server;

const CLIENT_ID: &str = "client-1";
const CLIENT_SECRET: &str = "very-secret-1";

fn config(server: &MockServer, auth: AirbyteAuth) -> AirbyteConfig {
    AirbyteConfig {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..AirbyteConfig::new(format!("{}/v1/", server.uri()), auth)
    }
}

fn credentials() -> AirbyteAuth {
    AirbyteAuth::ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    }
}

fn static_token(token: &str) -> AirbyteAuth {
    AirbyteAuth::BearerToken(SecretString::from(token))
}

fn client(server: &MockServer, auth: AirbyteAuth) -> AirbyteClient {
    AirbyteClient::new(config(server, auth)).unwrap()
}

/// Answers the token endpoint with `tok-1`, `tok-2`, … and the given `expires_in`.
struct TokenSequence {
    issued: AtomicUsize,
    expires_in: u64,
}

impl Respond for TokenSequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": self.expires_in
        }))
    }
}

/// Mounts the token endpoint, expecting exactly `fetches` requests.
async fn mount_tokens(server: &MockServer, expires_in: u64, fetches: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/applications/token"))
        .respond_with(TokenSequence {
            issued: AtomicUsize::new(0),
            expires_in,
        })
        .expect(fetches)
        .named("token endpoint")
        .mount(server)
        .await;
}

fn problem(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        json!({
            "status": status,
            "type": format!("https://reference.airbyte.com/reference/errors#{title}"),
            "title": title,
            "detail": detail,
        })
        .to_string(),
        "application/problem+json",
    )
}

/// A UUID standing for `name`, the same every time: Airbyte's ids are UUIDs, and the document
/// refuses anything else in a path.
fn id(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

fn workspaces_page(names: &[String], next: bool) -> ResponseTemplate {
    let data: Vec<_> = names
        .iter()
        .map(|name| json!({"workspaceId": id(name), "name": name, "dataResidency": "auto", "notifications": {}}))
        .collect();
    let mut body = json!({ "data": data });
    if next {
        body["next"] = json!("https://api.airbyte.com/v1/workspaces?limit=100&offset=100");
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// What a recording observer saw: operation and status per call.
type Seen = Arc<Mutex<Vec<(&'static str, Option<u16>)>>>;

/// An observer that records every call.
fn recording_observer() -> (CallObserver, Seen) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&calls);
    let observer: CallObserver = Arc::new(move |op, status, _| sink.lock().unwrap().push((op, status)));
    (observer, calls)
}

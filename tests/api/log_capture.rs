//! No secret, signature or body appears in any log line at any level.

use tenantgate::verify::Scheme;

use crate::binary::{tenantgate, Server};
use crate::helpers::*;

const SECRET: &str = "log-capture-secret-value-q7";
const BODY_MARKER: &str = "body-marker-zx81";

/// Sends good and bad deliveries; returns every signature header value it used.
async fn traffic(address: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut signatures = Vec::new();
    let mut send = |body: Vec<u8>, headers: Vec<(String, String)>| {
        signatures.extend(
            headers
                .iter()
                .filter(|(n, _)| n != "webhook-id" && n != "webhook-timestamp")
                .map(|(_, v)| v.clone()),
        );
        let request = headers.into_iter().fold(
            client
                .post(format!("{address}/api/webhooks/frontegg"))
                .header("content-type", "application/json")
                .body(body),
            |r, (n, v)| r.header(n, v),
        );
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for (i, scheme) in Scheme::ALL.into_iter().enumerate() {
        let body = format!(
            r#"{{"eventKey":"frontegg.tenant.created","eventContext":{{"tenantId":"t{i}"}},"tenant":{{"name":"Acme","metadata":"{{\"note\":\"{BODY_MARKER}\"}}"}},"user":{{"email":"{BODY_MARKER}@example.com"}}}}"#
        );
        let good = sign(scheme, SECRET, body.as_bytes(), now(), &unique_id());
        assert_eq!(send(body.clone().into_bytes(), good).await, 200);
        let bad = sign(scheme, "log-capture-wrong-secret", body.as_bytes(), now(), &unique_id());
        assert_eq!(send(body.into_bytes(), bad).await, 401);
    }
    let malformed = format!("{{\"{BODY_MARKER}\": ");
    let headers = sign(Scheme::HmacSha256, SECRET, malformed.as_bytes(), now(), &unique_id());
    assert_eq!(send(malformed.into_bytes(), headers).await, 400);
    let missing = format!(r#"{{"eventKey":"frontegg.tenant.created","note":"{BODY_MARKER}"}}"#);
    let headers = sign(Scheme::HmacSha256, SECRET, missing.as_bytes(), now(), &unique_id());
    assert_eq!(send(missing.into_bytes(), headers).await, 422);
    signatures
}

#[tokio::test]
async fn no_secret_signature_or_body_appears_in_any_log_line_at_any_level() {
    for format in ["human", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let mut command = tenantgate(dir.path(), &["serve"]);
        command
            .env("RUST_LOG", "trace")
            .env("TENANTGATE__LOG__FORMAT", format)
            .env("TENANTGATE__SOURCES__FRONTEGG__SECRETS", SECRET);
        let server = Server::start(command);
        let signatures = traffic(&server.address).await;
        let lines = server.stop();
        assert!(
            lines.iter().any(|l| l.contains("delivery stored")),
            "the traffic was logged at all ({format})"
        );
        // The marker sits in the payload's metadata and a user's email: neither is logged.
        let mut forbidden = vec![SECRET.to_owned(), BODY_MARKER.to_owned()];
        forbidden.extend(signatures);
        for line in &lines {
            for needle in &forbidden {
                assert!(
                    !line.contains(needle.as_str()),
                    "{format} log line leaks `{needle}`:\n{line}"
                );
            }
        }
    }
}

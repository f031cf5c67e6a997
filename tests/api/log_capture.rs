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

/// A burst of refused deliveries makes a line per second at most, each saying how many went
/// unlogged, and no second line per request; the metrics count every one.
#[tokio::test]
async fn a_burst_of_refused_deliveries_is_logged_at_a_bounded_rate_and_counted_in_full() {
    const BURST: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["serve"]);
    command.env("TENANTGATE__SOURCES__FRONTEGG__SECRETS", SECRET);
    let server = Server::start(command);
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    for i in 0..BURST {
        let body = tenant_created_body(&format!("t-burst-{i}"));
        let headers = sign(
            Scheme::HmacSha256,
            "log-capture-wrong-secret",
            &body,
            now(),
            &unique_id(),
        );
        let request = headers.into_iter().fold(
            client
                .post(format!("{}/api/webhooks/frontegg", server.address))
                .header("content-type", "application/json")
                .body(body),
            |r, (n, v)| r.header(n, v),
        );
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    let seconds = started.elapsed().as_secs() as usize;
    let metrics = client
        .get(format!("{}/metrics", server.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines = server.stop();

    let refused = lines
        .iter()
        .filter(|l| l.contains("delivery refused: signature check failed"))
        .count();
    assert!(
        (1..=seconds + 1).contains(&refused),
        "{refused} refusal lines in {seconds} s"
    );
    assert!(
        !lines.iter().any(|l| l.contains("Error encountered while processing")),
        "a second line per refused request"
    );
    let counted = format!("tenantgate_verification_failures_total{{reason=\"invalid_signature\"}} {BURST}");
    assert!(
        metrics.lines().any(|l| l == counted),
        "expected `{counted}` in:\n{metrics}"
    );
}

//! The findings of an attacker's pass over the release binary, each reproduced: published
//! credentials, replays with a fresh key, tokens valid forever, an expensive public route, an
//! event dated in the future, forged client addresses in the log and blank tokens.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use tenantgate::verify::Scheme;

use crate::binary::{run, tenantgate, Server};
use crate::helpers::*;
use crate::on_both_backends;

/// Values that were written in the repository and could be tried against any instance: every
/// word of eight characters or more in the README and the tracked configuration files, and the
/// two development values an earlier README printed.
fn published_values() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("config")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut values: BTreeSet<String> = [
        "dev-only-secret-not-for-production",
        "dev-only-admin-token-not-for-production",
    ]
    .map(str::to_owned)
    .into();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_+/=.".contains(c)));
        values.extend(words.filter(|w| w.len() >= 8).map(str::to_owned));
    }
    values
}

/// Found: with TENANTGATE_ENV unset, the development file's secret and admin token opened every
/// instance, and the README printed both.
#[tokio::test]
async fn no_value_written_in_the_repository_opens_an_instance_started_as_the_quick_start_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(tenantgate(dir.path(), &["serve"]));
    let client = reqwest::Client::new();
    let body = tenant_created_body("t-published");
    let values = published_values();
    assert!(values.len() > 100, "the README and config files were read");
    for value in &values {
        let admin = client
            .get(format!("{}/api/admin/events", server.address))
            .bearer_auth(value)
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status(), 401, "`{value}` opened the admin API");
        for scheme in Scheme::ALL {
            let mut request = client
                .post(format!("{}/api/webhooks/frontegg", server.address))
                .header("content-type", "application/json")
                .body(body.clone());
            for (name, header) in sign(scheme, value, &body, now(), &unique_id()) {
                request = request.header(name, header);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, 401, "`{value}` signed a delivery with {scheme}");
        }
    }
    // The instance is not closed to everyone: its own generated token opens it.
    let token = std::fs::read_to_string(dir.path().join("data/credentials/admin-token")).unwrap();
    let admin = client
        .get(format!("{}/api/admin/events", server.address))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let lines = server.stop();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tenantgate listening") && l.contains("environment=development")),
        "the start-up line names the environment:\n{}",
        lines.join("\n")
    );
}

/// Found: setting only the secret in production left the development admin token live.
#[tokio::test]
async fn a_production_start_generates_nothing_and_leaves_the_admin_api_closed_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["serve"]);
    command
        .env("TENANTGATE_ENV", "production")
        .env("TENANTGATE__SOURCES__FRONTEGG__SECRETS", TEST_SECRET)
        .env("TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY);
    let server = Server::start(command);
    let client = reqwest::Client::new();
    for token in ["dev-only-admin-token-not-for-production", ""] {
        let response = client
            .get(format!("{}/api/admin/events", server.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    assert!(!dir.path().join("data/credentials").exists(), "nothing generated");
    let lines = server.stop();
    assert!(
        lines.iter().any(|l| l.contains("environment=production")),
        "{}",
        lines.join("\n")
    );
    let warnings = lines
        .iter()
        .filter(|l| l.contains("accepts frontegg-jwt without allowed_ips"))
        .count();
    assert_eq!(
        warnings,
        1,
        "one warning that the body is not authenticated:\n{}",
        lines.join("\n")
    );
}

/// `check-config` names the environment; a credential in a tracked file, a published value and
/// a blank or short admin token each stop the start naming the key.
#[test]
fn credentials_from_tracked_files_published_values_and_blank_tokens_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let production = |command: &mut std::process::Command| {
        command
            .env("TENANTGATE_ENV", "production")
            .env("TENANTGATE__SOURCES__FRONTEGG__SECRETS", TEST_SECRET)
            .env("TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY);
    };
    let mut command = tenantgate(dir.path(), &["check-config"]);
    production(&mut command);
    let output = run(command);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("environment = \"production\""));

    for (variable, value, key) in [
        ("TENANTGATE__ADMIN__TOKENS", "", "admin.tokens[0] is blank"),
        (
            "TENANTGATE__ADMIN__TOKENS",
            "short-token",
            "admin.tokens[0] is shorter than 32",
        ),
        (
            "TENANTGATE__ADMIN__VIEWER_TOKENS",
            "  ",
            "admin.viewer_tokens[0] is blank",
        ),
        (
            "TENANTGATE__ADMIN__TOKENS",
            "dev-only-admin-token-not-for-production",
            "admin.tokens holds a value published",
        ),
        (
            "TENANTGATE__SOURCES__FRONTEGG__SECRETS",
            "dev-only-secret-not-for-production",
            "sources.frontegg.secrets holds a value published",
        ),
        ("TENANTGATE__METRICS__TOKEN", "short", "metrics.token must be"),
    ] {
        let mut command = tenantgate(dir.path(), &["serve"]);
        production(&mut command);
        command.env(variable, value);
        let output = run(command);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{variable}={value:?}: {err}");
        assert!(err.contains(key), "{variable}={value:?}: {err}");
    }

    let config = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    std::fs::copy(shipped.join("default.toml"), config.path().join("default.toml")).unwrap();
    std::fs::write(
        config.path().join("production.toml"),
        "[admin]\ntokens = [\"0123456789abcdef0123456789abcdef-in-a-tracked-file\"]\n",
    )
    .unwrap();
    let mut command = tenantgate(dir.path(), &["serve"]);
    production(&mut command);
    command.env("TENANTGATE_CONFIG_DIR", config.path());
    let output = run(command);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("admin.tokens is set in") && err.contains("production.toml"),
        "{err}"
    );
}

/// The JSON body of a response.
async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

on_both_backends! {
    // Found: for hmac-sha256 and frontegg-jwt the key came from the unsigned `webhook-id`
    // header, so a captured delivery re-sent with `webhook-id: a2` was a new event, processed
    // twice; and sending a captured body with the key of a delivery still to come made the real
    // one answer 409.
    async fn a_captured_delivery_resent_with_another_webhook_id_is_a_duplicate_and_takes_no_key(backend) {
        let app = spawn_app(backend).await;
        for scheme in [Scheme::HmacSha256, Scheme::FronteggJwt] {
            let removal = serde_json::to_vec(&json!({
                "eventKey": "frontegg.user.removedFromTenant",
                "eventContext": {"tenantId": format!("t-{scheme}"), "userId": "u1"},
            }))
            .unwrap();
            let mut captured = sign(scheme, TEST_SECRET, &removal, now(), "unused");
            captured.push(("webhook-id".into(), "a1".into()));
            let (status, first) = answer(app.post_raw("/api/webhooks/frontegg", &removal, &captured).await).await;
            assert_eq!((status, first["status"].as_str()), (200, Some("accepted")), "{scheme}: {first}");

            let mut replayed = captured.clone();
            replayed.retain(|(name, _)| name != "webhook-id");
            replayed.push(("webhook-id".into(), "a2".into()));
            let (status, again) = answer(app.post_raw("/api/webhooks/frontegg", &removal, &replayed).await).await;
            assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")), "{scheme}: {again}");
            assert_eq!(again["event_id"], first["event_id"], "{scheme}");

            // The captured body sent first under the key the next real delivery will carry…
            let mut preempt = captured.clone();
            preempt.retain(|(name, _)| name != "webhook-id");
            preempt.push(("webhook-id".into(), format!("next-{scheme}")));
            app.post_raw("/api/webhooks/frontegg", &removal, &preempt).await;
            // …does not make the real delivery with that key a conflict.
            let real = tenant_created_body(&format!("t-real-{scheme}"));
            let mut headers = sign(scheme, TEST_SECRET, &real, now(), "unused");
            headers.push(("webhook-id".into(), format!("next-{scheme}")));
            let (status, stored) = answer(app.post_raw("/api/webhooks/frontegg", &real, &headers).await).await;
            assert_eq!((status, stored["status"].as_str()), (200, Some("accepted")), "{scheme}: {stored}");
        }
        assert_eq!(app.events().await.len(), 4, "two removals and two creations, each stored once");
    }

    // Standard Webhooks signs its `webhook-id`: changing it breaks the signature.
    async fn a_standard_webhooks_delivery_resent_with_another_id_is_refused(backend) {
        let app = spawn_app(backend).await;
        let body = tenant_created_body("t-standard");
        let headers = sign(Scheme::StandardWebhooks, TEST_SECRET, &body, now(), "msg_original");
        assert_eq!(app.post_raw("/api/webhooks/frontegg", &body, &headers).await.status(), 200);
        let forged: Vec<(String, String)> = headers
            .into_iter()
            .map(|(name, value)| if name == "webhook-id" { (name, "msg_forged".into()) } else { (name, value) })
            .collect();
        let (status, refused) = answer(app.post_raw("/api/webhooks/frontegg", &body, &forged).await).await;
        assert_eq!((status, refused["error"].as_str()), (401, Some("invalid_signature")));
    }

    // Found: one token carried a tenant.created body, then a tenant.deleted body; both were
    // accepted. A single-use token (`jti`) carries one body; a token that names its event or
    // body digest carries no other.
    async fn a_token_carries_the_request_it_was_made_for_and_no_other(backend) {
        let app = spawn_app(backend).await;
        let jwt = |claims: Value| {
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
            )
            .unwrap();
            vec![("x-webhook-secret".to_owned(), token)]
        };
        let created = tenant_created_body("t-token");
        let deleted = serde_json::to_vec(&json!({"eventKey": "frontegg.tenant.deleted", "eventContext": {"tenantId": "t-token"}})).unwrap();

        let single_use = jwt(json!({"iat": now(), "jti": unique_id()}));
        let (status, _) = answer(app.post_raw("/api/webhooks/frontegg", &created, &single_use).await).await;
        assert_eq!(status, 200);
        let (status, again) = answer(app.post_raw("/api/webhooks/frontegg", &created, &single_use).await).await;
        assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")), "a redelivery");
        let (status, refused) = answer(app.post_raw("/api/webhooks/frontegg", &deleted, &single_use).await).await;
        assert_eq!((status, refused["error"].as_str()), (401, Some("token_reused")), "{refused}");

        let for_creation = jwt(json!({"iat": now(), "eventKey": "frontegg.tenant.created", "tenantId": "t-token"}));
        let (status, refused) = answer(app.post_raw("/api/webhooks/frontegg", &deleted, &for_creation).await).await;
        assert_eq!((status, refused["error"].as_str()), (401, Some("claim_mismatch")), "{refused}");
        assert!(refused["message"].as_str().unwrap().contains("eventKey"), "{refused}");

        let untimed = jwt(json!({}));
        let (status, refused) = answer(app.post_raw("/api/webhooks/frontegg", &deleted, &untimed).await).await;
        assert_eq!((status, refused["error"].as_str()), (401, Some("untimed_token")));
        assert!(refused["message"].as_str().unwrap().contains("sources.frontegg.jwt_allow_untimed_tokens"), "{refused}");
        assert_eq!(app.events().await.len(), 1, "only the creation is stored");
    }

    // Found: a `tenant.deleted` dated 9999-12-31 left a tombstone that made every later creation
    // of its tenant look older, so it was skipped forever.
    async fn an_event_dated_in_the_future_is_refused_and_cannot_block_its_tenant(backend) {
        let app = spawn_app_with(backend, |s| s.worker.enabled = true).await;
        let doomsday = json!({"eventType": "tenant.deleted", "tenantId": "t-future", "timestamp": "9999-12-31T00:00:00Z"});
        let bytes = doomsday.to_string().into_bytes();
        let (status, refused) = answer(app.post_signed(Scheme::HmacSha256, &bytes).await).await;
        assert_eq!((status, refused["error"].as_str()), (422, Some("invalid_field")), "{refused}");
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("timestamp") && message.contains("max_future_skew_secs"), "{message}");

        let created = app.deliver(&json!({"eventType": "tenant.created", "tenantId": "t-future", "tenantName": "Future"})).await;
        let event = app.finished_event(created, Duration::from_secs(20)).await;
        assert_eq!(event.status, "succeeded", "{:?}", event.last_error);
        assert_eq!(app.events().await.len(), 1, "the future-dated deletion was never stored");
    }

    // Found: every scrape of `/metrics` ran the stats aggregation on a pooled connection, so 64
    // scrapers starved signed webhooks into 503s. The public routes now read memory only: they
    // answer while every database connection is taken.
    async fn public_routes_answer_while_every_database_connection_is_taken(backend) {
        let app = spawn_app_with(backend, |s| {
            s.database.pool_size = 4;
            s.database.connect_timeout_secs = 60;
        })
        .await;
        let db = app.db.clone();
        let held = tokio::task::spawn_blocking(move || (0..4).map(|_| db.get().unwrap()).collect::<Vec<_>>())
            .await
            .unwrap();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        for path in ["/metrics", "/readyz", "/healthz"] {
            let response = client.get(format!("{}{path}", app.address)).send().await;
            let response = response.unwrap_or_else(|e| panic!("{path} waited for the database: {e}"));
            assert_eq!(response.status(), 200, "{path}");
        }
        drop(held);
    }

    async fn metrics_answer_only_their_bearer_token_when_one_is_set(backend) {
        const TOKEN: &str = "test-metrics-token-0123456789abcdef";
        let app = spawn_app_with(backend, |s| s.metrics.token = TOKEN.to_owned().into()).await;
        let scrape = |token: Option<&'static str>| {
            let mut request = app.client.get(format!("{}/metrics", app.address));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        assert_eq!(scrape(None).await.unwrap().status(), 401);
        assert_eq!(scrape(Some("test-metrics-token-wrong-0123456789")).await.unwrap().status(), 401);
        let response = scrape(Some(TOKEN)).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.text().await.unwrap().contains("tenantgate_events{"));
    }
}

/// Found: actix logged one `request parse error` line per malformed request, unthrottled (300
/// lines in half a second); and request spans logged the client address from the
/// `X-Forwarded-For` of any peer.
#[tokio::test]
async fn malformed_requests_are_logged_at_a_bounded_rate_and_forwarded_addresses_only_from_trusted_proxies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const MALFORMED: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantgate(dir.path(), &["serve"]);
    command.env("TENANTGATE__SOURCES__FRONTEGG__SECRETS", TEST_SECRET);
    let server = Server::start(command);
    let host = server.address.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    for _ in 0..MALFORMED {
        let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    let seconds = started.elapsed().as_secs() as usize;
    let client = reqwest::Client::new();
    // A forged client address on a refused delivery, whose refusal is logged inside its span.
    let refused = client
        .post(format!("{}/api/webhooks/frontegg", server.address))
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.66")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let metrics = client
        .get(format!("{}/metrics", server.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines = server.stop();
    let parse_errors = lines.iter().filter(|l| l.contains("request parse error")).count();
    assert!(
        (1..=seconds + 1).contains(&parse_errors),
        "{parse_errors} parse-error lines for {MALFORMED} requests in {seconds} s"
    );
    let counted = format!("tenantgate_malformed_requests_total {MALFORMED}");
    assert!(
        metrics.lines().any(|l| l == counted),
        "expected `{counted}` in:\n{metrics}"
    );
    let refusal = lines
        .iter()
        .find(|l| l.contains("delivery refused"))
        .expect("the refusal is logged");
    assert!(
        refusal.contains("http.client_ip=127.0.0.1") && !lines.iter().any(|l| l.contains("203.0.113.66")),
        "the forged address was logged:\n{refusal}"
    );
}

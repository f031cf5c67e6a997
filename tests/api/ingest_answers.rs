//! What each kind of bad or good delivery is answered, and what is stored.

use tenantgate::verify::Scheme;

use crate::helpers::*;
use crate::on_both_backends;

async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

on_both_backends! {
    async fn a_signed_delivery_is_accepted_and_stored_pending(backend) {
        let app = spawn_app(backend).await;
        let response = app.post_signed(Scheme::FronteggJwt, &tenant_created_body("t-accept")).await;
        assert_eq!(response.status(), 200);
        let receipt: serde_json::Value = response.json().await.unwrap();
        assert_eq!(receipt["status"], "accepted");
        let events = app.events().await;
        assert_eq!(events.len(), 1);
        assert_eq!(receipt["event_id"], events[0].id);
        assert_eq!((events[0].kind.as_str(), events[0].status.as_str()), ("tenant_created", "pending"));
        assert_eq!(events[0].tenant_id.as_deref(), Some("t-accept"));
    }

    async fn malformed_json_is_400_and_not_stored(backend) {
        let app = spawn_app(backend).await;
        let (status, code, _) = error_of(app.post_signed(Scheme::HmacSha256, b"{\"eventKey\": ").await).await;
        assert_eq!((status, code.as_str()), (400, "malformed_json"));
        assert!(app.events().await.is_empty());
    }

    async fn a_missing_tenant_id_is_422_naming_the_field(backend) {
        let app = spawn_app(backend).await;
        let body = br#"{"eventKey":"frontegg.tenant.created","eventContext":{}}"#;
        let (status, code, message) = error_of(app.post_signed(Scheme::HmacSha256, body).await).await;
        assert_eq!((status, code.as_str()), (422, "missing_field"));
        assert!(message.contains("eventContext.tenantId"), "{message}");
        let body = br#"{"eventType":"user.activated","tenantId":"t1"}"#;
        let (status, _, message) = error_of(app.post_signed(Scheme::HmacSha256, body).await).await;
        assert_eq!(status, 422);
        assert!(message.contains("userId"), "{message}");
    }

    async fn an_unknown_event_is_stored_as_ignored_and_answered_200(backend) {
        let app = spawn_app(backend).await;
        let body = br#"{"eventKey":"frontegg.user.signedUp","eventContext":{"tenantId":"t1","userId":"u1"}}"#;
        let response = app.post_signed(Scheme::HmacSha256, body).await;
        assert_eq!(response.status(), 200);
        let receipt: serde_json::Value = response.json().await.unwrap();
        assert_eq!(receipt["status"], "ignored");
        let events = app.events().await;
        assert_eq!((events[0].kind.as_str(), events[0].status.as_str()), ("ignored", "ignored"));
    }

    async fn an_alias_route_takes_only_its_own_event(backend) {
        let app = spawn_app(backend).await;
        let body = tenant_created_body("t-alias");
        let ok = app.post_signed_to("/api/webhooks/frontegg/tenant-created", Scheme::HmacSha256, &body).await;
        assert_eq!(ok.status(), 200);
        let body = tenant_created_body("t-alias-2");
        let wrong = app.post_signed_to("/api/webhooks/frontegg/tenant-deleted", Scheme::HmacSha256, &body).await;
        let (status, code, message) = error_of(wrong).await;
        assert_eq!((status, code.as_str()), (422, "event_mismatch"));
        assert!(message.contains("frontegg.tenant.created"), "{message}");
        let unknown = app.post_signed_to("/api/webhooks/frontegg/tenant-exploded", Scheme::HmacSha256, &body).await;
        assert_eq!(unknown.status(), 404);
        assert_eq!(app.events().await.len(), 1);
    }

    async fn an_oversized_body_is_413_before_anything_else(backend) {
        let app = spawn_app_with(backend, |s| s.sources.frontegg.body_limit_bytes = 1024).await;
        let body = vec![b' '; 4096];
        let (status, code, _) = error_of(app.post_raw("/api/webhooks/frontegg", &body, &[]).await).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    }

    async fn a_non_json_content_type_is_415(backend) {
        let app = spawn_app(backend).await;
        let response = app
            .client
            .post(format!("{}/api/webhooks/frontegg", app.address))
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));
    }

    async fn the_allow_list_refuses_other_addresses_and_trusts_only_listed_proxies(backend) {
        let app = spawn_app_with(backend, |s| s.sources.frontegg.allowed_ips = vec!["23.21.59.58".into()]).await;
        let body = tenant_created_body("t-ip");
        let mut headers = sign(Scheme::FronteggJwt, TEST_SECRET, &body, now(), &unique_id());
        let (status, code, _) = error_of(app.post_raw("/api/webhooks/frontegg", &body, &headers).await).await;
        assert_eq!((status, code.as_str()), (403, "address_not_allowed"));
        headers.push(("x-forwarded-for".into(), "23.21.59.58".into()));
        // The peer (127.0.0.1) is not a trusted proxy here, so the header is not believed.
        assert_eq!(app.post_raw("/api/webhooks/frontegg", &body, &headers).await.status(), 403);

        let app = spawn_app_with(backend, |s| {
            s.sources.frontegg.allowed_ips = vec!["23.21.59.58".into()];
            s.sources.frontegg.trusted_proxies = vec!["127.0.0.1".into()];
        })
        .await;
        assert_eq!(app.post_raw("/api/webhooks/frontegg", &body, &headers).await.status(), 200);
    }

    async fn insecure_mode_accepts_unsigned_deliveries(backend) {
        let app = spawn_app_with(backend, |s| {
            s.sources.frontegg.insecure_skip_verification = true;
            s.sources.frontegg.secrets.clear();
        })
        .await;
        let response = app.post_raw("/api/webhooks/frontegg", &tenant_created_body("t-insecure"), &[]).await;
        assert_eq!(response.status(), 200);
    }

    async fn the_catalog_lists_every_accepted_name_with_its_kind(backend) {
        let app = spawn_app(backend).await;
        let body: serde_json::Value = app.get("/api/webhooks/frontegg/events").await.json().await.unwrap();
        let entries = body["events"].as_array().unwrap();
        for (name, kind) in [
            ("frontegg.tenant.created", "tenant_created"),
            ("organization.deleted", "tenant_deleted"),
            ("frontegg.user.activated", "user_activated"),
            ("frontegg.user.removedFromTenant", "user_deactivated"),
            ("sso.configured", "sso_changed"),
        ] {
            let entry = entries.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(entry["kind"], kind, "{name}");
            assert!(entry["effect"].as_str().is_some_and(|e| !e.is_empty()), "{name}");
        }
    }
}

/// A client that sends its head and part of its body, then stalls, is answered 408 once
/// `server.body_read_timeout_ms` has passed, and its connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_answered_408_after_the_body_timeout_and_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app_with(Backend::Sqlite, |s| s.server.body_read_timeout_ms = 300).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/webhooks/frontegg HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"eventKey\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    // Read to the end: the server must answer and then close the connection by itself.
    tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server ends a stalled body")
        .unwrap();
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
    assert!(
        waited >= std::time::Duration::from_millis(250),
        "answered after {waited:?}"
    );
    // The server keeps serving, and nothing of the stalled delivery was stored.
    let response = app
        .post_signed(Scheme::HmacSha256, &tenant_created_body("t-after-stall"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.events().await.len(), 1);
}

//! Every scheme × every way a signature can be right or wrong, with the exact answer expected.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tenantgate::verify::Scheme;

use crate::helpers::*;
use crate::on_both_backends;

/// What a cell expects: 200, or 401 with this error code.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Accepted,
    Refused(&'static str),
}

struct Cell {
    name: &'static str,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    expect: Expect,
}

const SKEW: i64 = 600;

fn jwt_with(claims: serde_json::Value) -> Vec<(String, String)> {
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    vec![("x-webhook-secret".into(), token)]
}

fn cells(scheme: Scheme) -> Vec<Cell> {
    let body = |cell: &str| tenant_created_body(&format!("tenant-{}-{cell}", scheme.as_str()));
    let signed = |cell: &str, secret: &str, at: i64| {
        let b = body(cell);
        let headers = sign(scheme, secret, &b, at, &unique_id());
        (b, headers)
    };
    let now = now();
    let mut cells = Vec::new();
    let (b, h) = signed("valid", TEST_SECRET, now);
    cells.push(Cell {
        name: "valid",
        body: b,
        headers: h,
        expect: Expect::Accepted,
    });
    let (b, h) = signed("wrong-secret", "test-secret-wrong", now);
    cells.push(Cell {
        name: "wrong secret",
        body: b,
        headers: h,
        expect: Expect::Refused("invalid_signature"),
    });
    let (b, h) = signed("rotated", TEST_PREVIOUS_SECRET, now);
    cells.push(Cell {
        name: "older rotated secret",
        body: b,
        headers: h,
        expect: Expect::Accepted,
    });
    cells.push(Cell {
        name: "missing header",
        body: body("missing"),
        headers: vec![],
        expect: Expect::Refused("missing_signature"),
    });
    let (_, h) = signed("tampered", TEST_SECRET, now);
    cells.push(Cell {
        name: "tampered body",
        body: body("tampered-changed"),
        headers: h,
        // The JWT scheme does not sign the body, but the tokens `sign` makes carry its digest.
        expect: if scheme == Scheme::FronteggJwt {
            Expect::Refused("claim_mismatch")
        } else {
            Expect::Refused("invalid_signature")
        },
    });
    if scheme == Scheme::FronteggJwt {
        cells.extend(jwt_cells(now, &body));
    }
    let (stale, future) = match scheme {
        Scheme::FronteggJwt => (
            (
                body("stale"),
                jwt_with(serde_json::json!({"iat": now - 2 * SKEW, "exp": now - SKEW})),
            ),
            (
                body("future"),
                jwt_with(serde_json::json!({"iat": now, "nbf": now + SKEW})),
            ),
        ),
        _ => (
            signed("stale", TEST_SECRET, now - SKEW),
            signed("future", TEST_SECRET, now + SKEW),
        ),
    };
    // hex HMAC signs no timestamp, so there is nothing to be stale: such requests verify.
    let timed = |e| {
        if scheme == Scheme::HmacSha256 {
            Expect::Accepted
        } else {
            e
        }
    };
    cells.push(Cell {
        name: "stale timestamp",
        body: stale.0,
        headers: stale.1,
        expect: timed(Expect::Refused("timestamp_out_of_tolerance")),
    });
    cells.push(Cell {
        name: "future timestamp",
        body: future.0,
        headers: future.1,
        expect: timed(Expect::Refused("timestamp_out_of_tolerance")),
    });
    let garbled = match scheme {
        Scheme::FronteggJwt => vec![("x-webhook-secret".into(), "not-a.jwt-at.all".into())],
        Scheme::HmacSha256 => vec![("x-webhook-signature".into(), "sha256=zz-not-hex".into())],
        Scheme::StandardWebhooks => vec![
            ("webhook-id".into(), unique_id()),
            ("webhook-timestamp".into(), now.to_string()),
            ("webhook-signature".into(), "v1,@@not-base64@@".into()),
        ],
    };
    cells.push(Cell {
        name: "garbled header",
        body: body("garbled"),
        headers: garbled,
        expect: Expect::Refused("invalid_signature"),
    });
    cells
}

/// Tokens as an attacker would bring them (found attacking the release binary: each of the
/// first three passed), and what a token without claims about its request still allows.
fn jwt_cells(now: i64, body: &dyn Fn(&str) -> Vec<u8>) -> Vec<Cell> {
    let ten_years = 10 * 365 * 86_400;
    let cell = |name, claims: serde_json::Value, expect| Cell {
        name,
        body: body(name),
        headers: jwt_with(claims),
        expect,
    };
    vec![
        cell(
            "no claims at all",
            serde_json::json!({}),
            Expect::Refused("untimed_token"),
        ),
        cell(
            "issued ten years ago",
            serde_json::json!({"iat": now - ten_years}),
            Expect::Refused("timestamp_out_of_tolerance"),
        ),
        cell(
            "expiring in 9999",
            serde_json::json!({"exp": 253_402_300_799_i64}),
            Expect::Refused("timestamp_out_of_tolerance"),
        ),
        cell(
            "issued in the future",
            serde_json::json!({"iat": now + SKEW}),
            Expect::Refused("timestamp_out_of_tolerance"),
        ),
        cell(
            "claims another event",
            serde_json::json!({"iat": now, "eventKey": "frontegg.tenant.deleted"}),
            Expect::Refused("claim_mismatch"),
        ),
        // A fresh token that says nothing about its request proves only its sender: README's
        // security section says why `allowed_ips` matters for this scheme.
        cell(
            "fresh, no request claims",
            serde_json::json!({"iat": now}),
            Expect::Accepted,
        ),
    ]
}

on_both_backends! {
    async fn every_scheme_answers_every_signature_case_exactly(backend) {
        let mut failures = Vec::new();
        for scheme in Scheme::ALL {
            let app = spawn_app_with(backend, |s| s.sources.frontegg.schemes = vec![scheme]).await;
            for cell in cells(scheme) {
                let response = app.post_raw("/api/webhooks/frontegg", &cell.body, &cell.headers).await;
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let got = match status {
                    200 => Expect::Accepted,
                    401 => Expect::Refused(match body["error"].as_str() {
                        Some("invalid_signature") => "invalid_signature",
                        Some("missing_signature") => "missing_signature",
                        Some("timestamp_out_of_tolerance") => "timestamp_out_of_tolerance",
                        Some("untimed_token") => "untimed_token",
                        Some("claim_mismatch") => "claim_mismatch",
                        _ => "(unexpected code)",
                    }),
                    _ => Expect::Refused("(unexpected status)"),
                };
                if got != cell.expect {
                    failures.push(format!("{scheme} × {}: expected {:?}, got {status} {body}", cell.name, cell.expect));
                }
            }
        }
        assert!(failures.is_empty(), "cells that failed:\n{}", failures.join("\n"));
    }
}

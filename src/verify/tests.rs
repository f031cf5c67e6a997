//! The verifier as a whole: every scheme, rotation, precedence of failures, hostile input.

use std::collections::HashMap;

use secrecy::SecretString;

use super::*;

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"eventKey":"frontegg.tenant.created"}"#;

fn verifier(schemes: &[Scheme], secrets: &[&str]) -> Verifier {
    let secrets = secrets.iter().map(|s| SecretString::from(s.to_string())).collect();
    Verifier::new(schemes.to_vec(), secrets, VerifyOptions::default())
}

fn signed(scheme: Scheme, secret: &str, at: i64) -> Vec<(String, String)> {
    sign(scheme, secret, BODY, at, "msg_1", &VerifyOptions::default())
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(VerifyError::MissingSignature.code(), "missing_signature");
    assert_eq!(VerifyError::InvalidSignature.code(), "invalid_signature");
    assert_eq!(
        VerifyError::TimestampOutOfTolerance.code(),
        "timestamp_out_of_tolerance"
    );
}

#[test]
fn every_scheme_verifies_what_sign_produces() {
    let v = verifier(&Scheme::ALL, &["s3cret"]);
    for scheme in Scheme::ALL {
        assert_eq!(
            v.verify(BODY, &signed(scheme, "s3cret", NOW), NOW).map(|v| v.scheme),
            Ok(scheme)
        );
    }
}

#[test]
fn a_request_signed_with_the_old_secret_passes_during_rotation() {
    let v = verifier(&Scheme::ALL, &["new", "old"]);
    for scheme in Scheme::ALL {
        assert_eq!(
            v.verify(BODY, &signed(scheme, "old", NOW), NOW).map(|v| v.scheme),
            Ok(scheme)
        );
    }
}

#[test]
fn a_tampered_body_fails_hmac_and_standard_webhooks() {
    let v = verifier(&Scheme::ALL, &["s3cret"]);
    for scheme in [Scheme::HmacSha256, Scheme::StandardWebhooks] {
        let headers = signed(scheme, "s3cret", NOW);
        assert_eq!(v.verify(b"{}", &headers, NOW), Err(VerifyError::InvalidSignature));
    }
}

#[test]
fn no_headers_at_all_is_a_missing_signature() {
    let v = verifier(&Scheme::ALL, &["s3cret"]);
    assert_eq!(v.verify(BODY, &map(&[]), NOW), Err(VerifyError::MissingSignature));
    let blank = map(&[
        ("x-webhook-signature", ""),
        ("x-webhook-secret", " "),
        ("webhook-id", "m"),
    ]);
    assert_eq!(v.verify(BODY, &blank, NOW), Err(VerifyError::MissingSignature));
}

#[test]
fn an_invalid_scheme_beats_a_missing_one() {
    let v = verifier(&Scheme::ALL, &["s3cret"]);
    let headers = map(&[("x-webhook-signature", "sha256=00")]);
    assert_eq!(v.verify(BODY, &headers, NOW), Err(VerifyError::InvalidSignature));
}

#[test]
fn a_timestamp_failure_beats_an_invalid_scheme() {
    let v = verifier(&Scheme::ALL, &["s3cret"]);
    let mut headers = signed(Scheme::StandardWebhooks, "s3cret", NOW - 3600);
    headers.push(("x-webhook-signature".into(), "sha256=garbled".into()));
    assert_eq!(v.verify(BODY, &headers, NOW), Err(VerifyError::TimestampOutOfTolerance));
    let future = signed(Scheme::StandardWebhooks, "s3cret", NOW + 3600);
    assert_eq!(v.verify(BODY, &future, NOW), Err(VerifyError::TimestampOutOfTolerance));
}

#[test]
fn any_verifying_scheme_wins_over_failing_ones() {
    let v = verifier(&Scheme::ALL, &["s3cret"]);
    let mut headers = signed(Scheme::StandardWebhooks, "s3cret", NOW);
    headers.push(("x-webhook-secret".into(), "not-a-jwt".into()));
    let verified = v.verify(BODY, &headers, NOW).unwrap();
    assert_eq!(verified.scheme, Scheme::StandardWebhooks);
    assert_eq!(verified.message_id.as_deref(), Some("msg_1"));
}

#[test]
fn only_configured_schemes_are_tried() {
    let v = verifier(&[Scheme::FronteggJwt], &["s3cret"]);
    let headers = signed(Scheme::HmacSha256, "s3cret", NOW);
    assert_eq!(v.verify(BODY, &headers, NOW), Err(VerifyError::MissingSignature));
    assert_eq!(v.schemes(), &[Scheme::FronteggJwt]);
    let none = verifier(&[], &["s3cret"]);
    assert_eq!(none.verify(BODY, &headers, NOW), Err(VerifyError::MissingSignature));
}

#[test]
fn configured_header_names_match_in_any_case() {
    let options = VerifyOptions {
        hmac_header: "X-Hub-Signature-256".into(),
        ..VerifyOptions::default()
    };
    let headers = sign(Scheme::HmacSha256, "s3cret", BODY, NOW, "m", &options);
    assert_eq!(headers[0].0, "x-hub-signature-256");
    let secrets = vec![SecretString::from("s3cret".to_string())];
    let v = Verifier::new(vec![Scheme::HmacSha256], secrets, options);
    let wire = map(&[("X-Hub-Signature-256", headers[0].1.as_str())]);
    assert_eq!(v.verify(BODY, &wire, NOW).map(|v| v.scheme), Ok(Scheme::HmacSha256));
}

#[test]
fn an_empty_secret_is_ignored_so_nobody_can_sign_with_it() {
    let v = verifier(&Scheme::ALL, &[""]);
    for scheme in Scheme::ALL {
        assert_eq!(
            v.verify(BODY, &signed(scheme, "", NOW), NOW),
            Err(VerifyError::InvalidSignature)
        );
    }
}

#[test]
fn a_secret_of_zero_bytes_only_matches_nothing_as_hmac_pads_the_empty_key_to_it() {
    // Found by fuzzing: HMAC pads keys with zero bytes, so these keys equal the empty key.
    for zero in ["\0", "\0\0\0", "whsec_AA==", "whsec_AAAAAAAA"] {
        let v = verifier(&Scheme::ALL, &[zero]);
        for scheme in Scheme::ALL {
            assert_eq!(
                v.verify(BODY, &signed(scheme, "", NOW), NOW),
                Err(VerifyError::InvalidSignature),
                "{scheme:?} with {zero:?} accepted a request signed with the empty key"
            );
        }
    }
}

#[test]
fn the_start_up_check_refuses_exactly_the_secrets_whose_key_anyone_can_sign_with() {
    // The settings refuse such a secret at start (`config::gives_a_key_anyone_can_sign_with`),
    // reading it as this module does; the two readings must not drift apart.
    let secrets = [
        "",
        "\0",
        "\0\0\0",
        "   ",
        "s3cret",
        "whsec_",
        "whsec_AA==",
        "whsec_AA",
        "whsec_AAAAAAAA",
        "whsec_AAAA=",
        "whsec_AAE=",
        "whsec_c2VjcmV0",
        "whsec_not base64!",
        "whsec_\0",
        "WHSEC_AA==",
    ];
    for secret in secrets {
        let weak = signs_for_anyone(secret.as_bytes()) || signs_for_anyone(&standard::key_from_secret(secret));
        assert_eq!(
            crate::config::gives_a_key_anyone_can_sign_with(secret),
            weak,
            "{secret:?}"
        );
    }
}

#[test]
fn debug_output_never_contains_a_secret() {
    let v = verifier(&Scheme::ALL, &["hunter2-very-secret", "whsec_c2VjcmV0"]);
    let shown = format!("{v:?} {v:#?}");
    assert!(!shown.contains("hunter2") && !shown.contains("whsec_"), "{shown}");
    assert!(shown.contains("secrets: 2"), "{shown}");
}

#[test]
fn garbage_headers_never_panic() {
    let v = verifier(&Scheme::ALL, &["s3cret", "whsec_c2VjcmV0"]);
    const ALPHABET: &[u8] = b"v1,.= sha256-_+/eyJ0AZaz09\0";
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..2000 {
        let mut garbage = String::new();
        for _ in 0..(round % 97) {
            // xorshift: cheap deterministic noise, biased toward separators.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pick = ALPHABET[(seed % ALPHABET.len() as u64) as usize];
            garbage.push(if seed % 11 == 0 { 'é' } else { pick as char });
        }
        let names = [
            "x-webhook-secret",
            "x-webhook-signature",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        ];
        let headers: HashMap<String, String> = names.iter().map(|n| (n.to_string(), garbage.clone())).collect();
        assert!(v.verify(garbage.as_bytes(), &headers, seed as i64).is_err());
    }
}

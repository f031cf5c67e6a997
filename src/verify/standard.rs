//! `standard-webhooks`: Standard Webhooks v1 (the scheme Svix popularised).
//!
//! The sender signs `{webhook-id}.{webhook-timestamp}.{body}` with
//! HMAC-SHA256 and sends `v1,<base64>` entries, space separated, in
//! `webhook-signature`. The signed timestamp lets us refuse replays.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use hmac::Mac;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::hmac_hex::mac;
use super::{present, HeaderSource, VerifyError};

/// Header carrying the unique message id.
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the Unix timestamp (seconds) the sender signed.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated `v1,<base64>` signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Secrets with this prefix hold a base64 key after it.
pub const SECRET_PREFIX: &str = "whsec_";
/// The only signature version this module understands.
pub const VERSION: &str = "v1";
/// Default allowed distance between the signed timestamp and now, both ways.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Base64 of a 32-byte digest is 44 characters; anything much longer is not one.
const MAX_SIGNATURE_B64_LEN: usize = 64;

/// Decodes base64 whether or not the sender kept the `=` padding.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The HMAC key a configured secret stands for.
///
/// `whsec_<base64>` yields the decoded bytes; any other secret is used as its
/// raw UTF-8 bytes. A `whsec_` secret whose rest is not base64 also falls back
/// to raw bytes, so signing and verifying always agree on the key.
pub fn key_from_secret(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|rest| LENIENT_B64.decode(rest).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The raw HMAC-SHA256 over `{id}.{timestamp}.{body}`; `timestamp` is the
/// header text exactly as sent, because that is what the sender signed.
fn digest(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
    let tag = mac(key)
        .chain_update(id.as_bytes())
        .chain_update(b".")
        .chain_update(timestamp.as_bytes())
        .chain_update(b".")
        .chain_update(body)
        .finalize();
    tag.into_bytes().into()
}

/// One `webhook-signature` entry, `v1,<base64>`, for the given message.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = digest(key, id, &timestamp.to_string(), body);
    format!("{VERSION},{}", STANDARD.encode(tag))
}

/// Decoded `v1` signatures of a `webhook-signature` header; entries of other
/// versions and entries that are not base64 are skipped.
fn v1_signatures(header: &str) -> Vec<Vec<u8>> {
    header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, sig)| *version == VERSION && sig.len() <= MAX_SIGNATURE_B64_LEN)
        .filter_map(|(_, sig)| LENIENT_B64.decode(sig).ok())
        .collect()
}

/// The three headers as received; `None` or blank means not sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

impl<'a> Headers<'a> {
    /// Reads the three `webhook-*` headers from a request.
    pub fn from_source(source: &'a dyn HeaderSource) -> Self {
        Self {
            id: source.header(HEADER_ID),
            timestamp: source.header(HEADER_TIMESTAMP),
            signature: source.header(HEADER_SIGNATURE),
        }
    }
}

/// Checks a Standard Webhooks request against every secret.
///
/// The signature is checked before the timestamp, so
/// [`VerifyError::TimestampOutOfTolerance`] is only ever said about a
/// message that really came from a holder of the secret.
pub fn verify(
    headers: Headers<'_>,
    body: &[u8],
    secrets: &[SecretString],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let (Some(id), Some(timestamp), Some(sig_header)) = (
        present(headers.id),
        present(headers.timestamp),
        present(headers.signature),
    ) else {
        return Err(VerifyError::MissingSignature);
    };
    let signed_at: i64 = timestamp.parse().map_err(|_| VerifyError::InvalidSignature)?;
    let candidates = v1_signatures(sig_header);
    let matches = secrets.iter().any(|secret| {
        let key = key_from_secret(secret.expose_secret());
        if super::signs_for_anyone(&key) {
            return false;
        }
        let expected = digest(&key, id, timestamp, body);
        candidates.iter().any(|c| bool::from(c.as_slice().ct_eq(&expected)))
    });
    if !matches {
        return Err(VerifyError::InvalidSignature);
    }
    // `abs_diff` cannot overflow, whatever the two values are.
    let allowed = u64::try_from(tolerance_secs).unwrap_or(0);
    if now_unix.abs_diff(signed_at) > allowed {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SPEC_TS: i64 = 1649367553;
    const SPEC_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SPEC_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from(s.to_string())).collect()
    }

    fn check(secret: &str, ts: &str, sig: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let headers = Headers {
            id: Some(SPEC_ID),
            timestamp: Some(ts),
            signature: Some(sig),
        };
        verify(headers, body, &secrets(&[secret]), now, DEFAULT_TOLERANCE_SECS)
    }

    fn signed_at(secret: &str, ts: i64, body: &[u8]) -> String {
        signature(&key_from_secret(secret), SPEC_ID, ts, body)
    }

    #[test]
    fn the_spec_test_vector_verifies() {
        assert_eq!(
            check(SPEC_SECRET, "1649367553", SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
            Ok(())
        );
    }

    #[test]
    fn the_signature_function_reproduces_the_spec_test_vector() {
        assert_eq!(signed_at(SPEC_SECRET, SPEC_TS, SPEC_BODY), SPEC_SIGNATURE);
    }

    #[test]
    fn a_secret_without_the_whsec_prefix_is_used_as_raw_bytes() {
        assert_eq!(key_from_secret("plain"), b"plain".to_vec());
        let sig = signed_at("plain", SPEC_TS, SPEC_BODY);
        assert_eq!(check("plain", "1649367553", &sig, SPEC_BODY, SPEC_TS), Ok(()));
    }

    #[test]
    fn a_tampered_body_is_an_invalid_signature() {
        let result = check(SPEC_SECRET, "1649367553", SPEC_SIGNATURE, b"{}", SPEC_TS);
        assert_eq!(result, Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn stale_and_future_timestamps_are_out_of_tolerance() {
        for ts in [SPEC_TS - 301, SPEC_TS + 301, 0, i64::MIN, i64::MAX] {
            let sig = signed_at(SPEC_SECRET, ts, SPEC_BODY);
            let result = check(SPEC_SECRET, &ts.to_string(), &sig, SPEC_BODY, SPEC_TS);
            assert_eq!(result, Err(VerifyError::TimestampOutOfTolerance), "ts {ts}");
        }
    }

    #[test]
    fn timestamps_at_the_edge_of_the_tolerance_are_accepted() {
        for ts in [SPEC_TS - 300, SPEC_TS + 300] {
            let sig = signed_at(SPEC_SECRET, ts, SPEC_BODY);
            assert_eq!(check(SPEC_SECRET, &ts.to_string(), &sig, SPEC_BODY, SPEC_TS), Ok(()));
        }
    }

    #[test]
    fn a_stale_timestamp_with_a_forged_signature_is_an_invalid_signature() {
        let result = check(SPEC_SECRET, "1", SPEC_SIGNATURE, SPEC_BODY, SPEC_TS);
        assert_eq!(result, Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn a_non_integer_timestamp_is_an_invalid_signature() {
        for ts in ["soon", "1649367553.0", "1e9", "99999999999999999999999"] {
            let result = check(SPEC_SECRET, ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS);
            assert_eq!(result, Err(VerifyError::InvalidSignature), "ts {ts}");
        }
    }

    #[test]
    fn partially_present_headers_are_a_missing_signature() {
        let full = Headers {
            id: Some(SPEC_ID),
            timestamp: Some("1649367553"),
            signature: Some(SPEC_SIGNATURE),
        };
        let partial = [
            Headers { id: None, ..full },
            Headers {
                timestamp: None,
                ..full
            },
            Headers {
                signature: None,
                ..full
            },
            Headers {
                signature: Some(" "),
                ..full
            },
            Headers::default(),
        ];
        for headers in partial {
            let result = verify(
                headers,
                SPEC_BODY,
                &secrets(&[SPEC_SECRET]),
                SPEC_TS,
                DEFAULT_TOLERANCE_SECS,
            );
            assert_eq!(result, Err(VerifyError::MissingSignature), "{headers:?}");
        }
    }

    #[test]
    fn other_versions_are_ignored_and_any_v1_entry_may_match() {
        let other_version = SPEC_SIGNATURE.replace("v1,", "v1a,");
        let result = check(SPEC_SECRET, "1649367553", &other_version, SPEC_BODY, SPEC_TS);
        assert_eq!(result, Err(VerifyError::InvalidSignature));
        let list = format!("{other_version} v1,AAAA v1,not-base64! {SPEC_SIGNATURE}");
        assert_eq!(check(SPEC_SECRET, "1649367553", &list, SPEC_BODY, SPEC_TS), Ok(()));
    }

    #[test]
    fn garbled_signature_headers_are_invalid_and_never_panic() {
        let long = "v1,".repeat(10_000);
        for sig in ["v1", "v1,", ",", "v1,é", "é,é", "v1,%%%%", &long] {
            let result = check(SPEC_SECRET, "1649367553", sig, SPEC_BODY, SPEC_TS);
            assert_eq!(result, Err(VerifyError::InvalidSignature), "{sig}");
        }
    }

    #[test]
    fn any_configured_secret_may_match_during_rotation() {
        let headers = Headers {
            id: Some(SPEC_ID),
            timestamp: Some("1649367553"),
            signature: Some(SPEC_SIGNATURE),
        };
        let keys = secrets(&["whsec_bmV3IHNlY3JldA==", SPEC_SECRET]);
        assert_eq!(
            verify(headers, SPEC_BODY, &keys, SPEC_TS, DEFAULT_TOLERANCE_SECS),
            Ok(())
        );
    }

    #[test]
    fn an_empty_key_matches_nothing() {
        let sig = signed_at("whsec_", SPEC_TS, SPEC_BODY);
        let result = check("whsec_", "1649367553", &sig, SPEC_BODY, SPEC_TS);
        assert_eq!(result, Err(VerifyError::InvalidSignature));
    }
}

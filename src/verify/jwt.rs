//! `frontegg-jwt`: what Frontegg really sends.
//!
//! The `x-webhook-secret` header holds a JWT signed (HS256/384/512) with the
//! shared secret's UTF-8 bytes. The token does not cover the body; it only
//! proves the sender holds the secret, and `exp`/`nbf` bound its lifetime.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{present, VerifyError};

/// Header read by default when none is configured.
pub const DEFAULT_HEADER: &str = "x-webhook-secret";

/// Default clock skew allowed when checking `exp` and `nbf`.
pub const JWT_LEEWAY_SECS: i64 = 30;

/// Lifetime (`exp - iat`) of the tokens [`token`] makes.
pub const SIGNED_TOKEN_LIFETIME_SECS: i64 = 300;

/// The only algorithms accepted. A shared secret only makes sense with HMAC;
/// accepting `none` or an asymmetric alg would invite alg-confusion forgeries.
pub const ALLOWED_ALGORITHMS: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

/// An HS256 JWT with claims `{"iat": now, "exp": now + 300}` signed with `secret`.
///
/// # Errors
/// Only if `jsonwebtoken` fails to sign, which it does not for HMAC keys.
pub fn token(secret: &str, now_unix: i64) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = serde_json::json!({
        "iat": now_unix,
        "exp": now_unix.saturating_add(SIGNED_TOKEN_LIFETIME_SECS),
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// A NumericDate claim as whole seconds. Non-integer and out-of-range numbers
/// are floored and clamped rather than rejected (`as` saturates, never panics).
fn numeric_date(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64)),
        _ => None,
    }
}

/// Checks `exp` and `nbf`, only when present, against `now` with `leeway`.
///
/// A present claim that is not a number is a malformed token, so it is an
/// invalid signature rather than a timing problem.
pub fn check_times(claims: &Value, now_unix: i64, leeway_secs: i64) -> Result<(), VerifyError> {
    let leeway = leeway_secs.max(0);
    let claim = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(v) => numeric_date(v).map(Some).ok_or(VerifyError::InvalidSignature),
    };
    if let Some(exp) = claim("exp")? {
        if now_unix > exp.saturating_add(leeway) {
            return Err(VerifyError::TimestampOutOfTolerance);
        }
    }
    if let Some(nbf) = claim("nbf")? {
        if nbf.saturating_sub(leeway) > now_unix {
            return Err(VerifyError::TimestampOutOfTolerance);
        }
    }
    Ok(())
}

/// Checks a JWT header value against every secret.
///
/// The signature is checked first (by `jsonwebtoken`, pinned to the alg the
/// token names, which must be one of [`ALLOWED_ALGORITHMS`]); the times are
/// checked here against the caller's `now` so tests and replays are exact.
pub fn verify(
    value: Option<&str>,
    secrets: &[SecretString],
    now_unix: i64,
    leeway_secs: i64,
) -> Result<(), VerifyError> {
    let token = present(value).ok_or(VerifyError::MissingSignature)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::InvalidSignature)?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(VerifyError::InvalidSignature);
    }
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = secrets.iter().find_map(|secret| {
        let key = secret.expose_secret().as_bytes();
        if super::signs_for_anyone(key) {
            return None;
        }
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(key), &validation).ok()
    });
    match claims {
        Some(data) => check_times(&data.claims, now_unix, leeway_secs),
        None => Err(VerifyError::InvalidSignature),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::json;

    const SECRET: &str = "frontegg shared secret";
    const NOW: i64 = 1_700_000_000;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter().map(|s| SecretString::from(s.to_string())).collect()
    }

    fn check(token: &str) -> Result<(), VerifyError> {
        verify(Some(token), &secrets(&[SECRET]), NOW, JWT_LEEWAY_SECS)
    }

    fn encode(alg: Algorithm, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
    }

    /// A token built by hand, so it can claim any alg with any signature.
    fn hand_built(header: &Value, claims: &Value, signature: &[u8]) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.{}",
            part(header),
            part(claims),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn a_token_from_the_signing_helper_verifies() {
        assert_eq!(check(&token(SECRET, NOW).unwrap()), Ok(()));
    }

    #[test]
    fn hs384_and_hs512_tokens_are_accepted() {
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            assert_eq!(check(&encode(alg, &json!({"sub": "tenant"}))), Ok(()), "{alg:?}");
        }
    }

    #[test]
    fn a_token_without_any_claims_is_accepted() {
        assert_eq!(check(&encode(Algorithm::HS256, &json!({}))), Ok(()));
    }

    #[test]
    fn an_alg_none_token_is_an_invalid_signature() {
        let claims = json!({"iat": NOW, "exp": NOW + 300});
        let unsigned = hand_built(&json!({"alg": "none", "typ": "JWT"}), &claims, b"");
        assert!(unsigned.ends_with('.'));
        assert_eq!(check(&unsigned), Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn asymmetric_algs_are_invalid_signatures() {
        let claims = json!({"iat": NOW});
        for alg in ["RS256", "RS512", "ES256", "PS256", "EdDSA"] {
            let forged = hand_built(&json!({"alg": alg, "typ": "JWT"}), &claims, &[7_u8; 256]);
            assert_eq!(check(&forged), Err(VerifyError::InvalidSignature), "{alg}");
        }
    }

    #[test]
    fn an_expired_token_is_out_of_tolerance() {
        let expired = encode(Algorithm::HS256, &json!({"exp": NOW - JWT_LEEWAY_SECS - 1}));
        assert_eq!(check(&expired), Err(VerifyError::TimestampOutOfTolerance));
    }

    #[test]
    fn a_token_expired_within_the_leeway_is_accepted() {
        assert_eq!(
            check(&encode(Algorithm::HS256, &json!({"exp": NOW - JWT_LEEWAY_SECS}))),
            Ok(())
        );
    }

    #[test]
    fn a_future_nbf_is_out_of_tolerance_beyond_the_leeway() {
        let early = encode(Algorithm::HS256, &json!({"nbf": NOW + JWT_LEEWAY_SECS + 1}));
        assert_eq!(check(&early), Err(VerifyError::TimestampOutOfTolerance));
        assert_eq!(
            check(&encode(Algorithm::HS256, &json!({"nbf": NOW + JWT_LEEWAY_SECS}))),
            Ok(())
        );
    }

    #[test]
    fn an_expired_token_with_a_wrong_secret_is_an_invalid_signature() {
        let expired = encode(Algorithm::HS256, &json!({"exp": 1}));
        assert_eq!(
            verify(Some(&expired), &secrets(&["other"]), NOW, 30),
            Err(VerifyError::InvalidSignature)
        );
    }

    #[test]
    fn any_configured_secret_may_match_during_rotation() {
        let old = token("old", NOW).unwrap();
        assert_eq!(verify(Some(&old), &secrets(&["new", "old"]), NOW, 30), Ok(()));
        assert_eq!(
            verify(Some(&old), &secrets(&["new"]), NOW, 30),
            Err(VerifyError::InvalidSignature)
        );
    }

    #[test]
    fn tampered_claims_are_an_invalid_signature() {
        let genuine = encode(Algorithm::HS256, &json!({"sub": "a"}));
        let mut parts: Vec<String> = genuine.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": "b"}).to_string());
        assert_eq!(check(&parts.join(".")), Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn odd_claim_values_never_panic() {
        for exp in [
            json!(1e300),
            json!(-1e300),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5e9),
        ] {
            let result = check(&encode(Algorithm::HS256, &json!({"exp": exp, "nbf": exp})));
            assert!(
                result.is_ok() || result == Err(VerifyError::TimestampOutOfTolerance),
                "{exp}"
            );
        }
        let malformed = encode(Algorithm::HS256, &json!({"exp": "tomorrow"}));
        assert_eq!(check(&malformed), Err(VerifyError::InvalidSignature));
    }

    #[test]
    fn garbled_tokens_are_invalid_signatures_and_missing_ones_are_missing() {
        let long = "a.".repeat(50_000);
        for value in ["not-a-jwt", "a.b.c", "..", "é.é.é", "e30.e30.", &long] {
            assert_eq!(check(value), Err(VerifyError::InvalidSignature), "{value}");
        }
        assert_eq!(
            verify(None, &secrets(&[SECRET]), NOW, 30),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(
            verify(Some(" "), &secrets(&[SECRET]), NOW, 30),
            Err(VerifyError::MissingSignature)
        );
    }
}

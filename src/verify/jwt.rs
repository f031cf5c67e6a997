//! `frontegg-jwt`: what Frontegg really sends.
//!
//! The `x-webhook-secret` header holds a JWT signed (HS256/384/512) with the shared secret's
//! UTF-8 bytes. The token does not cover the body; it proves the sender holds the secret, so
//! its lifetime is kept short: `iat` no older than the maximum age, `exp` and `nbf` honoured,
//! and a token with neither `iat` nor `exp` refused unless configured otherwise. Claims that
//! describe the request (event key, tenant, body digest) are returned, to be checked against
//! the body once it is parsed.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{present, VerifyError};

/// Header read by default when none is configured.
pub const DEFAULT_HEADER: &str = "x-webhook-secret";

/// Default clock skew allowed when checking `exp`, `nbf` and `iat`.
pub const JWT_LEEWAY_SECS: i64 = 30;

/// Default oldest accepted `iat`: five minutes, Standard Webhooks' tolerance.
pub const DEFAULT_MAX_AGE_SECS: i64 = 300;

/// Lifetime (`exp - iat`) of the tokens [`token`] makes.
pub const SIGNED_TOKEN_LIFETIME_SECS: i64 = 300;

/// The only algorithms accepted. A shared secret only makes sense with HMAC;
/// accepting `none` or an asymmetric alg would invite alg-confusion forgeries.
pub const ALLOWED_ALGORITHMS: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

/// How long a token may be used.
#[derive(Debug, Clone, Copy)]
pub struct TimeRules {
    /// Clock skew allowed on every time claim.
    pub leeway_secs: i64,
    /// Oldest accepted `iat`; furthest accepted `exp` of a token without `iat`.
    pub max_age_secs: i64,
    /// Accept a token with neither `iat` nor `exp`.
    pub allow_untimed: bool,
}

impl Default for TimeRules {
    fn default() -> Self {
        Self {
            leeway_secs: JWT_LEEWAY_SECS,
            max_age_secs: DEFAULT_MAX_AGE_SECS,
            allow_untimed: false,
        }
    }
}

/// A token that verified: its id, until when it may be used, and what it says about the
/// request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedToken {
    /// SHA-256 of the token's `jti` claim, when it has one: an id the sender promises is unique
    /// (RFC 7519 §4.1.7), so a token with one is single-use. Tokens without one may be identical
    /// for different requests (a token of `{"iat": …}` only is the same for every request sent
    /// within one second), so nothing can be bound to them.
    pub id: Option<[u8; 32]>,
    /// The last second (Unix) at which the token is still accepted.
    pub usable_until: i64,
    pub claims: RequestClaims,
}

/// Claims that describe the request the token was made for, when the sender adds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestClaims {
    /// `eventKey` (or `event_key`): the event's name.
    pub event_key: Option<String>,
    /// `tenantId` (or `tenant_id`).
    pub tenant_id: Option<String>,
    /// `bodySha256` (or `body_sha256`): the hex SHA-256 of the body.
    pub body_sha256: Option<String>,
}

impl RequestClaims {
    fn from_claims(claims: &Value) -> Self {
        let text = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|name| claims.get(*name).and_then(Value::as_str))
                .map(str::to_owned)
        };
        Self {
            event_key: text(["eventKey", "event_key"]),
            tenant_id: text(["tenantId", "tenant_id"]),
            body_sha256: text(["bodySha256", "body_sha256"]),
        }
    }

    /// Checks each claim present against the request: the event name and tenant as parsed, and
    /// the body's hex SHA-256. Names the first claim that disagrees.
    pub fn check(&self, event_type: &str, tenant_id: Option<&str>, body_sha256: &str) -> Result<(), VerifyError> {
        if self.event_key.as_deref().is_some_and(|key| key != event_type) {
            return Err(VerifyError::ClaimMismatch("eventKey"));
        }
        if self.tenant_id.is_some() && self.tenant_id.as_deref() != tenant_id {
            return Err(VerifyError::ClaimMismatch("tenantId"));
        }
        if self
            .body_sha256
            .as_deref()
            .is_some_and(|digest| !digest.eq_ignore_ascii_case(body_sha256))
        {
            return Err(VerifyError::ClaimMismatch("bodySha256"));
        }
        Ok(())
    }
}

/// An HS256 JWT for one request, signed with `secret`: `iat` now, `exp` five minutes later, a
/// random `jti` (single-use) and `bodySha256`, the body's digest, so that the token is worth
/// nothing with another body.
///
/// # Errors
/// Only if `jsonwebtoken` fails to sign, which it does not for HMAC keys.
pub fn token(secret: &str, now_unix: i64, body: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = serde_json::json!({
        "iat": now_unix,
        "exp": now_unix.saturating_add(SIGNED_TOKEN_LIFETIME_SECS),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "bodySha256": hex::encode(Sha256::digest(body)),
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

/// Checks the time claims against `now` and returns the last second the token is usable.
///
/// - `exp` and `nbf`, when present, with the leeway;
/// - `iat`, when present: not in the future beyond the leeway, not older than the maximum age;
/// - a token without `iat` but with `exp`: `exp` no further ahead than the maximum age, so the
///   sender cannot make a token usable for longer than a fresh one;
/// - neither `iat` nor `exp`: refused as [`VerifyError::UntimedToken`] unless allowed, and then
///   usable for the maximum age from now.
///
/// A present claim that is not a number is a malformed token, so it is an invalid signature
/// rather than a timing problem.
pub fn check_times(claims: &Value, now_unix: i64, rules: &TimeRules) -> Result<i64, VerifyError> {
    let leeway = rules.leeway_secs.max(0);
    let max_age = rules.max_age_secs.max(0);
    let claim = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(v) => numeric_date(v).map(Some).ok_or(VerifyError::InvalidSignature),
    };
    let (exp, nbf, iat) = (claim("exp")?, claim("nbf")?, claim("iat")?);
    let late = |limit: i64| now_unix > limit.saturating_add(leeway);
    let early = |start: i64| start.saturating_sub(leeway) > now_unix;
    if exp.is_some_and(late) || nbf.is_some_and(early) {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    let horizon = match (iat, exp) {
        (Some(iat), _) => {
            if early(iat) || late(iat.saturating_add(max_age)) {
                return Err(VerifyError::TimestampOutOfTolerance);
            }
            iat.saturating_add(max_age)
        }
        (None, Some(exp)) => {
            if exp.saturating_sub(leeway) > now_unix.saturating_add(max_age) {
                return Err(VerifyError::TimestampOutOfTolerance);
            }
            exp
        }
        (None, None) if rules.allow_untimed => now_unix.saturating_add(max_age),
        (None, None) => return Err(VerifyError::UntimedToken),
    };
    let until = exp.map_or(horizon, |exp| exp.min(horizon));
    Ok(until.saturating_add(leeway))
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
    rules: &TimeRules,
) -> Result<AcceptedToken, VerifyError> {
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
    let Some(data) = claims else {
        return Err(VerifyError::InvalidSignature);
    };
    let usable_until = check_times(&data.claims, now_unix, rules)?;
    let id = data
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .map(|jti| Sha256::digest(jti.as_bytes()).into());
    Ok(AcceptedToken {
        id,
        usable_until,
        claims: RequestClaims::from_claims(&data.claims),
    })
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
        verify(Some(token), &secrets(&[SECRET]), NOW, &TimeRules::default()).map(|_| ())
    }

    fn rules(leeway_secs: i64) -> TimeRules {
        TimeRules {
            leeway_secs,
            ..TimeRules::default()
        }
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
        assert_eq!(check(&token(SECRET, NOW, b"{}").unwrap()), Ok(()));
    }

    #[test]
    fn hs384_and_hs512_tokens_are_accepted() {
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            assert_eq!(
                check(&encode(alg, &json!({"sub": "tenant", "iat": NOW}))),
                Ok(()),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn a_token_without_iat_or_exp_is_refused_unless_allowed() {
        // Found attacking the release binary: `{}` claims made a token valid forever.
        let untimed = encode(Algorithm::HS256, &json!({}));
        assert_eq!(check(&untimed), Err(VerifyError::UntimedToken));
        let with_nbf_only = encode(Algorithm::HS256, &json!({"nbf": NOW - 10}));
        assert_eq!(check(&with_nbf_only), Err(VerifyError::UntimedToken));
        let allowed = TimeRules {
            allow_untimed: true,
            ..TimeRules::default()
        };
        let token = verify(Some(&untimed), &secrets(&[SECRET]), NOW, &allowed).unwrap();
        assert_eq!(token.usable_until, NOW + DEFAULT_MAX_AGE_SECS + JWT_LEEWAY_SECS);
        assert!(VerifyError::UntimedToken
            .to_string()
            .contains("sources.frontegg.jwt_allow_untimed_tokens"));
    }

    #[test]
    fn a_token_issued_long_ago_is_out_of_tolerance_whatever_its_exp() {
        // Found attacking the release binary: a token issued ten years ago still passed.
        let ten_years = 10 * 365 * 86_400;
        for claims in [
            json!({"iat": NOW - ten_years}),
            json!({"iat": NOW - ten_years, "exp": 253_402_300_799_i64}),
            json!({"iat": NOW - DEFAULT_MAX_AGE_SECS - JWT_LEEWAY_SECS - 1}),
        ] {
            assert_eq!(
                check(&encode(Algorithm::HS256, &claims)),
                Err(VerifyError::TimestampOutOfTolerance),
                "{claims}"
            );
        }
        let oldest = json!({"iat": NOW - DEFAULT_MAX_AGE_SECS - JWT_LEEWAY_SECS});
        assert_eq!(check(&encode(Algorithm::HS256, &oldest)), Ok(()));
    }

    #[test]
    fn a_token_issued_in_the_future_is_out_of_tolerance_beyond_the_leeway() {
        let future = encode(Algorithm::HS256, &json!({"iat": NOW + JWT_LEEWAY_SECS + 1}));
        assert_eq!(check(&future), Err(VerifyError::TimestampOutOfTolerance));
        let skewed = encode(Algorithm::HS256, &json!({"iat": NOW + JWT_LEEWAY_SECS}));
        assert_eq!(check(&skewed), Ok(()));
    }

    #[test]
    fn a_token_with_only_an_exp_far_ahead_is_out_of_tolerance() {
        // Found attacking the release binary: a token expiring in 9999 passed.
        let forever = encode(Algorithm::HS256, &json!({"exp": 253_402_300_799_i64}));
        assert_eq!(check(&forever), Err(VerifyError::TimestampOutOfTolerance));
        let soon = json!({"exp": NOW + DEFAULT_MAX_AGE_SECS});
        let token = verify(
            Some(&encode(Algorithm::HS256, &soon)),
            &secrets(&[SECRET]),
            NOW,
            &TimeRules::default(),
        )
        .unwrap();
        assert_eq!(token.usable_until, NOW + DEFAULT_MAX_AGE_SECS + JWT_LEEWAY_SECS);
    }

    #[test]
    fn a_token_is_usable_until_the_earlier_of_its_exp_and_its_maximum_age() {
        let verified = |claims: Value| {
            verify(
                Some(&encode(Algorithm::HS256, &claims)),
                &secrets(&[SECRET]),
                NOW,
                &TimeRules::default(),
            )
            .unwrap()
        };
        assert_eq!(
            verified(json!({"iat": NOW, "exp": NOW + 60})).usable_until,
            NOW + 60 + JWT_LEEWAY_SECS
        );
        assert_eq!(
            verified(json!({"iat": NOW, "exp": NOW + 86_400})).usable_until,
            NOW + DEFAULT_MAX_AGE_SECS + JWT_LEEWAY_SECS
        );
        assert_eq!(verified(json!({"iat": NOW})).id, None, "no jti, no id");
        let a = verified(json!({"iat": NOW, "jti": "one"}));
        let b = verified(json!({"iat": NOW, "jti": "other"}));
        assert!(a.id.is_some() && a.id != b.id);
    }

    #[test]
    fn the_signing_helper_makes_single_use_tokens_bound_to_their_body() {
        let body = br#"{"eventKey":"frontegg.tenant.created"}"#;
        let accepted = |t: &str| verify(Some(t), &secrets(&[SECRET]), NOW, &TimeRules::default()).unwrap();
        let (a, b) = (
            accepted(&token(SECRET, NOW, body).unwrap()),
            accepted(&token(SECRET, NOW, body).unwrap()),
        );
        assert!(a.id.is_some() && a.id != b.id, "two tokens of one second differ");
        let digest = hex::encode(Sha256::digest(body));
        assert_eq!(a.claims.body_sha256.as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn claims_describing_the_request_are_returned_and_checked() {
        let digest = "ab".repeat(32);
        let token = verify(
            Some(&encode(
                Algorithm::HS256,
                &json!({"iat": NOW, "eventKey": "frontegg.tenant.created", "tenantId": "t1", "bodySha256": digest}),
            )),
            &secrets(&[SECRET]),
            NOW,
            &TimeRules::default(),
        )
        .unwrap();
        let claims = &token.claims;
        assert_eq!(claims.check("frontegg.tenant.created", Some("t1"), &digest), Ok(()));
        assert_eq!(
            claims.check("frontegg.tenant.deleted", Some("t1"), &digest),
            Err(VerifyError::ClaimMismatch("eventKey"))
        );
        assert_eq!(
            claims.check("frontegg.tenant.created", Some("t2"), &digest),
            Err(VerifyError::ClaimMismatch("tenantId"))
        );
        assert_eq!(
            claims.check("frontegg.tenant.created", Some("t1"), &"cd".repeat(32)),
            Err(VerifyError::ClaimMismatch("bodySha256"))
        );
        assert_eq!(RequestClaims::default().check("anything", None, "x"), Ok(()));
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
        let expired = encode(
            Algorithm::HS256,
            &json!({"iat": NOW - 60, "exp": NOW - JWT_LEEWAY_SECS - 1}),
        );
        assert_eq!(check(&expired), Err(VerifyError::TimestampOutOfTolerance));
    }

    #[test]
    fn a_token_expired_within_the_leeway_is_accepted() {
        assert_eq!(
            check(&encode(
                Algorithm::HS256,
                &json!({"iat": NOW - 60, "exp": NOW - JWT_LEEWAY_SECS})
            )),
            Ok(())
        );
    }

    #[test]
    fn a_future_nbf_is_out_of_tolerance_beyond_the_leeway() {
        let early = encode(Algorithm::HS256, &json!({"iat": NOW, "nbf": NOW + JWT_LEEWAY_SECS + 1}));
        assert_eq!(check(&early), Err(VerifyError::TimestampOutOfTolerance));
        assert_eq!(
            check(&encode(
                Algorithm::HS256,
                &json!({"iat": NOW, "nbf": NOW + JWT_LEEWAY_SECS})
            )),
            Ok(())
        );
    }

    #[test]
    fn an_expired_token_with_a_wrong_secret_is_an_invalid_signature() {
        let expired = encode(Algorithm::HS256, &json!({"exp": 1}));
        assert_eq!(
            verify(Some(&expired), &secrets(&["other"]), NOW, &rules(30)).map(|_| ()),
            Err(VerifyError::InvalidSignature)
        );
    }

    #[test]
    fn any_configured_secret_may_match_during_rotation() {
        let old = token("old", NOW, b"{}").unwrap();
        assert!(verify(Some(&old), &secrets(&["new", "old"]), NOW, &rules(30)).is_ok());
        assert_eq!(
            verify(Some(&old), &secrets(&["new"]), NOW, &rules(30)).map(|_| ()),
            Err(VerifyError::InvalidSignature)
        );
    }

    #[test]
    fn tampered_claims_are_an_invalid_signature() {
        let genuine = encode(Algorithm::HS256, &json!({"sub": "a", "iat": NOW}));
        let mut parts: Vec<String> = genuine.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": "b", "iat": NOW}).to_string());
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
            for claims in [
                json!({"exp": exp, "nbf": exp}),
                json!({"iat": exp}),
                json!({"iat": NOW, "exp": exp}),
            ] {
                let result = check(&encode(Algorithm::HS256, &claims));
                assert!(
                    result.is_ok() || result == Err(VerifyError::TimestampOutOfTolerance),
                    "{claims}"
                );
            }
        }
        for malformed in [json!({"exp": "tomorrow"}), json!({"iat": "now"})] {
            assert_eq!(
                check(&encode(Algorithm::HS256, &malformed)),
                Err(VerifyError::InvalidSignature)
            );
        }
    }

    #[test]
    fn garbled_tokens_are_invalid_signatures_and_missing_ones_are_missing() {
        let long = "a.".repeat(50_000);
        for value in ["not-a-jwt", "a.b.c", "..", "é.é.é", "e30.e30.", &long] {
            assert_eq!(check(value), Err(VerifyError::InvalidSignature), "{value}");
        }
        assert_eq!(
            verify(None, &secrets(&[SECRET]), NOW, &rules(30)).map(|_| ()),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(
            verify(Some(" "), &secrets(&[SECRET]), NOW, &rules(30)).map(|_| ()),
            Err(VerifyError::MissingSignature)
        );
    }
}

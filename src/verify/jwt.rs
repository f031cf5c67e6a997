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
#[path = "jwt_tests.rs"]
mod tests;

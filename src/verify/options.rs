//! Header names and tolerances: the defaults, or those of a source's settings.

use super::{hmac_hex, jwt, standard};
use crate::config::SourceSettings;

/// Header names and tolerances.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Header holding the Frontegg JWT; default `x-webhook-secret`.
    pub jwt_header: String,
    /// Header holding the hex HMAC; default `x-webhook-signature`.
    pub hmac_header: String,
    /// Allowed skew of `webhook-timestamp`, both ways; default 300.
    pub tolerance_secs: i64,
    /// Allowed skew when checking JWT `exp`/`nbf`/`iat`; default 30.
    pub jwt_leeway_secs: i64,
    /// Oldest accepted JWT `iat`, and the furthest accepted `exp` of a token without `iat`;
    /// default 300.
    pub jwt_max_age_secs: i64,
    /// Accept a JWT with neither `iat` nor `exp`; default false.
    pub jwt_allow_untimed: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            jwt_header: jwt::DEFAULT_HEADER.to_string(),
            hmac_header: hmac_hex::DEFAULT_HEADER.to_string(),
            tolerance_secs: standard::DEFAULT_TOLERANCE_SECS,
            jwt_leeway_secs: jwt::JWT_LEEWAY_SECS,
            jwt_max_age_secs: jwt::DEFAULT_MAX_AGE_SECS,
            jwt_allow_untimed: false,
        }
    }
}

/// The header names and tolerances of one source's settings, the rest as by default.
impl From<&SourceSettings> for VerifyOptions {
    fn from(source: &SourceSettings) -> Self {
        Self {
            jwt_header: source.jwt_header.to_ascii_lowercase(),
            hmac_header: source.hmac_header.to_ascii_lowercase(),
            tolerance_secs: source.timestamp_tolerance_secs,
            jwt_max_age_secs: source.jwt_max_age_secs,
            jwt_allow_untimed: source.jwt_allow_untimed_tokens,
            ..Self::default()
        }
    }
}

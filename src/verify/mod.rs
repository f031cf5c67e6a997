//! Webhook signature verification: a pure function of (body, headers,
//! configured schemes, secrets, now) to a verdict. No I/O, no clock reads,
//! no logging, so every path is unit-testable and replayable.

mod error;
mod headers;
pub mod hmac_hex;
pub mod jwt;
mod options;
pub mod standard;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

pub use crate::config::{Scheme, UnknownScheme};
pub use error::VerifyError;
use headers::present;
pub use headers::HeaderSource;
pub use options::VerifyOptions;

/// What verified the request, and what its signature covers besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The first configured scheme that accepted the request.
    pub scheme: Scheme,
    /// Standard Webhooks' `webhook-id`, which its signature covers: a delivery's own key.
    pub message_id: Option<String>,
    /// The `frontegg-jwt` token that was accepted.
    pub token: Option<jwt::AcceptedToken>,
}

impl Verified {
    fn by(scheme: Scheme) -> Self {
        Self {
            scheme,
            message_id: None,
            token: None,
        }
    }
}

/// The verifier: built once at start-up, shared by reference.
pub struct Verifier {
    schemes: Vec<Scheme>,
    secrets: Vec<SecretString>,
    options: VerifyOptions,
}

/// Whether an HMAC key would let anyone sign: HMAC pads a short key with zero bytes, so an empty
/// key and a key of zero bytes only are the same key, and anyone can compute with it. Such a key
/// matches nothing.
pub fn signs_for_anyone(key: &[u8]) -> bool {
    key.iter().all(|b| *b == 0)
}

impl Verifier {
    /// Builds a verifier. Duplicate schemes are dropped (order kept), header
    /// names are lower-cased to match [`HeaderSource`], and empty secrets are
    /// dropped because they would let anyone sign (each scheme also refuses a key that
    /// [`signs_for_anyone`]).
    pub fn new(schemes: Vec<Scheme>, secrets: Vec<SecretString>, mut options: VerifyOptions) -> Self {
        let mut unique: Vec<Scheme> = Vec::with_capacity(schemes.len());
        for scheme in schemes {
            if !unique.contains(&scheme) {
                unique.push(scheme);
            }
        }
        let secrets = secrets.into_iter().filter(|s| !s.expose_secret().is_empty()).collect();
        options.jwt_header = options.jwt_header.trim().to_ascii_lowercase();
        options.hmac_header = options.hmac_header.trim().to_ascii_lowercase();
        Self {
            schemes: unique,
            secrets,
            options,
        }
    }

    /// Passes when any configured scheme verifies with any secret.
    ///
    /// Otherwise: [`VerifyError::MissingSignature`] if no scheme found its
    /// headers, else [`VerifyError::TimestampOutOfTolerance`] if any scheme
    /// failed on time, else [`VerifyError::InvalidSignature`].
    pub fn verify(&self, body: &[u8], headers: &dyn HeaderSource, now_unix: i64) -> Result<Verified, VerifyError> {
        let mut reported = VerifyError::MissingSignature;
        for &scheme in &self.schemes {
            match self.verify_scheme(scheme, body, headers, now_unix) {
                Ok(verified) => return Ok(verified),
                Err(e) if e.rank() > reported.rank() => reported = e,
                Err(_) => {}
            }
        }
        Err(reported)
    }

    fn verify_scheme(
        &self,
        scheme: Scheme,
        body: &[u8],
        headers: &dyn HeaderSource,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        let opts = &self.options;
        match scheme {
            Scheme::FronteggJwt => {
                let rules = jwt::TimeRules {
                    leeway_secs: opts.jwt_leeway_secs,
                    max_age_secs: opts.jwt_max_age_secs,
                    allow_untimed: opts.jwt_allow_untimed,
                };
                let token = jwt::verify(headers.header(&opts.jwt_header), &self.secrets, now, &rules)?;
                Ok(Verified {
                    token: Some(token),
                    ..Verified::by(scheme)
                })
            }
            Scheme::HmacSha256 => {
                hmac_hex::verify(headers.header(&opts.hmac_header), body, &self.secrets).map(|()| Verified::by(scheme))
            }
            Scheme::StandardWebhooks => {
                let sent = standard::Headers::from_source(headers);
                standard::verify(sent, body, &self.secrets, now, opts.tolerance_secs)?;
                Ok(Verified {
                    message_id: present(sent.id).map(str::to_owned),
                    ..Verified::by(scheme)
                })
            }
        }
    }

    /// The configured schemes, in the order they are tried.
    pub fn schemes(&self) -> &[Scheme] {
        &self.schemes
    }
}

/// Shows the schemes and how many secrets there are, never the secrets.
impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("schemes", &self.schemes)
            .field("secrets", &self.secrets.len())
            .field("options", &self.options)
            .finish()
    }
}

/// Signing helper for the CLI (`tenantgate sign`/`replay`) and tests: the
/// headers (name, value) to send for `scheme` signed with `secret`.
///
/// `msg_id` is only used by standard-webhooks. Header names are lower case.
/// Signing a JWT cannot fail for an HMAC key; if `jsonwebtoken` ever did fail,
/// the list is empty, which the verifier refuses as a missing signature.
pub fn sign(
    scheme: Scheme,
    secret: &str,
    body: &[u8],
    now_unix: i64,
    msg_id: &str,
    options: &VerifyOptions,
) -> Vec<(String, String)> {
    match scheme {
        Scheme::FronteggJwt => jwt::token(secret, now_unix, body)
            .map(|token| vec![(options.jwt_header.trim().to_ascii_lowercase(), token)])
            .unwrap_or_default(),
        Scheme::HmacSha256 => vec![(
            options.hmac_header.trim().to_ascii_lowercase(),
            hmac_hex::header_value(secret.as_bytes(), body),
        )],
        Scheme::StandardWebhooks => {
            let key = standard::key_from_secret(secret);
            vec![
                (standard::HEADER_ID.to_string(), msg_id.to_string()),
                (standard::HEADER_TIMESTAMP.to_string(), now_unix.to_string()),
                (
                    standard::HEADER_SIGNATURE.to_string(),
                    standard::signature(&key, msg_id, now_unix, body),
                ),
            ]
        }
    }
}

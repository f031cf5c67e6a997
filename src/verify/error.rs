//! Why a request was refused: one variant per reason, each with a stable API code.

/// Why a request was refused. [`VerifyError::code`] gives the stable API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No scheme found its credential headers.
    #[error("no signature header was sent")]
    MissingSignature,
    /// Credentials were sent but match no secret, or are garbled.
    #[error("the signature does not match any configured secret")]
    InvalidSignature,
    /// Authentic, but signed too long ago or too far in the future.
    #[error("the signed timestamp is outside the allowed tolerance")]
    TimestampOutOfTolerance,
    /// An authentic JWT with neither `iat` nor `exp`: it would be valid forever.
    #[error(
        "the token carries neither `iat` nor `exp`, so it would be valid forever; if your sender omits both, set sources.frontegg.jwt_allow_untimed_tokens = true"
    )]
    UntimedToken,
    /// An authentic JWT whose claims describe another request (event key, tenant, body digest).
    #[error("the token's claims describe another request: its `{0}` claim does not match the body")]
    ClaimMismatch(&'static str),
    /// An authentic JWT that already came with another body (found by the receiver, which
    /// remembers tokens; the verifier itself keeps no state).
    #[error("this token already came with another body: each request needs its own token")]
    TokenReused,
}

impl VerifyError {
    /// The stable snake_case code used in API responses.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::InvalidSignature => "invalid_signature",
            VerifyError::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            VerifyError::UntimedToken => "untimed_token",
            VerifyError::ClaimMismatch(_) => "claim_mismatch",
            VerifyError::TokenReused => "token_reused",
        }
    }

    /// Which failure is reported when several schemes fail: one about a credential that is
    /// authentic beats a wrong one, which beats none at all.
    pub(super) fn rank(&self) -> u8 {
        match self {
            VerifyError::MissingSignature => 0,
            VerifyError::InvalidSignature => 1,
            VerifyError::TimestampOutOfTolerance
            | VerifyError::UntimedToken
            | VerifyError::ClaimMismatch(_)
            | VerifyError::TokenReused => 2,
        }
    }
}

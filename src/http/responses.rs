//! The failure answers routes share, for their OpenAPI entries: each route lists these sets
//! plus its own, so that every status a route can answer is in the document with its body.

use utoipa::IntoResponses;

use super::error::ErrorBody;

/// What any signed delivery may be refused with (see `ApiError` for each code).
#[derive(IntoResponses)]
#[allow(dead_code, reason = "only its OpenAPI description is used")]
pub enum Refusals {
    /// `malformed_json`: the body is not a JSON object; `bad_request`: it could not be read.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// `missing_signature`, `invalid_signature`, `timestamp_out_of_tolerance`, `untimed_token`,
    /// `claim_mismatch` or `token_reused`.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `address_not_allowed`: the sender is outside `allowed_ips`.
    #[response(status = 403)]
    AddressNotAllowed(ErrorBody),
    /// `request_timeout`: the body did not arrive within `server.body_read_timeout_ms`.
    #[response(status = 408)]
    RequestTimeout(ErrorBody),
    /// `idempotency_conflict`: the signed `webhook-id` came before with another body.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// `payload_too_large`: the body is larger than `body_limit_bytes`.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// `unsupported_media_type`: a content type other than JSON.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// `missing_field`, `invalid_field` (also an event time too far in the future) or
    /// `event_mismatch` (an alias route given another event).
    #[response(status = 422)]
    Unprocessable(ErrorBody),
    /// `internal_error`: nothing of the cause is shown.
    #[response(status = 500)]
    Internal(ErrorBody),
    /// `database_unavailable`, with `Retry-After`: send again later.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// What any admin route may answer besides its own results: a token missing or wrong, the
/// database out of reach, or an internal error.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "only its OpenAPI description is used")]
pub enum AdminFailures {
    /// `unauthorized`: no bearer token, or not a configured one (with `WWW-Authenticate: Bearer`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `internal_error`: nothing of the cause is shown.
    #[response(status = 500)]
    Internal(ErrorBody),
    /// `database_unavailable`, with `Retry-After`.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

//! The one place where failures become HTTP statuses, all in the envelope
//! `{"error": code, "message": text}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::StoreError;
use crate::events::NormalizeError;
use crate::ingest::IngestError;
use crate::verify::VerifyError;

/// Seconds a sender should wait before retrying when the database is unavailable.
const RETRY_AFTER_SECS: u32 = 5;

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `invalid_signature`.
    pub error: &'static str,
    pub message: String,
}

/// Every failure an HTTP caller can see.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error(transparent)]
    Unauthorized(VerifyError),
    #[error("requests from this address are not allowed")]
    AddressNotAllowed,
    #[error("no route for {method} {path}")]
    NotFound { method: String, path: String },
    /// A resource named in the path does not exist (a subscription, a delivery).
    #[error("{0}")]
    Missing(String),
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: String },
    #[error("idempotency key already used for a different body (event {event_id}); send a new key for a new event")]
    IdempotencyConflict { event_id: i64 },
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the body must be JSON (Content-Type: application/json), got `{0}`")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("the database is unavailable; retry later")]
    DatabaseUnavailable,
    #[error("{0}")]
    AdminUnauthorized(String),
    /// A valid token whose role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body could not be read: {0}")]
    BodyRead(String),
    #[error("the body did not arrive within {after_ms} ms")]
    BodyTimeout { after_ms: u64 },
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::Unauthorized(e) => e.code(),
            Self::AddressNotAllowed => "address_not_allowed",
            Self::NotFound { .. } | Self::Missing(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::IdempotencyConflict { .. } => "idempotency_conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unprocessable { code, .. } => code,
            Self::DatabaseUnavailable => "database_unavailable",
            Self::BodyRead(_) => "bad_request",
            Self::BodyTimeout { .. } => "request_timeout",
            Self::AdminUnauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::InvalidQuery(_) => "invalid_query",
            Self::Conflict(_) => "conflict",
            Self::Unexpected(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BodyRead(_) | Self::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::AdminUnauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::AddressNotAllowed | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::IdempotencyConflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::DatabaseUnavailable) {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        if matches!(self, Self::AdminUnauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::MethodNotAllowed { allow, .. } = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        response.json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => {
                tracing::warn!(error = %reason, "database unavailable");
                Self::DatabaseUnavailable
            }
            other => {
                tracing::error!(error = %other, "database query failed");
                Self::Unexpected(anyhow::anyhow!(other))
            }
        }
    }
}

impl From<NormalizeError> for ApiError {
    fn from(e: NormalizeError) -> Self {
        match e {
            NormalizeError::MalformedJson(_) => Self::MalformedJson(e.to_string()),
            other => Self::Unprocessable {
                code: other.code(),
                message: other.to_string(),
            },
        }
    }
}

impl ApiError {
    /// The code an ingest failure is answered with, without consuming it (for metrics).
    pub fn from_ref(e: &IngestError) -> &'static str {
        match e {
            IngestError::AddressNotAllowed => "address_not_allowed",
            IngestError::Verify(v) => v.code(),
            IngestError::Normalize(NormalizeError::MalformedJson(_)) => "malformed_json",
            IngestError::Normalize(n) => n.code(),
            IngestError::EventMismatch { .. } => "event_mismatch",
            IngestError::Conflict { .. } => "idempotency_conflict",
            IngestError::Store(StoreError::Unavailable(_)) => "database_unavailable",
            IngestError::Store(_) => "internal_error",
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::AddressNotAllowed => Self::AddressNotAllowed,
            IngestError::Verify(e) => Self::Unauthorized(e),
            IngestError::Normalize(e) => e.into(),
            IngestError::EventMismatch { route, sent } => Self::Unprocessable {
                code: "event_mismatch",
                message: format!("this route takes {route} events, the body is a `{sent}` event"),
            },
            IngestError::Conflict { event_id } => Self::IdempotencyConflict { event_id },
            IngestError::Store(e) => e.into(),
        }
    }
}

/// Turns actix's extractor errors (bad query strings, JSON bodies) into the envelope.
pub fn extractor_error(err: impl std::fmt::Display, status: StatusCode) -> actix_web::Error {
    let body = ErrorBody {
        error: match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            // A path segment of the wrong type names nothing that exists.
            StatusCode::NOT_FOUND => "not_found",
            _ => "bad_request",
        },
        message: err.to_string(),
    };
    actix_web::error::InternalError::from_response(err.to_string(), HttpResponse::build(status).json(body)).into()
}

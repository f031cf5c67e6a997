//! A client for the parts of Frontegg's management API the reconciler reads (reference
//! `reconcile-apis.md` §A): environment authentication at `POST /auth/vendor`, the paged tenant
//! list `GET /tenants/resources/tenants/v2` and one tenant `GET /tenants/resources/tenants/v2/{id}`.
//!
//! - The token is cached and fetched again when 80 % of its `expiresIn` (seconds) has passed, as
//!   Frontegg's own SDKs do; a 401 on a call fetches a new one and sends the call once more.
//! - A 429 is waited out until the moment `X-Rate-Limit-Reset` names (an RFC 3339 time), or for
//!   `Retry-After` seconds, or a minute when neither is sent, then the call is sent again; a wait
//!   longer than the configured limit fails the call.
//! - Errors quote Frontegg's `{"errors": […], "errorCode"}` and its `Frontegg-Trace-Id`, never a
//!   secret or a token.
//!
//! Layout: `transport` sends one request (auth, 401, 429); `auth` holds the token;
//! `rate_limit` reads a 429's headers; `listing` pages the tenant list and checks its counts.

mod auth;
mod listing;
mod rate_limit;
mod transport;

use std::time::Duration;

use serde::Deserialize;

pub use listing::TenantListing;
pub use transport::FronteggClient;

/// A tenant as the list shows it (only what the reconciler reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tenant {
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A call to Frontegg that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frontegg {op}: {message}")]
pub struct FronteggError {
    pub op: &'static str,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Readable reason with Frontegg's messages and trace id. Never a secret.
    pub message: String,
}

impl FronteggError {
    fn new(op: &'static str, status: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            op,
            status,
            message: message.into(),
        }
    }
}

/// How the client is built (from `[reconcile.frontegg]`).
#[derive(Debug, Clone)]
pub struct FronteggConfig {
    pub base_url: String,
    pub client_id: String,
    pub secret: secrecy::SecretString,
    pub page_size: u32,
    pub request_timeout: Duration,
    /// Longest wait for one 429.
    pub max_rate_limit_wait: Duration,
    /// The wait after a 429 that names no reset time (Frontegg's own provider waits a minute).
    pub default_rate_limit_wait: Duration,
}

impl FronteggConfig {
    pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

    pub fn from_settings(settings: &crate::config::FronteggSettings) -> Self {
        Self {
            base_url: settings.base_url.clone(),
            client_id: settings.client_id.clone(),
            secret: settings.secret.clone(),
            page_size: settings.page_size,
            request_timeout: Duration::from_millis(settings.request_timeout_ms),
            max_rate_limit_wait: Duration::from_secs(settings.max_rate_limit_wait_secs),
            default_rate_limit_wait: Self::DEFAULT_RATE_LIMIT_WAIT,
        }
    }
}

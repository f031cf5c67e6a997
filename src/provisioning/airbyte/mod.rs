//! The Airbyte workspace provider: a client for Airbyte's public REST API (`/v1`).
//!
//! Facts and sources: `../shared/reference/frontegg-airbyte.md` §2. In short:
//! - base URL `https://api.airbyte.com/v1` (Cloud) or `http://host:8000/api/public/v1` (self-managed);
//! - auth is a static bearer token, or client credentials exchanged at `POST /applications/token`
//!   (`grant_type`, as the official document requires, and `grant-type`, the property it declares)
//!   for a short-lived token that is cached (`auth`);
//! - every request tenantgate sends is one the official document allows: the unit tests and the
//!   integration suite's fake refuse any other (`tests/conformance.rs`);
//! - errors are RFC 9457 problems, classified once in `errors`;
//! - workspace names are not unique, so [`WorkspaceProvider::create_workspace`] is not idempotent:
//!   callers keep the mapping and look a name up before creating again after an unknown outcome.
//!
//! Layout: `transport` sends one HTTP request (timing, logging, observer, capped body);
//! `client` adds authentication and the single retry after a 401; `ops` implements the
//! provider operations on top, with `models` holding the wire shapes and the paging loop.
//!
//! [`WorkspaceProvider::create_workspace`]: crate::provisioning::provider::WorkspaceProvider::create_workspace

mod auth;
mod client;
mod errors;
mod listing;
mod models;
mod ops;
mod transport;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

pub use client::AirbyteClient;

/// Called after every HTTP call with the operation name (e.g. `"create_workspace"`,
/// `"list_workspaces"`, `"token"`), the HTTP status when there was an answer, and the duration.
/// Meant for metrics; it must be cheap and must not block.
pub type CallObserver = Arc<dyn Fn(&'static str, Option<u16>, Duration) + Send + Sync>;

/// How the client authenticates to Airbyte.
#[derive(Debug, Clone)]
pub enum AirbyteAuth {
    /// A fixed bearer token (e.g. a self-managed instance's long-lived token). A 401 is final.
    BearerToken(SecretString),
    /// An Airbyte application's credentials, exchanged at `POST {base}/applications/token` for a
    /// short-lived bearer token that is cached and refreshed before it expires.
    ClientCredentials {
        /// The application's client id (not a secret, but never logged either).
        client_id: String,
        /// The application's client secret.
        client_secret: SecretString,
    },
}

/// Everything [`AirbyteClient::new`] needs. `Debug` never shows secrets.
#[derive(Debug, Clone)]
pub struct AirbyteConfig {
    /// `https://api.airbyte.com/v1` (Cloud) or `http://host:8000/api/public/v1`; a trailing slash is tolerated.
    pub base_url: String,
    /// Bearer token or client credentials.
    pub auth: AirbyteAuth,
    /// Sent as `organizationId` when creating a workspace, when set (Cloud may need it).
    pub organization_id: Option<String>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Total time allowed per request, body included.
    pub request_timeout: Duration,
    /// Refresh a client-credentials token this long before it expires (never more than half its lifetime).
    pub token_refresh_margin: Duration,
}

impl AirbyteConfig {
    /// Default time allowed to open a connection.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default total time allowed per request.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default margin before a token's expiry at which it is refreshed.
    pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

    /// A configuration with the default timeouts and margin and no organization id.
    pub fn new(base_url: impl Into<String>, auth: AirbyteAuth) -> Self {
        Self {
            base_url: base_url.into(),
            auth,
            organization_id: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            token_refresh_margin: Self::DEFAULT_TOKEN_REFRESH_MARGIN,
        }
    }
}

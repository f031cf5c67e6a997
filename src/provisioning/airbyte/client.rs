//! [`AirbyteClient`]: authenticated calls, with one token refresh and one retry after a 401.

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::Auth;
use super::errors::{not_understood, redact};
use super::transport::{Answer, Transport};
use super::{AirbyteAuth, AirbyteConfig, CallObserver};
use crate::pacing::Gate;
use crate::provisioning::provider::ProviderError;
use crate::provisioning::throttling;

/// A client for Airbyte's public API that implements
/// [`WorkspaceProvider`](crate::provisioning::provider::WorkspaceProvider).
///
/// Cheap to share behind an `Arc`; it holds one connection pool and, with client credentials,
/// one cached token. Its `Debug` output never shows secrets or tokens.
pub struct AirbyteClient {
    pub(super) transport: Transport,
    auth: Auth,
    pub(super) organization_id: Option<String>,
    /// How long one call may wait at the gate after refusals for the rate (with a gate).
    pub(super) max_throttled_wait: Duration,
}

impl AirbyteClient {
    /// Builds the client and its single HTTP connection pool. Fails on an invalid base URL,
    /// empty credentials or zero timeouts; never contacts Airbyte.
    pub fn new(config: AirbyteConfig) -> anyhow::Result<Self> {
        match &config.auth {
            AirbyteAuth::BearerToken(token) if token.expose_secret().trim().is_empty() => {
                bail!("provider.airbyte: the bearer token is empty")
            }
            AirbyteAuth::ClientCredentials {
                client_id,
                client_secret,
            } if client_id.trim().is_empty() || client_secret.expose_secret().is_empty() => {
                bail!("provider.airbyte: client_id and client_secret must both be set")
            }
            _ => {}
        }
        if config.connect_timeout.is_zero() || config.request_timeout.is_zero() {
            bail!("provider.airbyte: connect_timeout and request_timeout must be more than zero");
        }
        let transport = Transport::new(&config).context("provider.airbyte")?;
        Ok(Self {
            transport,
            auth: Auth::new(&config.auth, config.token_refresh_margin),
            organization_id: config.organization_id.filter(|id| !id.trim().is_empty()),
            max_throttled_wait: Duration::ZERO,
        })
    }

    /// Calls `observer` after every HTTP call this client makes (token fetches included).
    pub fn with_observer(mut self, observer: CallObserver) -> Self {
        self.transport.observer = Some(observer);
        self
    }

    /// Paces every call through `gate`; a call refused for the rate is sent again once the gate
    /// lets it, for at most `max_wait` in all, before the refusal is returned.
    pub fn with_gate(mut self, gate: Gate, max_wait: Duration) -> Self {
        self.transport.gate = Some(gate);
        self.max_throttled_wait = max_wait;
        self
    }

    /// One authenticated call to `{base}/{segments…}?{query}`. A 401 with client credentials
    /// invalidates the token and retries once with a fresh one; a second 401 is final. A call
    /// (or token fetch) refused for the rate is sent again through the gate while the time
    /// spent throttled stays under the client's limit: a refusal proves nothing was done, so a
    /// create is sent again as a create. Each refusal waited out is counted for the attempt.
    pub(super) async fn call(
        &self,
        op: &'static str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        self.call_waiting(op, method, segments, query, body, self.max_throttled_wait)
            .await
    }

    /// [`call`](Self::call), waiting out refusals for the rate for at most `patience`.
    pub(super) async fn call_waiting(
        &self,
        op: &'static str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        patience: Duration,
    ) -> Result<Answer, ProviderError> {
        let url = self.transport.url(op, segments, query)?;
        let mut refreshed = false;
        let mut throttled_since: Option<Instant> = None;
        loop {
            let bearer = match self.auth.bearer(&self.transport).await {
                Err(error) if self.wait_out(&error, &mut throttled_since, patience) => continue,
                bearer => bearer?,
            };
            let mut request = self
                .transport
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(bearer.token.expose_secret());
            if let Some(body) = body {
                request = request.json(body);
            }
            match self.transport.send(op, request).await {
                Err(error) if error.status == Some(401) && self.auth.can_refresh() && !refreshed => {
                    tracing::debug!(provider.op = op, "airbyte refused the cached token; fetching a new one");
                    self.auth.invalidate(bearer.generation).await;
                    refreshed = true;
                }
                Err(error) if self.wait_out(&error, &mut throttled_since, patience) => {}
                Err(error) => return Err(redact(error, bearer.token.expose_secret())),
                Ok(answer) => return Ok(answer),
            }
        }
    }

    /// Whether to send a call refused for the rate again: with a gate, until `patience` has
    /// passed since the first refusal of this call. Counts each refusal waited out.
    fn wait_out(&self, error: &ProviderError, since: &mut Option<Instant>, patience: Duration) -> bool {
        if !error.throttled || self.transport.gate.is_none() {
            return false;
        }
        let first = *since.get_or_insert_with(Instant::now);
        if first.elapsed() >= patience {
            return false;
        }
        throttling::waited_out();
        true
    }

    /// [`call`](Self::call), then decodes the 2xx body as `T`.
    pub(super) async fn call_json<T: DeserializeOwned>(
        &self,
        op: &'static str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T, ProviderError> {
        self.call_json_waiting(op, method, segments, query, body, self.max_throttled_wait)
            .await
    }

    /// [`call_json`](Self::call_json), waiting out refusals for the rate for at most `patience`.
    pub(super) async fn call_json_waiting<T: DeserializeOwned>(
        &self,
        op: &'static str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        patience: Duration,
    ) -> Result<T, ProviderError> {
        let answer = self.call_waiting(op, method, segments, query, body, patience).await?;
        serde_json::from_slice(&answer.body).map_err(|error| not_understood(op, answer.status, &error.to_string()))
    }
}

impl fmt::Debug for AirbyteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut base = self.transport.base.clone();
        // Credentials in the URL's user-info are secrets too.
        let _ = base.set_password(None);
        let _ = base.set_username("");
        f.debug_struct("AirbyteClient")
            .field("base_url", &base.as_str())
            .field("auth", &self.auth.kind())
            .field("organization_id", &self.organization_id)
            .field("observer", &self.transport.observer.is_some())
            .finish()
    }
}

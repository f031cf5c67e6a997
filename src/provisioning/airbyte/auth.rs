//! Bearer tokens: a static one, or one obtained with client credentials and cached.
//!
//! `POST {base}/applications/token` with `{"client_id","client_secret","grant_type":"client_credentials"}`
//! (plus the same value as `grant-type`, the spelling of the property the document declares)
//! answers `{"access_token","expires_in","token_type"}` (`PublicAccessTokenResponse`; the lifetime
//! is 3 to 15 minutes depending on the source, so `expires_in` is what counts). The cache sits behind
//! one async mutex held across the fetch, so concurrent callers wait for one fetch instead of
//! stampeding the token endpoint.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::errors::{limit, not_understood, redact};
use super::transport::Transport;
use super::AirbyteAuth;
use crate::provisioning::provider::ProviderError;

/// Assumed lifetime when the answer has no usable `expires_in`: the shortest one documented.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(180);
/// Longest lifetime believed (Airbyte's longest configured one is 24 h).
const MAX_LIFETIME_SECS: f64 = 24.0 * 3600.0;

/// A bearer token and the cache generation it came from, so that exactly that one is invalidated.
pub(super) struct Bearer {
    pub token: SecretString,
    pub generation: u64,
}

/// How requests are authenticated.
pub(super) enum Auth {
    Static(SecretString),
    Client(ClientCredentials),
}

pub(super) struct ClientCredentials {
    client_id: String,
    client_secret: SecretString,
    margin: Duration,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    current: Option<Cached>,
    generation: u64,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
    expires_at: Instant,
    generation: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
}

impl Auth {
    pub fn new(auth: &AirbyteAuth, margin: Duration) -> Self {
        match auth {
            AirbyteAuth::BearerToken(token) => Self::Static(token.clone()),
            AirbyteAuth::ClientCredentials {
                client_id,
                client_secret,
            } => Self::Client(ClientCredentials {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                margin,
                cache: Mutex::new(Cache::default()),
            }),
        }
    }

    /// For `Debug`: which kind of auth, never its secrets.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Static(_) => "bearer-token",
            Self::Client(_) => "client-credentials",
        }
    }

    /// Whether a 401 may be cured by fetching a new token.
    pub fn can_refresh(&self) -> bool {
        matches!(self, Self::Client(_))
    }

    /// The token to send now: the static one, the cached one, or a freshly fetched one.
    pub async fn bearer(&self, transport: &Transport) -> Result<Bearer, ProviderError> {
        match self {
            Self::Static(token) => Ok(Bearer {
                token: token.clone(),
                generation: 0,
            }),
            Self::Client(credentials) => credentials.bearer(transport).await,
        }
    }

    /// Forgets the token of `generation` (after a 401), unless a newer one already replaced it.
    pub async fn invalidate(&self, generation: u64) {
        if let Self::Client(credentials) = self {
            let mut cache = credentials.cache.lock().await;
            if cache
                .current
                .as_ref()
                .is_some_and(|cached| cached.generation == generation)
            {
                cache.current = None;
            }
        }
    }
}

impl ClientCredentials {
    async fn bearer(&self, transport: &Transport) -> Result<Bearer, ProviderError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if let Some(cached) = cache.current.as_ref().filter(|cached| now < cached.refresh_at) {
            return Ok(Bearer {
                token: cached.token.clone(),
                generation: cached.generation,
            });
        }
        let (token, lifetime) = match self.fetch(transport).await {
            Ok(fetched) => fetched,
            Err(error) => {
                // Inside the refresh margin the old token still works: use it while the endpoint recovers.
                return match cache
                    .current
                    .as_ref()
                    .filter(|cached| error.retryable && now < cached.expires_at)
                {
                    Some(cached) => Ok(Bearer {
                        token: cached.token.clone(),
                        generation: cached.generation,
                    }),
                    None => Err(error),
                };
            }
        };
        let margin = self.margin.min(lifetime / 2);
        cache.generation += 1;
        let generation = cache.generation;
        cache.current = Some(Cached {
            token: token.clone(),
            refresh_at: now + lifetime - margin,
            expires_at: now + lifetime,
            generation,
        });
        Ok(Bearer { token, generation })
    }

    async fn fetch(&self, transport: &Transport) -> Result<(SecretString, Duration), ProviderError> {
        const OP: &str = "token";
        let url = transport.url(OP, &["applications", "token"], &[])?;
        // The document requires `grant_type` (as Airbyte's own SDK sends it) while it declares a
        // property spelled `grant-type`, which servers generated from it read: both are sent.
        let body = json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
            "grant_type": "client_credentials",
            "grant-type": "client_credentials",
        });
        let answer = transport
            .send(OP, transport.http.post(url).json(&body))
            .await
            .map_err(|error| redact(refused(error), self.client_secret.expose_secret()))?;
        // The serde message could quote the answer, which holds the token: say only what was expected.
        let parsed: TokenAnswer = serde_json::from_slice(&answer.body)
            .map_err(|_| not_understood(OP, answer.status, "expected {\"access_token\", \"expires_in\"}"))?;
        if parsed.access_token.trim().is_empty() {
            return Err(not_understood(OP, answer.status, "the access_token is empty"));
        }
        Ok((
            SecretString::from(parsed.access_token),
            lifetime(parsed.expires_in.as_ref()),
        ))
    }
}

/// A permanent 4xx from the token endpoint means the credentials themselves were refused.
fn refused(mut error: ProviderError) -> ProviderError {
    if !error.retryable && error.status.is_some_and(|status| (400..500).contains(&status)) {
        error.message = limit(format!("client credentials refused: {}", error.message));
    }
    error
}

/// `expires_in` in seconds, as a number or a numeric string; clamped to `0..=24 h`.
fn lifetime(expires_in: Option<&Value>) -> Duration {
    let seconds = match expires_in {
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    seconds
        .filter(|seconds| seconds.is_finite())
        .map(|seconds| Duration::from_secs_f64(seconds.clamp(0.0, MAX_LIFETIME_SECS)))
        .unwrap_or(DEFAULT_LIFETIME)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_read_leniently_and_bounded() {
        let cases = [
            (Some(json!(180)), Duration::from_secs(180)),
            (Some(json!("900")), Duration::from_secs(900)),
            (Some(json!(1.5)), Duration::from_millis(1500)),
            (Some(json!(-5)), Duration::ZERO),
            (Some(json!(1e300)), Duration::from_secs(86_400)),
            (Some(json!("soon")), DEFAULT_LIFETIME),
            (Some(json!(null)), DEFAULT_LIFETIME),
            (None, DEFAULT_LIFETIME),
        ];
        for (value, expected) in cases {
            assert_eq!(lifetime(value.as_ref()), expected, "{value:?}");
        }
    }

    #[test]
    fn only_permanent_client_errors_count_as_refused_credentials() {
        let refused_error = refused(ProviderError::permanent(Some(401), "token: HTTP 401"));
        assert!(refused_error
            .message
            .starts_with("client credentials refused: token: HTTP 401"));
        let busy = refused(ProviderError::retryable(Some(503), "token: HTTP 503"));
        assert_eq!(busy.message, "token: HTTP 503");
    }
}

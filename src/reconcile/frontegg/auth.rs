//! The environment token from `POST /auth/vendor` (`{clientId, secret}` → `{token, expiresIn}`),
//! cached until 80 % of its lifetime has passed.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

/// Share of a token's lifetime after which a new one is fetched (Frontegg's SDKs: 80 %).
const REFRESH_AT: f64 = 0.8;

#[derive(Deserialize)]
pub(super) struct VendorToken {
    pub token: String,
    #[serde(rename = "expiresIn")]
    pub expires_in: f64,
}

/// A cached token and the moment to fetch a new one.
struct Cached {
    token: SecretString,
    refresh_after: Instant,
    generation: u64,
}

/// The cache; [`super::transport`] fetches.
#[derive(Default)]
pub(super) struct TokenCache {
    cached: Mutex<Option<Cached>>,
    generation: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    /// The cached token while it is fresh, with its generation.
    pub async fn fresh(&self) -> Option<(SecretString, u64)> {
        let cached = self.cached.lock().await;
        cached
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_after)
            .map(|c| (c.token.clone(), c.generation))
    }

    /// Keeps a token just fetched; returns it with its generation.
    pub async fn keep(&self, fetched: VendorToken) -> (SecretString, u64) {
        let lifetime = Duration::try_from_secs_f64(fetched.expires_in.max(0.0) * REFRESH_AT).unwrap_or_default();
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let token = SecretString::from(fetched.token);
        *self.cached.lock().await = Some(Cached {
            token: token.clone(),
            refresh_after: Instant::now() + lifetime,
            generation,
        });
        (token, generation)
    }

    /// Drops the token of `generation` (refused with a 401), unless a newer one replaced it.
    pub async fn invalidate(&self, generation: u64) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.generation == generation) {
            *cached = None;
        }
    }
}

/// The body of `POST /auth/vendor`.
pub(super) fn request_body(client_id: &str, secret: &SecretString) -> serde_json::Value {
    serde_json::json!({ "clientId": client_id, "secret": secret.expose_secret() })
}

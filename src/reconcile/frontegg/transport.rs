//! [`FronteggClient`]: one authenticated GET, with one new token after a 401, 429s waited out,
//! and two more tries after a 5xx or a failed connection (every call it makes is a read).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::{redirect, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::auth::{request_body, TokenCache, VendorToken};
use super::rate_limit::wait_after_429;
use super::{FronteggConfig, FronteggError};

/// Tries of a call that failed with a 5xx or no answer.
const TRIES: u32 = 3;
/// Pause before the second try; doubled before the third.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Largest body read.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Reads Frontegg's management API with an environment's credentials. Its `Debug` shows no secret.
pub struct FronteggClient {
    http: reqwest::Client,
    base: Url,
    client_id: String,
    secret: SecretString,
    pub(super) page_size: u32,
    max_rate_limit_wait: Duration,
    default_rate_limit_wait: Duration,
    tokens: TokenCache,
    calls: AtomicU64,
}

impl std::fmt::Debug for FronteggClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FronteggClient")
            .field("base_url", &self.base.as_str())
            .finish()
    }
}

impl FronteggClient {
    /// Builds the client; never contacts Frontegg.
    pub fn new(config: FronteggConfig) -> anyhow::Result<Self> {
        if config.client_id.trim().is_empty() || config.secret.expose_secret().is_empty() {
            bail!("reconcile.frontegg: client_id and secret must both be set");
        }
        let mut base = Url::parse(config.base_url.trim())
            .with_context(|| format!("reconcile.frontegg.base_url {:?} is not a URL", config.base_url))?;
        if !matches!(base.scheme(), "http" | "https") || base.path_segments_mut().is_err() {
            bail!(
                "reconcile.frontegg.base_url {:?} must be an http(s) URL",
                config.base_url
            );
        }
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop_if_empty();
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, reqwest::header::HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(config.request_timeout)
            .redirect(redirect::Policy::none())
            .user_agent(concat!("tenantgate/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()
            .context("building the Frontegg HTTP client")?;
        Ok(Self {
            http,
            base,
            client_id: config.client_id,
            secret: config.secret,
            page_size: config.page_size,
            max_rate_limit_wait: config.max_rate_limit_wait,
            default_rate_limit_wait: config.default_rate_limit_wait,
            tokens: TokenCache::default(),
            calls: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far (token fetches and refused ones included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
        }
        url
    }

    /// `GET {base}/{segments…}?{query}` with the environment token: the 2xx body, or `None` for
    /// a 404.
    pub(super) async fn get(
        &self,
        op: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Option<Vec<u8>>, FronteggError> {
        let url = self.url(segments, query);
        let mut refreshed = false;
        let mut tries = 0;
        let mut waited = Duration::ZERO;
        loop {
            let (token, generation) = self.token().await?;
            let request = self.http.get(url.clone()).bearer_auth(token.expose_secret());
            match self.send(op, request, &mut waited).await {
                Ok(Sent::Answer(body)) => return Ok(Some(body)),
                Ok(Sent::NotFound) => return Ok(None),
                Ok(Sent::Unauthorized(error)) if !refreshed => {
                    tracing::debug!(
                        frontegg.op = op,
                        "frontegg refused the cached token; fetching a new one"
                    );
                    self.tokens.invalidate(generation).await;
                    refreshed = true;
                    drop(error);
                }
                Ok(Sent::Unauthorized(error)) => return Err(error),
                Err(error) if is_transient(&error) && tries + 1 < TRIES => {
                    tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(tries)).await;
                    tries += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The cached token, or a new one from `POST /auth/vendor`.
    async fn token(&self) -> Result<(SecretString, u64), FronteggError> {
        const OP: &str = "authenticate";
        if let Some(fresh) = self.tokens.fresh().await {
            return Ok(fresh);
        }
        let body = request_body(&self.client_id, &self.secret);
        let mut waited = Duration::ZERO;
        let mut tries = 0;
        loop {
            let request = self.http.post(self.url(&["auth", "vendor"], &[])).json(&body);
            match self.send(OP, request, &mut waited).await {
                Ok(Sent::Answer(answer)) => {
                    let fetched: VendorToken = serde_json::from_slice(&answer).map_err(|e| {
                        FronteggError::new(OP, Some(200), format!("the answer is not {{token, expiresIn}}: {e}"))
                    })?;
                    if fetched.token.is_empty() {
                        return Err(FronteggError::new(OP, Some(200), "the token is empty"));
                    }
                    return Ok(self.tokens.keep(fetched).await);
                }
                Ok(Sent::NotFound) => return Err(FronteggError::new(OP, Some(404), "POST /auth/vendor not found")),
                Ok(Sent::Unauthorized(error)) => return Err(error),
                Err(error) if is_transient(&error) && tries + 1 < TRIES => {
                    tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(tries)).await;
                    tries += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Sends `request`, waiting out 429s (at most `max_rate_limit_wait` in all for this call).
    async fn send(
        &self,
        op: &'static str,
        request: reqwest::RequestBuilder,
        waited: &mut Duration,
    ) -> Result<Sent, FronteggError> {
        loop {
            let Some(attempt) = request.try_clone() else {
                return Err(FronteggError::new(op, None, "the request cannot be sent again"));
            };
            self.calls.fetch_add(1, Ordering::Relaxed);
            let response = attempt
                .send()
                .await
                .map_err(|e| FronteggError::new(op, None, describe(&e)))?;
            let status = response.status();
            let trace = response
                .headers()
                .get("frontegg-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = wait_after_429(response.headers(), chrono::Utc::now(), self.default_rate_limit_wait);
                if waited.saturating_add(wait) > self.max_rate_limit_wait {
                    return Err(FronteggError::new(
                        op,
                        Some(429),
                        format!(
                            "rate limited: the reset is {} s away, more than reconcile.frontegg.max_rate_limit_wait_secs allows",
                            wait.as_secs()
                        ),
                    ));
                }
                tracing::info!(
                    frontegg.op = op,
                    wait_ms = wait.as_millis() as u64,
                    "frontegg rate limit: waiting for its reset"
                );
                *waited += wait;
                tokio::time::sleep(wait).await;
                continue;
            }
            let body = read_capped(response)
                .await
                .map_err(|e| FronteggError::new(op, Some(status.as_u16()), describe(&e)))?;
            tracing::debug!(frontegg.op = op, http.status = status.as_u16(), "frontegg call");
            if status.is_success() {
                return Ok(Sent::Answer(body));
            }
            let error = FronteggError::new(op, Some(status.as_u16()), problem(status, &body, trace.as_deref()));
            return Ok(match status {
                StatusCode::NOT_FOUND => Sent::NotFound,
                StatusCode::UNAUTHORIZED => Sent::Unauthorized(error),
                _ => return Err(error),
            });
        }
    }
}

/// How a sent request ended, when it was not an error.
enum Sent {
    Answer(Vec<u8>),
    NotFound,
    Unauthorized(FronteggError),
}

fn is_transient(error: &FronteggError) -> bool {
    error.status.is_none_or(|status| status >= 500)
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(body)
}

/// Frontegg's error body `{"errors": [...], "errorCode", "message"}` in a line, with the trace id.
fn problem(status: StatusCode, body: &[u8], trace: Option<&str>) -> String {
    #[derive(Deserialize, Default)]
    struct Body {
        #[serde(default)]
        errors: Vec<String>,
        #[serde(default, rename = "errorCode")]
        error_code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let parsed: Body = serde_json::from_slice(body).unwrap_or_default();
    let mut text = format!("HTTP {}", status.as_u16());
    let messages: Vec<String> = parsed.errors.into_iter().chain(parsed.message).collect();
    if !messages.is_empty() {
        text.push_str(": ");
        text.push_str(&messages.join("; ").chars().take(300).collect::<String>());
    }
    if let Some(code) = parsed.error_code {
        text.push_str(&format!(" ({code})"));
    }
    if let Some(trace) = trace {
        text.push_str(&format!(" [trace {trace}]"));
    }
    text
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    }
}

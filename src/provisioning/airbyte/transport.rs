//! One HTTP request to Airbyte: URL building, timing, the debug log line, the observer, a capped
//! body read, and classification of anything that is not a 2xx answer.

use std::time::Instant;

use anyhow::{bail, Context};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{redirect, RequestBuilder, Response, Url};

use super::errors::{classify, not_understood, Failure};
use super::{AirbyteConfig, CallObserver};
use crate::pacing::Gate;
use crate::provisioning::provider::ProviderError;

/// Largest 2xx body read; a page of 100 workspaces is a few tens of KiB.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Largest error body read; only a snippet of it is quoted.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A 2xx answer.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The HTTP client, the base URL, the pacing gate and the observer shared by every call.
pub(super) struct Transport {
    pub http: reqwest::Client,
    pub base: Url,
    pub observer: Option<CallObserver>,
    /// Every call waits here for its turn, and tells it how the provider answered.
    pub gate: Option<Gate>,
}

impl Transport {
    /// Builds one `reqwest::Client` (rustls, connect and total timeouts, no redirects).
    pub fn new(config: &AirbyteConfig) -> anyhow::Result<Self> {
        let mut base = Url::parse(config.base_url.trim())
            .with_context(|| format!("provider.airbyte.base_url {:?} is not a URL", config.base_url))?;
        if !matches!(base.scheme(), "http" | "https") || base.path_segments_mut().is_err() {
            bail!("provider.airbyte.base_url {:?} must be an http(s) URL", config.base_url);
        }
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop_if_empty();
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(redirect::Policy::none())
            .user_agent(concat!("tenantgate/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()
            .context("building the Airbyte HTTP client")?;
        Ok(Self {
            http,
            base,
            observer: None,
            gate: None,
        })
    }

    /// `{base}/{segments…}?{query}`, each segment percent-encoded.
    pub fn url(&self, op: &str, segments: &[&str], query: &[(&str, String)]) -> Result<Url, ProviderError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| classify(op, Failure::Invalid("the base URL cannot take a path")))?
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
        }
        Ok(url)
    }

    /// Sends `request` for operation `op`; `Ok` only for a complete 2xx answer.
    pub async fn send(&self, op: &'static str, request: RequestBuilder) -> Result<Answer, ProviderError> {
        let permit = match &self.gate {
            Some(gate) => Some(gate.acquire().await),
            None => None,
        };
        let started = Instant::now();
        let result = exchange(op, request).await;
        let elapsed = started.elapsed();
        if let Some(permit) = permit {
            match &result {
                Ok(_) => permit.succeeded(),
                Err(error) if error.throttled => permit.throttled(error.retry_after),
                Err(_) => permit.failed(),
            }
        }
        let status = match &result {
            Ok(answer) => Some(answer.status),
            Err(error) => error.status,
        };
        tracing::debug!(
            provider.op = op,
            http.status = status,
            duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            retryable = result.as_ref().err().map(|error| error.retryable),
            "airbyte call"
        );
        if let Some(observer) = &self.observer {
            observer(op, status, elapsed);
        }
        result
    }
}

async fn exchange(op: &'static str, request: RequestBuilder) -> Result<Answer, ProviderError> {
    let mut response = request.send().await.map_err(|error| transport_error(op, &error))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        let (body, complete) = read_capped(&mut response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| transport_error(op, &error))?;
        if !complete {
            return Err(not_understood(op, status, "the answer is larger than 8 MiB"));
        }
        return Ok(Answer { status, body });
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // An error body that cannot be read completely is still quoted as far as it came.
    let body = read_capped(&mut response, MAX_ERROR_BYTES)
        .await
        .map(|(body, _)| body)
        .unwrap_or_default();
    Err(classify(
        op,
        Failure::Status {
            status,
            retry_after: retry_after.as_deref(),
            body: &body,
        },
    ))
}

/// Reads at most `cap` bytes; the flag says whether the whole body fitted.
async fn read_capped(response: &mut Response, cap: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// A request that got no complete answer. The text names the cause without the URL.
fn transport_error(op: &str, error: &reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        return classify(op, Failure::Timeout);
    }
    let what = if error.is_builder() {
        "building the request"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "request failed"
    };
    let mut causes = vec![what.to_owned()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let why = causes.join(": ");
    if error.is_builder() {
        classify(op, Failure::Invalid(&why))
    } else {
        classify(op, Failure::Transport(&why))
    }
}

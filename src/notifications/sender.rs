//! Sends one signed notification: Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), bounded time (the subscription's own, never above the global one), no
//! redirects, only to allowed addresses.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};

use super::destination::DestinationPolicy;
use crate::config::NotificationSettings;
use crate::verify::standard;

/// How one send went.
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    /// The answer's status, when there was an answer.
    pub status: Option<u16>,
    /// The start of the answer's body, truncated.
    pub body: Option<String>,
    /// Why there was no 2xx answer (no answer at all, or which status).
    pub error: Option<String>,
    /// The receiver's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    pub duration: Duration,
}

impl SendResult {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The receiver asked to slow down: 429 Too Many Requests, or 503 Service Unavailable with
    /// a `Retry-After`. A bare 503 is what a proxy answers for an endpoint that is down: a
    /// failure, which spends the schedule and counts towards disabling the subscription.
    pub fn throttled(&self) -> bool {
        match self.status {
            Some(429) => true,
            Some(503) => self.retry_after.is_some(),
            _ => false,
        }
    }

    /// Nothing was sent, for this reason (e.g. the secret to sign with does not open).
    pub fn not_sent(error: String) -> Self {
        Self {
            status: None,
            body: None,
            error: Some(error),
            retry_after: None,
            duration: Duration::ZERO,
        }
    }
}

/// The HTTP client for notifications. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: DestinationPolicy,
    body_limit: usize,
    /// `notifications.request_timeout_ms`: the default, and the most any subscription gets.
    request_timeout: Duration,
}

impl Sender {
    pub fn new(settings: &NotificationSettings) -> anyhow::Result<Self> {
        let policy = DestinationPolicy::new(settings.allowed_networks()).allowing_http(settings.allow_http);
        let request_timeout = Duration::from_millis(settings.request_timeout_ms);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the host itself, around the address policy.
            .no_proxy()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(request_timeout)
            .dns_resolver(policy.resolver())
            .build()?;
        Ok(Self {
            client,
            policy,
            body_limit: settings.response_body_limit_bytes,
            request_timeout,
        })
    }

    /// `notifications.request_timeout_ms`, the most a subscription's own timeout may be.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// How long a request to a subscriber may take: its own `request_timeout_ms` when it has
    /// one, never above the global timeout (which may have been lowered since it was set).
    pub fn timeout_for(&self, subscription_ms: Option<i32>) -> Duration {
        subscription_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map_or(self.request_timeout, |ms| {
                Duration::from_millis(ms).min(self.request_timeout)
            })
    }

    /// The policy subscription URLs are checked against.
    pub fn policy(&self) -> &DestinationPolicy {
        &self.policy
    }

    /// POSTs `payload` to `url`, signed with each of `secrets` (one signature each), as message
    /// `message_id` at Unix time `timestamp`, answer included within `timeout` (see
    /// [`Sender::timeout_for`]).
    pub async fn send(
        &self,
        url: &str,
        message_id: &str,
        payload: &str,
        secrets: &[SecretString],
        timestamp: i64,
        timeout: Duration,
    ) -> SendResult {
        let started = Instant::now();
        let failed = |error: String| SendResult {
            status: None,
            body: None,
            error: Some(error),
            retry_after: None,
            duration: started.elapsed(),
        };
        let url = match self.policy.check_form(url) {
            Ok(url) => url,
            Err(e) => return failed(e.to_string()),
        };
        let signature = secrets
            .iter()
            .map(|secret| {
                standard::signature(
                    &standard::key_from_secret(secret.expose_secret()),
                    message_id,
                    timestamp,
                    payload.as_bytes(),
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, concat!("tenantgate/", env!("CARGO_PKG_VERSION")))
            .header(standard::HEADER_ID, message_id)
            .header(standard::HEADER_TIMESTAMP, timestamp.to_string())
            .header(standard::HEADER_SIGNATURE, signature)
            .timeout(timeout)
            .body(payload.to_owned());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failed(describe(&e, timeout)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_start(&mut response, self.body_limit).await;
        let error = (!(200..300).contains(&status)).then(|| format!("the endpoint answered {status}"));
        SendResult {
            status: Some(status),
            body: Some(body),
            error,
            retry_after,
            duration: started.elapsed(),
        }
    }
}

/// The first `limit` bytes of the body (as text, cut at a character boundary); the rest is not
/// read. A body that breaks off keeps what arrived.
async fn read_start(response: &mut reqwest::Response, limit: usize) -> String {
    let mut kept = Vec::new();
    while kept.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(limit - kept.len())]),
            _ => break,
        }
    }
    // Postgres refuses NUL in text; a binary answer must not make the outcome unwritable.
    String::from_utf8_lossy(&kept).replace('\0', "")
}

/// Why a request got no answer, in words an operator can act on (the URL is not repeated; it is
/// the subscription's). A timeout names the limit, which may be the subscription's own.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    use std::error::Error as _;
    // Connecting has its own limit (`notifications.connect_timeout_ms`): a connection that
    // timed out is told as one that could not be made, not with the request's limit.
    let mut reason = if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else {
        "the request failed".to_owned()
    };
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<super::destination::DestinationError>() {
            return refused.to_string();
        }
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    reason
}

/// `Retry-After` as seconds or as an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let parsed = parse_retry_after(&later).unwrap();
        assert!((85..=90).contains(&parsed.as_secs()), "{parsed:?}");
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 2001 00:00:00 +0000"),
            None,
            "a past date"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}

//! Signed deliveries and the answers they got, sent the way a webhook sender sends them.

use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use serde_json::{json, Value};
use tenantgate::verify::Scheme;

use crate::helpers::{now, sign, TEST_SECRET};

/// A signed webhook delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The idempotency key tenantgate stores (`header:{webhook-id}` or `sha256:{body hash}`).
    pub key: String,
    pub tenant: String,
    pub body: Vec<u8>,
    pub scheme: Scheme,
    /// The `webhook-id` for Standard Webhooks.
    pub msg_id: String,
}

impl Delivery {
    /// Signed with Standard Webhooks under `msg_id`, which is then its idempotency key.
    pub fn standard(msg_id: &str, tenant: &str, body: &Value) -> Self {
        Self {
            key: format!("header:{msg_id}"),
            tenant: tenant.to_owned(),
            body: body.to_string().into_bytes(),
            scheme: Scheme::StandardWebhooks,
            msg_id: msg_id.to_owned(),
        }
    }

    /// Signed with a Frontegg JWT: no `webhook-id`, so the body's hash is the idempotency key.
    pub fn jwt(tenant: &str, body: &Value) -> Self {
        use sha2::{Digest, Sha256};
        let body = body.to_string().into_bytes();
        Self {
            key: format!("sha256:{}", hex::encode(Sha256::digest(&body))),
            tenant: tenant.to_owned(),
            body,
            scheme: Scheme::FronteggJwt,
            msg_id: String::new(),
        }
    }

    /// Fresh signature headers, as a sender makes for each try.
    pub fn headers(&self) -> Vec<(String, String)> {
        sign(self.scheme, TEST_SECRET, &self.body, now(), &self.msg_id)
    }
}

/// What one delivery was answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `None` when no answer came (connection refused or cut).
    pub status: Option<u16>,
    /// `status` of a 200 receipt, or `error` of an error body.
    pub code: String,
    pub event_id: Option<i64>,
    pub retry_after: bool,
    pub latency: Duration,
}

impl Answer {
    pub fn acknowledged(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A client like a sender's: its own connection pool, a generous timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Posts one delivery to the general webhook route of `address`.
pub async fn post(client: &reqwest::Client, address: &str, delivery: &Delivery) -> Answer {
    let mut request = client
        .post(format!("{address}/api/webhooks/frontegg"))
        .header("content-type", "application/json")
        .body(delivery.body.clone());
    for (name, value) in delivery.headers() {
        request = request.header(name, value);
    }
    let started = Instant::now();
    let Ok(response) = request.send().await else {
        return Answer {
            status: None,
            code: "no_answer".into(),
            event_id: None,
            retry_after: false,
            latency: started.elapsed(),
        };
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["status"].as_str().or(body["error"].as_str()).unwrap_or("no_body");
    Answer {
        status: Some(status),
        code: code.to_owned(),
        event_id: body["event_id"].as_i64(),
        retry_after,
        latency: started.elapsed(),
    }
}

/// Sends every delivery, `concurrency` at a time, calling `each` with every answer as it comes.
pub async fn send_all(
    address: &str,
    deliveries: &[Delivery],
    concurrency: usize,
    mut each: impl FnMut(&Delivery, &Answer),
) -> Vec<Answer> {
    let client = client();
    let mut answers = vec![None; deliveries.len()];
    let mut sends = futures_util::stream::iter(deliveries.iter().enumerate())
        .map(|(i, delivery)| post(&client, address, delivery).map(move |answer| (i, answer)))
        .buffer_unordered(concurrency);
    while let Some((i, answer)) = sends.next().await {
        each(&deliveries[i], &answer);
        answers[i] = Some(answer);
    }
    answers.into_iter().map(Option::unwrap).collect()
}

/// `2026-01-01T00:00:00Z` plus `secs`.
pub fn at(secs: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    (base + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn tenant_created(tenant: &str, at_secs: i64) -> Value {
    let name = format!("Tenant {tenant}");
    json!({"eventType": "tenant.created", "tenantId": tenant, "tenantName": name, "timestamp": at(at_secs)})
}

pub fn tenant_deleted(tenant: &str, at_secs: i64) -> Value {
    json!({"eventType": "tenant.deleted", "tenantId": tenant, "timestamp": at(at_secs)})
}

pub fn user_activated(tenant: &str, user: &str, at_secs: i64) -> Value {
    json!({"eventType": "user.activated", "tenantId": tenant, "userId": user, "timestamp": at(at_secs)})
}

/// The workspace name tenantgate gives a tenant made by [`tenant_created`].
pub fn workspace_name(tenant: &str) -> String {
    format!("Tenant {tenant} [{tenant}]")
}

/// The `q`-quantile (0..=1) of `values`, by nearest rank.
pub fn quantile(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

//! tenantgate's own notifications: subscriptions, signed deliveries checked with an independent
//! Standard Webhooks implementation (the `standardwebhooks` crate), retries, disabling, rotation,
//! filters, the delivery log and redelivery, the outbox across a crash, outbound safety, the CLI,
//! signing secrets encrypted at rest, each subscription's own settings, test sends to any URL
//! and to every subscriber, and delivery statistics.

mod cli;
mod delivery;
mod outbox;
mod retention;
mod secrets;
mod settings;
mod stats;
mod subscriptions;
mod test_sends;

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::admin::ADMIN_TOKEN;
use crate::helpers::*;

pub const WAIT: Duration = Duration::from_secs(20);

/// A subscriber's endpoint, `POST /hook`, recording every request it gets.
pub struct Receiver {
    pub server: MockServer,
}

impl Receiver {
    /// Answers every delivery with `status`.
    pub async fn answering(status: u16) -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(ResponseTemplate::new(status).set_body_string("thanks"))
            .mount(&server)
            .await;
        Self { server }
    }

    /// Answers the first `n` deliveries with `first`, then 200.
    pub async fn failing_first(n: u64, first: ResponseTemplate) -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(first)
            .up_to_n_times(n)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(ResponseTemplate::new(200))
            .with_priority(2)
            .mount(&server)
            .await;
        Self { server }
    }

    pub fn url(&self) -> String {
        format!("{}/hook", self.server.uri())
    }

    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// Waits until at least `n` requests have arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Request> {
        eventually(WAIT, || async {
            let got = self.requests().await;
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("the receiver did not get {n} requests in {WAIT:?}"))
    }
}

/// The envelope of a delivery, after checking its signature with `secret` the way an
/// independent receiver would (the `standardwebhooks` crate).
pub fn verified(secret: &str, request: &Request) -> Result<Value, String> {
    let webhook = standardwebhooks::Webhook::new(secret).map_err(|e| format!("bad secret: {e:?}"))?;
    webhook
        .verify(&request.body, &request.headers)
        .map_err(|e| format!("signature does not verify: {e:?}"))?;
    serde_json::from_slice(&request.body).map_err(|e| e.to_string())
}

/// An application with workers and the dispatcher on, short retry delays, an admin token, and
/// receivers on this machine allowed.
pub async fn spawn_notifying_app(
    backend: Backend,
    customize: impl FnOnce(&mut tenantgate::config::Settings),
) -> TestApp {
    spawn_app_with(backend, |s| {
        notifying(s);
        customize(s);
    })
    .await
}

/// Another instance on `other`'s database, set up as [`spawn_notifying_app`] does.
pub async fn spawn_notifying_instance(
    other: &TestApp,
    customize: impl FnOnce(&mut tenantgate::config::Settings),
) -> TestApp {
    spawn_instance(other, |s| {
        notifying(s);
        customize(s);
    })
    .await
}

fn notifying(s: &mut tenantgate::config::Settings) {
    s.admin.tokens = vec![ADMIN_TOKEN.to_owned().into()];
    delivering_fast(s);
}

/// Workers on, short retries and polls, and the receivers' loopback address allowed: what the
/// tests of notifications need of the settings, admin tokens aside.
pub fn delivering_fast(s: &mut tenantgate::config::Settings) {
    s.worker.enabled = true;
    s.worker.poll_interval_ms = 100;
    let n = &mut s.notifications;
    n.retry_schedule_secs = vec![0.3, 0.6, 1.2];
    n.retry_jitter = 0.0;
    n.poll_interval_ms = 50;
    n.allowed_private_networks = vec!["127.0.0.1/32".into()];
}

/// A subscription's id and secret.
pub struct Subscribed {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    /// Subscribes `url` through the admin API; must succeed.
    pub async fn subscribe(&self, url: &str, event_types: &[&str], tenant_id: Option<&str>) -> Subscribed {
        let (status, body) = self
            .admin_post(
                "/api/admin/notifications/subscriptions",
                json!({"url": url, "event_types": event_types, "tenant_id": tenant_id}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        Subscribed {
            id: body["id"].as_str().unwrap().to_owned(),
            secret: body["secret"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn admin_send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// A subscription's delivery log (newest first).
    pub async fn deliveries(&self, subscription: &str) -> Vec<Value> {
        let (status, body) = self
            .admin_get(&format!(
                "/api/admin/notifications/subscriptions/{subscription}/deliveries"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body["deliveries"].as_array().unwrap().clone()
    }

    /// Waits until the subscription has `n` deliveries, all finished; returns them (newest first).
    pub async fn finished_deliveries(&self, subscription: &str, n: usize) -> Vec<Value> {
        let found = eventually(WAIT, || async {
            let log = self.deliveries(subscription).await;
            let finished = log.iter().all(|d| d["status"] == "succeeded" || d["status"] == "dead");
            (log.len() == n && finished).then_some(log)
        })
        .await;
        match found {
            Some(log) => log,
            None => panic!(
                "{subscription} did not get {n} finished deliveries: {:?}",
                self.deliveries(subscription).await
            ),
        }
    }

    pub async fn subscription(&self, id: &str) -> Value {
        let (status, body) = self
            .admin_get(&format!("/api/admin/notifications/subscriptions/{id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// A Frontegg-shaped user.activated body.
pub fn user_activated_body(tenant_id: &str, user_id: &str) -> Value {
    json!({
        "eventKey": "frontegg.user.activated",
        "eventContext": {"tenantId": tenant_id, "userId": user_id},
        "user": {"id": user_id, "email": format!("{user_id}@example.com")},
    })
}

pub fn tenant_created(tenant_id: &str) -> Value {
    serde_json::from_slice(&tenant_created_body(tenant_id)).unwrap()
}

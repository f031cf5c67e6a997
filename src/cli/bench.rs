//! `tenantgate bench ingest`: a load generator for the webhook endpoint. It pre-builds unique,
//! signed requests with the kind mix of real traffic, sends them at a fixed concurrency for a
//! duration or a count, and reports throughput and latency percentiles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::sign::{webhook_url, Signer};
use super::BenchIngestArgs;
use crate::config::Settings;

/// One pre-built delivery: nothing is parsed or copied while sending.
struct Request {
    body: actix_web::web::Bytes,
    headers: reqwest::header::HeaderMap,
}

/// What a run measured.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub sent: usize,
    pub ok: usize,
    pub non_2xx: usize,
    pub errors: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub(super) async fn run(settings: &Settings, args: &BenchIngestArgs) -> anyhow::Result<()> {
    let url = webhook_url(settings, args.target.url.as_deref())?;
    let signer = Signer::new(settings, args.target.scheme)?;
    let total = args.count.unwrap_or(args.requests);
    eprintln!("building {total} signed {} requests…", signer.scheme);
    let requests = Arc::new(build(&signer, total)?);
    eprintln!("sending to {url} at concurrency {}", args.concurrency);
    let report = send(
        url.to_string(),
        requests,
        args.concurrency,
        args.count.is_none().then(|| Duration::from_secs_f64(args.duration)),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "sent {} in {:.1} s: {:.0} req/s; {} non-2xx, {} errors; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            report.sent,
            report.seconds,
            report.per_second,
            report.non_2xx,
            report.errors,
            report.p50_ms,
            report.p90_ms,
            report.p99_ms,
            report.max_ms
        );
    }
    Ok(())
}

/// `n` unique deliveries: per 20, 6 user activations, 4 deactivations, 3 tenant creations,
/// 2 renames, 1 deletion, 2 SSO changes and 2 events tenantgate ignores.
fn build(signer: &Signer, n: usize) -> anyhow::Result<Vec<Request>> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| {
            let tenant = format!("bench-{}-{:05}", &run[..8], i % 5_000);
            let user = format!("{run}-{i}");
            let at = (now + chrono::Duration::milliseconds(i as i64)).to_rfc3339();
            let body = match i % 20 {
                0..=5 => user_event("frontegg.user.activated", &tenant, &user, &at),
                6..=9 => user_event("frontegg.user.removedFromTenant", &tenant, &user, &at),
                10..=12 => tenant_event("frontegg.tenant.created", &tenant, &at),
                13..=14 => tenant_event("frontegg.tenant.updated", &tenant, &at),
                15 => tenant_event("frontegg.tenant.deleted", &tenant, &at),
                16..=17 => {
                    json!({"eventType": "sso.updated", "tenantId": tenant, "ssoProvider": "okta", "timestamp": at})
                }
                _ => user_event("frontegg.user.signedUp", &tenant, &user, &at),
            };
            let body = serde_json::to_vec(&body)?;
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static("application/json"),
            );
            for (name, value) in signer.headers(&body, now.timestamp())? {
                headers.insert(
                    reqwest::header::HeaderName::try_from(name)?,
                    reqwest::header::HeaderValue::try_from(value)?,
                );
            }
            Ok(Request {
                body: body.into(),
                headers,
            })
        })
        .collect()
}

/// A user event the size of Frontegg's documented example (about 1 KiB).
fn user_event(key: &str, tenant: &str, user: &str, at: &str) -> serde_json::Value {
    json!({
        "eventKey": key,
        "eventContext": {"tenantId": tenant, "userId": user},
        "timestamp": at,
        "user": {
            "id": user, "email": format!("{user}@bench.example"), "verified": true, "name": "Bench User",
            "phoneNumber": null, "profilePictureUrl": "https://www.gravatar.com/avatar/7827edbdf8ec0d52e57a736448e873c3?d=https://ui-avatars.com/api/bench/128/random",
            "provider": "local", "mfaEnrolled": false, "metadata": "{\"plan\":\"growth\",\"seats\":25}",
            "tenantIds": [tenant], "tenantId": tenant, "roles": [], "permissions": [],
            "createdAt": at, "lastLogin": null, "isLocked": false, "activatedForTenant": true
        }
    })
}

fn tenant_event(key: &str, tenant: &str, at: &str) -> serde_json::Value {
    json!({
        "eventKey": key,
        "eventContext": {"tenantId": tenant},
        "timestamp": at,
        "tenant": {"tenantId": tenant, "name": format!("Bench {tenant}"), "metadata": "{\"plan\":\"growth\"}",
                   "isReseller": false, "creatorEmail": "owner@bench.example", "createdAt": at}
    })
}

/// Sends the requests from `concurrency` connections until all are sent or `duration` passes.
async fn send(
    url: String,
    requests: Arc<Vec<Request>>,
    concurrency: usize,
    duration: Option<Duration>,
) -> anyhow::Result<Report> {
    let url = reqwest::Url::parse(&url).with_context(|| format!("`{url}` is not a URL"))?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = duration.map(|d| started + d);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let work = Work {
                requests: requests.clone(),
                next: next.clone(),
                deadline,
                tally: Tally::default(),
            };
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                if url.scheme() == "http" {
                    work.on_one_connection(&url).await
                } else {
                    work.through(&client, &url).await
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let (mut non_2xx, mut errors) = (0, 0);
    for task in tasks {
        let tally = task.await.context("a sender task failed")?;
        latencies.extend(tally.latencies);
        non_2xx += tally.non_2xx;
        errors += tally.errors;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Report {
        sent: latencies.len(),
        ok: latencies.len() - non_2xx - errors,
        non_2xx,
        errors,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
    })
}

/// What one sender task counted.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    non_2xx: usize,
    errors: usize,
}

/// One sender task: takes the next request until none is left or the deadline passes.
struct Work {
    requests: Arc<Vec<Request>>,
    next: Arc<AtomicUsize>,
    deadline: Option<Instant>,
    tally: Tally,
}

impl Work {
    fn take(&self) -> Option<&Request> {
        let request = self.requests.get(self.next.fetch_add(1, Ordering::Relaxed))?;
        self.deadline.is_none_or(|d| Instant::now() < d).then_some(request)
    }

    fn count(&mut self, sent: Instant, status: Option<reqwest::StatusCode>) {
        self.tally.latencies.push(sent.elapsed());
        match status {
            Some(status) if status.is_success() => {}
            Some(_) => self.tally.non_2xx += 1,
            None => self.tally.errors += 1,
        }
    }

    /// A plain `http://` target: one keep-alive HTTP/1 connection through hyper directly, so the
    /// load generator costs as little as it can (the server under test shares the machine).
    async fn on_one_connection(mut self, url: &reqwest::Url) -> Tally {
        use http_body_util::{BodyExt, Full};
        let authority = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port_or_known_default().unwrap_or(80)
        );
        let path = &url[url::Position::BeforePath..];
        let mut connection = None;
        while let Some(request) = self.take() {
            let sender = match connection.as_mut() {
                Some(sender) => sender,
                None => match connect(&authority).await {
                    Ok(sender) => connection.insert(sender),
                    Err(_) => {
                        self.count(Instant::now(), None);
                        continue;
                    }
                },
            };
            let Ok(mut message) = hyper::Request::post(path)
                .header(hyper::header::HOST, authority.as_str())
                .body(Full::new(request.body.clone()))
            else {
                self.count(Instant::now(), None);
                continue;
            };
            message.headers_mut().extend(request.headers.clone());
            let sent = Instant::now();
            // The connection takes the next request once the previous answer is read.
            let status = match sender.ready().await {
                Ok(()) => sender.send_request(message).await,
                Err(e) => Err(e),
            };
            let status = match status {
                Ok(response) => {
                    let status = response.status();
                    let _ = response.into_body().collect().await;
                    Some(status)
                }
                Err(_) => {
                    connection = None;
                    None
                }
            };
            self.count(sent, status);
        }
        self.tally
    }

    /// Any other target (https, e.g. an ngrok tunnel): through reqwest's pool.
    async fn through(mut self, client: &reqwest::Client, url: &reqwest::Url) -> Tally {
        while let Some(request) = self.take() {
            let builder = client
                .post(url.clone())
                .headers(request.headers.clone())
                .body(request.body.clone());
            let sent = Instant::now();
            let status = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let _ = response.bytes().await;
                    Some(status)
                }
                Err(_) => None,
            };
            self.count(sent, status);
        }
        self.tally
    }
}

type Connection = hyper::client::conn::http1::SendRequest<http_body_util::Full<actix_web::web::Bytes>>;

async fn connect(authority: &str) -> anyhow::Result<Connection> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

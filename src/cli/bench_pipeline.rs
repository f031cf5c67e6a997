//! `tenantgate bench pipeline`: how fast stored events become provider calls. It stores a
//! backlog straight into the inbox, starts the application (HTTP and workers) against a fast
//! local stand-in for Airbyte, and measures the drain rate; then, idle, it times single
//! `tenant.created` deliveries from their 200 to the provider's `POST /workspaces`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use serde_json::json;

use super::BenchPipelineArgs;
use crate::app::{open_database, Application};
use crate::config::{ProviderKind, Settings};
use crate::inbox::claims;
use crate::inbox::{self, EventStatus, NewEvent};
use crate::verify::Scheme;

/// When each workspace name was first asked for.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

pub(super) async fn run(settings: &Settings, args: &BenchPipelineArgs) -> anyhow::Result<()> {
    let (fake_url, arrivals) = start_fake_airbyte()?;
    let mut settings = settings.clone();
    settings.server.port = 0;
    settings.server.host = "127.0.0.1".into();
    settings.worker.enabled = true;
    if let Some(workers) = args.workers {
        settings.worker.concurrency = workers;
    }
    settings.provider.kind = ProviderKind::Airbyte;
    settings.provider.airbyte.base_url = fake_url;
    settings.provider.airbyte.token = "bench-token".to_owned().into();

    let db = open_database(&settings)?;
    let migrate = db.clone();
    tokio::task::spawn_blocking(move || migrate.migrate()).await??;
    eprintln!("storing a backlog of {} events…", args.backlog);
    store_backlog(&db, args.backlog).await?;

    let started = Instant::now();
    let app = Application::build(settings.clone()).await?;
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    while db.run(claims::any_unfinished).await? {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain = started.elapsed();
    let calls = arrivals.lock().map(|a| a.len()).unwrap_or_default();
    println!(
        "drained {} events in {:.2} s: {:.0} events/s ({} workspace creates at the fake provider, {} workers)",
        args.backlog,
        drain.as_secs_f64(),
        args.backlog as f64 / drain.as_secs_f64(),
        calls,
        settings.worker.concurrency
    );
    idle_latency(&settings, port, &arrivals, args.idle).await
}

/// `n` events of the usual mix, stored in batches as the receiver would store them.
async fn store_backlog(db: &crate::db::Database, n: usize) -> anyhow::Result<()> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let now = chrono::Utc::now().naive_utc();
    let events: Vec<NewEvent> = (0..n)
        .map(|i| {
            let tenant = format!("backlog-{}-{:05}", &run[..8], i / 10);
            // Per tenant: created, then users and SSO, in order.
            let (key, kind) = match i % 10 {
                0 => ("frontegg.tenant.created", "tenant_created"),
                9 => ("sso.updated", "sso_changed"),
                _ => ("frontegg.user.activated", "user_activated"),
            };
            let payload = json!({"eventKey": key, "eventContext": {"tenantId": tenant, "userId": format!("u{i}")},
                                 "tenant": {"name": "Backlog"}, "sso": {"provider": "okta"}})
            .to_string();
            NewEvent {
                source: "frontegg".into(),
                idempotency_key: format!("bench:{run}:{i}"),
                body_sha256: format!("{i}"),
                event_type: key.into(),
                kind: kind.into(),
                tenant_id: Some(tenant),
                user_id: Some(format!("u{i}")),
                occurred_at: None,
                received_at: now,
                order_at: now + chrono::Duration::microseconds(i as i64),
                payload,
                status: EventStatus::Pending,
                next_attempt_at: now,
            }
        })
        .collect();
    for chunk in events.chunks(1_000) {
        let chunk = chunk.to_vec();
        db.run(move |c| inbox::insert_batch(c, &chunk)).await?;
    }
    Ok(())
}

/// Sends `count` tenant.created deliveries one at a time and reports 200 → POST /workspaces.
async fn idle_latency(settings: &Settings, port: u16, arrivals: &Arrivals, count: usize) -> anyhow::Result<()> {
    let signer = super::sign::Signer::new(settings, Some(Scheme::HmacSha256))?;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/webhooks/frontegg");
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let tenant = format!("idle-{}-{i}", uuid::Uuid::new_v4().simple());
        let body =
            serde_json::to_vec(&json!({"eventKey": "frontegg.tenant.created", "eventContext": {"tenantId": tenant}}))?;
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in signer.headers(&body, chrono::Utc::now().timestamp())? {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let acknowledged = Instant::now();
        anyhow::ensure!(
            response.status().is_success(),
            "delivery answered {}",
            response.status()
        );
        let name =
            crate::provisioning::handlers::workspace_name(&settings.provider.workspace_name_template, &tenant, None);
        let arrived = loop {
            if let Some(at) = arrivals.lock().ok().and_then(|a| a.get(&name).copied()) {
                break at;
            }
            anyhow::ensure!(
                acknowledged.elapsed() < Duration::from_secs(10),
                "no POST /workspaces for {tenant}"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        latencies.push(arrived.saturating_duration_since(acknowledged));
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
    };
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "idle end-to-end (200 → POST /workspaces), {count} deliveries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    Ok(())
}

/// A fast local stand-in for Airbyte's public API: answers at once, records workspace creates.
fn start_fake_airbyte() -> anyhow::Result<(String, Arrivals)> {
    let arrivals: Arrivals = Arc::default();
    let recorded = arrivals.clone();
    let server = HttpServer::new(move || {
        let recorded = recorded.clone();
        App::new()
            .route(
                "/v1/workspaces",
                web::post().to(move |body: web::Json<serde_json::Value>| {
                    let recorded = recorded.clone();
                    async move {
                        let name = body["name"].as_str().unwrap_or_default().to_owned();
                        if let Ok(mut map) = recorded.lock() {
                            map.entry(name.clone()).or_insert_with(Instant::now);
                        }
                        HttpResponse::Ok().json(json!({"workspaceId": uuid::Uuid::new_v4().to_string(), "name": name}))
                    }
                }),
            )
            .default_service(web::to(|| async { HttpResponse::Ok().json(json!({"data": []})) }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .context("cannot start the stand-in provider")?;
    let port = server
        .addrs()
        .first()
        .map(|a| a.port())
        .context("the stand-in provider has no address")?;
    tokio::spawn(server.run());
    Ok((format!("http://127.0.0.1:{port}/v1"), arrivals))
}

//! Scrapers: 32 clients scraping `/metrics` and `/readyz` ten times a second each, over an inbox
//! of 300,000 events, while a sender posts signed deliveries. The public routes read memory only,
//! so every delivery is answered 200 with a p99 under 100 ms. (Found attacking the release
//! binary: each scrape ran the stats aggregation on a pooled connection; 64 scrapers over 400,000
//! events starved deliveries into 503s and 4-5 s answers.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenantgate::db::Database;
use tenantgate::inbox::{self, NewEvent};

use super::load::{self, ms, quantile, Delivery};
use super::{exclusive, panics, summary, Config};
use crate::helpers::*;
use crate::on_both_backends;

const INBOX: usize = 300_000;
const SCRAPERS: usize = 32;
const SCRAPE_EVERY: Duration = Duration::from_millis(100);
const SENDERS: usize = 4;
const DURATION: Duration = Duration::from_secs(10);
const P99_LIMIT: Duration = Duration::from_millis(100);

on_both_backends! {
    async fn thirty_two_scrapers_over_300k_events_leave_signed_deliveries_fast(backend) {
        scenario(backend).await
    }
}

async fn scenario(backend: Backend) {
    let _one_at_a_time = exclusive().await;
    let database = TestDatabase::create(backend);
    let seeded = Instant::now();
    fill(&database.url, INBOX).await;
    let seed_s = seeded.elapsed().as_secs_f64();
    let mut config = Config::new(&database.url);
    // Acknowledgement is what is measured: no workers competing for the database.
    config.set("TENANTGATE__WORKER__ENABLED", "false");
    let server = config.start();
    let address = server.address.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let scrapers: Vec<_> = (0..SCRAPERS)
        .map(|i| tokio::spawn(scrape(address.clone(), i, stop.clone())))
        .collect();
    let senders: Vec<_> = (0..SENDERS).map(|i| tokio::spawn(send(address.clone(), i))).collect();
    let mut answers = Vec::new();
    for sender in senders {
        answers.extend(sender.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let mut scrapes = Vec::new();
    for scraper in scrapers {
        scrapes.extend(scraper.await.unwrap());
    }
    let lines = server.stop();

    let latencies: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    let refused: Vec<_> = answers.iter().filter(|a| a.status != Some(200)).collect();
    let scrape_latencies: Vec<Duration> = scrapes.iter().map(|(_, took)| *took).collect();
    let scrapes_failed = scrapes.iter().filter(|(status, _)| *status != 200).count();
    let p99 = quantile(&latencies, 0.99);
    summary(
        "scrape",
        backend,
        &[
            ("inbox_events", INBOX.to_string()),
            ("seed_s", format!("{seed_s:.1}")),
            ("scrapers", SCRAPERS.to_string()),
            ("scrapes", scrapes.len().to_string()),
            (
                "scrapes_per_s",
                format!("{:.0}", scrapes.len() as f64 / DURATION.as_secs_f64()),
            ),
            ("scrapes_not_200", scrapes_failed.to_string()),
            ("scrape_p99_ms", ms(quantile(&scrape_latencies, 0.99))),
            ("deliveries", answers.len().to_string()),
            ("deliveries_not_200", refused.len().to_string()),
            ("p50_ms", ms(quantile(&latencies, 0.5))),
            ("p99_ms", ms(p99)),
            ("max_ms", ms(quantile(&latencies, 1.0))),
        ],
    );
    assert!(
        refused.is_empty(),
        "deliveries refused: {:?}",
        &refused[..refused.len().min(3)]
    );
    assert_eq!(scrapes_failed, 0, "every scrape is answered 200");
    assert!(p99 < P99_LIMIT, "delivery p99 {p99:?} under {SCRAPERS} scrapers");
    assert!(panics(&lines).is_empty(), "{:?}", panics(&lines));
}

/// Stores `n` events of mixed statuses straight into the inbox, as past traffic left them.
async fn fill(url: &str, n: usize) {
    let db = Database::connect(url, 2, Duration::from_secs(5)).unwrap();
    let migrating = db.clone();
    tokio::task::spawn_blocking(move || migrating.migrate())
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now().naive_utc();
    let statuses = [
        "succeeded",
        "succeeded",
        "succeeded",
        "ignored",
        "skipped",
        "dead",
        "pending",
    ];
    for start in (0..n).step_by(1_000) {
        let chunk: Vec<NewEvent> = (start..(start + 1_000).min(n))
            .map(|i| {
                let tenant = format!("scrape-{:05}", i / 10);
                NewEvent {
                    source: "frontegg".into(),
                    idempotency_key: format!("scrape:{i}"),
                    body_sha256: format!("{i}"),
                    event_type: "frontegg.user.activated".into(),
                    kind: "user_activated".into(),
                    tenant_id: Some(tenant.clone()),
                    user_id: Some(format!("u{i}")),
                    occurred_at: None,
                    received_at: now,
                    order_at: now,
                    payload: format!(
                        r#"{{"eventKey":"frontegg.user.activated","eventContext":{{"tenantId":"{tenant}","userId":"u{i}"}}}}"#
                    ),
                    status: statuses[i % statuses.len()].parse().unwrap(),
                    next_attempt_at: now,
                }
            })
            .collect();
        db.run(move |c| inbox::insert_batch(c, &chunk)).await.unwrap();
    }
}

/// Scrapes until stopped, every [`SCRAPE_EVERY`]: `/metrics` three times out of four, else
/// `/readyz`. Returns each scrape's status and time.
async fn scrape(address: String, index: usize, stop: Arc<AtomicBool>) -> Vec<(u16, Duration)> {
    let client = load::client();
    let mut results = Vec::new();
    let mut n = index;
    while !stop.load(Ordering::Relaxed) {
        let path = if n % 4 == 3 { "/readyz" } else { "/metrics" };
        n += 1;
        let started = Instant::now();
        let status = match client.get(format!("{address}{path}")).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                status
            }
            Err(_) => 0,
        };
        let took = started.elapsed();
        results.push((status, took));
        tokio::time::sleep(SCRAPE_EVERY.saturating_sub(took)).await;
    }
    results
}

/// Sends signed tenant.created deliveries one after another for [`DURATION`].
async fn send(address: String, sender: usize) -> Vec<load::Answer> {
    let client = load::client();
    let started = Instant::now();
    let mut answers = Vec::new();
    let mut i = 0;
    while started.elapsed() < DURATION {
        let tenant = format!("scrape-valid-{sender}-{i}");
        let delivery = Delivery::standard(&unique_id(), &tenant, &load::tenant_created(&tenant, 0));
        answers.push(load::post(&client, &address, &delivery).await);
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answers
}

//! Database outage: Postgres becomes unreachable for five seconds under load (a cut TCP proxy in
//! front of it). Answers are 2xx or 503 with `Retry-After`, never a 2xx for an event that was not
//! stored, no panic; the workers back off; everything resumes without restarting tenantgate.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::load::{self, Answer, Delivery};
use super::{
    claims_without_attempt_row, count_lines, creates_per_name, exclusive, extra_audits, extra_creates, panics, poll,
    summary, Config, Inbox,
};
use crate::fake_airbyte::FakeAirbyte;
use crate::helpers::*;
use crate::proxy::CuttableProxy;

const OUTAGE: Duration = Duration::from_secs(5);
const SENDERS: usize = 8;
/// Each sender's pause between two new deliveries: about 400 deliveries a second in all.
const PACE: Duration = Duration::from_millis(20);
/// A sender's pause before it retries a 503 (the server asks for 5 s; compressed here).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Every delivery sent, and every answer with its delivery's key.
#[derive(Default)]
struct Log {
    answers: Vec<(String, Answer)>,
    sent: Vec<Delivery>,
}

/// A sender: new tenants' creations one after another; a 503 is retried until it is a 2xx.
async fn sender(address: String, id: usize, stop: Arc<AtomicBool>, acked: Arc<AtomicUsize>, log: Arc<Mutex<Log>>) {
    let client = load::client();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let tenant = format!("outage-{id}-{n:05}");
        n += 1;
        let delivery = Delivery::standard(&format!("msg_{tenant}"), &tenant, &load::tenant_created(&tenant, 0));
        log.lock().unwrap().sent.push(delivery.clone());
        loop {
            let answer = load::post(&client, &address, &delivery).await;
            let retry = answer.status == Some(503);
            if answer.acknowledged() {
                acked.fetch_add(1, Ordering::Relaxed);
            }
            log.lock().unwrap().answers.push((delivery.key.clone(), answer));
            if !retry {
                break;
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        tokio::time::sleep(PACE).await;
    }
}

async fn ready(client: &reqwest::Client, address: &str) -> u16 {
    client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_for_five_seconds_under_load_answers_503_never_a_false_2xx_and_resumes_without_a_restart() {
    let Some(admin_url) = postgres_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let _one_at_a_time = exclusive().await;
    let database = TestDatabase::create(Backend::Postgres);
    let server_address = server_of(&admin_url);
    let target = tokio::net::lookup_host(&server_address).await.unwrap().next().unwrap();
    let proxy = CuttableProxy::start(target).await;
    let through_proxy = database
        .url
        .replace(&server_address, &format!("127.0.0.1:{}", proxy.port));
    let fake = FakeAirbyte::start().await;
    let mut config = Config::new(&through_proxy);
    config
        .airbyte(&fake.base_url())
        .set("TENANTGATE__DATABASE__CONNECT_TIMEOUT_SECS", "1")
        .set("TENANTGATE__WORKER__LEASE_SECS", "15")
        .set("TENANTGATE__WORKER__RETRY_SCHEDULE_SECS", "0.2,0.4,0.8,1,1,1,1,1,1,1");
    let mut server = config.start();
    let client = load::client();

    let (stop, acked, log) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::new(Log::default())),
    );
    let senders: Vec<_> = (0..SENDERS)
        .map(|id| {
            tokio::spawn(sender(
                server.address.clone(),
                id,
                stop.clone(),
                acked.clone(),
                log.clone(),
            ))
        })
        .collect();
    let warm = poll(Duration::from_secs(30), Duration::from_millis(20), || async {
        (acked.load(Ordering::Relaxed) >= 300).then_some(())
    })
    .await;
    assert!(warm.is_some(), "the load did not start");

    proxy.cut().await;
    let cut_at = Instant::now();
    let unready = poll(OUTAGE, Duration::from_millis(100), || async {
        (ready(&client, &server.address).await == 503).then_some(())
    })
    .await;
    // The outage lasts its full length, whatever the probes took.
    tokio::time::sleep(OUTAGE.saturating_sub(cut_at.elapsed())).await;
    let acked_before_restore = acked.load(Ordering::Relaxed);
    proxy.restore().await;
    let restored_at = Instant::now();
    let back = poll(Duration::from_secs(30), Duration::from_millis(50), || async {
        (ready(&client, &server.address).await == 200).then_some(())
    })
    .await;
    let ready_again_in = restored_at.elapsed();
    let resumed = poll(Duration::from_secs(30), Duration::from_millis(20), || async {
        (acked.load(Ordering::Relaxed) >= acked_before_restore + 300).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }

    let inbox = Inbox::open(&database.url);
    let log = std::mem::take(&mut *log.lock().unwrap());
    let counts = inbox.settled(log.sent.len() as i64, Duration::from_secs(90)).await;
    let settled_in = restored_at.elapsed();
    let still_running = server.is_running();
    let events = inbox.events().await;
    let claims_cut = claims_without_attempt_row(&events, &inbox.attempts().await);
    let stored: HashSet<&str> = events.iter().map(|e| e.idempotency_key.as_str()).collect();
    let per_name = creates_per_name(&fake).await;
    let duplicated_effects = extra_creates(&per_name) + extra_audits(&inbox.audits_per_event().await);
    let lines = server.stop();

    let answers = &log.answers;
    let ok = answers.iter().filter(|(_, a)| a.acknowledged()).count();
    // A 503 whose insert did commit (the answer was lost with the connection): the retry is then
    // answered `duplicate`.
    let duplicates = answers.iter().filter(|(_, a)| a.code == "duplicate").count();
    let unavailable: Vec<&Answer> = answers
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a.status == Some(503))
        .collect();
    let other: Vec<_> = answers
        .iter()
        .filter(|(_, a)| !a.acknowledged() && a.status != Some(503))
        .map(|(_, a)| (a.status, a.code.clone()))
        .collect();
    let lost: Vec<&str> = answers
        .iter()
        .filter(|(_, a)| a.acknowledged())
        .map(|(k, _)| k.as_str())
        .filter(|k| !stored.contains(k))
        .collect();
    let slowest_503 = unavailable.iter().map(|a| a.latency).max().unwrap_or_default();
    // The job runner's line (src/jobs/runner.rs), for the events' queue (the notifications' has
    // its own and backs off alike).
    let backoffs = lines
        .iter()
        .filter(|line| {
            line.contains("cannot claim; backing off")
                && (line.contains(r#""queue":"events""#)
                    || line.contains("queue=events")
                    || line.contains(r#"queue="events""#))
        })
        .count();
    let writer_waits = count_lines(
        &lines,
        "outcome not written yet: the database is unavailable; backing off",
    );
    let unrecorded = count_lines(&lines, "could not record the outcome");

    summary(
        "outage",
        Backend::Postgres,
        &[
            ("outage_ms", OUTAGE.as_millis().to_string()),
            ("deliveries", log.sent.len().to_string()),
            ("answers", answers.len().to_string()),
            ("acknowledged", ok.to_string()),
            ("answered_503", unavailable.len().to_string()),
            ("duplicate_after_503", duplicates.to_string()),
            ("other_answers", other.len().to_string()),
            ("slowest_503_ms", slowest_503.as_millis().to_string()),
            ("lost", lost.len().to_string()),
            ("stored", events.len().to_string()),
            ("succeeded", counts.get("succeeded").copied().unwrap_or(0).to_string()),
            ("duplicated_effects", duplicated_effects.to_string()),
            ("worker_backoffs", backoffs.to_string()),
            ("outcome_waits", writer_waits.to_string()),
            ("outcomes_unrecorded", unrecorded.to_string()),
            ("claims_without_attempt_row", claims_cut.to_string()),
            ("ready_again_ms", ready_again_in.as_millis().to_string()),
            ("settled_after_restore_ms", settled_in.as_millis().to_string()),
            ("panics", panics(&lines).len().to_string()),
        ],
    );
    assert!(unready.is_some(), "/readyz never said 503 during the outage");
    assert!(
        back.is_some() && resumed.is_some(),
        "the service did not resume after the outage"
    );
    assert!(
        still_running,
        "tenantgate exited: the same process must ride the outage out"
    );
    assert!(
        other.is_empty(),
        "answers other than 2xx or 503: {:?}",
        &other[..other.len().min(5)]
    );
    assert!(!unavailable.is_empty(), "the outage was not felt");
    assert!(
        unavailable
            .iter()
            .all(|a| a.retry_after && a.code == "database_unavailable"),
        "a 503 without Retry-After or the error code"
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(
        events.len(),
        log.sent.len(),
        "every delivery was stored in the end (503s were retried)"
    );
    assert_eq!(counts.get("succeeded"), Some(&(events.len() as i64)), "{counts:?}");
    assert_eq!(fake.workspaces().len(), events.len(), "one workspace per tenant");
    assert_eq!(duplicated_effects, 0);
    // Backing off: a claim failure waits a second, rather than spinning through the outage. The
    // workers feel the outage one way or the other: with a slot free they claim and fail; with
    // every slot held by an event whose outcome cannot be written, those writes wait instead.
    assert!(backoffs <= OUTAGE.as_secs() as usize + 5, "{backoffs} claim back-offs");
    assert!(
        backoffs + writer_waits >= 1,
        "the workers never met the outage ({backoffs} claim back-offs, {writer_waits} outcome waits)"
    );
    assert!(panics(&lines).is_empty(), "{:?}", panics(&lines));
}

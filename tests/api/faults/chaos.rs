//! Provider chaos: 30 % of the calls to Airbyte get a 500, a 429, an answer later than the
//! client's timeout, or a dropped connection (before or after the call took effect). Every event
//! still ends `succeeded`, no tenant gets a second workspace, and every attempt is logged.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tenantgate::tenants;

use super::chaos_front::{ChaosFront, Fate};
use super::load::{self, Delivery};
use super::{count_lines, creates_per_name, exclusive, extra_creates, panics, rng, summary, Config, Inbox};
use crate::fake_airbyte::FakeAirbyte;
use crate::helpers::*;
use crate::on_both_backends;

const TENANTS: usize = 100;
const CHAOS_RATE: f64 = 0.3;
/// Longer than the client's 1 s timeout.
const HANG: Duration = Duration::from_millis(1_500);
/// 40 retries, at most 0.3 s apart. An attempt makes at most two calls (a look-up and a create,
/// or the jobs and connections lists), so it fails with a chance of at most 1 − 0.7² ≈ 0.51, and
/// an event needing more than 41 attempts is a one-in-a-trillion event.
fn generous_schedule() -> String {
    let mut steps = vec!["0.05".to_owned(), "0.1".to_owned(), "0.2".to_owned()];
    steps.extend(std::iter::repeat_n("0.3".to_owned(), 37));
    steps.join(",")
}

on_both_backends! {
    async fn provider_chaos_on_thirty_percent_of_calls_ends_every_event_succeeded_with_one_workspace_each(backend) {
        scenario(backend).await
    }
}

async fn scenario(backend: Backend) {
    let _one_at_a_time = exclusive().await;
    let (mut rng, seed) = rng();
    let fake = FakeAirbyte::start().await;
    let front = ChaosFront::start(&fake.server.uri(), CHAOS_RATE, HANG, rng.u64(..)).await;
    let database = TestDatabase::create(backend);
    let mut config = Config::new(&database.url);
    config
        .airbyte(&front.base_url())
        .set("TENANTGATE__WORKER__RETRY_SCHEDULE_SECS", &generous_schedule());
    let server = config.start();
    let started = Instant::now();

    // Every tenant is created; then every other one is deleted (archive: list jobs, list
    // connections) and the others get a user, each after its creation is acknowledged.
    let tenants: Vec<String> = (0..TENANTS).map(|t| format!("chaos-{t:03}")).collect();
    let creates: Vec<Delivery> = tenants
        .iter()
        .map(|t| Delivery::standard(&format!("msg_{t}_created"), t, &load::tenant_created(t, 0)))
        .collect();
    let mut follow_ups: Vec<Delivery> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| match i % 2 {
            0 => Delivery::standard(&format!("msg_{t}_deleted"), t, &load::tenant_deleted(t, 60)),
            _ => Delivery::standard(&format!("msg_{t}_user"), t, &load::user_activated(t, "user-1", 60)),
        })
        .collect();
    rng.shuffle(&mut follow_ups);
    let mut answers = load::send_all(&server.address, &creates, 16, |_, _| {}).await;
    answers.extend(load::send_all(&server.address, &follow_ups, 16, |_, _| {}).await);
    assert!(
        answers.iter().all(|a| a.status == Some(200)),
        "{:?}",
        answers.iter().find(|a| a.status != Some(200))
    );

    let inbox = Inbox::open(&database.url);
    // Each 429 (with `Retry-After: 1`) closes the pacing gate for every worker, then calls resume
    // paced: the scenario settles in 60–100 s.
    let counts = inbox.settled((TENANTS * 2) as i64, Duration::from_secs(240)).await;
    let settled_in = started.elapsed();
    let events = inbox.events().await;
    let attempts = inbox.attempts().await;
    let lines = server.stop();

    // Every attempt is logged: one row per claim, each failure with its error and a log line.
    let claimed: i64 = events.iter().map(|e| i64::from(e.attempts)).sum();
    let failed: Vec<_> = attempts.iter().filter(|a| a.outcome == "failed_retrying").collect();
    let failed_without_error = failed
        .iter()
        .filter(|a| a.error.as_deref().unwrap_or("").is_empty())
        .count();
    let failure_lines = count_lines(&lines, "event failed; will retry");
    let rate_limited = front
        .calls()
        .iter()
        .filter(|call| call.fate == Fate::RateLimited)
        .count();
    // A 429 is waited out inside its attempt (counted in `throttled_calls`), or, for a create
    // after an unknown outcome, ends the attempt `throttled` (the next one looks again).
    let throttled_calls: usize = attempts.iter().map(|a| a.throttled_calls as usize).sum::<usize>()
        + attempts.iter().filter(|a| a.outcome == "throttled").count();
    let per_name = creates_per_name(&fake).await;
    let names: BTreeSet<String> = fake.workspaces().into_iter().map(|(_, name, _)| name).collect();
    let max_attempts = events.iter().map(|e| e.attempts).max().unwrap_or(0);
    // Creates that took effect without the client learning it: each must be adopted.
    let unknown_creates = front.count("POST /v1/workspaces", &[Fate::Hang, Fate::DropAfter]);

    summary(
        "chaos",
        backend,
        &[
            ("events", events.len().to_string()),
            ("succeeded", counts.get("succeeded").copied().unwrap_or(0).to_string()),
            ("provider_calls", front.calls().len().to_string()),
            ("faults", front.faults().to_string()),
            ("fates", front.tally()),
            ("attempts", attempts.len().to_string()),
            ("failed_attempts", failed.len().to_string()),
            ("max_attempts_per_event", max_attempts.to_string()),
            ("creates_with_unknown_outcome", unknown_creates.to_string()),
            ("workspaces", fake.workspaces().len().to_string()),
            ("duplicated_effects", extra_creates(&per_name).to_string()),
            ("settled_ms", settled_in.as_millis().to_string()),
            ("seed", seed.to_string()),
        ],
    );
    assert_eq!(counts.get("succeeded"), Some(&((TENANTS * 2) as i64)), "{counts:?}");
    assert_eq!(
        fake.workspaces().len(),
        TENANTS,
        "one workspace per tenant: creates per name {per_name:?}"
    );
    assert_eq!(names.len(), TENANTS);
    assert_eq!(extra_creates(&per_name), 0);
    assert!(
        front.faults() > 0 && attempts.len() > events.len(),
        "the chaos was felt"
    );
    assert_eq!(attempts.len() as i64, claimed, "an attempt row for every claim");
    assert_eq!(failed_without_error, 0, "every failed attempt has its error");
    // Each fault but a 429 ends exactly the attempt it hit, and nothing else fails; a 429 is
    // not a failure: its attempt waits at the pacing gate, sends the call again, and logs it.
    assert_eq!(
        failed.len(),
        front.faults() - rate_limited,
        "failed attempts vs faults ({})",
        front.tally()
    );
    assert_eq!(throttled_calls, rate_limited, "every 429 is in its attempt's log");
    assert_eq!(failure_lines, failed.len(), "a log line for every failed attempt");
    assert!(panics(&lines).is_empty(), "{:?}", panics(&lines));
    for (i, tenant) in tenants.iter().enumerate() {
        let expected = if i % 2 == 0 { "archived" } else { "active" };
        assert_eq!(
            mapping_status(&inbox, tenant).await.as_deref(),
            Some(expected),
            "{tenant}"
        );
    }
}

async fn mapping_status(inbox: &Inbox, tenant: &str) -> Option<String> {
    let tenant = tenant.to_owned();
    let mapping = inbox.run(move |c| tenants::mapping(c, &tenant)).await;
    mapping.map(|mapping| mapping.status.to_string())
}

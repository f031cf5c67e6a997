//! Pacing: 1,000 `tenant.created` deliveries against an Airbyte that allows 20 requests a second,
//! answers each in 100 ms, and refuses the rest with a 429 without `Retry-After`. The provider
//! could make them all in 50 s. Every event must succeed within 1.3 times that, none dead, one
//! workspace per tenant, under 10 % of calls refused, and no workspace listing; the same with two
//! instances sharing the database (and so the limit), which know of each other only through
//! the provider's answers.

use std::time::{Duration, Instant};

use super::load::{self, Delivery};
use super::{creates_per_name, exclusive, extra_creates, panics, summary, Config, Inbox};
use crate::fake_airbyte::FakeAirbyte;
use crate::helpers::*;
use crate::on_both_backends;

const TENANTS: usize = 1_000;
const LIMIT_PER_SEC: usize = 20;
const LATENCY: Duration = Duration::from_millis(100);

on_both_backends! {
    async fn a_thousand_creations_at_a_limit_of_twenty_a_second_converge_at_the_limit(backend) {
        scenario(backend, 1).await
    }
}

#[tokio::test]
async fn two_instances_share_the_limit_without_talking_to_each_other() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    scenario(Backend::Postgres, 2).await
}

async fn scenario(backend: Backend, instances: usize) {
    let _one_at_a_time = exclusive().await;
    let fake = FakeAirbyte::start().await;
    fake.limit_rate(LIMIT_PER_SEC, LATENCY);
    let database = TestDatabase::create(backend);
    let mut config = Config::new(&database.url);
    // The shipped retry schedule: a throttled call must not need it.
    config
        .airbyte(&fake.base_url())
        .set("TENANTGATE__WORKER__RETRY_SCHEDULE_SECS", "30,120,600")
        .set("TENANTGATE__PROVIDER__AIRBYTE__REQUEST_TIMEOUT_MS", "5000");
    let servers: Vec<_> = (0..instances).map(|_| config.start()).collect();
    let tenants: Vec<String> = (0..TENANTS).map(|t| format!("paced-{t:04}")).collect();
    let deliveries: Vec<Delivery> = tenants
        .iter()
        .map(|t| Delivery::standard(&format!("msg_{t}_created"), t, &load::tenant_created(t, 0)))
        .collect();

    let started = Instant::now();
    // Spread over the instances as a load balancer would.
    let mut acknowledged = 0;
    for (i, server) in servers.iter().enumerate() {
        let share: Vec<Delivery> = deliveries.iter().skip(i).step_by(instances).cloned().collect();
        let answers = load::send_all(&server.address, &share, 16, |_, _| {}).await;
        acknowledged += answers.iter().filter(|a| a.acknowledged()).count();
    }
    assert_eq!(acknowledged, TENANTS);
    let inbox = Inbox::open(&database.url);
    let counts = inbox.settled(TENANTS as i64, Duration::from_secs(240)).await;
    let took = started.elapsed();

    let ideal = Duration::from_secs_f64(TENANTS as f64 / LIMIT_PER_SEC as f64);
    let traffic = fake.traffic();
    // Workspaces made, per name (a create refused with a 429 made none).
    let mut per_name = std::collections::BTreeMap::<String, usize>::new();
    for (_, name, _) in fake.workspaces() {
        *per_name.entry(name).or_default() += 1;
    }
    let creates_sent = creates_per_name(&fake).await.values().sum::<usize>();
    let events = inbox.events().await;
    let attempts = inbox.attempts().await;
    let spent_retries = events.iter().filter(|e| e.attempts_in_round() > 1).count();
    let throttled_calls: i64 = attempts.iter().map(|a| i64::from(a.throttled_calls)).sum();
    let missing: Vec<&String> = tenants
        .iter()
        .filter(|t| per_name.get(&load::workspace_name(t)) != Some(&1))
        .collect();
    let refused_share = traffic.rate_limited as f64 / traffic.requests as f64;
    let lives: Vec<Vec<String>> = servers.into_iter().map(|s| s.stop()).collect();

    summary(
        if instances == 1 {
            "pacing"
        } else {
            "pacing_two_instances"
        },
        backend,
        &[
            ("creations", TENANTS.to_string()),
            ("limit_per_sec", LIMIT_PER_SEC.to_string()),
            ("instances", instances.to_string()),
            ("succeeded", counts.get("succeeded").copied().unwrap_or(0).to_string()),
            ("dead", counts.get("dead").copied().unwrap_or(0).to_string()),
            ("took_ms", took.as_millis().to_string()),
            ("ideal_ms", ideal.as_millis().to_string()),
            (
                "ratio_to_ideal",
                format!("{:.2}", took.as_secs_f64() / ideal.as_secs_f64()),
            ),
            ("calls", traffic.requests.to_string()),
            ("refused_429", traffic.rate_limited.to_string()),
            ("refused_share", format!("{:.3}", refused_share)),
            ("listings", traffic.listings.to_string()),
            ("throttled_calls_logged", throttled_calls.to_string()),
            ("events_with_a_spent_retry", spent_retries.to_string()),
            ("creates_sent", creates_sent.to_string()),
            ("duplicated_workspaces", extra_creates(&per_name).to_string()),
        ],
    );
    assert_eq!(counts.get("succeeded").copied(), Some(TENANTS as i64), "{counts:?}");
    assert!(
        missing.is_empty(),
        "{} tenants without exactly one workspace",
        missing.len()
    );
    assert_eq!(extra_creates(&per_name), 0);
    assert_eq!(
        traffic.listings, 0,
        "no workspace listing: a refused create is known to have made nothing"
    );
    assert_eq!(spent_retries, 0, "throttling spent no event's retries");
    assert!(
        took.as_secs_f64() <= ideal.as_secs_f64() * 1.3,
        "{TENANTS} creations took {took:?}, over 1.3 × the ideal {ideal:?}"
    );
    assert!(refused_share < 0.10, "{:.1} % of calls refused", refused_share * 100.0);
    for life in &lives {
        assert!(panics(life).is_empty(), "{:?}", panics(life));
    }
}

//! Crash: 5,000 signed deliveries at concurrency 16, the server killed with SIGKILL at a random
//! moment, restarted on the same database with nothing resent. Every delivery that got a 2xx is
//! in the inbox and ends `succeeded`, and the fake saw one workspace create per tenant. With the
//! shipped lease, the claims the killed process held are taken again within 30 s of the restart
//! (they would wait out a five-minute lease before leases were renewed while held).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use super::load::{self, Delivery};
use super::{
    claims_without_attempt_row, creates_per_name, exclusive, extra_audits, extra_creates, panics, rng, summary, Config,
    Inbox,
};
use crate::fake_airbyte::FakeAirbyte;
use crate::helpers::*;
use crate::on_both_backends;

const TENANTS: usize = 500;
/// Per tenant: its creation and nine users activated.
const EVENTS_PER_TENANT: usize = 10;
const CONCURRENCY: usize = 16;

/// Every tenant's events, shuffled: a tenant's users may arrive before its creation (the payload
/// times still order them).
fn deliveries(rng: &mut fastrand::Rng) -> Vec<Delivery> {
    let mut all = Vec::with_capacity(TENANTS * EVENTS_PER_TENANT);
    for t in 0..TENANTS {
        let tenant = format!("crash-{t:04}");
        let created = load::tenant_created(&tenant, 0);
        all.push(Delivery::standard(&format!("msg_{tenant}_created"), &tenant, &created));
        for u in 1..EVENTS_PER_TENANT {
            let user = load::user_activated(&tenant, &format!("user-{u}"), u as i64);
            all.push(Delivery::standard(&format!("msg_{tenant}_user_{u}"), &tenant, &user));
        }
    }
    rng.shuffle(&mut all);
    all
}

on_both_backends! {
    async fn a_server_killed_mid_load_loses_no_acknowledged_event_and_makes_no_second_workspace(backend) {
        scenario(backend).await
    }
}

async fn scenario(backend: Backend) {
    let _one_at_a_time = exclusive().await;
    let (mut rng, seed) = rng();
    let database = TestDatabase::create(backend);
    let fake = FakeAirbyte::start().await;
    let mut config = Config::new(&database.url);
    // The shipped lease: how long the killed process's claims wait is part of what is measured.
    config.airbyte(&fake.base_url());
    let deliveries = deliveries(&mut rng);
    let kill_after = rng.usize(deliveries.len() / 10..deliveries.len() * 9 / 10);

    let started = Instant::now();
    let mut server = Some(config.start());
    let address = server.as_ref().unwrap().address.clone();
    let mut acknowledged = 0;
    let mut first_life = Vec::new();
    let answers = load::send_all(&address, &deliveries, CONCURRENCY, |_, answer| {
        if answer.acknowledged() {
            acknowledged += 1;
        }
        if acknowledged >= kill_after {
            if let Some(running) = server.take() {
                first_life = running.kill(); // SIGKILL: no shutdown, claims left held
            }
        }
    })
    .await;
    assert!(
        server.is_none(),
        "the server was not killed: {acknowledged} acknowledged"
    );
    let sent_for = started.elapsed();

    let inbox = Inbox::open(&database.url);
    let held: Vec<(i64, i32)> = inbox
        .events()
        .await
        .iter()
        .filter(|e| e.status == "processing")
        .map(|e| (e.id, e.attempts))
        .collect();
    let restarted = Instant::now();
    let server = config.start();
    let redone_in = inbox.claims_redone(&held, Duration::from_secs(120)).await;
    let counts = inbox.settled(acknowledged as i64, Duration::from_secs(120)).await;
    let recovered_in = restarted.elapsed();

    // Every acknowledged delivery is stored, and every stored event succeeded.
    let events = inbox.events().await;
    let claims_cut = claims_without_attempt_row(&events, &inbox.attempts().await);
    let stored: HashSet<&str> = events.iter().map(|e| e.idempotency_key.as_str()).collect();
    let acked: Vec<&Delivery> = deliveries
        .iter()
        .zip(&answers)
        .filter(|(_, answer)| answer.acknowledged())
        .map(|(delivery, _)| delivery)
        .collect();
    let lost: Vec<&str> = acked
        .iter()
        .map(|d| d.key.as_str())
        .filter(|k| !stored.contains(k))
        .collect();
    let not_succeeded: Vec<_> = events
        .iter()
        .filter(|e| e.status != "succeeded")
        .map(|e| (e.id, &e.status, &e.last_error))
        .collect();
    let unexpected: Vec<_> = answers
        .iter()
        .filter(|a| a.status.is_some_and(|s| s != 200))
        .map(|a| (a.status, &a.code))
        .collect();

    // One workspace create per tenant, and one for each tenant whose creation was acknowledged.
    let per_name = creates_per_name(&fake).await;
    let created_tenants: BTreeSet<&str> = acked
        .iter()
        .filter(|d| d.key.ends_with("_created"))
        .map(|d| d.tenant.as_str())
        .collect();
    let missing: Vec<&&str> = created_tenants
        .iter()
        .filter(|t| per_name.get(&load::workspace_name(t)) != Some(&1))
        .collect();
    let duplicated_effects = extra_creates(&per_name) + extra_audits(&inbox.audits_per_event().await);
    let second_life = server.stop();

    summary(
        "crash",
        backend,
        &[
            ("sent", deliveries.len().to_string()),
            ("concurrency", CONCURRENCY.to_string()),
            ("killed_after_acks", kill_after.to_string()),
            ("acknowledged", acknowledged.to_string()),
            (
                "unanswered",
                answers.iter().filter(|a| a.status.is_none()).count().to_string(),
            ),
            ("stored", events.len().to_string()),
            (
                "stored_unacknowledged",
                events.len().saturating_sub(acked.len()).to_string(),
            ),
            ("claims_cut_by_kill", claims_cut.to_string()),
            ("succeeded", counts.get("succeeded").copied().unwrap_or(0).to_string()),
            ("lost", lost.len().to_string()),
            ("duplicated_effects", duplicated_effects.to_string()),
            ("workspaces", fake.workspaces().len().to_string()),
            ("tenants_with_acked_create", created_tenants.len().to_string()),
            ("load_ms", sent_for.as_millis().to_string()),
            ("claims_held_by_the_dead", held.len().to_string()),
            ("claims_redone_ms", redone_in.as_millis().to_string()),
            ("recovery_ms", recovered_in.as_millis().to_string()),
            ("seed", seed.to_string()),
        ],
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert!(
        redone_in <= Duration::from_secs(30),
        "the dead instance's {} claims were redone {redone_in:?} after the restart",
        held.len()
    );
    assert!(
        not_succeeded.is_empty(),
        "{} events did not succeed: {:?}",
        not_succeeded.len(),
        &not_succeeded[..not_succeeded.len().min(5)]
    );
    assert!(
        unexpected.is_empty(),
        "answers other than 200: {:?}",
        &unexpected[..unexpected.len().min(5)]
    );
    assert_eq!(
        duplicated_effects,
        0,
        "creates per name: {:?}",
        per_name.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert!(
        missing.is_empty(),
        "acknowledged creations without exactly one workspace: {missing:?}"
    );
    assert_eq!(fake.workspaces().len(), per_name.len());
    for life in [&first_life, &second_life] {
        assert!(panics(life).is_empty(), "{:?}", panics(life));
    }
}

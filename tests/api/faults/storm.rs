//! Duplicate storm: 100 events, each delivered 10 times, the copies interleaved and in flight
//! together: 100 inbox rows, 100 workspaces, every delivery answered 200.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::load::{self, Delivery};
use super::{creates_per_name, exclusive, extra_audits, extra_creates, panics, rng, summary, Config, Inbox};
use crate::fake_airbyte::FakeAirbyte;
use crate::helpers::*;
use crate::on_both_backends;

const EVENTS: usize = 100;
const COPIES: usize = 10;
const CONCURRENCY: usize = 32;
/// Copies are shuffled within blocks of this many events, so that the copies of one event are
/// close together in the stream and many are in flight at once.
const BLOCK: usize = 4;

on_both_backends! {
    async fn a_storm_of_ten_concurrent_copies_of_each_of_100_events_stores_100_rows_and_makes_100_workspaces(backend) {
        scenario(backend).await
    }
}

async fn scenario(backend: Backend) {
    let _one_at_a_time = exclusive().await;
    let (mut rng, seed) = rng();
    let database = TestDatabase::create(backend);
    let fake = FakeAirbyte::start().await;
    let mut config = Config::new(&database.url);
    config.airbyte(&fake.base_url());
    let server = config.start();

    // Half keyed by `webhook-id` (Standard Webhooks), half by the body's hash (Frontegg's JWT);
    // every copy is signed afresh, as a sender does on each try.
    let events: Vec<Delivery> = (0..EVENTS)
        .map(|i| {
            let tenant = format!("storm-{i:03}");
            let body = load::tenant_created(&tenant, 0);
            match i % 2 {
                0 => Delivery::standard(&format!("msg_{tenant}"), &tenant, &body),
                _ => Delivery::jwt(&tenant, &body),
            }
        })
        .collect();
    let mut stream = Vec::with_capacity(EVENTS * COPIES);
    for block in events.chunks(BLOCK) {
        let mut copies: Vec<Delivery> = block
            .iter()
            .flat_map(|d| std::iter::repeat_n(d.clone(), COPIES))
            .collect();
        rng.shuffle(&mut copies);
        stream.extend(copies);
    }
    let started = Instant::now();
    let answers = load::send_all(&server.address, &stream, CONCURRENCY, |_, _| {}).await;
    let sent_in = started.elapsed();

    let mut ids_per_key: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for (delivery, answer) in stream.iter().zip(&answers) {
        ids_per_key.entry(&delivery.key).or_default().extend(answer.event_id);
    }
    let count = |code: &str| {
        answers
            .iter()
            .filter(|a| a.status == Some(200) && a.code == code)
            .count()
    };
    let (accepted, duplicate) = (count("accepted"), count("duplicate"));
    let inbox = Inbox::open(&database.url);
    let counts = inbox.settled(EVENTS as i64, Duration::from_secs(60)).await;
    let rows = inbox.events().await.len();
    let per_name = creates_per_name(&fake).await;
    let duplicated_effects = extra_creates(&per_name) + extra_audits(&inbox.audits_per_event().await);
    let lines = server.stop();

    summary(
        "storm",
        backend,
        &[
            ("events", EVENTS.to_string()),
            ("deliveries", stream.len().to_string()),
            ("concurrency", CONCURRENCY.to_string()),
            (
                "answered_200",
                answers.iter().filter(|a| a.status == Some(200)).count().to_string(),
            ),
            ("accepted", accepted.to_string()),
            ("duplicate", duplicate.to_string()),
            ("rows", rows.to_string()),
            ("effects", fake.workspaces().len().to_string()),
            ("duplicated_effects", duplicated_effects.to_string()),
            ("load_ms", sent_in.as_millis().to_string()),
            ("seed", seed.to_string()),
        ],
    );
    let refused: Vec<_> = answers.iter().filter(|a| a.status != Some(200)).collect();
    assert!(
        refused.is_empty(),
        "{} deliveries not answered 200, e.g. {:?}",
        refused.len(),
        refused.first()
    );
    assert_eq!((accepted, duplicate), (EVENTS, EVENTS * (COPIES - 1)));
    assert!(
        ids_per_key.values().all(|ids| ids.len() == 1),
        "every copy of an event names the same event id"
    );
    assert_eq!(ids_per_key.len(), EVENTS);
    assert_eq!(rows, EVENTS);
    assert_eq!(counts.get("succeeded"), Some(&(EVENTS as i64)), "{counts:?}");
    assert_eq!(fake.workspaces().len(), EVENTS, "one effect per event");
    assert_eq!(duplicated_effects, 0, "{per_name:?}");
    assert!(panics(&lines).is_empty(), "{:?}", panics(&lines));
}

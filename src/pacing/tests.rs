//! The gate's rules one step at a time, under tokio's paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};

use super::simulation::gate;
use super::*;

/// Spawns `count` callers that each take a permit, note when, and report a success.
fn callers(gate: &Gate, count: usize) -> (JoinSet<()>, Arc<Mutex<Vec<Instant>>>) {
    let granted = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let (gate, granted) = (gate.clone(), granted.clone());
        tasks.spawn(async move {
            let permit = gate.acquire().await;
            granted.lock().unwrap().push(Instant::now());
            permit.succeeded();
        });
    }
    (tasks, granted)
}

#[tokio::test(start_paused = true)]
async fn a_refusal_closes_the_gate_for_every_waiter_until_retry_after() {
    let gate = Gate::new(GateSettings {
        max_requests_per_sec: Some(10.0),
        ..GateSettings::new("test", 4)
    })
    .unwrap();
    let first = gate.acquire().await;
    // Ten callers wait: three hold a slot and a pacing slot in the coming 300 ms, the rest a slot.
    let (mut tasks, granted) = callers(&gate, 10);
    sleep(Duration::from_millis(1)).await;
    assert_eq!(gate.snapshot().waiting, 10);
    let refused_at = Instant::now();
    first.throttled(Some(Duration::from_secs(5)));

    let closed = gate.snapshot();
    assert_eq!(closed.state, GateState::Closed);
    assert_eq!(closed.reopens_in_ms, Some(5_000));
    assert_eq!((closed.throttled, closed.closures), (1, 1));
    while tasks.join_next().await.is_some() {}
    let granted = granted.lock().unwrap().clone();
    assert_eq!(granted.len(), 10);
    let reopened = refused_at + Duration::from_secs(5);
    assert!(
        granted.iter().all(|at| *at >= reopened),
        "a caller passed the closed gate: {granted:?}"
    );
    // Then paced again: one call per interval of the (cut) rate, no burst at the reopening.
    let interval = Duration::from_secs_f64(1.0 / gate.snapshot().requests_per_sec.unwrap());
    for pair in granted.windows(2) {
        assert!(pair[1] - pair[0] >= interval, "{:?} apart", pair[1] - pair[0]);
    }
    assert_eq!(gate.snapshot().state, GateState::Open);
}

#[tokio::test(start_paused = true)]
async fn without_retry_after_the_cool_down_doubles_while_everything_is_refused() {
    let gate = gate(4);
    let mut closures = Vec::new();
    for _ in 0..4 {
        let permit = gate.acquire().await;
        let asked = Instant::now();
        permit.throttled(None);
        closures.push(gate.snapshot().reopens_in_ms.unwrap());
        gate.acquire().await.failed();
        assert!(Instant::now() - asked >= Duration::from_millis(closures[closures.len() - 1]));
    }
    assert_eq!(closures, [100, 200, 400, 800]);
    // A success of a call granted since proves the provider accepts again: back to the first step.
    gate.acquire().await.succeeded();
    gate.acquire().await.throttled(None);
    assert_eq!(gate.snapshot().reopens_in_ms, Some(100));
}

#[tokio::test(start_paused = true)]
async fn refusals_of_calls_already_under_way_cut_once() {
    let gate = gate(8);
    for _ in 0..10 {
        gate.acquire().await.succeeded();
        sleep(Duration::from_millis(50)).await;
    }
    let under_way: Vec<Permit> = futures_util::future::join_all((0..8).map(|_| gate.acquire())).await;
    for permit in under_way {
        permit.throttled(None);
    }
    let snapshot = gate.snapshot();
    assert_eq!((snapshot.throttled, snapshot.closures), (8, 1));
    // Cut from the ten calls per second the provider accepted over the last second, once.
    assert_eq!(snapshot.requests_per_sec, Some(9.0));
    assert_eq!(snapshot.concurrency_limit, 7);
    assert_eq!(snapshot.reopens_in_ms, Some(100));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_permit_counts_as_failed_and_frees_its_slot() {
    let gate = gate(1);
    let permit = gate.acquire().await;
    let (mut tasks, granted) = callers(&gate, 1);
    sleep(Duration::from_secs(1)).await;
    assert!(granted.lock().unwrap().is_empty(), "one slot, taken");
    drop(permit);
    tasks.join_next().await.unwrap().unwrap();
    let snapshot = gate.snapshot();
    assert_eq!((snapshot.abandoned, snapshot.succeeded, snapshot.in_flight), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_stops_waiting_gives_its_slot_back() {
    let gate = Gate::new(GateSettings {
        max_requests_per_sec: Some(1.0),
        ..GateSettings::new("test", 2)
    })
    .unwrap();
    let first = gate.acquire().await;
    // The second takes the other slot, then waits a second for its pacing slot: it gives up.
    let gave_up = tokio::time::timeout(Duration::from_millis(100), gate.acquire()).await;
    assert!(gave_up.is_err());
    let snapshot = gate.snapshot();
    assert_eq!((snapshot.in_flight, snapshot.waiting), (1, 0));
    first.failed();
    assert_eq!(gate.snapshot().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_serializes_for_readyz_and_the_admin_statistics() {
    let gate = gate(4);
    gate.acquire().await.succeeded();
    gate.acquire().await.throttled(Some(Duration::from_secs(2)));
    let json = serde_json::to_value(gate.snapshot()).unwrap();
    assert_eq!(json["name"], "test");
    assert_eq!(json["state"], "closed");
    assert_eq!(json["reopens_in_ms"], 2_000);
    assert!(json["closed_until"].is_string(), "{json}");
    assert_eq!(json["requests_per_sec"], 1.0);
    assert_eq!(
        (json["succeeded"].as_u64(), json["throttled"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (json["concurrency_limit"].as_u64(), json["max_concurrency"].as_u64()),
        (Some(3), Some(4))
    );
    sleep(Duration::from_secs(2)).await;
    let json = serde_json::to_value(gate.snapshot()).unwrap();
    assert_eq!(
        (json["state"].as_str(), &json["closed_until"]),
        (Some("open"), &serde_json::Value::Null)
    );
}

#[test]
fn invalid_settings_are_refused_when_the_gate_is_built() {
    let settings = GateSettings {
        floor_concurrency: 5,
        ..GateSettings::new("test", 4)
    };
    assert!(matches!(
        Gate::new(settings),
        Err(InvalidSettings::Concurrency { floor: 5, max: 4 })
    ));
}

#[tokio::test(start_paused = true)]
async fn callers_who_stop_waiting_give_their_pacing_places_back() {
    let gate = Gate::new(GateSettings {
        max_requests_per_sec: Some(1.0),
        ..GateSettings::new("test", 8)
    })
    .unwrap();
    gate.acquire().await.succeeded();
    // Six callers book the next six seconds, then give up after half a second.
    let mut impatient = JoinSet::new();
    for _ in 0..6 {
        let gate = gate.clone();
        impatient.spawn(async move {
            let _ = tokio::time::timeout(Duration::from_millis(500), gate.acquire()).await;
        });
    }
    while impatient.join_next().await.is_some() {}
    let asked = Instant::now();
    gate.acquire().await.succeeded();
    assert!(
        asked.elapsed() <= Duration::from_secs(1),
        "the next caller waited {:?} for places nobody used",
        asked.elapsed()
    );
}

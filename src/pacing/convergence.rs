//! The gate against simulated providers, under tokio's paused clock: time advances only when
//! every task waits, so these runs take virtual minutes in milliseconds, and the same every time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::simulation::{describe, drive, gate, secs, Provider, Run, Shared, Until, LATENCY};
use super::*;

#[tokio::test(start_paused = true)]
async fn the_rate_converges_to_a_providers_limit_with_few_refusals() {
    // (limit per second, workers, successes wanted): the import first.
    for (limit, workers, wanted) in [(20, 16, 1_000), (10, 16, 500), (50, 32, 2_500), (100, 64, 5_000)] {
        let gate = gate(workers);
        let provider = Provider::limited(limit);
        let run = drive(&gate, &provider, workers, LATENCY, Until::Succeeded(wanted)).await;
        let limit = limit as f64;
        let steady = run.rate_between(run.started + secs(10.0), run.started + run.elapsed());
        println!(
            "limit {limit}/s, {workers} workers: {}; {:.1} % of the limit overall, {:.1} % after the first 10 s",
            describe(&run),
            100.0 * run.rate() / limit,
            100.0 * steady / limit
        );
        assert!(run.rate() >= 0.9 * limit, "limit {limit}: {}", describe(&run));
        assert!(run.rate() <= limit, "limit {limit}: {}", describe(&run));
        assert!(steady >= 0.9 * limit, "limit {limit}: {steady:.2}/s after 10 s");
        assert!(run.throttled_share() < 0.10, "limit {limit}: {}", describe(&run));
    }
}

#[tokio::test(start_paused = true)]
async fn the_hard_cap_holds_whatever_the_provider_accepts() {
    for (case, provider) in [
        ("unlimited", Provider::unlimited()),
        ("limit 20/s", Provider::limited(20)),
    ] {
        let gate = Gate::new(GateSettings {
            max_requests_per_sec: Some(5.0),
            ..GateSettings::new("test", 16)
        })
        .unwrap();
        let run = drive(&gate, &provider, 16, LATENCY, Until::Succeeded(300)).await;
        println!("cap 5/s, {case}: {}", describe(&run));
        let provider = provider.lock().unwrap();
        let busiest = provider
            .arrivals
            .iter()
            .map(|at| provider.arrivals_between(*at, *at + Duration::from_secs(1)))
            .max()
            .unwrap();
        assert!(busiest <= 5, "{case}: {busiest} calls in one second");
        assert!(run.rate() >= 0.95 * 5.0, "{case}: {}", describe(&run));
        assert_eq!(run.throttled, 0, "{case}");
        assert_eq!(gate.snapshot().requests_per_sec, Some(5.0), "{case}");
    }
}

/// Drives `gate` for `duration` while noting the lowest concurrency limit and rate it shows.
async fn lowest_while_driven(
    gate: &Gate,
    provider: &Shared,
    latency: Duration,
    duration: Duration,
) -> (usize, f64, Run) {
    let lowest = Arc::new(Mutex::new((usize::MAX, f64::MAX)));
    let watch = {
        let (gate, lowest) = (gate.clone(), lowest.clone());
        tokio::spawn(async move {
            loop {
                let snapshot = gate.snapshot();
                {
                    let mut lowest = lowest.lock().unwrap();
                    lowest.0 = lowest.0.min(snapshot.concurrency_limit);
                    lowest.1 = lowest.1.min(snapshot.requests_per_sec.unwrap_or(f64::MAX));
                }
                sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let workers = gate.snapshot().max_concurrency;
    let run = drive(gate, provider, workers, latency, Until::Time(Instant::now() + duration)).await;
    watch.abort();
    let (limit, rate) = *lowest.lock().unwrap();
    (limit, rate, run)
}

#[tokio::test(start_paused = true)]
async fn the_rate_floor_holds_against_a_provider_that_allows_less() {
    let settings = GateSettings {
        min_requests_per_sec: 2.0,
        ..GateSettings::new("test", 16)
    };
    let gate = Gate::new(settings).unwrap();
    let provider = Provider::limited(1);
    let (_, lowest_rate, run) = lowest_while_driven(&gate, &provider, LATENCY, Duration::from_secs(60)).await;
    println!("rate floor 2/s against 1/s: {}; {:?}", describe(&run), gate.snapshot());
    assert_eq!(lowest_rate, 2.0, "the rate reached its floor and stayed there");
    let rate = gate.snapshot().requests_per_sec.unwrap();
    assert!(rate < 2.5, "it hovers at the floor, refused whenever it rises: {rate}");
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_floor_holds() {
    let settings = GateSettings {
        floor_concurrency: 10,
        ..GateSettings::new("test", 16)
    };
    let gate = Gate::new(settings).unwrap();
    let provider = Provider::limited(20);
    let (lowest_limit, _, run) = lowest_while_driven(&gate, &provider, LATENCY, Duration::from_secs(60)).await;
    println!(
        "concurrency floor 10 of 16 against 20/s: {}; {:?}",
        describe(&run),
        gate.snapshot()
    );
    assert_eq!(
        lowest_limit, 10,
        "cut at every refusal, down to the floor and no further"
    );
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_limit_keeps_the_slots_the_rate_needs() {
    // Calls of a second against 20/s: 20 under way at once. Cut at every refusal without that
    // bound, the limit would fall to the floor and hold the rate at one call per second.
    let gate = gate(64);
    let provider = Provider::limited(20);
    let (lowest_limit, _, run) = lowest_while_driven(&gate, &provider, secs(1.0), Duration::from_secs(120)).await;
    let end = run.started + Duration::from_secs(120);
    let late = run.rate_between(end - Duration::from_secs(60), end);
    println!(
        "calls of 1 s against 20/s: {}; {late:.2}/s over the last 60 s; lowest limit {lowest_limit}; {:?}",
        describe(&run),
        gate.snapshot()
    );
    assert!(lowest_limit >= 18, "{lowest_limit}");
    assert!(late >= 0.9 * 20.0, "{late:.2}/s");
    assert!(run.throttled_share() < 0.10, "{}", describe(&run));
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_refuses_everything_gets_few_calls_and_is_used_again_when_it_recovers() {
    let gate = gate(16);
    let provider = Provider::limited(20);
    let recovers = Instant::now() + Duration::from_secs(120);
    provider.lock().unwrap().refuse_until(recovers);
    let run = drive(&gate, &provider, 16, LATENCY, Until::Succeeded(200)).await;
    println!("refusing for 120 s, then 20/s: {}", describe(&run));
    // 16 at the start, then one per cool-down: 0.1, 0.2, … 51.2, 60, 60 s.
    assert!(run.throttled <= 16 + 12, "{}", describe(&run));
    let first_success = run.successes.iter().min().copied().unwrap();
    assert!(
        first_success - recovers <= Duration::from_secs(61),
        "{:?}",
        first_success - recovers
    );
}

#[tokio::test(start_paused = true)]
async fn an_unlimited_provider_is_not_paced() {
    let gate = gate(16);
    let provider = Provider::unlimited();
    let run = drive(&gate, &provider, 16, LATENCY, Until::Succeeded(1_600)).await;
    // 16 workers, 100 ms per call: 160 calls per second.
    assert!(run.rate() >= 159.0, "{}", describe(&run));
    let snapshot = gate.snapshot();
    assert_eq!((snapshot.requests_per_sec, snapshot.closures), (None, 0));
    assert_eq!(provider.lock().unwrap().most_in_flight, 16);
}

#[tokio::test(start_paused = true)]
async fn a_gate_that_holds_nothing_back_does_not_grow() {
    let gate = gate(16);
    let provider = Provider::limited(20);
    drive(&gate, &provider, 16, LATENCY, Until::Succeeded(400)).await;
    let paced = gate.snapshot().requests_per_sec.unwrap();
    // A minute of one worker, well under the rate: a burst after it must still be paced.
    let quiet = drive(&gate, &provider, 1, LATENCY, Until::Time(Instant::now() + secs(60.0))).await;
    assert_eq!(quiet.throttled, 0);
    assert_eq!(gate.snapshot().requests_per_sec, Some(paced));
    // A fresh gate's first round alone would get 12 of its 16 calls refused.
    let burst = drive(&gate, &provider, 16, LATENCY, Until::Succeeded(200)).await;
    assert!(burst.throttled_share() < 0.05, "{}", describe(&burst));
}

#[tokio::test(start_paused = true)]
async fn two_instances_share_a_limit_without_talking() {
    let provider = Provider::limited(20);
    let (first, second) = (gate(16), gate(16));
    let start = Instant::now();
    let end = start + Duration::from_secs(240);
    let late = {
        let (second, provider) = (second.clone(), provider.clone());
        tokio::spawn(async move {
            sleep(Duration::from_secs(30)).await;
            drive(&second, &provider, 16, LATENCY, Until::Time(end)).await
        })
    };
    let early = drive(&first, &provider, 16, LATENCY, Until::Time(end)).await;
    let late = late.await.unwrap();
    // Over the last two minutes, after both found the limit.
    let from = end - Duration::from_secs(120);
    let (a, b) = (early.rate_between(from, end), late.rate_between(from, end));
    let calls = early.successes.len() + late.successes.len();
    let refused = early.throttled + late.throttled;
    let share = refused as f64 / (calls as f64 + refused as f64);
    println!(
        "two instances against 20/s: {a:.2}/s + {b:.2}/s = {:.2}/s over the last 120 s; {refused} of {} calls refused ({:.1} %)",
        a + b,
        calls as u64 + refused,
        100.0 * share
    );
    assert!(a + b >= 0.9 * 20.0 && a + b <= 20.0, "{a:.2} + {b:.2}");
    assert!(a.min(b) >= 0.3 * (a + b), "unfair: {a:.2} against {b:.2}");
    assert!(share < 0.10, "{:.1} % refused", 100.0 * share);
}

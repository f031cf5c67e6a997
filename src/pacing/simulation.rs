//! A simulated provider with a rate limit, and workers that call it through a gate, for the
//! tests under tokio's paused clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Gate, GateSettings};

/// A call's round trip, as the stand-in for Airbyte answers.
pub const LATENCY: Duration = Duration::from_millis(100);

pub fn gate(workers: usize) -> Gate {
    Gate::new(GateSettings::new("test", workers)).unwrap()
}

pub fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

pub fn describe(run: &Run) -> String {
    format!(
        "{} succeeded in {:.1} s = {:.2}/s, {} refused ({:.1} % of calls)",
        run.succeeded(),
        run.elapsed().as_secs_f64(),
        run.rate(),
        run.throttled,
        100.0 * run.throttled_share()
    )
}

/// A provider that accepts at most `limit` calls in any sliding window of one second (calls it
/// refuses do not count) and refuses the others as a 429 without `Retry-After` (Airbyte sends
/// none). `limit: None` accepts everything.
#[derive(Debug)]
pub struct Provider {
    limit: Option<usize>,
    accepted: VecDeque<Instant>,
    /// Refuse everything until then (a kill switch).
    refusing_until: Option<Instant>,
    in_flight: usize,
    pub most_in_flight: usize,
    /// Arrival time of every call.
    pub arrivals: Vec<Instant>,
}

pub type Shared = Arc<Mutex<Provider>>;

impl Provider {
    pub fn limited(limit: usize) -> Shared {
        Self::with_limit(Some(limit))
    }

    pub fn unlimited() -> Shared {
        Self::with_limit(None)
    }

    fn with_limit(limit: Option<usize>) -> Shared {
        Arc::new(Mutex::new(Self {
            limit,
            accepted: VecDeque::new(),
            refusing_until: None,
            in_flight: 0,
            most_in_flight: 0,
            arrivals: Vec::new(),
        }))
    }

    pub fn refuse_until(&mut self, until: Instant) {
        self.refusing_until = Some(until);
    }

    /// A call arrives now: accepted or refused.
    fn arrive(&mut self, now: Instant) -> bool {
        self.arrivals.push(now);
        self.in_flight += 1;
        self.most_in_flight = self.most_in_flight.max(self.in_flight);
        while self
            .accepted
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
        {
            self.accepted.pop_front();
        }
        let refusing = self.refusing_until.is_some_and(|until| now < until);
        let full = self.limit.is_some_and(|limit| self.accepted.len() >= limit);
        if refusing || full {
            return false;
        }
        self.accepted.push_back(now);
        true
    }

    fn answered(&mut self) {
        self.in_flight -= 1;
    }

    /// Calls that arrived in `[from, to)`.
    pub fn arrivals_between(&self, from: Instant, to: Instant) -> usize {
        self.arrivals.iter().filter(|at| **at >= from && **at < to).count()
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Run {
    pub started: Instant,
    /// When each success was answered.
    pub successes: Vec<Instant>,
    pub throttled: u64,
}

impl Run {
    pub fn succeeded(&self) -> usize {
        self.successes.len()
    }

    /// From the start to the last success.
    pub fn elapsed(&self) -> Duration {
        let last = self.successes.iter().max().copied().unwrap_or(self.started);
        last.duration_since(self.started)
    }

    /// Successes per second from the start to the last success.
    pub fn rate(&self) -> f64 {
        self.succeeded() as f64 / self.elapsed().as_secs_f64()
    }

    /// Successes per second answered in `[from, to)`.
    pub fn rate_between(&self, from: Instant, to: Instant) -> f64 {
        let count = self.successes.iter().filter(|at| **at >= from && **at < to).count();
        count as f64 / to.duration_since(from).as_secs_f64()
    }

    pub fn throttled_share(&self) -> f64 {
        self.throttled as f64 / (self.succeeded() as f64 + self.throttled as f64)
    }
}

/// When the workers of a run stop.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// Once this many calls succeeded between them.
    Succeeded(usize),
    /// At this time (a call under way then still ends).
    Time(Instant),
}

/// `workers` tasks call `provider` through `gate` until `until`; each call takes `latency`,
/// half on the way there and half back.
pub async fn drive(gate: &Gate, provider: &Shared, workers: usize, latency: Duration, until: Until) -> Run {
    let started = Instant::now();
    let outcomes = Arc::new(Mutex::new((Vec::new(), 0_u64)));
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let (gate, provider, outcomes) = (gate.clone(), provider.clone(), outcomes.clone());
        tasks.spawn(async move {
            loop {
                let done = match until {
                    Until::Succeeded(wanted) => outcomes.lock().unwrap().0.len() >= wanted,
                    Until::Time(end) => Instant::now() >= end,
                };
                if done {
                    break;
                }
                let permit = tokio::select! {
                    permit = gate.acquire() => permit,
                    () = sleep_until(until) => break,
                };
                tokio::time::sleep(latency / 2).await;
                let accepted = provider.lock().unwrap().arrive(Instant::now());
                tokio::time::sleep(latency / 2).await;
                provider.lock().unwrap().answered();
                let mut outcomes = outcomes.lock().unwrap();
                if accepted {
                    permit.succeeded();
                    outcomes.0.push(Instant::now());
                } else {
                    permit.throttled(None);
                    outcomes.1 += 1;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let (successes, throttled) = outcomes.lock().unwrap().clone();
    Run {
        started,
        successes,
        throttled,
    }
}

async fn sleep_until(until: Until) {
    match until {
        Until::Time(end) => tokio::time::sleep_until(end).await,
        Until::Succeeded(_) => std::future::pending().await,
    }
}

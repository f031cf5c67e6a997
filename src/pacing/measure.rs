//! What a gate measures of its own calls: how many were sent and accepted over the last second,
//! and how long they take.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The span over which calls are counted. Rate limits are counted in windows of about this
/// length; Airbyte's and most API gateways' per second.
pub(super) const WINDOW: Duration = Duration::from_secs(1);

/// Weight of the newest call in the mean latency.
const LATENCY_WEIGHT: f64 = 0.2;

/// The times of the events of the last [`WINDOW`].
#[derive(Debug, Default)]
pub(super) struct Recent(VecDeque<Instant>);

impl Recent {
    pub fn push(&mut self, now: Instant) {
        self.forget_before(now);
        self.0.push_back(now);
    }

    /// Events per second over the last window, at least one.
    pub fn per_sec(&mut self, now: Instant) -> f64 {
        self.forget_before(now);
        (self.0.len() as f64 / WINDOW.as_secs_f64()).max(1.0)
    }

    fn forget_before(&mut self, now: Instant) {
        while self.0.front().is_some_and(|at| now.duration_since(*at) >= WINDOW) {
            self.0.pop_front();
        }
    }
}

/// The moving mean of the time from grant to report of successful calls.
#[derive(Debug, Default)]
pub(super) struct Latency(Option<f64>);

impl Latency {
    pub fn record(&mut self, took: Duration) {
        let took = took.as_secs_f64();
        self.0 = Some(match self.0 {
            Some(mean) => mean + LATENCY_WEIGHT * (took - mean),
            None => took,
        });
    }

    /// Calls under way at once to sustain `rate` per second (Little's law), plus one; zero
    /// before any call succeeded.
    pub fn slots_for(&self, rate: f64) -> usize {
        // A finite product of positive numbers; `as` saturates whatever it is.
        self.0.map_or(0, |mean| (rate * mean).ceil() as usize + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn events_older_than_the_window_are_forgotten() {
        let mut recent = Recent::default();
        let start = Instant::now();
        for ms in [0, 200, 400, 999, 1_000, 1_500] {
            recent.push(start + Duration::from_millis(ms));
        }
        // At 1.5 s: the events at 0.999, 1.0 and 1.5 s remain.
        assert_eq!(recent.per_sec(start + Duration::from_millis(1_500)), 3.0);
        assert_eq!(recent.per_sec(start + Duration::from_secs(60)), 1.0, "at least one");
    }

    #[test]
    fn the_slots_a_rate_needs_follow_the_mean_latency() {
        let mut latency = Latency::default();
        assert_eq!(latency.slots_for(20.0), 0, "nothing measured yet");
        latency.record(Duration::from_millis(100));
        assert_eq!(latency.slots_for(18.0), 3);
        for _ in 0..50 {
            latency.record(Duration::from_secs(1));
        }
        assert_eq!(latency.slots_for(18.0), 19);
    }
}

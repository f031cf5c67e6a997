//! When to try a failed attempt again: one policy for every queue.

use std::time::Duration;

use chrono::NaiveDateTime;

/// A schedule of delays with jitter, and how many attempts an item gets: by default a first
/// attempt and one more per step. Allowing fewer cuts the schedule short; allowing more repeats
/// its last step.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    schedule: Vec<Duration>,
    jitter: f64,
    max_attempts: u32,
}

/// What follows a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Try again at this time.
    Retry { at: NaiveDateTime },
    /// The attempts are spent; the error says how many there were and the last one's cause.
    GiveUp { error: String },
}

impl Policy {
    pub fn new(schedule: Vec<Duration>, jitter: f64) -> Self {
        let max_attempts = u32::try_from(schedule.len()).map_or(u32::MAX, |n| n.saturating_add(1));
        Self {
            schedule,
            jitter,
            max_attempts,
        }
    }

    /// The same schedule with another number of attempts, when one is given.
    pub fn with_max_attempts(self, max_attempts: Option<u32>) -> Self {
        Self {
            max_attempts: max_attempts.unwrap_or(self.max_attempts),
            ..self
        }
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay after `attempts` failed attempts, or `None` once they are spent. `spread` in
    /// [-1, 1] picks where in the jitter band the delay falls.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>, spread: f64) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let step = attempts.min(u32::try_from(self.schedule.len()).unwrap_or(u32::MAX));
        next_delay(&self.schedule, self.jitter, step, retry_after, spread)
    }

    /// What follows the `attempts`-th failed attempt, which failed with `error`, at `now`.
    pub fn after_failure(&self, attempts: u32, error: &str, retry_after: Option<Duration>, now: NaiveDateTime) -> Next {
        match self
            .delay(attempts, retry_after, random_spread())
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .and_then(|d| now.checked_add_signed(d))
        {
            Some(at) => Next::Retry { at },
            None => Next::GiveUp {
                error: format!("gave up after {attempts} attempts: {error}"),
            },
        }
    }
}

/// The delay before the next attempt after `attempts` failed ones, or `None` when the schedule
/// is used up (the event is then dead). `spread` in [-1, 1] picks where in the ±`jitter` band
/// the delay falls; a provider's `Retry-After` is honoured when it asks for longer, up to the
/// schedule's longest step (a provider cannot park an event for a year).
fn next_delay(
    schedule: &[Duration],
    jitter: f64,
    attempts: u32,
    retry_after: Option<Duration>,
    spread: f64,
) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = schedule.get(index)?;
    let factor = (1.0 + jitter * spread.clamp(-1.0, 1.0)).max(0.0);
    let jittered = base.mul_f64(factor);
    let longest = schedule.iter().max().copied().unwrap_or_default();
    Some(retry_after.map_or(jittered, |asked| asked.min(longest).max(jittered)))
}

/// A uniformly random spread for [`next_delay`].
pub fn random_spread() -> f64 {
    fastrand::f64() * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &[u64]) -> Vec<Duration> {
        s.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn a_policy_gives_one_attempt_more_than_its_steps_unless_told_otherwise() {
        let policy = Policy::new(secs(&[30, 120]), 0.0);
        assert_eq!(policy.max_attempts(), 3);
        assert_eq!(policy.delay(1, None, 0.0), Some(Duration::from_secs(30)));
        assert_eq!(policy.delay(2, None, 0.0), Some(Duration::from_secs(120)));
        assert_eq!(policy.delay(3, None, 0.0), None);
        assert_eq!(policy.after_failure(1, "503", None, at(0)), Next::Retry { at: at(30) });
        assert_eq!(
            policy.after_failure(3, "503", None, at(0)),
            Next::GiveUp {
                error: "gave up after 3 attempts: 503".into()
            }
        );
        let fewer = policy.clone().with_max_attempts(Some(1));
        assert_eq!(fewer.delay(1, None, 0.0), None, "cut short");
        let more = policy.with_max_attempts(Some(5));
        assert_eq!(
            more.delay(4, None, 0.0),
            Some(Duration::from_secs(120)),
            "the last step repeats"
        );
        assert_eq!(more.delay(5, None, 0.0), None);
    }

    #[test]
    fn each_failure_takes_the_next_step_of_the_schedule() {
        let schedule = secs(&[30, 120, 600]);
        assert_eq!(next_delay(&schedule, 0.2, 1, None, 0.0), Some(Duration::from_secs(30)));
        assert_eq!(next_delay(&schedule, 0.2, 3, None, 0.0), Some(Duration::from_secs(600)));
        assert_eq!(next_delay(&schedule, 0.2, 4, None, 0.0), None, "schedule used up");
        assert_eq!(next_delay(&schedule, 0.2, 0, None, 0.0), None);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let schedule = secs(&[100]);
        assert_eq!(next_delay(&schedule, 0.2, 1, None, -1.0), Some(Duration::from_secs(80)));
        assert_eq!(next_delay(&schedule, 0.2, 1, None, 1.0), Some(Duration::from_secs(120)));
        for _ in 0..1000 {
            let d = next_delay(&schedule, 0.2, 1, None, random_spread()).unwrap();
            assert!(d >= Duration::from_secs(80) && d <= Duration::from_secs(120), "{d:?}");
        }
    }

    #[test]
    fn retry_after_is_capped_at_the_longest_step() {
        let schedule = secs(&[30, 600]);
        let year = Some(Duration::from_secs(31_536_000));
        assert_eq!(next_delay(&schedule, 0.0, 1, year, 0.0), Some(Duration::from_secs(600)));
    }

    #[test]
    fn a_longer_retry_after_wins_and_a_shorter_one_does_not() {
        let schedule = secs(&[30, 600]);
        let long = Some(Duration::from_secs(90));
        assert_eq!(next_delay(&schedule, 0.0, 1, long, 0.0), long);
        assert_eq!(
            next_delay(&schedule, 0.0, 1, Some(Duration::from_secs(5)), 0.0),
            Some(Duration::from_secs(30))
        );
    }
}

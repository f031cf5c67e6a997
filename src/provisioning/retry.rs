//! When to try a failed event again.

use std::time::Duration;

/// The delay before the next attempt after `attempts` failed ones, or `None` when the schedule
/// is used up (the event is then dead). `spread` in [-1, 1] picks where in the ±`jitter` band
/// the delay falls; a provider's `Retry-After` is honoured when it asks for longer, up to the
/// schedule's longest step (a provider cannot park an event for a year).
pub fn next_delay(
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

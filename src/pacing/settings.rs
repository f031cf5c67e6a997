//! How a gate adapts: its bounds, its steps, and their checks.

use std::time::Duration;

/// The longest `max_cool_down` accepted.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// The bounds and steps of one [`Gate`](super::Gate). Build it with [`GateSettings::new`] and
/// change the fields that differ from the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// Shown in logs and in the [`Snapshot`](super::Snapshot), e.g. `"airbyte"`.
    pub name: String,
    /// The concurrency limit never falls below this, however often the provider refuses.
    pub floor_concurrency: usize,
    /// The concurrency limit at the start and at most (the worker's `concurrency`).
    pub max_concurrency: usize,
    /// A hard cap on calls per second, whatever the provider accepts (e.g. a documented
    /// per-application limit). Without it the gate does not pace until the provider first refuses.
    pub max_requests_per_sec: Option<f64>,
    /// The pacing rate never falls below this.
    pub min_requests_per_sec: f64,
    /// Additive increase: calls per second gained per second of successful calls held back by
    /// the pacing.
    pub rate_increase_per_sec: f64,
    /// Multiplicative decrease: the rate and the concurrency limit are multiplied by this when
    /// the provider refuses a call it would have accepted before.
    pub decrease_factor: f64,
    /// The first cool-down after a refusal that names no `Retry-After`.
    pub min_cool_down: Duration,
    /// The longest cool-down: it doubles, up to this, while the provider refuses every call.
    pub max_cool_down: Duration,
}

/// Why a [`GateSettings`] cannot be used; each names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidSettings {
    #[error("floor_concurrency ({floor}) must be at least 1 and at most max_concurrency ({max})")]
    Concurrency { floor: usize, max: usize },
    #[error("{field} must be a positive number, not {value}")]
    NotPositive { field: &'static str, value: f64 },
    #[error("decrease_factor must be more than 0 and less than 1, not {0}")]
    DecreaseFactor(f64),
    #[error("min_requests_per_sec ({min}) must not exceed max_requests_per_sec ({max})")]
    RateBounds { min: f64, max: f64 },
    #[error("min_cool_down must be more than zero and at most max_cool_down, itself at most a day")]
    CoolDown,
}

impl GateSettings {
    /// Default lower bound of the pacing rate, in calls per second.
    pub const DEFAULT_MIN_REQUESTS_PER_SEC: f64 = 1.0;
    /// Default additive increase, in calls per second per second.
    pub const DEFAULT_RATE_INCREASE_PER_SEC: f64 = 0.5;
    /// Default multiplicative decrease: a tenth less after each refusal. A deep cut (TCP's half)
    /// would leave a provider with a hard limit used at three quarters on average.
    pub const DEFAULT_DECREASE_FACTOR: f64 = 0.9;
    /// Default first cool-down: long enough for the provider's window to let a call through
    /// again, short enough to cost a couple of calls at most when it already does.
    pub const DEFAULT_MIN_COOL_DOWN: Duration = Duration::from_millis(100);
    /// Default longest cool-down.
    pub const DEFAULT_MAX_COOL_DOWN: Duration = Duration::from_secs(60);

    /// A gate for `max_concurrency` workers, with a floor of one and the default steps.
    pub fn new(name: impl Into<String>, max_concurrency: usize) -> Self {
        Self {
            name: name.into(),
            floor_concurrency: 1,
            max_concurrency,
            max_requests_per_sec: None,
            min_requests_per_sec: Self::DEFAULT_MIN_REQUESTS_PER_SEC,
            rate_increase_per_sec: Self::DEFAULT_RATE_INCREASE_PER_SEC,
            decrease_factor: Self::DEFAULT_DECREASE_FACTOR,
            min_cool_down: Self::DEFAULT_MIN_COOL_DOWN,
            max_cool_down: Self::DEFAULT_MAX_COOL_DOWN,
        }
    }

    pub fn validate(&self) -> Result<(), InvalidSettings> {
        if self.floor_concurrency == 0 || self.floor_concurrency > self.max_concurrency {
            return Err(InvalidSettings::Concurrency {
                floor: self.floor_concurrency,
                max: self.max_concurrency,
            });
        }
        let positive = [
            ("min_requests_per_sec", Some(self.min_requests_per_sec)),
            ("max_requests_per_sec", self.max_requests_per_sec),
            ("rate_increase_per_sec", Some(self.rate_increase_per_sec)),
        ];
        for (field, value) in positive {
            if let Some(value) = value.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(InvalidSettings::NotPositive { field, value });
            }
        }
        if let Some(max) = self.max_requests_per_sec.filter(|max| *max < self.min_requests_per_sec) {
            return Err(InvalidSettings::RateBounds {
                min: self.min_requests_per_sec,
                max,
            });
        }
        if !(self.decrease_factor > 0.0 && self.decrease_factor < 1.0) {
            return Err(InvalidSettings::DecreaseFactor(self.decrease_factor));
        }
        if self.min_cool_down.is_zero() || self.min_cool_down > self.max_cool_down || self.max_cool_down > LONGEST {
            return Err(InvalidSettings::CoolDown);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_bad_field_is_named() {
        assert_eq!(GateSettings::new("p", 4).validate(), Ok(()));
        let base = || GateSettings::new("p", 4);
        #[rustfmt::skip]
        let cases: Vec<(&str, GateSettings, &str)> = vec![
            ("floor zero", GateSettings { floor_concurrency: 0, ..base() }, "floor_concurrency"),
            ("floor above max", GateSettings { floor_concurrency: 5, ..base() }, "floor_concurrency"),
            ("no workers", GateSettings { max_concurrency: 0, ..base() }, "floor_concurrency"),
            ("zero min rate", GateSettings { min_requests_per_sec: 0.0, ..base() }, "min_requests_per_sec"),
            ("nan cap", GateSettings { max_requests_per_sec: Some(f64::NAN), ..base() }, "max_requests_per_sec"),
            ("cap under min", GateSettings { max_requests_per_sec: Some(0.5), ..base() }, "max_requests_per_sec"),
            ("infinite increase", GateSettings { rate_increase_per_sec: f64::INFINITY, ..base() }, "rate_increase_per_sec"),
            ("factor one", GateSettings { decrease_factor: 1.0, ..base() }, "decrease_factor"),
            ("factor zero", GateSettings { decrease_factor: 0.0, ..base() }, "decrease_factor"),
            ("zero cool-down", GateSettings { min_cool_down: Duration::ZERO, ..base() }, "min_cool_down"),
            ("cool-downs swapped", GateSettings { max_cool_down: Duration::from_millis(10), ..base() }, "max_cool_down"),
            ("a year of cool-down", GateSettings { max_cool_down: Duration::from_secs(365 * 86_400), ..base() }, "max_cool_down"),
        ];
        for (case, settings, field) in cases {
            let error = settings.validate().expect_err(case).to_string();
            assert!(error.contains(field), "{case}: {error:?} should name {field}");
        }
    }
}

//! `[retention]`: how long finished events are kept, and how often the purge runs.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// Longest accepted `finished_after_days` (a century): keeps the cutoff within chrono's range.
pub const MAX_DAYS: u32 = 36_500;

/// The periodic purge of finished events (read by the `retention` module).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RetentionSettings {
    /// Run the purge alongside the workers (`serve` with workers, and `worker`).
    pub enabled: bool,
    /// Finished events (succeeded, skipped, ignored) are deleted this many days after they
    /// finished; this is also how long a redelivery is recognised as a duplicate.
    pub finished_after_days: u32,
    /// Seconds between two runs; the first run comes shortly after start.
    pub interval_secs: u64,
}

impl RetentionSettings {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(1..=MAX_DAYS).contains(&self.finished_after_days) {
            bail!(
                "retention.finished_after_days must be between 1 and {MAX_DAYS}, got {}",
                self.finished_after_days
            );
        }
        if self.interval_secs == 0 {
            bail!("retention.interval_secs must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(days: u32, interval: u64) -> RetentionSettings {
        RetentionSettings {
            enabled: true,
            finished_after_days: days,
            interval_secs: interval,
        }
    }

    #[test]
    fn retention_values_out_of_range_are_refused_naming_the_key() {
        let cases = [
            (settings(0, 3600), Some("retention.finished_after_days")),
            (settings(MAX_DAYS + 1, 3600), Some("retention.finished_after_days")),
            (settings(30, 0), Some("retention.interval_secs")),
            (settings(1, 1), None),
            (settings(MAX_DAYS, u64::MAX), None),
        ];
        for (case, expected) in cases {
            let result = case.validate();
            match expected {
                Some(key) => {
                    let err = result.expect_err(&format!("{case:?} must be refused")).to_string();
                    assert!(err.contains(key), "{case:?}: {err}");
                }
                None => assert!(result.is_ok(), "{case:?} must be accepted: {result:?}"),
            }
        }
    }
}

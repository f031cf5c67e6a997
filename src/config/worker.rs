//! `[worker]`: the provisioning workers.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// The provisioning workers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WorkerSettings {
    pub enabled: bool,
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub lease_secs: f64,
    #[serde(deserialize_with = "super::seconds::list")]
    pub retry_schedule_secs: Vec<f64>,
    pub retry_jitter: f64,
    pub shutdown_timeout_secs: f64,
}

impl WorkerSettings {
    pub fn retry_schedule(&self) -> Vec<Duration> {
        super::seconds::durations(&self.retry_schedule_secs)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs_f64(self.lease_secs)
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 {
            bail!("worker.concurrency must be at least 1");
        }
        if self.poll_interval_ms == 0 {
            bail!("worker.poll_interval_ms must be at least 1");
        }
        if !(self.lease_secs.is_finite() && self.lease_secs > 0.0) {
            bail!("worker.lease_secs must be a positive number of seconds");
        }
        if self.retry_schedule_secs.is_empty() || self.retry_schedule_secs.iter().any(|s| !(s.is_finite() && *s >= 0.0))
        {
            bail!("worker.retry_schedule_secs must list one or more delays in seconds, e.g. [30, 120, 600]");
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            bail!(
                "worker.retry_jitter must be between 0 and 1 (0.2 = ±20 %), got {}",
                self.retry_jitter
            );
        }
        if !(self.shutdown_timeout_secs.is_finite() && self.shutdown_timeout_secs >= 0.0) {
            bail!("worker.shutdown_timeout_secs must be zero or more seconds");
        }
        Ok(())
    }
}

//! `[metrics]`: `GET /metrics`, `/readyz` and `/healthz`.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::admin::MIN_TOKEN_CHARS;

/// `GET /metrics`, `/readyz` and `/healthz`: public, so they never touch the database per request.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MetricsSettings {
    /// When set, `/metrics` answers only requests carrying `Authorization: Bearer <token>`.
    #[serde(serialize_with = "super::redact::one")]
    pub token: SecretString,
    /// Seconds between two refreshes of the database-derived gauges (queue depth by status,
    /// oldest pending age), read by every scrape from memory.
    pub refresh_interval_secs: u64,
}

impl MetricsSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.refresh_interval_secs == 0 {
            bail!("metrics.refresh_interval_secs must be at least 1");
        }
        let token = self.token.expose_secret();
        if !token.is_empty() && (token.trim() != token || token.chars().count() < MIN_TOKEN_CHARS) {
            bail!(
                "metrics.token must be empty (/metrics open) or a random value of at least {} characters without surrounding white space",
                MIN_TOKEN_CHARS
            );
        }
        Ok(())
    }
}

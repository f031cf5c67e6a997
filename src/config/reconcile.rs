//! `[reconcile]`: the periodic comparison of Frontegg's tenants, the mapping and Airbyte's
//! workspaces, and `[reconcile.frontegg]`, the environment credentials it lists tenants with.

use std::time::Duration;

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Read by the `reconcile` module.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReconcileSettings {
    /// Run the reconciler alongside the workers, one instance at a time.
    pub enabled: bool,
    /// Seconds between two periodic runs; the first comes shortly after start.
    pub interval_secs: u64,
    /// A run that would delete (archive) more tenants than this deletes none of them.
    pub max_deletions_per_run: usize,
    /// A mapped workspace Airbyte no longer has is created again and remapped (else reported).
    pub recreate_missing_workspaces: bool,
    pub frontegg: FronteggSettings,
}

/// Frontegg's management API, with an environment's client id and API key.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FronteggSettings {
    /// The region's API gateway: `https://api.frontegg.com` (EU), `https://api.us.frontegg.com`,
    /// `https://api.ca.frontegg.com`, `https://api.au.frontegg.com`.
    pub base_url: String,
    pub client_id: String,
    #[serde(serialize_with = "super::redact::one")]
    pub secret: SecretString,
    /// Tenants asked for per page (1-200).
    pub page_size: u32,
    /// Total time for one request.
    pub request_timeout_ms: u64,
    /// Longest wait for one refused (429) request before the run fails.
    pub max_rate_limit_wait_secs: u64,
}

impl ReconcileSettings {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    /// Whether `[reconcile.frontegg]` holds credentials.
    pub fn has_credentials(&self) -> bool {
        !self.frontegg.client_id.trim().is_empty() && !self.frontegg.secret.expose_secret().is_empty()
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.interval_secs == 0 {
            bail!("reconcile.interval_secs must be at least 1");
        }
        let frontegg = &self.frontegg;
        match url::Url::parse(frontegg.base_url.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => bail!("reconcile.frontegg.base_url must be an http(s) URL, e.g. https://api.frontegg.com"),
        }
        if !(1..=200).contains(&frontegg.page_size) {
            bail!(
                "reconcile.frontegg.page_size must be between 1 and 200, got {}",
                frontegg.page_size
            );
        }
        if frontegg.request_timeout_ms == 0 {
            bail!("reconcile.frontegg.request_timeout_ms must be at least 1");
        }
        if self.enabled && !self.has_credentials() {
            bail!(
                "reconcile.enabled needs reconcile.frontegg.client_id and reconcile.frontegg.secret \
                 (e.g. TENANTGATE__RECONCILE__FRONTEGG__SECRET)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn settings() -> ReconcileSettings {
        ReconcileSettings {
            enabled: false,
            interval_secs: 3600,
            max_deletions_per_run: 10,
            recreate_missing_workspaces: true,
            frontegg: FronteggSettings {
                base_url: "https://api.frontegg.com".into(),
                client_id: String::new(),
                secret: SecretString::from(String::new()),
                page_size: 200,
                request_timeout_ms: 30_000,
                max_rate_limit_wait_secs: 120,
            },
        }
    }

    #[test]
    fn reconcile_values_out_of_range_are_refused_naming_the_key() {
        let mut cases: Vec<(ReconcileSettings, Option<&str>)> = vec![(settings(), None)];
        let mut s = settings();
        s.interval_secs = 0;
        cases.push((s, Some("reconcile.interval_secs")));
        let mut s = settings();
        s.frontegg.base_url = "ftp://x".into();
        cases.push((s, Some("reconcile.frontegg.base_url")));
        let mut s = settings();
        s.frontegg.page_size = 201;
        cases.push((s, Some("reconcile.frontegg.page_size")));
        let mut s = settings();
        s.enabled = true;
        cases.push((s, Some("reconcile.frontegg.secret")));
        let mut s = settings();
        s.enabled = true;
        s.frontegg.client_id = "id".into();
        s.frontegg.secret = SecretString::from("key".to_owned());
        cases.push((s, None));
        for (case, expected) in cases {
            match (case.validate(), expected) {
                (Err(e), Some(key)) => assert!(e.to_string().contains(key), "{e}"),
                (Ok(()), None) => {}
                (result, _) => panic!("{case:?}: {result:?}"),
            }
        }
    }
}

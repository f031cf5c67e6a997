//! `[notifications]`: tenantgate's own outbound webhooks to subscribers.

use std::time::Duration;

use anyhow::bail;
use base64::Engine as _;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How notifications are delivered (read by the `notifications` module).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NotificationSettings {
    /// Deliver queued notifications alongside the workers (`serve` with workers, and `worker`).
    /// Off, notifications are still queued (the outbox), and delivered once a dispatcher runs.
    pub enabled: bool,
    /// Deliveries in flight at once, per instance.
    pub concurrency: usize,
    /// Longest wait between two looks for due deliveries (another instance may have queued some).
    pub poll_interval_ms: u64,
    /// A delivery being sent is leased for this long; a sender that dies leaves it to be sent
    /// again once the lease expires. Must exceed `request_timeout_ms`.
    pub lease_secs: f64,
    /// Delay before each retry of a failed delivery; after the last, the delivery is dead.
    #[serde(deserialize_with = "super::seconds::list")]
    pub retry_schedule_secs: Vec<f64>,
    /// Each delay varies by up to this fraction, either way.
    pub retry_jitter: f64,
    pub connect_timeout_ms: u64,
    /// Total time for one delivery request, answer included.
    pub request_timeout_ms: u64,
    /// The start of each answer's body kept in the delivery log.
    pub response_body_limit_bytes: usize,
    /// After a secret rotation, the previous secret also signs deliveries for this long.
    pub rotation_grace_secs: u64,
    /// A subscription whose deliveries have all failed for this long is disabled (audited).
    pub disable_after_failing_secs: u64,
    /// Subscription URLs resolving to loopback, private, link-local or other non-public
    /// addresses are refused, unless the address lies in one of these networks.
    pub allowed_private_networks: Vec<String>,
    /// Subscription URLs may use plain `http` (development does); otherwise `https` only.
    pub allow_http: bool,
    /// Keys encrypting subscription signing secrets in the database (base64 of 32 bytes each):
    /// the first encrypts, every one decrypts, so an older key listed second keeps its rows
    /// readable while they are encrypted again with the first.
    #[serde(serialize_with = "super::redact::all")]
    pub encryption_keys: Vec<SecretString>,
}

/// The length of an encryption key, in bytes (ChaCha20-Poly1305).
pub const ENCRYPTION_KEY_BYTES: usize = 32;

/// Decodes an encryption key as configured: base64 of exactly [`ENCRYPTION_KEY_BYTES`] bytes.
pub fn decode_encryption_key(text: &str) -> Result<[u8; ENCRYPTION_KEY_BYTES], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "is not base64".to_owned())?;
    <[u8; ENCRYPTION_KEY_BYTES]>::try_from(bytes.as_slice())
        .map_err(|_| format!("must decode to {ENCRYPTION_KEY_BYTES} bytes, not {}", bytes.len()))
}

impl NotificationSettings {
    pub fn retry_schedule(&self) -> Vec<Duration> {
        super::seconds::durations(&self.retry_schedule_secs)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs_f64(self.lease_secs)
    }

    /// The allowed private networks; validated at load, so parsing cannot fail later.
    pub fn allowed_networks(&self) -> Vec<IpNet> {
        super::source::parse_networks(&self.allowed_private_networks)
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 {
            bail!("notifications.concurrency must be at least 1");
        }
        if self.poll_interval_ms == 0 {
            bail!("notifications.poll_interval_ms must be at least 1");
        }
        let out_of_range = |s: &f64| !s.is_finite() || *s < 0.0 || *s > 30.0 * 86_400.0;
        if self.retry_schedule_secs.is_empty() || self.retry_schedule_secs.iter().any(out_of_range) {
            bail!(
                "notifications.retry_schedule_secs must list one or more delays between 0 and 2592000 seconds (30 days), e.g. [5, 30, 120]"
            );
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            bail!(
                "notifications.retry_jitter must be between 0 and 1, got {}",
                self.retry_jitter
            );
        }
        if self.connect_timeout_ms == 0 || self.request_timeout_ms == 0 {
            bail!("notifications.connect_timeout_ms and notifications.request_timeout_ms must be at least 1");
        }
        if !self.lease_secs.is_finite() || self.lease_secs > 86_400.0 {
            bail!(
                "notifications.lease_secs must be at most 86400 (a day), got {}",
                self.lease_secs
            );
        }
        if self.request_timeout_ms > 3_600_000 {
            bail!("notifications.request_timeout_ms must be at most 3600000 (an hour)");
        }
        if self.lease_secs * 1000.0 <= self.request_timeout_ms as f64 {
            bail!(
                "notifications.lease_secs ({}) must be longer than notifications.request_timeout_ms ({} ms)",
                self.lease_secs,
                self.request_timeout_ms
            );
        }
        if self.disable_after_failing_secs == 0 {
            bail!("notifications.disable_after_failing_secs must be at least 1");
        }
        for network in &self.allowed_private_networks {
            if let Err(e) = super::source::parse_network(network) {
                bail!("notifications.allowed_private_networks: {e}");
            }
        }
        if self.encryption_keys.is_empty() {
            bail!(
                "notifications.encryption_keys is empty: subscription secrets are stored encrypted; set a key, \
                 e.g. TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS=$(openssl rand -base64 32)"
            );
        }
        for (n, key) in self.encryption_keys.iter().enumerate() {
            if let Err(e) = decode_encryption_key(key.expose_secret()) {
                bail!("notifications.encryption_keys[{n}] {e}: use 32 random bytes in base64, e.g. `openssl rand -base64 32`");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> NotificationSettings {
        NotificationSettings {
            enabled: true,
            concurrency: 8,
            poll_interval_ms: 1000,
            lease_secs: 60.0,
            retry_schedule_secs: vec![5.0, 30.0],
            retry_jitter: 0.2,
            connect_timeout_ms: 5000,
            request_timeout_ms: 15000,
            response_body_limit_bytes: 1024,
            rotation_grace_secs: 86_400,
            disable_after_failing_secs: 432_000,
            allowed_private_networks: vec![],
            allow_http: false,
            encryption_keys: vec![SecretString::from(
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
            )],
        }
    }

    #[test]
    fn notification_values_out_of_range_are_refused_naming_the_key() {
        type Breaks = fn(&mut NotificationSettings);
        let cases: [(Breaks, &str); 10] = [
            (|s| s.encryption_keys = vec![], "notifications.encryption_keys"),
            (
                |s| s.encryption_keys = vec!["not base64!".to_owned().into()],
                "notifications.encryption_keys[0]",
            ),
            (
                |s| s.encryption_keys = vec!["c2hvcnQ=".to_owned().into()],
                "notifications.encryption_keys[0]",
            ),
            (|s| s.concurrency = 0, "notifications.concurrency"),
            (
                |s| s.retry_schedule_secs = vec![-1.0],
                "notifications.retry_schedule_secs",
            ),
            (|s| s.retry_schedule_secs = vec![], "notifications.retry_schedule_secs"),
            (|s| s.retry_jitter = 2.0, "notifications.retry_jitter"),
            (|s| s.lease_secs = 10.0, "notifications.lease_secs"),
            (
                |s| s.disable_after_failing_secs = 0,
                "notifications.disable_after_failing_secs",
            ),
            (
                |s| s.allowed_private_networks = vec!["localhost".into()],
                "notifications.allowed_private_networks",
            ),
        ];
        assert!(shipped().validate().is_ok());
        for (break_it, key) in cases {
            let mut settings = shipped();
            break_it(&mut settings);
            let message = settings.validate().unwrap_err().to_string();
            assert!(message.contains(key), "`{message}` should name {key}");
        }
    }
}

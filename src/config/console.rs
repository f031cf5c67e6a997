//! `[console]`: the operator console under `/console`, signed in with an admin token.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// How console sessions last and how fast sign-in may be tried.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ConsoleSettings {
    /// Seconds a session lasts from sign-in; then the browser signs in again.
    pub session_ttl_secs: u64,
    /// Failed sign-in attempts allowed per client address (an IPv6 client by its /64) per
    /// minute; then the address waits for the minute to end.
    pub sign_in_attempts_per_minute: u32,
}

impl ConsoleSettings {
    /// Longest accepted session: a week.
    pub const MAX_SESSION_TTL_SECS: u64 = 7 * 24 * 3600;

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(60..=Self::MAX_SESSION_TTL_SECS).contains(&self.session_ttl_secs) {
            bail!(
                "console.session_ttl_secs must be between 60 and {} (a week), got {}",
                Self::MAX_SESSION_TTL_SECS,
                self.session_ttl_secs
            );
        }
        if !(1..=600).contains(&self.sign_in_attempts_per_minute) {
            bail!(
                "console.sign_in_attempts_per_minute must be between 1 and 600, got {}",
                self.sign_in_attempts_per_minute
            );
        }
        Ok(())
    }
}

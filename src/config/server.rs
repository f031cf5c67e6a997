//! `[server]`: where and how the HTTP server listens.

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServerSettings {
    pub host: String,
    /// Read as a wide integer so that an out-of-range port gets our message, not serde's.
    pub port: i64,
    pub shutdown_timeout_secs: u64,
    /// A client must send its request head within this time (actix's client request timeout).
    pub client_request_timeout_ms: u64,
    /// A webhook's body must arrive within this time once its head is in, else 408.
    pub body_read_timeout_ms: u64,
}

impl ServerSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let port = self.port;
        if !(0..=65535).contains(&port) {
            bail!("server.port must be between 0 and 65535, got {port}");
        }
        if self.body_read_timeout_ms == 0 {
            bail!("server.body_read_timeout_ms must be at least 1");
        }
        Ok(())
    }
}

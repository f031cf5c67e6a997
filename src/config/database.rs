//! `[database]`: which database, and how many connections to it.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseSettings {
    #[serde(serialize_with = "super::redact::database_url")]
    pub url: SecretString,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub run_migrations: bool,
}

impl DatabaseSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.url.expose_secret().trim().is_empty() {
            bail!("database.url must not be empty (a postgres:// URL, sqlite://PATH or a file path)");
        }
        if self.pool_size == 0 {
            bail!("database.pool_size must be at least 1");
        }
        if self.connect_timeout_secs == 0 {
            bail!("database.connect_timeout_secs must be at least 1");
        }
        Ok(())
    }
}

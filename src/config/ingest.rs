//! `[ingest]`: how deliveries are written to the inbox.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// How deliveries are written to the inbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IngestSettings {
    /// Most deliveries stored by one transaction (group commit).
    pub max_batch: usize,
    /// Batches being committed at the same time.
    pub concurrent_batches: usize,
}

impl IngestSettings {
    /// `pool_size` is `database.pool_size`: batches must leave connections to everyone else.
    pub(super) fn validate(&self, pool_size: u32) -> anyhow::Result<()> {
        if self.max_batch == 0 || self.concurrent_batches == 0 {
            bail!("ingest.max_batch and ingest.concurrent_batches must be at least 1");
        }
        if self.concurrent_batches >= pool_size as usize {
            bail!(
                "ingest.concurrent_batches ({}) must be below database.pool_size ({}) so that workers and the admin API keep connections",
                self.concurrent_batches,
                pool_size
            );
        }
        Ok(())
    }
}

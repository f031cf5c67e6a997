//! Locks that make a unit of work exclusive to one instance on a shared Postgres.

/// The instance-exclusive locks of periodic jobs: Postgres transaction-level advisory lock keys,
/// one per job, listed here so that two jobs never share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Deleting old finished events (the retention job and `tenantgate events purge`).
    Purge,
}

impl Lock {
    pub const fn key(self) -> i64 {
        match self {
            // "tenarg" in ASCII, kept from the first release so that mixed versions exclude
            // each other during a rolling upgrade.
            Self::Purge => 0x7465_6e61_7267,
        }
    }
}

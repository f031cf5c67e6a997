//! Locks that make a unit of work exclusive to one instance on a shared Postgres: the advisory
//! lock keys, listed here so that two kinds of work never share one.

/// The work only one instance does at a time. The keys never change: instances of different
/// versions must exclude each other during a rolling upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Applying migrations (a session-level lock: instances starting together migrate in turn).
    Migration,
    /// Deleting old finished events (the retention job and `tenantgate events purge`).
    Purge,
    /// Starting a reconciler run that applies repairs (its lease row is then the turn).
    Reconcile,
}

impl Lock {
    pub const fn key(self) -> i64 {
        match self {
            // "tenant" in ASCII.
            Self::Migration => 0x7465_6e61_6e74,
            // "tenarg" in ASCII.
            Self::Purge => 0x7465_6e61_7267,
            // "tenrec" in ASCII.
            Self::Reconcile => 0x7465_6e72_6563,
        }
    }
}

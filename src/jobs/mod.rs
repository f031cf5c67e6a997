//! Background work, in one shape.
//!
//! A queue of leased rows — the inbox's events, the outbox's notification deliveries — plugs
//! into [`Runner`] by implementing [`Queue`]: claim due items, run one, extend or release a
//! lease. The runner does everything else the same way for every queue: it claims as many items
//! as it has free slots, wakes on a signal with a polling fallback, renews each lease while its
//! item runs, abandons an item whose lease it can no longer renew, and gives back the claims
//! still running at shutdown. A lease is short because it is renewed: an item held by an
//! instance that died is due again one lease later. A failed attempt is retried on one
//! [`retry::Policy`]; periodic jobs (retention) run under [`periodic`].

pub mod periodic;
pub mod retry;
mod runner;

use std::future::Future;

use chrono::NaiveDateTime;

pub use runner::{Runner, RunnerSettings};

use crate::db::StoreError;

/// What fences a claim: the row, and the attempt number the claim gave it. A write for an
/// attempt whose lease was lost (another runner claimed the row again) changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    pub id: i64,
    pub attempt: i32,
}

/// A queue of leased work. Each method is one round trip to the database, except [`Queue::run`],
/// which does the work and records how it ended, fenced by the item's [`Lease`].
pub trait Queue: Send + Sync + 'static {
    type Item: Send + 'static;

    /// The queue's name in logs and metrics (`events`, `notifications`).
    const NAME: &'static str;

    fn lease_of(item: &Self::Item) -> Lease;

    /// Claims up to `limit` due items, each leased until `lease_until`.
    fn claim(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Self::Item>, StoreError>> + Send;

    /// When the next waiting item is due, if any is.
    fn next_due(&self, now: NaiveDateTime) -> impl Future<Output = Option<NaiveDateTime>> + Send;

    /// Does the work and records how it ended.
    fn run(&self, item: Self::Item) -> impl Future<Output = ()> + Send;

    /// Renews a live lease; false when it was lost.
    fn extend(&self, lease: Lease, until: NaiveDateTime) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claim back unfinished, due again at `due`, the attempt not counted.
    fn release(&self, lease: Lease, due: NaiveDateTime) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

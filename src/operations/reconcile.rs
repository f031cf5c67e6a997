//! Reconciliation as an operator's action, and the reads of its runs, for every door (the CLI,
//! the admin API, the console, the periodic job): a run that applies writes one
//! `reconcile.applied` entry; a dry run writes none (it changes nothing).

use crate::db::{Database, StoreError};
use crate::operations::Actor;
use crate::reconcile::{runs, Reconciler, RunOutcome, RunRecord};

/// One run now: a dry run, or with `apply` one that queues the repairs.
pub async fn run(reconciler: &Reconciler, apply: bool, by: &Actor) -> Result<RunOutcome, StoreError> {
    reconciler.run(apply, by).await
}

/// Runs, newest first, `limit` at a time below the id `before` (without their drifts).
pub async fn list(db: &Database, limit: i64, before: Option<i64>) -> Result<Vec<RunRecord>, StoreError> {
    db.run(move |c| runs::list(c, limit, before)).await
}

/// One run with each drift and what was done about it.
pub async fn find(db: &Database, run_id: i64) -> Result<Option<RunRecord>, StoreError> {
    db.run(move |c| runs::find(c, run_id)).await
}

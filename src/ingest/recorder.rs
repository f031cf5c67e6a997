//! Deliveries are stored by group commit (see [`GroupCommit`]): concurrent deliveries share one
//! multi-row insert in one transaction, and each request is answered only after that commit.

use crate::db::group_commit::GroupCommit;
use crate::db::{Database, StoreError};
use crate::inbox::{self, InsertOutcome, NewEvent};

/// Stores deliveries in batches. Cheap to clone.
#[derive(Debug, Clone)]
pub struct InboxRecorder {
    batches: GroupCommit<NewEvent, InsertOutcome>,
}

impl InboxRecorder {
    /// Starts the gathering task: batches of up to `max_batch`, at most `concurrent` in flight.
    pub fn spawn(db: Database, max_batch: usize, concurrent: usize) -> Self {
        let batches =
            GroupCommit::spawn(
                db,
                max_batch,
                concurrent,
                |conn, events: Vec<NewEvent>| match inbox::insert_batch(conn, &events) {
                    Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                    Err(e) => {
                        tracing::debug!(batch = events.len(), error = %e, "batch not stored");
                        events.iter().map(|_| Err(e.duplicate())).collect()
                    }
                },
            );
        Self { batches }
    }

    /// Stores one delivery; returns once the batch holding it is committed.
    pub async fn record(&self, event: NewEvent) -> Result<InsertOutcome, StoreError> {
        self.batches.submit(event).await
    }
}

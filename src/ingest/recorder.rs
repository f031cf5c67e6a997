//! Group commit: concurrent deliveries are gathered and stored by one transaction, and each
//! request is answered only after that commit. Under load this turns many small commits (each
//! waiting for its own disk flush) into a few large ones; alone, a delivery is stored at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::store::inbox::{self, InsertOutcome, NewEvent};
use crate::store::{Database, StoreError};

/// Deliveries waiting to be gathered; beyond this, senders wait (back-pressure).
const QUEUE: usize = 4_096;

struct Pending {
    event: NewEvent,
    reply: oneshot::Sender<Result<InsertOutcome, StoreError>>,
}

/// Stores deliveries in batches. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("idempotency_key", &self.event.idempotency_key)
            .finish()
    }
}

impl Recorder {
    /// Starts the gathering task: batches of up to `max_batch`, at most `concurrent` in flight.
    pub fn spawn(db: Database, max_batch: usize, concurrent: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(gather(
            db,
            receiver,
            max_batch.max(1),
            Arc::new(Semaphore::new(concurrent.max(1))),
        ));
        Self { queue }
    }

    /// Stores one delivery; returns once the batch holding it is committed.
    pub async fn record(&self, event: NewEvent) -> Result<InsertOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { event, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the recorder has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the recorder dropped the delivery".into()))?
    }
}

async fn gather(db: Database, mut receiver: mpsc::Receiver<Pending>, max_batch: usize, slots: Arc<Semaphore>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        top_up(&mut receiver, &mut batch, max_batch);
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Deliveries that arrived while every slot was busy join this batch.
        top_up(&mut receiver, &mut batch, max_batch);
        let db = db.clone();
        tokio::spawn(async move {
            let (events, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.event, p.reply)).unzip();
            let size = events.len();
            let outcomes = db.run(move |c| inbox::insert_batch(c, &events)).await;
            drop(slot);
            match outcomes {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(e) => {
                    tracing::debug!(batch = size, error = %e, "batch not stored");
                    for reply in replies {
                        let _ = reply.send(Err(e.duplicate()));
                    }
                }
            }
        });
    }
}

fn top_up(receiver: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>, max_batch: usize) {
    while batch.len() < max_batch {
        match receiver.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
}

//! Group commit: items submitted concurrently are gathered and written by one call on one
//! connection (one transaction), and each submitter gets its own result only after that call
//! returns. Under load this turns many small commits, each waiting for its own disk flush, into
//! a few large ones; alone, an item is written at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{Database, DbConn, StoreError};

/// Items waiting to be gathered; beyond this, submitters wait (back-pressure).
const QUEUE: usize = 4_096;

/// Writes one batch and returns one result per item, in order.
pub type WriteBatch<I, O> = dyn Fn(&mut DbConn, Vec<I>) -> Vec<Result<O, StoreError>> + Send + Sync;

struct Pending<I, O> {
    item: I,
    reply: oneshot::Sender<Result<O, StoreError>>,
}

/// A gathering task and its queue. Cheap to clone.
pub struct GroupCommit<I, O> {
    queue: mpsc::Sender<Pending<I, O>>,
}

impl<I, O> Clone for GroupCommit<I, O> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<I, O> std::fmt::Debug for GroupCommit<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("waiting", &(QUEUE - self.queue.capacity()))
            .finish()
    }
}

impl<I: Send + 'static, O: Send + 'static> GroupCommit<I, O> {
    /// Starts the gathering task on the current runtime: batches of up to `max_batch` items,
    /// at most `concurrent` batches being written at once, each by `write`.
    pub fn spawn(
        db: Database,
        max_batch: usize,
        concurrent: usize,
        write: impl Fn(&mut DbConn, Vec<I>) -> Vec<Result<O, StoreError>> + Send + Sync + 'static,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let slots = Arc::new(Semaphore::new(concurrent.max(1)));
        tokio::spawn(gather(db, receiver, max_batch.max(1), slots, Arc::new(write)));
        Self { queue }
    }

    /// Writes one item; returns once the batch holding it is written.
    pub async fn submit(&self, item: I) -> Result<O, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { item, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the batch writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the batch writer dropped the item".into()))?
    }
}

async fn gather<I: Send + 'static, O: Send + 'static>(
    db: Database,
    mut receiver: mpsc::Receiver<Pending<I, O>>,
    max_batch: usize,
    slots: Arc<Semaphore>,
    write: Arc<WriteBatch<I, O>>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        top_up(&mut receiver, &mut batch, max_batch);
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Items that arrived while every slot was busy join this batch.
        top_up(&mut receiver, &mut batch, max_batch);
        let (db, write) = (db.clone(), write.clone());
        tokio::spawn(async move {
            let (items, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.item, p.reply)).unzip();
            let size = items.len();
            let results = db.run(move |c| Ok(write(c, items))).await;
            drop(slot);
            match results {
                Ok(results) => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::debug!(batch = size, error = %e, "batch not written");
                    for reply in replies {
                        let _ = reply.send(Err(e.duplicate()));
                    }
                }
            }
        });
    }
}

fn top_up<T>(receiver: &mut mpsc::Receiver<T>, batch: &mut Vec<T>, max_batch: usize) {
    while batch.len() < max_batch {
        match receiver.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
}

//! Replay one event: a finished event back to `pending`, with one `event.replayed` audit entry.

use chrono::Utc;

use super::Actor;
use crate::db::audit::{self, NewAudit};
use crate::db::{notify, Database, StoreError};
use crate::inbox::listing::{self, EventFilter};
use crate::inbox::EventStatus;

/// Statuses an event can be replayed from.
pub use crate::inbox::listing::FINISHED;

/// The audit action of a replay of one event.
pub const ACTION: &str = "event.replayed";

/// What replaying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Requeued,
    NotFound,
    /// Still pending, waiting for a retry or held by a worker: nothing to replay yet.
    NotFinished(EventStatus),
}

/// Puts the event `id` back to `pending` if it is finished (succeeded, dead, skipped, ignored),
/// keeping its attempt history. In the same transaction: the audit entry (the event, its tenant,
/// `{"by", "previous_status"}`) and a wake-up for the workers of every instance (Postgres).
pub async fn replay_one(db: &Database, id: i64, by: &Actor) -> Result<Replay, StoreError> {
    let by = by.clone();
    db.run(move |c| {
        c.transaction(|c| {
            // Locked: no worker or other replay changes the event between the check and the update.
            let Some((tenant_id, previous)) = listing::lock_for_replay(c, id)? else {
                return Ok(Replay::NotFound);
            };
            if !FINISHED.contains(&previous) {
                return Ok(Replay::NotFinished(previous));
            }
            let now = Utc::now().naive_utc();
            listing::requeue(c, &EventFilter::default(), &[id], now)?;
            let detail = serde_json::json!({"by": by, "previous_status": previous});
            audit::insert(
                c,
                &NewAudit {
                    at: now,
                    tenant_id,
                    user_id: None,
                    event_id: Some(id),
                    action: ACTION.to_owned(),
                    detail: Some(detail.to_string()),
                },
            )?;
            notify::announce(c)?;
            Ok(Replay::Requeued)
        })
    })
    .await
}

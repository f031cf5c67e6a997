//! How a handled event ends: its completion (succeeded, skipped, retry or dead), and the writing
//! of that completion with its attempt row and effects. Concurrent outcomes are written by
//! group commit, one transaction per batch.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::Notify;

use super::handlers::{HandlerError, Outcome};
use crate::config::WorkerSettings;
use crate::db::group_commit::GroupCommit;
use crate::db::{Database, DbConn, StoreError};
use crate::inbox::claims::{self, Attempt, Completion};
use crate::inbox::EventRow;
use crate::jobs::retry::{Next, Policy};
use crate::notifications;
use crate::tenants::{self, Effect};

/// How long an event whose attempt ended throttled waits before its next attempt (which waits
/// at the pacing gate again), unless the provider asked for longer.
const THROTTLED_PAUSE: Duration = Duration::from_secs(5);

/// Outcomes written together at most; more wait for the next batch.
const MAX_BATCH: usize = 64;

/// Batches being written at once. One: outcomes that arrive while a batch is written join the
/// next, so batches grow with the load, and fewer, larger transactions drain a backlog faster
/// than two writers with half the batch each (measured: 2,450–2,540 against 1,920–1,960 events/s).
const CONCURRENT_BATCHES: usize = 1;

/// One finished attempt, ready to be written.
#[derive(Debug, Clone)]
pub struct Finish {
    pub attempt: Attempt,
    pub completion: Completion,
    pub effects: Vec<Effect>,
}

/// Writes finished attempts by group commit. Each result is true when written, false when the
/// claim was lost (nothing written for that event).
pub type FinishRecorder = GroupCommit<Finish, bool>;

/// The outcome writer; `notices` is woken when a batch queued notification deliveries.
pub fn recorder(db: Database, notices: Arc<Notify>) -> FinishRecorder {
    GroupCommit::spawn(db, MAX_BATCH, CONCURRENT_BATCHES, move |conn, batch| {
        let (results, queued) = record_batch_queuing(conn, batch);
        if queued > 0 {
            notices.notify_one();
        }
        results
    })
}

/// Writes a batch in one transaction. If that fails (one outcome the database refuses, say),
/// each outcome is written on its own, so that one bad outcome never holds back the others. Not
/// when the database is unavailable: on a lost connection each would fail too, and with a
/// misleading error (the connection's transaction state is broken), so each gets the outage.
pub fn record_batch(conn: &mut DbConn, batch: Vec<Finish>) -> Vec<Result<bool, StoreError>> {
    record_batch_queuing(conn, batch).0
}

/// [`record_batch`], and the number of notification deliveries it queued.
fn record_batch_queuing(conn: &mut DbConn, batch: Vec<Finish>) -> (Vec<Result<bool, StoreError>>, usize) {
    match conn.transaction_beginning(claims::BEGIN_FINISH, |conn| write(conn, &batch)) {
        Ok((owned, queued)) => (owned.into_iter().map(Ok).collect(), queued),
        Err(e) if batch.len() == 1 => (vec![Err(e)], 0),
        Err(e @ StoreError::Unavailable(_)) => (batch.iter().map(|_| Err(e.duplicate())).collect(), 0),
        Err(_) => {
            let one_by_one: Vec<_> = batch.iter().map(|f| record_queuing(conn, f)).collect();
            let queued = one_by_one.iter().map(|r| r.as_ref().map_or(0, |(_, q)| *q)).sum();
            (
                one_by_one.into_iter().map(|r| r.map(|(held, _)| held)).collect(),
                queued,
            )
        }
    }
}

/// Writes one outcome in its own transaction.
pub fn record(conn: &mut DbConn, finished: &Finish) -> Result<bool, StoreError> {
    record_queuing(conn, finished).map(|(held, _)| held)
}

fn record_queuing(conn: &mut DbConn, finished: &Finish) -> Result<(bool, usize), StoreError> {
    let (owned, queued) =
        conn.transaction_beginning(claims::BEGIN_FINISH, |conn| write(conn, std::slice::from_ref(finished)))?;
    Ok((owned.first().copied().unwrap_or(false), queued))
}

/// Each event's new status, then the attempt rows and effects of the events whose claims were
/// still held; nothing for an event whose claim was lost. The events of one batch belong to
/// different tenants (a tenant has one event in flight), so their effects never overlap.
/// Returns which claims were held, and the notification deliveries queued.
fn write(conn: &mut DbConn, batch: &[Finish]) -> Result<(Vec<bool>, usize), StoreError> {
    let ended: Vec<_> = batch.iter().map(|f| (&f.attempt, &f.completion)).collect();
    let owned = claims::finish(conn, &ended)?;
    let held = batch.iter().zip(&owned).filter(|(_, held)| **held).map(|(f, _)| f);
    let queued = tenants::apply(conn, held.flat_map(|f| &f.effects))?;
    Ok((owned, queued))
}

/// Maps a handler's result to the event's completion, its effects and the provider's HTTP status.
/// An event that goes dead notifies its tenant's subscribers (`tenant.provisioning_failed`).
pub fn complete(
    settings: &WorkerSettings,
    row: &EventRow,
    result: Result<Outcome, HandlerError>,
    now: NaiveDateTime,
) -> (Completion, Vec<Effect>, Option<u16>) {
    let (completion, mut effects, status) = completion_of(settings, row, result, now);
    effects.extend(failure_notice(row, &completion, now));
    (completion, effects, status)
}

/// `tenant.provisioning_failed` for subscribers, when the event of a tenant went dead.
pub fn failure_notice(row: &EventRow, completion: &Completion, now: NaiveDateTime) -> Option<Effect> {
    let (Completion::Dead { error }, Some(tenant_id)) = (completion, &row.tenant_id) else {
        return None;
    };
    Some(Effect::Notify(notifications::message(
        notifications::TENANT_PROVISIONING_FAILED,
        Some(tenant_id),
        serde_json::json!({
            "event_id": row.id,
            "event_type": row.event_type,
            "kind": row.kind,
            "error": error,
            "attempts": row.attempts,
        }),
        now,
    )))
}

fn completion_of(
    settings: &WorkerSettings,
    row: &EventRow,
    result: Result<Outcome, HandlerError>,
    now: NaiveDateTime,
) -> (Completion, Vec<Effect>, Option<u16>) {
    match result {
        Ok(Outcome::Done { effects }) => (Completion::Succeeded, effects, None),
        Ok(Outcome::Skipped { reason, effects }) => (Completion::Skipped { reason }, effects, None),
        Err(HandlerError::Invalid(error)) => (Completion::Dead { error }, vec![], None),
        // Refused for the rate longer than an attempt waits at the gate: not a failure.
        Err(HandlerError::Provider(e)) if e.throttled => {
            let pause = e.retry_after.unwrap_or(THROTTLED_PAUSE).max(THROTTLED_PAUSE);
            let next_attempt_at = now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX);
            let error = format!("throttled: {}", e.message);
            (Completion::Throttled { next_attempt_at, error }, vec![], e.status)
        }
        Err(HandlerError::Provider(e)) if !e.retryable => (Completion::Dead { error: e.message }, vec![], e.status),
        Err(HandlerError::Provider(e)) => (
            retry_or_dead(settings, row, e.message, e.retry_after, now),
            vec![],
            e.status,
        ),
        Err(HandlerError::Store(e)) => (
            retry_or_dead(settings, row, format!("database: {e}"), None, now),
            vec![],
            None,
        ),
    }
}

/// How failed events are retried: on `worker.retry_schedule_secs`, a first attempt and one more
/// per step.
pub fn retry_policy(settings: &WorkerSettings) -> Policy {
    Policy::new(settings.retry_schedule(), settings.retry_jitter)
}

/// The next retry on the schedule, or dead once the schedule is spent.
pub fn retry_or_dead(
    settings: &WorkerSettings,
    row: &EventRow,
    error: String,
    retry_after: Option<Duration>,
    now: NaiveDateTime,
) -> Completion {
    let attempts = u32::try_from(row.attempts_in_round()).unwrap_or(u32::MAX);
    match retry_policy(settings).after_failure(attempts, &error, retry_after, now) {
        Next::Retry { at } => Completion::Retry {
            next_attempt_at: at,
            error,
        },
        Next::GiveUp { error } => Completion::Dead { error },
    }
}

pub fn error_of(completion: &Completion) -> Option<String> {
    match completion {
        Completion::Succeeded => None,
        Completion::Skipped { reason } => Some(reason.clone()),
        Completion::Retry { error, .. } | Completion::Dead { error } | Completion::Throttled { error, .. } => {
            Some(error.clone())
        }
    }
}

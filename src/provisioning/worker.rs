//! The claim loop: take a due event, run its handler, record the attempt and the event's new
//! status together with the handler's effects, schedule a retry or give up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::handlers::{self, Context, Known};
use super::outcome::{self, complete, error_of, retry_or_dead, Finished};
use crate::config::WorkerSettings;
use crate::store::claims::{self, Attempt, Claimed, Completion};
use crate::store::inbox::EventRow;
use crate::store::{Database, StoreError};

/// How long to back off when the database fails between claims.
const DATABASE_BACKOFF: Duration = Duration::from_secs(1);

/// The first pause before writing an outcome again while the database is unavailable; it
/// doubles up to [`DATABASE_BACKOFF`].
const RECORD_RETRY: Duration = Duration::from_millis(100);

/// A claim slower than this suggests stale planner statistics.
const SLOW_CLAIM: Duration = Duration::from_millis(50);

/// Least time between two statistics refreshes of one process.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(60);

/// Shortest idle wait, so that the loop never spins.
const MIN_IDLE: Duration = Duration::from_millis(20);

/// Shared by the worker tasks of one process.
struct Shared {
    ctx: Context,
    /// Writes outcomes by group commit.
    recorder: outcome::Recorder,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    /// Claims being processed (event id → attempt): released if shutdown cuts them short.
    in_flight: std::sync::Mutex<HashMap<i64, i32>>,
    /// How long a released claim waits before it is due again.
    release_delay: Duration,
    /// When this process last refreshed the inbox statistics.
    statistics_refreshed: std::sync::Mutex<Option<Instant>>,
}

/// Running workers; stop them with [`Workers::shutdown`].
pub struct Workers {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    dispatcher: JoinHandle<()>,
}

impl Workers {
    /// Starts the dispatcher on the current runtime: it claims due events in batches, up to
    /// `settings.concurrency` in flight, and runs each on its own task. `release_delay` is the
    /// longest a provider call may take (see [`Workers::shutdown`]).
    pub fn spawn(ctx: Context, settings: WorkerSettings, wake: Arc<Notify>, release_delay: Duration) -> Self {
        let shared = Arc::new(Shared {
            recorder: outcome::recorder(ctx.db.clone(), ctx.notices.clone()),
            ctx,
            settings,
            wake,
            in_flight: Default::default(),
            release_delay,
            statistics_refreshed: std::sync::Mutex::new(None),
        });
        let (stop, stopped) = watch::channel(false);
        let dispatcher = tokio::spawn(dispatch(shared.clone(), stopped));
        tracing::info!(
            workers = shared.settings.concurrency,
            provider = shared.ctx.provider.mode(),
            "provisioning workers started"
        );
        Self {
            shared,
            stop,
            dispatcher,
        }
    }

    /// Stops claiming, lets in-flight events finish for up to `worker.shutdown_timeout_secs`,
    /// then releases the claims of those still running so another worker takes them.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.dispatcher.await {
            tracing::warn!(error = %e, "the worker dispatcher ended abnormally");
        }
        let unfinished: Vec<(i64, i32)> = self.shared.lock_in_flight().drain().collect();
        // A provider call cut short may still complete on the provider's side: give it time to
        // show up (e.g. in the workspace list) before another worker retries.
        let settle = chrono::Duration::from_std(self.shared.release_delay).unwrap_or_default();
        for (event_id, attempt) in unfinished {
            let due = Utc::now().naive_utc() + settle;
            match self
                .shared
                .ctx
                .db
                .run(move |c| claims::release(c, event_id, attempt, due))
                .await
            {
                Ok(_) => tracing::info!(event.id = event_id, "claim released at shutdown"),
                Err(e) => {
                    tracing::warn!(event.id = event_id, error = %e, "claim not released; it frees when its lease expires")
                }
            }
        }
        tracing::info!("provisioning workers stopped");
    }
}

impl Shared {
    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<i64, i32>> {
        self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Claims as many due events as there are free slots, in one query, and runs each on its own
/// task; idles until a wake-up, the next due retry or the fallback poll when nothing is due.
async fn dispatch(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let poll = Duration::from_millis(shared.settings.poll_interval_ms);
    let slots = Arc::new(Semaphore::new(shared.settings.concurrency));
    let mut running = JoinSet::new();
    while !*stop.borrow() {
        while running.try_join_next().is_some() {}
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => permit,
            _ = stop.changed() => break,
        };
        let Ok(first) = first else { break };
        let mut permits = vec![first];
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            permits.push(permit);
        }
        match claim(&shared, permits.len()).await {
            Ok(claimed) if !claimed.is_empty() => {
                for (claimed, permit) in claimed.into_iter().zip(permits) {
                    let (shared, known) = (shared.clone(), Known::of(&claimed));
                    let row = claimed.row;
                    shared.lock_in_flight().insert(row.id, row.attempts);
                    running.spawn(async move {
                        let id = row.id;
                        process(&shared, row, known).await;
                        shared.lock_in_flight().remove(&id);
                        drop(permit);
                        // A finished event may unblock its tenant's next one, or have scheduled
                        // a retry: let the dispatcher look again.
                        shared.wake.notify_one();
                    });
                }
            }
            Ok(_) => {
                drop(permits);
                let idle = until_next_due(&shared).await.map_or(poll, |due| due.min(poll));
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                drop(permits);
                tracing::warn!(error = %e, "cannot claim events; backing off");
                tokio::select! {
                    _ = tokio::time::sleep(DATABASE_BACKOFF) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    let grace = Duration::from_secs_f64(shared.settings.shutdown_timeout_secs);
    let finished = tokio::time::timeout(grace, async { while running.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        running.abort_all();
        while running.join_next().await.is_some() {}
    }
}

/// How long until a waiting event (e.g. a scheduled retry) is due.
async fn until_next_due(shared: &Shared) -> Option<Duration> {
    let now = Utc::now().naive_utc();
    let due = shared
        .ctx
        .db
        .run(move |c| claims::next_due(c, now))
        .await
        .ok()
        .flatten()?;
    let wait = (due - Utc::now().naive_utc()).to_std().unwrap_or(Duration::ZERO);
    Some(wait.max(MIN_IDLE))
}

async fn claim(shared: &Shared, limit: usize) -> Result<Vec<Claimed>, StoreError> {
    let now = Utc::now().naive_utc();
    let lease_until = now + chrono::Duration::from_std(shared.settings.lease()).unwrap_or(chrono::Duration::MAX);
    let asked = Instant::now();
    let limit = i64::try_from(limit).unwrap_or(1);
    let rows = shared
        .ctx
        .db
        .run(move |c| claims::claim_with_tenants(c, now, lease_until, limit))
        .await?;
    if asked.elapsed() > SLOW_CLAIM {
        refresh_statistics(shared).await;
    }
    Ok(rows)
}

/// A slow claim usually means stale planner statistics after a burst: refresh them, at most
/// once per [`STATISTICS_INTERVAL`] per process.
async fn refresh_statistics(shared: &Shared) {
    let now = Instant::now();
    {
        let mut last = shared
            .statistics_refreshed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < STATISTICS_INTERVAL) {
            return;
        }
        *last = Some(now);
    }
    match shared.ctx.db.run(claims::refresh_statistics).await {
        Ok(()) => tracing::info!("claims were slow: inbox statistics refreshed"),
        Err(e) => tracing::warn!(error = %e, "could not refresh the inbox statistics"),
    }
}

#[tracing::instrument(name = "process", skip_all, fields(event.id = row.id, event.kind = %row.kind, tenant.id = row.tenant_id.as_deref().unwrap_or("-"), attempt = row.attempts))]
async fn process(shared: &Shared, row: EventRow, known: Option<Known>) {
    let started = Instant::now();
    let started_at = Utc::now().naive_utc();
    let heartbeat = tokio::spawn(keep_lease(
        shared.ctx.db.clone(),
        row.id,
        row.attempts,
        shared.settings.lease(),
    ));
    let result = handlers::handle(&shared.ctx, &row, started_at, known).await;
    heartbeat.abort();
    let now = Utc::now().naive_utc();
    let (completion, effects, http_status) = complete(&shared.settings, &row, result, now);
    let attempt = Attempt {
        event_id: row.id,
        attempt: row.attempts,
        started_at,
        finished_at: now,
        outcome: completion.status().to_owned(),
        error: error_of(&completion),
        http_status: http_status.map(i32::from),
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    };
    let outcome = completion.status();
    shared.ctx.metrics.processed(&row.kind, outcome, started.elapsed());
    let finished = Finished {
        attempt: attempt.clone(),
        completion: completion.clone(),
        effects,
    };
    // Effects that can never be written (e.g. a value the database refuses) must not keep the
    // event processing forever: record the failure alone, on the retry schedule.
    let recorded = match record_while_claimed(shared, finished).await {
        Err(e) => {
            tracing::warn!(error = %e, "the outcome could not be recorded; recording the failure instead");
            let failed = retry_or_dead(
                &shared.settings,
                &row,
                format!("recording the outcome failed: {e}"),
                None,
                now,
            );
            let attempt = Attempt {
                outcome: failed.status().to_owned(),
                error: error_of(&failed),
                ..attempt
            };
            let finished = Finished {
                attempt,
                effects: outcome::failure_notice(&row, &failed, now).into_iter().collect(),
                completion: failed,
            };
            let recorded = shared.ctx.db.run(move |c| outcome::record(c, &finished)).await;
            // It may have queued a `tenant.provisioning_failed`.
            shared.ctx.notices.notify_one();
            recorded
        }
        recorded => recorded,
    };
    match recorded {
        Ok(true) => match &completion {
            Completion::Retry { next_attempt_at, error } => {
                tracing::warn!(outcome, error = %error, retry_at = %next_attempt_at, "event failed; will retry")
            }
            Completion::Dead { error } => {
                tracing::error!(outcome, error = %error, "event is dead; replay it when the cause is fixed")
            }
            _ => tracing::info!(
                outcome,
                duration_ms = started.elapsed().as_millis() as u64,
                "event processed"
            ),
        },
        Ok(false) => tracing::warn!("lease lost before the event finished; another worker owns it now"),
        Err(e) => {
            tracing::warn!(error = %e, "could not record the outcome; the event is retried when its lease expires")
        }
    }
}

/// Writes a finished attempt. While the database is unavailable it tries again, backing off, for
/// as long as the claim's lease lasts: after an outage shorter than the lease the outcome is
/// written at once, instead of the event waiting for its lease to expire and being processed
/// again. A late write is safe: it is fenced by the attempt number (see `claims::finish`).
async fn record_while_claimed(shared: &Shared, finished: Finished) -> Result<bool, StoreError> {
    let give_up = Instant::now() + shared.settings.lease();
    let mut pause = RECORD_RETRY;
    loop {
        match shared.recorder.submit(finished.clone()).await {
            Err(StoreError::Unavailable(reason)) if Instant::now() + pause < give_up => {
                // Said once per outcome: the pauses that follow only grow.
                if pause == RECORD_RETRY {
                    tracing::warn!(error = %reason, "outcome not written yet: the database is unavailable; backing off");
                } else {
                    tracing::debug!(error = %reason, "outcome not written yet: the database is unavailable");
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(DATABASE_BACKOFF);
            }
            written => return written,
        }
    }
}

/// Renews the claim's lease while the handler runs, so a slow provider never lets a second
/// worker take an event whose first worker is alive.
async fn keep_lease(db: Database, event_id: i64, attempt: i32, lease: Duration) {
    let mut beat = tokio::time::interval(lease / 3);
    beat.tick().await;
    loop {
        beat.tick().await;
        let until = Utc::now().naive_utc() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match db.run(move |c| claims::extend(c, event_id, attempt, until)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(event.id = event_id, error = %e, "could not renew the lease"),
        }
    }
}

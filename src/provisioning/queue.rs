//! The inbox as a queue of the job runner ([`crate::jobs`]): claim due events, run each event's
//! handler, record the attempt and the event's new status together with the handler's effects,
//! schedule a retry or give up.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};

use super::handlers::{self, Context};
use super::outcome::{self, complete, error_of, retry_or_dead, Finish};
use super::throttling;
use crate::config::WorkerSettings;
use crate::db::StoreError;
use crate::inbox::claims::{self, Attempt, ClaimedEvent, Completion};
use crate::jobs::{Lease, Queue, RunnerSettings};

/// The longest pause before writing an outcome again while the database is unavailable.
const DATABASE_BACKOFF: Duration = Duration::from_secs(1);

/// The first pause before writing an outcome again while the database is unavailable; it
/// doubles up to [`DATABASE_BACKOFF`].
const RECORD_RETRY: Duration = Duration::from_millis(100);

/// A claim slower than this suggests stale planner statistics.
const SLOW_CLAIM: Duration = Duration::from_millis(50);

/// Least time between two statistics refreshes of one process.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(60);

/// The provisioning events of the inbox.
pub struct EventQueue {
    ctx: Context,
    /// Writes outcomes by group commit.
    recorder: outcome::FinishRecorder,
    settings: WorkerSettings,
    /// When this process last refreshed the inbox statistics.
    statistics_refreshed: Mutex<Option<Instant>>,
}

impl EventQueue {
    pub fn new(ctx: Context, settings: WorkerSettings) -> Self {
        tracing::info!(
            workers = settings.concurrency,
            provider = ctx.provider.mode(),
            "provisioning workers started"
        );
        Self {
            recorder: outcome::recorder(ctx.db.clone(), ctx.notices.clone()),
            ctx,
            settings,
            statistics_refreshed: Mutex::new(None),
        }
    }

    /// How the runner runs it. `release_delay` is the longest a provider call may take.
    pub fn runner_settings(settings: &WorkerSettings, release_delay: Duration) -> RunnerSettings {
        RunnerSettings {
            concurrency: settings.concurrency,
            poll: Duration::from_millis(settings.poll_interval_ms),
            lease: settings.lease(),
            grace: Duration::from_secs_f64(settings.shutdown_timeout_secs),
            release_delay,
        }
    }
}

impl Queue for EventQueue {
    type Item = ClaimedEvent;

    const NAME: &'static str = "events";

    fn lease_of(claimed: &ClaimedEvent) -> Lease {
        Lease {
            id: claimed.row.id,
            attempt: claimed.row.attempts,
        }
    }

    async fn claim(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: usize,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let asked = Instant::now();
        let limit = i64::try_from(limit).unwrap_or(1);
        let rows = self
            .ctx
            .db
            .run(move |c| claims::claim_with_tenants(c, now, lease_until, limit))
            .await?;
        if asked.elapsed() > SLOW_CLAIM {
            self.refresh_statistics();
        }
        Ok(rows)
    }

    async fn next_due(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        self.ctx.db.run(move |c| claims::next_due(c, now)).await.ok().flatten()
    }

    async fn run(&self, claimed: ClaimedEvent) {
        process(self, claimed).await;
    }

    async fn extend(&self, lease: Lease, until: NaiveDateTime) -> Result<bool, StoreError> {
        self.ctx
            .db
            .run(move |c| claims::extend(c, lease.id, lease.attempt, until))
            .await
    }

    async fn release(&self, lease: Lease, due: NaiveDateTime) -> Result<bool, StoreError> {
        self.ctx
            .db
            .run(move |c| claims::release(c, lease.id, lease.attempt, due))
            .await
    }
}

impl EventQueue {
    /// A slow claim usually means stale planner statistics after a burst: refresh them, at most
    /// once per [`STATISTICS_INTERVAL`] per process, in the background, so that the events just
    /// claimed (their leases running) never wait for an `ANALYZE`.
    fn refresh_statistics(&self) {
        let now = Instant::now();
        {
            let mut last = self.statistics_refreshed.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| now.duration_since(at) < STATISTICS_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        let db = self.ctx.db.clone();
        tokio::spawn(async move {
            match db.run(claims::refresh_statistics).await {
                Ok(()) => tracing::info!("claims were slow: inbox statistics refreshed"),
                Err(e) => tracing::warn!(error = %e, "could not refresh the inbox statistics"),
            }
        });
    }
}

#[tracing::instrument(name = "process", skip_all, fields(event.id = claimed.row.id, event.kind = %claimed.row.kind, tenant.id = claimed.row.tenant_id.as_deref().unwrap_or("-"), attempt = claimed.row.attempts))]
async fn process(shared: &EventQueue, claimed: ClaimedEvent) {
    let ClaimedEvent { row, tenant } = claimed;
    let started = Instant::now();
    let started_at = Utc::now().naive_utc();
    let (result, throttled_calls) = throttling::counting(handlers::handle(&shared.ctx, &row, started_at, tenant)).await;
    let now = Utc::now().naive_utc();
    let (completion, effects, http_status) = complete(&shared.settings, &row, result, now);
    let attempt = Attempt {
        event_id: row.id,
        attempt: row.attempts,
        started_at,
        finished_at: now,
        outcome: completion.outcome().to_owned(),
        error: error_of(&completion),
        http_status: http_status.map(i32::from),
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        throttled_calls: i32::try_from(throttled_calls).unwrap_or(i32::MAX),
    };
    let outcome = completion.outcome();
    shared.ctx.metrics.processed(&row.kind, outcome, started.elapsed());
    let finished = Finish {
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
                outcome: failed.outcome().to_owned(),
                error: error_of(&failed),
                ..attempt
            };
            let finished = Finish {
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
            Completion::Throttled { next_attempt_at, .. } => tracing::info!(
                outcome,
                throttled_calls,
                retry_at = %next_attempt_at,
                "the provider kept refusing calls for its rate; the event waits for the gate (no retry spent)"
            ),
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
async fn record_while_claimed(shared: &EventQueue, finished: Finish) -> Result<bool, StoreError> {
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

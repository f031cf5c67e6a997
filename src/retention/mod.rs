//! Retention: the periodic job that deletes old finished events (and old delivered
//! notifications), started with the workers, and the chunked purge loop it shares with
//! `tenantgate events purge`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use tokio::sync::watch;

use crate::config::RetentionSettings;
use crate::db::{Database, StoreError};
use crate::jobs::periodic::PeriodicJob;
use crate::metrics::Metrics;
use store::{Purged, Scope, Turn};

/// Events deleted per transaction, so that a large purge never holds locks for long.
pub mod store;

pub const CHUNK: i64 = 1_000;

/// Pause between two chunks, so that other writers (a SQLite inbox above all) get their turn.
const CHUNK_PAUSE: Duration = Duration::from_millis(20);

/// The moment `days` days ago: events that finished before it are old enough to purge.
pub fn cutoff(days: u32) -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.checked_sub_signed(chrono::Duration::days(i64::from(days)))
        .unwrap_or(NaiveDateTime::MIN)
}

/// How a purge loop ended.
#[derive(Debug)]
pub enum Ended {
    /// Nothing older than the cutoff is left (except rows locked by a change in progress).
    Done,
    /// Another purge had the turn ([`Turn::SkipIfBusy`]).
    Busy,
    /// Asked to stop between two chunks.
    Stopped,
    /// A chunk failed; the chunks before it stay deleted.
    Failed(StoreError),
}

/// What a purge loop deleted, and how it ended.
#[derive(Debug)]
pub struct PurgeRun {
    pub purged: Purged,
    pub ended: Ended,
}

/// Deletes the events of `scope` that finished before `cutoff`, with their attempts, one chunk
/// per transaction, until none is left, another purge has the turn (with [`Turn::SkipIfBusy`]),
/// `stopped` says so or a chunk fails.
pub async fn purge(
    db: &Database,
    scope: Scope,
    cutoff: NaiveDateTime,
    turn: Turn,
    stopped: impl Fn() -> bool,
) -> PurgeRun {
    let mut purged = Purged::default();
    let ended = loop {
        if stopped() {
            break Ended::Stopped;
        }
        match db.run(move |c| store::purge_chunk(c, scope, cutoff, CHUNK, turn)).await {
            Ok(None) => break Ended::Busy,
            Ok(Some(chunk)) => {
                purged += chunk;
                if chunk.events < CHUNK.unsigned_abs() {
                    break Ended::Done;
                }
            }
            Err(e) => break Ended::Failed(e),
        }
        tokio::time::sleep(CHUNK_PAUSE).await;
    };
    PurgeRun { purged, ended }
}

/// The periodic purge: a first one shortly after start, then one every
/// `retention.interval_secs` (run by [`crate::jobs::periodic::Scheduler`]).
pub struct RetentionJob {
    pub db: Database,
    pub settings: RetentionSettings,
    pub metrics: Arc<Metrics>,
}

impl PeriodicJob for RetentionJob {
    const NAME: &'static str = "retention";

    fn interval(&self) -> Duration {
        self.settings.interval()
    }

    async fn run_once(&self, stop: &watch::Receiver<bool>) {
        run_once(&self.db, &self.settings, &self.metrics, stop).await;
    }
}

/// One purge of finished events, then of delivered notifications, each logged as one line
/// with its counts.
#[tracing::instrument(name = "retention", skip_all)]
async fn run_once(db: &Database, settings: &RetentionSettings, metrics: &Metrics, stop: &watch::Receiver<bool>) {
    purge_events(db, settings, metrics, stop).await;
    purge_notifications(db, cutoff(settings.finished_after_days), stop).await;
}

/// Notifications whose deliveries all finished before the cutoff, with their delivery logs.
async fn purge_notifications(db: &Database, cutoff: NaiveDateTime, stop: &watch::Receiver<bool>) {
    let mut purged = 0;
    while !*stop.borrow() {
        match db
            .run(move |c| crate::notifications::store::purge_finished(c, cutoff, CHUNK))
            .await
        {
            Ok(n) => {
                purged += n;
                if n < CHUNK.unsigned_abs() as usize {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "purging old notifications failed; the next run tries again");
                break;
            }
        }
        tokio::time::sleep(CHUNK_PAUSE).await;
    }
    if purged > 0 {
        tracing::info!(purged.notifications = purged, "old delivered notifications purged");
    }
}

async fn purge_events(db: &Database, settings: &RetentionSettings, metrics: &Metrics, stop: &watch::Receiver<bool>) {
    let started = Instant::now();
    let cutoff = cutoff(settings.finished_after_days);
    let run = purge(db, Scope::Finished, cutoff, Turn::SkipIfBusy, || *stop.borrow()).await;
    metrics.events_purged(run.purged.events);
    let (events, attempts) = (run.purged.events, run.purged.attempts);
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let finished_before = cutoff.and_utc().to_rfc3339();
    match run.ended {
        Ended::Done | Ended::Stopped => tracing::info!(
            purged.events = events,
            purged.attempts = attempts,
            finished_before,
            duration_ms,
            "old finished events purged"
        ),
        Ended::Busy => tracing::info!(
            purged.events = events,
            purged.attempts = attempts,
            finished_before,
            duration_ms,
            "old finished events purged until another instance took its turn"
        ),
        Ended::Failed(e) => tracing::warn!(
            purged.events = events,
            purged.attempts = attempts,
            finished_before,
            duration_ms,
            error = %e,
            "purging old finished events failed; the next run tries again"
        ),
    }
}

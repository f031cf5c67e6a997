//! What the public surfaces (`/readyz`, `/metrics`) report, kept in memory. They answer anyone,
//! so a request never runs a query: one background task checks readiness every couple of
//! seconds and refreshes the database-derived gauges on `metrics.refresh_interval_secs`, and
//! each request reads the last result. A flood of scrapes costs no database connection.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::Database;
use crate::db::MigrationState;
use crate::inbox::{listing, EventStatus};
use crate::metrics::Metrics;

/// How often readiness (the database answers, the schema is current) is checked.
const READINESS_INTERVAL: Duration = Duration::from_secs(2);

/// The last readiness check.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The migration state, or why the database could not be read.
    pub database: Result<MigrationState, String>,
    pub checked_at: NaiveDateTime,
}

/// The shared last results. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    readiness: Arc<RwLock<Readiness>>,
}

impl Health {
    /// The last readiness check.
    pub fn readiness(&self) -> Readiness {
        self.readiness.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, readiness: Readiness) {
        *self.readiness.write().unwrap_or_else(|e| e.into_inner()) = readiness;
    }
}

/// The running task; stop it with [`HealthMonitor::shutdown`].
pub struct HealthMonitor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HealthMonitor {
    /// Checks once (so the first answers are right), then starts the task on the current runtime.
    pub async fn start(db: Database, metrics: Arc<Metrics>, gauges_every: Duration) -> (Self, Health) {
        let health = Health {
            readiness: Arc::new(RwLock::new(check_readiness(&db).await)),
        };
        refresh_gauges(&db, &metrics).await;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(db, metrics, health.clone(), gauges_every, stopped));
        (Self { stop, task }, health)
    }

    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the health monitor ended abnormally");
        }
    }
}

async fn run(
    db: Database,
    metrics: Arc<Metrics>,
    health: Health,
    gauges_every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut readiness = tokio::time::interval(READINESS_INTERVAL);
    let mut gauges = tokio::time::interval(gauges_every);
    for interval in [&mut readiness, &mut gauges] {
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.reset();
    }
    loop {
        tokio::select! {
            _ = readiness.tick() => health.set(check_readiness(&db).await),
            _ = gauges.tick() => refresh_gauges(&db, &metrics).await,
            _ = stop.changed() => return,
        }
    }
}

async fn check_readiness(db: &Database) -> Readiness {
    let database = db.migration_state().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check: database unreachable");
        e.to_string()
    });
    Readiness {
        database,
        checked_at: Utc::now().naive_utc(),
    }
}

/// Sets the queue gauges from one aggregation; keeps the previous values when it fails.
async fn refresh_gauges(db: &Database, metrics: &Metrics) {
    let now = Utc::now().naive_utc();
    match db.run(move |c| listing::stats(c, now)).await {
        Ok(stats) => {
            let counts = EventStatus::TEXTS
                .iter()
                .map(|s| (*s, stats.by_status.get(*s).copied().unwrap_or(0)));
            let oldest = stats
                .oldest_pending_received_at
                .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            metrics.set_queue(counts, oldest);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: database gauges not refreshed"),
    }
    crate::notifications::stats::refresh_gauges(db, metrics, now).await;
    crate::reconcile::gauges::refresh(db, metrics).await;
}

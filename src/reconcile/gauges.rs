//! The reconciler's gauges from the recorded runs, refreshed in the background with the other
//! database-derived gauges (`crate::health`): every instance then shows the last run of any
//! instance or of the command line, not only its own.

use crate::db::Database;
use crate::metrics::Metrics;

use super::runs;

pub async fn refresh(db: &Database, metrics: &Metrics) {
    match db.run(runs::latest).await {
        Ok((Some(last), succeeded_at)) => metrics.reconcile.observe_run(
            &last.counts,
            last.brake.is_some(),
            succeeded_at.map(|at| at.and_utc().timestamp() as f64),
        ),
        Ok((None, _)) => {}
        Err(e) => tracing::warn!(error = %e, "metrics: reconcile gauges not refreshed"),
    }
}

//! The periodic run (`reconcile.enabled`): every `reconcile.interval_secs`, alongside the
//! workers, applying repairs; an instance that finds another one's run in progress skips its turn.

use std::time::Duration;

use tokio::sync::watch;

use super::{Reconciler, RunOutcome};
use crate::jobs::periodic::PeriodicJob;
use crate::operations::Actor;

pub struct ReconcileJob {
    pub reconciler: Reconciler,
}

impl PeriodicJob for ReconcileJob {
    const NAME: &'static str = "reconcile";

    fn interval(&self) -> Duration {
        self.reconciler.settings.interval()
    }

    async fn run_once(&self, _stop: &watch::Receiver<bool>) {
        match crate::operations::reconcile::run(&self.reconciler, true, &Actor::periodic()).await {
            Ok(RunOutcome::Finished(_) | RunOutcome::Busy { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "the reconcile run could not be recorded; the next run tries again"),
        }
    }
}

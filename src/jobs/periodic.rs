//! Periodic jobs (retention now, reconciliation next): each runs once shortly after start, then
//! every interval, until shutdown. A job that must run on one instance at a time on a shared
//! Postgres takes its [`crate::db::locks::Lock`] for each unit of work, in the transaction doing it, and skips the
//! unit when another instance holds it: the lock dies with its transaction, so an instance that
//! crashed never keeps the others from their turn.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The first run comes this long after start (or after the interval, if shorter), once the
/// instance has settled.
const FIRST_RUN_DELAY: Duration = Duration::from_secs(10);

/// A job the scheduler runs every [`PeriodicJob::interval`].
pub trait PeriodicJob: Send + Sync + 'static {
    /// The job's name in logs.
    const NAME: &'static str;

    fn interval(&self) -> Duration;

    /// One run. `stop` turns true at shutdown: a long run checks it between units of work.
    fn run_once(&self, stop: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send;
}

/// Running periodic jobs; stop them with [`Scheduler::shutdown`].
#[derive(Default)]
pub struct Scheduler {
    stop: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts `job` on the current runtime.
    pub fn start<J: PeriodicJob>(&mut self, job: J) {
        let stop = self.stop.get_or_insert_with(|| watch::channel(false).0);
        let stopped = stop.subscribe();
        tracing::info!(
            job = J::NAME,
            interval_secs = job.interval().as_secs(),
            "periodic job started"
        );
        self.tasks.push(tokio::spawn(every_interval(Arc::new(job), stopped)));
    }

    /// Stops every job, letting a unit of work in progress finish.
    pub async fn shutdown(self) {
        if let Some(stop) = &self.stop {
            stop.send_replace(true);
        }
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a periodic job ended abnormally");
            }
        }
    }
}

async fn every_interval<J: PeriodicJob>(job: Arc<J>, mut stop: watch::Receiver<bool>) {
    let mut wait = FIRST_RUN_DELAY.min(job.interval());
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        job.run_once(&stop).await;
        wait = job.interval();
    }
}

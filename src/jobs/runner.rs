//! The runner: one loop for every queue of leased work (see the module above).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::{Lease, Queue};
use crate::metrics::Metrics;

/// How long to back off when claiming fails (the database is unavailable, say).
const CLAIM_BACKOFF: Duration = Duration::from_secs(1);

/// Shortest idle wait, so that the loop never spins.
const MIN_IDLE: Duration = Duration::from_millis(20);

/// How a runner runs its queue.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Items run at the same time.
    pub concurrency: usize,
    /// The fallback poll when no wake-up arrives.
    pub poll: Duration,
    /// How long a claim is leased. It is renewed every third of that while its item runs, so an
    /// item whose runner died is due again at most this long after the last renewal.
    pub lease: Duration,
    /// At shutdown, how long running items may finish before they are cut short.
    pub grace: Duration,
    /// A claim given back at shutdown is due again after this long: a call cut short may still
    /// complete on the other side, and must have had the time to show.
    pub release_delay: Duration,
}

/// A running queue; stop it with [`Runner::shutdown`].
pub struct Runner<Q: Queue> {
    shared: Arc<Shared<Q>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Shared<Q> {
    queue: Q,
    settings: RunnerSettings,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// Claims being run: given back if shutdown cuts them short.
    running: Mutex<HashSet<Lease>>,
}

impl<Q> Shared<Q> {
    fn running(&self) -> MutexGuard<'_, HashSet<Lease>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<Q: Queue> Runner<Q> {
    /// Starts claiming on the current runtime. `wake` is notified when items are queued.
    pub fn spawn(queue: Q, settings: RunnerSettings, wake: Arc<Notify>, metrics: Arc<Metrics>) -> Self {
        let shared = Arc::new(Shared {
            queue,
            settings,
            wake,
            metrics,
            running: Mutex::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(dispatch(shared.clone(), stopped));
        Self { shared, stop, task }
    }

    /// Stops claiming, lets running items finish for up to the grace period, then gives back the
    /// claims of those cut short, due again after the release delay.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::warn!(queue = Q::NAME, error = %e, "the runner ended abnormally");
        }
        let unfinished: Vec<Lease> = self.shared.running().drain().collect();
        let settle = chrono::Duration::from_std(self.shared.settings.release_delay).unwrap_or_default();
        for lease in unfinished {
            match self.shared.queue.release(lease, now() + settle).await {
                Ok(_) => {
                    self.shared.metrics.lease_event(Q::NAME, "released");
                    tracing::info!(queue = Q::NAME, id = lease.id, "claim released at shutdown")
                }
                Err(e) => {
                    tracing::warn!(queue = Q::NAME, id = lease.id, error = %e, "claim not released; it frees when its lease expires")
                }
            }
        }
    }
}

/// Claims as many due items as there are free slots, in one call, and runs each on its own
/// task; idles until a wake-up, the next due item or the fallback poll when nothing is due.
async fn dispatch<Q: Queue>(shared: Arc<Shared<Q>>, mut stop: watch::Receiver<bool>) {
    let settings = &shared.settings;
    let slots = Arc::new(Semaphore::new(settings.concurrency));
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
        let claimed_at = Instant::now();
        let now = now();
        let lease_until = now + chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::MAX);
        match shared.queue.claim(now, lease_until, permits.len()).await {
            Ok(claimed) if !claimed.is_empty() => {
                shared.metrics.claimed(Q::NAME, claimed.len());
                for (item, permit) in claimed.into_iter().zip(permits) {
                    let shared = shared.clone();
                    let lease = Q::lease_of(&item);
                    shared.running().insert(lease);
                    running.spawn(async move {
                        shared.metrics.running(Q::NAME, 1);
                        run(&shared, item, lease, claimed_at).await;
                        shared.metrics.running(Q::NAME, -1);
                        shared.running().remove(&lease);
                        drop(permit);
                        // A finished item may unblock another (its tenant's next event), or
                        // have scheduled a retry: look again.
                        shared.wake.notify_one();
                    });
                }
            }
            Ok(_) => {
                drop(permits);
                let idle = until_next_due(&shared.queue)
                    .await
                    .map_or(settings.poll, |due| due.min(settings.poll));
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                drop(permits);
                tracing::warn!(queue = Q::NAME, error = %e, "cannot claim; backing off");
                tokio::select! {
                    _ = tokio::time::sleep(CLAIM_BACKOFF) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    let finished = tokio::time::timeout(settings.grace, async { while running.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        running.abort_all();
        while running.join_next().await.is_some() {}
    }
}

/// Runs one item while renewing its lease. Work whose lease cannot be renewed is abandoned: once
/// the lease has expired another runner may take the item, and two must never run it at once.
async fn run<Q: Queue>(shared: &Shared<Q>, item: Q::Item, lease: Lease, claimed_at: Instant) {
    tokio::select! {
        () = shared.queue.run(item) => {}
        lost = keep_lease(shared, lease, claimed_at) => {
            shared.metrics.lease_event(Q::NAME, "lost");
            tracing::warn!(queue = Q::NAME, id = lease.id, attempt = lease.attempt, reason = lost, "lease lost: the work was abandoned and is claimed again");
        }
    }
}

/// Renews the lease every third of its length; returns why, once it is lost: renewed by nobody
/// before it expired (the database was unreachable), or held by another claim.
async fn keep_lease<Q: Queue>(shared: &Shared<Q>, lease: Lease, claimed_at: Instant) -> &'static str {
    let length = shared.settings.lease;
    let period = length / 3;
    let mut held_until = claimed_at + length;
    let mut beat = tokio::time::interval_at((claimed_at + period).into(), period);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = beat.tick() => {}
            () = tokio::time::sleep_until(held_until.into()) => return "it expired before it could be renewed",
        }
        let asked = Instant::now();
        let until = now() + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::MAX);
        match tokio::time::timeout_at(held_until.into(), shared.queue.extend(lease, until)).await {
            Ok(Ok(true)) => held_until = asked + length,
            Ok(Ok(false)) => return "another claim holds the item",
            Ok(Err(e)) => tracing::warn!(queue = Q::NAME, id = lease.id, error = %e, "could not renew the lease"),
            Err(_) => return "it expired before it could be renewed",
        }
    }
}

/// How long until a waiting item (a scheduled retry, say) is due.
async fn until_next_due<Q: Queue>(queue: &Q) -> Option<Duration> {
    let due = queue.next_due(now()).await?;
    let wait = (due - now()).to_std().unwrap_or(Duration::ZERO);
    Some(wait.max(MIN_IDLE))
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;

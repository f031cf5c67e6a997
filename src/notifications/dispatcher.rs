//! The dispatcher: claims due deliveries as leases, sends each, and writes how it went — the
//! delivery's next state, its log line and the subscriber's health — in one transaction.
//!
//! How an attempt ends is decided in [`super::outcome`]: retried on the schedule until the
//! subscription's attempts are spent, 410 Gone disabling the subscription at once; a
//! subscription whose deliveries have all failed for `disable_after_failing_secs` is disabled.
//! Each request takes at most the subscription's own timeout, else the global one.
//!
//! A subscription whose stored secret does not open (its key is not configured, or the value
//! was altered) gets nothing unsigned: each attempt fails without a request, with the reason
//! as its error, and is retried like any other, so that restoring the key and restarting
//! delivers it; once its attempts are spent the delivery is dead, `last_error` naming the key.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use super::outcome::plan;
use super::sealing::Sealer;
use super::sender::{SendResult, Sender};
use super::signing::signing_secrets;
use crate::config::NotificationSettings;
use crate::metrics::Metrics;
use crate::store::notifications::{self as store, delivery_status as ds, Claimed};
use crate::store::Database;

/// The running dispatcher; stop it with [`Dispatcher::shutdown`].
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Dispatcher {
    /// Starts delivering on the current runtime. `wake` is notified when deliveries are queued.
    pub fn spawn(
        db: Database,
        sender: Sender,
        sealer: Sealer,
        settings: NotificationSettings,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        tracing::info!(
            notifications.concurrency = settings.concurrency,
            "notification dispatcher started"
        );
        let shared = Arc::new(Shared {
            db,
            sender,
            sealer,
            settings,
            metrics,
        });
        let task = tokio::spawn(run(shared, wake, stopped));
        Self { stop, task }
    }

    /// Stops claiming and waits for the deliveries in flight (each bounded by the request timeout).
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the notification dispatcher ended abnormally");
        }
    }
}

/// What every delivery task uses.
struct Shared {
    db: Database,
    sender: Sender,
    sealer: Sealer,
    settings: NotificationSettings,
    metrics: Arc<Metrics>,
}

async fn run(shared: Arc<Shared>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let (db, settings) = (&shared.db, &shared.settings);
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let poll = Duration::from_millis(settings.poll_interval_ms);
    while !*stop.borrow() {
        // Wait for a free slot, then claim as many deliveries as there are free slots.
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let free = 1 + slots.available_permits();
        let now = now();
        let lease_until = now + chrono::Duration::from_std(settings.lease()).unwrap_or_default();
        let claimed = match db.run(move |c| store::claim(c, now, lease_until, free as i64)).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming notification deliveries failed; trying again shortly");
                drop(first);
                wait(&wake, &mut stop, poll).await;
                continue;
            }
        };
        if claimed.is_empty() {
            drop(first);
            let next = db.run(move |c| store::next_due(c, now)).await.ok().flatten();
            let until_next = next
                .and_then(|at| (at - now).to_std().ok())
                .map_or(poll, |d| d.min(poll));
            wait(&wake, &mut stop, until_next).await;
            continue;
        }
        let mut permits = vec![first];
        for claim in claimed {
            let permit = match permits.pop() {
                Some(p) => p,
                None => match slots.clone().try_acquire_owned() {
                    Ok(p) => p,
                    // Cannot happen (one claim per free slot); the lease brings it back if it does.
                    Err(_) => break,
                },
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                deliver(&shared, claim).await;
                drop(permit);
            });
        }
    }
    // Let the deliveries in flight finish and write their outcome.
    let _ = slots.acquire_many(settings.concurrency as u32).await;
}

async fn wait(wake: &Notify, stop: &mut watch::Receiver<bool>, at_most: Duration) {
    tokio::select! {
        () = wake.notified() => {}
        () = tokio::time::sleep(at_most) => {}
        _ = stop.changed() => {}
    }
}

/// Sends one claimed delivery and writes how it went.
#[tracing::instrument(name = "notification", skip_all, fields(delivery.id = claim.delivery.id, subscription.id = %claim.subscription.id))]
async fn deliver(shared: &Shared, claim: Claimed) {
    let Shared {
        db,
        sender,
        sealer,
        settings,
        metrics,
    } = shared;
    let started_at = now();
    let result = match signing_secrets(sealer, &claim.subscription, started_at) {
        Ok(secrets) => {
            sender
                .send(
                    &claim.subscription.url,
                    &claim.message.id,
                    &claim.message.payload,
                    &secrets,
                    started_at.and_utc().timestamp(),
                    sender.timeout_for(claim.subscription.request_timeout_ms),
                )
                .await
        }
        Err(e) => SendResult::not_sent(format!("not sent: {e}")),
    };
    let end = plan(settings, &claim, &result, started_at, now());
    let status = end.status;
    metrics.notification_attempt(&claim.message.event_type, status, result.duration);
    match db.run(move |c| store::finish(c, &end)).await {
        Ok(true) if status == ds::SUCCEEDED => {
            tracing::debug!(duration_ms = millis(result.duration), "notification delivered");
        }
        Ok(true) => tracing::info!(
            delivery.status = status,
            http.status = result.status,
            error = result.error.as_deref().unwrap_or_default(),
            "notification not delivered"
        ),
        Ok(false) => tracing::info!("the delivery's lease expired while sending; another sender has it"),
        Err(e) => {
            tracing::warn!(error = %e, "the delivery's outcome could not be written; it is sent again once its lease expires")
        }
    }
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

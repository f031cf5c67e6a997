//! The dispatcher: the outbox as a queue of the job runner. It sends each claimed delivery and
//! writes how it went — the delivery's next state, its log line and the subscriber's health —
//! in one transaction.
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;

use super::outcome::plan;
use super::sealing::Sealer;
use super::sender::{SendResult, Sender};
use super::signing::signing_secrets;
use crate::config::NotificationSettings;
use crate::db::{Database, StoreError};
use crate::jobs::{Lease, Queue, RunnerSettings};
use crate::metrics::Metrics;
use crate::notifications::store::{self as store, ClaimedDelivery, DeliveryStatus};
use crate::pacing::{Gate, GateSettings};

/// The outbox's deliveries, as a queue of the job runner ([`crate::jobs`]).
pub struct DeliveryQueue {
    db: Database,
    sender: Sender,
    sealer: Sealer,
    settings: NotificationSettings,
    metrics: Arc<Metrics>,
    /// One pacing gate per subscription: a subscriber that answers 429 or 503 slows down the
    /// deliveries to it, and to it only.
    gates: Mutex<HashMap<String, Gate>>,
}

impl DeliveryQueue {
    pub fn new(
        db: Database,
        sender: Sender,
        sealer: Sealer,
        settings: NotificationSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        tracing::info!(
            notifications.concurrency = settings.concurrency,
            "notification dispatcher started"
        );
        Self {
            db,
            sender,
            sealer,
            settings,
            metrics,
            gates: Mutex::default(),
        }
    }

    /// How the runner runs it. A delivery cut short at shutdown is due again at once: a
    /// subscriber must accept a message twice (its id says it is the same).
    pub fn runner_settings(settings: &NotificationSettings) -> RunnerSettings {
        RunnerSettings {
            concurrency: settings.concurrency,
            poll: Duration::from_millis(settings.poll_interval_ms),
            lease: settings.lease(),
            grace: Duration::from_millis(settings.request_timeout_ms) + Duration::from_secs(1),
            release_delay: Duration::ZERO,
        }
    }
}

impl Queue for DeliveryQueue {
    type Item = ClaimedDelivery;

    const NAME: &'static str = "notifications";

    fn lease_of(claimed: &ClaimedDelivery) -> Lease {
        Lease {
            id: claimed.delivery.id,
            attempt: claimed.delivery.attempts,
        }
    }

    async fn claim(
        &self,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(1);
        self.db.run(move |c| store::claim(c, now, lease_until, limit)).await
    }

    async fn next_due(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        self.db.run(move |c| store::next_due(c, now)).await.ok().flatten()
    }

    async fn run(&self, claimed: ClaimedDelivery) {
        deliver(self, claimed).await;
    }

    async fn extend(&self, lease: Lease, until: NaiveDateTime) -> Result<bool, StoreError> {
        self.db
            .run(move |c| store::extend(c, lease.id, lease.attempt, until))
            .await
    }

    async fn release(&self, lease: Lease, due: NaiveDateTime) -> Result<bool, StoreError> {
        self.db
            .run(move |c| store::release(c, lease.id, lease.attempt, due))
            .await
    }
}

impl DeliveryQueue {
    /// The gate of `subscription`, made on its first delivery.
    fn gate_of(&self, subscription: &str) -> Option<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(gate) = gates.get(subscription) {
            return Some(gate.clone());
        }
        let settings = GateSettings::new(format!("subscription {subscription}"), self.settings.concurrency);
        let gate = Gate::new(settings).ok()?;
        gates.insert(subscription.to_owned(), gate.clone());
        Some(gate)
    }
}

/// How long a delivery waits for its subscriber's gate before it gives its claim back (due
/// when the gate reopens), so that a throttled subscriber never holds the slots of the others.
const GATE_PATIENCE: Duration = Duration::from_secs(1);

/// Sends one claimed delivery and writes how it went.
#[tracing::instrument(name = "notification", skip_all, fields(delivery.id = claim.delivery.id, subscription.id = %claim.subscription.id))]
async fn deliver(queue: &DeliveryQueue, claim: ClaimedDelivery) {
    let DeliveryQueue {
        db,
        sender,
        sealer,
        settings,
        metrics,
        ..
    } = queue;
    let gate = queue.gate_of(&claim.subscription.id);
    let permit = match &gate {
        Some(gate) => match tokio::time::timeout(GATE_PATIENCE, gate.acquire()).await {
            Ok(permit) => Some(permit),
            Err(_) => return wait_for_gate(db, gate, &claim).await,
        },
        None => None,
    };
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
    if let Some(permit) = permit {
        match &result {
            r if r.delivered() => permit.succeeded(),
            r if r.throttled() => permit.throttled(r.retry_after),
            _ => permit.failed(),
        }
    }
    let end = plan(settings, &claim, &result, started_at, now());
    let status = end.status;
    metrics.notification_attempt(&claim.message.event_type, status.as_str(), result.duration);
    match db.run(move |c| store::finish(c, &end)).await {
        Ok(true) if status == DeliveryStatus::Succeeded => {
            tracing::debug!(duration_ms = millis(result.duration), "notification delivered");
        }
        Ok(true) => tracing::info!(
            delivery.status = status.as_str(),
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

/// Gives the claim back unsent, due when the subscriber's gate reopens: no attempt is counted.
async fn wait_for_gate(db: &Database, gate: &Gate, claim: &ClaimedDelivery) {
    let reopens_in = gate
        .snapshot()
        .reopens_in_ms
        .map_or(GATE_PATIENCE, Duration::from_millis);
    let due = now() + chrono::Duration::from_std(reopens_in.max(GATE_PATIENCE)).unwrap_or_default();
    let (id, attempt) = (claim.delivery.id, claim.delivery.attempts);
    match db.run(move |c| store::release(c, id, attempt, due)).await {
        Ok(_) => tracing::debug!(retry_at = %due, "the subscriber's gate is closed; the delivery waits for it"),
        Err(e) => tracing::warn!(error = %e, "the delivery could not be given back; it is sent once its lease expires"),
    }
}

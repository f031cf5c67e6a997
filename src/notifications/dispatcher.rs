//! The dispatcher: claims due deliveries as leases, sends each, and writes how it went — the
//! delivery's next state, its log line and the subscriber's health — in one transaction.
//!
//! Any answer but 2xx is retried on `notifications.retry_schedule_secs` with jitter (honouring
//! `Retry-After`) until the schedule is spent; 410 Gone disables the subscription at once; a
//! subscription whose deliveries have all failed for `disable_after_failing_secs` is disabled.
//!
//! A subscription whose stored secret does not open (its key is not configured, or the value
//! was altered) gets nothing unsigned: each attempt fails without a request, with the reason
//! as its error, and is retried like any other, so that restoring the key and restarting
//! delivers it; once the schedule is spent the delivery is dead, `last_error` naming the key.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use super::sealing::Sealer;
use super::sender::{SendResult, Sender};
use super::signing::signing_secrets;
use crate::config::NotificationSettings;
use crate::metrics::Metrics;
use crate::provisioning::retry;
use crate::store::notifications::{self as store, delivery_status as ds, AttemptRecord, Claimed, Finish, Health};
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

/// How an attempt ends: what the delivery becomes and how the subscriber is doing.
pub fn plan(
    settings: &NotificationSettings,
    claim: &Claimed,
    result: &SendResult,
    started_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Finish {
    let (delivery, subscription) = (&claim.delivery, &claim.subscription);
    let record = AttemptRecord {
        delivery_id: delivery.id,
        attempt: delivery.attempts,
        at: started_at,
        status_code: result.status.map(i32::from),
        response_body: result.body.clone(),
        error: result.error.clone(),
        duration_ms: millis(result.duration),
    };
    let end = |status, next_attempt_at, record, health| Finish {
        delivery_id: delivery.id,
        subscription_id: subscription.id.clone(),
        attempt: delivery.attempts,
        status,
        next_attempt_at,
        record,
        health,
        now,
    };
    if result.delivered() {
        return end(ds::SUCCEEDED, None, record, Health::Healthy);
    }
    if result.status == Some(410) {
        let reason = "the endpoint answered 410 Gone: the subscription was disabled".to_owned();
        let record = AttemptRecord {
            error: Some(reason.clone()),
            ..record
        };
        return end(ds::DEAD, None, record, Health::Disable { reason });
    }
    let health = Health::Failing {
        at: started_at,
        disable_after: chrono::Duration::seconds(
            i64::try_from(settings.disable_after_failing_secs).unwrap_or(i64::MAX),
        ),
    };
    let attempts = u32::try_from(delivery.attempts_in_round()).unwrap_or(u32::MAX);
    let delay = retry::next_delay(
        &settings.retry_schedule(),
        settings.retry_jitter,
        attempts,
        result.retry_after,
        retry::random_spread(),
    );
    match delay
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| now.checked_add_signed(d))
    {
        Some(next) => end(ds::FAILED_RETRYING, Some(next), record, health),
        None => {
            let error = format!(
                "gave up after {attempts} attempts: {}",
                result.error.as_deref().unwrap_or("no answer")
            );
            let record = AttemptRecord {
                error: Some(error),
                ..record
            };
            end(ds::DEAD, None, record, health)
        }
    }
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::notifications::{Delivery, Message, Subscription};

    fn settings() -> NotificationSettings {
        NotificationSettings {
            enabled: true,
            concurrency: 1,
            poll_interval_ms: 1000,
            lease_secs: 60.0,
            retry_schedule_secs: vec![10.0, 60.0],
            retry_jitter: 0.0,
            connect_timeout_ms: 1000,
            request_timeout_ms: 1000,
            response_body_limit_bytes: 64,
            rotation_grace_secs: 60,
            disable_after_failing_secs: 3600,
            allowed_private_networks: vec![],
            allow_http: true,
            encryption_keys: vec![],
        }
    }

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    fn claim(attempts: i32, failing_since: Option<NaiveDateTime>) -> Claimed {
        Claimed {
            delivery: Delivery {
                id: 7,
                message_id: "msg_1".into(),
                subscription_id: "sub_1".into(),
                status: ds::DELIVERING.into(),
                attempts,
                attempts_before_redelivery: 0,
                next_attempt_at: at(0),
                locked_until: Some(at(60)),
                last_status_code: None,
                last_error: None,
                created_at: at(0),
                finished_at: None,
            },
            message: Message {
                id: "msg_1".into(),
                event_type: "workspace.provisioned".into(),
                tenant_id: Some("t1".into()),
                payload: "{}".into(),
                created_at: at(0),
            },
            subscription: Subscription {
                id: "sub_1".into(),
                url: "https://example.com/hook".into(),
                event_types: "[\"*\"]".into(),
                tenant_id: None,
                description: None,
                sealed_secret: "enc:v1:00000000:AAAA".into(),
                sealed_previous_secret: None,
                previous_secret_expires_at: None,
                active: true,
                disabled_reason: None,
                failing_since,
                created_at: at(0),
                updated_at: at(0),
            },
        }
    }

    fn answered(status: u16, retry_after: Option<u64>) -> SendResult {
        SendResult {
            status: Some(status),
            body: Some("body".into()),
            error: (status >= 300).then(|| format!("the endpoint answered {status}")),
            retry_after: retry_after.map(Duration::from_secs),
            duration: Duration::from_millis(12),
        }
    }

    #[test]
    fn a_2xx_succeeds_and_makes_the_subscriber_healthy() {
        let end = plan(
            &settings(),
            &claim(1, Some(at(-100))),
            &answered(204, None),
            at(0),
            at(1),
        );
        assert_eq!((end.status, end.health), (ds::SUCCEEDED, Health::Healthy));
        assert_eq!((end.record.status_code, end.record.duration_ms), (Some(204), 12));
    }

    #[test]
    fn a_failure_is_retried_on_the_schedule_and_honours_retry_after() {
        let end = plan(&settings(), &claim(1, None), &answered(500, None), at(0), at(1));
        assert_eq!(end.status, ds::FAILED_RETRYING);
        assert_eq!(end.next_attempt_at, Some(at(11)));
        assert!(matches!(end.health, Health::Failing { at: t, .. } if t == at(0)));

        let end = plan(&settings(), &claim(1, None), &answered(429, Some(30)), at(0), at(1));
        assert_eq!(end.next_attempt_at, Some(at(31)), "Retry-After is longer than the step");
        let end = plan(&settings(), &claim(1, None), &answered(503, Some(86_400)), at(0), at(1));
        assert_eq!(end.next_attempt_at, Some(at(61)), "capped at the longest step");
    }

    #[test]
    fn the_delivery_is_dead_once_the_schedule_is_spent() {
        let end = plan(&settings(), &claim(3, None), &answered(500, None), at(0), at(1));
        assert_eq!(end.status, ds::DEAD);
        assert!(end
            .record
            .error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts"));
    }

    #[test]
    fn gone_disables_the_subscription_at_once() {
        let end = plan(&settings(), &claim(1, None), &answered(410, None), at(0), at(1));
        assert_eq!(end.status, ds::DEAD);
        assert!(matches!(end.health, Health::Disable { ref reason } if reason.contains("410")));
    }

    #[test]
    fn a_failure_leaves_the_disabling_to_the_stored_failure_clock() {
        let end = plan(
            &settings(),
            &claim(1, Some(at(-7200))),
            &answered(500, None),
            at(0),
            at(0),
        );
        assert_eq!(
            end.health,
            Health::Failing {
                at: at(0),
                disable_after: chrono::Duration::seconds(3600)
            }
        );
    }
}

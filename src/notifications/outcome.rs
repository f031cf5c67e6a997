//! How one delivery attempt ends: what the delivery becomes (succeeded, retried later, dead)
//! and how its subscriber is doing, decided from the send's result alone so that the dispatcher
//! writes it in one transaction.
//!
//! Any answer but 2xx is retried on `notifications.retry_schedule_secs` with jitter (honouring
//! `Retry-After`) until the subscription's attempts are spent ([`limits::retry_policy`]): by
//! default a first attempt and one per step of the schedule. 410 Gone disables the
//! subscription at once. A 429 (or a 503 with `Retry-After`) is not a failure: the subscriber
//! asked to slow down, so
//! the delivery waits (its `Retry-After`, at least the schedule's first step) without spending
//! its retries, and the subscriber's gate paces the deliveries that follow.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::limits;
use super::sender::SendResult;
use crate::config::NotificationSettings;
use crate::jobs::retry::Next;
use crate::notifications::store::{AttemptRecord, ClaimedDelivery, DeliveryStatus, Finish, Health};

/// How an attempt ends: what the delivery becomes and how the subscriber is doing.
pub fn plan(
    settings: &NotificationSettings,
    claim: &ClaimedDelivery,
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
        throttled: false,
        now,
    };
    if result.delivered() {
        return end(DeliveryStatus::Succeeded, None, record, Health::Healthy);
    }
    if result.status == Some(410) {
        let reason = "the endpoint answered 410 Gone: the subscription was disabled".to_owned();
        let record = AttemptRecord {
            error: Some(reason.clone()),
            ..record
        };
        return end(DeliveryStatus::Dead, None, record, Health::Disable { reason });
    }
    if result.throttled() {
        // Paced, not failed: due again once the subscriber's gate reopens (or when it asked),
        // no retry spent, its health unchanged.
        let first = first_step(settings);
        let pause = result
            .retry_after
            .unwrap_or(first)
            .max(first)
            .min(longest_step(settings));
        let next = now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX);
        let record = AttemptRecord {
            error: Some(format!(
                "throttled: the subscriber answered {}",
                result.status.map_or_else(String::new, |s| s.to_string())
            )),
            ..record
        };
        return Finish {
            throttled: true,
            ..end(DeliveryStatus::FailedRetrying, Some(next), record, Health::Unchanged)
        };
    }
    let health = Health::Failing {
        at: started_at,
        disable_after: chrono::Duration::seconds(
            i64::try_from(settings.disable_after_failing_secs).unwrap_or(i64::MAX),
        ),
    };
    let attempts = u32::try_from(delivery.attempts_in_round()).unwrap_or(u32::MAX);
    let policy = limits::retry_policy(settings, subscription);
    match policy.after_failure(
        attempts,
        result.error.as_deref().unwrap_or("no answer"),
        result.retry_after,
        now,
    ) {
        Next::Retry { at } => end(DeliveryStatus::FailedRetrying, Some(at), record, health),
        Next::GiveUp { error } => {
            let record = AttemptRecord {
                error: Some(error),
                ..record
            };
            end(DeliveryStatus::Dead, None, record, health)
        }
    }
}

/// The first step of the retry schedule: how long a delivery its subscriber asked to slow down
/// waits at least.
fn first_step(settings: &NotificationSettings) -> Duration {
    settings.retry_schedule().first().copied().unwrap_or_default()
}

/// The longest step of the retry schedule: the most a subscriber's `Retry-After` is honoured.
fn longest_step(settings: &NotificationSettings) -> Duration {
    settings.retry_schedule().into_iter().max().unwrap_or_default()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::store::{Delivery, Message, Subscription};

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

    fn claim(attempts: i32, failing_since: Option<NaiveDateTime>) -> ClaimedDelivery {
        ClaimedDelivery {
            delivery: Delivery {
                id: 7,
                message_id: "msg_1".into(),
                subscription_id: "sub_1".into(),
                status: DeliveryStatus::Delivering,
                attempts,
                attempts_before_redelivery: 0,
                next_attempt_at: at(0),
                locked_until: Some(at(60)),
                last_status_code: None,
                last_error: None,
                created_at: at(0),
                finished_at: None,
                throttled_attempts: 0,
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
                name: None,
                request_timeout_ms: None,
                max_attempts: None,
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
        assert_eq!((end.status, end.health), (DeliveryStatus::Succeeded, Health::Healthy));
        assert_eq!((end.record.status_code, end.record.duration_ms), (Some(204), 12));
    }

    #[test]
    fn a_failure_is_retried_on_the_schedule_and_honours_retry_after() {
        let end = plan(&settings(), &claim(1, None), &answered(500, None), at(0), at(1));
        assert_eq!(end.status, DeliveryStatus::FailedRetrying);
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
        assert_eq!(end.status, DeliveryStatus::Dead);
        assert!(end
            .record
            .error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts"));
    }

    #[test]
    fn a_subscriptions_max_attempts_cuts_the_schedule_short_or_repeats_its_last_step() {
        let after = |attempts, max_attempts| {
            let mut claimed = claim(attempts, None);
            claimed.subscription.max_attempts = max_attempts;
            let end = plan(&settings(), &claimed, &answered(500, None), at(0), at(1));
            (end.status, end.next_attempt_at)
        };
        // The schedule has two steps: three attempts by default.
        assert_eq!(after(2, None), (DeliveryStatus::FailedRetrying, Some(at(61))));
        assert_eq!(after(3, None).0, DeliveryStatus::Dead);
        assert_eq!(after(1, Some(1)).0, DeliveryStatus::Dead, "one attempt only");
        assert_eq!(after(1, Some(2)), (DeliveryStatus::FailedRetrying, Some(at(11))));
        assert_eq!(after(2, Some(2)).0, DeliveryStatus::Dead);
        assert_eq!(
            after(4, Some(5)),
            (DeliveryStatus::FailedRetrying, Some(at(61))),
            "the last step repeats"
        );
        let mut claimed = claim(5, None);
        claimed.subscription.max_attempts = Some(5);
        let end = plan(&settings(), &claimed, &answered(500, None), at(0), at(1));
        assert_eq!(end.status, DeliveryStatus::Dead);
        assert!(end.record.error.unwrap().starts_with("gave up after 5 attempts"));
    }

    #[test]
    fn gone_disables_the_subscription_at_once() {
        let end = plan(&settings(), &claim(1, None), &answered(410, None), at(0), at(1));
        assert_eq!(end.status, DeliveryStatus::Dead);
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

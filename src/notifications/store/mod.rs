//! tenantgate's own outbound webhooks, as stored: subscriptions, the outbox of notifications,
//! one delivery per (notification, subscription) and the log of delivery attempts.
//!
//! Notifications are written by [`enqueue`] inside the transaction that commits the effect they
//! announce, so there is never an effect without its notification nor the reverse.
//!
//! The rows are here; [`subscribers`] changes subscriptions, [`outbox`] queues, claims and
//! finishes deliveries, [`log`] reads and redelivers them and purges old ones.

pub mod delivery_stats;
mod log;
mod outbox;
pub mod secrets;
mod subscribers;

pub use log::*;
pub use outbox::*;
pub use subscribers::*;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    notification_attempts as attempts, notification_deliveries as deliveries, notification_messages as messages,
    notification_subscriptions as subscriptions,
};

pub use crate::db::status::DeliveryStatus;

/// A subscriber: where to send which notifications, and the secrets to sign them with.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// A JSON array of types, `["*"]` for all.
    pub event_types: String,
    pub tenant_id: Option<String>,
    pub description: Option<String>,
    /// The signing secret as stored: sealed (`crate::notifications::sealing`), opened only to sign.
    #[diesel(column_name = secret)]
    pub sealed_secret: String,
    /// The secret a rotation replaced, sealed; it signs too until `previous_secret_expires_at`.
    #[diesel(column_name = previous_secret)]
    pub sealed_previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// A short human label, e.g. "CRM sync".
    pub name: Option<String>,
    /// Overrides `notifications.request_timeout_ms` (never above it); null keeps the default.
    pub request_timeout_ms: Option<i32>,
    /// Overrides the default number of attempts before a delivery is dead; null keeps it.
    pub max_attempts: Option<i32>,
}

impl Subscription {
    /// The subscribed types (`*` for all).
    pub fn types(&self) -> Vec<String> {
        serde_json::from_str(&self.event_types).unwrap_or_default()
    }

    /// Whether a notification of `event_type` about `tenant_id` goes to this subscriber.
    pub fn wants(&self, event_type: &str, tenant_id: Option<&str>) -> bool {
        let types = self.types();
        let type_matches = types.iter().any(|t| t == "*" || t == event_type);
        let tenant_matches = self.tenant_id.as_deref().is_none_or(|wanted| Some(wanted) == tenant_id);
        type_matches && tenant_matches
    }

    /// The secrets deliveries are signed with at `now`, sealed as stored: the current one, and
    /// the previous one while its grace period after a rotation lasts.
    pub fn sealed_signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.sealed_secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.sealed_previous_secret, self.previous_secret_expires_at) {
            if now < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// A notification in the outbox: the envelope exactly as it is sent and signed.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: String,
    pub event_type: String,
    pub tenant_id: Option<String>,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = deliveries)]
struct NewDelivery<'a> {
    message_id: &'a str,
    subscription_id: &'a str,
    status: DeliveryStatus,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// One notification on its way to one subscriber.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: i64,
    pub message_id: String,
    pub subscription_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub attempts_before_redelivery: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    /// Attempts the subscriber answered 429 or 503: they spend none of the retry schedule.
    pub throttled_attempts: i32,
}

impl Delivery {
    /// Attempts since the delivery was queued or last redelivered: the retry schedule's position.
    pub fn attempts_in_round(&self) -> i32 {
        self.attempts - self.attempts_before_redelivery - self.throttled_attempts
    }
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = attempts)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub attempt: i32,
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

//! tenantgate's own outbound webhooks, as stored: subscriptions, the outbox of notifications,
//! one delivery per (notification, subscription) and the log of delivery attempts.
//!
//! Notifications are written by [`enqueue`] inside the transaction that commits the effect they
//! announce, so there is never an effect without its notification nor the reverse.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use serde::Serialize;

use super::schema::{
    audit_log, notification_attempts as attempts, notification_deliveries as deliveries,
    notification_messages as messages, notification_subscriptions as subscriptions,
};
use super::tenants::NewAudit;
use super::{DbConn, StoreError};
use crate::with_conn;

/// Rows per insert statement (5 bound values each, well within SQLite's 32,766).
const INSERT_CHUNK: usize = 1_000;

/// Every status a delivery can have.
pub mod delivery_status {
    pub const PENDING: &str = "pending";
    pub const DELIVERING: &str = "delivering";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED_RETRYING: &str = "failed_retrying";
    pub const DEAD: &str = "dead";
}

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
    status: &'a str,
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
    pub status: String,
    pub attempts: i32,
    pub attempts_before_redelivery: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

impl Delivery {
    /// Attempts since the delivery was queued or last redelivered: the retry schedule's position.
    pub fn attempts_in_round(&self) -> i32 {
        self.attempts - self.attempts_before_redelivery
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

/// Writes each notification to the outbox with one delivery per active subscriber that wants
/// it; a notification nobody wants is not kept. Call inside the transaction of the effect.
/// Returns the number of deliveries queued.
pub fn enqueue<'a>(conn: &mut DbConn, notices: impl IntoIterator<Item = &'a Message>) -> Result<usize, StoreError> {
    let notices: Vec<&Message> = notices.into_iter().collect();
    if notices.is_empty() {
        return Ok(0);
    }
    let subscribers: Vec<Subscription> = with_conn!(conn, |c| subscriptions::table
        .filter(subscriptions::active.eq(true))
        .select(Subscription::as_select())
        .load(c))?;
    let mut kept = Vec::new();
    let mut queued = Vec::new();
    for notice in notices {
        let wanted: Vec<&Subscription> = subscribers
            .iter()
            .filter(|s| s.wants(&notice.event_type, notice.tenant_id.as_deref()))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        kept.push(notice);
        queued.extend(wanted.into_iter().map(|s| NewDelivery {
            message_id: &notice.id,
            subscription_id: &s.id,
            status: delivery_status::PENDING,
            next_attempt_at: notice.created_at,
            created_at: notice.created_at,
        }));
    }
    if kept.is_empty() {
        return Ok(0);
    }
    // In chunks, within the databases' limits on bound parameters.
    with_conn!(conn, |c| {
        for chunk in kept.chunks(INSERT_CHUNK) {
            diesel::insert_into(messages::table).values(chunk.to_vec()).execute(c)?;
        }
        for chunk in queued.chunks(INSERT_CHUNK) {
            diesel::insert_into(deliveries::table).values(chunk).execute(c)?;
        }
    });
    Ok(queued.len())
}

pub fn insert_subscription(conn: &mut DbConn, row: &Subscription) -> Result<(), StoreError> {
    with_conn!(conn, |c| diesel::insert_into(subscriptions::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// The columns a change sets; `None` leaves a column as it is (`Some(None)` sets it to null),
/// so that a change never writes back what the dispatcher changed meanwhile. Secrets are not
/// among them: only [`rotate_secret`] writes a new one, sealed.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionUpdate {
    pub url: Option<String>,
    pub event_types: Option<String>,
    pub tenant_id: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
    pub name: Option<Option<String>>,
    pub request_timeout_ms: Option<Option<i32>>,
    pub max_attempts: Option<Option<i32>>,
}

/// Replaces the secret in one statement: the secret being replaced becomes the previous one,
/// valid until `until`, whatever another rotation did meanwhile. Both are sealed for this row,
/// so the copy opens as the previous secret. Returns the row as it is now.
pub fn rotate_secret(
    conn: &mut DbConn,
    id: &str,
    sealed_secret: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Option<Subscription>, StoreError> {
    use subscriptions::dsl as s;
    with_conn!(conn, |c| diesel::update(s::notification_subscriptions.find(id))
        .set((
            s::previous_secret.eq(s::secret.nullable()),
            s::secret.eq(sealed_secret),
            s::previous_secret_expires_at.eq(Some(until)),
            s::updated_at.eq(now),
        ))
        .execute(c))?;
    subscription(conn, id)
}

/// Applies a change; returns the row as it is now, or `None` when there is no such subscription.
pub fn update_subscription(
    conn: &mut DbConn,
    id: &str,
    change: &SubscriptionUpdate,
) -> Result<Option<Subscription>, StoreError> {
    with_conn!(conn, |c| diesel::update(subscriptions::table.find(id))
        .set(change)
        .execute(c))?;
    subscription(conn, id)
}

pub fn subscription(conn: &mut DbConn, id: &str) -> Result<Option<Subscription>, StoreError> {
    with_conn!(conn, |c| Ok(subscriptions::table
        .find(id)
        .select(Subscription::as_select())
        .first(c)
        .optional()?))
}

/// Every subscription, oldest first.
pub fn list_subscriptions(conn: &mut DbConn) -> Result<Vec<Subscription>, StoreError> {
    with_conn!(conn, |c| Ok(subscriptions::table
        .order((subscriptions::created_at.asc(), subscriptions::id.asc()))
        .select(Subscription::as_select())
        .load(c)?))
}

/// Deletes a subscription with its deliveries and their log (children first, whatever the
/// foreign keys cascade). False when there was none.
pub fn delete_subscription(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        with_conn!(conn, |c| {
            let ids = deliveries::table
                .filter(deliveries::subscription_id.eq(id))
                .select(deliveries::id);
            diesel::delete(attempts::table.filter(attempts::delivery_id.eq_any(ids))).execute(c)?;
            diesel::delete(deliveries::table.filter(deliveries::subscription_id.eq(id))).execute(c)?;
            Ok(diesel::delete(subscriptions::table.find(id)).execute(c)? > 0)
        })
    })
}

// Due: waiting and its time has come, or being delivered by a sender whose lease expired (it
// died mid-send). Deliveries of inactive subscriptions wait until they are active again.
const CLAIM_POSTGRES: &str = "
UPDATE notification_deliveries SET status = 'delivering', locked_until = $1, attempts = attempts + 1
WHERE id IN (
    SELECT d.id FROM notification_deliveries d
    JOIN notification_subscriptions s ON s.id = d.subscription_id
    WHERE d.status IN ('pending', 'failed_retrying', 'delivering')
      AND ((d.status IN ('pending', 'failed_retrying') AND d.next_attempt_at <= $2)
           OR (d.status = 'delivering' AND d.locked_until < $2))
      AND s.active
    ORDER BY d.next_attempt_at, d.id
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED)
RETURNING *";

const CLAIM_SQLITE: &str = "
UPDATE notification_deliveries SET status = 'delivering', locked_until = ?1, attempts = attempts + 1
WHERE id IN (
    SELECT d.id FROM notification_deliveries d
    JOIN notification_subscriptions s ON s.id = d.subscription_id
    WHERE d.status IN ('pending', 'failed_retrying', 'delivering')
      AND ((d.status IN ('pending', 'failed_retrying') AND d.next_attempt_at <= ?2)
           OR (d.status = 'delivering' AND d.locked_until < ?2))
      AND s.active
    ORDER BY d.next_attempt_at, d.id
    LIMIT ?3)
RETURNING *";

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery: Delivery,
    pub message: Message,
    pub subscription: Subscription,
}

/// Claims up to `limit` due deliveries until `lease_until`. Each has `attempts` counting this
/// attempt already; that number fences the claim (see [`finish`]).
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let claimed: Vec<Delivery> = match conn {
        DbConn::Pg(c) => diesel::sql_query(CLAIM_POSTGRES)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(&mut **c)?,
        DbConn::Sqlite(c) => diesel::sql_query(CLAIM_SQLITE)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(&mut **c)?,
    };
    if claimed.is_empty() {
        return Ok(vec![]);
    }
    let message_ids: Vec<&str> = claimed.iter().map(|d| d.message_id.as_str()).collect();
    let subscription_ids: Vec<&str> = claimed.iter().map(|d| d.subscription_id.as_str()).collect();
    let (found_messages, found_subscriptions): (Vec<Message>, Vec<Subscription>) = with_conn!(conn, |c| (
        messages::table
            .filter(messages::id.eq_any(&message_ids))
            .select(Message::as_select())
            .load(c)?,
        subscriptions::table
            .filter(subscriptions::id.eq_any(&subscription_ids))
            .select(Subscription::as_select())
            .load(c)?,
    ));
    Ok(claimed
        .into_iter()
        .filter_map(|delivery| {
            let message = found_messages.iter().find(|m| m.id == delivery.message_id)?.clone();
            let subscription = found_subscriptions
                .iter()
                .find(|s| s.id == delivery.subscription_id)?
                .clone();
            Some(Claimed {
                delivery,
                message,
                subscription,
            })
        })
        .collect())
}

/// How an attempt leaves the subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// The endpoint answered 2xx: it is healthy again.
    Healthy,
    /// Failed: failing since the stored time, or since `at` if it was healthy. Disabled (and
    /// audited) once the stored time is `disable_after` or more before `at`. Judged against the
    /// row as it is when written, so that a subscription re-enabled meanwhile starts afresh.
    Failing {
        at: NaiveDateTime,
        disable_after: chrono::Duration,
    },
    /// Disabled at once for this reason (410 Gone); audited.
    Disable { reason: String },
}

/// The end of one attempt: the delivery's new state, its log line and the subscriber's health.
#[derive(Debug, Clone)]
pub struct Finish {
    pub delivery_id: i64,
    pub subscription_id: String,
    /// The claim's attempt number: nothing is written if another sender took the delivery.
    pub attempt: i32,
    pub status: &'static str,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub record: AttemptRecord,
    pub health: Health,
    pub now: NaiveDateTime,
}

/// Writes an attempt's end in one transaction. False when the claim was lost (nothing written).
pub fn finish(conn: &mut DbConn, end: &Finish) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        use deliveries::dsl as d;
        let finished = matches!(end.status, delivery_status::SUCCEEDED | delivery_status::DEAD);
        let held = with_conn!(conn, |c| diesel::update(
            d::notification_deliveries
                .find(end.delivery_id)
                .filter(d::status.eq(delivery_status::DELIVERING))
                .filter(d::attempts.eq(end.attempt))
        )
        .set((
            d::status.eq(end.status),
            d::next_attempt_at.eq(end.next_attempt_at.unwrap_or(end.now)),
            d::locked_until.eq(None::<NaiveDateTime>),
            d::last_status_code.eq(end.record.status_code),
            d::last_error.eq(&end.record.error),
            d::finished_at.eq(finished.then_some(end.now)),
        ))
        .execute(c))?;
        if held == 0 {
            return Ok(false);
        }
        with_conn!(conn, |c| diesel::insert_into(attempts::table)
            .values(&end.record)
            .execute(c))?;
        set_health(conn, &end.subscription_id, &end.health, end.now)?;
        Ok(true)
    })
}

fn set_health(conn: &mut DbConn, id: &str, health: &Health, now: NaiveDateTime) -> Result<(), StoreError> {
    use subscriptions::dsl as s;
    match health {
        Health::Healthy => with_conn!(conn, |c| diesel::update(s::notification_subscriptions.find(id))
            .filter(s::failing_since.is_not_null())
            .set(s::failing_since.eq(None::<NaiveDateTime>))
            .execute(c))?,
        Health::Failing { at, disable_after } => {
            with_conn!(conn, |c| diesel::update(s::notification_subscriptions.find(id))
                .filter(s::failing_since.is_null())
                .set(s::failing_since.eq(Some(*at)))
                .execute(c))?;
            let too_old = at.checked_sub_signed(*disable_after).unwrap_or(NaiveDateTime::MIN);
            let reason = format!(
                "every delivery failed for {} s or longer (notifications.disable_after_failing_secs)",
                disable_after.num_seconds()
            );
            disable(conn, id, &reason, now, Some(too_old))?
        }
        Health::Disable { reason } => disable(conn, id, reason, now, None)?,
    };
    Ok(())
}

/// Disables an active subscription (when `failing_since` is at or before `failing_before`, if
/// given) with an audit entry. Returns how many rows changed.
fn disable(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
    failing_before: Option<NaiveDateTime>,
) -> Result<usize, StoreError> {
    use subscriptions::dsl as s;
    let disabled = with_conn!(conn, |c| {
        let mut update = diesel::update(s::notification_subscriptions)
            .filter(s::id.eq(id))
            .filter(s::active.eq(true))
            .into_boxed();
        if let Some(before) = failing_before {
            update = update.filter(s::failing_since.le(before));
        }
        update
            .set((
                s::active.eq(false),
                s::disabled_reason.eq(Some(reason)),
                s::updated_at.eq(now),
            ))
            .execute(c)
    })?;
    if disabled > 0 {
        let detail = serde_json::json!({"subscription_id": id, "reason": reason});
        audit(conn, now, "subscription.disabled", detail)?;
    }
    Ok(disabled)
}

/// An audit entry about subscriptions (no tenant, no event).
pub fn audit(conn: &mut DbConn, at: NaiveDateTime, action: &str, detail: serde_json::Value) -> Result<(), StoreError> {
    let entry = NewAudit {
        at,
        tenant_id: None,
        user_id: None,
        event_id: None,
        action: action.to_owned(),
        detail: Some(detail.to_string()),
    };
    with_conn!(conn, |c| diesel::insert_into(audit_log::table)
        .values(&entry)
        .execute(c))?;
    Ok(())
}

/// When the next waiting delivery of an active subscription becomes due after `now`, if any.
pub fn next_due(conn: &mut DbConn, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, StoreError> {
    use deliveries::dsl as d;
    with_conn!(conn, |c| Ok(d::notification_deliveries
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "status IN ('pending', 'failed_retrying', 'delivering')"
        ))
        .filter(d::next_attempt_at.gt(now))
        .select(diesel::dsl::min(d::next_attempt_at))
        .first::<Option<NaiveDateTime>>(c)?))
}

/// A subscription's deliveries, newest first, before the `before` id when given.
pub fn deliveries_of(
    conn: &mut DbConn,
    subscription_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<(Delivery, Message)>, StoreError> {
    use deliveries::dsl as d;
    with_conn!(conn, |c| {
        let mut query = d::notification_deliveries
            .inner_join(messages::table)
            .filter(d::subscription_id.eq(subscription_id))
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(d::id.lt(before));
        }
        Ok(query
            .order(d::id.desc())
            .limit(limit)
            .select((Delivery::as_select(), Message::as_select()))
            .load(c)?)
    })
}

/// The attempts of these deliveries, in order.
pub fn attempts_of(conn: &mut DbConn, delivery_ids: &[i64]) -> Result<Vec<AttemptRecord>, StoreError> {
    use attempts::dsl as a;
    with_conn!(conn, |c| Ok(a::notification_attempts
        .filter(a::delivery_id.eq_any(delivery_ids))
        .order((a::delivery_id.asc(), a::attempt.asc()))
        .select(AttemptRecord::as_select())
        .load(c)?))
}

pub fn delivery(conn: &mut DbConn, id: i64) -> Result<Option<Delivery>, StoreError> {
    with_conn!(conn, |c| Ok(deliveries::table
        .find(id)
        .select(Delivery::as_select())
        .first(c)
        .optional()?))
}

/// What asking for a redelivery did.
#[derive(Debug, Clone, PartialEq)]
pub enum Redelivery {
    Queued,
    NotFound,
    /// Being delivered right now, or waiting for its next attempt already.
    NotFinished(String),
}

/// Queues a finished delivery again, at once, with a fresh retry schedule (its log is kept).
pub fn redeliver(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<Redelivery, StoreError> {
    use deliveries::dsl as d;
    conn.transaction(|conn| {
        let Some(found) = delivery(conn, id)? else {
            return Ok(Redelivery::NotFound);
        };
        if !matches!(
            found.status.as_str(),
            delivery_status::SUCCEEDED | delivery_status::DEAD
        ) {
            return Ok(Redelivery::NotFinished(found.status));
        }
        // Only as found: a purge or another redelivery may have come between.
        let queued = with_conn!(conn, |c| diesel::update(d::notification_deliveries.find(id))
            .filter(d::status.eq(&found.status))
            .filter(d::attempts.eq(found.attempts))
            .set((
                d::status.eq(delivery_status::PENDING),
                d::next_attempt_at.eq(now),
                d::attempts_before_redelivery.eq(found.attempts),
                d::finished_at.eq(None::<NaiveDateTime>),
            ))
            .execute(c))?;
        Ok(if queued > 0 {
            Redelivery::Queued
        } else {
            Redelivery::NotFound
        })
    })
}

/// Deletes up to `limit` notifications whose deliveries all finished (succeeded or dead) before
/// `cutoff`, with their deliveries and attempt logs. Returns how many went. On Postgres the
/// deliveries are locked and the choice made again under the lock, so a redelivery committed
/// meanwhile keeps its notification.
pub fn purge_finished(conn: &mut DbConn, cutoff: NaiveDateTime, limit: i64) -> Result<usize, StoreError> {
    conn.transaction(|conn| {
        let candidates = purgeable(conn, cutoff, limit, None)?;
        if candidates.is_empty() {
            return Ok(0);
        }
        if let DbConn::Pg(c) = conn {
            deliveries::table
                .filter(deliveries::message_id.eq_any(&candidates))
                .select(deliveries::id)
                .for_update()
                .load::<i64>(&mut **c)?;
        }
        let old = purgeable(conn, cutoff, limit, Some(&candidates))?;
        with_conn!(conn, |c| {
            let ids: Vec<i64> = deliveries::table
                .filter(deliveries::message_id.eq_any(&old))
                .select(deliveries::id)
                .load(c)?;
            // Children first: SQLite enforces the foreign keys, cascades are not relied upon.
            diesel::delete(attempts::table.filter(attempts::delivery_id.eq_any(&ids))).execute(c)?;
            diesel::delete(deliveries::table.filter(deliveries::id.eq_any(&ids))).execute(c)?;
            Ok(diesel::delete(messages::table.filter(messages::id.eq_any(&old))).execute(c)?)
        })
    })
}

/// Notifications created before `cutoff` none of whose deliveries is unfinished or finished at
/// or after `cutoff`; among `among` when given.
fn purgeable(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
    among: Option<&[String]>,
) -> Result<Vec<String>, StoreError> {
    use diesel::dsl::{exists, not};
    with_conn!(conn, |c| {
        let mut query = messages::table
            .filter(messages::created_at.lt(cutoff))
            .filter(not(exists(
                deliveries::table
                    .filter(deliveries::message_id.eq(messages::id))
                    .filter(deliveries::finished_at.is_null().or(deliveries::finished_at.ge(cutoff))),
            )))
            .select(messages::id)
            .limit(limit)
            .into_boxed();
        if let Some(among) = among {
            query = query.filter(messages::id.eq_any(among));
        }
        Ok(query.load(c)?)
    })
}

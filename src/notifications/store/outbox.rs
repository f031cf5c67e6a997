//! The outbox: notifications queued with the effect they announce, and their deliveries claimed,
//! leased and finished by the dispatcher.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::{
    attempts, deliveries, messages, subscriptions, AttemptRecord, Delivery, DeliveryStatus, Message, NewDelivery,
    Subscription,
};
use crate::db::audit;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// Rows per insert statement (5 bound values each, well within SQLite's 32,766).
const INSERT_CHUNK: usize = 1_000;
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
            status: DeliveryStatus::Pending,
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

const CLAIM_POSTGRES: &str = include_str!("sql/claim.postgres.sql");
const CLAIM_SQLITE: &str = include_str!("sql/claim.sqlite.sql");

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
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
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    // The claim and the reads in one transaction: if a read fails, the claim is undone with it
    // (no delivery left `delivering`, an attempt spent, until its lease expires).
    let (claimed, found_messages, found_subscriptions) = conn.transaction(|conn| {
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
            return Ok((vec![], vec![], vec![]));
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
        Ok::<_, StoreError>((claimed, found_messages, found_subscriptions))
    })?;
    Ok(claimed
        .into_iter()
        .filter_map(|delivery| {
            let message = found_messages.iter().find(|m| m.id == delivery.message_id)?.clone();
            let subscription = found_subscriptions
                .iter()
                .find(|s| s.id == delivery.subscription_id)?
                .clone();
            Some(ClaimedDelivery {
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
    /// The subscriber asked to slow down (429, 503): alive, neither healthy nor failing.
    Unchanged,
}

/// The end of one attempt: the delivery's new state, its log line and the subscriber's health.
#[derive(Debug, Clone)]
pub struct Finish {
    pub delivery_id: i64,
    pub subscription_id: String,
    /// The claim's attempt number: nothing is written if another sender took the delivery.
    pub attempt: i32,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub record: AttemptRecord,
    pub health: Health,
    /// The subscriber asked to slow down: counted in `throttled_attempts`, not against the
    /// retry schedule.
    pub throttled: bool,
    pub now: NaiveDateTime,
}

/// Writes an attempt's end in one transaction. False when the claim was lost (nothing written).
pub fn finish(conn: &mut DbConn, end: &Finish) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        use deliveries::dsl as d;
        let finished = matches!(end.status, DeliveryStatus::Succeeded | DeliveryStatus::Dead);
        let held = with_conn!(conn, |c| diesel::update(
            d::notification_deliveries
                .find(end.delivery_id)
                .filter(d::status.eq(DeliveryStatus::Delivering))
                .filter(d::attempts.eq(end.attempt))
        )
        .set((
            d::status.eq(end.status),
            d::next_attempt_at.eq(end.next_attempt_at.unwrap_or(end.now)),
            d::locked_until.eq(None::<NaiveDateTime>),
            d::last_status_code.eq(end.record.status_code),
            d::last_error.eq(&end.record.error),
            d::finished_at.eq(finished.then_some(end.now)),
            d::throttled_attempts.eq(d::throttled_attempts + i32::from(end.throttled)),
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
        Health::Unchanged => 0,
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
    audit::write(conn, [&audit::NewAudit::general(at, action, detail)])
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

/// Extends a live claim's lease (a heartbeat while a delivery is sent). False when it was lost.
pub fn extend(conn: &mut DbConn, delivery_id: i64, attempt: i32, until: NaiveDateTime) -> Result<bool, StoreError> {
    use deliveries::dsl as d;
    let updated = with_conn!(conn, |c| diesel::update(
        d::notification_deliveries
            .find(delivery_id)
            .filter(d::status.eq(DeliveryStatus::Delivering))
            .filter(d::attempts.eq(attempt))
    )
    .set(d::locked_until.eq(Some(until)))
    .execute(c))?;
    Ok(updated == 1)
}

/// Gives a claim back unsent (shutdown), due at `due`, this attempt not counted.
pub fn release(conn: &mut DbConn, delivery_id: i64, attempt: i32, due: NaiveDateTime) -> Result<bool, StoreError> {
    use deliveries::dsl as d;
    let updated = with_conn!(conn, |c| {
        diesel::update(
            d::notification_deliveries
                .find(delivery_id)
                .filter(d::status.eq(DeliveryStatus::Delivering))
                .filter(d::attempts.eq(attempt)),
        )
        .set((
            d::status.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                "CASE WHEN attempts - attempts_before_redelivery > 1 THEN 'failed_retrying' ELSE 'pending' END",
            )),
            d::attempts.eq(d::attempts - 1),
            d::locked_until.eq(None::<NaiveDateTime>),
            d::next_attempt_at.eq(due),
        ))
        .execute(c)
    })?;
    Ok(updated == 1)
}

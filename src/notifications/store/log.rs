//! The delivery log: read, redelivered, and purged once old.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{attempts, deliveries, messages, AttemptRecord, Delivery, DeliveryStatus, Message};
use crate::db::actor::Actor;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

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
    NotFinished(DeliveryStatus),
}

/// Queues a finished delivery again, at once, with a fresh retry schedule (its log is kept).
/// Writes one `delivery.redelivered` audit entry (`by`, the delivery, its subscription and the
/// status it had) in the same transaction, and none when nothing was requeued.
pub fn redeliver(conn: &mut DbConn, id: i64, by: &Actor, now: NaiveDateTime) -> Result<Redelivery, StoreError> {
    use deliveries::dsl as d;
    conn.transaction(|conn| {
        let Some(found) = delivery(conn, id)? else {
            return Ok(Redelivery::NotFound);
        };
        if !matches!(found.status, DeliveryStatus::Succeeded | DeliveryStatus::Dead) {
            return Ok(Redelivery::NotFinished(found.status));
        }
        // Only as found: a purge or another redelivery may have come between.
        let queued = with_conn!(conn, |c| diesel::update(d::notification_deliveries.find(id))
            .filter(d::status.eq(&found.status))
            .filter(d::attempts.eq(found.attempts))
            .set((
                d::status.eq(DeliveryStatus::Pending),
                d::next_attempt_at.eq(now),
                d::attempts_before_redelivery.eq(found.attempts),
                d::throttled_attempts.eq(0),
                d::finished_at.eq(None::<NaiveDateTime>),
            ))
            .execute(c))?;
        if queued == 0 {
            return Ok(Redelivery::NotFound);
        }
        let detail = serde_json::json!({
            "by": by,
            "delivery_id": id,
            "subscription_id": found.subscription_id,
            "previous_status": found.status.to_string(),
        });
        super::audit(conn, now, "delivery.redelivered", detail)?;
        Ok(Redelivery::Queued)
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

/// The notifications a tenant caused, newest first, at most `limit`, each with its deliveries
/// (by id): read through `notification_messages_tenant` and `notification_deliveries_message`.
pub fn notifications_of_tenant(
    conn: &mut DbConn,
    tenant_id: &str,
    limit: i64,
) -> Result<Vec<(Message, Vec<Delivery>)>, StoreError> {
    use deliveries::dsl as d;
    use messages::dsl as m;
    with_conn!(conn, |c| {
        let notices: Vec<Message> = m::notification_messages
            .filter(m::tenant_id.eq(tenant_id))
            // `created_at` alone, so the index is read backwards and only `limit` rows are.
            .order(m::created_at.desc())
            .limit(limit)
            .select(Message::as_select())
            .load(c)?;
        let ids: Vec<&str> = notices.iter().map(|n| n.id.as_str()).collect();
        let mut sent: Vec<Delivery> = d::notification_deliveries
            .filter(d::message_id.eq_any(ids))
            .order(d::id.asc())
            .select(Delivery::as_select())
            .load(c)?;
        Ok(notices
            .into_iter()
            .map(|notice| {
                let (of_this, rest): (Vec<Delivery>, Vec<Delivery>) = std::mem::take(&mut sent)
                    .into_iter()
                    .partition(|d| d.message_id == notice.id);
                sent = rest;
                (notice, of_this)
            })
            .collect())
    })
}

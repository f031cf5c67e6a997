//! Subscribers: created, changed, their secret rotated, deleted.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{attempts, deliveries, subscriptions, Subscription};
use crate::db::{DbConn, StoreError};
use crate::with_conn;

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

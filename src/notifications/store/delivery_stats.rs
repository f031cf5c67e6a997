//! Delivery statistics over a window, as stored: deliveries counted by subscription, type and
//! status, and the latency percentiles of their attempts. Both read the deliveries queued since
//! the window's start through the `notification_deliveries_created` index, or, for one
//! subscription, through `notification_deliveries_subscription_created` (its own statements, with
//! no `OR` that would keep the planner from that index). On Postgres one subscription's statements
//! look each delivery's type and attempts up by key, so that they cost what its deliveries cost:
//! joined, the planner hashes every notification and attempt of the database.
//!
//! Percentiles: Postgres computes them exactly (`percentile_cont`, one statement with a
//! grouping set per subscription, per type and overall), so no durations leave the database.
//! SQLite has no percentile function: the durations of the window's newest
//! [`SQLITE_LATENCY_ROWS`] attempts are read and the same interpolation is done here, so both
//! backends answer alike. SQLite serves development and small deployments; a window with more
//! attempts than that is answered from its newest ones and said to be sampled.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamp};

use super::DeliveryStatus;
use crate::db::schema::{notification_deliveries as deliveries, notification_messages as messages};
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// Most attempt durations read on SQLite for one answer.
pub const SQLITE_LATENCY_ROWS: i64 = 50_000;

const LATENCY_POSTGRES: &str = include_str!("sql/delivery_latency.postgres.sql");
const LATENCY_SQLITE: &str = include_str!("sql/delivery_latency.sqlite.sql");
const SUBSCRIPTION_COUNTS_POSTGRES: &str = include_str!("sql/subscription_counts.postgres.sql");
const SUBSCRIPTION_LATENCY_POSTGRES: &str = include_str!("sql/subscription_latency.postgres.sql");
const SUBSCRIPTION_LATENCY_SQLITE: &str = include_str!("sql/subscription_latency.sqlite.sql");

/// Deliveries of one subscription, type and status, queued in the window.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Counted {
    #[diesel(sql_type = Text)]
    pub subscription_id: String,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub status: DeliveryStatus,
    #[diesel(sql_type = BigInt)]
    pub deliveries: i64,
    /// Attempts made for them, redeliveries included.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
}

/// Counts the deliveries queued since `since` (of one subscription, when given) by
/// subscription, type and status. One subscription's are read on Postgres by a statement of its
/// own, which looks each delivery's type up instead of hashing every message.
pub fn counts(conn: &mut DbConn, since: NaiveDateTime, subscription: Option<&str>) -> Result<Vec<Counted>, StoreError> {
    use deliveries::dsl as d;
    if let (DbConn::Pg(c), Some(id)) = (&mut *conn, subscription) {
        return Ok(diesel::sql_query(SUBSCRIPTION_COUNTS_POSTGRES)
            .bind::<Timestamp, _>(since)
            .bind::<Text, _>(id)
            .load(&mut **c)?);
    }
    let rows: Vec<(String, String, DeliveryStatus, i64, Option<i64>)> = with_conn!(conn, |c| {
        let mut query = d::notification_deliveries
            .inner_join(messages::table)
            .filter(d::created_at.ge(since))
            .group_by((d::subscription_id, messages::event_type, d::status))
            .select((
                d::subscription_id,
                messages::event_type,
                d::status,
                count_star(),
                sum(d::attempts),
            ))
            .into_boxed();
        if let Some(id) = subscription {
            query = query.filter(d::subscription_id.eq(id.to_owned()));
        }
        query.load(c)?
    });
    Ok(rows
        .into_iter()
        .map(|(subscription_id, event_type, status, deliveries, attempts)| Counted {
            subscription_id,
            event_type,
            status,
            deliveries,
            attempts: attempts.unwrap_or(0),
        })
        .collect())
}

/// Attempt durations of one group: a subscription (`event_type` none), a type
/// (`subscription_id` none) or everything (both none).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Latency {
    #[diesel(sql_type = Nullable<Text>)]
    pub subscription_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub event_type: Option<String>,
    /// Attempts the percentiles come from.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub p50_ms: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub p95_ms: Option<f64>,
}

/// The latency groups of the window, and whether SQLite's bound cut the durations read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Latencies {
    pub groups: Vec<Latency>,
    pub sampled: bool,
}

#[derive(QueryableByName)]
struct Duration {
    #[diesel(sql_type = Text)]
    subscription_id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = BigInt)]
    duration_ms: i64,
}

/// The median and 95th percentile of the attempt durations of the deliveries queued since
/// `since` (of one subscription, when given): per subscription, per type and overall. One
/// subscription's are read by a statement of its own, through its index, so that they cost what
/// its deliveries cost, not the window's.
pub fn latencies(conn: &mut DbConn, since: NaiveDateTime, subscription: Option<&str>) -> Result<Latencies, StoreError> {
    let subscription = subscription.map(str::to_owned);
    match conn {
        DbConn::Pg(c) => {
            let groups = match subscription {
                None => diesel::sql_query(LATENCY_POSTGRES)
                    .bind::<Timestamp, _>(since)
                    .load(&mut **c)?,
                Some(id) => diesel::sql_query(SUBSCRIPTION_LATENCY_POSTGRES)
                    .bind::<Timestamp, _>(since)
                    .bind::<Text, _>(id)
                    .load(&mut **c)?,
            };
            Ok(Latencies { groups, sampled: false })
        }
        DbConn::Sqlite(c) => {
            let rows: Vec<Duration> = match subscription {
                None => diesel::sql_query(LATENCY_SQLITE)
                    .bind::<Timestamp, _>(since)
                    .bind::<BigInt, _>(SQLITE_LATENCY_ROWS)
                    .load(&mut **c)?,
                Some(id) => diesel::sql_query(SUBSCRIPTION_LATENCY_SQLITE)
                    .bind::<Timestamp, _>(since)
                    .bind::<Text, _>(id)
                    .bind::<BigInt, _>(SQLITE_LATENCY_ROWS)
                    .load(&mut **c)?,
            };
            let sampled = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= SQLITE_LATENCY_ROWS;
            Ok(Latencies {
                groups: grouped(&rows),
                sampled,
            })
        }
    }
}

/// The groups Postgres' grouping sets make, from the rows read.
fn grouped(rows: &[Duration]) -> Vec<Latency> {
    let mut groups: BTreeMap<(Option<&str>, Option<&str>), Vec<i64>> = BTreeMap::new();
    for row in rows {
        for key in [
            (Some(row.subscription_id.as_str()), None),
            (None, Some(row.event_type.as_str())),
            (None, None),
        ] {
            groups.entry(key).or_default().push(row.duration_ms);
        }
    }
    groups
        .into_iter()
        .map(|((subscription_id, event_type), mut durations)| {
            durations.sort_unstable();
            Latency {
                subscription_id: subscription_id.map(str::to_owned),
                event_type: event_type.map(str::to_owned),
                attempts: i64::try_from(durations.len()).unwrap_or(i64::MAX),
                p50_ms: percentile(&durations, 0.5),
                p95_ms: percentile(&durations, 0.95),
            }
        })
        .collect()
}

/// The `p` quantile of sorted values, interpolating between the two nearest as Postgres'
/// `percentile_cont` does; none for no values.
fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = p.clamp(0.0, 1.0) * last as f64;
    // Both within 0..=last: position is.
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let (low, high) = (sorted[below] as f64, sorted[above] as f64);
    Some(low + (high - low) * (position - below as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_percentile_cont_does() {
        // SELECT percentile_cont(0.5|0.95) WITHIN GROUP (ORDER BY v) FROM unnest('{10,20,30,40}'::int[]) v
        // answers 25 and 38.5.
        assert_eq!(percentile(&[10, 20, 30, 40], 0.5), Some(25.0));
        assert_eq!(percentile(&[10, 20, 30, 40], 0.95), Some(38.5));
        assert_eq!(percentile(&[7], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 0.95), Some(95.05));
    }

    #[test]
    fn durations_are_grouped_per_subscription_per_type_and_overall() {
        let row = |s: &str, t: &str, ms| Duration {
            subscription_id: s.into(),
            event_type: t.into(),
            duration_ms: ms,
        };
        let groups = grouped(&[row("a", "x", 10), row("a", "y", 30), row("b", "x", 20)]);
        let find = |s: Option<&str>, t: Option<&str>| {
            groups
                .iter()
                .find(|g| g.subscription_id.as_deref() == s && g.event_type.as_deref() == t)
                .map(|g| (g.attempts, g.p50_ms))
        };
        assert_eq!(find(None, None), Some((3, Some(20.0))));
        assert_eq!(find(Some("a"), None), Some((2, Some(20.0))));
        assert_eq!(find(None, Some("x")), Some((2, Some(15.0))));
        assert_eq!(find(Some("b"), None), Some((1, Some(20.0))));
        assert_eq!(groups.len(), 5);
    }
}

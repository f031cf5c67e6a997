//! What happened over a recent window, in buckets: events received, attempts that succeeded and
//! attempts that failed. Read through the indexes on `received_at` and on the attempts'
//! `finished_at`, one aggregate per window (the console's overview chart).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::{DbConn, StoreError};

/// Counts per bucket, oldest bucket first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub bucket_secs: i64,
    pub start: NaiveDateTime,
    pub received: Vec<i64>,
    /// Attempts that ended `succeeded`.
    pub succeeded: Vec<i64>,
    /// Attempts that ended `failed_retrying` or `dead`.
    pub failed: Vec<i64>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    series: String,
    #[diesel(sql_type = BigInt)]
    bucket: i64,
    #[diesel(sql_type = BigInt)]
    events: i64,
}

/// `buckets` buckets of `bucket` each, the last one ending at `now`.
pub fn activity(
    conn: &mut DbConn,
    now: NaiveDateTime,
    bucket: Duration,
    buckets: usize,
) -> Result<Activity, StoreError> {
    let bucket_secs = bucket.num_seconds().max(1);
    let start = now - Duration::seconds(bucket_secs * buckets as i64);
    let rows: Vec<Row> = match conn {
        DbConn::Pg(c) => diesel::sql_query(include_str!("sql/activity.postgres.sql"))
            .bind::<Timestamp, _>(start)
            .bind::<BigInt, _>(bucket_secs)
            .load(&mut **c)?,
        DbConn::Sqlite(c) => diesel::sql_query(include_str!("sql/activity.sqlite.sql"))
            .bind::<Timestamp, _>(start)
            .bind::<BigInt, _>(bucket_secs)
            .load(&mut **c)?,
    };
    let mut activity = Activity {
        bucket_secs,
        start,
        received: vec![0; buckets],
        succeeded: vec![0; buckets],
        failed: vec![0; buckets],
    };
    for row in rows {
        let Some(slot) = usize::try_from(row.bucket).ok().filter(|b| *b < buckets) else {
            continue;
        };
        let series = match row.series.as_str() {
            "received" => &mut activity.received,
            "succeeded" => &mut activity.succeeded,
            "failed_retrying" | "dead" => &mut activity.failed,
            _ => continue,
        };
        series[slot] += row.events;
    }
    Ok(activity)
}

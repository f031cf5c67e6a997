//! The state of the inbox at a glance: counts by status and kind, the oldest event waiting, and
//! activity per minute over the last hour and per hour over the last day.

use chrono::{Duration, NaiveDateTime};

use crate::db::{Database, StoreError};
use crate::inbox::activity::{self, Activity};
use crate::inbox::listing::{self, Stats};

#[derive(Debug, Clone)]
pub struct Overview {
    pub at: NaiveDateTime,
    pub stats: Stats,
    /// Sixty one-minute buckets ending now.
    pub last_hour: Activity,
    /// Twenty-four one-hour buckets ending now.
    pub last_day: Activity,
}

/// Reads the overview as of `now`, in one connection (an aggregate over the inbox: callers that
/// show it often keep it for a while, as the console does).
pub async fn read(db: &Database, now: NaiveDateTime) -> Result<Overview, StoreError> {
    db.run(move |c| {
        Ok(Overview {
            at: now,
            stats: listing::stats(c, now)?,
            last_hour: activity::activity(c, now, Duration::minutes(1), 60)?,
            last_day: activity::activity(c, now, Duration::hours(1), 24)?,
        })
    })
    .await
}

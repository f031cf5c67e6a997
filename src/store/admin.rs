//! Operator queries: listing and filtering events, replays, tenants, statistics.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::audit::NewAudit;
use super::inbox::{status, EventRow};
use super::schema::{audit_log, tenant_airbyte_workspaces as mappings, webhook_events};
use super::tenants::Mapping;
use super::{DbConn, StoreError};
use crate::with_conn;

/// Statuses an event can be replayed from.
pub const FINISHED: [&str; 4] = [status::SUCCEEDED, status::DEAD, status::SKIPPED, status::IGNORED];

/// Which events: every field narrows; `since`/`until` bound the time received.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct EventFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub tenant_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

impl EventFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Applies an [`EventFilter`] to a boxed query or update of `webhook_events`.
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        use webhook_events::dsl as e;
        let filter: &EventFilter = $filter;
        let mut query = $query;
        if let Some(v) = &filter.status {
            query = query.filter(e::status.eq(v.clone()));
        }
        if let Some(v) = &filter.kind {
            query = query.filter(e::kind.eq(v.clone()));
        }
        if let Some(v) = &filter.tenant_id {
            query = query.filter(e::tenant_id.eq(v.clone()));
        }
        if let Some(v) = filter.since {
            query = query.filter(e::received_at.ge(v));
        }
        if let Some(v) = filter.until {
            query = query.filter(e::received_at.lt(v));
        }
        query
    }};
}

/// Events matching `filter`, newest first, with ids below `before` (the cursor).
pub fn list_events(
    conn: &mut DbConn,
    filter: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let mut query = filtered!(e::webhook_events.select(EventRow::as_select()).into_boxed(), filter);
        if let Some(before) = before {
            query = query.filter(e::id.lt(before));
        }
        Ok(query.order(e::id.desc()).limit(limit).load(c)?)
    })
}

/// What replaying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Requeued,
    NotFound,
    /// Still pending or being processed: nothing to replay yet.
    NotFinished(String),
}

/// Puts a finished event back to `pending`, keeping its attempt history, with an audit entry.
pub fn replay_one(conn: &mut DbConn, id: i64, now: NaiveDateTime, by: &str) -> Result<Replay, StoreError> {
    conn.transaction(|conn| {
        let Some(row) = super::inbox::find(conn, id)? else {
            return Ok(Replay::NotFound);
        };
        if !FINISHED.contains(&row.status.as_str()) {
            return Ok(Replay::NotFinished(row.status));
        }
        let filter = EventFilter::default();
        requeue(conn, &filter, Some(&[id]), now)?;
        audit(
            conn,
            now,
            row.tenant_id,
            Some(id),
            "event.replayed",
            serde_json::json!({"by": by, "previous_status": row.status}),
        )?;
        Ok(Replay::Requeued)
    })
}

/// Requeues every finished event matching `filter`; returns how many.
pub fn replay_matching(
    conn: &mut DbConn,
    filter: &EventFilter,
    now: NaiveDateTime,
    by: &str,
) -> Result<usize, StoreError> {
    conn.transaction(|conn| {
        let count = requeue(conn, filter, None, now)?;
        let detail = serde_json::json!({"by": by, "filter": filter, "requeued": count});
        audit(conn, now, filter.tenant_id.clone(), None, "events.replayed", detail)?;
        Ok(count)
    })
}

/// Ids of the finished events matching `filter`, oldest first: what a bulk replay would requeue.
pub fn finished_ids(conn: &mut DbConn, filter: &EventFilter) -> Result<Vec<i64>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let query = filtered!(e::webhook_events.select(e::id).into_boxed(), filter);
        Ok(query.filter(e::status.eq_any(FINISHED)).order(e::id.asc()).load(c)?)
    })
}

/// Requeues those of `ids` that are finished, like [`replay_one`] for each (history kept, one
/// audit entry per event), in one transaction; returns how many. Give it a chunk at a time.
pub fn replay_ids(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime, by: &str) -> Result<usize, StoreError> {
    use webhook_events::dsl as e;
    conn.transaction(|conn| {
        let finished: Vec<(i64, Option<String>, String)> = with_conn!(conn, |c| e::webhook_events
            .filter(e::id.eq_any(ids))
            .filter(e::status.eq_any(FINISHED))
            .select((e::id, e::tenant_id, e::status))
            .load(c))?;
        let finished_ids: Vec<i64> = finished.iter().map(|(id, _, _)| *id).collect();
        let count = requeue(conn, &EventFilter::default(), Some(&finished_ids), now)?;
        for (id, tenant_id, previous) in finished {
            let detail = serde_json::json!({"by": by, "previous_status": previous});
            audit(conn, now, tenant_id, Some(id), "event.replayed", detail)?;
        }
        Ok(count)
    })
}

fn requeue(
    conn: &mut DbConn,
    filter: &EventFilter,
    ids: Option<&[i64]>,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let mut update = filtered!(diesel::update(e::webhook_events).into_boxed(), filter);
        update = update.filter(e::status.eq_any(FINISHED));
        if let Some(ids) = ids {
            update = update.filter(e::id.eq_any(ids));
        }
        Ok(update
            .set((
                e::status.eq(status::PENDING),
                e::next_attempt_at.eq(now),
                e::locked_until.eq(None::<NaiveDateTime>),
                e::finished_at.eq(None::<NaiveDateTime>),
                e::last_error.eq(None::<String>),
                e::attempts_before_replay.eq(e::attempts),
                e::replayed_at.eq(Some(now)),
            ))
            .execute(c)?)
    })
}

fn audit(
    conn: &mut DbConn,
    at: NaiveDateTime,
    tenant_id: Option<String>,
    event_id: Option<i64>,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let entry = NewAudit {
        at,
        tenant_id,
        user_id: None,
        event_id,
        action: action.into(),
        detail: Some(detail.to_string()),
    };
    with_conn!(conn, |c| diesel::insert_into(audit_log::table)
        .values(&entry)
        .execute(c))?;
    Ok(())
}

/// Mappings, by tenant id, after the cursor `after`.
pub fn list_tenants(
    conn: &mut DbConn,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Mapping>, StoreError> {
    use mappings::dsl as m;
    with_conn!(conn, |c| {
        let mut query = m::tenant_airbyte_workspaces.select(Mapping::as_select()).into_boxed();
        if let Some(status) = status {
            query = query.filter(m::status.eq(status.to_owned()));
        }
        if let Some(after) = after {
            query = query.filter(m::tenant_id.gt(after.to_owned()));
        }
        Ok(query.order(m::tenant_id.asc()).limit(limit).load(c)?)
    })
}

/// Counts for `/stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub by_status: BTreeMap<String, i64>,
    pub by_kind: BTreeMap<String, i64>,
    pub oldest_pending_received_at: Option<NaiveDateTime>,
    pub received_last_hour: i64,
    pub received_last_day: i64,
}

pub fn stats(conn: &mut DbConn, now: NaiveDateTime) -> Result<Stats, StoreError> {
    use diesel::dsl::{count_star, min};
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let by_status: Vec<(String, i64)> = e::webhook_events
            .group_by(e::status)
            .select((e::status, count_star()))
            .load(c)?;
        let by_kind: Vec<(String, i64)> = e::webhook_events
            .group_by(e::kind)
            .select((e::kind, count_star()))
            .load(c)?;
        let oldest_pending = e::webhook_events
            .filter(e::status.eq_any([status::PENDING, status::PROCESSING, status::FAILED_RETRYING]))
            .select(min(e::received_at))
            .first::<Option<NaiveDateTime>>(c)?;
        let since = |d: chrono::Duration| e::webhook_events.filter(e::received_at.ge(now - d)).count();
        Ok(Stats {
            by_status: by_status.into_iter().collect(),
            by_kind: by_kind.into_iter().collect(),
            oldest_pending_received_at: oldest_pending,
            received_last_hour: since(chrono::Duration::hours(1)).get_result(c)?,
            received_last_day: since(chrono::Duration::days(1)).get_result(c)?,
        })
    })
}

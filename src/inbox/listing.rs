//! Operator queries: listing and filtering events, requeuing finished ones, operator audit
//! entries, tenants, statistics. The actions built on them are in `crate::operations`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::rows::{EventRow, EventStatus};
use crate::db::schema::webhook_events;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// Statuses an event can be replayed from.
pub const FINISHED: [EventStatus; 4] = EventStatus::FINISHED;

/// Which events: every field narrows; `since`/`until` bound the time received.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct EventFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// A tenant id or a user id: events of either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

impl EventFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Refuses a status or a kind no event can have, naming the allowed values, and ids with
    /// control characters (no stored id has one, and Postgres refuses a NUL in any text).
    pub fn check(&self) -> Result<(), String> {
        let ids = [
            ("tenant", &self.tenant_id),
            ("user", &self.user_id),
            ("search", &self.search),
        ];
        for (name, value) in ids {
            if value.as_deref().is_some_and(|v| v.chars().any(char::is_control)) {
                return Err(format!("{name} must not contain control characters"));
            }
        }
        if let Some(s) = self.status.as_deref().filter(|s| !EventStatus::TEXTS.contains(s)) {
            return Err(format!("status `{s}` is not one of {}", EventStatus::TEXTS.join(", ")));
        }
        if let Some(k) = self.kind.as_deref() {
            k.parse::<crate::events::EventKind>().map_err(|e| e.to_string())?;
        }
        Ok(())
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
        if let Some(v) = &filter.user_id {
            query = query.filter(e::user_id.eq(v.clone()));
        }
        if let Some(v) = &filter.search {
            query = query.filter(e::tenant_id.eq(v.clone()).or(e::user_id.eq(v.clone())));
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

/// Events matching `filter`, newest first, after the event `before` (the cursor: the last event
/// of the previous page).
///
/// Newest first is by id, the order stored; within a time window (`since`/`until`) it is by the
/// time received, then id, read along the index on `received_at`. Ids follow the time received
/// only roughly, so a walk down the ids to a window far back would pass every later event first
/// (hundreds of milliseconds for a day ten days back in a million events). The cursor is still an
/// event id: the next page starts after its (time received, id).
///
/// A search (a tenant id or a user id) reads the tenant's page and the user's page, each along
/// its own index, and merges them: one query with `OR` can follow neither index in order, and the
/// planner's other choice, a walk down the ids, passes every later event when the tenant's events
/// lie far back.
pub fn list_events(
    conn: &mut DbConn,
    filter: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let Some(search) = filter.search.as_deref() else {
        return list_page(conn, filter, before, limit);
    };
    // The tenant's half and the user's half, each with the other filters; a filter that names
    // another tenant (or user) than the search leaves its half empty.
    let mut rows = Vec::new();
    if filter.tenant_id.as_deref().is_none_or(|t| t == search) {
        let of_tenant = EventFilter {
            tenant_id: Some(search.to_owned()),
            search: None,
            ..filter.clone()
        };
        rows.extend(list_page(conn, &of_tenant, before, limit)?);
    }
    if filter.user_id.as_deref().is_none_or(|u| u == search) {
        let of_user = EventFilter {
            user_id: Some(search.to_owned()),
            search: None,
            ..filter.clone()
        };
        rows.extend(list_page(conn, &of_user, before, limit)?);
    }
    if filter.since.is_some() || filter.until.is_some() {
        rows.sort_by_key(|r| std::cmp::Reverse((r.received_at, r.id)));
    } else {
        rows.sort_by_key(|r| std::cmp::Reverse(r.id));
    }
    // An event of the tenant by the user of the same id came twice, side by side.
    rows.dedup_by_key(|r| r.id);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(rows)
}

/// [`list_events`] without a search.
fn list_page(
    conn: &mut DbConn,
    filter: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    use webhook_events::dsl as e;
    let window = filter.since.is_some() || filter.until.is_some();
    with_conn!(conn, |c| {
        let mut query = filtered!(e::webhook_events.select(EventRow::as_select()).into_boxed(), filter);
        if !window {
            if let Some(before) = before {
                query = query.filter(e::id.lt(before));
            }
            return Ok(query.order(e::id.desc()).limit(limit).load(c)?);
        }
        if let Some(before) = before {
            let at = e::webhook_events
                .find(before)
                .select(e::received_at)
                .first::<NaiveDateTime>(c)
                .optional()?;
            query = match at {
                Some(at) => query
                    .filter(e::received_at.le(at))
                    .filter(e::received_at.lt(at).or(e::id.lt(before))),
                // The cursor's event is gone (purged): go on below its id.
                None => query.filter(e::id.lt(before)),
            };
        }
        Ok(query
            .order((e::received_at.desc(), e::id.desc()))
            .limit(limit)
            .load(c)?)
    })
}

/// The events of `tenant_id` of `kind` (any when `None`), newest first, at most `limit`: read
/// backwards along the index on (tenant_id, id), never sorted.
pub fn tenant_events(
    conn: &mut DbConn,
    tenant_id: &str,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let mut query = e::webhook_events
            .select(EventRow::as_select())
            .filter(e::tenant_id.eq(tenant_id))
            .into_boxed();
        if let Some(kind) = kind {
            query = query.filter(e::kind.eq(kind.to_owned()));
        }
        Ok(query.order(e::id.desc()).limit(limit).load(c)?)
    })
}

/// The events of `tenant_id` right after the event `id`, oldest first, at most `limit`.
pub fn tenant_events_after(
    conn: &mut DbConn,
    tenant_id: &str,
    id: i64,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| Ok(e::webhook_events
        .select(EventRow::as_select())
        .filter(e::tenant_id.eq(tenant_id))
        .filter(e::id.gt(id))
        .order(e::id.asc())
        .limit(limit)
        .load(c)?))
}

/// How many finished events match `filter`, counting no further than `up_to`: what a replay by
/// filter would requeue now (a preview reads at most `up_to` ids, never the whole inbox).
pub fn count_finished(conn: &mut DbConn, filter: &EventFilter, up_to: i64) -> Result<i64, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let query = filtered!(e::webhook_events.select(e::id).into_boxed(), filter);
        let ids: Vec<i64> = query.filter(e::status.eq_any(FINISHED)).limit(up_to).load(c)?;
        Ok(ids.len() as i64)
    })
}

/// The tenant and status of one event, locked until the transaction ends (Postgres; SQLite's
/// `BEGIN IMMEDIATE` holds the write lock already): what a replay checks before it requeues.
pub fn lock_for_replay(conn: &mut DbConn, id: i64) -> Result<Option<(Option<String>, EventStatus)>, StoreError> {
    use webhook_events::dsl as e;
    let query = e::webhook_events.find(id).select((e::tenant_id, e::status));
    Ok(match conn {
        DbConn::Pg(c) => query.for_update().first(&mut **c).optional()?,
        DbConn::Sqlite(c) => query.first(&mut **c).optional()?,
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

/// Puts those of `ids` that are finished and still match `filter` back to `pending`, keeping
/// their attempt history; returns how many. An event not finished (a worker may hold it) is
/// never touched.
pub fn requeue(conn: &mut DbConn, filter: &EventFilter, ids: &[i64], now: NaiveDateTime) -> Result<usize, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let update = filtered!(diesel::update(e::webhook_events).into_boxed(), filter);
        Ok(update
            .filter(e::status.eq_any(FINISHED))
            .filter(e::id.eq_any(ids))
            .set((
                e::status.eq(EventStatus::Pending),
                e::next_attempt_at.eq(now),
                e::locked_until.eq(None::<NaiveDateTime>),
                e::finished_at.eq(None::<NaiveDateTime>),
                e::last_error.eq(None::<String>),
                e::attempts_before_replay.eq(e::attempts),
                e::throttled_attempts.eq(0),
                e::replayed_at.eq(Some(now)),
            ))
            .execute(c)?)
    })
}

/// Counts for `/stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub by_status: BTreeMap<String, i64>,
    pub by_kind: BTreeMap<String, i64>,
    /// Events by (kind, status): what the two above sum.
    #[serde(skip)]
    pub by_kind_and_status: BTreeMap<(String, String), i64>,
    pub oldest_pending_received_at: Option<NaiveDateTime>,
    pub received_last_hour: i64,
    pub received_last_day: i64,
}

impl Stats {
    /// The finished events of `kind` as counted, of `status` alone when one is given (none when
    /// it is not a finished status): what a replay of that filter would have requeued then.
    pub fn finished_of_kind(&self, kind: &str, status: Option<&str>) -> i64 {
        FINISHED
            .iter()
            .map(|s| s.as_str())
            .filter(|s| status.is_none_or(|wanted| wanted == *s))
            .filter_map(|s| self.by_kind_and_status.get(&(kind.to_owned(), s.to_owned())))
            .sum()
    }
}

/// Counts the inbox by status and kind (one pass), finds the oldest event waiting and counts
/// the last hour's and day's arrivals.
pub fn stats(conn: &mut DbConn, now: NaiveDateTime) -> Result<Stats, StoreError> {
    use diesel::dsl::{count_star, min};
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let counted: Vec<(String, String, i64)> = e::webhook_events
            .group_by((e::kind, e::status))
            .select((e::kind, e::status, count_star()))
            .load(c)?;
        let (mut by_status, mut by_kind) = (BTreeMap::new(), BTreeMap::new());
        for (kind, status, n) in &counted {
            *by_status.entry(status.clone()).or_insert(0) += n;
            *by_kind.entry(kind.clone()).or_insert(0) += n;
        }
        let oldest_pending = e::webhook_events
            .filter(e::status.eq_any([
                EventStatus::Pending,
                EventStatus::Processing,
                EventStatus::FailedRetrying,
            ]))
            .select(min(e::received_at))
            .first::<Option<NaiveDateTime>>(c)?;
        let since = |d: chrono::Duration| e::webhook_events.filter(e::received_at.ge(now - d)).count();
        Ok(Stats {
            by_status,
            by_kind,
            by_kind_and_status: counted.into_iter().map(|(k, s, n)| ((k, s), n)).collect(),
            oldest_pending_received_at: oldest_pending,
            received_last_hour: since(chrono::Duration::hours(1)).get_result(c)?,
            received_last_day: since(chrono::Duration::days(1)).get_result(c)?,
        })
    })
}

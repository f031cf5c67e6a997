//! Claiming due events as leases, and finishing or releasing them.
//!
//! An event is claimable when it is due (pending or retrying with `next_attempt_at` reached, or
//! `processing` with an expired lease) and no earlier unfinished event of its tenant exists, nor
//! a live claim on another of its events. The claim query is the one piece of SQL written per
//! backend: Postgres adds `FOR UPDATE SKIP LOCKED` so concurrent claimers never collide.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};

use super::inbox::{status, EventRow};
use super::schema::{event_attempts, webhook_events};
use super::{DbConn, StoreError};
use crate::with_conn;

// An event may be claimed when it is its tenant's head: the tenant's event being processed if
// there is one (so only its own expired lease frees it), else its earliest unfinished event by
// order_at then id. The head is a correlated LIMIT 1 look-up on the small partial index of
// unfinished events, so the plan stays an index walk in due order.
const CLAIM_POSTGRES: &str = "
UPDATE webhook_events SET status = 'processing', locked_until = $1, attempts = attempts + 1
WHERE id IN (
    SELECT e.id FROM webhook_events e
    WHERE e.status IN ('pending', 'processing', 'failed_retrying')
      AND ((e.status IN ('pending', 'failed_retrying') AND e.next_attempt_at <= $2)
           OR (e.status = 'processing' AND e.locked_until < $2))
      AND (e.tenant_id IS NULL OR e.id = (
          SELECT h.id FROM webhook_events h
          WHERE h.tenant_id = e.tenant_id AND h.status IN ('pending', 'processing', 'failed_retrying')
          ORDER BY CASE WHEN h.status = 'processing' THEN 0 ELSE 1 END, h.order_at, h.id LIMIT 1))
    ORDER BY e.order_at, e.id
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING *";

const CLAIM_SQLITE: &str = "
UPDATE webhook_events SET status = 'processing', locked_until = ?1, attempts = attempts + 1
WHERE id IN (
    SELECT e.id FROM webhook_events e
    WHERE e.status IN ('pending', 'processing', 'failed_retrying')
      AND ((e.status IN ('pending', 'failed_retrying') AND e.next_attempt_at <= ?2)
           OR (e.status = 'processing' AND e.locked_until < ?2))
      AND (e.tenant_id IS NULL OR e.id = (
          SELECT h.id FROM webhook_events h
          WHERE h.tenant_id = e.tenant_id AND h.status IN ('pending', 'processing', 'failed_retrying')
          ORDER BY CASE WHEN h.status = 'processing' THEN 0 ELSE 1 END, h.order_at, h.id LIMIT 1))
    ORDER BY e.order_at, e.id
    LIMIT ?3)
RETURNING *";

/// Claims up to `limit` due events until `lease_until`. Each returned row has `attempts`
/// already counting this attempt; that number fences the claim (see [`finish`]).
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let sql = match conn {
        DbConn::Pg(_) => CLAIM_POSTGRES,
        DbConn::Sqlite(_) => CLAIM_SQLITE,
    };
    let mut rows: Vec<EventRow> = with_conn!(conn, |c| diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c))?;
    rows.sort_by_key(|r| (r.order_at, r.id));
    Ok(rows)
}

/// How many events are not finished yet (pending, processing or retrying).
pub fn unfinished(conn: &mut DbConn) -> Result<i64, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| Ok(e::webhook_events
        .filter(e::status.eq_any([status::PENDING, status::PROCESSING, status::FAILED_RETRYING]))
        .count()
        .get_result(c)?))
}

/// Refreshes the planner's statistics of the inbox (Postgres). A sudden backlog can leave them
/// far behind, and the claim query's plan with them, until autovacuum's next analyze.
pub fn refresh_statistics(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("ANALYZE webhook_events").execute(&mut **c)?;
    }
    Ok(())
}

/// When the next waiting event becomes due after `now` (a scheduled retry), if any. Events due
/// already but blocked behind an earlier event of their tenant are not counted: they become
/// claimable when that event finishes, and the worker finishing it claims again at once.
pub fn next_due(conn: &mut DbConn, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| Ok(e::webhook_events
        .filter(e::status.eq_any([status::PENDING, status::FAILED_RETRYING]))
        .filter(e::next_attempt_at.gt(now))
        .select(diesel::dsl::min(e::next_attempt_at))
        .first::<Option<NaiveDateTime>>(c)?))
}

/// How an attempt ended, for the event row.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    Succeeded,
    Skipped {
        reason: String,
    },
    Retry {
        next_attempt_at: NaiveDateTime,
        error: String,
    },
    Dead {
        error: String,
    },
}

impl Completion {
    pub fn status(&self) -> &'static str {
        match self {
            Self::Succeeded => status::SUCCEEDED,
            Self::Skipped { .. } => status::SKIPPED,
            Self::Retry { .. } => status::FAILED_RETRYING,
            Self::Dead { .. } => status::DEAD,
        }
    }
}

/// One processing attempt, as logged in `event_attempts`.
#[derive(Debug, Clone, Insertable, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = event_attempts)]
pub struct Attempt {
    pub event_id: i64,
    pub attempt: i32,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub outcome: String,
    pub error: Option<String>,
    pub http_status: Option<i32>,
    pub duration_ms: i64,
}

/// Records the end of a claimed attempt: the event's new status and its attempt row. Returns
/// false, changing nothing, when the claim was lost (the lease expired and another worker took
/// the event); callers then roll back whatever else they wrote in the same transaction.
pub fn finish(
    conn: &mut DbConn,
    attempt: &Attempt,
    completion: &Completion,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    let (next_attempt_at, last_error, finished_at) = match completion {
        Completion::Succeeded => (None, None, Some(now)),
        Completion::Skipped { reason } => (None, Some(reason.clone()), Some(now)),
        Completion::Retry { next_attempt_at, error } => (Some(*next_attempt_at), Some(error.clone()), None),
        Completion::Dead { error } => (None, Some(error.clone()), Some(now)),
    };
    let owned = with_conn!(conn, |c| {
        let target = e::webhook_events
            .filter(e::id.eq(attempt.event_id))
            .filter(e::status.eq(status::PROCESSING))
            .filter(e::attempts.eq(attempt.attempt));
        let updated = diesel::update(target)
            .set((
                e::status.eq(completion.status()),
                e::next_attempt_at.eq(next_attempt_at.unwrap_or(now)),
                e::locked_until.eq(None::<NaiveDateTime>),
                e::last_error.eq(last_error),
                e::finished_at.eq(finished_at),
            ))
            .execute(c)?;
        if updated == 1 {
            diesel::insert_into(event_attempts::table).values(attempt).execute(c)?;
        }
        Ok::<_, StoreError>(updated == 1)
    })?;
    Ok(owned)
}

/// Extends a live claim's lease (a heartbeat while a handler runs). False when the claim is lost.
pub fn extend(conn: &mut DbConn, event_id: i64, attempt: i32, until: NaiveDateTime) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    let updated = with_conn!(conn, |c| diesel::update(
        e::webhook_events
            .filter(e::id.eq(event_id))
            .filter(e::status.eq(status::PROCESSING))
            .filter(e::attempts.eq(attempt))
    )
    .set(e::locked_until.eq(Some(until)))
    .execute(c))?;
    Ok(updated == 1)
}

/// Gives a claim back unprocessed (shutdown), due at `due` (after any call still in flight
/// could have ended), this attempt not counted.
pub fn release(conn: &mut DbConn, event_id: i64, attempt: i32, due: NaiveDateTime) -> Result<bool, StoreError> {
    let sql = match conn {
        DbConn::Pg(_) => {
            "UPDATE webhook_events SET status = CASE WHEN attempts > 1 THEN 'failed_retrying' ELSE 'pending' END,
                 attempts = attempts - 1, locked_until = NULL, next_attempt_at = $1
             WHERE id = $2 AND status = 'processing' AND attempts = $3"
        }
        DbConn::Sqlite(_) => {
            "UPDATE webhook_events SET status = CASE WHEN attempts > 1 THEN 'failed_retrying' ELSE 'pending' END,
                 attempts = attempts - 1, locked_until = NULL, next_attempt_at = ?1
             WHERE id = ?2 AND status = 'processing' AND attempts = ?3"
        }
    };
    let updated = with_conn!(conn, |c| diesel::sql_query(sql)
        .bind::<Timestamp, _>(due)
        .bind::<BigInt, _>(event_id)
        .bind::<Integer, _>(attempt)
        .execute(c))?;
    Ok(updated == 1)
}

/// Every attempt of an event, oldest first.
pub fn attempts_of(conn: &mut DbConn, event_id: i64) -> Result<Vec<Attempt>, StoreError> {
    use event_attempts::dsl as a;
    with_conn!(conn, |c| Ok(a::event_attempts
        .filter(a::event_id.eq(event_id))
        .order(a::attempt.asc())
        .select(Attempt::as_select())
        .load(c)?))
}

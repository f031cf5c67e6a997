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
    let mut rows: Vec<EventRow> = match conn {
        // A claim lost in a crash costs nothing: the event is simply claimed again. So its commit
        // does not wait for the disk; the first durable commit after it (a handler's write, the
        // outcome) flushes it along, since the log is written in order.
        DbConn::Pg(_) => conn.transaction(|conn| {
            let DbConn::Pg(c) = conn else {
                return Ok::<_, StoreError>(vec![]);
            };
            diesel::sql_query("SET LOCAL synchronous_commit = off").execute(&mut **c)?;
            Ok(diesel::sql_query(CLAIM_POSTGRES)
                .bind::<Timestamp, _>(lease_until)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(&mut **c)?)
        })?,
        DbConn::Sqlite(c) => diesel::sql_query(CLAIM_SQLITE)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(&mut **c)?,
    };
    rows.sort_by_key(|r| (r.order_at, r.id));
    Ok(rows)
}

/// Whether any event is not finished yet (pending, processing or retrying). One index probe,
/// however long the backlog.
pub fn any_unfinished(conn: &mut DbConn) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| Ok(e::webhook_events
        .filter(unfinished())
        // In the partial index's order, so that it is read rather than the whole table.
        .order((e::order_at, e::id))
        .select(e::id)
        .first::<i64>(c)
        .optional()?
        .is_some()))
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
        .filter(waiting())
        .filter(e::next_attempt_at.gt(now))
        .select(diesel::dsl::min(e::next_attempt_at))
        .first::<Option<NaiveDateTime>>(c)?))
}

// Status filters written out as literals, not bound values: only then can the planner prove
// that a query's rows lie in a partial index (`webhook_events_waiting`, `…_unfinished_order`),
// whatever plan it caches for the prepared statement.

/// Pending or retrying: the rows of the partial index `webhook_events_waiting`.
fn waiting() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("status IN ('pending', 'failed_retrying')")
}

/// Pending, processing or retrying: the rows of the partial indexes `…_unfinished_*`.
fn unfinished() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("status IN ('pending', 'processing', 'failed_retrying')")
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

/// Records the end of claimed attempts on their event rows: each event's new status. Returns, per
/// attempt, false when its claim was lost (the lease expired and another worker took the event):
/// that event is left unchanged. The attempt rows are written by [`log_attempts`], in the same
/// transaction. Finished events are stamped with their attempt's `finished_at`. On Postgres this
/// is one statement for all of them.
pub fn finish(conn: &mut DbConn, ended: &[(&Attempt, &Completion)]) -> Result<Vec<bool>, StoreError> {
    match conn {
        DbConn::Pg(c) if ended.len() > 1 => finish_together(c, ended),
        _ => ended
            .iter()
            .map(|(attempt, completion)| finish_one(conn, attempt, completion))
            .collect(),
    }
}

/// The event row's columns once an attempt ended this way.
struct Settled {
    status: &'static str,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    finished_at: Option<NaiveDateTime>,
}

impl Settled {
    fn of(completion: &Completion, now: NaiveDateTime) -> Self {
        let (next_attempt_at, last_error, finished_at) = match completion {
            Completion::Succeeded => (now, None, Some(now)),
            Completion::Skipped { reason } => (now, Some(reason.clone()), Some(now)),
            Completion::Retry { next_attempt_at, error } => (*next_attempt_at, Some(error.clone()), None),
            Completion::Dead { error } => (now, Some(error.clone()), Some(now)),
        };
        Self {
            status: completion.status(),
            next_attempt_at,
            last_error,
            finished_at,
        }
    }
}

fn finish_one(conn: &mut DbConn, attempt: &Attempt, completion: &Completion) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    let settled = Settled::of(completion, attempt.finished_at);
    let updated = with_conn!(conn, |c| {
        let target = e::webhook_events
            .filter(e::id.eq(attempt.event_id))
            .filter(e::status.eq(status::PROCESSING))
            .filter(e::attempts.eq(attempt.attempt));
        diesel::update(target)
            .set((
                e::status.eq(settled.status),
                e::next_attempt_at.eq(settled.next_attempt_at),
                e::locked_until.eq(None::<NaiveDateTime>),
                e::last_error.eq(&settled.last_error),
                e::finished_at.eq(settled.finished_at),
            ))
            .execute(c)
    })?;
    Ok(updated == 1)
}

const FINISH_POSTGRES: &str = "
UPDATE webhook_events AS e
SET status = v.status, next_attempt_at = v.next_attempt_at, locked_until = NULL,
    last_error = v.last_error, finished_at = v.finished_at
FROM UNNEST($1::int8[], $2::int4[], $3::text[], $4::timestamp[], $5::text[], $6::timestamp[])
    AS v(id, attempts, status, next_attempt_at, last_error, finished_at)
WHERE e.id = v.id AND e.attempts = v.attempts AND e.status = 'processing'
RETURNING e.id";

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn finish_together(c: &mut diesel::PgConnection, ended: &[(&Attempt, &Completion)]) -> Result<Vec<bool>, StoreError> {
    use diesel::sql_types::{Array, Nullable, Text};
    let settled: Vec<Settled> = ended
        .iter()
        .map(|(attempt, completion)| Settled::of(completion, attempt.finished_at))
        .collect();
    let finished: Vec<Id> = diesel::sql_query(FINISH_POSTGRES)
        .bind::<Array<BigInt>, _>(ended.iter().map(|(a, _)| a.event_id).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(ended.iter().map(|(a, _)| a.attempt).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(settled.iter().map(|s| s.status).collect::<Vec<_>>())
        .bind::<Array<Timestamp>, _>(settled.iter().map(|s| s.next_attempt_at).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(settled.iter().map(|s| s.last_error.as_deref()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamp>>, _>(settled.iter().map(|s| s.finished_at).collect::<Vec<_>>())
        .load(c)?;
    let finished: std::collections::HashSet<i64> = finished.into_iter().map(|r| r.id).collect();
    Ok(ended.iter().map(|(a, _)| finished.contains(&a.event_id)).collect())
}

/// Logs finished attempts, in one statement.
pub fn log_attempts(conn: &mut DbConn, attempts: &[&Attempt]) -> Result<(), StoreError> {
    if attempts.is_empty() {
        return Ok(());
    }
    with_conn!(conn, |c| diesel::insert_into(event_attempts::table)
        .values(attempts.to_vec())
        .execute(c))?;
    Ok(())
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

//! Claiming due events as leases, and finishing or releasing them.
//!
//! An event is claimable when it is due (pending or retrying with `next_attempt_at` reached, or
//! `processing` with an expired lease) and no earlier unfinished event of its tenant exists, nor
//! a live claim on another of its events. The claim query is the one piece of SQL written per
//! backend: Postgres adds `FOR UPDATE SKIP LOCKED` so concurrent claimers never collide.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::claims_pg;
use super::rows::{EventRow, EventStatus};
use crate::db::schema::{event_attempts, webhook_events};
use crate::db::{pg_transaction, DbConn, StoreError};
use crate::tenants::{self, TenantRows};
use crate::with_conn;

/// The claim on SQLite; on Postgres it is `sql/claim.postgres.sql` (see `claims_pg`).
const CLAIM_SQLITE: &str = include_str!("sql/claim.sqlite.sql");

/// A claimed event, with its tenant's rows as they stood at the claim (`None` for an event
/// without a tenant).
#[derive(Debug, Clone)]
pub struct ClaimedEvent {
    pub row: EventRow,
    pub tenant: Option<TenantRows>,
}

/// Claims up to `limit` due events until `lease_until`. Each returned row has `attempts`
/// already counting this attempt; that number fences the claim (see [`finish`]).
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    Ok(claim_with_tenants(conn, now, lease_until, limit)?
        .into_iter()
        .map(|c| c.row)
        .collect())
}

/// [`claim`], and the rows each event's handler reads. On Postgres they come with the claim, in
/// the same statement; on SQLite (in-process) they are read after it.
pub fn claim_with_tenants(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<ClaimedEvent>, StoreError> {
    let mut claimed: Vec<ClaimedEvent> = match conn {
        // Its commit does not wait for the disk (see `claims_pg::BEGIN_CLAIM`).
        DbConn::Pg(c) => pg_transaction(c, claims_pg::BEGIN_CLAIM, |c| {
            Ok::<_, StoreError>(
                claims_pg::ClaimStatement {
                    now,
                    lease_until,
                    limit,
                }
                .load::<ClaimedPg>(c)?
                .into_iter()
                .map(ClaimedPg::parse)
                .collect(),
            )
        })?,
        // The reads in the claim's transaction: if one fails, the claim is undone with it.
        DbConn::Sqlite(_) => conn.transaction(|conn| {
            let rows: Vec<EventRow> = with_conn!(conn, |c| diesel::sql_query(CLAIM_SQLITE)
                .bind::<Timestamp, _>(lease_until)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(c))?;
            rows.into_iter()
                .map(|row| {
                    let tenant = match &row.tenant_id {
                        Some(tenant) => Some(tenants::rows_of(conn, tenant, row.user_id.as_deref())?),
                        None => None,
                    };
                    Ok(ClaimedEvent { row, tenant })
                })
                .collect::<Result<_, StoreError>>()
        })?,
    };
    claimed.sort_by_key(|c| (c.row.order_at, c.row.id));
    Ok(claimed)
}

/// A claimed event's row as the Postgres claim returns it, its tenant's rows as JSON.
#[derive(QueryableByName)]
struct ClaimedPg {
    #[diesel(embed)]
    event: EventRow,
    #[diesel(sql_type = Nullable<Text>)]
    tenant_mapping: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    tenant_user: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    tenant_sso: Option<String>,
}

impl ClaimedPg {
    /// Rows that do not parse (edited by hand, say) are left for the handler to read itself.
    fn parse(self) -> ClaimedEvent {
        fn json<T: serde::de::DeserializeOwned>(json: Option<String>) -> serde_json::Result<Option<T>> {
            json.map(|j| serde_json::from_str(&j)).transpose()
        }
        let ClaimedPg {
            event,
            tenant_mapping,
            tenant_user,
            tenant_sso,
        } = self;
        let tenant = match &event.tenant_id {
            Some(_) => match (json(tenant_mapping), json(tenant_user), json(tenant_sso)) {
                (Ok(mapping), Ok(user), Ok(sso)) => Some(TenantRows { mapping, user, sso }),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    tracing::warn!(event.id = event.id, error = %e, "tenant rows read with the claim do not parse; the handler reads them");
                    None
                }
            },
            None => None,
        };
        ClaimedEvent { row: event, tenant }
    }
}

pub use super::claim_plan::claim_plan;

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
    /// The provider kept refusing calls for its rate: due again when the gate reopens, the
    /// attempt not counted against the retry schedule (`throttled_attempts`).
    Throttled {
        next_attempt_at: NaiveDateTime,
        error: String,
    },
}

impl Completion {
    pub fn status(&self) -> EventStatus {
        match self {
            Self::Succeeded => EventStatus::Succeeded,
            Self::Skipped { .. } => EventStatus::Skipped,
            Self::Retry { .. } | Self::Throttled { .. } => EventStatus::FailedRetrying,
            Self::Dead { .. } => EventStatus::Dead,
        }
    }

    /// How the attempt ended, as its log line says: the event's status, or `throttled`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Throttled { .. } => THROTTLED,
            _ => self.status().as_str(),
        }
    }
}

/// The outcome of an attempt the provider ended by refusing its calls for the rate.
pub const THROTTLED: &str = "throttled";

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
    /// Refusals for the rate this attempt waited out at the pacing gate.
    pub throttled_calls: i32,
}

/// Records the end of claimed attempts: each event's new status, and the attempt in the attempt
/// log. Returns, per attempt, false when its claim was lost (the lease expired and another
/// worker took the event): nothing is written for it. Finished events are stamped with their
/// attempt's `finished_at`. Call it in a transaction; on Postgres, one opened by
/// [`BEGIN_FINISH`], and this is one statement for all of them.
pub fn finish(conn: &mut DbConn, ended: &[(&Attempt, &Completion)]) -> Result<Vec<bool>, StoreError> {
    match conn {
        DbConn::Pg(c) => finish_together(c, ended),
        DbConn::Sqlite(_) => {
            let held = ended
                .iter()
                .map(|(attempt, completion)| finish_one(conn, attempt, completion))
                .collect::<Result<Vec<bool>, _>>()?;
            let logged: Vec<&Attempt> = ended
                .iter()
                .zip(&held)
                .filter(|(_, h)| **h)
                .map(|((a, _), _)| *a)
                .collect();
            if !logged.is_empty() {
                with_conn!(conn, |c| diesel::insert_into(event_attempts::table)
                    .values(logged)
                    .execute(c))?;
            }
            Ok(held)
        }
    }
}

/// Opens the transaction of [`finish`] on Postgres.
pub use claims_pg::BEGIN_FINISH;

/// The event row's columns once an attempt ended this way.
struct EventColumns {
    status: EventStatus,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    finished_at: Option<NaiveDateTime>,
    /// Counted in `throttled_attempts`, not against the retry schedule.
    throttled: bool,
}

impl EventColumns {
    fn of(completion: &Completion, now: NaiveDateTime) -> Self {
        let (next_attempt_at, last_error, finished_at) = match completion {
            Completion::Succeeded => (now, None, Some(now)),
            Completion::Skipped { reason } => (now, Some(reason.clone()), Some(now)),
            Completion::Retry { next_attempt_at, error } => (*next_attempt_at, Some(error.clone()), None),
            Completion::Dead { error } => (now, Some(error.clone()), Some(now)),
            Completion::Throttled { next_attempt_at, error } => (*next_attempt_at, Some(error.clone()), None),
        };
        Self {
            status: completion.status(),
            next_attempt_at,
            last_error,
            finished_at,
            throttled: matches!(completion, Completion::Throttled { .. }),
        }
    }
}

fn finish_one(conn: &mut DbConn, attempt: &Attempt, completion: &Completion) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    let settled = EventColumns::of(completion, attempt.finished_at);
    let updated = with_conn!(conn, |c| {
        let target = e::webhook_events
            .filter(e::id.eq(attempt.event_id))
            .filter(e::status.eq(EventStatus::Processing))
            .filter(e::attempts.eq(attempt.attempt));
        diesel::update(target)
            .set((
                e::status.eq(settled.status),
                e::next_attempt_at.eq(settled.next_attempt_at),
                e::locked_until.eq(None::<NaiveDateTime>),
                e::last_error.eq(&settled.last_error),
                e::finished_at.eq(settled.finished_at),
                e::throttled_attempts.eq(e::throttled_attempts + i32::from(settled.throttled)),
            ))
            .execute(c)
    })?;
    Ok(updated == 1)
}

/// An attempt whose claim held.
#[derive(QueryableByName, PartialEq, Eq, Hash)]
struct Held {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

fn finish_together(c: &mut diesel::PgConnection, ended: &[(&Attempt, &Completion)]) -> Result<Vec<bool>, StoreError> {
    let settled: Vec<EventColumns> = ended
        .iter()
        .map(|(attempt, completion)| EventColumns::of(completion, attempt.finished_at))
        .collect();
    let attempts = || ended.iter().map(|(a, _)| *a);
    let finished: std::collections::HashSet<Held> = claims_pg::FinishStatement {
        id: attempts().map(|a| a.event_id).collect(),
        attempts: attempts().map(|a| a.attempt).collect(),
        status: settled.iter().map(|s| s.status.as_str()).collect(),
        next_attempt_at: settled.iter().map(|s| s.next_attempt_at).collect(),
        last_error: settled.iter().map(|s| s.last_error.as_deref()).collect(),
        finished_at: settled.iter().map(|s| s.finished_at).collect(),
        throttled: settled.iter().map(|s| s.throttled).collect(),
        started_at: attempts().map(|a| a.started_at).collect(),
        ended_at: attempts().map(|a| a.finished_at).collect(),
        outcome: attempts().map(|a| a.outcome.as_str()).collect(),
        error: attempts().map(|a| a.error.as_deref()).collect(),
        http_status: attempts().map(|a| a.http_status).collect(),
        duration_ms: attempts().map(|a| a.duration_ms).collect(),
        throttled_calls: attempts().map(|a| a.throttled_calls).collect(),
    }
    .load::<Held>(c)?
    .into_iter()
    .collect();
    Ok(attempts()
        .map(|a| {
            finished.contains(&Held {
                id: a.event_id,
                attempts: a.attempt,
            })
        })
        .collect())
}

/// Extends a live claim's lease (a heartbeat while a handler runs). False when the claim is lost.
pub fn extend(conn: &mut DbConn, event_id: i64, attempt: i32, until: NaiveDateTime) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    let updated = with_conn!(conn, |c| diesel::update(
        e::webhook_events
            .filter(e::id.eq(event_id))
            .filter(e::status.eq(EventStatus::Processing))
            .filter(e::attempts.eq(attempt))
    )
    .set(e::locked_until.eq(Some(until)))
    .execute(c))?;
    Ok(updated == 1)
}

/// Gives a claim back unprocessed (shutdown), due at `due` (after any call still in flight
/// could have ended), this attempt not counted.
pub fn release(conn: &mut DbConn, event_id: i64, attempt: i32, due: NaiveDateTime) -> Result<bool, StoreError> {
    use webhook_events::dsl as e;
    let updated = with_conn!(conn, |c| {
        diesel::update(
        e::webhook_events
            .filter(e::id.eq(event_id))
            .filter(e::status.eq(EventStatus::Processing))
            .filter(e::attempts.eq(attempt))
    )
    .set((
        e::status.eq(diesel::dsl::sql::<Text>(
            "CASE WHEN attempts - attempts_before_replay - throttled_attempts > 1 THEN 'failed_retrying' ELSE 'pending' END"
        )),
        e::attempts.eq(e::attempts - 1),
        e::locked_until.eq(None::<NaiveDateTime>),
        e::next_attempt_at.eq(due),
    ))
    .execute(c)
    })?;
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

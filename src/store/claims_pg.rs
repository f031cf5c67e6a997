//! The worker's hot statements on Postgres, each one fixed text whatever the batch: the claim,
//! and the finishing of a batch of attempts (event rows and attempt log). Diesel prepares each
//! once per connection, and the transactions that run them ([`BEGIN_CLAIM`], [`BEGIN_FINISH`])
//! use the cached generic plan instead of planning them again at every call: planning the claim
//! cost two thirds as much as running it. Values travel as arrays that `UNNEST` turns back into
//! rows, as in `inbox_pg`.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

/// Opens a transaction that runs these statements, with settings that end with it.
///
/// A generic plan is made once for all values, from the tables as they are at its first use.
/// On a fresh inbox the planner would pick a scan of every due row and a sort, fine for an
/// empty table and ruinous for the backlog that follows. Without sequential or bitmap scans the
/// only plans left are the index walks these statements are written for: the claim walks the
/// unfinished events in order and stops at its limit; the finish reads only events in process.
pub const BEGIN_FINISH: &str = concat!("BEGIN; ", plan_once!());

/// [`BEGIN_FINISH`] for the claim, whose commit also does not wait for the disk. A claim lost in
/// a crash costs nothing: the event is simply claimed again. The first durable commit after it
/// (a handler's write, the outcome) flushes it along, since the log is written in order.
pub const BEGIN_CLAIM: &str = concat!("BEGIN; SET LOCAL synchronous_commit = off; ", plan_once!());

macro_rules! plan_once {
    () => {
        "SET LOCAL plan_cache_mode = force_generic_plan; \
         SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off"
    };
}
use plan_once;

// An event may be claimed when it is its tenant's head: the tenant's event being processed if
// there is one (so only its own expired lease frees it), else its earliest unfinished event by
// order_at then id. Tenants with a live lease are set aside first with one hashed look-up, so
// the correlated head look-up runs only for the rows that may be claimed, not for every event
// queued behind a tenant in flight.
const CLAIM: [&str; 6] = [
    "UPDATE webhook_events SET status = 'processing', locked_until = ",
    ", attempts = attempts + 1
WHERE id IN (
    SELECT e.id FROM webhook_events e
    WHERE e.status IN ('pending', 'processing', 'failed_retrying')
      AND ((e.status IN ('pending', 'failed_retrying') AND e.next_attempt_at <= ",
    ")
           OR (e.status = 'processing' AND e.locked_until < ",
    "))
      AND (e.tenant_id IS NULL OR (
          e.tenant_id NOT IN (
              SELECT b.tenant_id FROM webhook_events b
              WHERE b.status = 'processing' AND b.locked_until >= ",
    " AND b.tenant_id IS NOT NULL)
          AND e.id = (
              SELECT h.id FROM webhook_events h
              WHERE h.tenant_id = e.tenant_id AND h.status IN ('pending', 'processing', 'failed_retrying')
              ORDER BY CASE WHEN h.status = 'processing' THEN 0 ELSE 1 END, h.order_at, h.id LIMIT 1)))
    ORDER BY e.order_at, e.id
    LIMIT ",
    "
    FOR UPDATE SKIP LOCKED)
RETURNING webhook_events.*,
    (SELECT row_to_json(m)::text FROM tenant_airbyte_workspaces m
     WHERE m.tenant_id = webhook_events.tenant_id) AS tenant_mapping,
    (SELECT row_to_json(u)::text FROM tenant_users u
     WHERE u.tenant_id = webhook_events.tenant_id AND u.user_id = webhook_events.user_id) AS tenant_user,
    (SELECT row_to_json(s)::text FROM tenant_sso s
     WHERE s.tenant_id = webhook_events.tenant_id) AS tenant_sso",
];

/// Claims up to `limit` due events until `lease_until`; loads each event's row with its tenant's
/// rows as they stand, as JSON (see `claims::ClaimedPg`). A tenant has one event in flight, so
/// nothing changes them between this read and the event's handler.
pub struct Claim {
    pub now: NaiveDateTime,
    pub lease_until: NaiveDateTime,
    pub limit: i64,
}

impl QueryFragment<Pg> for Claim {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(CLAIM[0]);
        out.push_bind_param::<Timestamp, _>(&self.lease_until)?;
        for (sql, now) in CLAIM[1..4].iter().zip([&self.now; 3]) {
            out.push_sql(sql);
            out.push_bind_param::<Timestamp, _>(now)?;
        }
        out.push_sql(CLAIM[4]);
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(CLAIM[5]);
        Ok(())
    }
}

// Attempt rows are logged only for the attempts whose claim held, the ones `finished` returns.
const FINISH: [&str; 2] = [
    "WITH v AS (SELECT * FROM UNNEST(",
    ") AS v(id, attempts, status, next_attempt_at, last_error, finished_at,
            started_at, ended_at, outcome, error, http_status, duration_ms)),
finished AS (
    UPDATE webhook_events AS e
    SET status = v.status, next_attempt_at = v.next_attempt_at, locked_until = NULL,
        last_error = v.last_error, finished_at = v.finished_at
    FROM v
    WHERE e.id = v.id AND e.attempts = v.attempts AND e.status = 'processing'
    RETURNING e.id, e.attempts),
logged AS (
    INSERT INTO event_attempts
        (event_id, attempt, started_at, finished_at, outcome, error, http_status, duration_ms)
    SELECT v.id, v.attempts, v.started_at, v.ended_at, v.outcome, v.error, v.http_status, v.duration_ms
    FROM v WHERE (v.id, v.attempts) IN (SELECT id, attempts FROM finished))
SELECT id, attempts FROM finished",
];

/// Sets each event's status after its attempt and logs the attempt, if the event is still
/// claimed by that attempt; loads the `(id, attempts)` of those events.
pub struct Finish<'a> {
    pub id: Vec<i64>,
    pub attempts: Vec<i32>,
    pub status: Vec<&'a str>,
    pub next_attempt_at: Vec<NaiveDateTime>,
    pub last_error: Vec<Option<&'a str>>,
    pub finished_at: Vec<Option<NaiveDateTime>>,
    pub started_at: Vec<NaiveDateTime>,
    pub ended_at: Vec<NaiveDateTime>,
    pub outcome: Vec<&'a str>,
    pub error: Vec<Option<&'a str>>,
    pub http_status: Vec<Option<i32>>,
    pub duration_ms: Vec<i64>,
}

impl QueryFragment<Pg> for Finish<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(FINISH[0]);
        push_binds!(out,
            Array<BigInt> => &self.id,
            Array<Integer> => &self.attempts,
            Array<Text> => &self.status,
            Array<Timestamp> => &self.next_attempt_at,
            Array<Nullable<Text>> => &self.last_error,
            Array<Nullable<Timestamp>> => &self.finished_at,
            Array<Timestamp> => &self.started_at,
            Array<Timestamp> => &self.ended_at,
            Array<Text> => &self.outcome,
            Array<Nullable<Text>> => &self.error,
            Array<Nullable<Integer>> => &self.http_status,
            Array<BigInt> => &self.duration_ms,
        );
        out.push_sql(FINISH[1]);
        Ok(())
    }
}

/// Each statement's text is fixed, so its prepared form is cached under its type, and it loads
/// rows by column name.
macro_rules! fixed_statement {
    ($($statement:ident $(<$lifetime:lifetime>)? => $id:ty),+) => {$(
        impl $(<$lifetime>)? QueryId for $statement $(<$lifetime>)? {
            type QueryId = $id;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl $(<$lifetime>)? Query for $statement $(<$lifetime>)? {
            type SqlType = Untyped;
        }

        impl $(<$lifetime>)? RunQueryDsl<PgConnection> for $statement $(<$lifetime>)? {}
    )+};
}

fixed_statement!(Claim => Claim, Finish<'a> => Finish<'static>);

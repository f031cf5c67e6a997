//! The worker's hot statements on Postgres, each one fixed text whatever the batch: the claim,
//! and the finishing of a batch of attempts (event rows and attempt log). Diesel prepares each
//! once per connection, and the transactions that run them ([`BEGIN_CLAIM`], [`BEGIN_FINISH`])
//! use the cached generic plan instead of planning them again at every call: planning the claim
//! cost two thirds as much as running it. Values travel as arrays that `UNNEST` turns back into
//! rows, as in `inbox_pg`.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

use crate::db::placeholders::{self, Piece};
use crate::db::Begin;

/// Opens a transaction that runs these statements, with settings that end with it.
///
/// A generic plan is made once for all values, from the tables as they are at its first use.
/// On a fresh inbox the planner would pick a scan of every due row and a sort, fine for an
/// empty table and ruinous for the backlog that follows. Without sequential or bitmap scans the
/// only plans left are the index walks these statements are written for: the claim walks the
/// unfinished events in order and stops at its limit; the finish reads only events in process.
pub const BEGIN_FINISH: Begin = Begin::WithSettings(concat!("BEGIN; ", plan_once!()));

/// [`BEGIN_FINISH`] for the claim, whose commit also does not wait for the disk. A claim lost in
/// a crash costs nothing: the event is simply claimed again. The first durable commit after it
/// (a handler's write, the outcome) flushes it along, since the log is written in order.
pub const BEGIN_CLAIM: Begin =
    Begin::WithSettings(concat!("BEGIN; SET LOCAL synchronous_commit = off; ", plan_once!()));

macro_rules! plan_once {
    () => {
        "SET LOCAL plan_cache_mode = force_generic_plan; \
         SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off"
    };
}
use plan_once;

/// The claim's text, whole; its placeholders are numbered as [`ClaimStatement`] binds them.
const CLAIM: &str = include_str!("sql/claim.postgres.sql");

/// Claims up to `limit` due events until `lease_until`; loads each event's row with its tenant's
/// rows as they stand, as JSON (see `claims::ClaimedPg`). A tenant has one event in flight, so
/// nothing changes them between this read and the event's handler.
pub struct ClaimStatement {
    pub now: NaiveDateTime,
    pub lease_until: NaiveDateTime,
    pub limit: i64,
}

impl QueryFragment<Pg> for ClaimStatement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for piece in placeholders::split(CLAIM) {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Bind(1) => out.push_bind_param::<Timestamp, _>(&self.lease_until)?,
                Piece::Bind(2) => out.push_bind_param::<Timestamp, _>(&self.now)?,
                Piece::Bind(3) => out.push_bind_param::<BigInt, _>(&self.limit)?,
                Piece::Bind(n) => return Err(placeholders::unknown(n)),
            }
        }
        Ok(())
    }
}

/// The finish's text, whole; its placeholders are numbered as [`FinishStatement`] binds them.
const FINISH: &str = include_str!("sql/finish.postgres.sql");

/// Sets each event's status after its attempt and logs the attempt, if the event is still
/// claimed by that attempt; loads the `(id, attempts)` of those events.
pub struct FinishStatement<'a> {
    pub id: Vec<i64>,
    pub attempts: Vec<i32>,
    pub status: Vec<&'a str>,
    pub next_attempt_at: Vec<NaiveDateTime>,
    pub last_error: Vec<Option<&'a str>>,
    pub finished_at: Vec<Option<NaiveDateTime>>,
    pub throttled: Vec<bool>,
    pub started_at: Vec<NaiveDateTime>,
    pub ended_at: Vec<NaiveDateTime>,
    pub outcome: Vec<&'a str>,
    pub error: Vec<Option<&'a str>>,
    pub http_status: Vec<Option<i32>>,
    pub duration_ms: Vec<i64>,
    pub throttled_calls: Vec<i32>,
}

impl QueryFragment<Pg> for FinishStatement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for piece in placeholders::split(FINISH) {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Bind(1) => out.push_bind_param::<Array<BigInt>, _>(&self.id)?,
                Piece::Bind(2) => out.push_bind_param::<Array<Integer>, _>(&self.attempts)?,
                Piece::Bind(3) => out.push_bind_param::<Array<Text>, _>(&self.status)?,
                Piece::Bind(4) => out.push_bind_param::<Array<Timestamp>, _>(&self.next_attempt_at)?,
                Piece::Bind(5) => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.last_error)?,
                Piece::Bind(6) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.finished_at)?,
                Piece::Bind(7) => out.push_bind_param::<Array<Bool>, _>(&self.throttled)?,
                Piece::Bind(8) => out.push_bind_param::<Array<Timestamp>, _>(&self.started_at)?,
                Piece::Bind(9) => out.push_bind_param::<Array<Timestamp>, _>(&self.ended_at)?,
                Piece::Bind(10) => out.push_bind_param::<Array<Text>, _>(&self.outcome)?,
                Piece::Bind(11) => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.error)?,
                Piece::Bind(12) => out.push_bind_param::<Array<Nullable<Integer>>, _>(&self.http_status)?,
                Piece::Bind(13) => out.push_bind_param::<Array<BigInt>, _>(&self.duration_ms)?,
                Piece::Bind(14) => out.push_bind_param::<Array<Integer>, _>(&self.throttled_calls)?,
                Piece::Bind(n) => return Err(placeholders::unknown(n)),
            }
        }
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

fixed_statement!(ClaimStatement => ClaimStatement, FinishStatement<'a> => FinishStatement<'static>);

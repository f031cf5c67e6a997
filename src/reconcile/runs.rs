//! Run records (`reconcile_runs`): starting a run (one that applies repairs takes the turn, held
//! by a lease renewed while it runs), finishing it with its drift, and the reads every door uses:
//! [`list`] and [`find`] (the admin API, the CLI, the console).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::drift::Drift;
use crate::db::audit::{self, NewAudit};
use crate::db::locks::Lock;
use crate::db::schema::reconcile_runs;
use crate::db::status::RunStatus;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// A run as stored. `counts` and `drifts` are read from their JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    /// Whether the run repaired (else it only reported: a dry run).
    pub apply: bool,
    /// `cli:<login>`, `admin-api` or `periodic`.
    pub triggered_by: String,
    pub status: RunStatus,
    /// Why deletions were held back, when they were.
    pub brake: Option<String>,
    pub tenants_listed: Option<i64>,
    pub mappings_seen: Option<i64>,
    /// Drifts found, by kind.
    pub counts: BTreeMap<String, i64>,
    pub error: Option<String>,
    /// Each drift with what was done; empty in lists.
    pub drifts: Vec<Drift>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = reconcile_runs)]
struct RunRow {
    id: i64,
    started_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    apply: bool,
    triggered_by: String,
    status: String,
    brake: Option<String>,
    tenants_listed: Option<i64>,
    mappings_seen: Option<i64>,
    counts: Option<String>,
    drifts: Option<String>,
    error: Option<String>,
}

impl RunRow {
    fn into_record(self, with_drifts: bool) -> RunRecord {
        RunRecord {
            id: self.id,
            started_at: self.started_at,
            finished_at: self.finished_at,
            apply: self.apply,
            triggered_by: self.triggered_by,
            status: self.status.parse().unwrap_or(RunStatus::Failed),
            brake: self.brake,
            tenants_listed: self.tenants_listed,
            mappings_seen: self.mappings_seen,
            counts: self
                .counts
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or_default(),
            error: self.error,
            drifts: self
                .drifts
                .filter(|_| with_drifts)
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default(),
        }
    }
}

/// Whether a run could start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    Started {
        run_id: i64,
    },
    /// Another run that applies repairs holds the turn (its lease has not expired).
    Busy {
        run_id: i64,
    },
}

/// Records a run as started. A run that applies repairs first takes the turn: on Postgres under
/// an advisory lock held until this transaction commits (SQLite's writers take turns anyway),
/// it starts only when no other applying run's lease is still valid.
pub fn begin(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    apply: bool,
    by: &str,
) -> Result<Begun, StoreError> {
    use reconcile_runs::dsl as r;
    conn.transaction(|conn| {
        if apply {
            if let DbConn::Pg(c) = conn {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({})", Lock::Reconcile.key()))
                    .execute(&mut **c)?;
            }
            let holder: Option<i64> = with_conn!(conn, |c| r::reconcile_runs
                .filter(r::status.eq(RunStatus::Running.as_str()))
                .filter(r::apply.eq(true))
                .filter(r::lease_until.gt(now))
                .select(r::id)
                .first(c)
                .optional())?;
            if let Some(run_id) = holder {
                return Ok(Begun::Busy { run_id });
            }
        }
        let run_id: i64 = with_conn!(conn, |c| diesel::insert_into(r::reconcile_runs)
            .values((
                r::started_at.eq(now),
                r::lease_until.eq(lease_until),
                r::apply.eq(apply),
                r::triggered_by.eq(by),
                r::status.eq(RunStatus::Running.as_str()),
            ))
            .returning(r::id)
            .get_result(c))?;
        Ok(Begun::Started { run_id })
    })
}

/// Extends a running run's lease.
pub fn renew(conn: &mut DbConn, run_id: i64, until: NaiveDateTime) -> Result<(), StoreError> {
    use reconcile_runs::dsl as r;
    with_conn!(conn, |c| diesel::update(r::reconcile_runs.find(run_id))
        .filter(r::status.eq(RunStatus::Running.as_str()))
        .set(r::lease_until.eq(until))
        .execute(c))?;
    Ok(())
}

/// How a run ended, as it is written.
#[derive(Debug, Clone)]
pub struct Ending {
    pub at: NaiveDateTime,
    pub status: RunStatus,
    pub brake: Option<String>,
    pub tenants_listed: Option<i64>,
    pub mappings_seen: Option<i64>,
    pub counts: BTreeMap<String, i64>,
    pub drifts: Vec<Drift>,
    pub error: Option<String>,
}

/// Writes the end of a run, with its audit entry when it has one, in one transaction.
pub fn finish(conn: &mut DbConn, run_id: i64, ending: &Ending, entry: Option<&NewAudit>) -> Result<(), StoreError> {
    use reconcile_runs::dsl as r;
    let counts = serde_json::to_string(&ending.counts).map_err(|e| StoreError::Unexpected(e.into()))?;
    let drifts = serde_json::to_string(&ending.drifts).map_err(|e| StoreError::Unexpected(e.into()))?;
    conn.transaction(|conn| {
        with_conn!(conn, |c| diesel::update(r::reconcile_runs.find(run_id))
            .set((
                r::finished_at.eq(ending.at),
                r::lease_until.eq(ending.at),
                r::status.eq(ending.status.as_str()),
                r::brake.eq(ending.brake.as_deref()),
                r::tenants_listed.eq(ending.tenants_listed),
                r::mappings_seen.eq(ending.mappings_seen),
                r::counts.eq(&counts),
                r::drifts.eq(&drifts),
                r::error.eq(ending.error.as_deref()),
            ))
            .execute(c))?;
        audit::write(conn, entry)
    })
}

/// Runs, newest first, `limit` at a time, below the id `before` when given (without their drifts).
pub fn list(conn: &mut DbConn, limit: i64, before: Option<i64>) -> Result<Vec<RunRecord>, StoreError> {
    use reconcile_runs::dsl as r;
    let rows: Vec<RunRow> = with_conn!(conn, |c| {
        let mut query = r::reconcile_runs
            .select(RunRow::as_select())
            .order(r::id.desc())
            .limit(limit)
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(r::id.lt(before));
        }
        query.load(c)
    })?;
    Ok(rows.into_iter().map(|row| row.into_record(false)).collect())
}

/// One run with its drifts.
pub fn find(conn: &mut DbConn, run_id: i64) -> Result<Option<RunRecord>, StoreError> {
    use reconcile_runs::dsl as r;
    let row: Option<RunRow> = with_conn!(conn, |c| r::reconcile_runs
        .find(run_id)
        .select(RunRow::as_select())
        .first(c)
        .optional())?;
    Ok(row.map(|row| row.into_record(true)))
}

/// The latest finished run and the latest successful one's end (for the metrics).
pub fn latest(conn: &mut DbConn) -> Result<(Option<RunRecord>, Option<NaiveDateTime>), StoreError> {
    use reconcile_runs::dsl as r;
    let finished: Option<RunRow> = with_conn!(conn, |c| r::reconcile_runs
        .filter(r::finished_at.is_not_null())
        .select(RunRow::as_select())
        .order(r::id.desc())
        .first(c)
        .optional())?;
    let succeeded: Option<Option<NaiveDateTime>> = with_conn!(conn, |c| r::reconcile_runs
        .filter(r::status.eq(RunStatus::Succeeded.as_str()))
        .select(r::finished_at)
        .order(r::id.desc())
        .first(c)
        .optional())?;
    Ok((finished.map(|row| row.into_record(false)), succeeded.flatten()))
}

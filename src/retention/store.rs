//! Retention: old finished events deleted with their attempts, one bounded chunk per transaction.
//!
//! The periodic purge deletes events that succeeded, were skipped or ignored before a cutoff;
//! `dead` events only go when an operator asks for it. Events not finished are never touched.
//! An event's finish time is `finished_at`, or `received_at` for one stored finished (`ignored`);
//! it is never before `received_at`, so candidates are found through the `received_at` index.
//! On Postgres a chunk locks its rows (`FOR UPDATE SKIP LOCKED`), so an event replayed meanwhile
//! is left alone, and holds an advisory lock until it commits, so that purges take turns.
//! Audit entries keep their event id: it is a plain reference, not a foreign key.

use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::audit::{self, NewAudit};
use crate::db::schema::{event_attempts, webhook_events};
use crate::db::{DbConn, StoreError};
use crate::inbox::EventStatus;
use crate::with_conn;

/// Key of the advisory lock purges take turns with (Postgres).
pub const PURGE_LOCK: i64 = crate::db::locks::Lock::Purge.key();

/// Which events a purge deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Succeeded, skipped and ignored events: what the periodic purge deletes.
    Finished,
    /// Dead events, kept until replayed: deleted only on purpose.
    Dead,
}

impl Scope {
    pub fn statuses(self) -> &'static [EventStatus] {
        match self {
            Self::Finished => &[EventStatus::Succeeded, EventStatus::Skipped, EventStatus::Ignored],
            Self::Dead => &[EventStatus::Dead],
        }
    }

    /// How the scope is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Dead => "dead",
        }
    }
}

/// What a chunk does when another purge holds the turn (Postgres; SQLite writers queue anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Wait for the other chunk to commit (an operator's purge).
    Wait,
    /// Purge nothing and report it (the periodic job: another instance is on it).
    SkipIfBusy,
}

/// Events and attempts deleted, or counted by a dry run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub events: u64,
    pub attempts: u64,
}

impl std::ops::AddAssign for Purged {
    fn add_assign(&mut self, other: Self) {
        self.events += other.events;
        self.attempts += other.attempts;
    }
}

/// The events of `$scope` that finished before `$cutoff`, as a query on `webhook_events`.
macro_rules! purgeable {
    ($scope:expr, $cutoff:expr) => {{
        use webhook_events::dsl as e;
        let cutoff: NaiveDateTime = $cutoff;
        e::webhook_events
            .filter(e::status.eq_any($scope.statuses().iter().copied()))
            .filter(e::received_at.lt(cutoff))
            .filter(e::finished_at.is_null().or(e::finished_at.lt(cutoff)))
    }};
}

/// Deletes up to `limit` events of `scope` that finished before `cutoff`, with their attempts,
/// in one transaction. `None` when `turn` is [`Turn::SkipIfBusy`] and another purge has the turn.
pub fn purge_chunk(
    conn: &mut DbConn,
    scope: Scope,
    cutoff: NaiveDateTime,
    limit: i64,
    turn: Turn,
) -> Result<Option<Purged>, StoreError> {
    use event_attempts::dsl as a;
    use webhook_events::dsl as e;
    conn.transaction(|conn| {
        let ids: Vec<i64> = match conn {
            DbConn::Pg(c) => {
                if !take_turn(c, turn)? {
                    return Ok(None);
                }
                purgeable!(scope, cutoff)
                    .select(e::id)
                    .limit(limit)
                    .for_update()
                    .skip_locked()
                    .load(&mut **c)?
            }
            // `BEGIN IMMEDIATE` holds the write lock: nothing changes these rows meanwhile.
            DbConn::Sqlite(c) => purgeable!(scope, cutoff).select(e::id).limit(limit).load(&mut **c)?,
        };
        if ids.is_empty() {
            return Ok(Some(Purged::default()));
        }
        with_conn!(conn, |c| {
            // Attempts would cascade; deleting them first counts them.
            let attempts = diesel::delete(a::event_attempts.filter(a::event_id.eq_any(&ids))).execute(c)?;
            let events = diesel::delete(e::webhook_events.filter(e::id.eq_any(&ids))).execute(c)?;
            Ok(Some(Purged {
                events: u64::try_from(events).unwrap_or(u64::MAX),
                attempts: u64::try_from(attempts).unwrap_or(u64::MAX),
            }))
        })
    })
}

/// Takes the purge lock for the rest of the transaction; false when busy and told not to wait.
fn take_turn(conn: &mut PgConnection, turn: Turn) -> Result<bool, StoreError> {
    match turn {
        Turn::Wait => {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PURGE_LOCK})")).execute(conn)?;
            Ok(true)
        }
        Turn::SkipIfBusy => {
            let lock = format!("pg_try_advisory_xact_lock({PURGE_LOCK})");
            Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&lock)).get_result(conn)?)
        }
    }
}

/// What a purge of `scope` before `cutoff` would delete now (a dry run).
pub fn count(conn: &mut DbConn, scope: Scope, cutoff: NaiveDateTime) -> Result<Purged, StoreError> {
    use event_attempts::dsl as a;
    use webhook_events::dsl as e;
    with_conn!(conn, |c| {
        let events: i64 = purgeable!(scope, cutoff).count().get_result(c)?;
        let attempts: i64 = a::event_attempts
            .filter(a::event_id.eq_any(purgeable!(scope, cutoff).select(e::id)))
            .count()
            .get_result(c)?;
        Ok(Purged {
            events: u64::try_from(events).unwrap_or_default(),
            attempts: u64::try_from(attempts).unwrap_or_default(),
        })
    })
}

/// Records an operator's purge in the audit log.
pub fn audit_purge(
    conn: &mut DbConn,
    at: NaiveDateTime,
    by: &str,
    scope: Scope,
    cutoff: NaiveDateTime,
    purged: Purged,
) -> Result<(), StoreError> {
    let detail = serde_json::json!({
        "by": by,
        "status": scope.statuses(),
        "finished_before": cutoff,
        "events": purged.events,
        "attempts": purged.attempts,
    });
    audit::write(conn, [&NewAudit::general(at, "events.purged", detail)])
}

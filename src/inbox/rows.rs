//! The inbox's rows: a delivery to store, a stored event, and the statuses an event goes through.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::webhook_events;

pub use crate::db::status::EventStatus;

/// A verified, normalized delivery about to be stored.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_events, treat_none_as_default_value = false)]
pub struct NewEvent {
    pub source: String,
    pub idempotency_key: String,
    pub body_sha256: String,
    pub event_type: String,
    pub kind: String,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub occurred_at: Option<NaiveDateTime>,
    pub received_at: NaiveDateTime,
    pub order_at: NaiveDateTime,
    pub payload: String,
    pub status: EventStatus,
    pub next_attempt_at: NaiveDateTime,
}

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new row, committed.
    Inserted { id: i64 },
    /// The same key with the same body was already stored.
    Duplicate { id: i64 },
    /// The same key was stored with a different body; nothing was changed.
    Conflict { id: i64 },
}

/// A stored event as read back.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = webhook_events)]
pub struct EventRow {
    pub id: i64,
    pub source: String,
    pub idempotency_key: String,
    pub body_sha256: String,
    pub event_type: String,
    pub kind: String,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub occurred_at: Option<NaiveDateTime>,
    pub received_at: NaiveDateTime,
    pub order_at: NaiveDateTime,
    pub payload: String,
    pub status: EventStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub finished_at: Option<NaiveDateTime>,
    pub attempts_before_replay: i32,
    pub replayed_at: Option<NaiveDateTime>,
    /// Attempts that ended throttled: they spend none of the retry schedule.
    pub throttled_attempts: i32,
}

impl EventRow {
    /// Attempts since the event was stored or last replayed, but those that ended throttled:
    /// the retry schedule's position.
    pub fn attempts_in_round(&self) -> i32 {
        self.attempts - self.attempts_before_replay - self.throttled_attempts
    }
}

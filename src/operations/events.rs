//! Reading stored events: a filtered page, newest first, and one event with its attempts.

use super::Page;
use crate::db::audit::{self, AuditEntry};
use crate::db::{Database, StoreError};
use crate::inbox::claims::{self, Attempt};
use crate::inbox::listing::{self, EventFilter};
use crate::inbox::{self, EventRow};

/// Events matching `filter`, newest first, at most `limit`, after the event `before` (the cursor
/// of the previous page; see `listing::list_events` for the order within a time window).
pub async fn list(
    db: &Database,
    filter: EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Page<EventRow, i64>, StoreError> {
    db.run(move |c| {
        Page::read(
            c,
            limit,
            |c, rows| listing::list_events(c, &filter, before, rows),
            |e| e.id,
        )
    })
    .await
}

/// A stored event and every processing attempt it had.
#[derive(Debug, Clone)]
pub struct EventHistory {
    pub event: EventRow,
    pub attempts: Vec<Attempt>,
}

/// The event `id` with its attempts; `None` when there is no such event.
pub async fn find(db: &Database, id: i64) -> Result<Option<EventHistory>, StoreError> {
    db.run(move |c| {
        let Some(event) = inbox::find(c, id)? else {
            return Ok(None);
        };
        let attempts = claims::attempts_of(c, id)?;
        Ok(Some(EventHistory { event, attempts }))
    })
    .await
}

/// Events shown on each side of an event, among its tenant's.
pub const NEIGHBOURS: i64 = 5;

/// An event with everything an operator reads beside it.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub history: EventHistory,
    /// The tenant's events just before this one, oldest first.
    pub before: Vec<EventRow>,
    /// The tenant's events just after this one, oldest first.
    pub after: Vec<EventRow>,
    /// The audit entries about this event, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// The event `id` with its attempts, its tenant's neighbouring events and its audit entries;
/// `None` when there is no such event.
pub async fn record(db: &Database, id: i64) -> Result<Option<EventRecord>, StoreError> {
    db.run(move |c| {
        let Some(event) = inbox::find(c, id)? else {
            return Ok(None);
        };
        let (mut before, after) = match event.tenant_id.clone() {
            Some(tenant_id) => {
                let filter = EventFilter {
                    tenant_id: Some(tenant_id.clone()),
                    ..EventFilter::default()
                };
                (
                    listing::list_events(c, &filter, Some(id), NEIGHBOURS)?,
                    listing::tenant_events_after(c, &tenant_id, id, NEIGHBOURS)?,
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        before.reverse();
        let attempts = claims::attempts_of(c, id)?;
        let audit = audit::audit_of_event(c, id)?;
        Ok(Some(EventRecord {
            history: EventHistory { event, attempts },
            before,
            after,
            audit,
        }))
    })
    .await
}

/// Most events a replay preview counts exactly.
pub const PREVIEW_LIMIT: i64 = 10_000;

/// How many finished events `filter` selects now, what a replay by filter would requeue:
/// `Exactly(n)`, or `MoreThan(PREVIEW_LIMIT)`.
pub async fn count_finished(db: &Database, filter: EventFilter) -> Result<Count, StoreError> {
    let found = db
        .run(move |c| listing::count_finished(c, &filter, PREVIEW_LIMIT + 1))
        .await?;
    Ok(if found > PREVIEW_LIMIT {
        Count::MoreThan(PREVIEW_LIMIT)
    } else {
        Count::Exactly(found)
    })
}

/// A count that stops at a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(i64),
    MoreThan(i64),
}

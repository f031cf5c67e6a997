//! Reading stored events: a filtered page, newest first, and one event with its attempts.

use super::Page;
use crate::db::{Database, StoreError};
use crate::inbox::claims::{self, Attempt};
use crate::inbox::listing::{self, EventFilter};
use crate::inbox::{self, EventRow};

/// Events matching `filter`, newest first, at most `limit`, with ids below `before` (the cursor
/// of the previous page).
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

//! Replay by filter: every finished event a filter selects back to `pending`, a chunk per
//! transaction, with one `events.replayed` audit entry for the whole action.

use chrono::Utc;

use super::Actor;
use crate::db::audit::{self, NewAudit};
use crate::db::{notify, Database, DbConn, StoreError};
use crate::inbox::listing::{self, EventFilter};

/// The audit action of a replay by filter.
pub const ACTION: &str = "events.replayed";

/// Events requeued per transaction, so that a large replay never holds locks for long.
pub const CHUNK: usize = 500;

/// The events a replay by filter requeues. An empty filter selects every finished event, so it
/// must be asked for on purpose.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection(EventFilter);

/// An empty filter given without asking for every finished event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an empty filter selects every finished event: ask for all of them on purpose")]
pub struct EmptyFilter;

impl Selection {
    /// The events `filter` selects; with an empty filter only when `every` says so.
    pub fn new(filter: EventFilter, every: bool) -> Result<Self, EmptyFilter> {
        if filter.is_empty() && !every {
            return Err(EmptyFilter);
        }
        Ok(Self(filter))
    }

    pub fn filter(&self) -> &EventFilter {
        &self.0
    }
}

/// How far a replay by filter has got: given once before the first chunk, then after each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Matching events handled so far (requeued, or left alone because they changed meanwhile).
    pub done: usize,
    /// Matching events found when the replay started.
    pub total: usize,
}

/// What a replay by filter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Finished events that matched when the replay started.
    pub matched: usize,
    /// Those requeued; the others changed status meanwhile and were left alone.
    pub requeued: usize,
}

/// A replay by filter that stopped: the chunks before the failure stay requeued, and the audit
/// entry counts them.
#[derive(Debug, thiserror::Error)]
#[error("requeuing stopped after {requeued} event(s)")]
pub struct ReplayStopped {
    pub requeued: usize,
    #[source]
    pub source: StoreError,
}

/// Requeues every finished event `selection` selects, oldest first, [`CHUNK`] at a time, and
/// calls `progress` (if any) after each chunk. See the module documentation of
/// [`crate::operations`] for the audit entry and the rules that keep it safe.
pub async fn replay_matching(
    db: &Database,
    selection: &Selection,
    by: &Actor,
    mut progress: Option<&mut (dyn FnMut(Progress) + Send)>,
) -> Result<Replayed, ReplayStopped> {
    let filter = selection.filter().clone();
    let ids = db
        .run(move |c| listing::finished_ids(c, &filter))
        .await
        .map_err(|source| ReplayStopped { requeued: 0, source })?;
    let total = ids.len();
    let mut report = |done| {
        if let Some(progress) = progress.as_mut() {
            progress(Progress { done, total });
        }
    };
    report(0);
    let (mut entry, mut requeued, mut done) = (None, 0, 0);
    for chunk in ids.chunks(CHUNK) {
        let task = Chunk {
            filter: selection.filter().clone(),
            ids: chunk.to_vec(),
            by: by.clone(),
            entry,
            requeued_before: requeued,
        };
        let (count, audited) = db
            .run(move |c| task.requeue(c))
            .await
            .map_err(|source| ReplayStopped { requeued, source })?;
        (entry, requeued, done) = (audited, requeued + count, done + chunk.len());
        report(done);
    }
    Ok(Replayed {
        matched: total,
        requeued,
    })
}

/// One chunk of a replay by filter, and what the audit entry holds so far.
struct Chunk {
    filter: EventFilter,
    ids: Vec<i64>,
    by: Actor,
    /// The action's audit entry, once a chunk has requeued something.
    entry: Option<i64>,
    requeued_before: usize,
}

impl Chunk {
    /// Requeues the chunk and brings the audit entry to the new total, in one transaction;
    /// returns how many were requeued and the entry's id.
    fn requeue(self, conn: &mut DbConn) -> Result<(usize, Option<i64>), StoreError> {
        let now = Utc::now().naive_utc();
        conn.transaction(|c| {
            // The update checks the status and the filter again: an event changed since the ids
            // were read (held by a worker, replayed and finished otherwise) is left alone.
            let count = listing::requeue(c, &self.filter, &self.ids, now)?;
            if count == 0 {
                return Ok((0, self.entry));
            }
            let detail = serde_json::json!({
                "by": self.by,
                "filter": self.filter,
                "requeued": self.requeued_before + count,
            })
            .to_string();
            let entry = match self.entry {
                Some(id) => {
                    audit::update_detail(c, id, &detail)?;
                    id
                }
                None => audit::insert(
                    c,
                    &NewAudit {
                        at: now,
                        tenant_id: self.filter.tenant_id.clone(),
                        user_id: None,
                        event_id: None,
                        action: ACTION.to_owned(),
                        detail: Some(detail),
                    },
                )?,
            };
            notify::announce(c)?;
            Ok((count, Some(entry)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_filter_selects_every_finished_event_only_when_asked() {
        assert_eq!(Selection::new(EventFilter::default(), false), Err(EmptyFilter));
        let every = Selection::new(EventFilter::default(), true).map(|s| s.filter().is_empty());
        assert_eq!(every, Ok(true));
        let dead = EventFilter {
            status: Some("dead".into()),
            ..EventFilter::default()
        };
        let narrowed = Selection::new(dead.clone(), false).map(|s| s.filter().clone());
        assert_eq!(narrowed, Ok(dead), "a filter needs no permission");
    }
}

//! Purge on an operator's request: the events of a scope that finished before a cutoff, deleted
//! with their attempts in the chunks the retention job uses, with one `events.purged` entry.

use chrono::{NaiveDateTime, Utc};

use super::Actor;
use crate::db::{Database, StoreError};
use crate::retention::store::{audit_purge, count, Purged, Scope, Turn};
use crate::retention::{self, Ended};

/// What a purge of `scope` before `cutoff` would delete now (a dry run).
pub async fn would_purge(db: &Database, scope: Scope, cutoff: NaiveDateTime) -> Result<Purged, StoreError> {
    db.run(move |c| count(c, scope, cutoff)).await
}

/// A purge that did not end as it should.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// A chunk failed; the chunks before it stay deleted (and audited, if the entry could be written).
    #[error("purging stopped after {} event(s) and {} attempt(s)", purged.events, purged.attempts)]
    Stopped {
        purged: Purged,
        #[source]
        source: StoreError,
    },
    #[error("the events were purged, but the audit entry could not be written")]
    NotAudited {
        purged: Purged,
        #[source]
        source: StoreError,
    },
}

/// Deletes the events of `scope` that finished before `cutoff`, with their attempts, waiting for
/// its turn rather than giving up to a running retention job. When something was deleted, one
/// audit entry names `by`, the statuses, the cutoff and the counts (also after a failed chunk,
/// for the chunks before it).
pub async fn purge(db: &Database, scope: Scope, cutoff: NaiveDateTime, by: &Actor) -> Result<Purged, PurgeError> {
    let run = retention::purge(db, scope, cutoff, Turn::Wait, || false).await;
    let purged = run.purged;
    let audited = if purged.events > 0 {
        let (now, by) = (Utc::now().naive_utc(), by.clone());
        db.run(move |c| audit_purge(c, now, by.as_str(), scope, cutoff, purged))
            .await
    } else {
        Ok(())
    };
    if let Ended::Failed(source) = run.ended {
        return Err(PurgeError::Stopped { purged, source });
    }
    audited.map_err(|source| PurgeError::NotAudited { purged, source })?;
    Ok(purged)
}

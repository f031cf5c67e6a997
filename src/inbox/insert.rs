//! Storing deliveries: insert-if-absent on `(source, idempotency_key)`, and reads of stored events.

use diesel::prelude::*;

use super::insert_pg;
use super::rows::{EventRow, InsertOutcome, NewEvent};
use crate::db::schema::webhook_events;
use crate::db::{DbConn, StoreError};
use crate::with_conn;

/// Stores one delivery unless its `(source, idempotency_key)` is already there: a batch of
/// one (see [`insert_batch`]), committed before this returns.
pub fn insert_if_absent(conn: &mut DbConn, event: &NewEvent) -> Result<InsertOutcome, StoreError> {
    insert_batch(conn, std::slice::from_ref(event))?
        .pop()
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("the insert returned no outcome")))
}

/// Stores a batch of deliveries (group commit) with one statement that inserts them all or none,
/// then one look-up of the keys that were already there. On Postgres the same statement wakes
/// other instances. Outcomes come back in the order of `events`; nothing is acknowledged before
/// the commit.
pub fn insert_batch(conn: &mut DbConn, events: &[NewEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
    use std::collections::HashMap;
    use webhook_events::dsl as e;
    // The same key twice in one batch: the first is inserted, the others compare with it.
    let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut unique: Vec<&NewEvent> = events
        .iter()
        .enumerate()
        .filter(|(i, ev)| {
            *first_of
                .entry((ev.source.as_str(), ev.idempotency_key.as_str()))
                .or_insert(*i)
                == *i
        })
        .map(|(_, ev)| ev)
        .collect();
    // Rows are inserted, and their keys locked, in key order: two batches in flight that hold
    // copies of the same deliveries then wait for each other in one direction only, never in a
    // cycle (a deadlock, which Postgres breaks after deadlock_timeout by failing one batch).
    unique.sort_unstable_by(|a, b| (&a.source, &a.idempotency_key).cmp(&(&b.source, &b.idempotency_key)));
    // One statement, so one round trip; outside a transaction it commits on its own (a
    // multi-row insert is atomic), and on Postgres it also announces the batch to other instances.
    let inserted: Vec<(i64, String, String)> = match conn {
        DbConn::Pg(c) => insert_pg::InsertBatch::new(&unique).run(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(e::webhook_events)
            .values(unique.clone())
            .on_conflict_do_nothing()
            .returning((e::id, e::source, e::idempotency_key))
            .get_results(&mut **c)?,
    };
    // (source, key) → (id, stored body hash, inserted by this batch)
    let mut stored: HashMap<(String, String), (i64, String, bool)> = HashMap::new();
    for (id, source, key) in inserted {
        let hash = first_of
            .get(&(source.as_str(), key.as_str()))
            .map(|i| events[*i].body_sha256.clone())
            .unwrap_or_default();
        stored.insert((source, key), (id, hash, true));
    }
    // Keys already there: committed before the insert returned (a concurrent insert of the same
    // key makes ours wait for its commit), so this read finds them.
    let missing: Vec<&str> = unique
        .iter()
        .filter(|ev| !stored.contains_key(&(ev.source.clone(), ev.idempotency_key.clone())))
        .map(|ev| ev.idempotency_key.as_str())
        .collect();
    if !missing.is_empty() {
        let existing: Vec<(i64, String, String, String)> = with_conn!(conn, |c| e::webhook_events
            .filter(e::idempotency_key.eq_any(&missing))
            .select((e::id, e::source, e::idempotency_key, e::body_sha256))
            .load(c))?;
        for (id, source, key, hash) in existing {
            stored.entry((source, key)).or_insert((id, hash, false));
        }
    }
    events
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            let Some((id, hash, new)) = stored.get(&(ev.source.clone(), ev.idempotency_key.clone())) else {
                return Err(StoreError::Unexpected(anyhow::anyhow!(
                    "event {i} of the batch was not stored"
                )));
            };
            let first = first_of.get(&(ev.source.as_str(), ev.idempotency_key.as_str())) == Some(&i);
            Ok(if *new && first {
                InsertOutcome::Inserted { id: *id }
            } else if *hash == ev.body_sha256 {
                InsertOutcome::Duplicate { id: *id }
            } else {
                InsertOutcome::Conflict { id: *id }
            })
        })
        .collect()
}

/// One event by id.
pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<EventRow>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| Ok(e::webhook_events
        .find(id)
        .select(EventRow::as_select())
        .first(c)
        .optional()?))
}

/// Every event of a source, oldest first (tests and tools).
pub fn all(conn: &mut DbConn) -> Result<Vec<EventRow>, StoreError> {
    use webhook_events::dsl as e;
    with_conn!(conn, |c| Ok(e::webhook_events
        .order(e::id.asc())
        .select(EventRow::as_select())
        .load(c)?))
}

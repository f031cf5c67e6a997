//! The pass that runs at every start of `serve` and `worker` (before the dispatcher) and before
//! the `subscriptions` commands: it seals every secret stored in plain text by a version before
//! encryption at rest, and seals again with the first key every secret sealed with another
//! configured key (after a key rotation), so that no plain-text secret outlives a start and an
//! old key can be removed once every instance has restarted.
//!
//! Several instances may start at once on one Postgres: each value is replaced only if it is
//! still the one read ([`store::replace_if_unchanged`]), and the rows are read again until a
//! pass meets no change made meanwhile, so no instance overwrites another's work or a rotation.

use std::collections::BTreeSet;

use anyhow::Context;

use super::sealing::{Reseal, SealError, Sealer};
use crate::db::{Database, DbConn, StoreError};
use crate::notifications::store::secrets::{self as store, SecretColumn};

/// Passes over the rows at most; another only follows one that met a value changed meanwhile,
/// which takes another instance or a rotation writing at that very moment.
const MAX_PASSES: usize = 5;
/// Subscriptions named in the log line when their secrets cannot be opened.
const NAMED_AT_MOST: usize = 10;

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Plain-text values now sealed.
    pub sealed: usize,
    /// Values sealed with an older key, now sealed with the first.
    pub resealed: usize,
    /// Values that no configured key opens, left as they are: the subscriptions they belong to.
    pub unreadable: BTreeSet<String>,
    /// The ids of keys those values name that are not configured.
    pub missing_keys: BTreeSet<String>,
    /// Values still changing under the last pass (left for the next start).
    pub unsettled: usize,
}

/// Seals what is stored in plain text and reseals what an older key sealed, logging one line
/// with the counts (never a value). Skipped, with a warning, on a database whose migrations are
/// pending and whose subscriptions cannot be read yet.
pub async fn seal_stored_secrets(db: &Database, sealer: &Sealer) -> anyhow::Result<Resealed> {
    let owned = sealer.clone();
    let done = match db.run(move |c| seal_all(c, &owned)).await {
        Ok(done) => done,
        Err(e) => {
            let state = db.migration_state().await;
            if state.is_ok_and(|s| !s.is_current()) {
                tracing::warn!(error = %e, "subscription secrets not encrypted yet: migrations are pending (they are encrypted at the first start after `tenantgate migrate`)");
                return Ok(Resealed::default());
            }
            return Err(e).context("cannot encrypt the stored subscription secrets");
        }
    };
    log(&done, sealer);
    Ok(done)
}

fn seal_all(conn: &mut DbConn, sealer: &Sealer) -> Result<Resealed, StoreError> {
    let prefix = sealer.current_prefix();
    let mut done = Resealed::default();
    for _ in 0..MAX_PASSES {
        // Counted afresh on each pass: a later pass sees every row still needing work.
        done.unreadable.clear();
        done.missing_keys.clear();
        done.unsettled = 0;
        for row in store::not_sealed_with(conn, &prefix)? {
            let values = [
                (SecretColumn::Current, Some(&row.secret)),
                (SecretColumn::Previous, row.previous_secret.as_ref()),
            ];
            for (column, stored) in values {
                let Some(stored) = stored else { continue };
                let reseal = sealer
                    .reseal(&row.id, stored)
                    .map_err(|e| StoreError::Unexpected(e.into()))?;
                let (replacement, count) = match reseal {
                    Reseal::Current => continue,
                    Reseal::Sealed(value) => (value, &mut done.sealed),
                    Reseal::Resealed(value) => (value, &mut done.resealed),
                    Reseal::Unreadable(e) => {
                        if let SealError::UnknownKey { key_id, .. } = e {
                            done.missing_keys.insert(key_id);
                        }
                        done.unreadable.insert(row.id.clone());
                        continue;
                    }
                };
                if store::replace_if_unchanged(conn, &row.id, column, stored, &replacement)? {
                    *count += 1;
                } else {
                    done.unsettled += 1;
                }
            }
        }
        if done.unsettled == 0 {
            break;
        }
    }
    Ok(done)
}

fn log(done: &Resealed, sealer: &Sealer) {
    let key = sealer.key_ids().first().copied().unwrap_or_default();
    let named: Vec<&str> = done.unreadable.iter().take(NAMED_AT_MOST).map(String::as_str).collect();
    let missing: Vec<&str> = done.missing_keys.iter().map(String::as_str).collect();
    let message = if !done.unreadable.is_empty() {
        "some subscription secrets cannot be decrypted with notifications.encryption_keys: their deliveries fail \
         until the key that encrypted them is listed again (or the subscription is deleted)"
    } else if done.unsettled > 0 {
        "some subscription secrets kept changing while they were encrypted: the rest is encrypted at the next start"
    } else {
        tracing::info!(
            secrets.sealed = done.sealed,
            secrets.resealed = done.resealed,
            encryption_key.id = key,
            "subscription secrets are encrypted at rest"
        );
        return;
    };
    tracing::warn!(
        secrets.sealed = done.sealed,
        secrets.resealed = done.resealed,
        secrets.unreadable = done.unreadable.len(),
        secrets.unsettled = done.unsettled,
        encryption_key.id = key,
        missing_keys = %missing.join(", "),
        subscription.ids = %named.join(", "),
        "{message}"
    );
}
